"""The audit log: one JSON line per mutating request (of the control plane, the data plane or the
console), in the data dir by default or where `--audit-log` says, with exactly the fields time, account, access_key_id, region, plane, source_ip, user_agent,
operation, key_arn, request_id and outcome; written before the response, so it survives a SIGKILL right after it; never key
material or request bodies; reopened on SIGHUP after rotation."""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import signal
import time
from pathlib import Path

import botocore.exceptions
import psec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import (
    DEFAULT_ACCOUNT, ConsoleClient, accounts_config, attributes, call_raw, make_client, run_paycrypt, send_raw, tdes_key,
)

# psec drives TDES through the deprecated `cryptography` names; that is psec's business.
pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

FIELDS = [
    "time", "account", "access_key_id", "user_arn", "region", "plane", "source_ip", "user_agent",
    "operation", "key_arn", "request_id", "outcome",
]
K0_AES = attributes("TR31_K0_KEY_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap")


def audit_lines(path: Path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "every line is complete"
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert list(line) == FIELDS, line
        stamp = datetime.datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        assert abs((now - stamp).total_seconds()) < 600, line["time"]
    return lines


def request_id(response: dict) -> str:
    return response["ResponseMetadata"]["RequestId"]


def failed(call) -> tuple[str, str]:
    """(error code, request id) of a call that must fail."""
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call()
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["RequestId"]


def import_kek(client, clear: bytes) -> tuple[str, str, str]:
    """An AES-128 KEK imported as an RSA-OAEP key cryptogram; (ARN, request id, cryptogram hex)."""
    params = client.get_parameters_for_import(KeyMaterialType="KEY_CRYPTOGRAM", WrappingKeyAlgorithm="RSA_3072")
    wrapping = x509.load_pem_x509_certificate(base64.b64decode(params["WrappingKeyCertificate"]))
    cryptogram = wrapping.public_key().encrypt(
        clear, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    ).hex().upper()
    response = client.import_key(
        KeyMaterial={
            "KeyCryptogram": {
                "KeyAttributes": K0_AES,
                "Exportable": False,
                "WrappedKeyCryptogram": cryptogram,
                "ImportToken": params["ImportToken"],
                "WrappingSpec": "RSA_OAEP_SHA_256",
            }
        }
    )
    return response["Key"]["KeyArn"], request_id(response), cryptogram


def test_mutations_are_recorded_and_nothing_else(server_factory):
    server = server_factory()
    client = make_client(server.endpoint)
    path = server.data_dir / "audit.log"
    assert path.is_file(), "the audit log is created at start-up in the data dir"
    assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)

    expected: list[tuple] = []  # (account, operation, key_arn, request_id, outcome)

    created = client.create_key(
        KeyAttributes=K0_AES, Exportable=True, Tags=[{"Key": "owner", "Value": "audit-test"}]
    )
    arn = created["Key"]["KeyArn"]
    expected.append((DEFAULT_ACCOUNT, "CreateKey", arn, request_id(created), "success"))

    # reads are not recorded
    client.get_key(KeyIdentifier=arn)
    client.list_keys()
    client.list_tags_for_resource(ResourceArn=arn)

    # a failing request, with its error code and the key it names
    missing = arn[: -16] + "0123456789abcdef"
    code, rid = failed(lambda: client.delete_key(KeyIdentifier=missing))
    assert code == "ResourceNotFoundException"
    expected.append((DEFAULT_ACCOUNT, "DeleteKey", missing, rid, "ResourceNotFoundException"))

    # a request naming its key by alias records the key the alias names
    alias = client.create_alias(AliasName="alias/audited", KeyArn=arn)
    expected.append((DEFAULT_ACCOUNT, "CreateAlias", arn, request_id(alias), "success"))
    tagged = client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    expected.append((DEFAULT_ACCOUNT, "TagResource", arn, request_id(tagged), "success"))
    stopped = client.stop_key_usage(KeyIdentifier="alias/audited")
    expected.append((DEFAULT_ACCOUNT, "StopKeyUsage", arn, request_id(stopped), "success"))
    removed = client.delete_alias(AliasName="alias/audited")
    expected.append((DEFAULT_ACCOUNT, "DeleteAlias", None, request_id(removed), "success"))

    # key material crosses in both directions: a KEK as a cryptogram, then a key in a TR-31 block
    kek_clear = secrets.token_bytes(16)
    kek_arn, rid, cryptogram = import_kek(client, kek_clear)
    expected.append((DEFAULT_ACCOUNT, "ImportKey", kek_arn, rid, "success"))
    key_clear = secrets.token_bytes(16)
    block = psec.tr31.wrap(kek_clear, psec.tr31.Header("D", "K1", "A", "B", "00", "E"), key_clear)
    imported = client.import_key(KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn, "WrappedKeyBlock": block}})
    imported_arn = imported["Key"]["KeyArn"]
    expected.append((DEFAULT_ACCOUNT, "ImportKey", imported_arn, request_id(imported), "success"))
    exported = client.export_key(
        ExportKeyIdentifier=imported_arn,
        KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn}},
    )
    expected.append((DEFAULT_ACCOUNT, "ExportKey", imported_arn, request_id(exported), "success"))
    exported_block = exported["WrappedKey"]["KeyMaterial"]

    deleted = client.delete_key(KeyIdentifier=arn, DeleteKeyInDays=3)
    expected.append((DEFAULT_ACCOUNT, "DeleteKey", arn, request_id(deleted), "success"))

    # a request that does not authenticate: recorded without an account
    intruder = make_client(server.endpoint, secret="not-the-secret")
    code, rid = failed(lambda: intruder.delete_key(KeyIdentifier=imported_arn))
    assert code == "InvalidSignatureException"
    expected.append((None, "DeleteKey", None, rid, "InvalidSignatureException"))

    # a request refused by validation names no key it could be trusted to name
    bad = call_raw(server.endpoint, "DeleteKey", {"KeyIdentifier": "x" * 400})
    assert bad.status == 400
    expected.append(
        (DEFAULT_ACCOUNT, "DeleteKey", None, bad.headers["x-amzn-requestid"], "ValidationException")
    )

    lines = audit_lines(path)
    assert [(l["account"], l["operation"], l["key_arn"], l["request_id"], l["outcome"]) for l in lines] == expected
    assert [l["time"] for l in lines] == sorted(l["time"] for l in lines)

    text = path.read_text()
    for secret in (kek_clear, key_clear):
        assert secret.hex().upper() not in text
        assert secret.hex().lower() not in text
    for body_part in (cryptogram, block, exported_block, "audit-test", "x" * 400):
        assert body_part not in text


