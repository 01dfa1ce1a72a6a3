"""The data plane (`payment-cryptography-data`) through boto3 and the AWS CLI, on the same endpoint
as the control plane, each result checked by an implementation outside paycrypt:

* EncryptData / DecryptData / ReEncryptData with TDES and AES keys in every mode of the model,
  against pycryptodome (CFB1 written out here on its block cipher, checked against NIST
  SP 800-38A), with keys whose clear value the test chose and brought in as RSA-OAEP key
  cryptograms;
* a dynamic key: a D0 key wrapped in a TR-31 block by psec under a key encryption key held here;
* GenerateMac / VerifyMac: ISO 9797-1 algorithms 1 and 3 and AS 2805.4.1 against psec and the
  ISO/IEC 9797-1 annex B vector, CMAC against pyca `cryptography`, HMAC against Python's hmac;
* the key identifiers in all three forms (key ARN, alias, alias ARN), which botocore sends
  percent-encoded in the path;
* the refusals: wrong usage, a missing mode, a disabled key, a bad IV, data that is not whole
  blocks, a wrong MAC (VerificationFailedException INVALID_MAC), an unknown key, an unknown path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials

import psec
import pytest
from botocore.exceptions import ClientError
from Crypto.Cipher import AES, DES3
from cryptography import x509
from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import algorithms

from conftest import (
    AwsCli,
    attributes,
    error_code,
    error_message,
    make_client,
    remember_secret,
    REGION,
    send_raw,
)

try:  # cryptography >= 43 keeps TDES among the "decrepit" algorithms
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    TripleDES = algorithms.TripleDES  # type: ignore[attr-defined]

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

DATA = "payment-cryptography-data"
ALL4 = ("Encrypt", "Decrypt", "Wrap", "Unwrap")
KEY_LEN = {"TDES_2KEY": 16, "TDES_3KEY": 24, "AES_128": 16, "AES_192": 24, "AES_256": 32,
           "HMAC_SHA224": 28, "HMAC_SHA256": 32, "HMAC_SHA384": 48, "HMAC_SHA512": 64}


def fresh_key(algorithm: str) -> bytes:
    key = secrets.token_bytes(KEY_LEN[algorithm])
    if algorithm.startswith("TDES"):  # odd parity, as a real TDES key has
        key = bytes(b & 0xFE | (bin(b & 0xFE).count("1") + 1) % 2 for b in key)
    return key


def from_wire(text: str) -> x509.Certificate:
    import base64

    return x509.load_pem_x509_certificate(base64.b64decode(text))


# Key cryptograms carry keys no stronger than their RSA wrapping key (NIST SP 800-57 strengths):
# RSA-2048 carries TDES, RSA-3072 AES-128 and HMAC-SHA256. Stronger keys (AES-192/256,
# HMAC-SHA384/512) are checked by the Rust SDK tests (crates/server/tests/data_plane.rs), which read
# the clear key from the store.
WRAPPING = {"TDES_2KEY": "RSA_2048", "TDES_3KEY": "RSA_2048", "AES_128": "RSA_3072",
            "HMAC_SHA224": "RSA_2048", "HMAC_SHA256": "RSA_3072"}


def import_known(client, usage: str, algorithm: str, *modes: str, clear: bytes | None = None) -> tuple[str, bytes, str]:
    """A key of the given attributes whose clear value the test chose, imported as an RSA-OAEP
    key cryptogram: (ARN, clear key, KCV)."""
    clear = clear or fresh_key(algorithm)
    remember_secret(clear)
    params = client.get_parameters_for_import(KeyMaterialType="KEY_CRYPTOGRAM", WrappingKeyAlgorithm=WRAPPING[algorithm])
    public = from_wire(params["WrappingKeyCertificate"]).public_key()
    cryptogram = public.encrypt(
        clear, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    key = client.import_key(
        KeyMaterial={
            "KeyCryptogram": {
                "KeyAttributes": attributes(usage, algorithm, "SYMMETRIC_KEY", *modes),
                "Exportable": False,
                "WrappedKeyCryptogram": cryptogram.hex().upper(),
                "ImportToken": params["ImportToken"],
                "WrappingSpec": "RSA_OAEP_SHA_256",
            }
        }
    )["Key"]
    return key["KeyArn"], clear, key["KeyCheckValue"]


# --------------------------------------------------------------------------------------------
# Symmetric encryption against pycryptodome
# --------------------------------------------------------------------------------------------

D0 = "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY"


@pytest.fixture(scope="module")
def d0_keys(client) -> dict[str, tuple[str, bytes, str]]:
    return {alg: import_known(client, D0, alg, *ALL4) for alg in ("TDES_2KEY", "TDES_3KEY", "AES_128")}


class Cfb1:
    """CFB with 1-bit segments (NIST SP 800-38A 6.3), on pycryptodome's ECB block cipher:
    pycryptodome's CFB takes whole-byte segments only."""

    def __init__(self, ecb, iv: bytes):
        self.ecb, self.register = ecb, int.from_bytes(iv, "big")
        self.bits = len(iv) * 8

    def encrypt(self, data: bytes) -> bytes:
        out = 0
        for i in range(len(data) * 8):
            keystream_bit = self.ecb.encrypt(self.register.to_bytes(self.bits // 8, "big"))[0] >> 7
            cipher_bit = ((data[i // 8] >> (7 - i % 8)) & 1) ^ keystream_bit
            self.register = ((self.register << 1) | cipher_bit) & ((1 << self.bits) - 1)
            out = (out << 1) | cipher_bit
        return out.to_bytes(len(data), "big")


def test_cfb1_reference_reproduces_sp_800_38a():
    # NIST SP 800-38A F.3.1 (CFB1-AES128.Encrypt): the first 16 plaintext bits 0110101111000001
    # encrypt to 0110100010110011.
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    ecb = AES.new(key, AES.MODE_ECB)
    assert Cfb1(ecb, bytes(range(16))).encrypt(bytes([0b01101011, 0b11000001])) == bytes([0b01101000, 0b10110011])


def reference_cipher(algorithm: str, mode: str, key: bytes, iv: bytes):
    """The pycryptodome cipher for a wire mode (bare CFB is the full-block segment)."""
    tdes = algorithm.startswith("TDES")
    module = DES3 if tdes else AES
    block_bits = 64 if tdes else 128
    if mode == "ECB":
        return module.new(key, module.MODE_ECB)
    if mode == "CBC":
        return module.new(key, module.MODE_CBC, iv=iv)
    if mode == "OFB":
        return module.new(key, module.MODE_OFB, iv=iv)
    if mode == "CFB1":
        return Cfb1(module.new(key, module.MODE_ECB), iv)
    segment = {"CFB": block_bits, "CFB8": 8, "CFB64": 64, "CFB128": 128}[mode]
    return module.new(key, module.MODE_CFB, iv=iv, segment_size=segment)


MODES = ["ECB", "CBC", "CFB", "CFB1", "CFB8", "CFB64", "CFB128", "OFB"]


@pytest.mark.parametrize("algorithm", ["TDES_2KEY", "TDES_3KEY", "AES_128"])
@pytest.mark.parametrize("mode", MODES)
def test_symmetric_encryption_matches_pycryptodome(data, d0_keys, algorithm, mode):
    arn, clear, kcv = d0_keys[algorithm]
    block = 8 if algorithm.startswith("TDES") else 16
    if mode == "CFB128" and block == 8:
        with pytest.raises(ClientError) as e:
            data.encrypt_data(KeyIdentifier=arn, PlainText="00" * 16,
                              EncryptionAttributes={"Symmetric": {"Mode": mode, "InitializationVector": "00" * 8}})
        assert error_code(e) == "ValidationException"
        assert "CFB128" in error_message(e)
        return
    plain = secrets.token_bytes(block * 5)
    iv = secrets.token_bytes(block)
    attrs = {"Mode": mode}
    if mode != "ECB":
        attrs["InitializationVector"] = iv.hex().upper()
    out = data.encrypt_data(KeyIdentifier=arn, PlainText=plain.hex().upper(), EncryptionAttributes={"Symmetric": attrs})
    expected = reference_cipher(algorithm, mode, clear, iv).encrypt(plain)
    assert out["CipherText"] == expected.hex().upper()
    assert out["KeyArn"] == arn and out["KeyCheckValue"] == kcv
    back = data.decrypt_data(KeyIdentifier=arn, CipherText=out["CipherText"], DecryptionAttributes={"Symmetric": attrs})
    assert back["PlainText"] == plain.hex().upper()
    assert back["KeyArn"] == arn and back["KeyCheckValue"] == kcv


def test_cbc_without_iv_uses_zeros(data, d0_keys):
    arn, clear, _ = d0_keys["AES_128"]
    plain = secrets.token_bytes(32)
    out = data.encrypt_data(KeyIdentifier=arn, PlainText=plain.hex(), EncryptionAttributes={"Symmetric": {"Mode": "CBC"}})
    assert out["CipherText"] == AES.new(clear, AES.MODE_CBC, iv=bytes(16)).encrypt(plain).hex().upper()


def test_re_encrypt_moves_data_from_tdes_to_aes(data, d0_keys):
    (tdes_arn, tdes, _), (aes_arn, aes, aes_kcv) = d0_keys["TDES_3KEY"], d0_keys["AES_128"]
    plain = secrets.token_bytes(32)
    iv_in, iv_out = secrets.token_bytes(8), secrets.token_bytes(16)
    incoming = DES3.new(tdes, DES3.MODE_CBC, iv=iv_in).encrypt(plain)
    out = data.re_encrypt_data(
        IncomingKeyIdentifier=tdes_arn,
        OutgoingKeyIdentifier=aes_arn,
        CipherText=incoming.hex(),
        IncomingEncryptionAttributes={"Symmetric": {"Mode": "CBC", "InitializationVector": iv_in.hex()}},
        OutgoingEncryptionAttributes={"Symmetric": {"Mode": "CBC", "InitializationVector": iv_out.hex()}},
    )
    assert out["CipherText"] == AES.new(aes, AES.MODE_CBC, iv=iv_out).encrypt(plain).hex().upper()
    assert out["KeyArn"] == aes_arn and out["KeyCheckValue"] == aes_kcv


def test_every_identifier_form_reaches_the_key(client, data, d0_keys):
    arn, clear, _ = d0_keys["AES_128"]
    alias = client.create_alias(AliasName=f"alias/data-plane/{secrets.token_hex(4)}", KeyArn=arn)["Alias"]["AliasName"]
    alias_arn = arn.split(":key/")[0] + ":" + alias
    plain = secrets.token_bytes(16)
    expected = AES.new(clear, AES.MODE_ECB).encrypt(plain).hex().upper()
    for identifier in (arn, alias, alias_arn):
        out = data.encrypt_data(KeyIdentifier=identifier, PlainText=plain.hex(), EncryptionAttributes={"Symmetric": {"Mode": "ECB"}})
        assert out["CipherText"] == expected, identifier
        assert out["KeyArn"] == arn


def test_dynamic_tr31_key_under_a_kek_held_here(client, data):
    kek_arn, kek, _ = import_known(client, "TR31_K0_KEY_ENCRYPTION_KEY", "AES_128", *ALL4)
    working = fresh_key("AES_128")
    remember_secret(working)
    block = psec.tr31.wrap(kek, psec.tr31.Header("D", "D0", "A", "B", "00", "E"), working)
    plain = secrets.token_bytes(32)
    wrapped = {"WrappedKeyMaterial": {"Tr31KeyBlock": block}}
    out = data.encrypt_data(KeyIdentifier=kek_arn, PlainText=plain.hex(),
                            EncryptionAttributes={"Symmetric": {"Mode": "ECB"}}, WrappedKey=wrapped)
    assert out["CipherText"] == AES.new(working, AES.MODE_ECB).encrypt(plain).hex().upper()
    assert out["KeyArn"] == kek_arn
    c = cmac.CMAC(algorithms.AES(working))
    c.update(bytes(16))
    assert out["KeyCheckValue"] == c.finalize()[:3].hex().upper()
    # A MAC key in the block is not a data key.
    m_block = psec.tr31.wrap(kek, psec.tr31.Header("D", "M6", "A", "C", "00", "E"), working)
    with pytest.raises(ClientError) as e:
        data.encrypt_data(KeyIdentifier=kek_arn, PlainText=plain.hex(), EncryptionAttributes={"Symmetric": {"Mode": "ECB"}},
                          WrappedKey={"WrappedKeyMaterial": {"Tr31KeyBlock": m_block}})
    assert error_code(e) == "ValidationException" and "M6" in error_message(e)


# --------------------------------------------------------------------------------------------
# MACs
# --------------------------------------------------------------------------------------------

M1, M3, M6, M7, M0 = (
    "TR31_M1_ISO_9797_1_MAC_KEY",
    "TR31_M3_ISO_9797_3_MAC_KEY",
    "TR31_M6_ISO_9797_5_CMAC_KEY",
    "TR31_M7_HMAC_KEY",
    "TR31_M0_ISO_16609_MAC_KEY",
)


def generate_and_verify(data, arn: str, algorithm: str | dict, message: bytes, **extra) -> str:
    attrs = {"Algorithm": algorithm} if isinstance(algorithm, str) else algorithm
    out = data.generate_mac(KeyIdentifier=arn, MessageData=message.hex(), GenerationAttributes=attrs, **extra)
    verified = data.verify_mac(KeyIdentifier=arn, MessageData=message.hex(), Mac=out["Mac"], VerificationAttributes=attrs, **extra)
    assert verified["KeyArn"] == arn == out["KeyArn"]
    assert verified["KeyCheckValue"] == out["KeyCheckValue"]
    return out["Mac"]


def test_iso9797_algorithm3_published_vector(client, data):
    # ISO/IEC 9797-1:2011 annex B.4 (MAC algorithm 3, padding method 1), as data-plane.md cites.
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    arn, _, _ = import_known(client, M3, "TDES_2KEY", "Generate", "Verify", clear=key)
    assert generate_and_verify(data, arn, "ISO9797_ALGORITHM3", b"Now is the time for all ") == "A1C72E74EA3FA9B6"


@pytest.mark.parametrize("algorithm", ["TDES_2KEY", "TDES_3KEY"])
def test_iso9797_algorithms_1_3_and_as2805_match_psec(client, data, algorithm):
    message = secrets.token_bytes(40)
    arn1, k1, _ = import_known(client, M1, algorithm, "Generate", "Verify")
    assert generate_and_verify(data, arn1, "ISO9797_ALGORITHM1", message) == \
        psec.mac.generate_cbc_mac(k1, message, 1).hex().upper()
    arn0, k0, _ = import_known(client, M0, algorithm, "Generate", "Verify")
    assert generate_and_verify(data, arn0, "AS2805_4_1", message) == \
        psec.mac.generate_cbc_mac(k0, message, 1).hex().upper()
    if algorithm == "TDES_2KEY":  # psec's retail MAC takes the two halves of a double-length key
        arn3, k3, _ = import_known(client, M3, algorithm, "Generate", "Verify")
        assert generate_and_verify(data, arn3, "ISO9797_ALGORITHM3", message) == \
            psec.mac.generate_retail_mac(k3[:8], k3[8:], message, 1).hex().upper()
        short = data.generate_mac(KeyIdentifier=arn3, MessageData=message.hex(),
                                  GenerationAttributes={"Algorithm": "ISO9797_ALGORITHM3"}, MacLength=4)
        assert short["Mac"] == psec.mac.generate_retail_mac(k3[:8], k3[8:], message, 1)[:4].hex().upper()


@pytest.mark.parametrize("algorithm", ["TDES_2KEY", "TDES_3KEY", "AES_128"])
def test_cmac_matches_cryptography(client, data, algorithm):
    arn, key, _ = import_known(client, M6, algorithm, "Generate", "Verify")
    message = secrets.token_bytes(37)
    cipher = TripleDES(key if len(key) == 24 else key + key[:8]) if algorithm.startswith("TDES") else algorithms.AES(key)
    c = cmac.CMAC(cipher)
    c.update(message)
    assert generate_and_verify(data, arn, "CMAC", message) == c.finalize().hex().upper()


@pytest.mark.parametrize("bits", [224, 256])
def test_hmac_matches_python(client, data, bits):
    arn, key, _ = import_known(client, M7, f"HMAC_SHA{bits}", "Generate", "Verify")
    message = secrets.token_bytes(256)
    expected = hmac.new(key, message, getattr(hashlib, f"sha{bits}")).hexdigest().upper()
    assert generate_and_verify(data, arn, "HMAC", message) == expected
    assert generate_and_verify(data, arn, f"HMAC_SHA{bits}", message) == expected
    assert generate_and_verify(data, arn, "HMAC", message, MacLength=16) == expected[:32]
    other = 256 if bits != 256 else 224
    with pytest.raises(ClientError) as e:
        data.generate_mac(KeyIdentifier=arn, MessageData=message.hex(), GenerationAttributes={"Algorithm": f"HMAC_SHA{other}"})
    assert error_code(e) == "ValidationException"


def test_wrong_mac_is_verification_failed(client, data):
    arn, _, _ = import_known(client, M6, "AES_128", "Generate", "Verify")
    message = secrets.token_bytes(20)
    mac = data.generate_mac(KeyIdentifier=arn, MessageData=message.hex(), GenerationAttributes={"Algorithm": "CMAC"})["Mac"]
    flipped = ("0" if mac[0] != "0" else "1") + mac[1:]
    for wrong_mac, wrong_message in [(flipped, message), (mac, message + b"\0")]:
        with pytest.raises(ClientError) as e:
            data.verify_mac(KeyIdentifier=arn, MessageData=wrong_message.hex(), Mac=wrong_mac,
                            VerificationAttributes={"Algorithm": "CMAC"})
        assert error_code(e) == "VerificationFailedException"
        assert e.value.response["Reason"] == "INVALID_MAC"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # A truncated MAC verifies by its prefix.
    data.verify_mac(KeyIdentifier=arn, MessageData=message.hex(), Mac=mac[:8], VerificationAttributes={"Algorithm": "CMAC"})


# --------------------------------------------------------------------------------------------
# Refusals: the model's errors, never a 500, and nothing changes
# --------------------------------------------------------------------------------------------


def refused(call, code: str = "ValidationException", words: str = "") -> str:
    with pytest.raises(ClientError) as e:
        call()
    assert error_code(e) == code, e.value.response
    assert words.lower() in error_message(e).lower(), error_message(e)
    return error_message(e)


def test_refusals(client, data, d0_keys):
    arn, _, _ = d0_keys["AES_128"]
    sym = {"Symmetric": {"Mode": "CBC", "InitializationVector": "00" * 16}}
    # Data not whole blocks; an IV of the wrong size.
    refused(lambda: data.encrypt_data(KeyIdentifier=arn, PlainText="00" * 15, EncryptionAttributes=sym), words="multiple of 16")
    refused(lambda: data.encrypt_data(KeyIdentifier=arn, PlainText="00" * 16,
                                      EncryptionAttributes={"Symmetric": {"Mode": "CBC", "InitializationVector": "00" * 8}}),
            words="InitializationVector")
    # The wrong usage: a MAC key cannot encrypt.
    mac_arn, _, _ = import_known(client, M6, "AES_128", "Generate", "Verify")
    refused(lambda: data.encrypt_data(KeyIdentifier=mac_arn, PlainText="00" * 16, EncryptionAttributes=sym), words="usage")
    # A missing mode: an encrypt-only key cannot decrypt, a verify-only key cannot generate.
    enc_only, _, _ = import_known(client, D0, "AES_128", "Encrypt", "Wrap")
    data.encrypt_data(KeyIdentifier=enc_only, PlainText="00" * 16, EncryptionAttributes=sym)
    refused(lambda: data.decrypt_data(KeyIdentifier=enc_only, CipherText="00" * 16, DecryptionAttributes=sym), words="Decrypt")
    verify_only, _, _ = import_known(client, M6, "AES_128", "Verify")
    refused(lambda: data.generate_mac(KeyIdentifier=verify_only, MessageData="00", GenerationAttributes={"Algorithm": "CMAC"}),
            words="Generate")
    # The algorithm must fit: an ISO 9797 MAC on a CMAC key's usage is refused by usage.
    refused(lambda: data.generate_mac(KeyIdentifier=mac_arn, MessageData="00" * 8,
                                      GenerationAttributes={"Algorithm": "ISO9797_ALGORITHM1"}), words="usage")
    # ISO 9797 algorithm 1 takes whole blocks.
    m1, _, _ = import_known(client, M1, "TDES_2KEY", "Generate", "Verify")
    refused(lambda: data.generate_mac(KeyIdentifier=m1, MessageData="00" * 9,
                                      GenerationAttributes={"Algorithm": "ISO9797_ALGORITHM1"}))
    # A disabled key, then enabled again.
    client.stop_key_usage(KeyIdentifier=enc_only)
    refused(lambda: data.encrypt_data(KeyIdentifier=enc_only, PlainText="00" * 16, EncryptionAttributes=sym), words="disabled")
    client.start_key_usage(KeyIdentifier=enc_only)
    data.encrypt_data(KeyIdentifier=enc_only, PlainText="00" * 16, EncryptionAttributes=sym)
    # A key pending deletion.
    client.delete_key(KeyIdentifier=enc_only, DeleteKeyInDays=3)
    refused(lambda: data.encrypt_data(KeyIdentifier=enc_only, PlainText="00" * 16, EncryptionAttributes=sym),
            words="CREATE_COMPLETE")
    # Keys that do not exist.
    missing = arn[:-16] + "zzzzzzzzzzzzzzzz"
    refused(lambda: data.encrypt_data(KeyIdentifier=missing, PlainText="00" * 16, EncryptionAttributes=sym),
            code="ResourceNotFoundException")
    refused(lambda: data.encrypt_data(KeyIdentifier="alias/no-such-alias", PlainText="00" * 16, EncryptionAttributes=sym),
            code="ResourceNotFoundException")


def test_model_validation_names_the_member(endpoint):
    data = make_client(endpoint, service=DATA, validate=False)
    message = refused(lambda: data.encrypt_data(KeyIdentifier="not a key", PlainText="0",
                                                EncryptionAttributes={"Symmetric": {"Mode": "ECB"}}))
    assert "keyIdentifier" in message and "plainText" in message


def signed_data_request(endpoint: str, path: str, body: bytes) -> dict[str, str]:
    """Headers of a SigV4-signed data-plane request to `path`."""
    request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + path, data=body,
                                             headers={"Content-Type": "application/json"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "payment-cryptography", REGION).add_auth(request)
    out = dict(request.prepare().headers.items())
    out["Host"] = urllib.parse.urlsplit(endpoint).netloc
    return out


def test_unknown_path_is_a_404_in_aws_shape(endpoint):
    body = b"{}"
    response = send_raw(endpoint, signed_data_request(endpoint, "/keys/abc/sign", body), body, path="/keys/abc/sign")
    assert response.status == 404
    assert response.error_type == "UnknownOperationException"
    assert response.json()["__type"] == "UnknownOperationException"
    assert "x-amzn-requestid" in response.headers


def test_malformed_bodies_are_client_errors(endpoint, d0_keys):
    arn, _, _ = d0_keys["AES_128"]
    from urllib.parse import quote

    path = f"/keys/{quote(arn, safe='')}/encrypt"
    for body in [b"not json", b"[]", b'{"PlainText": 5}', json.dumps({"PlainText": "00", "EncryptionAttributes": {}}).encode()]:
        response = send_raw(endpoint, signed_data_request(endpoint, path, body), body, path=path)
        assert response.status == 400, (body, response.body)
        assert response.error_type in ("SerializationException", "ValidationException")


# --------------------------------------------------------------------------------------------
# The AWS CLI
# --------------------------------------------------------------------------------------------


def test_cli_generates_and_verifies_a_mac(client, endpoint):
    arn, key, _ = import_known(client, M7, "HMAC_SHA256", "Generate", "Verify")
    message = secrets.token_bytes(64)
    cli = AwsCli(endpoint, service=DATA)
    out = cli.run("generate-mac", "--key-identifier", arn, "--message-data", message.hex(),
                  "--generation-attributes", "Algorithm=HMAC_SHA256").json()
    assert out["Mac"] == hmac.new(key, message, hashlib.sha256).hexdigest().upper()
    verified = cli.run("verify-mac", "--key-identifier", arn, "--message-data", message.hex(), "--mac", out["Mac"],
                       "--verification-attributes", "Algorithm=HMAC_SHA256", endpoint_via_env=True).json()
    assert verified["KeyArn"] == arn
    wrong = cli.run("verify-mac", "--key-identifier", arn, "--message-data", message.hex(), "--mac", "00" * 32,
                    "--verification-attributes", "Algorithm=HMAC_SHA256", check=False)
    assert wrong.returncode != 0 and "VerificationFailedException" in wrong.stderr
