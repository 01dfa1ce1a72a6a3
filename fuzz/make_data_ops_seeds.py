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

The tests' dynamic keys and PIN blocks are made under the tests' keys. So each TR-31 dynamic key
(`WrappedKey`) is rewrapped with psec under the target's key that unwraps it (the target's material
is fixed: `clear_key` in fuzz/src/data_ops.rs), and each PIN block under a PIN encryption key of
the target's, a DUKPT key derived from one of its BDKs or such a dynamic key (not an AS 2805 session
key) is replaced by a block of the same format for PIN 1234 and the request's PAN under that key,
built with the tests' own references (psec, pydukpt, their X9.24-3 derivation): the fuzzer starts
from keys that unwrap and PIN blocks that parse. Last, each Verify* request that the tests saw
verify gets the value that verifies under the target's keys: a paycrypt started here imports the
target's key material under the same aliases, answers the matching Generate* request (GenerateMac,
GenerateCardValidationData, GeneratePinData, GenerateAuthRequestCryptogram), and the value is
kept when the Verify* request then verifies (so the fuzzer starts past the comparison too; where
no Generate* request matches, as for DUKPT PIN blocks or Discover's dCVC, the seed stays as it
was).

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
import tempfile
from pathlib import Path

import psec.tr31
import pydukpt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

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
# Every algorithm the target imports with known material (fuzz/src/data_ops.rs, `clear_key`).
IMPORTED_LENGTHS = {**KEY_LENGTHS, "HMAC_SHA224": 28, "HMAC_SHA256": 32, "HMAC_SHA384": 48, "HMAC_SHA512": 64}
FORMAT_NUMBERS = {"ISO_FORMAT_0": 0, "ISO_FORMAT_1": 1, "ISO_FORMAT_3": 3, "ISO_FORMAT_4": 4}


def working_key(kind_index: int, kind: dict | None, dukpt: dict | None) -> tuple[bytes, bool] | None:
    """The key a PIN block is encrypted under, and whether it is an AES key: the target's key of
    kind `kind_index`, or, with `dukpt` (a request's DUKPT attributes), the PIN key derived from it
    as the BDK, with the Python tests' references (pydukpt for TDES; their X9.24-3 derivation,
    checked there against the published vectors, for AES)."""
    algorithm = kind["KeyAlgorithm"] if kind else ""
    length = KEY_LENGTHS.get(algorithm)
    if length is None:
        return None
    key = clear_key(kind_index, length)
    if dukpt is None:
        return key, algorithm.startswith("AES")
    ksn = bytes.fromhex(dukpt.get("KeySerialNumber", ""))
    derivation = dukpt.get("DukptDerivationType") or dukpt.get("DukptKeyDerivationType") or algorithm
    if algorithm == "TDES_2KEY" and len(ksn) == 10:
        return pydukpt.pin_key(pydukpt.derive_key(pydukpt.derive_ipek(key, ksn), ksn)), False
    if algorithm == "AES_128" and len(ksn) == 12 and derivation in ("AES_128", "TDES_2KEY"):
        pin_key = tests_module("test_data_plane_cards_pins").x924_3_pin_key(key, ksn, derivation)
        return pin_key, derivation == "AES_128"
    return None


def pin_block(key: tuple[bytes, bool] | None, block_format: str, pan: str | None) -> str | None:
    """PIN 1234 in `block_format` (ISO_FORMAT_0/1/3/4) for `pan` under `key` (its bytes, and
    whether it is AES), in hex, with the Python tests' reference encoder; None where that cannot be
    made (an AES key for a TDES format, no PAN for a format that binds one, ...)."""
    number = FORMAT_NUMBERS.get(block_format)
    if key is None or number is None or (number != 1 and not pan) or key[1] != (number == 4):
        return None
    return tests_module("test_data_plane_cards_pins").encrypt_reference(number, key[0], "1234", pan or "")


def tests_module(name: str):
    """A module of the Python tests, as the test run loaded it."""
    return sys.modules[name]


