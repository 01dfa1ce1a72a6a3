"""Key exchange through boto3 (and the AWS CLI), each flow checked by a real counterpart outside
paycrypt:

* TR-34 export seed flow with paycrypt as KDH: a CA and a KRD certificate made here with pyca
  `cryptography`, the block opened the way the reference's receiving party does (all seven
  checks) by the independent Python TR-34 implementation in
  crates/keyblock/tests/tr34_independent.py.
* TR-34 import with paycrypt as KRD: the block built by that same independent implementation
  with a KDH key and certificate made here.
* TR-31 both ways with psec (PyPI), under TDES and AES KEKs whose clear value the test chose and
  brought in as RSA-OAEP key cryptograms.
* The DUKPT initial key export against the ANSI X9.24-1 example.
* The refusals that keep keys safe, each a ValidationException that creates and changes nothing.
* GetPublicKeyCertificate against the account CA.
* Finally, a scan of the data dir: no clear key the tests know, and no master key outside
  master.key.

The tests run in file order on one module server; the data-dir scan comes last on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import psec
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import cmac, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers import modes as cipher_modes
from cryptography.x509.oid import NameOID

from conftest import (
    DEFAULT_ACCOUNT,
    REPO,
    accounts_config,
    attributes,
    error_code,
    error_message,
    key_count,
    make_client,
    remember_secret,
)

try:  # cryptography >= 43 keeps TDES among the "decrepit" algorithms
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    TripleDES = algorithms.TripleDES  # type: ignore[attr-defined]

# psec drives TDES through the deprecated `cryptography` names; that is psec's business.
pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

# The independent TR-34 implementation, imported from its file (not copied).
_TR34_PATH = REPO / "crates" / "keyblock" / "tests" / "tr34_independent.py"
_spec = importlib.util.spec_from_file_location("tr34_independent", _TR34_PATH)
tr34 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tr34)

OTHER_ACCOUNT = "444455556666"
OTHER_KEY, OTHER_SECRET = "other", "other-secret"

K0 = "TR31_K0_KEY_ENCRYPTION_KEY"
ALL4 = ("Encrypt", "Decrypt", "Wrap", "Unwrap")
USAGES = {
    "B0": "TR31_B0_BASE_DERIVATION_KEY",
    "B1": "TR31_B1_INITIAL_KEY",
    "C0": "TR31_C0_CARD_VERIFICATION_KEY",
    "D0": "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY",
    "K0": "TR31_K0_KEY_ENCRYPTION_KEY",
    "K1": "TR31_K1_KEY_BLOCK_PROTECTION_KEY",
    "P0": "TR31_P0_PIN_ENCRYPTION_KEY",
}
MODE_LETTERS = {
    "B": ALL4,
    "E": ("Encrypt", "Wrap"),
    "D": ("Decrypt", "Unwrap"),
    "C": ("Generate", "Verify"),
    "G": ("Generate",),
    "V": ("Verify",),
    "X": ("DeriveKey",),
    "N": ("NoRestrictions",),
}
KEY_LEN = {"TDES_2KEY": 16, "TDES_3KEY": 24, "AES_128": 16, "AES_192": 24, "AES_256": 32}
ALGORITHM_LETTER = {"TDES_2KEY": "T", "TDES_3KEY": "T", "AES_128": "A", "AES_192": "A", "AES_256": "A"}
TR34_FORMAT = "X9_TR34_2012"
HEX_UPPER = re.compile(r"^[0-9A-F]+$")

# X9.24-1 example (shared/reference + ANSI X9.24-1 annex A): BDK, KSN and the resulting IPEK.
X924_BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
X924_KSN = "FFFF9876543210E00000"
X924_IPEK = bytes.fromhex("6AC292FAA1315B4D858AB3A3D7D5933A")


# --------------------------------------------------------------------------------------------
# Clear-key arithmetic done here, not by paycrypt
# --------------------------------------------------------------------------------------------


def tdes24(key: bytes) -> bytes:
    return key if len(key) == 24 else key + key[:8]


def kcv(algorithm: str, key: bytes, method: str | None = None) -> str:
    """KCV per shared/reference/tr31-kcv.md: ANSI X9.24 for TDES (default), CMAC for AES."""
    if algorithm.startswith("TDES"):
        if method in (None, "ANSI_X9_24"):
            enc = Cipher(TripleDES(tdes24(key)), cipher_modes.ECB()).encryptor()
            return (enc.update(bytes(8)) + enc.finalize())[:3].hex().upper()
        assert method == "CMAC", method
        mac = cmac.CMAC(TripleDES(tdes24(key)))
        mac.update(bytes(8))
        return mac.finalize()[:3].hex().upper()
    assert method in (None, "CMAC"), method
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(bytes(16))
    return mac.finalize()[:3].hex().upper()


def fresh_key(algorithm: str) -> bytes:
    key = secrets.token_bytes(KEY_LEN[algorithm])
    if algorithm.startswith("TDES"):  # odd parity, as a real TDES key has
        key = bytes(b & 0xFE | (bin(b & 0xFE).count("1") + 1) % 2 for b in key)
    return key


# --------------------------------------------------------------------------------------------
# Certificates made here with pyca `cryptography`
# --------------------------------------------------------------------------------------------


@dataclass
class Party:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pkcs8(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def wire(self) -> str:
        return to_wire(self.cert)


def to_wire(cert: x509.Certificate) -> str:
    """Certificates on the wire are base64 of the PEM text."""
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


def from_wire(text: str) -> x509.Certificate:
    assert text.startswith("LS0tLS1CRUdJTi"), text[:20]
    return x509.load_pem_x509_certificate(base64.b64decode(text))


def spki_kcv(cert: x509.Certificate) -> str:
    """SHA_1 KCV as paycrypt documents it: SHA-1 of the SubjectPublicKeyInfo DER, first 4 bytes."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha1(spki).digest()[:4].hex().upper()


def signed_attributes(block: str) -> dict[bytes, bytes]:
    """The signedAttrs of a TR-34 block, attribute OID (DER) -> value (DER contents), read with
    the independent implementation's DER reader."""
    (content_info,) = tr34.items(bytes.fromhex(block))
    (signed_data,) = tr34.items(tr34.items(content_info[1])[1][1])
    (signer_info,) = tr34.items(tr34.items(signed_data[1])[3][1])
    out = {}
    for attr in tr34.items(tr34.items(signer_info[1])[3][1]):
        a_type, a_values = tr34.items(attr[1])
        (value,) = tr34.items(a_values[1])
        out[a_type[2]] = value[1]
    return out


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "paycrypt compat tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_ca(bits: int, cn: str) -> Party:
    key = rsa.generate_private_key(65537, bits)
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Party(key, cert)


def issue(ca: Party, bits: int, cn: str) -> Party:
    key = rsa.generate_private_key(65537, bits)
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Party(key, cert)


@dataclass
class Pki:
    ca: Party  # our CA (RSA-4096), imported into paycrypt as a root
    krd2048: Party  # our KRD certificates for TR-34 exports
    krd3072: Party
    kdh: Party  # our KDH certificate for TR-34 imports
    stranger: Party  # a certificate under a CA paycrypt was never told about


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca = make_ca(4096, "HSM test CA")
    other_ca = make_ca(2048, "Somebody else's CA")
    return Pki(
        ca=ca,
        krd2048=issue(ca, 2048, "KRD RSA-2048"),
        krd3072=issue(ca, 3072, "KRD RSA-3072"),
        kdh=issue(ca, 2048, "KDH RSA-2048"),
        stranger=issue(other_ca, 2048, "stranger"),
    )


