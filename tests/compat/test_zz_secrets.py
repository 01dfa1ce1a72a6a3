"""Scans after the whole compatibility suite (this file's name sorts last, so pytest runs it
last): every data dir, every server log and every response body the suite saw.

* No clear key value a test learned (registered with `conftest.remember_secret`) appears, raw or
  as hex in either case, anywhere; no master key appears outside its own `master.key`; no clear
  private key (PEM or PKCS#8 DER, raw or hex) appears anywhere.
* Logs carry no SigV4 signatures.
* No response names a resource of an account other than the caller's, unless the caller's own
  request named it (as a cross-account request allowed by a key policy does).

Run alone, there is nothing to scan and the tests skip; the suite as a whole must have registered
secrets, started servers and made calls.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import OBSERVED

PKCS8_RSA_PREFIX = bytes.fromhex("020100300d06092a864886f70d0101010500")
PKCS8_EC_PREFIX = bytes.fromhex("020100301306072a8648ce3d0201")
PRIVATE_KEY_MARKERS = [b"PRIVATE KEY-----"]
ARN_ACCOUNT = re.compile(rb"arn:aws:payment-cryptography:[a-z0-9-]+:(\d{12}):[a-z]+/[A-Za-z0-9/_-]+")
SIGNATURE = re.compile(rb"Signature=[0-9a-f]{64}|X-Amz-Signature=[0-9a-f]{64}", re.IGNORECASE)


def forms(value: bytes) -> list[bytes]:
    return [value, value.hex().encode(), value.hex().upper().encode()]


def needles() -> list[tuple[str, bytes]]:
    out = [(f"clear key {v.hex().upper()[:8]}...", f) for v in set(OBSERVED.secrets) for f in forms(v)]
    out += [("a PKCS#8 RSA private key", f) for f in forms(PKCS8_RSA_PREFIX)]
    out += [("a PKCS#8 EC private key", f) for f in forms(PKCS8_EC_PREFIX)]
    out += [("a PEM private key", m) for m in PRIVATE_KEY_MARKERS]
    return out


def master_keys() -> dict[Path, bytes]:
    """master.key file -> the key, for every server whose data dir still exists."""
    out = {}
    for server in OBSERVED.servers:
        path = (server.master_key_file or server.data_dir / "master.key")
        if path.is_file():
            out[path] = bytes.fromhex(path.read_text().strip())
    return out


def files_to_scan() -> list[Path]:
    seen: set[Path] = set()
    for server in OBSERVED.servers:
        if server.data_dir.is_dir():
            seen.update(p for p in server.data_dir.rglob("*") if p.is_file())
        if server.log_path is not None and server.log_path.is_file():
            seen.add(server.log_path)
    return sorted(seen)


@pytest.fixture(scope="module")
def observed():
    if not OBSERVED.servers or not OBSERVED.exchanges or not OBSERVED.secrets:
        pytest.skip("nothing to scan: run the whole compatibility suite")
    return OBSERVED


def test_no_secret_in_any_data_dir_or_log(observed):
    files = files_to_scan()
    assert files, "no files to scan"
    masters = master_keys()
    assert masters, "no master keys found"
    found = []
    for path in files:
        data = path.read_bytes()
        for what, needle in needles():
            if needle in data:
                found.append(f"{path}: {what}")
        for key_file, master in masters.items():
            if path != key_file and any(f in data for f in forms(master)):
                found.append(f"{path}: the master key of {key_file}")
    assert not found, "\n".join(found)
    print(f"\nscanned {len(files)} files for {len(set(observed.secrets))} clear keys and {len(masters)} master keys")


def test_no_secret_in_any_response(observed):
    masters = list(master_keys().values())
    found = []
    for exchange in observed.exchanges:
        for what, needle in needles():
            if needle in exchange.response:
                found.append(f"response to {exchange.request[:80]!r}: {what}")
        for master in masters:
            if any(f in exchange.response for f in forms(master)):
                found.append(f"response to {exchange.request[:80]!r}: a master key")
    assert not found, "\n".join(found)
    print(f"\nscanned {len(observed.exchanges)} responses")


def test_logs_carry_no_signatures(observed):
    found = []
    for server in observed.servers:
        if server.log_path is not None and server.log_path.is_file():
            if SIGNATURE.search(server.log_path.read_bytes()):
                found.append(str(server.log_path))
    assert not found, found


def test_responses_name_only_the_callers_resources(observed):
    found = []
    checked = 0
    for exchange in observed.exchanges:
        for match in ARN_ACCOUNT.finditer(exchange.response):
            checked += 1
            if match.group(1).decode() != exchange.account and match.group(0) not in exchange.request:
                found.append(f"{exchange.account} got {match.group(0).decode()} in reply to {exchange.request[:120]!r}")
    assert checked, "no ARNs in any response"
    assert not found, "\n".join(found[:20])