# A dynamic key (TR-31 `WrappedKey`) of a request and the member naming the key that unwraps it;
# EncryptData's, DecryptData's and ReEncryptData's `WrappedKey` is unwrapped by the key in the path.
WRAPPING_KEYS = {
    "EncryptionWrappedKey": "EncryptionKeyIdentifier",
    "IncomingWrappedKey": "IncomingKeyIdentifier",
    "OutgoingWrappedKey": "OutgoingKeyIdentifier",
}


def with_target_wrapped_keys(request: dict, label: str | None, kind_of) -> dict[str, tuple[bytes, bool]]:
    """Rewraps each TR-31 dynamic key of `request` under the target's key that unwraps it (its
    material is known), with the block's own header and a fixed key of the header's algorithm;
    returns those keys by member, and whether each is AES."""
    made = {}
    for member, wrapped in request.items():
        if not (member.endswith("WrappedKey") and isinstance(wrapped, dict)):
            continue
        material = wrapped.get("WrappedKeyMaterial")
        block = material.get("Tr31KeyBlock") if isinstance(material, dict) else None
        if not isinstance(block, str) or len(block) < 16 or block[7] not in "TA":
            continue
        index, kind = kind_of(label if member == "WrappedKey" else request.get(WRAPPING_KEYS.get(member)))
        kek = working_key(index, kind, None)
        if kek is None:
            continue
        key = clear_key(100 + len(made), 16)
        material["Tr31KeyBlock"] = psec.tr31.wrap(kek[0], block[:16], key)
        made[member] = (key, block[7] == "A")
    return made


# Where each PIN operation keeps its PIN block, its key, its format and its PAN; requests with an
# AS 2805 session key are left as they are.
TRANSLATION_FORMATS = {"IsoFormat0": "ISO_FORMAT_0", "IsoFormat1": "ISO_FORMAT_1",
                       "IsoFormat3": "ISO_FORMAT_3", "IsoFormat4": "ISO_FORMAT_4"}


def with_target_keys(operation: str, request: dict, label: str | None, kinds: list[dict]) -> dict:
    """`request` with its dynamic keys and PIN blocks remade under the target's keys."""
    def kind_of(alias):
        index = int(alias.rsplit("-", 1)[1]) if isinstance(alias, str) and alias.startswith("alias/fuzz-") else None
        return (index, kinds[index]) if index is not None and index < len(kinds) else (None, None)

    dynamic = with_target_wrapped_keys(request, label, kind_of)
    if operation == "TranslatePinData":
        if "IncomingAs2805Attributes" in request:
            return request
        attributes = request.get("IncomingTranslationAttributes", {})
        name = next(iter(attributes), None)
        if name in TRANSLATION_FORMATS:
            pan = attributes[name].get("PrimaryAccountNumber")
            if name == "IsoFormat4" and pan:
                # TranslatePinData's ISO 4 blocks carry the legacy PAN: the rightmost 12 digits
                # before the check digit (../shared/reference/data-plane.md).
                pan = pan[-13:-1]
            key = dynamic.get("IncomingWrappedKey") or working_key(
                *kind_of(request.get("IncomingKeyIdentifier")), request.get("IncomingDukptAttributes"))
            block = pin_block(key, TRANSLATION_FORMATS[name], pan)
            if block:
                request["EncryptedPinBlock"] = block
        return request
    if operation == "GenerateMacEmvPinChange":
        return with_target_pin_change_blocks(request, kind_of)
    if operation in ("VerifyPinData", "GeneratePinData"):
        key = dynamic.get("EncryptionWrappedKey") or working_key(
            *kind_of(request.get("EncryptionKeyIdentifier")), request.get("DukptAttributes"))
        block = pin_block(key, request.get("PinBlockFormat", ""), request.get("PrimaryAccountNumber"))
        if not block:
            return request
        if operation == "VerifyPinData":
            request["EncryptedPinBlock"] = block
        else:
            for generation in request.get("GenerationAttributes", {}).values():
                if isinstance(generation, dict) and "EncryptedPinBlock" in generation:
                    generation["EncryptedPinBlock"] = block
    return request