# --------------------------------------------------------------------------------------------
# Servers, clients and the keys the module shares
# --------------------------------------------------------------------------------------------


def two_accounts() -> str:
    return accounts_config({DEFAULT_ACCOUNT: [("test", "test")], OTHER_ACCOUNT: [(OTHER_KEY, OTHER_SECRET)]})


@pytest.fixture(scope="module")
def server(module_server_factory):
    """The module's server: the default account plus a second one (444455556666)."""
    return module_server_factory(config=two_accounts())


@pytest.fixture(scope="module")
def other_client(endpoint):
    return make_client(endpoint, OTHER_KEY, OTHER_SECRET)


@pytest.fixture(scope="module")
def known_clear():
    """Every clear symmetric key value the tests of this module learn; scanned for at the end of
    the module, and by test_zz_secrets.py at the end of the suite."""
    known: list[bytes] = []
    yield known
    for clear in known:
        remember_secret(clear)


def import_root(client, ca: Party) -> str:
    key = client.import_key(
        KeyMaterial={
            "RootCertificatePublicKey": {
                "KeyAttributes": attributes(
                    "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
                    f"RSA_{ca.key.key_size}",
                    "PUBLIC_KEY",
                    "Verify",
                ),
                "PublicKeyCertificate": ca.wire,
            }
        }
    )["Key"]
    assert key["KeyOrigin"] == "EXTERNAL"
    assert key["KeyState"] == "CREATE_COMPLETE"
    assert key["KeyAttributes"]["KeyClass"] == "PUBLIC_KEY"
    assert key["KeyCheckValueAlgorithm"] == "SHA_1"
    assert key["KeyCheckValue"] == spki_kcv(ca.cert)
    return key["KeyArn"]


@pytest.mark.parametrize("kcv_algorithm", ["ANSI_X9_24", "CMAC", "HMAC", "SHA_1"])
def test_root_certificate_import_accepts_and_ignores_kcv_algorithm(client, pki, kcv_algorithm):
    # AWS's public TR-34 samples (aws-samples/samples-for-payment-cryptography-service,
    # key-import-export/tr34) import their RSA root certificate with ANSI_X9_24; the check value
    # of a certificate stays the SHA_1 form whatever the request names.
    key = client.import_key(
        KeyCheckValueAlgorithm=kcv_algorithm,
        KeyMaterial={
            "RootCertificatePublicKey": {
                "KeyAttributes": attributes(
                    "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
                    f"RSA_{pki.ca.key.key_size}",
                    "PUBLIC_KEY",
                    "Verify",
                ),
                "PublicKeyCertificate": pki.ca.wire,
            }
        },
    )["Key"]
    assert key["KeyCheckValueAlgorithm"] == "SHA_1"
    assert key["KeyCheckValue"] == spki_kcv(pki.ca.cert)


@pytest.fixture(scope="module")
def ca_arn(client, pki) -> str:
    return import_root(client, pki.ca)


def import_cryptogram(
    client,
    clear: bytes,
    attrs: dict[str, Any],
    exportable: bool,
    rsa_algorithm: str = "RSA_2048",
    spec: str = "RSA_OAEP_SHA_256",
) -> dict[str, Any]:
    """GetParametersForImport KEY_CRYPTOGRAM, RSA-OAEP wrapping done here, ImportKey."""
    params = client.get_parameters_for_import(KeyMaterialType="KEY_CRYPTOGRAM", WrappingKeyAlgorithm=rsa_algorithm)
    assert params["WrappingKeyAlgorithm"] == rsa_algorithm
    wrapping = from_wire(params["WrappingKeyCertificate"])
    wrapping.verify_directly_issued_by(from_wire(params["WrappingKeyCertificateChain"]))
    assert wrapping.public_key().key_size == int(rsa_algorithm[4:])
    digest = hashes.SHA256() if spec == "RSA_OAEP_SHA_256" else hashes.SHA512()
    cryptogram = wrapping.public_key().encrypt(
        clear, padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    )
    return client.import_key(
        KeyMaterial={
            "KeyCryptogram": {
                "KeyAttributes": attrs,
                "Exportable": exportable,
                "WrappedKeyCryptogram": cryptogram.hex().upper(),
                "ImportToken": params["ImportToken"],
                "WrappingSpec": spec,
            }
        }
    )["Key"]


@dataclass
class Kek:
    arn: str
    clear: bytes
    algorithm: str


@pytest.fixture(scope="module")
def keks(client, known_clear) -> dict[str, Kek]:
    """Key encryption keys whose clear value the test chose: TDES_3KEY (RSA-2048, OAEP SHA-256)
    and AES_128 (RSA-3072, OAEP SHA-512), both K0 with {Encrypt, Decrypt, Wrap, Unwrap}."""
    out = {}
    for name, algorithm, rsa_algorithm, spec in [
        ("TDES", "TDES_3KEY", "RSA_2048", "RSA_OAEP_SHA_256"),
        ("AES", "AES_128", "RSA_3072", "RSA_OAEP_SHA_512"),
    ]:
        clear = fresh_key(algorithm)
        key = import_cryptogram(
            client, clear, attributes(K0, algorithm, "SYMMETRIC_KEY", *ALL4), False, rsa_algorithm, spec
        )
        assert key["KeyOrigin"] == "EXTERNAL"
        assert key["KeyAttributes"] == attributes(K0, algorithm, "SYMMETRIC_KEY", *ALL4)
        assert key["Exportable"] is False
        assert key["KeyCheckValue"] == kcv(algorithm, clear)
        known_clear.append(clear)
        out[name] = Kek(key["KeyArn"], clear, algorithm)
    return out


@pytest.fixture(scope="module")
def export_params(client) -> dict[str, Any]:
    params = client.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")
    return params


def create(client, algorithm: str, usage: str = K0, mode_names=ALL4, exportable: bool = True) -> dict[str, Any]:
    return client.create_key(
        KeyAttributes=attributes(usage, algorithm, "SYMMETRIC_KEY", *mode_names), Exportable=exportable
    )["Key"]


def export_tr34(client, key_arn: str, ca_arn: str, krd_wire: str, token: str, nonce: str | None = None, **extra):
    block: dict[str, Any] = {
        "CertificateAuthorityPublicKeyIdentifier": ca_arn,
        "WrappingKeyCertificate": krd_wire,
        "ExportToken": token,
        "KeyBlockFormat": TR34_FORMAT,
        **extra,
    }
    if nonce is not None:
        block["RandomNonce"] = nonce
    return client.export_key(ExportKeyIdentifier=key_arn, KeyMaterial={"Tr34KeyBlock": block})["WrappedKey"]


def export_tr31(client, key_arn: str, kek_arn: str, headers: dict[str, Any] | None = None, **kwargs):
    block: dict[str, Any] = {"WrappingKeyIdentifier": kek_arn}
    if headers is not None:
        block["KeyBlockHeaders"] = headers
    return client.export_key(ExportKeyIdentifier=key_arn, KeyMaterial={"Tr31KeyBlock": block}, **kwargs)["WrappedKey"]