def test_lines_survive_sigkill_right_after_the_response(server_factory):
    server = server_factory()
    client = make_client(server.endpoint)
    arns = [tdes_key(client)["KeyArn"] for _ in range(3)]
    server.kill()
    lines = audit_lines(server.data_dir / "audit.log")
    assert [(l["operation"], l["key_arn"]) for l in lines] == [("CreateKey", a) for a in arns]

    # a restarted server appends to the same log
    server.restart()
    again = tdes_key(make_client(server.endpoint))["KeyArn"]
    lines = audit_lines(server.data_dir / "audit.log")
    assert [l["key_arn"] for l in lines] == arns + [again]


def test_audit_log_path_from_the_flag_and_the_config(server_factory, tmp_path):
    flagged = tmp_path / "logs" / "flag-audit.log"
    flagged.parent.mkdir()
    server = server_factory(extra_args=["--audit-log", str(flagged)])
    arn = tdes_key(make_client(server.endpoint))["KeyArn"]
    assert [l["key_arn"] for l in audit_lines(flagged)] == [arn]
    assert not (server.data_dir / "audit.log").exists()

    configured = tmp_path / "logs" / "config-audit.log"
    server = server_factory(config=f'audit_log = "{configured}"\n')
    client = make_client(server.endpoint, region="eu-west-1")
    arn = tdes_key(client)["KeyArn"]
    assert f":eu-west-1:{DEFAULT_ACCOUNT}:key/" in arn
    assert [l["key_arn"] for l in audit_lines(configured)] == [arn]


def test_unwritable_audit_log_is_a_startup_error(tmp_path):
    target = tmp_path / "no-such-dir" / "audit.log"
    proc = run_paycrypt(
        "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"), "--audit-log", str(target)
    )
    assert proc.returncode != 0
    assert f"cannot open the audit log {target}" in proc.stderr, proc.stderr
    assert "panicked" not in proc.stderr


def test_sighup_reopens_the_log_after_rotation(server_factory):
    server = server_factory()
    client = make_client(server.endpoint)
    path = server.data_dir / "audit.log"
    first = tdes_key(client)["KeyArn"]
    rotated = path.with_name("audit.log.1")
    path.rename(rotated)
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, "the audit log was not reopened after SIGHUP"
        time.sleep(0.1)
    second = tdes_key(client)["KeyArn"]
    assert [l["key_arn"] for l in audit_lines(rotated)] == [first]
    assert [l["key_arn"] for l in audit_lines(path)] == [second]
    assert server.running


