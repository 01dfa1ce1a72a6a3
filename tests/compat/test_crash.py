"""Crash safety: concurrent CreateKey / ImportKey / DeleteKey / CreateAlias / DeleteAlias traffic,
SIGKILL at a random moment, restart on the same data dir, and check, KILL_ROUNDS times:

* every acknowledged write is there: created and imported keys with their KCV (for imports, the
  KCV of the clear key the test wrapped, computed here), acknowledged deletions as DELETE_PENDING,
  acknowledged aliases pointing at their key, acknowledged alias deletions gone;
* no half-write is visible, acknowledged or not: every key listed has a KCV and its material opens
  (exported under a KEK whose clear value the test knows, unwrapped by psec, same KCV), and every
  alias points at a key that exists.

Then the same server's data dir on a full disk: writes fail with a clear 5xx AWS error, reads keep
working, and after space comes back nothing is corrupted and writes work again.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psec
import pytest
from botocore.exceptions import ClientError

from conftest import UNLIMITED, attributes, make_client, remember_secret
from test_exchange import ALL4, K0, fresh_key, import_cryptogram, kcv

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

KILL_ROUNDS = 20
WORKERS = 4
D0 = "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY"


@dataclass
class Ledger:
    """What the server acknowledged, and what was in flight when it died."""

    kek_arn: str
    kek_clear: bytes
    keys: dict[str, str] = field(default_factory=dict)  # arn -> expected KCV
    deleted: set[str] = field(default_factory=set)  # acknowledged DeleteKey
    aliases: dict[str, str] = field(default_factory=dict)  # name -> key arn
    aliases_deleted: set[str] = field(default_factory=set)
    in_flight_key_changes: set[str] = field(default_factory=set)  # arns whose DeleteKey got no answer
    in_flight_aliases: set[str] = field(default_factory=set)  # names whose create/delete got no answer
    verified: set[str] = field(default_factory=set)  # keys whose material was already opened
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def claim(self, rng: random.Random, pool: Callable[[], set[str]], in_flight: set[str]) -> str | None:
        """Picks an item of `pool()` that no other worker is changing and marks it in flight."""
        with self.lock:
            candidates = sorted(pool() - in_flight)
            if not candidates:
                return None
            item = rng.choice(candidates)
            in_flight.add(item)
            return item

    def settle(self, item: str, in_flight: set[str], done: set[str]) -> None:
        """Records an acknowledged change of an item claimed before."""
        with self.lock:
            done.add(item)
            in_flight.discard(item)

    def next_name(self) -> str:
        with self.lock:
            self.counter += 1
            return f"alias/crash-{self.counter}"


def _dead(e: BaseException) -> bool:
    """True when the call got no answer (the server died under it)."""
    return not isinstance(e, ClientError)


def worker(endpoint: str, ledger: Ledger, stop: threading.Event, failures: list[str], seed: int) -> None:
    rng = random.Random(seed)
    client = make_client(endpoint)
    while not stop.is_set():
        op = rng.choice(["create", "create", "import", "import", "delete", "alias", "alias", "unalias"])
        try:
            if op == "create":
                key = client.create_key(
                    KeyAttributes=attributes(D0, rng.choice(["AES_128", "TDES_2KEY"]), "SYMMETRIC_KEY", *ALL4),
                    Exportable=True,
                )["Key"]
                with ledger.lock:
                    ledger.keys[key["KeyArn"]] = key["KeyCheckValue"]
            elif op == "import":
                algorithm = rng.choice(["AES_128", "TDES_2KEY", "TDES_3KEY"])
                clear = fresh_key(algorithm)
                letter = "A" if algorithm.startswith("AES") else "T"
                block = psec.tr31.wrap(
                    ledger.kek_clear, psec.tr31.Header("D", "D0", letter, "B", "00", "E"), clear
                )
                key = client.import_key(
                    KeyMaterial={
                        "Tr31KeyBlock": {"WrappingKeyIdentifier": ledger.kek_arn, "WrappedKeyBlock": block}
                    }
                )["Key"]
                remember_secret(clear)
                expected = kcv(algorithm, clear)
                if key["KeyCheckValue"] != expected:
                    failures.append(f"import answered KCV {key['KeyCheckValue']}, expected {expected}")
                with ledger.lock:
                    ledger.keys[key["KeyArn"]] = expected
            elif op == "delete":
                arn = ledger.claim(rng, lambda: set(ledger.keys) - ledger.deleted, ledger.in_flight_key_changes)
                if arn is None:
                    continue
                client.delete_key(KeyIdentifier=arn, DeleteKeyInDays=7)
                ledger.settle(arn, ledger.in_flight_key_changes, ledger.deleted)
            elif op == "alias":
                with ledger.lock:
                    candidates = sorted(set(ledger.keys) - ledger.deleted - ledger.in_flight_key_changes)
                if not candidates:
                    continue
                arn = rng.choice(candidates)
                name = ledger.next_name()
                with ledger.lock:
                    ledger.in_flight_aliases.add(name)
                try:
                    client.create_alias(AliasName=name, KeyArn=arn)
                except ClientError as e:
                    # Another worker may have deleted the key since it was picked (deletions do
                    # not wait for aliases): the server then refuses the alias, rightly.
                    with ledger.lock:
                        raced = arn in ledger.in_flight_key_changes or arn in ledger.deleted
                        if raced:
                            ledger.in_flight_aliases.discard(name)
                    if raced and e.response["Error"]["Code"] == "ValidationException":
                        continue
                    raise
                with ledger.lock:
                    ledger.aliases[name] = arn
                    ledger.in_flight_aliases.discard(name)
            else:
                name = ledger.claim(rng, lambda: set(ledger.aliases) - ledger.aliases_deleted, ledger.in_flight_aliases)
                if name is None:
                    continue
                client.delete_alias(AliasName=name)
                ledger.settle(name, ledger.in_flight_aliases, ledger.aliases_deleted)
        except Exception as e:  # noqa: BLE001 - sorted below
            if _dead(e):
                return  # the server is gone; what was in flight stays recorded as in flight
            failures.append(f"{op}: {e}")


def verify(client, ledger: Ledger) -> None:
    keys = {k["KeyArn"]: k for page in client.get_paginator("list_keys").paginate() for k in page["Keys"]}
    for arn, expected in ledger.keys.items():
        assert arn in keys, f"acknowledged key {arn} lost"
        key = client.get_key(KeyIdentifier=arn)["Key"]
        assert key["KeyCheckValue"] == expected, f"{arn}: KCV {key['KeyCheckValue']} != {expected}"
        if arn in ledger.deleted:
            assert key["KeyState"] == "DELETE_PENDING", f"acknowledged deletion of {arn} lost"
        elif arn not in ledger.in_flight_key_changes:
            assert key["KeyState"] == "CREATE_COMPLETE", f"{arn} is {key['KeyState']}"

    # Every key present, acknowledged or not, is whole: its material opens with the KCV it shows.
    for arn, summary in keys.items():
        if arn == ledger.kek_arn or arn in ledger.verified:
            continue
        key = client.get_key(KeyIdentifier=arn)["Key"]
        assert key["KeyCheckValue"], f"{arn} has no KCV"
        if key["KeyState"] != "CREATE_COMPLETE":
            client.restore_key(KeyIdentifier=arn)
            client.start_key_usage(KeyIdentifier=arn)
        wrapped = client.export_key(
            ExportKeyIdentifier=arn, KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": ledger.kek_arn}}
        )["WrappedKey"]
        if key["KeyState"] != "CREATE_COMPLETE":
            client.delete_key(KeyIdentifier=arn, DeleteKeyInDays=7)
        _, clear = psec.tr31.unwrap(ledger.kek_clear, wrapped["KeyMaterial"])
        algorithm = key["KeyAttributes"]["KeyAlgorithm"]
        assert kcv(algorithm, clear) == key["KeyCheckValue"], f"{arn}: material does not match its KCV"
        ledger.verified.add(arn)
        # unacknowledged writes that did land are now part of what must survive
        ledger.keys.setdefault(arn, key["KeyCheckValue"])

    aliases = {a["AliasName"]: a.get("KeyArn") for page in client.get_paginator("list_aliases").paginate() for a in page["Aliases"]}
    for name, arn in ledger.aliases.items():
        if name in ledger.in_flight_aliases:
            continue
        if name in ledger.aliases_deleted:
            assert name not in aliases, f"acknowledged DeleteAlias of {name} lost"
        else:
            assert aliases.get(name) == arn, f"acknowledged alias {name} lost or changed"
    for name, arn in aliases.items():
        if arn is not None:
            assert arn in keys, f"alias {name} points at a key that does not exist"
    # in-flight changes are settled now: adopt what the server has
    for arn in ledger.in_flight_key_changes:
        if client.get_key(KeyIdentifier=arn)["Key"]["KeyState"] == "DELETE_PENDING":
            ledger.deleted.add(arn)
    ledger.in_flight_key_changes.clear()
    for name in ledger.in_flight_aliases:
        if name in aliases:
            ledger.aliases[name] = aliases[name]
            ledger.aliases_deleted.discard(name)
        else:
            ledger.aliases_deleted.add(name)
            ledger.aliases.setdefault(name, "")
    ledger.in_flight_aliases.clear()


def test_sigkill_under_concurrent_writes_loses_nothing_acknowledged(server_factory):
    server = server_factory(config=UNLIMITED)
    client = make_client(server.endpoint)
    kek_clear = fresh_key("AES_128")
    kek = import_cryptogram(client, kek_clear, attributes(K0, "AES_128", "SYMMETRIC_KEY", *ALL4), False, "RSA_3072")
    remember_secret(kek_clear)
    ledger = Ledger(kek["KeyArn"], kek_clear)
    rng = random.Random(int.from_bytes(secrets.token_bytes(4), "big"))
    failures: list[str] = []
    killed_with_writes_in_flight = 0

    for round_ in range(KILL_ROUNDS):
        stop = threading.Event()
        threads = [
            threading.Thread(target=worker, args=(server.endpoint, ledger, stop, failures, rng.random()))
            for _ in range(WORKERS)
        ]
        for t in threads:
            t.start()
        # Kill at a random moment once this round has acknowledged at least one write.
        written = len(ledger.keys) + len(ledger.aliases) + len(ledger.deleted)
        deadline = time.monotonic() + 30
        while len(ledger.keys) + len(ledger.aliases) + len(ledger.deleted) == written and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.6))
        server.kill()
        stop.set()
        for t in threads:
            t.join(30)
        assert not failures, failures
        if ledger.in_flight_key_changes or ledger.in_flight_aliases:
            killed_with_writes_in_flight += 1

        server.restart()
        client = make_client(server.endpoint)
        verify(client, ledger)

    assert len(ledger.keys) + len(ledger.aliases) + len(ledger.deleted) >= KILL_ROUNDS
    print(
        f"\ncrash test: {KILL_ROUNDS} SIGKILLs, {len(ledger.keys)} keys, {len(ledger.deleted)} deletions, "
        f"{len(ledger.aliases)} aliases; {killed_with_writes_in_flight} kills hit a tracked write in flight"
    )


# --------------------------------------------------------------------------------------------
# Full disk
# --------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 24 MiB tmpfs; needs root (CI runs as root). Skipped elsewhere, but never under CI."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if result.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs for the full-disk test: {result.stderr}")
        pytest.skip(f"cannot mount a tmpfs (needs root): {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Fills the file system of `directory` up to the last byte; returns the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_full_disk_refuses_writes_keeps_reads_and_recovers(server_factory, small_disk):
    # the data dir is the small disk itself; the server's log stays outside it, on the big one
    server = server_factory(data_dir=small_disk)
    client = make_client(server.endpoint)
    existing = [
        client.create_key(KeyAttributes=attributes(D0, "AES_128", "SYMMETRIC_KEY", *ALL4), Exportable=True)["Key"]
        for _ in range(5)
    ]
    client.create_alias(AliasName="alias/before-full", KeyArn=existing[0]["KeyArn"])

    filler = fill(small_disk)
    refused = 0
    for i in range(30):
        try:
            client.create_key(KeyAttributes=attributes(D0, "AES_128", "SYMMETRIC_KEY", *ALL4), Exportable=True)
            client.create_alias(AliasName=f"alias/full-{i}", KeyArn=existing[1]["KeyArn"])
        except ClientError as e:
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            code = e.response["Error"]["Code"]
            assert status >= 500, e.response
            assert code in ("InternalServerException", "ServiceUnavailableException"), e.response
            assert e.response["Error"]["Message"], e.response
            refused += 1
    assert refused > 0, "no write was refused on a full disk"
    # Reads keep working.
    for key in existing:
        assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyCheckValue"] == key["KeyCheckValue"]
    assert client.get_alias(AliasName="alias/before-full")["Alias"]["KeyArn"] == existing[0]["KeyArn"]
    assert server.running

    # Space comes back: writes work again and nothing is corrupted, also after a restart.
    filler.unlink()
    after = client.create_key(KeyAttributes=attributes(D0, "AES_128", "SYMMETRIC_KEY", *ALL4), Exportable=True)["Key"]
    server.stop_ok()
    server.restart()
    client = make_client(server.endpoint)
    for key in [*existing, after]:
        assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyCheckValue"] == key["KeyCheckValue"]
    keys = {k["KeyArn"] for page in client.get_paginator("list_keys").paginate() for k in page["Keys"]}
    aliases = {a["AliasName"]: a.get("KeyArn") for page in client.get_paginator("list_aliases").paginate() for a in page["Aliases"]}
    for name, arn in aliases.items():
        assert arn in keys, f"alias {name} points at a missing key"
    integrity = subprocess.run(
        ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])", str(server.data_dir / "paycrypt.db")],
        capture_output=True, text=True, check=True,
    )
    assert integrity.stdout.strip() == "ok", integrity.stdout
    server.stop_ok()