def open_tr34(block_hex: str, krd: Party, kdh_cert: x509.Certificate, nonce: str | None, expected_kcv: str) -> dict:
    """The receiving party's checks 1 to 7, by the independent implementation."""
    return tr34.open_block(
        {
            "op": "open",
            "block": block_hex,
            "krd_cert": krd.cert_der.hex(),
            "krd_key": krd.key_pkcs8.hex(),
            "kdh_cert": kdh_cert.public_bytes(serialization.Encoding.DER).hex(),
            "nonce": nonce,
            "kcv": expected_kcv,
        }
    )


def build_tr34(key: bytes, header: str, kdh: Party, krd_cert: x509.Certificate, cipher: str, nonce: str | None) -> str:
    return tr34.build_block(
        {
            "op": "build",
            "key": key.hex(),
            "header": header,
            "kdh_cert": kdh.cert_der.hex(),
            "kdh_key": kdh.key_pkcs8.hex(),
            "krd_cert": krd_cert.public_bytes(serialization.Encoding.DER).hex(),
            "cipher": cipher,
            "nonce": nonce,
            "signing_time": datetime.now(timezone.utc).strftime("%y%m%d%H%M%SZ"),
        }
    )["block"]


def import_tr34(client, ca_arn: str, kdh: Party, token: str, block: str, nonce: str | None):
    material: dict[str, Any] = {
        "CertificateAuthorityPublicKeyIdentifier": ca_arn,
        "SigningKeyCertificate": kdh.wire,
        "ImportToken": token,
        "WrappedKeyBlock": block,
        "KeyBlockFormat": TR34_FORMAT,
    }
    if nonce is not None:
        material["RandomNonce"] = nonce
    return client.import_key(KeyMaterial={"Tr34KeyBlock": material})["Key"]


def validation_error(excinfo, *needles: str) -> str:
    """Asserts a ValidationException (status 400) whose message says what went wrong."""
    assert error_code(excinfo) == "ValidationException", excinfo.value.response
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = error_message(excinfo)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    return message


def flip_bit_hex(block: str, index: int, bit: int = 0) -> str:
    """`block` (hex) with one bit of byte `index` flipped, still uppercase hex."""
    raw = bytearray(bytes.fromhex(block))
    raw[index] ^= 1 << bit
    return raw.hex().upper()


def env_offset(block: str) -> tuple[int, int]:
    """Offset and length of ENV (the enveloped part, over which messageDigest runs) in a TR-34
    block, found with the independent implementation's DER reader."""
    raw = bytes.fromhex(block)
    (content_info,) = tr34.items(raw)
    (signed_data,) = tr34.items(tr34.items(content_info[1])[1][1])
    encapsulated = tr34.items(signed_data[1])[2]
    (env_octets,) = tr34.items(tr34.items(encapsulated[1])[1][1])
    env = env_octets[1]
    return raw.index(env), len(env)


# --------------------------------------------------------------------------------------------
# 1. TR-34 export: paycrypt is the KDH, the test is a real KRD
# --------------------------------------------------------------------------------------------


def test_export_parameters_and_the_signing_certificate(client, export_params):
    p = export_params
    assert re.fullmatch(r"export-token-[0-9a-zA-Z]{16,64}", p["ExportToken"]), p["ExportToken"]
    assert p["SigningKeyAlgorithm"] == "RSA_2048"
    kdh = from_wire(p["SigningKeyCertificate"])
    chain = from_wire(p["SigningKeyCertificateChain"])
    kdh.verify_directly_issued_by(chain)
    chain.verify_directly_issued_by(chain)  # the account CA is self-signed
    assert chain.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert kdh.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert kdh.public_key().key_size == 2048
    # The token and its certificate are valid for 7 days by default.
    until = p["ParametersValidUntilTimestamp"]
    remaining = (until - datetime.now(timezone.utc)).total_seconds()
    assert 7 * 86400 - 120 <= remaining <= 7 * 86400 + 5, remaining
    assert abs((kdh.not_valid_after_utc - until).total_seconds()) < 1
    assert kdh.not_valid_before_utc <= datetime.now(timezone.utc)
    # ReuseLastGeneratedToken hands back the same token and certificate.
    again = client.get_parameters_for_export(
        KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048", ReuseLastGeneratedToken=True
    )
    assert again["ExportToken"] == p["ExportToken"]
    assert again["SigningKeyCertificate"] == p["SigningKeyCertificate"]
    # Without it, a new one.
    fresh = client.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")
    assert fresh["ExportToken"] != p["ExportToken"]
    assert fresh["SigningKeyCertificateChain"] == p["SigningKeyCertificateChain"]


def test_concurrent_first_uses_of_an_account_create_one_certificate_authority(server_factory, client_factory):
    # Eight first requests of a fresh account arrive together; one RSA-4096 CA key is generated
    # for all of them (the others wait for it), not one each.
    server = server_factory()
    clients = [client_factory(server.endpoint) for _ in range(8)]

    def first_use(index: int) -> dict:
        client = clients[index]
        if index % 2:
            return client.get_parameters_for_import(KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm="RSA_2048")
        return client.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(first_use, range(len(clients))))
    chains = {a.get("SigningKeyCertificateChain") or a.get("WrappingKeyCertificateChain") for a in answers}
    assert len(chains) == 1
    (chain,) = chains
    ca = from_wire(chain)
    for answer in answers:
        leaf = from_wire(answer.get("SigningKeyCertificate") or answer.get("WrappingKeyCertificate"))
        leaf.verify_directly_issued_by(ca)
    assert server.log().count("account certificate authority created") == 1, server.log()


