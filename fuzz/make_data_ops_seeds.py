#!/usr/bin/env python3
"""Writes the seeds of the data_ops fuzz target (fuzz/seeds/data_ops/) and its key kinds
(fuzz/data_ops_keys.json) from the requests the Python data-plane tests send.

It runs those tests (tests/compat/test_data_plane*.py and test_as2805.py) against a release build,
as scripts/test does, and reads what conftest's observer recorded of every boto3 call: the key
attributes of each key a CreateKey or ImportKey answer describes, the aliases CreateAlias made, and
each data-plane request's path and body. Each distinct set of key attributes a data-plane request
names becomes a key kind (its position N in data_ops_keys.json; the target makes a key of that kind
under `alias/fuzz-N`), and every key identifier of a request is renamed to its kind's alias. One
request is kept for each shape (operation, answered or refused, the members present and the values
of their enumerations), written in the target's input layout: the operation's index in
`Operation::ALL`, the path label and a newline for the operations with one, the body.

The tests' PIN blocks are encrypted under the tests' keys; where a request's PIN block is under a
PIN encryption key of the target's or a DUKPT key derived from one of its BDKs (not a dynamic or
AS 2805 key), it is replaced by a block of the same format for PIN 1234 and the request's PAN under
that key (the target's material is fixed: `clear_key` in fuzz/src/data_ops.rs), built with the
tests' own references (psec, pydukpt, their X9.24-3 derivation), so that the fuzzer starts from
PIN blocks that parse.

Run from the repository root after `cargo build --release -p paycrypt`, with the test virtualenv
that scripts/test makes: `.venv/bin/python fuzz/make_data_ops_seeds.py`. It replaces the seeds it
wrote before (those named `OPERATION-ok-*` and `OPERATION-refused-*`) and keeps regression inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pydukpt
import pytest

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
SEEDS = FUZZ / "seeds" / "data_ops"
KEY_KINDS = FUZZ / "data_ops_keys.json"
TESTS = [
    "tests/compat/test_data_plane.py",
    "tests/compat/test_data_plane_cards_pins.py",
    "tests/compat/test_data_plane_emv.py",
    "tests/compat/test_data_plane_schemes.py",
    "tests/compat/test_as2805.py",
]
# paycrypt_api::data::Operation::ALL, in order: the first byte of an input picks one.
OPERATIONS = [
    "DecryptData", "EncryptData", "GenerateAs2805KekValidation", "GenerateAuthRequestCryptogram",
    "GenerateCardValidationData", "GenerateMac", "GenerateMacEmvPinChange", "GeneratePinData",
    "ReEncryptData", "TranslateKeyMaterial", "TranslatePinData", "VerifyAuthRequestCryptogram",
    "VerifyCardValidationData", "VerifyMac", "VerifyPinData",
]
# The data plane's HTTP bindings (service model): a key in the path, or a fixed path.
LABELLED = re.compile(r"^/keys/(?P<key>.+)/(?P<verb>encrypt|decrypt|reencrypt)$")
LABELLED_OPERATIONS = {"decrypt": "DecryptData", "encrypt": "EncryptData", "reencrypt": "ReEncryptData"}
FIXED = {
    "/as2805kekvalidation/generate": "GenerateAs2805KekValidation",
    "/cryptogram/generate": "GenerateAuthRequestCryptogram",
    "/cardvalidationdata/generate": "GenerateCardValidationData",
    "/mac/generate": "GenerateMac",
    "/macemvpinchange/generate": "GenerateMacEmvPinChange",
    "/pindata/generate": "GeneratePinData",
    "/keymaterial/translate": "TranslateKeyMaterial",
    "/pindata/translate": "TranslatePinData",
    "/cryptogram/verify": "VerifyAuthRequestCryptogram",
    "/cardvalidationdata/verify": "VerifyCardValidationData",
    "/mac/verify": "VerifyMac",
    "/pindata/verify": "VerifyPinData",
}


class Recorder:
    """A pytest plugin that keeps conftest's record of every exchange when the tests end."""

    exchanges: list = []

    def pytest_sessionfinish(self, session, exitstatus):
        conftest = next(m for m in sys.modules.values() if hasattr(m, "OBSERVED") and hasattr(m, "Exchange"))
        Recorder.exchanges = list(conftest.OBSERVED.exchanges)


def keys_and_aliases(exchanges) -> tuple[dict[str, dict], dict[str, str]]:
    """The attributes of every key an answer described, by key ARN; the key ARN of every alias."""
    attributes, aliases = {}, {}
    for exchange in exchanges:
        try:
            answer = json.loads(exchange.response)
        except ValueError:
            continue
        if not isinstance(answer, dict):
            continue
        key, alias = answer.get("Key"), answer.get("Alias")
        if isinstance(key, dict) and "KeyArn" in key and "KeyAttributes" in key:
            attributes[key["KeyArn"]] = key["KeyAttributes"]
        if isinstance(alias, dict) and alias.get("KeyArn"):
            aliases[alias["AliasName"]] = alias["KeyArn"]
    return attributes, aliases


