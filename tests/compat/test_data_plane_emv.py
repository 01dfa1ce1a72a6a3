"""The EMV operations of the data plane (`payment-cryptography-data`) through boto3 and the AWS
CLI, each result checked by pyemv 1.5.0 (an implementation outside paycrypt):

* VerifyAuthRequestCryptogram and GenerateAuthRequestCryptogram: ICC master key option A and B
  (pyemv `kd.derive_icc_mk_a/b`), session keys EmvCommon (`kd.derive_common_sk`, R = ATC || 0..0),
  Mastercard (R = ATC || 0000 || UN), Emv2000 (`kd.derive_emv2000_tree_sk`), Visa and Amex (the
  ICC master key itself), the AC (`ac.generate_ac`), the ARPC by method 1 and 2
  (`ac.generate_arpc_1/2`), and the whole Visa CVN 10/18/22 and Mastercard CVN 16/17/20/21 flows
  of `pyemv.cvn` (ARQC over the scheme's transaction data, ARPC, script MAC, PIN change);
* UnionPay, which pyemv does not implement: the session key written out here from its public
  description (TDES(MK)[0..0 || ATC] || TDES(MK)[0..0 || ~ATC]), and the round trip
  (Generate, then Verify; a one-digit change fails);
* GenerateMacEmvPinChange for every DerivationMethodAttributes variant, the new PIN arriving as
  an ISO 0/1/3 block encrypted under a PEK held here, against the PIN change commands of
  `pyemv.cvn` (and, for Emv2000, pyemv's secure-messaging primitives);
* the secure-messaging MAC (GenerateMac / VerifyMac EmvMac, in the CVN flows and in every
  SessionKeyDerivationMode of the model) and encryption (EncryptData /
  DecryptData with Emv attributes) against pyemv's `sm` module;
* a terminal-to-issuer authorization: a simulated card (pyemv) answers a transaction with an
  ARQC, paycrypt verifies it and answers with an ARPC, and the card checks the ARPC;
* one VerifyAuthRequestCryptogram through the AWS CLI, and the refusals (a wrong ARQC is
  VerificationFailedException INVALID_AUTH_REQUEST_CRYPTOGRAM; a key of the wrong usage or a
  bad member is a ValidationException).

The published pyemv vector of shared/reference/data-plane.md (AC 19C1FBC83EBDC0D5) uses R =
1234567890123456, which no ARQC variant of the model can express (their R is ATC-based); it pins
pyemv itself here, and paycrypt is then checked against pyemv with the vector's IMK, PAN and PSN.
"""

from __future__ import annotations

import secrets

import pytest
from botocore.exceptions import ClientError
from Crypto.Cipher import DES3
from pyemv import ac, cvn, kd, mac, sm

from conftest import AwsCli, error_code, error_message, make_client, remember_secret
from test_data_plane import import_known

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

DATA = "payment-cryptography-data"
PEK_MODES = ("Encrypt", "Decrypt", "Wrap", "Unwrap")
VECTOR_IMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


class Issuer:
    """The issuer's keys, held in paycrypt with known clear values."""

    def __init__(self, client) -> None:
        self.ac_arn, self.ac, self.ac_kcv = import_known(client, "TR31_E0_EMV_MKEY_APP_CRYPTOGRAMS", "TDES_2KEY", "DeriveKey")
        self.smi_arn, self.smi, _ = import_known(client, "TR31_E2_EMV_MKEY_INTEGRITY", "TDES_2KEY", "DeriveKey")
        self.smc_arn, self.smc, _ = import_known(client, "TR31_E1_EMV_MKEY_CONFIDENTIALITY", "TDES_2KEY", "DeriveKey")
        self.pek_arn, self.pek, _ = import_known(client, "TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", *PEK_MODES)


@pytest.fixture(scope="module")
def issuer(client) -> Issuer:
    return Issuer(client)


def random_pan(digits: int = 16) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(digits))


def transaction(atc: bytes, un: bytes, amount: int = 1234) -> dict[str, bytes]:
    """The terminal's data for one transaction (the tags pyemv's CVN classes take)."""
    return {
        "tag_9f02": amount.to_bytes(6, "big"), "tag_9f03": bytes(6), "tag_9f1a": bytes.fromhex("0840"),
        "tag_95": bytes(5), "tag_5f2a": bytes.fromhex("0840"), "tag_9a": bytes.fromhex("261202"),
        "tag_9c": b"\x00", "tag_9f37": un, "tag_82": bytes.fromhex("1800"), "tag_9f36": atc,
    }