@pytest.mark.parametrize(
    "algorithm, krd_bits", [("TDES_2KEY", 2048), ("TDES_3KEY", 2048), ("AES_128", 3072)]
)
def test_tr34_export_opens_at_a_real_krd(client, pki, ca_arn, export_params, known_clear, algorithm, krd_bits):
    krd = pki.krd2048 if krd_bits == 2048 else pki.krd3072
    kdh_cert = from_wire(export_params["SigningKeyCertificate"])
    key = create(client, algorithm)
    got = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]
    letter = ALGORITHM_LETTER[algorithm]
    clears = set()
    for nonce in (secrets.token_hex(8).upper(), secrets.token_hex(16).upper(), None):  # two-pass x2, one-pass
        wrapped = export_tr34(client, key["KeyArn"], ca_arn, krd.wire, export_params["ExportToken"], nonce)
        assert wrapped["WrappedKeyMaterialFormat"] == "TR34_KEY_BLOCK"
        assert HEX_UPPER.match(wrapped["KeyMaterial"]), "uppercase hex of the DER"
        assert wrapped["KeyCheckValue"] == got["KeyCheckValue"]
        opened = open_tr34(wrapped["KeyMaterial"], krd, kdh_cert, nonce, got["KeyCheckValue"])
        assert opened["header"] == f"D0112K0{letter}B00E0000"
        clear = bytes.fromhex(opened["key"])
        assert len(clear) == KEY_LEN[algorithm]
        assert kcv(algorithm, clear) == got["KeyCheckValue"], "check 7, recomputed here"
        clears.add(clear)
        attrs = signed_attributes(wrapped["KeyMaterial"])
        if nonce is None:  # one-pass: signingTime, close to now
            assert tr34.RANDOM_NONCE not in attrs
            signed_at = datetime.strptime(attrs[tr34.SIGNING_TIME].decode(), "%y%m%d%H%M%SZ")
            skew = abs((signed_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds())
            assert skew < 300, attrs[tr34.SIGNING_TIME]
        else:
            assert attrs[tr34.RANDOM_NONCE] == bytes.fromhex(nonce)
            assert tr34.SIGNING_TIME not in attrs
        # The checker is real: another nonce, or another KRD, does not open the block.
        with pytest.raises(tr34.CheckFailed, match="nonce"):
            open_tr34(wrapped["KeyMaterial"], krd, kdh_cert, "00" * 8 if nonce else "11" * 8, got["KeyCheckValue"])
        other_krd = pki.krd3072 if krd is pki.krd2048 else pki.krd2048
        with pytest.raises(tr34.CheckFailed, match="recipient identity"):
            open_tr34(wrapped["KeyMaterial"], other_krd, kdh_cert, nonce, got["KeyCheckValue"])
    assert len(clears) == 1, "every block carries the same key"
    known_clear.extend(clears)
    # Exporting changed nothing about the key.
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"] == got


def test_tr34_export_with_headers_that_tighten(client, pki, ca_arn, export_params, known_clear):
    key = create(client, "TDES_3KEY", "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY")
    nonce = secrets.token_hex(8).upper()
    wrapped = export_tr34(
        client,
        key["KeyArn"],
        ca_arn,
        pki.krd2048.wire,
        export_params["ExportToken"],
        nonce,
        KeyBlockHeaders={
            "KeyModesOfUse": {"Decrypt": True, "Unwrap": True},
            "KeyExportability": "NON_EXPORTABLE",
            "KeyVersion": "12",
        },
    )
    opened = open_tr34(
        wrapped["KeyMaterial"], pki.krd2048, from_wire(export_params["SigningKeyCertificate"]), nonce, key["KeyCheckValue"]
    )
    assert opened["header"] == "D0112D0TD12N0000"
    known_clear.append(bytes.fromhex(opened["key"]))


def test_tr34_export_through_the_aws_cli(aws_cli, pki, ca_arn, export_params, known_clear):
    cli = aws_cli
    key = cli.run(
        "create-key",
        "--exportable",
        "--key-attributes",
        "KeyUsage=TR31_K0_KEY_ENCRYPTION_KEY,KeyClass=SYMMETRIC_KEY,KeyAlgorithm=TDES_3KEY,"
        "KeyModesOfUse={Encrypt=true,Decrypt=true,Wrap=true,Unwrap=true}",
    ).json()["Key"]
    nonce = "0123456789ABCDEF"
    material = (
        '{"Tr34KeyBlock": {"CertificateAuthorityPublicKeyIdentifier": "%s", "WrappingKeyCertificate": "%s", '
        '"ExportToken": "%s", "KeyBlockFormat": "X9_TR34_2012", "RandomNonce": "%s"}}'
        % (ca_arn, pki.krd2048.wire, export_params["ExportToken"], nonce)
    )
    wrapped = cli.run(
        "export-key", "--export-key-identifier", key["KeyArn"], "--key-material", material
    ).json()["WrappedKey"]
    opened = open_tr34(
        wrapped["KeyMaterial"], pki.krd2048, from_wire(export_params["SigningKeyCertificate"]), nonce, key["KeyCheckValue"]
    )
    assert opened["header"] == "D0112K0TB00E0000"
    known_clear.append(bytes.fromhex(opened["key"]))


@pytest.mark.parametrize(
    "algorithm, krd_bits, spec",
    [("TDES_3KEY", 2048, "RSA_OAEP_SHA_256"), ("TDES_2KEY", 2048, "RSA_OAEP_SHA_512"), ("AES_128", 3072, "RSA_OAEP_SHA_256")],
)
def test_key_cryptogram_export_opens_with_the_krd_key(client, pki, ca_arn, known_clear, algorithm, krd_bits, spec):
    krd = pki.krd2048 if krd_bits == 2048 else pki.krd3072
    key = create(client, algorithm)
    wrapped = client.export_key(
        ExportKeyIdentifier=key["KeyArn"],
        KeyMaterial={
            "KeyCryptogram": {
                "CertificateAuthorityPublicKeyIdentifier": ca_arn,
                "WrappingKeyCertificate": krd.wire,
                "WrappingSpec": spec,
            }
        },
    )["WrappedKey"]
    assert wrapped["WrappedKeyMaterialFormat"] == "KEY_CRYPTOGRAM"
    assert HEX_UPPER.match(wrapped["KeyMaterial"])
    digest = hashes.SHA256() if spec == "RSA_OAEP_SHA_256" else hashes.SHA512()
    clear = krd.key.decrypt(
        bytes.fromhex(wrapped["KeyMaterial"]), padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    )
    assert len(clear) == KEY_LEN[algorithm]
    assert kcv(algorithm, clear) == key["KeyCheckValue"] == wrapped["KeyCheckValue"]
    known_clear.append(clear)


# --------------------------------------------------------------------------------------------
# 2. TR-34 import: the test is a real KDH, paycrypt the KRD
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm, header, two_pass, rsa_algorithm",
    [
        ("TDES_3KEY", "D9999K1TD00N0000", True, "RSA_2048"),  # "version and length are ignored"
        ("TDES_2KEY", "D0112P0TE00E0000", False, "RSA_2048"),  # one-pass: signingTime
        ("TDES_2KEY", "D0112C0TC00E0000", True, "RSA_2048"),
        ("TDES_2KEY", "D0112B0TX00E0000", False, "RSA_2048"),
        ("AES_128", "D0112D0AB00E0000", True, "RSA_3072"),
    ],
)
def test_tr34_import_from_a_real_kdh(client, pki, ca_arn, known_clear, algorithm, header, two_pass, rsa_algorithm):
    params = client.get_parameters_for_import(
        KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm=rsa_algorithm, ReuseLastGeneratedToken=True
    )
    assert re.fullmatch(r"import-token-[0-9a-zA-Z]{16,64}", params["ImportToken"]), params["ImportToken"]
    krd_cert = from_wire(params["WrappingKeyCertificate"])
    krd_cert.verify_directly_issued_by(from_wire(params["WrappingKeyCertificateChain"]))
    assert krd_cert.public_key().key_size == int(rsa_algorithm[4:])

    clear = fresh_key(algorithm)
    known_clear.append(clear)
    nonce = secrets.token_hex(12).upper() if two_pass else None
    cipher = "AES" if algorithm.startswith("AES") else "TDES"
    block = build_tr34(clear, header, pki.kdh, krd_cert, cipher, nonce)
    before = key_count(client)
    key = import_tr34(client, ca_arn, pki.kdh, params["ImportToken"], block, nonce)
    assert key_count(client) == before + 1

    expected_attrs = attributes(USAGES[header[5:7]], algorithm, "SYMMETRIC_KEY", *MODE_LETTERS[header[8]])
    assert key["KeyAttributes"] == expected_attrs
    assert key["Exportable"] is (header[11] != "N")
    assert key["KeyOrigin"] == "EXTERNAL"
    assert key["KeyState"] == "CREATE_COMPLETE"
    assert key["KeyCheckValue"] == kcv(algorithm, clear)
    assert key["KeyCheckValueAlgorithm"] == ("CMAC" if cipher == "AES" else "ANSI_X9_24")
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"] == key


