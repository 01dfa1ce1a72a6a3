"""Durability and key protection at rest: SIGTERM restarts, kill -9 right after acknowledged
writes, a wrong master key, and scans of every file in the data dir for clear secrets."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import PAYCRYPT_BIN, Server, _server_env, attributes, key_count, make_client, tdes_key

# One key of every family (symmetric and key pairs), so every sealing path is restarted.
KEY_SPECS = [
    ("TR31_K0_KEY_ENCRYPTION_KEY", "TDES_2KEY", "SYMMETRIC_KEY", ("Encrypt", "Decrypt", "Wrap", "Unwrap")),
    ("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_3KEY", "SYMMETRIC_KEY", ("NoRestrictions",)),
    ("TR31_K1_KEY_BLOCK_PROTECTION_KEY", "AES_256", "SYMMETRIC_KEY", ("Encrypt", "Wrap")),
    ("TR31_M7_HMAC_KEY", "HMAC_SHA256", "SYMMETRIC_KEY", ("Generate", "Verify")),
    ("TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE", "RSA_2048", "ASYMMETRIC_KEY_PAIR", ("Sign",)),
    ("TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE", "ECC_NIST_P256", "ASYMMETRIC_KEY_PAIR", ("Verify",)),
    ("TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT", "ECC_NIST_P384", "ASYMMETRIC_KEY_PAIR", ("DeriveKey",)),
]

# DER prefixes of unencrypted PKCS#8 private keys (version 0, then the algorithm identifier):
# present in any clear RSA or EC private key the server would write.
PKCS8_RSA_PREFIX = bytes.fromhex("020100300d06092a864886f70d0101010500")
PKCS8_EC_PREFIX = bytes.fromhex("020100301306072a8648ce3d0201")


def create_all_kinds(client) -> list[dict]:
    keys = []
    for usage, algorithm, key_class, mode_set in KEY_SPECS:
        kwargs = {"DeriveKeyUsage": "TR31_K1_KEY_BLOCK_PROTECTION_KEY"} if usage.startswith("TR31_K3") else {}
        keys.append(client.create_key(KeyAttributes=attributes(usage, algorithm, key_class, *mode_set), Exportable=True, **kwargs)["Key"])
    return keys


def all_keys(client) -> dict[str, dict]:
    return {k["KeyArn"]: k for page in client.get_paginator("list_keys").paginate() for k in page["Keys"]}


def all_aliases(client) -> dict[str, str | None]:
    return {a["AliasName"]: a.get("KeyArn") for page in client.get_paginator("list_aliases").paginate() for a in page["Aliases"]}


def tags_of(client, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for page in client.get_paginator("list_tags_for_resource").paginate(ResourceArn=arn) for t in page["Tags"]}


def data_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file())


def scan_for(data_dir: Path, needles: list[bytes], allowed: set[str] = frozenset()) -> list[str]:
    """Every (file, needle) where a needle occurs in a file of the data dir not named in `allowed`."""
    hits = []
    for path in data_files(data_dir):
        if path.name in allowed:
            continue
        content = path.read_bytes()
        for needle in needles:
            if needle in content:
                hits.append(f"{path.name}: {needle[:16]!r}...")
    return hits


def secret_forms(raw: bytes) -> list[bytes]:
    """The raw bytes and their hex spellings."""
    return [raw, raw.hex().encode(), raw.hex().upper().encode()]


def start_expecting_failure(data_dir: Path, *extra: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Runs `paycrypt serve` that must refuse to start; fails the test if it starts listening."""
    cmd = [str(PAYCRYPT_BIN), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_server_env(), stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"paycrypt kept running instead of refusing to start:\n{out}\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


# --------------------------------------------------------------------------------------------


def test_sigterm_restart_keeps_keys_aliases_tags(server_factory):
    server = server_factory()
    client = make_client(server.endpoint)
    keys = create_all_kinds(client)
    disabled = tdes_key(client, Enabled=False)
    pending = tdes_key(client)
    client.delete_key(KeyIdentifier=pending["KeyArn"], DeleteKeyInDays=30)
    client.create_alias(AliasName="alias/durable-1", KeyArn=keys[0]["KeyArn"])
    client.create_alias(AliasName="alias/durable-2", KeyArn=keys[4]["KeyArn"])
    client.create_alias(AliasName="alias/durable-empty")
    client.tag_resource(ResourceArn=keys[0]["KeyArn"], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    client.tag_resource(ResourceArn=keys[3]["KeyArn"], Tags=[{"Key": "hmac", "Value": "yes"}])
    # in another region too
    west = make_client(server.endpoint, region="eu-west-1")
    west_key = tdes_key(west)

    before_keys = {arn: client.get_key(KeyIdentifier=arn)["Key"] for arn in all_keys(client)}
    before_aliases = all_aliases(client)
    before_tags = {arn: tags_of(client, arn) for arn in before_keys}
    assert len(before_keys) == len(KEY_SPECS) + 2

    server.stop_ok()
    server.restart()
    client = make_client(server.endpoint)

    after_keys = {arn: client.get_key(KeyIdentifier=arn)["Key"] for arn in all_keys(client)}
    assert after_keys == before_keys  # same KCVs, states, timestamps, attributes
    for key in keys:
        assert after_keys[key["KeyArn"]]["KeyCheckValue"] == key["KeyCheckValue"]
    assert after_keys[disabled["KeyArn"]]["Enabled"] is False
    assert after_keys[pending["KeyArn"]]["KeyState"] == "DELETE_PENDING"
    assert all_aliases(client) == before_aliases
    assert {arn: tags_of(client, arn) for arn in after_keys} == before_tags
    assert make_client(server.endpoint, region="eu-west-1").get_key(KeyIdentifier=west_key["KeyArn"])["Key"] == west_key
    # and the restarted server keeps working
    assert client.restore_key(KeyIdentifier=pending["KeyArn"])["Key"]["KeyState"] == "CREATE_COMPLETE"
    assert tdes_key(client)["KeyState"] == "CREATE_COMPLETE"


def test_kill9_right_after_acknowledgement(server_factory):
    server = server_factory()
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(n: int):
        try:
            c = make_client(server.endpoint)
            for _ in range(n):
                key = tdes_key(c)
                with lock:
                    acknowledged[key["KeyArn"]] = key["KeyCheckValue"]
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(8,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    client = make_client(server.endpoint)
    last = tdes_key(client)
    acknowledged[last["KeyArn"]] = last["KeyCheckValue"]
    client.create_alias(AliasName="alias/acked", KeyArn=last["KeyArn"])
    client.tag_resource(ResourceArn=last["KeyArn"], Tags=[{"Key": "acked", "Value": "yes"}])
    client.stop_key_usage(KeyIdentifier=last["KeyArn"])
    server.kill()  # SIGKILL straight after the last acknowledged write

    # the WAL was not checkpointed by a clean shutdown: the acknowledged rows live there
    assert (server.data_dir / "paycrypt.db").exists()

    server.restart()
    client = make_client(server.endpoint)
    listed = all_keys(client)
    assert len(acknowledged) == 33
    for arn, kcv in acknowledged.items():
        assert arn in listed, f"acknowledged key {arn} lost"
        assert listed[arn]["KeyCheckValue"] == kcv
    assert client.get_alias(AliasName="alias/acked")["Alias"]["KeyArn"] == last["KeyArn"]
    assert tags_of(client, last["KeyArn"]) == {"acked": "yes"}
    assert client.get_key(KeyIdentifier="alias/acked")["Key"]["Enabled"] is False


def test_master_key_file_is_created_private(server_factory):
    server = server_factory()
    path = server.data_dir / "master.key"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text().strip()
    assert len(text) == 64 and bytes.fromhex(text)
    key = tdes_key(make_client(server.endpoint))
    # a second start reuses it
    server.stop_ok()
    server.restart()
    assert path.read_text().strip() == text
    assert make_client(server.endpoint).get_key(KeyIdentifier=key["KeyArn"])["Key"] == key


def test_sigterm_right_after_listening_line_exits_0(server_factory):
    # The listening line says the server is up: a supervisor may stop it at once, and that stop
    # must be the graceful one (exit 0), not the default action of SIGTERM (killed by signal 15).
    for _ in range(5):
        server = server_factory()
        rc = server.stop()
        assert rc == 0, f"exit {rc} on SIGTERM sent right after the listening line"


def test_wrong_master_key_refuses_to_start(server_factory, tmp_path):
    server = server_factory()
    client = make_client(server.endpoint)
    key = tdes_key(client)
    server.stop_ok()

    other = tmp_path / "other.key"
    other.write_text(secrets.token_hex(32) + "\n")
    result = start_expecting_failure(server.data_dir, "--master-key-file", str(other))
    assert result.returncode != 0
    assert "master key" in result.stderr.lower(), result.stderr
    assert "listening on" not in result.stdout

    # an unreadable or malformed master key file is refused too
    bad = tmp_path / "bad.key"
    bad.write_text("not hex at all")
    result = start_expecting_failure(server.data_dir, "--master-key-file", str(bad))
    assert result.returncode != 0 and "master key" in result.stderr.lower(), result.stderr
    result = start_expecting_failure(server.data_dir, "--master-key-file", str(tmp_path / "missing.key"))
    assert result.returncode != 0 and "master key" in result.stderr.lower(), result.stderr

    # the right key, named explicitly, still opens the data
    copy = tmp_path / "copy.key"
    copy.write_text((server.data_dir / "master.key").read_text())
    os.chmod(copy, 0o600)
    again = Server(data_dir=server.data_dir, master_key_file=copy).start()
    try:
        assert make_client(again.endpoint).get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyCheckValue"] == key["KeyCheckValue"]
    finally:
        again.stop_ok()


def test_explicit_master_key_file_on_fresh_data_dir(server_factory, tmp_path):
    master = tmp_path / "explicit.key"
    master_bytes = secrets.token_bytes(32)
    master.write_text(master_bytes.hex())
    os.chmod(master, 0o600)
    server = server_factory(master_key_file=master)
    key = tdes_key(make_client(server.endpoint))
    assert not (server.data_dir / "master.key").exists()
    server.stop_ok()
    server.restart()
    assert make_client(server.endpoint).get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyCheckValue"] == key["KeyCheckValue"]
    server.stop_ok()
    assert scan_for(server.data_dir, secret_forms(master_bytes)) == []


@pytest.mark.parametrize("shutdown", ["sigterm", "kill9"])
def test_no_clear_secrets_in_data_dir(server_factory, shutdown):
    server = server_factory()
    client = make_client(server.endpoint)
    create_all_kinds(client)
    for _ in range(3):
        create_all_kinds(client)
    master_hex = (server.data_dir / "master.key").read_text().strip()
    master = bytes.fromhex(master_hex)

    def check():
        files = {p.name for p in data_files(server.data_dir)}
        assert "paycrypt.db" in files, files
        # the master key, in any spelling, is only in master.key
        assert scan_for(server.data_dir, secret_forms(master), allowed={"master.key"}) == []
        # no clear private keys: neither PEM nor PKCS#8 DER (raw or hex)
        needles = [b"BEGIN PRIVATE KEY", b"BEGIN RSA PRIVATE KEY", b"BEGIN EC PRIVATE KEY"]
        needles += secret_forms(PKCS8_RSA_PREFIX) + secret_forms(PKCS8_EC_PREFIX)
        assert scan_for(server.data_dir, needles) == []

    check()  # while running: db, -wal, -shm as they are
    if shutdown == "sigterm":
        server.stop_ok()
    else:
        server.kill()
    check()
    server.restart()
    assert key_count(make_client(server.endpoint)) == 4 * len(KEY_SPECS)
    check()