def test_data_plane_uses_are_recorded_with_their_key_and_outcome(server_factory):
    server = server_factory()
    client = make_client(server.endpoint)
    data = make_client(server.endpoint, service="payment-cryptography-data")
    path = server.data_dir / "audit.log"
    d0 = attributes("TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap")
    arn = client.create_key(KeyAttributes=d0, Exportable=False)["Key"]["KeyArn"]
    client.create_alias(AliasName="alias/audited-data", KeyArn=arn)
    mac_arn = client.create_key(
        KeyAttributes=attributes("TR31_M7_HMAC_KEY", "HMAC_SHA256", "SYMMETRIC_KEY", "Generate", "Verify"), Exportable=False
    )["Key"]["KeyArn"]
    pvk_arn = client.create_key(
        KeyAttributes=attributes("TR31_V2_VISA_PIN_VERIFICATION_KEY", "TDES_2KEY", "SYMMETRIC_KEY", "Generate", "Verify"),
        Exportable=False,
    )["Key"]["KeyArn"]
    pek_arn = client.create_key(
        KeyAttributes=attributes("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"),
        Exportable=False,
    )["Key"]["KeyArn"]
    before = len(audit_lines(path))

    expected = []
    # A PIN operation names its verification or generation key, not the PIN encryption key.
    pan = "4111111111111111"
    generated = data.generate_pin_data(GenerationKeyIdentifier=pvk_arn, EncryptionKeyIdentifier=pek_arn,
                                       GenerationAttributes={"VisaPin": {"PinVerificationKeyIndex": 1}},
                                       PrimaryAccountNumber=pan, PinBlockFormat="ISO_FORMAT_0")
    expected.append((DEFAULT_ACCOUNT, "GeneratePinData", pvk_arn, request_id(generated), "success"))
    verified = data.verify_pin_data(
        VerificationKeyIdentifier=pvk_arn, EncryptionKeyIdentifier=pek_arn,
        VerificationAttributes={"VisaPin": {"PinVerificationKeyIndex": 1,
                                            "VerificationValue": generated["PinData"]["VerificationValue"]}},
        EncryptedPinBlock=generated["EncryptedPinBlock"], PrimaryAccountNumber=pan, PinBlockFormat="ISO_FORMAT_0")
    expected.append((DEFAULT_ACCOUNT, "VerifyPinData", pvk_arn, request_id(verified), "success"))
    plain = secrets.token_bytes(32).hex().upper()
    encrypted = data.encrypt_data(KeyIdentifier="alias/audited-data", PlainText=plain,
                                  EncryptionAttributes={"Symmetric": {"Mode": "ECB"}})
    expected.append((DEFAULT_ACCOUNT, "EncryptData", arn, request_id(encrypted), "success"))
    message = secrets.token_bytes(20).hex().upper()
    mac = data.generate_mac(KeyIdentifier=mac_arn, MessageData=message, GenerationAttributes={"Algorithm": "HMAC"})
    expected.append((DEFAULT_ACCOUNT, "GenerateMac", mac_arn, request_id(mac), "success"))
    code, rid = failed(lambda: data.verify_mac(KeyIdentifier=mac_arn, MessageData=message, Mac="AB" * 32,
                                               VerificationAttributes={"Algorithm": "HMAC"}))
    assert code == "VerificationFailedException"
    expected.append((DEFAULT_ACCOUNT, "VerifyMac", mac_arn, rid, "VerificationFailedException"))
    missing = arn[:-16] + "0123456789abcdef"
    code, rid = failed(lambda: data.decrypt_data(KeyIdentifier=missing, CipherText=plain,
                                                 DecryptionAttributes={"Symmetric": {"Mode": "ECB"}}))
    assert code == "ResourceNotFoundException"
    expected.append((DEFAULT_ACCOUNT, "DecryptData", missing, rid, "ResourceNotFoundException"))

    lines = audit_lines(path)[before:]
    assert [(l["account"], l["operation"], l["key_arn"], l["request_id"], l["outcome"]) for l in lines] == expected
    text = path.read_text()
    for secret in (plain, encrypted["CipherText"], message, mac["Mac"]):
        assert secret not in text


