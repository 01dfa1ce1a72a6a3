#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/seeds/<target>/ from the repository's
own test data, in the input layouts of fuzz/src/lib.rs:

- tr31: the TR-31 vectors of crates/keyblock/tests/tr31_vectors.rs (KBPK length, KBPK, block);
- tr34_inspect / tr34_open: the real AWS CLI example blocks (crates/keyblock/tests/fixtures) and
  blocks built with the fuzz keys of fuzz/data by the independent Python TR-34 implementation
  (crates/keyblock/tests/tr34_independent.py), plus build parameters for tr34_open's round trips;
- certificate: the certificates of the keyblock and pki test fixtures and fuzz/data, as DER and
  in the wire form (base64 of PEM), one and two to a chain;
- api_decode: a minimal and a full valid body of every operation, from the service model
  (tests/compat/model_requests.py);
- data_decode: the same for the data plane's operations, from the data-plane model, with the
  path label (a key ARN; an alias once) before the body where the operation has one;
- sigv4: the signed requests of the AWS SigV4 test suite and botocore
  (crates/sigv4/tests/aws-signing-test-suite, crates/sigv4/tests/botocore).

Needs python3 with `cryptography` (for the TR-34 blocks). Run from anywhere:
`python3 fuzz/make_seeds.py`. Regression inputs found by fuzzing live beside the seeds and are
kept (this script only adds or overwrites its own files).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
sys.path.insert(0, str(REPO / "tests" / "compat"))
import model_requests  # noqa: E402

KEYBLOCK = REPO / "crates" / "keyblock" / "tests"
SEEDS = FUZZ / "seeds"


def write(target: str, name: str, data: bytes) -> None:
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def fixture_hex(name: str) -> bytes:
    return bytes.fromhex((KEYBLOCK / "fixtures" / name).read_text().strip())


def pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def tr31_seeds() -> None:
    source = (KEYBLOCK / "tr31_vectors.rs").read_text()
    named = {"ab": "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB", "abc": "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCC",
             "cd": "CCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"}
    pairs = re.findall(r'kbpk: "([^"]+)",[\s\S]*?expected: "([^"]+)"', source)
    for kbpk, block in re.findall(r'\(\s*(ab|abc|cd|"[0-9A-F ]+"),\s*"[0-9A-F]+",\s*"([A-D][^"]+)",?\s*\)', source):
        pairs.append((named.get(kbpk, kbpk.strip('"')), block))
    for kbpk_hex, block in pairs:
        kbpk = bytes.fromhex(kbpk_hex.replace(" ", ""))
        data = bytes([len(kbpk)]) + kbpk + block.encode()
        write("tr31", hashlib.sha1(data).hexdigest()[:16], data)


def built_tr34_blocks() -> list[tuple[str, bytes]]:
    data = FUZZ / "data"
    common = {
        "kdh_cert": (data / "kdh.cert.der").read_bytes().hex(),
        "kdh_key": (data / "kdh.key.der").read_bytes().hex(),
        "krd_cert": (data / "krd.cert.der").read_bytes().hex(),
    }
    requests = [
        {"op": "build", "key": "0123456789ABCDEFFEDCBA9876543210", "header": "D0112K0TB00E0000",
         "cipher": "TDES", "nonce": "0123456789ABCDEF", "signing_time": None, **common},
        {"op": "build", "key": "00112233445566778899AABBCCDDEEFF", "header": "D0112P0AE00E0000",
         "cipher": "AES", "nonce": None, "signing_time": "231025120000Z", **common},
    ]
    script = KEYBLOCK / "tr34_independent.py"
    out = subprocess.run([sys.executable, str(script)], input=json.dumps(requests), capture_output=True,
                         text=True, check=True).stdout
    blocks = [bytes.fromhex(json.loads(line)["block"]) for line in out.splitlines() if line.strip()]
    return [("two-pass-tdes", blocks[0]), ("one-pass-aes", blocks[1])]


def tr34_seeds() -> None:
    aws = [("aws-import-one-pass", fixture_hex("aws_cli_import_key_tr34.hex")),
           ("aws-export-two-pass", fixture_hex("aws_cli_export_key_tr34.hex"))]
    built = built_tr34_blocks()
    for name, block in aws + built:
        write("tr34_inspect", name, block)
        write("tr34_open", "open-" + name, b"\x00" + block)
    # Round trips: choice (bit 0 AES, bit 1 one-pass), key, nonce, header.
    for name, choice, key, nonce, header in [
        ("build-tdes-two-pass", 0, bytes(range(16)), bytes(range(8)), b"D0112K0TB00E0000"),
        ("build-aes-one-pass", 3, bytes(range(32)), b"", b"D0144M3TC00E0100KS1800604B120F9292800000"),
        ("build-tdes3-two-pass", 0, bytes(range(24)), bytes(range(16)), b"B0000P0TE00N0000"),
    ]:
        write("tr34_open", name, bytes([1, choice, len(key)]) + key + bytes([len(nonce)]) + nonce + header)


