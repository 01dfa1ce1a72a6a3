"""AS 2805 key cryptograms through boto3, checked by an independent computation here (pyca
`cryptography`) of the scheme AWS's public AS 2805 sample uses
(aws-samples/samples-for-payment-cryptography-service,
python_sdk_example/as2805_node-to-node_examples/as2805_2_1_Working_Key_Exchange.py): the KEK
XORed with the variant mask `VV C0` repeated, then TDES-CBC with a zero IV over the key.

Export: working keys of each usage leave under their variant and open here with the KCV GetKey
reports. Import: keys wrapped here arrive with the right usage and KCV. Refusals change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from conftest import attributes, error_code, error_message, key_count, remember_secret
from test_exchange import ALL4, K0, fresh_key, import_cryptogram, kcv

try:  # cryptography >= 43 keeps TDES among the "decrepit" algorithms
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES  # type: ignore[attr-defined]

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

# variant name -> (variant number, key usage AWS maps it to, modes a key of that usage may have)
VARIANTS = {
    "TERMINAL_MAJOR_KEY_VARIANT_00": (0x00, "TR31_K0_KEY_ENCRYPTION_KEY", ALL4),
    "PIN_ENCRYPTION_KEY_VARIANT_28": (0x28, "TR31_P0_PIN_ENCRYPTION_KEY", ALL4),
    "MESSAGE_AUTHENTICATION_KEY_VARIANT_24": (0x24, "TR31_M0_ISO_16609_MAC_KEY", ("Generate", "Verify")),
    "DATA_ENCRYPTION_KEY_VARIANT_22": (0x22, "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", ALL4),
}


def variant_kek(kek: bytes, number: int) -> bytes:
    mask = bytes([number, 0xC0]) * (len(kek) // 2)
    return bytes(a ^ b for a, b in zip(kek, mask))


def as2805_wrap(kek: bytes, number: int, key: bytes) -> str:
    enc = Cipher(TripleDES(variant_kek(kek, number)), modes.CBC(bytes(8))).encryptor()
    return (enc.update(key) + enc.finalize()).hex().upper()


def as2805_unwrap(kek: bytes, number: int, cryptogram: str) -> bytes:
    dec = Cipher(TripleDES(variant_kek(kek, number)), modes.CBC(bytes(8))).decryptor()
    return dec.update(bytes.fromhex(cryptogram)) + dec.finalize()


@pytest.fixture(scope="module")
def keks(client) -> dict[str, tuple[str, bytes]]:
    """TDES KEKs (K0, all four modes) whose clear value the test chose, and an AES one."""
    out = {}
    for algorithm, rsa in [("TDES_2KEY", "RSA_2048"), ("TDES_3KEY", "RSA_2048"), ("AES_128", "RSA_3072")]:
        clear = fresh_key(algorithm)
        remember_secret(clear)
        key = import_cryptogram(client, clear, attributes(K0, algorithm, "SYMMETRIC_KEY", *ALL4), False, rsa)
        out[algorithm] = (key["KeyArn"], clear)
    return out


def export_as2805(client, key_arn: str, kek_arn: str, variant: str) -> dict[str, Any]:
    return client.export_key(
        ExportKeyIdentifier=key_arn,
        KeyMaterial={"As2805KeyCryptogram": {"WrappingKeyIdentifier": kek_arn, "As2805KeyVariant": variant}},
    )["WrappedKey"]


def import_as2805(client, kek_arn: str, variant: str, algorithm: str, mode_names, cryptogram: str, exportable=True):
    return client.import_key(
        KeyMaterial={
            "As2805KeyCryptogram": {
                "As2805KeyVariant": variant,
                "KeyModesOfUse": {m: True for m in mode_names},
                "KeyAlgorithm": algorithm,
                "Exportable": exportable,
                "WrappingKeyIdentifier": kek_arn,
                "WrappedKeyCryptogram": cryptogram,
            }
        }
    )["Key"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("kek_algorithm, key_algorithm", [("TDES_2KEY", "TDES_2KEY"), ("TDES_3KEY", "TDES_3KEY"), ("TDES_3KEY", "TDES_2KEY")])
def test_export_opens_here_with_the_keys_kcv(client, keks, variant, kek_algorithm, key_algorithm):
    number, usage, mode_names = VARIANTS[variant]
    kek_arn, kek_clear = keks[kek_algorithm]
    key = client.create_key(KeyAttributes=attributes(usage, key_algorithm, "SYMMETRIC_KEY", *mode_names), Exportable=True)["Key"]
    wrapped = export_as2805(client, key["KeyArn"], kek_arn, variant)
    assert wrapped["WrappedKeyMaterialFormat"] == "KEY_CRYPTOGRAM"
    assert wrapped["WrappingKeyArn"] == kek_arn
    assert wrapped["KeyCheckValue"] == key["KeyCheckValue"]
    assert wrapped["KeyCheckValueAlgorithm"] == "ANSI_X9_24"
    clear = as2805_unwrap(kek_clear, number, wrapped["KeyMaterial"])
    remember_secret(clear)
    assert len(clear) == (16 if key_algorithm == "TDES_2KEY" else 24)
    assert kcv(key_algorithm, clear) == key["KeyCheckValue"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("kek_algorithm, key_algorithm", [("TDES_2KEY", "TDES_2KEY"), ("TDES_3KEY", "TDES_3KEY")])
def test_import_of_keys_wrapped_here(client, keks, variant, kek_algorithm, key_algorithm):
    number, usage, mode_names = VARIANTS[variant]
    kek_arn, kek_clear = keks[kek_algorithm]
    clear = fresh_key(key_algorithm)
    remember_secret(clear)
    key = import_as2805(client, kek_arn, variant, key_algorithm, mode_names, as2805_wrap(kek_clear, number, clear))
    assert key["KeyOrigin"] == "EXTERNAL"
    assert key["KeyAttributes"] == attributes(usage, key_algorithm, "SYMMETRIC_KEY", *mode_names)
    assert key["KeyCheckValue"] == kcv(key_algorithm, clear)
    assert key["Exportable"] is True
    # and it leaves again under the same variant as the same key
    again = export_as2805(client, key["KeyArn"], kek_arn, variant)
    assert as2805_unwrap(kek_clear, number, again["KeyMaterial"]) == clear


def refused(excinfo, *needles: str) -> None:
    assert error_code(excinfo) == "ValidationException", excinfo.value.response
    for needle in needles:
        assert needle in error_message(excinfo), error_message(excinfo)


def test_refusals_change_nothing(client, keks):
    tdes_kek, tdes_clear = keks["TDES_2KEY"]
    aes_kek, _ = keks["AES_128"]
    def make(usage: str, algorithm: str, exportable: bool = True) -> dict[str, Any]:
        return client.create_key(
            KeyAttributes=attributes(usage, algorithm, "SYMMETRIC_KEY", *ALL4), Exportable=exportable
        )["Key"]

    pin = make("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY")
    triple = make("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_3KEY")
    aes = make("TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", "AES_128")
    sealed = make("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", exportable=False)
    before = key_count(client)

    with pytest.raises(ClientError) as e:  # the variant names another usage
        export_as2805(client, pin["KeyArn"], tdes_kek, "DATA_ENCRYPTION_KEY_VARIANT_22")
    refused(e, "DATA_ENCRYPTION_KEY_VARIANT_22", "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY")
    with pytest.raises(ClientError) as e:  # AS 2805 keys are TDES
        export_as2805(client, aes["KeyArn"], tdes_kek, "DATA_ENCRYPTION_KEY_VARIANT_22")
    refused(e, "TDES")
    with pytest.raises(ClientError) as e:  # the KEK must be TDES
        export_as2805(client, pin["KeyArn"], aes_kek, "PIN_ENCRYPTION_KEY_VARIANT_28")
    refused(e, "TDES_2KEY or TDES_3KEY")
    with pytest.raises(ClientError) as e:  # a two-key KEK cannot carry a three-key key
        export_as2805(client, triple["KeyArn"], tdes_kek, "PIN_ENCRYPTION_KEY_VARIANT_28")
    refused(e, "weaker")
    with pytest.raises(ClientError) as e:
        export_as2805(client, sealed["KeyArn"], tdes_kek, "PIN_ENCRYPTION_KEY_VARIANT_28")
    refused(e, "not exportable")
    with pytest.raises(ClientError) as e:  # the working key is not a KEK
        export_as2805(client, pin["KeyArn"], pin["KeyArn"], "PIN_ENCRYPTION_KEY_VARIANT_28")
    refused(e, "cannot wrap")

    good = as2805_wrap(tdes_clear, 0x28, fresh_key("TDES_2KEY"))
    with pytest.raises(ClientError) as e:
        import_as2805(client, tdes_kek, "PIN_ENCRYPTION_KEY_VARIANT_28", "AES_128", ALL4, good)
    refused(e, "AES_128", "TDES")
    with pytest.raises(ClientError) as e:
        import_as2805(client, tdes_kek, "PIN_ENCRYPTION_KEY_VARIANT_28", "TDES_3KEY", ALL4, good)
    refused(e, "16 bytes", "24")
    with pytest.raises(ClientError) as e:  # modes a PIN key may not have
        import_as2805(client, tdes_kek, "PIN_ENCRYPTION_KEY_VARIANT_28", "TDES_2KEY", ("Generate", "Verify"), good)
    refused(e, "KeyModesOfUse")
    with pytest.raises(ClientError) as e:
        import_as2805(client, aes_kek, "PIN_ENCRYPTION_KEY_VARIANT_28", "TDES_2KEY", ALL4, good)
    refused(e, "TDES_2KEY or TDES_3KEY")
    assert key_count(client) == before