def session(variant: str, pan: str, psn: str, atc: bytes, un: bytes = b"") -> dict:
    values = {"PrimaryAccountNumber": pan, "PanSequenceNumber": psn}
    if variant not in ("Visa", "Amex"):
        values["ApplicationTransactionCounter"] = atc.hex().upper()
    if variant == "Mastercard":
        values["UnpredictableNumber"] = un.hex().upper()
    return {variant: values}


def verify(data, issuer, tx_data: bytes, arqc: bytes, skd: dict, option="EMV_OPTION_A", response=None) -> dict:
    kwargs = {"AuthResponseAttributes": response} if response else {}
    return data.verify_auth_request_cryptogram(
        KeyIdentifier=issuer.ac_arn, TransactionData=tx_data.hex().upper(), AuthRequestCryptogram=arqc.hex().upper(),
        MajorKeyDerivationMode=option, SessionKeyDerivationAttributes=skd, **kwargs)


def generate(data, issuer, tx_data: bytes, skd: dict, option="EMV_OPTION_A") -> bytes:
    out = data.generate_auth_request_cryptogram(
        KeyIdentifier=issuer.ac_arn, TransactionData=tx_data.hex().upper(), MajorKeyDerivationMode=option,
        SessionKeyDerivationAttributes=skd)
    assert out["KeyArn"] == issuer.ac_arn and out["KeyCheckValue"] == issuer.ac_kcv
    return bytes.fromhex(out["AuthRequestCryptogram"])


def assert_invalid_arqc(call) -> None:
    with pytest.raises(ClientError) as e:
        call()
    assert error_code(e) == "VerificationFailedException"
    assert e.value.response["Reason"] == "INVALID_AUTH_REQUEST_CRYPTOGRAM"