def test_each_line_says_who_signed_from_where_and_through_which_plane(server_factory):
    """Two credentials of one account, both planes, two regions: each line names the access key,
    region, plane, source address and user agent of its own request."""
    server = server_factory(config=accounts_config({DEFAULT_ACCOUNT: [("AKIDAUDITONE", "secret-one"), ("AKIDAUDITTWO", "secret-two")]}))
    path = server.data_dir / "audit.log"
    one = make_client(server.endpoint, access_key="AKIDAUDITONE", secret="secret-one", region="us-east-1")
    two = make_client(server.endpoint, access_key="AKIDAUDITTWO", secret="secret-two", region="eu-west-2")
    two_data = make_client(server.endpoint, access_key="AKIDAUDITTWO", secret="secret-two", region="eu-west-2",
                           service="payment-cryptography-data")
    created = one.create_key(KeyAttributes=K0_AES, Exportable=False)
    hmac = attributes("TR31_M7_HMAC_KEY", "HMAC_SHA256", "SYMMETRIC_KEY", "Generate", "Verify")
    mac_key = two.create_key(KeyAttributes=hmac, Exportable=False)
    mac = two_data.generate_mac(KeyIdentifier=mac_key["Key"]["KeyArn"], MessageData="00" * 8,
                                GenerationAttributes={"Algorithm": "HMAC"})
    refused = send_raw(server.endpoint, {"X-Amz-Target": "PaymentCryptographyControlPlane.DeleteKey",
                                         "Content-Type": "application/x-amz-json-1.0",
                                         "User-Agent": "unsigned-probe/1.0"}, b"{}")
    assert refused.status in (400, 403)

    lines = audit_lines(path)
    seen = [(l["access_key_id"], l["region"], l["plane"], l["operation"], l["request_id"]) for l in lines]
    assert seen == [
        ("AKIDAUDITONE", "us-east-1", "control", "CreateKey", request_id(created)),
        ("AKIDAUDITTWO", "eu-west-2", "control", "CreateKey", request_id(mac_key)),
        ("AKIDAUDITTWO", "eu-west-2", "data", "GenerateMac", request_id(mac)),
        (None, None, "control", "DeleteKey", refused.headers["x-amzn-requestid"]),
    ]
    assert all(l["source_ip"] == "127.0.0.1" for l in lines), lines
    assert all(l["user_agent"].startswith("Boto3/") for l in lines[:3]), lines
    assert lines[3]["user_agent"] == "unsigned-probe/1.0"
    assert lines[3]["account"] is None and lines[3]["outcome"] == "MissingAuthenticationTokenException"
    # credentials without a user are their account's root; an unauthenticated request is no one
    assert [l["user_arn"] for l in lines] == [f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"] * 3 + [None]


def test_console_changes_say_which_signed_in_key_made_them(server_factory):
    """Two credentials of one account sign in to the console: each change they make there is a
    line of plane `console` naming the signed-in access key, the region picked, the browser's
    address and user agent; reads are not recorded, like the API's."""
    server = server_factory(config=accounts_config({DEFAULT_ACCOUNT: [("AKIDCONSOLEONE", "secret-one"), ("AKIDCONSOLETWO", "secret-two")]}))
    path = server.data_dir / "audit.log"
    one = ConsoleClient(server.endpoint, user_agent="browser-one/1.0")
    two = ConsoleClient(server.endpoint, user_agent="browser-two/2.0")
    assert one.sign_in("AKIDCONSOLEONE", "secret-one").status == 303
    assert two.sign_in("AKIDCONSOLETWO", "secret-two").status == 303
    form = {"usage": "TR31_K0_KEY_ENCRYPTION_KEY", "algorithm": "AES_128", "modes": "Encrypt+Decrypt+Wrap+Unwrap",
            "exportable": "on", "enabled": "on", "alias": "alias/from-console"}
    created = one.post("/console/keys", {**form, "region": "us-east-1", "csrf": one.get("/console/keys").csrf()})
    assert created.status == 303, created.text
    key_id = created.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    arn = f"arn:aws:payment-cryptography:us-east-1:{DEFAULT_ACCOUNT}:key/{key_id}"
    token = two.get(f"/console/keys/{key_id}?region=us-east-1").csrf()
    assert two.post(f"/console/keys/{key_id}/disable", {"region": "us-east-1", "csrf": token}).status == 303
    other = two.post("/console/keys", {**form, "alias": "", "region": "eu-west-2", "csrf": token})
    assert other.status == 303
    other_arn = f"arn:aws:payment-cryptography:eu-west-2:{DEFAULT_ACCOUNT}:key/" + other.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    # the API's view of the same key agrees
    api = make_client(server.endpoint, access_key="AKIDCONSOLEONE", secret="secret-one")
    assert api.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is False

    lines = audit_lines(path)
    seen = [(l["access_key_id"], l["region"], l["plane"], l["operation"], l["key_arn"], l["outcome"], l["user_agent"])
            for l in lines]
    assert seen == [
        ("AKIDCONSOLEONE", "us-east-1", "console", "CreateKey", arn, "success", "browser-one/1.0"),
        ("AKIDCONSOLEONE", "us-east-1", "console", "CreateAlias", arn, "success", "browser-one/1.0"),
        ("AKIDCONSOLETWO", "us-east-1", "console", "StopKeyUsage", arn, "success", "browser-two/2.0"),
        ("AKIDCONSOLETWO", "eu-west-2", "console", "CreateKey", other_arn, "success", "browser-two/2.0"),
    ]
    assert all(l["source_ip"] == "127.0.0.1" and l["account"] == DEFAULT_ACCOUNT for l in lines)
    assert len({l["request_id"] for l in lines}) == len(lines)