# --------------------------------------------------------------------------------------------
# 3. TR-31 both ways with psec under KEKs whose clear value the test knows
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kek_name, algorithm, usage, mode",
    [
        ("TDES", "TDES_2KEY", "P0", "E"),
        ("TDES", "TDES_3KEY", "K0", "B"),
        ("AES", "TDES_2KEY", "D0", "D"),
        ("AES", "TDES_3KEY", "K1", "B"),
        ("AES", "AES_128", "D0", "B"),
    ],
)
def test_tr31_export_unwraps_with_psec(client, keks, known_clear, kek_name, algorithm, usage, mode):
    kek = keks[kek_name]
    key = create(client, algorithm, USAGES[usage], MODE_LETTERS[mode])
    wrapped = export_tr31(client, key["KeyArn"], kek.arn)
    assert wrapped["WrappedKeyMaterialFormat"] == "TR31_KEY_BLOCK"
    assert wrapped["WrappingKeyArn"] == kek.arn
    assert wrapped["KeyCheckValue"] == key["KeyCheckValue"]
    block = wrapped["KeyMaterial"]
    assert int(block[1:5]) == len(block)
    header, clear = psec.tr31.unwrap(kek.clear, block)
    version = "B" if kek_name == "TDES" else "D"  # the version follows the KEK
    assert (header.version_id, header.key_usage, header.algorithm, header.mode_of_use) == (
        version,
        usage,
        ALGORITHM_LETTER[algorithm],
        mode,
    )
    assert (header.version_num, header.exportability) == ("00", "E")
    assert len(clear) == KEY_LEN[algorithm]
    assert kcv(algorithm, clear) == client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyCheckValue"]
    known_clear.append(clear)


def test_tr31_export_with_headers_that_tighten(client, keks, known_clear):
    kek = keks["AES"]
    key = create(client, "AES_128", "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY")
    wrapped = export_tr31(
        client,
        key["KeyArn"],
        kek.arn,
        {
            "KeyModesOfUse": {"Encrypt": True, "Wrap": True},
            "KeyExportability": "NON_EXPORTABLE",
            "KeyVersion": "07",
            "OptionalBlocks": {"KS": "00604B120F9292800000"},
        },
    )
    header, clear = psec.tr31.unwrap(kek.clear, wrapped["KeyMaterial"])
    assert (header.version_id, header.key_usage, header.algorithm, header.mode_of_use) == ("D", "D0", "A", "E")
    assert (header.version_num, header.exportability) == ("07", "N")
    assert header.blocks["KS"] == "00604B120F9292800000"
    assert kcv("AES_128", clear) == key["KeyCheckValue"]
    known_clear.append(clear)


@pytest.mark.parametrize(
    "kek_name, version, algorithm, header",
    [
        ("TDES", "A", "TDES_2KEY", "P0TE00E"),
        ("TDES", "B", "TDES_3KEY", "K0TB00N"),
        ("TDES", "C", "TDES_3KEY", "D0TD00E"),
        ("TDES", "B", "TDES_2KEY", "C0TC00E"),
        ("AES", "D", "AES_128", "K1AB00E"),
        ("AES", "D", "TDES_2KEY", "K0TN00E"),
        ("AES", "D", "AES_128", "B0AX00N"),
    ],
)
def test_tr31_import_of_psec_blocks(client, keks, known_clear, kek_name, version, algorithm, header):
    kek = keks[kek_name]
    usage, letter, mode, key_version, exportability = header[0:2], header[2], header[3], header[4:6], header[6]
    clear = fresh_key(algorithm)
    known_clear.append(clear)
    h = psec.tr31.Header(version, usage, letter, mode, key_version, exportability)
    block = psec.tr31.wrap(kek.clear, h, clear)
    before = key_count(client)
    key = client.import_key(
        KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek.arn, "WrappedKeyBlock": block}}
    )["Key"]
    assert key_count(client) == before + 1
    assert key["KeyAttributes"] == attributes(USAGES[usage], algorithm, "SYMMETRIC_KEY", *MODE_LETTERS[mode])
    assert key["Exportable"] is (exportability == "E")
    assert key["KeyOrigin"] == "EXTERNAL"
    assert key["KeyCheckValue"] == kcv(algorithm, clear)


# --------------------------------------------------------------------------------------------
# 4. DUKPT initial key export against ANSI X9.24-1
# --------------------------------------------------------------------------------------------


def test_dukpt_initial_key_export_matches_x9_24(client, keks, known_clear):
    bdk = import_cryptogram(
        client,
        X924_BDK,
        attributes("TR31_B0_BASE_DERIVATION_KEY", "TDES_2KEY", "SYMMETRIC_KEY", "DeriveKey"),
        True,
    )
    known_clear.extend([X924_BDK, X924_IPEK])
    assert bdk["KeyCheckValue"] == "08D7B4"  # published KCV of this key
    kek = keks["TDES"]
    before = key_count(client)
    for method in (None, "ANSI_X9_24", "CMAC"):
        export_attributes: dict[str, Any] = {"ExportDukptInitialKey": {"KeySerialNumber": X924_KSN}}
        if method is not None:
            export_attributes["KeyCheckValueAlgorithm"] = method
        wrapped = export_tr31(client, bdk["KeyArn"], kek.arn, ExportAttributes=export_attributes)
        header, ipek = psec.tr31.unwrap(kek.clear, wrapped["KeyMaterial"])
        assert ipek == X924_IPEK, ipek.hex().upper()
        assert (header.version_id, header.key_usage, header.algorithm, header.mode_of_use) == ("B", "B1", "T", "X")
        assert wrapped["KeyCheckValueAlgorithm"] == (method or "ANSI_X9_24")
        assert wrapped["KeyCheckValue"] == kcv("TDES_2KEY", X924_IPEK, method)
    # The IPEK is not stored; the BDK is unchanged.
    assert key_count(client) == before
    assert client.get_key(KeyIdentifier=bdk["KeyArn"])["Key"] == bdk


# --------------------------------------------------------------------------------------------
# 5. Refusals: ValidationException, a clear message, nothing created or changed
# --------------------------------------------------------------------------------------------