def with_target_pin_change_blocks(request: dict, kind_of) -> dict:
    """GenerateMacEmvPinChange: the new PIN block (and the current one, where the scheme carries
    it) for the PAN of the derivation attributes."""
    block_format = request.get("PinBlockFormat", "")
    derivation = next(iter(request.get("DerivationMethodAttributes", {}).values()), {})
    pan = derivation.get("PrimaryAccountNumber") if isinstance(derivation, dict) else None
    block = pin_block(working_key(*kind_of(request.get("NewPinPekIdentifier")), None), block_format, pan)
    if block:
        request["NewEncryptedPinBlock"] = block
    current = derivation.get("CurrentPinAttributes") if isinstance(derivation, dict) else None
    if isinstance(current, dict):
        key = working_key(*kind_of(current.get("CurrentPinPekIdentifier")), None)
        block = pin_block(key, block_format, pan)
        if block:
            current["CurrentEncryptedPinBlock"] = block
    return request


def generated_value(data, operation: str, request: dict) -> tuple[list, str] | None:
    """The value the Generate* counterpart of Verify* `request` answers, and where in the request
    it goes (a path of member names); None where no Generate* request matches."""
    def present(**members):
        return {name: value for name, value in members.items() if value is not None}

    if operation == "VerifyMac":
        answer = data.generate_mac(**present(
            KeyIdentifier=request.get("KeyIdentifier"), MessageData=request.get("MessageData"),
            GenerationAttributes=request.get("VerificationAttributes"), MacLength=request.get("MacLength")))
        return ["Mac"], answer["Mac"]
    if operation == "VerifyCardValidationData":
        attributes = request.get("VerificationAttributes", {})
        if "DiscoverDynamicCardVerificationCode" in attributes:
            return None
        answer = data.generate_card_validation_data(**present(
            KeyIdentifier=request.get("KeyIdentifier"), PrimaryAccountNumber=request.get("PrimaryAccountNumber"),
            GenerationAttributes=attributes, ValidationDataLength=len(request.get("ValidationData", ""))))
        return ["ValidationData"], answer["ValidationData"]
    if operation == "VerifyPinData":
        attributes = request.get("VerificationAttributes", {})
        if "DukptAttributes" in request or len(attributes) != 1:
            return None
        (scheme, verification), = attributes.items()
        block = request.get("EncryptedPinBlock")
        if scheme == "VisaPin":
            generation = {"VisaPinVerificationValue": present(
                EncryptedPinBlock=block, PinVerificationKeyIndex=verification.get("PinVerificationKeyIndex"))}
            member, answered = "VerificationValue", "VerificationValue"
        elif scheme == "Ibm3624Pin":
            generation = {"Ibm3624PinOffset": present(
                EncryptedPinBlock=block, DecimalizationTable=verification.get("DecimalizationTable"),
                PinValidationDataPadCharacter=verification.get("PinValidationDataPadCharacter"),
                PinValidationData=verification.get("PinValidationData"))}
            member, answered = "PinOffset", "PinOffset"
        else:
            return None
        answer = data.generate_pin_data(**present(
            GenerationKeyIdentifier=request.get("VerificationKeyIdentifier"),
            EncryptionKeyIdentifier=request.get("EncryptionKeyIdentifier"), GenerationAttributes=generation,
            PinDataLength=request.get("PinDataLength"), PrimaryAccountNumber=request.get("PrimaryAccountNumber"),
            PinBlockFormat=request.get("PinBlockFormat"), EncryptionWrappedKey=request.get("EncryptionWrappedKey")))
        return ["VerificationAttributes", scheme, member], answer["PinData"][answered]
    if operation == "VerifyAuthRequestCryptogram":
        answer = data.generate_auth_request_cryptogram(**present(
            KeyIdentifier=request.get("KeyIdentifier"), TransactionData=request.get("TransactionData"),
            MajorKeyDerivationMode=request.get("MajorKeyDerivationMode"),
            SessionKeyDerivationAttributes=request.get("SessionKeyDerivationAttributes")))
        return ["AuthRequestCryptogram"], answer["AuthRequestCryptogram"]
    return None


VERIFY_CALLS = {"VerifyMac": "verify_mac", "VerifyCardValidationData": "verify_card_validation_data",
                "VerifyPinData": "verify_pin_data", "VerifyAuthRequestCryptogram": "verify_auth_request_cryptogram"}


