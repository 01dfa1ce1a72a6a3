"""Load, bounded: many concurrent boto3 clients on mixed operations over loopback for a fixed time,
twice in a row on one server.

* No errors at all: the mix has no expected refusals (alias names are unique, no rate limit).
* Every answer is right: created keys are readable with their KCV, exported TR-31 blocks unwrap
  (psec) to a key with the KCV GetKey reports.
* Memory does not grow with the work: the server's resident set after the second round is not
  meaningfully larger than after the first (same work again), nor does it grow while idle after.

The figures (requests, rate, resident memory) are printed (`pytest -s`) for the record.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import psec
import pytest
from botocore.exceptions import ClientError

from conftest import UNLIMITED, attributes, make_client, remember_secret
from test_exchange import ALL4, K0, fresh_key, import_cryptogram, kcv

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

CLIENTS = 24
ROUND_SECONDS = 12
D0 = "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Round:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.errors: list[str] = []


def client_loop(endpoint: str, kek_arn: str, kek_clear: bytes, keys: list[dict], deadline: float, seed: int, out: Round) -> None:
    rng = random.Random(seed)
    client = make_client(endpoint)
    made = 0
    while time.monotonic() < deadline:
        op = rng.choices(
            ["GetKey", "ListKeys", "CreateKey", "Alias", "TagResource", "ExportKey", "ImportKey", "ListAliases"],
            weights=[30, 10, 8, 6, 6, 8, 6, 4],
        )[0]
        try:
            if op == "GetKey":
                key = rng.choice(keys)
                got = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]
                if got["KeyCheckValue"] != key["KeyCheckValue"]:
                    out.errors.append(f"GetKey KCV {got['KeyCheckValue']} != {key['KeyCheckValue']}")
            elif op == "ListKeys":
                client.list_keys(MaxResults=50)
            elif op == "ListAliases":
                client.list_aliases(MaxResults=50)
            elif op == "CreateKey":
                key = client.create_key(
                    KeyAttributes=attributes(D0, "AES_128", "SYMMETRIC_KEY", *ALL4), Exportable=True
                )["Key"]
                if client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyCheckValue"] != key["KeyCheckValue"]:
                    out.errors.append("a created key reads back with another KCV")
            elif op == "Alias":
                made += 1
                name = f"alias/load-{seed}-{made}"
                client.create_alias(AliasName=name, KeyArn=rng.choice(keys)["KeyArn"])
                client.delete_alias(AliasName=name)
            elif op == "TagResource":
                client.tag_resource(
                    ResourceArn=rng.choice(keys)["KeyArn"], Tags=[{"Key": f"t{rng.randrange(5)}", "Value": str(seed)}]
                )
            elif op == "ExportKey":
                key = rng.choice(keys)
                wrapped = client.export_key(
                    ExportKeyIdentifier=key["KeyArn"],
                    KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn}},
                )["WrappedKey"]
                _, clear = psec.tr31.unwrap(kek_clear, wrapped["KeyMaterial"])
                if kcv("AES_128", clear) != key["KeyCheckValue"]:
                    out.errors.append("an exported block unwraps to another key")
            else:
                clear = fresh_key("AES_128")
                remember_secret(clear)
                block = psec.tr31.wrap(kek_clear, psec.tr31.Header("D", "D0", "A", "B", "00", "E"), clear)
                key = client.import_key(
                    KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn, "WrappedKeyBlock": block}}
                )["Key"]
                if key["KeyCheckValue"] != kcv("AES_128", clear):
                    out.errors.append("an imported key has another KCV")
            with out.lock:
                out.calls[op] += 1
        except ClientError as e:
            out.errors.append(f"{op}: {e.response['Error']['Code']}: {e.response['Error']['Message']}")
        except Exception as e:  # noqa: BLE001 - a failed connection is an error here too
            out.errors.append(f"{op}: {type(e).__name__}: {e}")


def run_round(endpoint: str, kek_arn: str, kek_clear: bytes, keys: list[dict], seed: int) -> tuple[Round, float]:
    out = Round()
    start = time.monotonic()
    deadline = start + ROUND_SECONDS
    threads = [
        threading.Thread(target=client_loop, args=(endpoint, kek_arn, kek_clear, keys, deadline, seed * 1000 + i, out))
        for i in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(ROUND_SECONDS + 60)
    return out, time.monotonic() - start


def test_concurrent_mixed_load_has_no_errors_and_no_memory_growth(server_factory):
    server = server_factory(config=UNLIMITED)
    client = make_client(server.endpoint)
    kek_clear = fresh_key("AES_128")
    remember_secret(kek_clear)
    kek = import_cryptogram(client, kek_clear, attributes(K0, "AES_128", "SYMMETRIC_KEY", *ALL4), False, "RSA_3072")
    keys = [
        client.create_key(KeyAttributes=attributes(D0, "AES_128", "SYMMETRIC_KEY", *ALL4), Exportable=True)["Key"]
        for _ in range(20)
    ]
    pid = server.proc.pid
    baseline = rss_kib(pid)

    figures = []
    for seed in (1, 2):
        result, elapsed = run_round(server.endpoint, kek["KeyArn"], kek_clear, keys, seed)
        assert not result.errors, result.errors[:10]
        total = sum(result.calls.values())
        assert total > 0 and all(result.calls[op] > 0 for op in ("GetKey", "CreateKey", "ExportKey", "ImportKey"))
        figures.append((total, total / elapsed, rss_kib(pid), dict(result.calls)))

    time.sleep(2)
    idle = rss_kib(pid)
    assert server.running
    (first_total, first_rate, first_rss, _), (second_total, second_rate, second_rss, calls) = figures
    print(
        f"\nload: {CLIENTS} clients x {ROUND_SECONDS}s x 2 rounds: {first_total} and {second_total} requests "
        f"({first_rate:.0f} and {second_rate:.0f}/s); RSS KiB baseline {baseline}, after round 1 {first_rss}, "
        f"after round 2 {second_rss}, idle {idle}; mix {calls}"
    )
    # The second round repeats the work of the first: its memory must not be a new layer on top.
    assert second_rss <= first_rss * 1.25 + 8 * 1024, (first_rss, second_rss)
    assert idle <= second_rss + 4 * 1024, (second_rss, idle)