def test_expired_tokens_are_refused(server_factory, client_factory, pki):
    server = server_factory(extra_args=["--token-validity", "3s"])
    client = client_factory(server.endpoint)
    ca_arn = import_root(client, pki.ca)
    key = create(client, "TDES_2KEY")
    # The account CA (RSA-4096) is made on first need; make it now, so that its generation time
    # does not eat into the 3 s of the tokens below.
    client.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")

    def params(call, **kwargs):
        """The call's answer; its token expires 3 s after the server's clock at the call."""
        t0 = datetime.now(timezone.utc)
        out = call(**kwargs)
        t1 = datetime.now(timezone.utc)
        until = out["ParametersValidUntilTimestamp"]
        slack = timedelta(milliseconds=50)
        assert t0 - slack <= until - timedelta(seconds=3) <= t1 + slack, (t0, until, t1)
        return out

    export = params(client.get_parameters_for_export, KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")
    # Still valid now: the export works.
    nonce = secrets.token_hex(8).upper()
    export_tr34(client, key["KeyArn"], ca_arn, pki.krd2048.wire, export["ExportToken"], nonce)
    # The certificate covers the token's lifetime (one made ready by the key pool ahead of the
    # request outlives the token by at most an hour).
    until = export["ParametersValidUntilTimestamp"]
    assert until <= from_wire(export["SigningKeyCertificate"]).not_valid_after_utc <= until + timedelta(hours=1)
    imp = params(client.get_parameters_for_import, KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm="RSA_2048")
    cryptogram = params(
        client.get_parameters_for_import, KeyMaterialType="KEY_CRYPTOGRAM", WrappingKeyAlgorithm="RSA_2048"
    )

    clear = fresh_key("TDES_2KEY")
    block = build_tr34(clear, "D0112K0TB00E0000", pki.kdh, from_wire(imp["WrappingKeyCertificate"]), "TDES", nonce)
    wrapped_clear = (
        from_wire(cryptogram["WrappingKeyCertificate"])
        .public_key()
        .encrypt(clear, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        .hex()
        .upper()
    )
    # Wait until a second after the last of them expired (about 4 s).
    last = max(p["ParametersValidUntilTimestamp"] for p in (export, imp, cryptogram))
    time.sleep(max(0.0, (last - datetime.now(timezone.utc)).total_seconds() + 1.0))
    before = key_count(client)
    got = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]

    with pytest.raises(ClientError) as e:
        export_tr34(client, key["KeyArn"], ca_arn, pki.krd2048.wire, export["ExportToken"], nonce)
    validation_error(e, export["ExportToken"], "expired")
    with pytest.raises(ClientError) as e:
        import_tr34(client, ca_arn, pki.kdh, imp["ImportToken"], block, nonce)
    validation_error(e, imp["ImportToken"], "expired")
    with pytest.raises(ClientError) as e:
        client.import_key(
            KeyMaterial={
                "KeyCryptogram": {
                    "KeyAttributes": attributes(K0, "TDES_2KEY", "SYMMETRIC_KEY", *ALL4),
                    "Exportable": True,
                    "WrappedKeyCryptogram": wrapped_clear,
                    "ImportToken": cryptogram["ImportToken"],
                }
            }
        )
    validation_error(e, cryptogram["ImportToken"], "expired")
    assert key_count(client) == before
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"] == got
    # An expired token is not "reused": the caller gets a fresh, working one.
    again = client.get_parameters_for_export(
        KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048", ReuseLastGeneratedToken=True
    )
    assert again["ExportToken"] != export["ExportToken"]
    export_tr34(client, key["KeyArn"], ca_arn, pki.krd2048.wire, again["ExportToken"], nonce)


def test_tokens_belong_to_their_account(client, other_client, pki, ca_arn, export_params, known_clear):
    # The other account trusts the same CA and has its own key.
    other_ca = import_root(other_client, pki.ca)
    other_key = create(other_client, "TDES_2KEY")
    imp = client.get_parameters_for_import(KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm="RSA_2048")
    crypt = client.get_parameters_for_import(KeyMaterialType="KEY_CRYPTOGRAM", WrappingKeyAlgorithm="RSA_2048")
    before_other, before = key_count(other_client), key_count(client)

    with pytest.raises(ClientError) as e:
        export_tr34(other_client, other_key["KeyArn"], other_ca, pki.krd2048.wire, export_params["ExportToken"])
    validation_error(e, export_params["ExportToken"], "not valid in this account")

    clear = fresh_key("TDES_2KEY")
    known_clear.append(clear)
    nonce = secrets.token_hex(8).upper()
    block = build_tr34(clear, "D0112K0TB00E0000", pki.kdh, from_wire(imp["WrappingKeyCertificate"]), "TDES", nonce)
    with pytest.raises(ClientError) as e:
        import_tr34(other_client, other_ca, pki.kdh, imp["ImportToken"], block, nonce)
    validation_error(e, imp["ImportToken"], "not valid in this account")

    cryptogram = (
        from_wire(crypt["WrappingKeyCertificate"])
        .public_key()
        .encrypt(clear, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    )
    with pytest.raises(ClientError) as e:
        other_client.import_key(
            KeyMaterial={
                "KeyCryptogram": {
                    "KeyAttributes": attributes(K0, "TDES_2KEY", "SYMMETRIC_KEY", *ALL4),
                    "Exportable": True,
                    "WrappedKeyCryptogram": cryptogram.hex().upper(),
                    "ImportToken": crypt["ImportToken"],
                }
            }
        )
    validation_error(e, crypt["ImportToken"], "not valid in this account")
    assert key_count(other_client) == before_other
    assert key_count(client) == before
    # Each account has its own CA.
    other_params = other_client.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")
    assert other_params["SigningKeyCertificateChain"] != export_params["SigningKeyCertificateChain"]
    assert OTHER_ACCOUNT in from_wire(other_params["SigningKeyCertificate"]).subject.rfc4514_string()
    # In its own account the same block imports.
    key = import_tr34(client, ca_arn, pki.kdh, imp["ImportToken"], block, nonce)
    assert key["KeyCheckValue"] == kcv("TDES_2KEY", clear)


def test_a_token_serves_only_its_purpose(client, pki, ca_arn, export_params, known_clear):
    crypt = client.get_parameters_for_import(KeyMaterialType="KEY_CRYPTOGRAM", WrappingKeyAlgorithm="RSA_2048")
    imp = client.get_parameters_for_import(KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm="RSA_2048")
    key = create(client, "TDES_2KEY")
    before = key_count(client)
    # An import token is no export token.
    with pytest.raises(ClientError) as e:
        export_tr34(client, key["KeyArn"], ca_arn, pki.krd2048.wire, imp["ImportToken"], "AB" * 8)
    validation_error(e, imp["ImportToken"])
    # A KEY_CRYPTOGRAM token does not take a TR-34 block, even one encrypted to its certificate.
    clear = fresh_key("TDES_2KEY")
    known_clear.append(clear)
    nonce = secrets.token_hex(8).upper()
    block = build_tr34(clear, "D0112K0TB00E0000", pki.kdh, from_wire(crypt["WrappingKeyCertificate"]), "TDES", nonce)
    with pytest.raises(ClientError) as e:
        import_tr34(client, ca_arn, pki.kdh, crypt["ImportToken"], block, nonce)
    validation_error(e, crypt["ImportToken"], "KEY_CRYPTOGRAM")
    # An export token is no import token.
    with pytest.raises(ClientError) as e:
        import_tr34(client, ca_arn, pki.kdh, export_params["ExportToken"], block, nonce)
    validation_error(e, export_params["ExportToken"])
    assert key_count(client) == before


def test_certificate_imports_check_the_certificate(client, pki, ca_arn):
    # A certificate under the imported root is trusted; its KCV is SHA-1 over its SPKI.
    trusted = client.import_key(
        KeyMaterial={
            "TrustedCertificatePublicKey": {
                "KeyAttributes": attributes(
                    "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE", "RSA_2048", "PUBLIC_KEY", "Verify"
                ),
                "PublicKeyCertificate": pki.kdh.wire,
                "CertificateAuthorityPublicKeyIdentifier": ca_arn,
            }
        }
    )["Key"]
    assert trusted["KeyCheckValue"] == spki_kcv(pki.kdh.cert)
    assert trusted["Exportable"] is False
    before = key_count(client)
    s0 = "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE"
    cases = [
        # a certificate outside the named CA
        ("TrustedCertificatePublicKey", pki.stranger, attributes(s0, "RSA_2048", "PUBLIC_KEY", "Verify"), "does not chain"),
        # a leaf is no root
        ("RootCertificatePublicKey", pki.kdh, attributes(s0, "RSA_2048", "PUBLIC_KEY", "Verify"), "PublicKeyCertificate"),
        # the declared algorithm must be the certificate's
        ("RootCertificatePublicKey", pki.ca, attributes(s0, "RSA_2048", "PUBLIC_KEY", "Verify"), "does not match"),
        # certificates are {Verify} public keys
        ("RootCertificatePublicKey", pki.ca, attributes(s0, "RSA_4096", "PUBLIC_KEY", "Sign"), "Verify"),
    ]
    for member, party, attrs, needle in cases:
        material: dict[str, Any] = {"KeyAttributes": attrs, "PublicKeyCertificate": party.wire}
        if member == "TrustedCertificatePublicKey":
            material["CertificateAuthorityPublicKeyIdentifier"] = ca_arn
        with pytest.raises(ClientError) as e:
            client.import_key(KeyMaterial={member: material})
        validation_error(e, needle)
    assert key_count(client) == before


@pytest.mark.parametrize(
    "form, header, algorithm",
    [
        ("TR-31", "K0TG00E", "TDES_2KEY"),  # a key encryption key that only "generates"
        ("TR-31", "M3AC00E", "AES_128"),  # ISO 9797-1 MAC algorithm 3 is a TDES MAC
        ("TR-31", "P0TX00E", "TDES_2KEY"),  # a PIN key for key derivation
        ("TR-34", "D0112B0TB00E0000", "TDES_2KEY"),  # a BDK for encryption
    ],
)
def test_imported_blocks_get_only_valid_key_attributes(client, pki, ca_arn, keks, known_clear, form, header, algorithm):
    """A key block may not smuggle in attributes CreateKey refuses (the attribute table of
    shared/reference/api-behaviour.md): ImportKey refuses it and stores nothing."""
    clear = fresh_key(algorithm)
    known_clear.append(clear)
    before = key_count(client)
    with pytest.raises(ClientError) as e:
        if form == "TR-31":
            kek = keks["AES"]
            h = psec.tr31.Header("D", header[0:2], header[2], header[3], header[4:6], header[6])
            client.import_key(
                KeyMaterial={
                    "Tr31KeyBlock": {"WrappingKeyIdentifier": kek.arn, "WrappedKeyBlock": psec.tr31.wrap(kek.clear, h, clear)}
                }
            )
        else:
            params = client.get_parameters_for_import(
                KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm="RSA_2048", ReuseLastGeneratedToken=True
            )
            nonce = secrets.token_hex(8).upper()
            block = build_tr34(clear, header, pki.kdh, from_wire(params["WrappingKeyCertificate"]), "TDES", nonce)
            import_tr34(client, ca_arn, pki.kdh, params["ImportToken"], block, nonce)
    validation_error(e)
    assert key_count(client) == before


def test_tr31_import_under_a_weaker_kek_is_refused(client, keks, known_clear):
    for kek, algorithm in ((keks["AES"], "AES_256"), (keks["AES"], "AES_192"), (keks["TDES"], "AES_128")):
        clear = fresh_key(algorithm)
        known_clear.append(clear)
        version = "D" if kek.algorithm.startswith("AES") else "B"
        block = psec.tr31.wrap(kek.clear, psec.tr31.Header(version, "K0", "A", "B", "00", "E"), clear)
        before = key_count(client)
        with pytest.raises(ClientError) as e:
            client.import_key(KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek.arn, "WrappedKeyBlock": block}})
        validation_error(e, "weaker", algorithm)
        assert key_count(client) == before