def one_digit_changed(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


# --------------------------------------------------------------------------------------------
# Session key variants against pyemv's derivations
# --------------------------------------------------------------------------------------------


def test_published_vector_pins_pyemv():
    icc_mk = kd.derive_icc_mk_a(VECTOR_IMK, "12345678901234567", "45")
    sk = kd.derive_common_sk(icc_mk, bytes.fromhex("1234567890123456"))
    assert ac.generate_ac(sk, bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")).hex().upper() == "19C1FBC83EBDC0D5"


def test_vector_card_emv_common_with_arpc_method1(client, data):
    arn, _, _ = import_known(client, "TR31_E0_EMV_MKEY_APP_CRYPTOGRAMS", "TDES_2KEY", "DeriveKey", clear=VECTOR_IMK)
    atc, raw = bytes.fromhex("0001"), bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
    sk = kd.derive_common_sk(kd.derive_icc_mk_a(VECTOR_IMK, "12345678901234567", "45"), atc + bytes(6))
    arqc, tx = ac.generate_ac(sk, raw), mac.pad_iso9797_2(raw, 8)  # pyemv pads (EMV); paycrypt's caller pads
    out = data.verify_auth_request_cryptogram(
        KeyIdentifier=arn, TransactionData=tx.hex(), AuthRequestCryptogram=arqc.hex(), MajorKeyDerivationMode="EMV_OPTION_A",
        SessionKeyDerivationAttributes=session("EmvCommon", "12345678901234567", "45", atc),
        AuthResponseAttributes={"ArpcMethod1": {"AuthResponseCode": "3030"}})
    assert out["KeyArn"] == arn
    assert out["AuthResponseValue"] == ac.generate_arpc_1(sk, arqc, b"00").hex().upper()


@pytest.mark.parametrize("option,pan", [("EMV_OPTION_A", 16), ("EMV_OPTION_B", 19), ("EMV_OPTION_B", 16)])
@pytest.mark.parametrize("variant", ["EmvCommon", "Mastercard", "Emv2000", "Visa", "Amex"])
def test_arqc_variants_against_pyemv(data, issuer, variant, option, pan):
    pan = random_pan(pan)
    psn, atc, un = "01", secrets.token_bytes(2), secrets.token_bytes(4)
    derive = kd.derive_icc_mk_a if option == "EMV_OPTION_A" else kd.derive_icc_mk_b
    icc_mk = derive(issuer.ac, pan, psn)
    sk = {
        "EmvCommon": lambda: kd.derive_common_sk(icc_mk, atc + bytes(6)),
        "Mastercard": lambda: kd.derive_common_sk(icc_mk, atc + bytes(2) + un),
        "Emv2000": lambda: kd.derive_emv2000_tree_sk(icc_mk, atc),
        "Visa": lambda: icc_mk,
        "Amex": lambda: icc_mk,
    }[variant]()
    response_key = icc_mk if variant == "Mastercard" else sk
    raw = secrets.token_bytes(29)
    arqc, tx = ac.generate_ac(sk, raw), mac.pad_iso9797_2(raw, 8)
    skd = session(variant, pan, psn, atc, un)
    assert generate(data, issuer, tx, skd, option) == arqc
    out = verify(data, issuer, tx, arqc, skd, option, {"ArpcMethod1": {"AuthResponseCode": "3030"}})
    assert out["AuthResponseValue"] == ac.generate_arpc_1(response_key, arqc, b"00").hex().upper()
    out = verify(data, issuer, tx, arqc, skd, option,
                 {"ArpcMethod2": {"CardStatusUpdate": "00820000", "ProprietaryAuthenticationData": "0102030405060708"}})
    expected = ac.generate_arpc_2(response_key, arqc, bytes.fromhex("00820000"), bytes.fromhex("0102030405060708"))
    assert out["AuthResponseValue"] == expected.hex().upper()
    assert "AuthResponseValue" not in verify(data, issuer, tx, arqc, skd, option)
    assert_invalid_arqc(lambda: verify(data, issuer, tx, one_digit_changed(arqc), skd, option))
    assert_invalid_arqc(lambda: verify(data, issuer, one_digit_changed(tx), arqc, skd, option))


def unionpay_session_key(icc_mk: bytes, atc: bytes) -> bytes:
    """UnionPay (PBOC): TDES(MK)[00..00 || ATC] || TDES(MK)[00..00 || ATC XOR FFFF]."""
    tdes = DES3.new(icc_mk, DES3.MODE_ECB)
    inverted = bytes(b ^ 0xFF for b in atc)
    return tdes.encrypt(bytes(6) + atc) + tdes.encrypt(bytes(6) + inverted)


def test_unionpay_round_trip_and_description(data, issuer):
    pan, psn, atc = random_pan(19), "00", secrets.token_bytes(2)
    skd = session("UnionPay", pan, psn, atc)
    raw = secrets.token_bytes(37)
    tx = mac.pad_iso9797_2(raw, 8)
    arqc = generate(data, issuer, tx, skd)
    sk = unionpay_session_key(kd.derive_icc_mk_a(issuer.ac, pan, psn), atc)
    assert arqc == ac.generate_ac(sk, raw)
    out = verify(data, issuer, tx, arqc, skd, response={"ArpcMethod1": {"AuthResponseCode": "3531"}})
    assert out["AuthResponseValue"] == ac.generate_arpc_1(sk, arqc, b"51").hex().upper()
    assert_invalid_arqc(lambda: verify(data, issuer, tx, one_digit_changed(arqc), skd))
    other_atc = session("UnionPay", pan, psn, bytes([atc[0], atc[1] ^ 1]))
    assert_invalid_arqc(lambda: verify(data, issuer, tx, arqc, other_atc))


# --------------------------------------------------------------------------------------------
# The schemes' flows (pyemv.cvn): ARQC, ARPC, script MAC, PIN change
# --------------------------------------------------------------------------------------------


def encrypted_pin_block(issuer: Issuer, pin: str, pan: str, fmt: str = "ISO_FORMAT_0") -> str:
    """The PIN as an ISO 9564 block of `fmt` encrypted under the issuer's PEK (TDES-ECB)."""
    field = f"{len(pin):X}{pin}"
    if fmt == "ISO_FORMAT_1":
        block = bytes.fromhex("1" + field + "".join(secrets.choice("0123456789ABCDEF") for _ in range(14 - len(pin))))
    else:
        fill = "F" if fmt == "ISO_FORMAT_0" else None
        fill = fill * (14 - len(pin)) if fill else "".join(secrets.choice("ABCDEF") for _ in range(14 - len(pin)))
        pin_field = bytes.fromhex(("0" if fmt == "ISO_FORMAT_0" else "3") + field + fill)
        pan_field = bytes.fromhex("0000" + pan[-13:-1])
        block = bytes(a ^ b for a, b in zip(pin_field, pan_field))
    remember_secret(block)
    return DES3.new(issuer.pek, DES3.MODE_ECB).encrypt(block).hex().upper()


def pin_change(data, issuer: Issuer, pin: str, pan: str, message: bytes, attributes: dict, fmt="ISO_FORMAT_0") -> tuple[bytes, bytes, dict]:
    out = data.generate_mac_emv_pin_change(
        NewPinPekIdentifier=issuer.pek_arn, NewEncryptedPinBlock=encrypted_pin_block(issuer, pin, pan, fmt),
        PinBlockFormat=fmt, SecureMessagingIntegrityKeyIdentifier=issuer.smi_arn,
        SecureMessagingConfidentialityKeyIdentifier=issuer.smc_arn, MessageData=message.hex().upper(),
        DerivationMethodAttributes=attributes)
    assert out["NewPinPekArn"] == issuer.pek_arn
    assert out["SecureMessagingIntegrityKeyArn"] == issuer.smi_arn
    assert out["SecureMessagingConfidentialityKeyArn"] == issuer.smc_arn
    return bytes.fromhex(out["EncryptedPinBlock"]), bytes.fromhex(out["Mac"]), out


def split_command(command: bytes, header_len: int = 5) -> tuple[bytes, bytes, bytes]:
    """header, enciphered PIN block, 8-byte MAC of a pyemv PIN change command."""
    return command[:header_len], command[header_len:-8], command[-8:]


VISA = {"VisaCVN10": cvn.VisaCVN10, "VisaCVN18": cvn.VisaCVN18, "VisaCVN22": cvn.VisaCVN22}
MASTERCARD = {"MasterCardCVN16": cvn.MasterCardCVN16, "MasterCardCVN17": cvn.MasterCardCVN17,
              "MasterCardCVN20": cvn.MasterCardCVN20, "MasterCardCVN21": cvn.MasterCardCVN21}


def card_arqc(card, name: str, atc: bytes, un: bytes, amount: int = 1234) -> tuple[bytes, bytes]:
    """The card's ARQC and the transaction data as the issuer receives it (padded as the CVN pads)."""
    tags = transaction(atc, un, amount)
    if name in ("VisaCVN10", "MasterCardCVN16", "MasterCardCVN20"):
        tags["cvr"] = bytes.fromhex("03A0A000") if name.startswith("Visa") else bytes.fromhex("A50000000000")
    elif name in ("MasterCardCVN17", "MasterCardCVN21"):
        tags["cvr"], tags["counters"] = bytes.fromhex("A50000000000"), bytes.fromhex("0000000000000000")
    else:
        tags["tag_9f10"] = bytes.fromhex("1F4200000000000000000000000000000000000000000000000000000000000000")
    arqc = card.generate_ac(**tags)
    raw = b"".join(tags.values())
    padded = mac.pad_iso9797_1(raw, 8) if name == "VisaCVN10" else mac.pad_iso9797_2(raw, 8)
    return arqc, padded


@pytest.mark.parametrize("name", list(VISA))
def test_visa_flows(data, issuer, name):
    pan, psn, atc, un = random_pan(16), "00", secrets.token_bytes(2), secrets.token_bytes(4)
    card = VISA[name](issuer.ac, issuer.smi, issuer.smc, pan, psn)
    arqc, tx = card_arqc(card, name, atc, un)
    if name == "VisaCVN10":
        skd, response = session("Visa", pan, psn, atc), {"ArpcMethod1": {"AuthResponseCode": "3030"}}
        expected_arpc = card.generate_arpc(arqc, b"00")
    else:
        skd, response = session("EmvCommon", pan, psn, atc), {"ArpcMethod2": {"CardStatusUpdate": "00800000"}}
        expected_arpc = card.generate_arpc(arqc, atc, bytes.fromhex("00800000"))
    out = verify(data, issuer, tx, arqc, skd, response=response)
    assert out["AuthResponseValue"] == expected_arpc.hex().upper()
    assert generate(data, issuer, tx, skd) == arqc

    # Script MAC (GenerateMac EmvMac: the caller pads the script with ISO/IEC 9797-1 method 2).
    header, script_data = bytes.fromhex("8418000008"), bytes.fromhex("0102030405060708")
    emv_mac = {"MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan, "PanSequenceNumber": psn}
    if name == "VisaCVN22":
        emv_mac |= {"SessionKeyDerivationMode": "EMV_COMMON_SESSION_KEY",
                    "SessionKeyDerivationValue": {"ApplicationCryptogram": arqc.hex().upper()}}
    else:
        emv_mac |= {"SessionKeyDerivationMode": "VISA",
                    "SessionKeyDerivationValue": {"ApplicationTransactionCounter": atc.hex().upper()}}
    out = data.generate_mac(KeyIdentifier=issuer.smi_arn, MacLength=8,
                            MessageData=mac.pad_iso9797_2(header + atc + arqc + script_data, 8).hex().upper(),
                            GenerationAttributes={"EmvMac": emv_mac})
    assert out["Mac"] == card.generate_command_mac(header, arqc, atc, script_data).hex().upper()

    # PIN change: Visa's VIS block (CVN 10/18) or, without the current PIN, CVN 22's ISO 2 block.
    new_pin = "".join(str(secrets.randbelow(10)) for _ in range(6))
    header, block, command_mac = split_command(card.generate_pin_change_command(new_pin, arqc, atc))
    if name == "VisaCVN22":
        attributes = {"EmvCommon": {"MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan,
                                    "PanSequenceNumber": psn, "ApplicationCryptogram": arqc.hex().upper(), "Mode": "ECB",
                                    "PinBlockPaddingType": "ISO_IEC_7816_4", "PinBlockLengthPosition": "FRONT_OF_PIN_BLOCK"}}
    else:
        attributes = {"Visa": {"MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan,
                               "PanSequenceNumber": psn, "ApplicationTransactionCounter": atc.hex().upper(),
                               "AuthorizationRequestKeyIdentifier": issuer.ac_arn}}
    got_block, got_mac, out = pin_change(data, issuer, new_pin, pan, header + atc + arqc, attributes)
    assert (got_block, got_mac) == (block, command_mac)
    if name != "VisaCVN22":
        assert out["VisaAmexDerivationOutputs"]["AuthorizationRequestKeyArn"] == issuer.ac_arn
        assert "CurrentPinPekArn" not in out["VisaAmexDerivationOutputs"]


@pytest.mark.parametrize("variant", ["Visa", "Amex"])
@pytest.mark.parametrize("fmt", ["ISO_FORMAT_0", "ISO_FORMAT_1", "ISO_FORMAT_3"])
def test_visa_amex_pin_change_with_current_pin(data, issuer, variant, fmt):
    """The VIS PIN block with the current PIN (pyemv VisaCVN10; Amex is taken as Visa's method:
    no public reference describes Amex's)."""
    pan, psn, atc, arqc = random_pan(16), "01", secrets.token_bytes(2), secrets.token_bytes(8)
    card = cvn.VisaCVN10(issuer.ac, issuer.smi, issuer.smc, pan, psn)
    new_pin, current_pin = "123987", "4321"
    header, block, command_mac = split_command(card.generate_pin_change_command(new_pin, arqc, atc, current_pin))
    attributes = {variant: {
        "MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan, "PanSequenceNumber": psn,
        "ApplicationTransactionCounter": atc.hex().upper(), "AuthorizationRequestKeyIdentifier": issuer.ac_arn,
        "CurrentPinAttributes": {"CurrentPinPekIdentifier": issuer.pek_arn,
                                 "CurrentEncryptedPinBlock": encrypted_pin_block(issuer, current_pin, pan, fmt)}}}
    got_block, got_mac, out = pin_change(data, issuer, new_pin, pan, header + atc + arqc, attributes, fmt)
    assert (got_block, got_mac) == (block, command_mac)
    outputs = out["VisaAmexDerivationOutputs"]
    assert outputs["AuthorizationRequestKeyArn"] == issuer.ac_arn and outputs["CurrentPinPekArn"] == issuer.pek_arn


@pytest.mark.parametrize("name", list(MASTERCARD))
def test_mastercard_flows(data, issuer, name):
    pan, psn, atc, un = random_pan(16), "00", secrets.token_bytes(2), secrets.token_bytes(4)
    card = MASTERCARD[name](issuer.ac, issuer.smi, issuer.smc, pan, psn)
    arqc, tx = card_arqc(card, name, atc, un)
    response = {"ArpcMethod1": {"AuthResponseCode": "3030"}}
    if name in ("MasterCardCVN16", "MasterCardCVN17"):
        skd, expected_arpc = session("Mastercard", pan, psn, atc, un), card.generate_arpc(arqc, b"00")
    else:
        skd, expected_arpc = session("EmvCommon", pan, psn, atc), card.generate_arpc(arqc, atc, b"00")
    out = verify(data, issuer, tx, arqc, skd, response=response)
    assert out["AuthResponseValue"] == expected_arpc.hex().upper()
    assert generate(data, issuer, tx, skd) == arqc

    header, script_data = bytes.fromhex("04DA9F580C"), bytes.fromhex("0102")
    out = data.generate_mac(KeyIdentifier=issuer.smi_arn, MacLength=8,
                            MessageData=mac.pad_iso9797_2(header + atc + arqc + script_data, 8).hex().upper(),
                            GenerationAttributes={"EmvMac": {
                                "MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan,
                                "PanSequenceNumber": psn, "SessionKeyDerivationMode": "MASTERCARD_SESSION_KEY",
                                "SessionKeyDerivationValue": {"ApplicationCryptogram": arqc.hex().upper()}}})
    assert out["Mac"] == card.generate_command_mac(header, arqc, atc, script_data).hex().upper()

    new_pin = "".join(str(secrets.randbelow(10)) for _ in range(4))
    header, block, command_mac = split_command(card.generate_pin_change_command(new_pin, arqc, atc))
    card_values = {"MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan, "PanSequenceNumber": psn,
                   "ApplicationCryptogram": arqc.hex().upper()}
    got = pin_change(data, issuer, new_pin, pan, header + atc + arqc, {"Mastercard": card_values}, "ISO_FORMAT_3")
    assert got[:2] == (block, command_mac)
    # EmvCommon with M/Chip's choices (CBC, no length byte, no padding) is the same script.
    common = card_values | {"Mode": "CBC", "PinBlockPaddingType": "NO_PADDING", "PinBlockLengthPosition": "NONE"}
    got = pin_change(data, issuer, new_pin, pan, header + atc + arqc, {"EmvCommon": common}, "ISO_FORMAT_1")
    assert got[:2] == (block, command_mac)


def test_emv2000_pin_change_against_pyemv_primitives(data, issuer):
    pan, psn, atc = random_pan(18), "02", secrets.token_bytes(2)
    sk_smi = kd.derive_emv2000_tree_sk(kd.derive_icc_mk_b(issuer.smi, pan, psn), atc)
    sk_smc = kd.derive_emv2000_tree_sk(kd.derive_icc_mk_b(issuer.smc, pan, psn), atc)
    new_pin = "98765"
    block = sm.encrypt_command_data(sk_smc, sm.format_iso9564_2_pin_block(new_pin), sm.EncryptionType.EMV)
    message = bytes.fromhex("8424000218") + atc + secrets.token_bytes(8)
    got_block, got_mac, out = pin_change(data, issuer, new_pin, pan, message, {"Emv2000": {
        "MajorKeyDerivationMode": "EMV_OPTION_B", "PrimaryAccountNumber": pan, "PanSequenceNumber": psn,
        "ApplicationTransactionCounter": atc.hex().upper()}})
    assert got_block == block
    assert got_mac == sm.generate_command_mac(sk_smi, message + block, 8)
    assert "VisaAmexDerivationOutputs" not in out


@pytest.mark.parametrize("mode", ["ECB", "CBC"])
@pytest.mark.parametrize("padding", ["NO_PADDING", "ISO_IEC_7816_4"])
@pytest.mark.parametrize("length", ["NONE", "FRONT_OF_PIN_BLOCK"])
def test_emv_common_pin_change_options(data, issuer, mode, padding, length):
    pan, psn, arqc = random_pan(16), "00", secrets.token_bytes(8)
    new_pin = "2468"
    attributes = {"EmvCommon": {"MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan,
                                "PanSequenceNumber": psn, "ApplicationCryptogram": arqc.hex().upper(), "Mode": mode,
                                "PinBlockPaddingType": padding, "PinBlockLengthPosition": length}}
    message = bytes.fromhex("8424000210") + bytes(2) + arqc
    if length == "FRONT_OF_PIN_BLOCK" and padding == "NO_PADDING":
        with pytest.raises(ClientError) as e:
            pin_change(data, issuer, new_pin, pan, message, attributes)
        assert error_code(e) == "ValidationException"
        return
    sk_smi = kd.derive_common_sk(kd.derive_icc_mk_a(issuer.smi, pan, psn), arqc)
    sk_smc = kd.derive_common_sk(kd.derive_icc_mk_a(issuer.smc, pan, psn), arqc)
    plain = (b"\x08" if length == "FRONT_OF_PIN_BLOCK" else b"") + sm.format_iso9564_2_pin_block(new_pin)
    if padding == "ISO_IEC_7816_4":
        plain = sm_pad(plain)
    cipher = DES3.new(sk_smc, DES3.MODE_ECB) if mode == "ECB" else DES3.new(sk_smc, DES3.MODE_CBC, iv=bytes(8))
    block = cipher.encrypt(plain)
    got_block, got_mac, _ = pin_change(data, issuer, new_pin, pan, message, attributes)
    assert got_block == block
    assert got_mac == sm.generate_command_mac(sk_smi, message + block, 8)


def sm_pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4 padding: 80, then zeros to a whole block (always added)."""
    data += b"\x80"
    return data + bytes(-len(data) % 8)


# --------------------------------------------------------------------------------------------
# Terminal to issuer
# --------------------------------------------------------------------------------------------


def test_terminal_to_issuer_authorization(data, issuer):
    """A card (pyemv MasterCardCVN16) answers the terminal's GENERATE AC with an ARQC; the issuer
    (paycrypt) verifies it and answers approved (ARC 00) with an ARPC; the card accepts the ARPC
    only if it is the one it computes. A tampered amount fails at the issuer."""
    pan, psn = random_pan(16), "00"
    card = cvn.MasterCardCVN16(issuer.ac, issuer.smi, issuer.smc, pan, psn)
    for counter in (1, 2, 0x0102):
        atc, un = counter.to_bytes(2, "big"), secrets.token_bytes(4)
        arqc, tx = card_arqc(card, "MasterCardCVN16", atc, un, amount=1000 * counter)
        skd = session("Mastercard", pan, psn, atc, un)
        out = verify(data, issuer, tx, arqc, skd, response={"ArpcMethod1": {"AuthResponseCode": "3030"}})
        arpc = bytes.fromhex(out["AuthResponseValue"])
        assert arpc == card.generate_arpc(arqc, b"00")  # the card's check of the issuer
        assert arpc != card.generate_arpc(arqc, b"05")
        _, tampered = card_arqc(card, "MasterCardCVN16", atc, un, amount=1000 * counter + 1)
        assert_invalid_arqc(lambda: verify(data, issuer, tampered, arqc, skd))


def test_cli_verify_auth_request_cryptogram(endpoint, issuer):
    pan, psn, atc = random_pan(16), "00", bytes.fromhex("00A1")
    sk = kd.derive_common_sk(kd.derive_icc_mk_a(issuer.ac, pan, psn), atc + bytes(6))
    raw = secrets.token_bytes(20)
    arqc, tx = ac.generate_ac(sk, raw), mac.pad_iso9797_2(raw, 8)
    cli = AwsCli(endpoint, service=DATA)
    skd = f"EmvCommon={{PrimaryAccountNumber={pan},PanSequenceNumber={psn},ApplicationTransactionCounter=00A1}}"
    out = cli.run("verify-auth-request-cryptogram", "--key-identifier", issuer.ac_arn, "--transaction-data", tx.hex(),
                  "--auth-request-cryptogram", arqc.hex(), "--major-key-derivation-mode", "EMV_OPTION_A",
                  "--session-key-derivation-attributes", skd,
                  "--auth-response-attributes", "ArpcMethod1={AuthResponseCode=3030}").json()
    assert out["AuthResponseValue"] == ac.generate_arpc_1(sk, arqc, b"00").hex().upper()
    wrong = cli.run("verify-auth-request-cryptogram", "--key-identifier", issuer.ac_arn, "--transaction-data", tx.hex(),
                    "--auth-request-cryptogram", one_digit_changed(arqc).hex(), "--major-key-derivation-mode",
                    "EMV_OPTION_A", "--session-key-derivation-attributes", skd, check=False)
    assert wrong.returncode != 0 and "VerificationFailedException" in wrong.stderr


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


def test_refusals(endpoint, data, issuer):
    pan, atc = random_pan(16), bytes(2)
    skd = session("EmvCommon", pan, "00", atc)
    tx, arqc = bytes(16), bytes(8)
    with pytest.raises(ClientError) as e:  # an E1 key is not an AC key
        data.verify_auth_request_cryptogram(
            KeyIdentifier=issuer.smc_arn, TransactionData=tx.hex(), AuthRequestCryptogram=arqc.hex(),
            MajorKeyDerivationMode="EMV_OPTION_A", SessionKeyDerivationAttributes=skd)
    assert error_code(e) == "ValidationException" and "TR31_E0_EMV_MKEY_APP_CRYPTOGRAMS" in error_message(e)
    unchecked = make_client(endpoint, service=DATA, validate=False)  # the server's own checks
    with pytest.raises(ClientError) as e:
        verify(unchecked, issuer, tx, arqc, skd, response={"ArpcMethod2": {"CardStatusUpdate": "0080"}})
    assert error_code(e) == "ValidationException" and "cardStatusUpdate" in error_message(e)
    with pytest.raises(ClientError) as e:  # a PIN block that is not the format it claims
        data.generate_mac_emv_pin_change(
            NewPinPekIdentifier=issuer.pek_arn, NewEncryptedPinBlock=encrypted_pin_block(issuer, "1234", pan, "ISO_FORMAT_1"),
            PinBlockFormat="ISO_FORMAT_0", SecureMessagingIntegrityKeyIdentifier=issuer.smi_arn,
            SecureMessagingConfidentialityKeyIdentifier=issuer.smc_arn, MessageData="8424000210" + "00" * 10,
            DerivationMethodAttributes={"Mastercard": {"MajorKeyDerivationMode": "EMV_OPTION_A",
                                                       "PrimaryAccountNumber": pan, "PanSequenceNumber": "00",
                                                       "ApplicationCryptogram": arqc.hex()}})
    assert error_code(e) == "ValidationException" and "ISO_FORMAT_0" in error_message(e)
    assert "1234" not in error_message(e)
    with pytest.raises(ClientError) as e:  # the PEK must be a P0 key
        data.generate_mac_emv_pin_change(
            NewPinPekIdentifier=issuer.smi_arn, NewEncryptedPinBlock="00" * 8,
            PinBlockFormat="ISO_FORMAT_1", SecureMessagingIntegrityKeyIdentifier=issuer.smi_arn,
            SecureMessagingConfidentialityKeyIdentifier=issuer.smc_arn, MessageData="8424000210" + "00" * 10,
            DerivationMethodAttributes={"Emv2000": {"MajorKeyDerivationMode": "EMV_OPTION_A",
                                                    "PrimaryAccountNumber": pan, "PanSequenceNumber": "00",
                                                    "ApplicationTransactionCounter": "0001"}})
    assert error_code(e) == "ValidationException" and "TR31_P0_PIN_ENCRYPTION_KEY" in error_message(e)


# --------------------------------------------------------------------------------------------
# Secure-messaging encryption (EncryptData / DecryptData with Emv attributes, an E1 key)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["CBC", "ECB"])
def test_emv_data_encryption_against_pyemv(data, issuer, mode):
    """The script data encryption of pyemv's Mastercard CVNs (common session key with R = ARQC,
    TDES-CBC with a zero IV) and its ECB counterpart."""
    pan, psn, arqc = random_pan(16), "00", secrets.token_bytes(8)
    plain = secrets.token_bytes(16)
    sk_smc = kd.derive_common_sk(kd.derive_icc_mk_a(issuer.smc, pan, psn), arqc)
    expected = (sm.encrypt_command_data(sk_smc, plain, sm.EncryptionType.MASTERCARD) if mode == "CBC"
                else DES3.new(sk_smc, DES3.MODE_ECB).encrypt(plain))
    emv = {"Emv": {"MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan, "PanSequenceNumber": psn,
                   "SessionDerivationData": arqc.hex().upper(), "Mode": mode}}
    out = data.encrypt_data(KeyIdentifier=issuer.smc_arn, PlainText=plain.hex().upper(), EncryptionAttributes=emv)
    assert out["CipherText"] == expected.hex().upper()
    back = data.decrypt_data(KeyIdentifier=issuer.smc_arn, CipherText=out["CipherText"], DecryptionAttributes=emv)
    assert back["PlainText"] == plain.hex().upper()


@pytest.mark.parametrize("mode", ["EMV2000", "AMEX", "VISA", "UNION_PAY", "EMV_COMMON_SESSION_KEY", "MASTERCARD_SESSION_KEY"])
def test_emv_mac_session_key_modes(data, issuer, mode):
    """GenerateMac / VerifyMac EmvMac in every session key mode of the model: EMV2000 by pyemv's
    tree, AMEX and VISA by pyemv's Visa secure-messaging key (paycrypt takes Amex's as Visa's),
    UNION_PAY by the description above, the common modes by pyemv's common key (R = ARQC)."""
    pan, psn, atc, arqc = random_pan(16), "00", secrets.token_bytes(2), secrets.token_bytes(8)
    icc_mk = kd.derive_icc_mk_a(issuer.smi, pan, psn)
    sk, value = {
        "EMV2000": (lambda: kd.derive_emv2000_tree_sk(icc_mk, atc), {"ApplicationTransactionCounter": atc.hex()}),
        "AMEX": (lambda: kd.derive_visa_sm_sk(icc_mk, atc), {"ApplicationTransactionCounter": atc.hex()}),
        "VISA": (lambda: kd.derive_visa_sm_sk(icc_mk, atc), {"ApplicationTransactionCounter": atc.hex()}),
        "UNION_PAY": (lambda: unionpay_session_key(icc_mk, atc), {"ApplicationTransactionCounter": atc.hex()}),
        "EMV_COMMON_SESSION_KEY": (lambda: kd.derive_common_sk(icc_mk, arqc), {"ApplicationCryptogram": arqc.hex()}),
        "MASTERCARD_SESSION_KEY": (lambda: kd.derive_common_sk(icc_mk, arqc), {"ApplicationCryptogram": arqc.hex()}),
    }[mode]
    script = bytes.fromhex("8418000008") + atc + arqc + secrets.token_bytes(3)
    attributes = {"EmvMac": {"MajorKeyDerivationMode": "EMV_OPTION_A", "PrimaryAccountNumber": pan,
                             "PanSequenceNumber": psn, "SessionKeyDerivationMode": mode, "SessionKeyDerivationValue": value}}
    message = mac.pad_iso9797_2(script, 8).hex().upper()
    out = data.generate_mac(KeyIdentifier=issuer.smi_arn, MessageData=message, GenerationAttributes=attributes)
    assert out["Mac"] == sm.generate_command_mac(sk(), script, 8).hex().upper()
    data.verify_mac(KeyIdentifier=issuer.smi_arn, MessageData=message, Mac=out["Mac"], VerificationAttributes=attributes)
    with pytest.raises(ClientError) as e:
        data.verify_mac(KeyIdentifier=issuer.smi_arn, MessageData=message, Mac=one_digit_changed(bytes.fromhex(out["Mac"])).hex(),
                        VerificationAttributes=attributes)
    assert e.value.response["Reason"] == "INVALID_MAC"