def with_verified_values(seeds: dict, key_kinds: list[dict]) -> int:
    """Gives each answered Verify* seed the value that verifies under the target's keys (see the
    module doc); answers how many now verify."""
    conftest = next(m for m in sys.modules.values() if hasattr(m, "ServerFactory") and hasattr(m, "make_client"))
    # The server's data directory (its master key, the target's key material) goes with it.
    scratch = tempfile.TemporaryDirectory(prefix="paycrypt-seeds-")
    factory = conftest.ServerFactory(Path(scratch.name))
    verified = 0
    try:
        server = factory()
        control = conftest.make_client(server.endpoint)
        data = conftest.make_client(server.endpoint, service="payment-cryptography-data", validate=False)
        for index, kind in enumerate(key_kinds):
            length = IMPORTED_LENGTHS.get(kind.get("KeyAlgorithm"))
            if length is None or kind.get("KeyClass") != "SYMMETRIC_KEY":
                continue
            try:
                arn = import_target_key(control, kind, clear_key(index, length))
            except control.exceptions.ClientError:
                continue
            control.create_alias(AliasName=f"alias/fuzz-{index}", KeyArn=arn)
        for key, (name, seed) in list(seeds.items()):
            operation, answered = key[0], key[1]
            if operation not in VERIFY_CALLS or not answered:
                continue
            request = json.loads(seed[1:])
            try:
                made = generated_value(data, operation, request)
                if made is None:
                    continue
                path, value = made
                target = request
                for member in path[:-1]:
                    target = target[member]
                target[path[-1]] = value
                getattr(data, VERIFY_CALLS[operation])(**request)
            except data.exceptions.ClientError:
                continue
            patched = seed[:1] + json.dumps(request).encode()
            seeds[key] = (f"{operation}-ok-{hashlib.sha1(patched).hexdigest()[:10]}", patched)
            verified += 1
    finally:
        factory.close()
        scratch.cleanup()
    return verified


def import_target_key(control, attributes: dict, material: bytes) -> str:
    """ImportKey of `material` with `attributes` as an RSA-OAEP key cryptogram under an RSA-3072
    token, as the target imports its keys (the tests' `import_known` picks the token by algorithm
    and knows fewer of them); answers the key ARN."""
    params = control.get_parameters_for_import(KeyMaterialType="KEY_CRYPTOGRAM", WrappingKeyAlgorithm="RSA_3072")
    public = tests_module("test_data_plane").from_wire(params["WrappingKeyCertificate"]).public_key()
    cryptogram = public.encrypt(
        material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return control.import_key(KeyMaterial={"KeyCryptogram": {
        "KeyAttributes": attributes, "Exportable": True, "WrappedKeyCryptogram": cryptogram.hex().upper(),
        "ImportToken": params["ImportToken"], "WrappingSpec": "RSA_OAEP_SHA_256"}})["Key"]["KeyArn"]


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
    # Every kind is known once every request is renamed: dynamic keys and PIN blocks can then be
    # remade under the target's keys.
    key_kinds = [json.loads(kind) for kind in kinds]
    seeds: dict[tuple, tuple[str, bytes]] = {}
    for operation, label, request, answered in renamed_requests:
        request = with_target_keys(operation, request, label, key_kinds)
        data = bytes([OPERATIONS.index(operation)])
        if label is not None:
            data += label.encode() + b"\n"
        data += json.dumps(request).encode()
        key = (operation, answered, label, tuple(sorted(shape(request))))
        name = f"{operation}-{'ok' if answered else 'refused'}-{hashlib.sha1(data).hexdigest()[:10]}"
        seeds.setdefault(key, (name, data))
    verified = with_verified_values(seeds, key_kinds)

    SEEDS.mkdir(parents=True, exist_ok=True)
    for old in SEEDS.iterdir():
        if re.match(r"^[A-Za-z0-9]+-(ok|refused)-[0-9a-f]{10}$", old.name):
            old.unlink()
    for name, data in seeds.values():
        (SEEDS / name).write_bytes(data)
    KEY_KINDS.write_text(json.dumps(key_kinds, indent=1) + "\n")
    print(f"{len(seeds)} seeds in {SEEDS.relative_to(REPO)} ({verified} Verify* requests made to verify), "
          f"{len(kinds)} key kinds in {KEY_KINDS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
