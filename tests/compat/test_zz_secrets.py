"""Scans after the whole compatibility suite (this file's name sorts last, so pytest runs it
last): every data dir, every server log and every response body the suite saw.

* No clear key value a test learned (registered with `conftest.remember_secret`) appears, raw or
  as hex in either case, anywhere; no master key appears outside its own `master.key`; no clear
  private key (PEM or PKCS#8 DER, raw or hex) appears anywhere.
* No clear PIN a test registered with `conftest.remember_pin` (10 digits or more: shorter digit
  strings occur by chance) appears, as ASCII digits, in any data dir, log or response; the clear
  PIN blocks of shorter PINs are registered as secrets above.
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


HEX_RUN = re.compile(rb"[0-9A-Fa-f]{32,}")


class Needles:
    """The secrets to look for, searched in time linear in the data: hex spellings by looking up
    every window of every hex run in a set, raw bytes (only in binary files) with `in`."""

    def __init__(self, secrets: list[bytes]) -> None:
        self.hex: dict[int, dict[bytes, str]] = {}
        for value in set(secrets):
            self.hex.setdefault(2 * len(value), {})[value.hex().upper().encode()] = f"clear key {value.hex().upper()[:8]}..."
        self.raw = [(f"clear key {v.hex().upper()[:8]}... (raw)", v) for v in set(secrets)]
        self.raw += [("a PKCS#8 RSA private key", f) for f in forms(PKCS8_RSA_PREFIX)]
        self.raw += [("a PKCS#8 EC private key", f) for f in forms(PKCS8_EC_PREFIX)]
        self.raw += [("a PEM private key", m) for m in PRIVATE_KEY_MARKERS]

    def in_hex(self, data: bytes) -> list[str]:
        found = []
        for run in HEX_RUN.finditer(data):
            text = run.group(0).upper()
            for length, wanted in self.hex.items():
                for i in range(len(text) - length + 1):
                    what = wanted.get(text[i : i + length])
                    if what:
                        found.append(what)
        return found

    def in_bytes(self, data: bytes) -> list[str]:
        return self.in_hex(data) + [what for what, needle in self.raw if needle in data]


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
    needles = Needles(observed.secrets)
    master_hex = {m.hex().upper().encode(): key_file for key_file, m in masters.items()}
    found = []
    for path in files:
        data = path.read_bytes()
        found += [f"{path}: {what}" for what in needles.in_bytes(data)]
        for run in HEX_RUN.finditer(data):
            text = run.group(0).upper()
            for i in range(len(text) - 63):
                owner = master_hex.get(text[i : i + 64])
                if owner is not None and owner != path:
                    found.append(f"{path}: the master key of {owner} (hex)")
        found += [f"{path}: the master key of {key_file}" for key_file, m in masters.items() if key_file != path and m in data]
    assert not found, "\n".join(found)
    print(f"\nscanned {len(files)} files for {len(set(observed.secrets))} clear keys and {len(masters)} master keys")


def test_no_secret_in_any_response(observed):
    masters = list(master_keys().values())
    # responses are JSON text: secrets could only appear spelled in hex (or as a PEM key)
    needles = Needles(observed.secrets + masters)
    found = []
    for exchange in observed.exchanges:
        hits = needles.in_hex(exchange.response)
        if b"PRIVATE KEY-----" in exchange.response:
            hits.append("a PEM private key")
        found += [f"response to {exchange.request[:80]!r}: {what}" for what in hits]
    assert not found, "\n".join(found)
    print(f"\nscanned {len(observed.exchanges)} responses")


def test_no_clear_pin_anywhere(observed):
    pins = sorted(set(observed.pins))
    if not pins:
        pytest.skip("no PIN registered")
    found = []
    for path in files_to_scan():
        data = path.read_bytes()
        found += [f"{path}: a clear PIN of {len(p)} digits" for p in pins if p.encode() in data]
    for exchange in observed.exchanges:
        found += [f"response to {exchange.request[:80]!r}: a clear PIN of {len(p)} digits"
                  for p in pins if p.encode() in exchange.response]
    assert not found, "\n".join(found)
    print(f"\nscanned for {len(pins)} clear PINs")


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


def test_the_scanner_finds_what_it_looks_for():
    key = bytes(range(1, 17))
    needles = Needles([key])
    assert needles.in_hex(b'{"KeyMaterial":"00' + key.hex().upper().encode() + b'FF"}')
    assert needles.in_hex(b"x" + key.hex().encode() + b"y")
    assert needles.in_bytes(b"\x00\x01" + key + b"\x02")
    assert not needles.in_bytes(b'{"KeyCheckValue":"0102030405060708090A0B0C0D0E0F11"}' + key[:15])
