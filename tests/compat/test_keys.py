"""Keys through boto3: CreateKey / GetKey / ListKeys / DeleteKey / RestoreKey / Start/StopKeyUsage,
the key attribute table, key check values, the lifecycle, pagination, quotas, and isolation between
accounts and regions."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ALL_MODES,
    DEFAULT_ACCOUNT,
    REGION,
    accounts_config,
    attributes,
    error_code,
    error_message,
    key_count,
    make_client,
    modes,
    run_paycrypt,
    tdes_key,
)

KEY_ARN_RE = re.compile(r"^arn:aws:payment-cryptography:([a-z]{2}-[a-z]+-\d+):(\d{12}):key/([a-z0-9]{16})$")
HEX6 = re.compile(r"^[0-9A-F]{6}$")
HEX8 = re.compile(r"^[0-9A-F]{8}$")

TDES = ["TDES_2KEY", "TDES_3KEY"]
AES = ["AES_128", "AES_192", "AES_256"]
TDES_AES = TDES + AES
HMACS = ["HMAC_SHA224", "HMAC_SHA256", "HMAC_SHA384", "HMAC_SHA512"]
RSA = ["RSA_2048", "RSA_3072", "RSA_4096"]
ECC = ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"]

DERIVE_SETS = [("DeriveKey",), ("NoRestrictions",)]
MAC_SETS = [("Generate",), ("Verify",), ("Generate", "Verify"), ("NoRestrictions",)]
CIPHER_SETS = [("Encrypt", "Decrypt", "Wrap", "Unwrap"), ("Encrypt", "Wrap"), ("Decrypt", "Unwrap"), ("NoRestrictions",)]
ASYM_CIPHER_SETS = CIPHER_SETS[:3]
SIGN_SETS = [("Sign",), ("Verify",)]

USAGE = {
    "B0": "TR31_B0_BASE_DERIVATION_KEY",
    "C0": "TR31_C0_CARD_VERIFICATION_KEY",
    "D0": "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY",
    "D1": "TR31_D1_ASYMMETRIC_KEY_FOR_DATA_ENCRYPTION",
    "E0": "TR31_E0_EMV_MKEY_APP_CRYPTOGRAMS",
    "E1": "TR31_E1_EMV_MKEY_CONFIDENTIALITY",
    "E2": "TR31_E2_EMV_MKEY_INTEGRITY",
    "E4": "TR31_E4_EMV_MKEY_DYNAMIC_NUMBERS",
    "E5": "TR31_E5_EMV_MKEY_CARD_PERSONALIZATION",
    "E6": "TR31_E6_EMV_MKEY_OTHER",
    "K0": "TR31_K0_KEY_ENCRYPTION_KEY",
    "K1": "TR31_K1_KEY_BLOCK_PROTECTION_KEY",
    "K2": "TR31_K2_TR34_ASYMMETRIC_KEY",
    "K3": "TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT",
    "M0": "TR31_M0_ISO_16609_MAC_KEY",
    "M1": "TR31_M1_ISO_9797_1_MAC_KEY",
    "M3": "TR31_M3_ISO_9797_3_MAC_KEY",
    "M6": "TR31_M6_ISO_9797_5_CMAC_KEY",
    "M7": "TR31_M7_HMAC_KEY",
    "P0": "TR31_P0_PIN_ENCRYPTION_KEY",
    "P1": "TR31_P1_PIN_GENERATION_KEY",
    "S0": "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
    "V1": "TR31_V1_IBM3624_PIN_VERIFICATION_KEY",
    "V2": "TR31_V2_VISA_PIN_VERIFICATION_KEY",
}

# The table of api-behaviour.md: (usage codes, algorithms, mode sets).
SYMMETRIC_TABLE = [
    (["B0", "E0", "E1", "E2", "E4", "E5", "E6"], TDES_AES, DERIVE_SETS),
    (["C0", "V1", "V2"], TDES_AES, MAC_SETS),
    (["M0", "M1", "M3"], TDES, MAC_SETS),
    (["M6"], TDES_AES, MAC_SETS),
    (["M7"], HMACS, MAC_SETS),
    (["D0", "K0", "K1", "P0"], TDES_AES, CIPHER_SETS),
]
ASYMMETRIC_TABLE = [
    (["D1"], RSA, ASYM_CIPHER_SETS),
    (["S0"], RSA, SIGN_SETS),
    (["S0"], ECC, SIGN_SETS),
    (["K3"], ECC, [("DeriveKey",)]),
    (["K2"], RSA, ASYM_CIPHER_SETS),
]


def _symmetric_cases():
    for codes, algorithms, sets in SYMMETRIC_TABLE:
        for code, algorithm, mode_set in itertools.product(codes, algorithms, sets):
            yield pytest.param(code, algorithm, mode_set, id=f"{code}-{algorithm}-{'+'.join(mode_set)}")


def _asymmetric_cases():
    # Key pair generation is slow (RSA-4096), so every algorithm and every mode set of a row is
    # covered without the full product: mode set i with algorithm i, cycling the shorter list.
    for codes, algorithms, sets in ASYMMETRIC_TABLE:
        n = max(len(algorithms), len(sets))
        for code in codes:
            for i in range(n):
                algorithm, mode_set = algorithms[i % len(algorithms)], sets[i % len(sets)]
                yield pytest.param(code, algorithm, mode_set, id=f"{code}-{algorithm}-{'+'.join(mode_set)}")


def _family(algorithm: str) -> str:
    return algorithm.split("_")[0]


DEFAULT_KCV = {"TDES": "ANSI_X9_24", "AES": "CMAC", "HMAC": "HMAC", "RSA": "SHA_1", "ECC": "SHA_1"}


def assert_key_shape(key: dict, request_attributes: dict, *, enabled: bool = True, exportable: bool = True, account=DEFAULT_ACCOUNT, region=REGION):
    m = KEY_ARN_RE.match(key["KeyArn"])
    assert m, key["KeyArn"]
    assert m.group(1) == region and m.group(2) == account
    assert key["KeyAttributes"]["KeyUsage"] == request_attributes["KeyUsage"]
    assert key["KeyAttributes"]["KeyAlgorithm"] == request_attributes["KeyAlgorithm"]
    assert key["KeyAttributes"]["KeyClass"] == request_attributes["KeyClass"]
    # all nine modes of use are always returned, with the requested values
    returned_modes = key["KeyAttributes"]["KeyModesOfUse"]
    assert set(returned_modes) == set(ALL_MODES)
    for name in ALL_MODES:
        assert returned_modes[name] is request_attributes["KeyModesOfUse"][name], name
    assert key["KeyOrigin"] == "AWS_PAYMENT_CRYPTOGRAPHY"
    assert key["KeyState"] == "CREATE_COMPLETE"
    assert key["Enabled"] is enabled
    assert key["Exportable"] is exportable
    now = datetime.now(timezone.utc)
    assert isinstance(key["CreateTimestamp"], datetime)
    assert abs((now - key["CreateTimestamp"]).total_seconds()) < 60
    if enabled:
        assert abs((key["UsageStartTimestamp"] - key["CreateTimestamp"]).total_seconds()) < 1
    assert "DeletePendingTimestamp" not in key
    assert "DeleteTimestamp" not in key
    family = _family(request_attributes["KeyAlgorithm"])
    kcv = key["KeyCheckValue"]
    if family in ("RSA", "ECC"):
        assert HEX8.match(kcv), kcv
    else:
        assert HEX6.match(kcv), kcv


# --------------------------------------------------------------------------------------------
# Shapes and identifiers
# --------------------------------------------------------------------------------------------


def test_create_key_response_shape(client):
    attrs = attributes("TR31_K0_KEY_ENCRYPTION_KEY", "TDES_2KEY", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap")
    before = datetime.now(timezone.utc) - timedelta(seconds=2)
    response = client.create_key(KeyAttributes=attrs, Exportable=True)
    after = datetime.now(timezone.utc) + timedelta(seconds=2)
    key = response["Key"]
    assert_key_shape(key, attrs)
    assert before <= key["CreateTimestamp"] <= after
    assert key["KeyCheckValueAlgorithm"] == "ANSI_X9_24"
    assert "UsageStopTimestamp" not in key
    # GetKey returns the same key
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"] == key


def test_modes_of_use_default_false_and_all_nine_returned(client):
    # Only DeriveKey set: the other eight must come back as explicit false.
    response = client.create_key(
        KeyAttributes={
            "KeyUsage": "TR31_B0_BASE_DERIVATION_KEY",
            "KeyAlgorithm": "AES_128",
            "KeyClass": "SYMMETRIC_KEY",
            "KeyModesOfUse": {"DeriveKey": True},
        },
        Exportable=False,
    )
    returned = response["Key"]["KeyAttributes"]["KeyModesOfUse"]
    assert returned == modes("DeriveKey")
    assert response["Key"]["Exportable"] is False


def test_create_disabled_key(client):
    key = tdes_key(client, Enabled=False)
    assert key["Enabled"] is False
    assert "UsageStartTimestamp" not in key
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["Enabled"] is False


def test_key_ids_are_distinct(client):
    ids = {KEY_ARN_RE.match(tdes_key(client)["KeyArn"]).group(3) for _ in range(10)}
    assert len(ids) == 10


def test_key_identifier_forms(client):
    key = tdes_key(client)
    client.create_alias(AliasName="alias/forms-test", KeyArn=key["KeyArn"])
    alias_arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:alias/forms-test"
    by_arn = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]
    by_alias = client.get_key(KeyIdentifier="alias/forms-test")["Key"]
    by_alias_arn = client.get_key(KeyIdentifier=alias_arn)["Key"]
    assert by_arn == by_alias == by_alias_arn
    assert by_arn["KeyArn"] == key["KeyArn"]


def test_get_unknown_key_is_not_found_with_resource_id(client):
    arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/abcdefghijklmnop"
    with pytest.raises(ClientError) as e:
        client.get_key(KeyIdentifier=arn)
    assert error_code(e) == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert e.value.response.get("ResourceId") == arn
    with pytest.raises(ClientError) as e:
        client.get_key(KeyIdentifier="alias/does-not-exist")
    assert error_code(e) == "ResourceNotFoundException"


# --------------------------------------------------------------------------------------------
# The key attribute table
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code,algorithm,mode_set", list(_symmetric_cases()))
def test_valid_symmetric_attributes_create(client, code, algorithm, mode_set):
    attrs = attributes(USAGE[code], algorithm, "SYMMETRIC_KEY", *mode_set)
    key = client.create_key(KeyAttributes=attrs, Exportable=True)["Key"]
    assert_key_shape(key, attrs)
    assert key["KeyCheckValueAlgorithm"] == DEFAULT_KCV[_family(algorithm)]


@pytest.mark.parametrize("code,algorithm,mode_set", list(_asymmetric_cases()))
def test_valid_asymmetric_attributes_create(client, code, algorithm, mode_set):
    attrs = attributes(USAGE[code], algorithm, "ASYMMETRIC_KEY_PAIR", *mode_set)
    kwargs = {}
    if code == "K3":
        kwargs["DeriveKeyUsage"] = "TR31_K1_KEY_BLOCK_PROTECTION_KEY"
    key = client.create_key(KeyAttributes=attrs, Exportable=True, **kwargs)["Key"]
    assert_key_shape(key, attrs)
    assert key["KeyCheckValueAlgorithm"] == "SHA_1"
    if code == "K3":
        assert key["DeriveKeyUsage"] == "TR31_K1_KEY_BLOCK_PROTECTION_KEY"


REJECTED = [
    # wrong algorithm for the usage
    ("M1", "AES_128", "SYMMETRIC_KEY", ("Generate",), {}),
    ("M3", "AES_256", "SYMMETRIC_KEY", ("Verify",), {}),
    ("M7", "TDES_2KEY", "SYMMETRIC_KEY", ("Generate",), {}),
    ("C0", "HMAC_SHA256", "SYMMETRIC_KEY", ("Generate",), {}),
    ("B0", "HMAC_SHA512", "SYMMETRIC_KEY", ("DeriveKey",), {}),
    ("D0", "RSA_2048", "ASYMMETRIC_KEY_PAIR", ("Encrypt", "Wrap"), {}),
    ("D1", "AES_128", "SYMMETRIC_KEY", ("Encrypt", "Wrap"), {}),
    ("D1", "ECC_NIST_P256", "ASYMMETRIC_KEY_PAIR", ("Encrypt", "Wrap"), {}),
    ("K2", "ECC_NIST_P256", "ASYMMETRIC_KEY_PAIR", ("Encrypt", "Wrap"), {}),
    ("K3", "RSA_2048", "ASYMMETRIC_KEY_PAIR", ("DeriveKey",), {}),
    ("S0", "AES_256", "SYMMETRIC_KEY", ("Sign",), {}),
    ("K0", "ECC_NIST_P384", "ASYMMETRIC_KEY_PAIR", ("Encrypt", "Wrap"), {}),
    ("M0", "AES_128", "SYMMETRIC_KEY", ("Generate",), {}),
    # usages CreateKey does not create
    ("P1", "TDES_2KEY", "SYMMETRIC_KEY", ("Generate",), {}),
    # wrong key class
    ("K0", "TDES_2KEY", "ASYMMETRIC_KEY_PAIR", ("Encrypt", "Decrypt", "Wrap", "Unwrap"), {}),
    ("K0", "AES_128", "PRIVATE_KEY", ("Encrypt", "Decrypt", "Wrap", "Unwrap"), {}),
    ("D1", "RSA_2048", "SYMMETRIC_KEY", ("Encrypt", "Wrap"), {}),
    ("S0", "RSA_2048", "PUBLIC_KEY", ("Verify",), {}),
    ("S0", "ECC_NIST_P256", "PRIVATE_KEY", ("Sign",), {}),
    # mode sets the usage does not allow
    ("B0", "TDES_2KEY", "SYMMETRIC_KEY", ("Encrypt",), {}),
    ("B0", "AES_128", "SYMMETRIC_KEY", (), {}),
    ("C0", "TDES_2KEY", "SYMMETRIC_KEY", ("Encrypt", "Decrypt"), {}),
    ("C0", "AES_128", "SYMMETRIC_KEY", ("Generate", "Verify", "Sign"), {}),
    ("D0", "AES_128", "SYMMETRIC_KEY", ("Encrypt",), {}),
    ("D0", "AES_128", "SYMMETRIC_KEY", ("Encrypt", "Decrypt"), {}),
    ("K1", "TDES_3KEY", "SYMMETRIC_KEY", ("Wrap", "Unwrap"), {}),
    ("D1", "RSA_2048", "ASYMMETRIC_KEY_PAIR", ("NoRestrictions",), {}),
    ("S0", "RSA_2048", "ASYMMETRIC_KEY_PAIR", ("Sign", "Verify"), {}),
    ("K3", "ECC_NIST_P256", "ASYMMETRIC_KEY_PAIR", ("NoRestrictions",), {}),
    ("M7", "HMAC_SHA256", "SYMMETRIC_KEY", ("Sign",), {}),
    # NoRestrictions mixed with other modes
    ("B0", "AES_128", "SYMMETRIC_KEY", ("DeriveKey", "NoRestrictions"), {}),
    ("C0", "TDES_2KEY", "SYMMETRIC_KEY", ("Generate", "NoRestrictions"), {}),
    ("D0", "AES_256", "SYMMETRIC_KEY", ("Encrypt", "Decrypt", "Wrap", "Unwrap", "NoRestrictions"), {}),
    # key check value algorithm that does not fit the key
    ("D0", "AES_128", "SYMMETRIC_KEY", ("NoRestrictions",), {"KeyCheckValueAlgorithm": "ANSI_X9_24"}),
    ("M7", "HMAC_SHA256", "SYMMETRIC_KEY", ("Generate",), {"KeyCheckValueAlgorithm": "CMAC"}),
    ("M7", "HMAC_SHA384", "SYMMETRIC_KEY", ("Generate",), {"KeyCheckValueAlgorithm": "ANSI_X9_24"}),
    ("K0", "TDES_2KEY", "SYMMETRIC_KEY", ("NoRestrictions",), {"KeyCheckValueAlgorithm": "HMAC"}),
    ("K0", "TDES_2KEY", "SYMMETRIC_KEY", ("NoRestrictions",), {"KeyCheckValueAlgorithm": "SHA_1"}),
    ("K0", "AES_128", "SYMMETRIC_KEY", ("NoRestrictions",), {"KeyCheckValueAlgorithm": "HMAC"}),
    # DeriveKeyUsage is only for K3 agreement keys
    ("K0", "AES_128", "SYMMETRIC_KEY", ("NoRestrictions",), {"DeriveKeyUsage": "TR31_K1_KEY_BLOCK_PROTECTION_KEY"}),
]


@pytest.mark.parametrize(
    "code,algorithm,key_class,mode_set,extra",
    [pytest.param(*case, id=f"{case[0]}-{case[1]}-{case[2]}-{'+'.join(case[3]) or 'none'}-{'-'.join(case[4].values())}") for case in REJECTED],
)
def test_invalid_attributes_are_rejected_and_create_nothing(client, code, algorithm, key_class, mode_set, extra):
    before = key_count(client)
    attrs = attributes(USAGE[code], algorithm, key_class, *mode_set)
    with pytest.raises(ClientError) as e:
        client.create_key(KeyAttributes=attrs, Exportable=True, **extra)
    assert error_code(e) == "ValidationException", e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert key_count(client) == before


# --------------------------------------------------------------------------------------------
# Key check values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage,algorithm,mode_set,kcv_algorithm,length",
    [
        ("K0", "TDES_2KEY", CIPHER_SETS[0], "ANSI_X9_24", 6),
        ("K0", "TDES_3KEY", CIPHER_SETS[0], "ANSI_X9_24", 6),
        ("K0", "TDES_2KEY", CIPHER_SETS[0], "CMAC", 6),
        ("K0", "TDES_3KEY", CIPHER_SETS[0], "CMAC", 6),
        ("K0", "AES_128", CIPHER_SETS[0], "CMAC", 6),
        ("K0", "AES_256", CIPHER_SETS[0], "CMAC", 6),
        ("M7", "HMAC_SHA224", MAC_SETS[0], "HMAC", 6),
        ("M7", "HMAC_SHA512", MAC_SETS[0], "HMAC", 6),
        ("S0", "ECC_NIST_P256", SIGN_SETS[0], "SHA_1", 8),
        ("S0", "RSA_2048", SIGN_SETS[0], "SHA_1", 8),
    ],
)
def test_requested_kcv_algorithm_and_format(client, usage, algorithm, mode_set, kcv_algorithm, length):
    key_class = "ASYMMETRIC_KEY_PAIR" if _family(algorithm) in ("RSA", "ECC") else "SYMMETRIC_KEY"
    key = client.create_key(
        KeyAttributes=attributes(USAGE[usage], algorithm, key_class, *mode_set),
        Exportable=True,
        KeyCheckValueAlgorithm=kcv_algorithm,
    )["Key"]
    assert key["KeyCheckValueAlgorithm"] == kcv_algorithm
    assert re.fullmatch(f"[0-9A-F]{{{length}}}", key["KeyCheckValue"]), key["KeyCheckValue"]
    got = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert got["KeyCheckValue"] == key["KeyCheckValue"]
    assert got["KeyCheckValueAlgorithm"] == kcv_algorithm


@pytest.mark.parametrize(
    "algorithm,kcv_algorithm",
    [("RSA_2048", "ANSI_X9_24"), ("RSA_3072", "CMAC"), ("ECC_NIST_P256", "ANSI_X9_24"), ("ECC_NIST_P384", "HMAC")],
)
def test_kcv_algorithm_of_a_key_pair_is_accepted_and_ignored(client, algorithm, kcv_algorithm):
    # AWS accepts any KeyCheckValueAlgorithm for a key pair (its public TR-34 samples send
    # ANSI_X9_24 with an RSA certificate); the check value stays the SHA_1 form.
    attrs = attributes(USAGE["S0"], algorithm, "ASYMMETRIC_KEY_PAIR", *SIGN_SETS[0])
    key = client.create_key(KeyAttributes=attrs, Exportable=True, KeyCheckValueAlgorithm=kcv_algorithm)["Key"]
    assert key["KeyCheckValueAlgorithm"] == "SHA_1"
    assert re.fullmatch("[0-9A-F]{8}", key["KeyCheckValue"]), key["KeyCheckValue"]
    got = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert (got["KeyCheckValueAlgorithm"], got["KeyCheckValue"]) == ("SHA_1", key["KeyCheckValue"])


def test_generated_material_is_random(client):
    # Ten keys of the same attributes: the check values (24 bits) must not repeat.
    kcvs = {tdes_key(client)["KeyCheckValue"] for _ in range(10)}
    assert len(kcvs) == 10


# Independent KCV computations (the `cryptography` package), compared to `paycrypt keyblock kcv`.


def _tdes_cipher(key: bytes):
    if len(key) == 16:  # two-key TDES is K1 K2 K1
        key = key + key[:8]
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # older cryptography
        from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
    return TripleDES(key)


def kcv_ansi_x9_24(key: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, modes as cmodes

    enc = Cipher(_tdes_cipher(key), cmodes.ECB()).encryptor()
    return (enc.update(bytes(8)) + enc.finalize())[:3].hex().upper()


def kcv_cmac(key: bytes, tdes: bool) -> str:
    from cryptography.hazmat.primitives import cmac
    from cryptography.hazmat.primitives.ciphers import algorithms

    cipher = _tdes_cipher(key) if tdes else algorithms.AES(key)
    c = cmac.CMAC(cipher)
    c.update(bytes(8 if tdes else 16))
    return c.finalize()[:3].hex().upper()


def kcv_hmac(key: bytes, hash_name: str) -> str:
    return hmac.new(key, b"", getattr(hashlib, hash_name)).digest()[:3].hex().upper()


def test_reference_kcv_implementation_matches_published_vector():
    # The Python reference must reproduce the published check value before it judges paycrypt.
    assert kcv_ansi_x9_24(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")) == "08D7B4"


KCV_VECTORS = [
    ("TDES_2KEY", "ANSI_X9_24", "0123456789ABCDEFFEDCBA9876543210"),
    ("TDES_3KEY", "ANSI_X9_24", "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567"),
    ("TDES_2KEY", "CMAC", "0123456789ABCDEFFEDCBA9876543210"),
    ("AES_128", "CMAC", "2B7E151628AED2A6ABF7158809CF4F3C"),
    ("AES_256", "CMAC", "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4"),
    ("HMAC_SHA256", "HMAC", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"),
    ("HMAC_SHA512", "HMAC", "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0"),
]


def expected_kcv(algorithm: str, kcv_algorithm: str, key_hex: str) -> str:
    key = bytes.fromhex(key_hex)
    if kcv_algorithm == "ANSI_X9_24":
        return kcv_ansi_x9_24(key)
    if kcv_algorithm == "CMAC":
        return kcv_cmac(key, tdes=algorithm.startswith("TDES"))
    return kcv_hmac(key, algorithm.split("_")[1].lower())


def _keyblock_kcv_args(algorithm: str, kcv_algorithm: str, key_hex: str) -> list[str]:
    """`paycrypt keyblock kcv --algorithm ANSI_X9_24|CMAC|HMAC --key HEX --key-algorithm ALG`."""
    family = algorithm.split("_")[0]
    key_algorithm = algorithm if family == "HMAC" else family
    return ["keyblock", "kcv", "--algorithm", kcv_algorithm, "--key", key_hex, "--key-algorithm", key_algorithm]


@pytest.mark.parametrize("algorithm,kcv_algorithm,key_hex", KCV_VECTORS)
def test_paycrypt_kcv_matches_independent_computation(algorithm, kcv_algorithm, key_hex):
    if run_paycrypt("keyblock", "--help").returncode != 0:
        pytest.skip("`paycrypt keyblock` is not in this build yet")
    result = run_paycrypt(*_keyblock_kcv_args(algorithm, kcv_algorithm, key_hex))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected_kcv(algorithm, kcv_algorithm, key_hex)


def test_paycrypt_kcv_known_value():
    if run_paycrypt("keyblock", "--help").returncode != 0:
        pytest.skip("`paycrypt keyblock` is not in this build yet")
    result = run_paycrypt("keyblock", "kcv", "--algorithm", "ANSI_X9_24", "--key", "0123456789abcdeffedcba9876543210")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "08D7B4"
    # the key never appears in the output or in errors
    bad = run_paycrypt("keyblock", "kcv", "--algorithm", "ANSI_X9_24", "--key", "0123456789abcdeffedcba98765432zz")
    assert bad.returncode != 0
    assert "0123456789abcdef" not in (bad.stdout + bad.stderr).lower()


# --------------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------------


def _close(a: datetime, b: datetime, seconds: float = 60) -> bool:
    return abs((a - b).total_seconds()) <= seconds


def test_delete_key_default_window(client):
    key = tdes_key(client)
    deleted = client.delete_key(KeyIdentifier=key["KeyArn"])["Key"]
    now = datetime.now(timezone.utc)
    assert deleted["KeyArn"] == key["KeyArn"]
    assert deleted["KeyState"] == "DELETE_PENDING"
    assert deleted["Enabled"] is False
    assert _close(deleted["UsageStopTimestamp"], now)
    assert _close(deleted["DeletePendingTimestamp"], now + timedelta(days=7))
    assert deleted["KeyCheckValue"] == key["KeyCheckValue"]
    got = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert got["KeyState"] == "DELETE_PENDING"
    assert got["DeletePendingTimestamp"] == deleted["DeletePendingTimestamp"]


@pytest.mark.parametrize("days", [3, 30, 180])
def test_delete_key_explicit_window(client, days):
    key = tdes_key(client)
    deleted = client.delete_key(KeyIdentifier=key["KeyArn"], DeleteKeyInDays=days)["Key"]
    assert deleted["KeyState"] == "DELETE_PENDING"
    assert _close(deleted["DeletePendingTimestamp"], datetime.now(timezone.utc) + timedelta(days=days))


@pytest.mark.parametrize("days", [0, 2, 181, 365])
def test_delete_key_window_out_of_range(endpoint, client, days):
    raw_client = make_client(endpoint, validate=False)
    key = tdes_key(client)
    with pytest.raises(ClientError) as e:
        raw_client.delete_key(KeyIdentifier=key["KeyArn"], DeleteKeyInDays=days)
    assert error_code(e) == "ValidationException"
    assert "deleteKeyInDays" in error_message(e)
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyState"] == "CREATE_COMPLETE"


def test_delete_twice_and_restore(client):
    key = tdes_key(client)
    client.create_alias(AliasName="alias/lifecycle", KeyArn=key["KeyArn"])
    client.delete_key(KeyIdentifier="alias/lifecycle", DeleteKeyInDays=3)
    with pytest.raises(ClientError) as e:
        client.delete_key(KeyIdentifier=key["KeyArn"])
    assert error_code(e) == "ValidationException"
    assert "not in CREATE_COMPLETE state." in error_message(e)

    # a pending key cannot be started or stopped
    for op in (client.start_key_usage, client.stop_key_usage):
        with pytest.raises(ClientError) as e:
            op(KeyIdentifier=key["KeyArn"])
        assert error_code(e) == "ValidationException"

    restored = client.restore_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert restored["KeyState"] == "CREATE_COMPLETE"
    assert restored["Enabled"] is False
    assert "DeletePendingTimestamp" not in restored
    assert "UsageStopTimestamp" in restored
    assert restored["KeyCheckValue"] == key["KeyCheckValue"]
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"] == restored

    # restoring a key that is not pending deletion is refused
    with pytest.raises(ClientError) as e:
        client.restore_key(KeyIdentifier=key["KeyArn"])
    assert error_code(e) == "ValidationException"

    started = client.start_key_usage(KeyIdentifier=key["KeyArn"])["Key"]
    assert started["Enabled"] is True
    assert started["UsageStartTimestamp"] >= key["UsageStartTimestamp"]
    # and it can be deleted again
    assert client.delete_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyState"] == "DELETE_PENDING"


def test_start_and_stop_key_usage(client):
    key = tdes_key(client)
    alias_arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:alias/usage-toggle"
    client.create_alias(AliasName="alias/usage-toggle", KeyArn=key["KeyArn"])
    stopped = client.stop_key_usage(KeyIdentifier="alias/usage-toggle")["Key"]
    assert stopped["Enabled"] is False
    assert stopped["KeyState"] == "CREATE_COMPLETE"
    assert _close(stopped["UsageStopTimestamp"], datetime.now(timezone.utc))
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["Enabled"] is False
    started = client.start_key_usage(KeyIdentifier=alias_arn)["Key"]
    assert started["Enabled"] is True
    assert started["UsageStartTimestamp"] >= stopped["UsageStopTimestamp"] - timedelta(seconds=1)
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["Enabled"] is True


def test_delete_disabled_key(client):
    key = tdes_key(client, Enabled=False)
    deleted = client.delete_key(KeyIdentifier=key["KeyArn"], DeleteKeyInDays=3)["Key"]
    assert deleted["KeyState"] == "DELETE_PENDING" and deleted["Enabled"] is False
    restored = client.restore_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert restored["Enabled"] is False


def test_lifecycle_on_unknown_key_is_not_found(client):
    arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/zzzzzzzzzzzzzzzz"
    for op in (client.delete_key, client.restore_key, client.start_key_usage, client.stop_key_usage):
        with pytest.raises(ClientError) as e:
            op(KeyIdentifier=arn)
        assert error_code(e) == "ResourceNotFoundException", op


# --------------------------------------------------------------------------------------------
# ListKeys: pagination and the KeyState filter (own server so counts are exact)
# --------------------------------------------------------------------------------------------


def test_list_keys_pagination_and_filter(server_factory):
    server = server_factory()
    client = make_client(server.endpoint)
    created = [tdes_key(client)["KeyArn"] for _ in range(7)]

    seen, pages, token = [], 0, None
    while True:
        kwargs = {"MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = client.list_keys(**kwargs)
        pages += 1
        assert len(page["Keys"]) <= 2
        seen += [k["KeyArn"] for k in page["Keys"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == set(created)

    summary = client.list_keys()["Keys"][0]
    assert set(summary) >= {"KeyArn", "KeyState", "KeyAttributes", "KeyCheckValue", "Exportable", "Enabled"}
    assert set(summary["KeyAttributes"]["KeyModesOfUse"]) == set(ALL_MODES)
    # an exact page: no NextToken when nothing follows
    full = client.list_keys(MaxResults=7)
    assert len(full["Keys"]) == 7 and "NextToken" not in full

    client.delete_key(KeyIdentifier=created[1])
    client.delete_key(KeyIdentifier=created[4])
    everything = {k["KeyArn"]: k["KeyState"] for k in client.list_keys()["Keys"]}
    assert len(everything) == 7  # unfiltered includes DELETE_PENDING keys
    pending = [k["KeyArn"] for k in client.list_keys(KeyState="DELETE_PENDING")["Keys"]]
    complete = [k["KeyArn"] for k in client.list_keys(KeyState="CREATE_COMPLETE")["Keys"]]
    assert sorted(pending) == sorted([created[1], created[4]])
    assert sorted(complete) == sorted(set(created) - set(pending))
    # filtered pagination
    paged = [k["KeyArn"] for p in client.get_paginator("list_keys").paginate(KeyState="CREATE_COMPLETE", PaginationConfig={"PageSize": 2}) for k in p["Keys"]]
    assert sorted(paged) == sorted(complete)


def test_list_default_page_size_is_50(server_factory):
    client = make_client(server_factory().endpoint)
    created = {tdes_key(client)["KeyArn"] for _ in range(51)}
    first = client.list_keys()
    assert len(first["Keys"]) == 50 and first.get("NextToken")
    second = client.list_keys(NextToken=first["NextToken"])
    assert len(second["Keys"]) == 1 and "NextToken" not in second
    assert {k["KeyArn"] for k in first["Keys"] + second["Keys"]} == created
    # a key created after the first page shows up on the next one, nothing repeats
    late = tdes_key(client)["KeyArn"]
    second = client.list_keys(NextToken=first["NextToken"])
    assert [k["KeyArn"] for k in second["Keys"]][-1] == late and len(second["Keys"]) == 2


@pytest.mark.parametrize("token", ["not-a-token", "AAAA", "cGMxOnh5eg", "x" * 100])
def test_list_keys_bad_next_token(client, token):
    with pytest.raises(ClientError) as e:
        client.list_keys(NextToken=token)
    assert error_code(e) == "ValidationException"


@pytest.mark.parametrize("max_results", [0, 101])
def test_list_keys_max_results_out_of_range(endpoint, max_results):
    with pytest.raises(ClientError) as e:
        make_client(endpoint, validate=False).list_keys(MaxResults=max_results)
    assert error_code(e) == "ValidationException"
    assert "maxResults" in error_message(e)


# --------------------------------------------------------------------------------------------
# Quotas
# --------------------------------------------------------------------------------------------


def test_key_quota(server_factory):
    config = accounts_config({DEFAULT_ACCOUNT: [("test", "test")]}, limits={"keys_per_region": 3})
    server = server_factory(config=config)
    client = make_client(server.endpoint)
    keys = [tdes_key(client) for _ in range(3)]
    with pytest.raises(ClientError) as e:
        tdes_key(client)
    assert error_code(e) == "ServiceQuotaExceededException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert key_count(client) == 3
    # the quota is per region
    tdes_key(make_client(server.endpoint, region="eu-west-1"))
    # a refused CreateKey stays refused (no partial insert freed or consumed a slot)
    with pytest.raises(ClientError) as e:
        tdes_key(client)
    assert error_code(e) == "ServiceQuotaExceededException"
    assert sorted(k["KeyArn"] for k in client.list_keys()["Keys"]) == sorted(k["KeyArn"] for k in keys)


def test_key_quota_under_concurrency(server_factory):
    config = accounts_config({DEFAULT_ACCOUNT: [("test", "test")]}, limits={"keys_per_region": 5})
    server = server_factory(config=config)
    outcomes: list[str] = []
    lock = threading.Lock()

    def create():
        c = make_client(server.endpoint)
        try:
            tdes_key(c)
            result = "ok"
        except ClientError as e:
            result = e.response["Error"]["Code"]
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ServiceQuotaExceededException"] * 7 + ["ok"] * 5
    assert key_count(make_client(server.endpoint)) == 5


# --------------------------------------------------------------------------------------------
# Account and region isolation
# --------------------------------------------------------------------------------------------

ACCOUNT_B = "444455556666"


@pytest.fixture(scope="module")
def two_account_server(module_server_factory):
    config = accounts_config({DEFAULT_ACCOUNT: [("test", "test")], ACCOUNT_B: [("bkey", "bsecret"), ("bkey2", "bsecret2")]})
    return module_server_factory(config=config)


def test_accounts_are_isolated(two_account_server):
    a = make_client(two_account_server.endpoint)
    b = make_client(two_account_server.endpoint, access_key="bkey", secret="bsecret")
    b2 = make_client(two_account_server.endpoint, access_key="bkey2", secret="bsecret2")
    key = tdes_key(a)
    a.create_alias(AliasName="alias/only-in-a", KeyArn=key["KeyArn"])
    assert key_count(b) == 0
    assert b.list_aliases()["Aliases"] == []
    # A's key has no resource policy: B naming it by ARN is refused access
    with pytest.raises(ClientError) as e:
        b.get_key(KeyIdentifier=key["KeyArn"])
    assert error_code(e) == "AccessDeniedException"
    for op in (b.delete_key, b.stop_key_usage, b.start_key_usage, b.restore_key):
        with pytest.raises(ClientError) as e:
            op(KeyIdentifier=key["KeyArn"])
        assert error_code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        b.get_key(KeyIdentifier="alias/only-in-a")
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        b.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "k", "Value": "v"}])
    assert error_code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        b.list_tags_for_resource(ResourceArn=key["KeyArn"])
    assert error_code(e) == "AccessDeniedException"
    # the same alias name is free in account B
    b_key = tdes_key(b)
    b.create_alias(AliasName="alias/only-in-a", KeyArn=b_key["KeyArn"])
    assert KEY_ARN_RE.match(b_key["KeyArn"]).group(2) == ACCOUNT_B
    # B's second access key is the same account
    assert b2.get_key(KeyIdentifier=b_key["KeyArn"])["Key"]["KeyArn"] == b_key["KeyArn"]
    # A's key is untouched
    got = a.get_key(KeyIdentifier="alias/only-in-a")["Key"]
    assert got["KeyArn"] == key["KeyArn"] and got["KeyState"] == "CREATE_COMPLETE"


def test_regions_are_isolated(two_account_server):
    east = make_client(two_account_server.endpoint, region="us-east-1")
    west = make_client(two_account_server.endpoint, region="us-west-2")
    key = tdes_key(east)
    assert KEY_ARN_RE.match(key["KeyArn"]).group(1) == "us-east-1"
    assert all(k["KeyArn"] != key["KeyArn"] for k in west.list_keys()["Keys"])
    with pytest.raises(ClientError) as e:
        west.get_key(KeyIdentifier=key["KeyArn"])
    assert error_code(e) == "ResourceNotFoundException"
    west_key = tdes_key(west)
    assert KEY_ARN_RE.match(west_key["KeyArn"]).group(1) == "us-west-2"
    assert all(k["KeyArn"] != west_key["KeyArn"] for k in east.list_keys()["Keys"])


def test_fresh_region_is_empty(two_account_server):
    assert key_count(make_client(two_account_server.endpoint, region="ap-southeast-2")) == 0
