"""TR-31 interoperability between `paycrypt keyblock` (the offline CLI) and psec, an
independent Python implementation of TR-31 (PyPI `psec`).

* Blocks the CLI wraps (versions B and D, TDES 2/3-key and AES-128/192/256 keys, every KBPK
  length the version allows, key length masking on and off) unwrap with `psec.tr31.unwrap`
  to the same key and header.
* Blocks psec wraps (versions A, B, C and D, with and without optional blocks, the extended
  optional block length included) unwrap with the CLI to the same key and header fields,
  and `inspect` reports the same header. The CLI's key check value is recomputed here with
  python `cryptography` / `hmac`.

The CLI binary is PAYCRYPT_BIN (default: <repo>/target/release/paycrypt).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import subprocess
from pathlib import Path

import psec
import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # cryptography >= 43 keeps TDES among the "decrepit" algorithms
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    TripleDES = algorithms.TripleDES  # type: ignore[attr-defined]

# psec drives TDES through the deprecated `cryptography` names; that is psec's business.
pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
PAYCRYPT_BIN = Path(os.environ.get("PAYCRYPT_BIN", REPO / "target" / "release" / "paycrypt"))

# KBPK lengths each version allows (psec also takes single-DES KBPKs for A and C; paycrypt
# does not, see test_single_des_kbpk_is_refused_cleanly).
KBPK_LENGTHS = {"A": (16, 24), "B": (16, 24), "C": (16, 24), "D": (16, 24, 32)}

# (name, header algorithm character, key length in bytes)
KEYS = [
    ("TDES-2KEY", "T", 16),
    ("TDES-3KEY", "T", 24),
    ("AES-128", "A", 16),
    ("AES-192", "A", 24),
    ("AES-256", "A", 32),
]


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli():
    """Runs `paycrypt keyblock ARGS...`; returns stdout without the final newline and fails
    the test (showing stderr) on a non-zero exit."""
    if not PAYCRYPT_BIN.is_file():
        pytest.fail(
            f"paycrypt binary not found at {PAYCRYPT_BIN}: build it with "
            "`cargo build --release -p paycrypt` or set PAYCRYPT_BIN"
        )

    def run(*args: str) -> str:
        proc = subprocess.run(
            [str(PAYCRYPT_BIN), "keyblock", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, f"paycrypt keyblock {args[:2]} failed: {proc.stderr}"
        assert proc.stderr == ""
        return proc.stdout.rstrip("\n")

    return run


@pytest.fixture(scope="module")
def cli_fails():
    """Runs `paycrypt keyblock ARGS...` that must fail cleanly; returns stderr."""

    def run(*args: str) -> str:
        proc = subprocess.run(
            [str(PAYCRYPT_BIN), "keyblock", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.startswith("paycrypt: ")
        assert "panicked" not in proc.stderr
        return proc.stderr

    return run


def kcv(algorithm: str, key: bytes, hm: str | None = None) -> str:
    """The KCV the CLI is expected to show, computed independently of paycrypt."""
    if algorithm == "T":
        tdes_key = key + key[:8] if len(key) == 16 else key  # K1K2 -> K1K2K1
        enc = Cipher(TripleDES(tdes_key), modes.ECB()).encryptor()
        return (enc.update(bytes(8)) + enc.finalize())[:3].hex().upper()
    if algorithm == "A":
        mac = cmac.CMAC(algorithms.AES(key))
        mac.update(bytes(16))
        return mac.finalize()[:3].hex().upper()
    if algorithm == "H":
        digest = {None: hashlib.sha256, "20": hashlib.sha224, "21": hashlib.sha256,
                  "22": hashlib.sha384, "23": hashlib.sha512}[hm]
        return hmac.new(key, b"", digest).digest()[:3].hex().upper()
    raise AssertionError(algorithm)


def psec_header(version: str, usage: str, algorithm: str, mode: str, key_version: str,
                exportability: str, blocks: list[tuple[str, str]]) -> psec.tr31.Header:
    header = psec.tr31.Header(version, usage, algorithm, mode, key_version, exportability)
    for block_id, data in blocks:
        header.blocks[block_id] = data
    return header


def header_fields(header: psec.tr31.Header) -> dict:
    """psec's view of a header in the shape of the CLI's JSON."""
    return {
        "version": header.version_id,
        "key_usage": header.key_usage,
        "algorithm": header.algorithm,
        "mode_of_use": header.mode_of_use,
        "key_version": header.version_num,
        "exportability": header.exportability,
        "optional_blocks": [{"id": k, "data": v} for k, v in header.blocks.items()],
    }


# --------------------------------------------------------------------------------------------
# paycrypt wraps, psec unwraps
# --------------------------------------------------------------------------------------------

WRAP_CASES = [
    pytest.param(version, kbpk_len, name, alg, key_len, id=f"{version}-kbpk{kbpk_len * 8}-{name}")
    for version in ("B", "D")
    for kbpk_len in KBPK_LENGTHS[version]
    for name, alg, key_len in KEYS
]


@pytest.mark.parametrize("mask", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize(("version", "kbpk_len", "name", "alg", "key_len"), WRAP_CASES)
def test_paycrypt_wraps_psec_unwraps(cli, version, kbpk_len, name, alg, key_len, mask):
    kbpk = secrets.token_bytes(kbpk_len)
    key = secrets.token_bytes(key_len)
    header = f"{version}0000K0{alg}B01E0000"
    args = ["tr31", "wrap", "--kbpk", kbpk.hex().upper(), "--header", header, "--key", key.hex()]
    block = cli(*(args + ([] if mask else ["--no-mask"])))

    parsed, unwrapped = psec.tr31.unwrap(kbpk, block)
    assert unwrapped == key
    assert header_fields(parsed) == {
        "version": version,
        "key_usage": "K0",
        "algorithm": alg,
        "mode_of_use": "B",
        "key_version": "01",
        "exportability": "E",
        "optional_blocks": [],
    }
    # The block length is what psec writes for the same key: masked to the algorithm's
    # longest key (TDES 24, AES 32 bytes) by default, the true length with --no-mask.
    expected = psec.tr31.wrap(kbpk, header, key, None if mask else len(key))
    assert len(block) == len(expected)
    assert block[:16] == expected[:16]


@pytest.mark.parametrize("version,kbpk_len", [("B", 24), ("D", 32)])
def test_paycrypt_optional_blocks_unwrap_with_psec(cli, version, kbpk_len):
    kbpk = secrets.token_bytes(kbpk_len)
    key = secrets.token_bytes(16)
    header = f"{version}0000B0TX12S0300KS1800604B120F9292800000T20600TS1A2018-06-18T20:42:39.22"
    block = cli("tr31", "wrap", "--kbpk", kbpk.hex(), "--header", header, "--key", key.hex())
    parsed, unwrapped = psec.tr31.unwrap(kbpk, block)
    assert unwrapped == key
    assert header_fields(parsed) == {
        "version": version,
        "key_usage": "B0",
        "algorithm": "T",
        "mode_of_use": "X",
        "key_version": "12",
        "exportability": "S",
        "optional_blocks": [
            {"id": "KS", "data": "00604B120F9292800000"},
            {"id": "T2", "data": "00"},
            {"id": "TS", "data": "2018-06-18T20:42:39.22"},
        ],
    }


@pytest.mark.xfail(
    strict=True,
    raises=psec.tr31.HeaderError,
    reason="psec 1.3.0 reads the extended optional block length `00 LL` as LL bytes, while "
    "ANSI X9.143 (and paycrypt's writer) use LL hex digits: `0004` + 4 digits",
)
def test_long_optional_block_from_paycrypt_with_psec(cli):
    kbpk = secrets.token_bytes(32)
    key = secrets.token_bytes(16)
    header = "D0000P0AE00E0100CT00040136" + "X" * 300
    block = cli("tr31", "wrap", "--kbpk", kbpk.hex(), "--header", header, "--key", key.hex())
    assert block[16:26] == "CT00040136"
    _, unwrapped = psec.tr31.unwrap(kbpk, block)
    assert unwrapped == key


# --------------------------------------------------------------------------------------------
# psec wraps, paycrypt unwraps
# --------------------------------------------------------------------------------------------

# (usage, mode of use, key version, exportability, optional blocks)
HEADER_VARIANTS = {
    "plain": ("K0", "B", "00", "E", []),
    "ks": ("B0", "X", "12", "S", [("KS", "00604B120F9292800000")]),
    "several": ("D0", "E", "A7", "N", [("KS", "FFFF9876543210E00000"), ("T1", ""), ("KV", "00604B120F9292800000")]),
    # Longer than 255 characters: psec writes the extended length form `0002` + 4 digits.
    "extended": ("P0", "E", "01", "E", [("KC", "00"), ("CT", "X" * 300)]),
}

UNWRAP_CASES = [
    pytest.param(version, kbpk_len, name, alg, key_len, id=f"{version}-kbpk{kbpk_len * 8}-{name}")
    for version in ("A", "B", "C", "D")
    for kbpk_len in KBPK_LENGTHS[version]
    for name, alg, key_len in KEYS
]


@pytest.mark.parametrize("mask", [True, False], ids=["masked", "unmasked"])
@pytest.mark.parametrize("variant", list(HEADER_VARIANTS))
@pytest.mark.parametrize(("version", "kbpk_len", "name", "alg", "key_len"), UNWRAP_CASES)
def test_psec_wraps_paycrypt_unwraps(cli, version, kbpk_len, name, alg, key_len, variant, mask):
    usage, mode, key_version, exportability, blocks = HEADER_VARIANTS[variant]
    kbpk = secrets.token_bytes(kbpk_len)
    key = secrets.token_bytes(key_len)
    header = psec_header(version, usage, alg, mode, key_version, exportability, blocks)
    # psec masks the key length by default; masked_key_len=len(key) turns that off.
    block = psec.tr31.wrap(kbpk, header, key, None if mask else len(key))

    out = json.loads(cli("tr31", "unwrap", "--kbpk", kbpk.hex().upper(), block))
    assert set(out) == {"header", "key", "kcv"}
    expected_header = header_fields(header)
    assert out["header"] == expected_header
    assert out["key"] == key.hex().upper()
    assert out["kcv"] == kcv(alg, key)

    described = json.loads(cli("inspect", block))
    assert described["format"] == "TR-31"
    assert described["length"] == len(block)
    assert {k: v for k, v in described["header"].items() if k != "key_context"} == expected_header
    assert key.hex().upper() not in json.dumps(described).upper()


@pytest.mark.parametrize("hm", [None, "20", "21", "22", "23"])
def test_psec_hmac_key_kcv_follows_hm_block(cli, hm):
    kbpk = secrets.token_bytes(32)
    key = secrets.token_bytes(32)
    blocks = [] if hm is None else [("HM", hm)]
    block = psec.tr31.wrap(kbpk, psec_header("D", "M7", "H", "C", "00", "N", blocks), key)
    out = json.loads(cli("tr31", "unwrap", "--kbpk", kbpk.hex(), block))
    assert out["key"] == key.hex().upper()
    assert out["header"]["algorithm"] == "H"
    assert out["kcv"] == kcv("H", key, hm)


@pytest.mark.parametrize("version", ["A", "B", "C", "D"])
def test_psec_block_with_wrong_kbpk_fails_cleanly(cli_fails, version):
    kbpk = secrets.token_bytes(KBPK_LENGTHS[version][0])
    key = secrets.token_bytes(16)
    block = psec.tr31.wrap(kbpk, psec_header(version, "P0", "T", "E", "00", "E", []), key)
    other = bytes(b ^ 0xFF for b in kbpk)
    stderr = cli_fails("tr31", "unwrap", "--kbpk", other.hex(), block)
    assert "MAC does not verify" in stderr
    for secret in (kbpk, other, key):
        assert secret.hex().upper() not in stderr.upper()


def test_single_des_kbpk_is_refused_cleanly(cli_fails):
    # psec accepts an 8-byte (single DES) KBPK for versions A and C; paycrypt does not.
    kbpk = secrets.token_bytes(8)
    block = psec.tr31.wrap(kbpk, psec_header("C", "P0", "T", "E", "00", "E", []), secrets.token_bytes(16))
    stderr = cli_fails("tr31", "unwrap", "--kbpk", kbpk.hex(), block)
    assert "KBPK of 8 bytes" in stderr