def test_tampered_tr34_block_is_refused(client, pki, ca_arn, known_clear):
    params = client.get_parameters_for_import(KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm="RSA_2048")
    clear = fresh_key("TDES_3KEY")
    known_clear.append(clear)
    nonce = secrets.token_hex(8).upper()
    block = build_tr34(clear, "D0112K0TB00E0000", pki.kdh, from_wire(params["WrappingKeyCertificate"]), "TDES", nonce)
    raw = bytes.fromhex(block)
    env_start, env_len = env_offset(block)
    positions = {
        "signature": len(raw) - 1,
        "signed header": raw.index(b"D0112K0TB00E0000") + 8,  # mode B -> C, in signedAttrs
        "encrypted key": env_start + env_len // 3,  # RSA-OAEP encrypted content key
        "ciphertext": env_start + env_len - 5,  # CBC ciphertext, the end of ENV
    }
    before = key_count(client)
    for what, index in positions.items():
        with pytest.raises(ClientError) as e:
            import_tr34(client, ca_arn, pki.kdh, params["ImportToken"], flip_bit_hex(block, index), nonce)
        validation_error(e, "TR-34 key block was refused")
    # A wrong nonce is refused too.
    with pytest.raises(ClientError) as e:
        import_tr34(client, ca_arn, pki.kdh, params["ImportToken"], block, "00" * 8)
    validation_error(e, "TR-34 key block was refused")
    assert key_count(client) == before
    # The untouched block imports.
    key = import_tr34(client, ca_arn, pki.kdh, params["ImportToken"], block, nonce)
    assert key["KeyCheckValue"] == kcv("TDES_3KEY", clear)


def test_tampered_tr31_block_is_refused(client, keks, known_clear):
    for kek in keks.values():
        clear = fresh_key("TDES_2KEY")
        known_clear.append(clear)
        version = "B" if kek.algorithm.startswith("TDES") else "D"
        block = psec.tr31.wrap(kek.clear, psec.tr31.Header(version, "K0", "T", "B", "00", "E"), clear)
        before = key_count(client)
        positions = {"header": 10, "encrypted key": 20, "MAC": len(block) - 1}  # key version "00" -> "01"
        for what, index in positions.items():
            tampered = block[:index] + format(int(block[index], 16) ^ 1, "X") + block[index + 1 :]
            assert tampered != block
            with pytest.raises(ClientError) as e:
                client.import_key(
                    KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek.arn, "WrappedKeyBlock": tampered}}
                )
            validation_error(e, "TR-31 key block was refused")
        assert key_count(client) == before
        key = client.import_key(
            KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek.arn, "WrappedKeyBlock": block}}
        )["Key"]
        assert key["KeyCheckValue"] == kcv("TDES_2KEY", clear)