def certificate_seeds() -> None:
    ders = {
        "aws-kdh": fixture_hex("aws_cli_import_key_kdh_cert.hex"),
        "aws-krd": fixture_hex("aws_cli_export_key_krd_cert.hex"),
        "fuzz-kdh": (FUZZ / "data" / "kdh.cert.der").read_bytes(),
    }
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    chains = REPO / "crates" / "pki" / "tests" / "fixtures" / "python-chains"
    for path in sorted(chains.glob("*.pem"))[:8]:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        ders[path.stem] = cert.public_bytes(Encoding.DER)
    for name, der in ders.items():
        write("certificate", "der-" + name, b"\x00" + der)
        write("certificate", "wire-" + name, b"\x01" + base64.b64encode(pem(der)))
    chain = pem(ders["aws-kdh"]) + pem(ders["aws-krd"])
    write("certificate", "wire-chain", b"\x01" + base64.b64encode(chain))


# Bodies of the malformed-request battery (tests/compat/test_malformed.py) that stress the parser
# rather than the model, around one string member: deep nesting, invalid UTF-8, a lone surrogate
# escape.
def parser_edge_cases(member: str) -> dict[str, bytes]:
    name = member.encode()
    return {
        "nested-10000": b'{"Nested": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        "invalid-utf8": b'{"' + name + b'": "\xff\xfe"}',
        "lone-surrogate": b'{"' + name + b'": "\\ud800"}',
    }


def api_seeds() -> None:
    control = model_requests.CONTROL
    for index, op in enumerate(control.operations):
        for full in (False, True):
            body = json.dumps(control.valid_body(op, full)).encode()
            write("api_decode", f"{op}-{'full' if full else 'minimal'}", bytes([index]) + body)
    list_keys = bytes([control.operations.index("ListKeys")])
    for name, body in parser_edge_cases("NextToken").items():
        write("api_decode", f"ListKeys-{name}", list_keys + body)


def data_seeds() -> None:
    # In data_decode's layout (fuzz/src/lib.rs): the operation's index among the model's sorted
    # operations, then for an operation with a path label its decoded value and a newline, then
    # the body.
    data = model_requests.DATA

    def request(op: str, body: bytes, label: str | None = None) -> bytes:
        labels = list(data.labels(op).values())
        head = (labels[0] if label is None else label).encode() + b"\n" if labels else b""
        return bytes([data.operations.index(op)]) + head + body

    for op in data.operations:
        for full in (False, True):
            body = json.dumps(data.valid_body(op, full)).encode()
            write("data_decode", f"{op}-{'full' if full else 'minimal'}", request(op, body))
    encrypt = json.dumps(data.valid_body("EncryptData")).encode()
    write("data_decode", "EncryptData-alias-label", request("EncryptData", encrypt, "alias/payments-kek"))
    for name, body in parser_edge_cases("PlainText").items():
        write("data_decode", f"EncryptData-{name}", request("EncryptData", body))


def sigv4_seeds() -> None:
    suite = REPO / "crates" / "sigv4" / "tests" / "aws-signing-test-suite" / "v4"
    for path in sorted(suite.glob("*/*-signed-request.txt")):
        text = path.read_bytes().replace(b"\r\n", b"\n")
        write("sigv4", f"{path.parent.name}-{path.stem}", b"1440938160 service\n" + text)
    botocore = json.loads((REPO / "crates" / "sigv4" / "tests" / "botocore" / "signed-requests.json").read_text())
    for request in botocore["requests"]:
        target = request["path"] + ("?" + request["query"] if request["query"] else "")
        lines = [f"{botocore['signed_at']} {botocore['service']}", f"{request['method']} {target} HTTP/1.1"]
        lines += [f"{name}:{value}" for name, value in request["headers"]]
        write("sigv4", "botocore-" + request["name"], ("\n".join(lines) + "\n\n" + request["body"]).encode())


def main() -> None:
    assert len(model_requests.CONTROL.operations) == 32
    assert len(model_requests.DATA.operations) == 15
    tr31_seeds()
    tr34_seeds()
    certificate_seeds()
    api_seeds()
    data_seeds()
    sigv4_seeds()
    for folder in sorted(SEEDS.iterdir()):
        print(f"{folder.name}: {len(list(folder.iterdir()))} seeds")


if __name__ == "__main__":
    main()