def shape(value, path: str = "") -> list[str]:
    """The members present, with the values of enumerations and key aliases."""
    if isinstance(value, dict):
        return [entry for name, member in value.items() for entry in shape(member, f"{path}/{name}")]
    enumeration = isinstance(value, str) and re.fullmatch(r"[A-Z0-9_]+", value) and not re.fullmatch(r"[0-9A-F]+", value)
    if enumeration or (isinstance(value, str) and value.startswith("alias/fuzz-")):
        return [f"{path}={value}"]
    return [path]


def clear_key(index: int, length: int) -> bytes:
    """The target's material for key kind `index` (fuzz/src/data_ops.rs, `clear_key`)."""
    key = bytearray()
    for position in range(length):
        byte = (index * 73 + position * 29 + 17) % 256 & 0xFE
        key.append(byte | (bin(byte).count("1") % 2 == 0))
    return bytes(key)


KEY_LENGTHS = {"TDES_2KEY": 16, "TDES_3KEY": 24, "AES_128": 16, "AES_192": 24, "AES_256": 32}
FORMAT_NUMBERS = {"ISO_FORMAT_0": 0, "ISO_FORMAT_1": 1, "ISO_FORMAT_3": 3, "ISO_FORMAT_4": 4}


def working_key(kind_index: int, algorithm: str, dukpt: dict | None) -> bytes | None:
    """The key a PIN block is encrypted under: the target's key of kind `kind_index`, or, with
    `dukpt` (a request's DUKPT attributes), the PIN key derived from it as the BDK, with the Python
    tests' references (pydukpt for TDES; their X9.24-3 derivation, checked there against the
    published vectors, for AES)."""
    length = KEY_LENGTHS.get(algorithm)
    if length is None:
        return None
    key = clear_key(kind_index, length)
    if dukpt is None:
        return key
    ksn = bytes.fromhex(dukpt.get("KeySerialNumber", ""))
    derivation = dukpt.get("DukptDerivationType") or dukpt.get("DukptKeyDerivationType") or algorithm
    if algorithm == "TDES_2KEY" and len(ksn) == 10:
        return pydukpt.pin_key(pydukpt.derive_key(pydukpt.derive_ipek(key, ksn), ksn))
    if algorithm == "AES_128" and len(ksn) == 12 and derivation in ("AES_128", "TDES_2KEY"):
        return tests_module("test_data_plane_cards_pins").x924_3_pin_key(key, ksn, derivation)
    return None


def pin_block(kind_index: int, algorithm: str, block_format: str, pan: str | None,
              dukpt: dict | None = None) -> str | None:
    """PIN 1234 in `block_format` (ISO_FORMAT_0/1/3/4) for `pan`, under the target's key of kind
    `kind_index` (or the DUKPT PIN key `dukpt` derives from it), in hex, with the Python tests'
    reference encoder; None where that cannot be made (an AES key for a TDES format, ...)."""
    key = working_key(kind_index, algorithm, dukpt)
    number = FORMAT_NUMBERS.get(block_format)
    if key is None or number is None or (number != 1 and not pan):
        return None
    aes = (dukpt.get("DukptDerivationType") or dukpt.get("DukptKeyDerivationType") or algorithm
           if dukpt else algorithm).startswith("AES")
    if aes != (number == 4):
        return None
    return tests_module("test_data_plane_cards_pins").encrypt_reference(number, key, "1234", pan or "")


def tests_module(name: str):
    """A module of the Python tests, as the test run loaded it."""
    return sys.modules[name]


# Where each PIN operation keeps its PIN block, its key, its format and its PAN; requests with a
# dynamic or AS 2805 key are left as they are.
TRANSLATION_FORMATS = {"IsoFormat0": "ISO_FORMAT_0", "IsoFormat1": "ISO_FORMAT_1",
                       "IsoFormat3": "ISO_FORMAT_3", "IsoFormat4": "ISO_FORMAT_4"}


def with_target_pin_block(operation: str, request: dict, kinds: list[dict]) -> dict:
    def kind_of(alias):
        index = int(alias.rsplit("-", 1)[1]) if isinstance(alias, str) and alias.startswith("alias/fuzz-") else None
        return (index, kinds[index]) if index is not None and index < len(kinds) else (None, None)

    if operation == "TranslatePinData":
        if {"IncomingWrappedKey", "IncomingAs2805Attributes"} & request.keys():
            return request
        attributes = request.get("IncomingTranslationAttributes", {})
        name = next(iter(attributes), None)
        index, kind = kind_of(request.get("IncomingKeyIdentifier"))
        if name in TRANSLATION_FORMATS and kind:
            pan = attributes[name].get("PrimaryAccountNumber")
            if name == "IsoFormat4" and pan:
                # TranslatePinData's ISO 4 blocks carry the legacy PAN: the rightmost 12 digits
                # before the check digit (../shared/reference/data-plane.md).
                pan = pan[-13:-1]
            block = pin_block(index, kind["KeyAlgorithm"], TRANSLATION_FORMATS[name], pan,
                              request.get("IncomingDukptAttributes"))
            if block:
                request["EncryptedPinBlock"] = block
        return request
    if operation in ("VerifyPinData", "GeneratePinData", "GenerateMacEmvPinChange"):
        if "EncryptionWrappedKey" in request:
            return request
        if operation == "GenerateMacEmvPinChange":
            return with_target_pin_change_blocks(request, kinds, kind_of)
        index, kind = kind_of(request.get("EncryptionKeyIdentifier"))
        if not kind:
            return request
        block = pin_block(index, kind["KeyAlgorithm"], request.get("PinBlockFormat", ""),
                          request.get("PrimaryAccountNumber"), request.get("DukptAttributes"))
        if not block:
            return request
        if operation == "VerifyPinData":
            request["EncryptedPinBlock"] = block
        else:
            for generation in request.get("GenerationAttributes", {}).values():
                if isinstance(generation, dict) and "EncryptedPinBlock" in generation:
                    generation["EncryptedPinBlock"] = block
    return request