def test_certificates_outside_the_named_ca_are_refused(client, pki, ca_arn, export_params, known_clear):
    key = create(client, "TDES_2KEY")
    got = client.get_key(KeyIdentifier=key["KeyArn"])["Key"]
    before = key_count(client)
    self_signed = make_ca(2048, "self-signed KRD")
    for krd in (pki.stranger, self_signed):
        with pytest.raises(ClientError) as e:
            export_tr34(client, key["KeyArn"], ca_arn, krd.wire, export_params["ExportToken"], "AB" * 8)
        validation_error(e, "WrappingKeyCertificate", "does not chain")
        with pytest.raises(ClientError) as e:
            client.export_key(
                ExportKeyIdentifier=key["KeyArn"],
                KeyMaterial={
                    "KeyCryptogram": {"CertificateAuthorityPublicKeyIdentifier": ca_arn, "WrappingKeyCertificate": krd.wire}
                },
            )
        validation_error(e, "WrappingKeyCertificate", "does not chain")
    # Import: a KDH certificate outside the CA.
    params = client.get_parameters_for_import(KeyMaterialType="TR34_KEY_BLOCK", WrappingKeyAlgorithm="RSA_2048")
    clear = fresh_key("TDES_2KEY")
    known_clear.append(clear)
    block = build_tr34(clear, "D0112K0TB00E0000", pki.stranger, from_wire(params["WrappingKeyCertificate"]), "TDES", None)
    with pytest.raises(ClientError) as e:
        import_tr34(client, ca_arn, pki.stranger, params["ImportToken"], block, None)
    validation_error(e, "SigningKeyCertificate", "does not chain")
    assert key_count(client) == before
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"] == got


def test_keys_that_may_not_leave_are_refused(client, pki, ca_arn, export_params, keks, known_clear):
    tdes_kek, aes_kek = keks["TDES"], keks["AES"]
    token = export_params["ExportToken"]

    def refused(key_arn: str, *needles: str, tr31_kek: Kek | None = None, tr34_krd: Party | None = pki.krd2048, **kw):
        before = key_count(client)
        got = client.get_key(KeyIdentifier=key_arn)["Key"]
        if tr31_kek is not None:
            with pytest.raises(ClientError) as e:
                export_tr31(client, key_arn, tr31_kek.arn, **kw)
            validation_error(e, *needles)
        if tr34_krd is not None:
            with pytest.raises(ClientError) as e:
                headers = kw.get("headers")
                extra = {"KeyBlockHeaders": headers} if headers else {}
                export_tr34(client, key_arn, ca_arn, tr34_krd.wire, token, "CD" * 8, **extra)
            validation_error(e, *needles)
        assert key_count(client) == before
        assert client.get_key(KeyIdentifier=key_arn)["Key"] == got

    # A non-exportable key.
    locked = create(client, "TDES_2KEY", exportable=False)
    refused(locked["KeyArn"], "not exportable", tr31_kek=aes_kek)

    # A disabled key.
    disabled = create(client, "TDES_2KEY")
    client.stop_key_usage(KeyIdentifier=disabled["KeyArn"])
    refused(disabled["KeyArn"], "disabled", tr31_kek=aes_kek)

    # A key pending deletion.
    pending = create(client, "TDES_2KEY")
    client.delete_key(KeyIdentifier=pending["KeyArn"], DeleteKeyInDays=3)
    refused(pending["KeyArn"], "not in CREATE_COMPLETE state", tr31_kek=aes_kek)
    assert client.get_key(KeyIdentifier=pending["KeyArn"])["Key"]["KeyState"] == "DELETE_PENDING"

    # A wrapping key weaker than the key: a TDES KEK for an AES key; RSA-2048 for AES-128.
    aes = create(client, "AES_128")
    refused(aes["KeyArn"], "weaker", tr31_kek=tdes_kek, tr34_krd=pki.krd2048)
    tdes3 = create(client, "TDES_3KEY")
    weak_clear = fresh_key("TDES_2KEY")
    known_clear.append(weak_clear)
    weak_kek = import_cryptogram(client, weak_clear, attributes(K0, "TDES_2KEY", "SYMMETRIC_KEY", *ALL4), False)
    refused(tdes3["KeyArn"], "weaker", tr31_kek=Kek(weak_kek["KeyArn"], weak_clear, "TDES_2KEY"), tr34_krd=None)

    # KeyBlockHeaders that loosen: NoRestrictions, or Decrypt, on a key with {Encrypt, Wrap} only.
    enc_only = create(client, "TDES_2KEY", mode_names=("Encrypt", "Wrap"))
    for loosened in ({"NoRestrictions": True}, {"Encrypt": True, "Decrypt": True, "Wrap": True, "Unwrap": True}):
        refused(
            enc_only["KeyArn"],
            "may only restrict",
            tr31_kek=aes_kek,
            headers={"KeyModesOfUse": loosened},
        )


# --------------------------------------------------------------------------------------------
# 7. GetPublicKeyCertificate
# --------------------------------------------------------------------------------------------


def test_public_key_certificate_of_a_key_pair(client, export_params):
    key = client.create_key(
        KeyAttributes=attributes(
            "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE", "RSA_2048", "ASYMMETRIC_KEY_PAIR", "Sign"
        ),
        Exportable=False,
    )["Key"]
    assert key["KeyCheckValueAlgorithm"] == "SHA_1"
    spkis = []
    for _ in range(2):
        out = client.get_public_key_certificate(KeyIdentifier=key["KeyArn"])
        cert, chain = from_wire(out["KeyCertificate"]), from_wire(out["KeyCertificateChain"])
        cert.verify_directly_issued_by(chain)
        chain.verify_directly_issued_by(chain)
        # The chain is the account CA, the one that issues the export/import certificates.
        assert out["KeyCertificateChain"] == export_params["SigningKeyCertificateChain"]
        now = datetime.now(timezone.utc)
        assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
        assert cert.public_key().key_size == 2048
        spkis.append(
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    assert spkis[0] == spkis[1], "both certificates are for the same key pair"
    assert hashlib.sha1(spkis[0]).digest()[:4].hex().upper() == key["KeyCheckValue"]
    # Not for symmetric keys.
    with pytest.raises(ClientError) as e:
        client.get_public_key_certificate(KeyIdentifier=create(client, "TDES_2KEY")["KeyArn"])
    validation_error(e, "ASYMMETRIC_KEY_PAIR")


# --------------------------------------------------------------------------------------------
# 6. The data dir holds no clear key and no master key outside master.key (runs last)
# --------------------------------------------------------------------------------------------


def _forms(value: bytes) -> list[bytes]:
    return [value, value.hex().upper().encode(), value.hex().lower().encode()]


def _scan(server, known: list[bytes], master: bytes) -> list[str]:
    found = []
    files = sorted(p for p in server.data_dir.rglob("*") if p.is_file())
    for path in files:
        data = path.read_bytes()
        for value in known:
            if any(form in data for form in _forms(value)):
                found.append(f"{path.name}: clear key {value.hex().upper()}")
        if path.name != "master.key" and any(form in data for form in _forms(master)):
            found.append(f"{path.name}: the master key")
    return found


def test_data_dir_holds_no_clear_key(server, client, keks, known_clear):
    known = sorted(set(known_clear))
    # The KEKs at least; after the whole module, dozens of keys.
    assert len(known) >= 2
    master_file = server.data_dir / "master.key"
    master = bytes.fromhex(master_file.read_text().strip())
    assert len(master) == 32
    names = {p.name for p in server.data_dir.iterdir()}
    assert {"master.key", "paycrypt.db"} <= names, names
    # The scan sees what is there: master.key does hold the master key (as hex).
    assert master.hex().encode() in master_file.read_bytes()
    # While it runs (WAL and shared memory files included) ...
    assert _scan(server, known, master) == []
    # ... and after a clean stop, when the WAL has been checkpointed into the database.
    server.stop_ok()
    assert _scan(server, known, master) == []
    # The server's log does not carry them either.
    log = server.log().encode()
    assert not [v.hex() for v in known + [master] if any(f in log for f in _forms(v))]