def with_target_pin_change_blocks(request: dict, kinds: list[dict], kind_of) -> dict:
    """GenerateMacEmvPinChange: the new PIN block (and the current one, where the scheme carries
    it) for the PAN of the derivation attributes."""
    block_format = request.get("PinBlockFormat", "")
    derivation = next(iter(request.get("DerivationMethodAttributes", {}).values()), {})
    pan = derivation.get("PrimaryAccountNumber") if isinstance(derivation, dict) else None
    index, kind = kind_of(request.get("NewPinPekIdentifier"))
    block = kind and pin_block(index, kind["KeyAlgorithm"], block_format, pan)
    if block:
        request["NewEncryptedPinBlock"] = block
    current = derivation.get("CurrentPinAttributes") if isinstance(derivation, dict) else None
    if isinstance(current, dict):
        index, kind = kind_of(current.get("CurrentPinPekIdentifier"))
        block = kind and pin_block(index, kind["KeyAlgorithm"], block_format, pan)
        if block:
            current["CurrentEncryptedPinBlock"] = block
    return request


def main() -> None:
    os.environ.setdefault("PAYCRYPT_BIN", str(REPO / "target" / "release" / "paycrypt"))
    os.chdir(REPO)
    if pytest.main(["-q", "-p", "no:cacheprovider", *TESTS], plugins=[Recorder()]) != 0:
        sys.exit("the data-plane tests failed: no seeds written")
    attributes, aliases = keys_and_aliases(Recorder.exchanges)
    kinds: list[str] = []

    def kind_alias(identifier: str) -> str | None:
        name = re.search(r"(alias/.+)$", identifier)
        arn = aliases.get(name.group(1)) if name else identifier
        if arn not in attributes:
            return None
        kind = json.dumps(attributes[arn], sort_keys=True)
        if kind not in kinds:
            kinds.append(kind)
        return f"alias/fuzz-{kinds.index(kind)}"

    def renamed(value):
        if isinstance(value, dict):
            return {name: renamed(member) for name, member in value.items()}
        if isinstance(value, str) and (":key/" in value or value.startswith("alias/") or ":alias/" in value):
            alias = kind_alias(value)
            if alias is None:
                raise LookupError(value)
            return alias
        return value

    renamed_requests = []
    for exchange in Recorder.exchanges:
        path, _, body = exchange.request.partition(b" ")
        path = path.decode()
        labelled = LABELLED.match(path)
        operation = LABELLED_OPERATIONS[labelled["verb"]] if labelled else FIXED.get(path)
        if operation is None:
            continue
        try:
            request = renamed(json.loads(body or b"{}"))
            label = renamed(labelled["key"]) if labelled else None
        except (LookupError, ValueError):
            continue
        renamed_requests.append((operation, label, request, b"__type" not in exchange.response))
    # Every kind is known once every request is renamed: the PIN blocks can then be remade.
    key_kinds = [json.loads(kind) for kind in kinds]
    seeds: dict[tuple, tuple[str, bytes]] = {}
    for operation, label, request, answered in renamed_requests:
        request = with_target_pin_block(operation, request, key_kinds)
        data = bytes([OPERATIONS.index(operation)])
        if label is not None:
            data += label.encode() + b"\n"
        data += json.dumps(request).encode()
        key = (operation, answered, label, tuple(sorted(shape(request))))
        name = f"{operation}-{'ok' if answered else 'refused'}-{hashlib.sha1(data).hexdigest()[:10]}"
        seeds.setdefault(key, (name, data))

    SEEDS.mkdir(parents=True, exist_ok=True)
    for old in SEEDS.iterdir():
        if re.match(r"^[A-Za-z0-9]+-(ok|refused)-[0-9a-f]{10}$", old.name):
            old.unlink()
    for name, data in seeds.values():
        (SEEDS / name).write_bytes(data)
    KEY_KINDS.write_text(json.dumps(key_kinds, indent=1) + "\n")
    print(f"{len(seeds)} seeds in {SEEDS.relative_to(REPO)}, {len(kinds)} key kinds in {KEY_KINDS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
