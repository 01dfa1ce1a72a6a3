"""Users and identity policies through boto3, raw SigV4 and the AWS CLI against the real binary.

Account 111122223333 has its root credential `test` and users whose identity policies allow:
nothing of use (`nobody`), the data plane only (`issuer`), everything but ExportKey and
DeleteKey (`operator`), Get* on keys (`reader`), everything from 127.0.0.1 only (`local`),
everything in eu-west-1 only (`eu`). Account 444455556666 has a user `partner` allowed GetKey and
EncryptData on 111122223333's keys. A table of (user, resource policy, operation, key) cases runs
through both planes: explicit denies on each side, wildcards in actions and resources, a
resource policy naming a user, across accounts both sides allowing. Every refusal is an
AccessDeniedException in AWS's words and changes nothing; `nobody` is refused every operation of
both planes. The configuration is checked at start (and on SIGHUP) with the line of the error.
"""

from __future__ import annotations

import copy
import json
import signal
import time
import urllib.parse
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest

from conftest import (
    DEFAULT_ACCOUNT,
    OBSERVED,
    REGION,
    SERVICE,
    AwsCli,
    attributes,
    make_client,
    run_paycrypt,
    send_raw,
    sign,
)
from model_requests import CONTROL, CONTROL_SAMPLES, DATA, DATA_SAMPLES, MODELS, ModelRequests

OTHER_ACCOUNT = "444455556666"
KEYS = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/*"
EVERY_REGION_KEYS = f"arn:aws:payment-cryptography:*:{DEFAULT_ACCOUNT}:key/*"
DATA_ACTIONS = [
    "payment-cryptography:Encrypt*",
    "payment-cryptography:Decrypt*",
    "payment-cryptography:ReEncrypt*",
    "payment-cryptography:Generate*",
    "payment-cryptography:Verify*",
    "payment-cryptography:Translate*",
]


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# user -> identity policy (None: a user without a policy, allowed everything)
USERS: dict[str, str | None] = {
    "nobody": policy(allow("payment-cryptography:ListAliases", f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:alias/*")),
    "issuer": policy(allow(DATA_ACTIONS, KEYS)),
    "operator": policy(
        allow("payment-cryptography:*"),
        deny(["payment-cryptography:ExportKey", "payment-cryptography:DeleteKey"], EVERY_REGION_KEYS),
    ),
    "reader": policy(allow("payment-cryptography:Get*", EVERY_REGION_KEYS)),
    "local": policy(allow("*", "*", Condition={"IpAddress": {"aws:SourceIp": ["127.0.0.1/32", "::1/128"]}})),
    "eu": policy(allow("*", "*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})),
    "unbound": None,
}
PARTNER_POLICY = policy(
    allow(["payment-cryptography:GetKey", "payment-cryptography:EncryptData"], EVERY_REGION_KEYS)
)


def credential(access_key: str, user: str | None = None, policy_text: str | None = None) -> str:
    fields = [f'access_key_id = "{access_key}"', f'secret_access_key = "{access_key}-secret"']
    if user is not None:
        fields.append(f'user = "{user}"')
    if policy_text is not None:
        fields.append(f"policy = '{policy_text}'")
    return "{ " + ", ".join(fields) + " }"


def users_config(users: dict[str, str | None] = USERS, partner_policy: str = PARTNER_POLICY) -> str:
    own = [credential("test-root")] + [credential(f"AKIA{name.upper()}", name, text) for name, text in users.items()]
    other = [credential("other-root"), credential("AKIAPARTNER", "partner", partner_policy)]
    # the end-of-suite scan checks each response names only its caller's account's resources
    for access_key in ["test-root", *(f"AKIA{name.upper()}" for name in users)]:
        OBSERVED.accounts[access_key] = DEFAULT_ACCOUNT
    for access_key in ["other-root", "AKIAPARTNER"]:
        OBSERVED.accounts[access_key] = OTHER_ACCOUNT
    return "\n".join(
        [
            "[[accounts]]",
            f'id = "{DEFAULT_ACCOUNT}"',
            "credentials = [\n  " + ",\n  ".join(own) + ",\n]",
            "[[accounts]]",
            f'id = "{OTHER_ACCOUNT}"',
            "credentials = [\n  " + ",\n  ".join(other) + ",\n]",
            "",
        ]
    )


def client_of(endpoint: str, access_key: str, service: str = SERVICE, region: str = REGION):
    return make_client(endpoint, access_key, f"{access_key}-secret", region=region, service=service)


def user_key(user: str) -> str:
    return f"AKIA{user.upper()}"


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory(config=users_config())


@pytest.fixture(scope="module")
def root(endpoint):
    return client_of(endpoint, "test-root")


@pytest.fixture(scope="module")
def root_data(endpoint):
    return client_of(endpoint, "test-root", service="payment-cryptography-data")


def data_key(client, **kwargs) -> dict[str, Any]:
    """An exportable AES-128 data encryption key."""
    return client.create_key(
        KeyAttributes=attributes(
            "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"
        ),
        Exportable=True,
        **kwargs,
    )["Key"]


def kek(client) -> dict[str, Any]:
    return client.create_key(
        KeyAttributes=attributes(
            "TR31_K0_KEY_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"
        ),
        Exportable=True,
    )["Key"]


def state_of(root) -> Any:
    """Everything a request could change, as the root credential sees it."""
    keys = []
    for summary in root.list_keys()["Keys"]:
        arn = summary["KeyArn"]
        key = root.get_key(KeyIdentifier=arn)["Key"]
        tags = root.list_tags_for_resource(ResourceArn=arn)["Tags"]
        try:
            document = root.get_resource_policy(ResourceArn=arn)["Policy"]
        except botocore.exceptions.ClientError:
            document = None
        keys.append((key, tags, document))
    aliases = root.list_aliases()["Aliases"]
    return keys, aliases


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(*args, **kwargs)
    error = excinfo.value.response["Error"]
    assert error["Code"] == "AccessDeniedException", error
    return error["Message"]


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

ENCRYPT = {"PlainText": "31323334353637383132333435363738", "EncryptionAttributes": {"Symmetric": {"Mode": "ECB"}}}

# (caller, resource policy statements on the key (with {user:NAME} and {account:ID} principals),
#  plane, operation, allowed)
CASES = [
    # the identity policy alone
    ("issuer", None, "data", "EncryptData", True),
    ("issuer", None, "control", "GetKey", False),
    ("issuer", None, "control", "ExportKey", False),
    ("issuer", None, "control", "DeleteKey", False),
    ("reader", None, "control", "GetKey", True),  # Get* on key/* in any region
    ("reader", None, "control", "ListTagsForResource", False),
    ("reader", None, "data", "EncryptData", False),
    ("operator", None, "control", "GetKey", True),
    ("operator", None, "control", "TagResource", True),
    ("operator", None, "data", "EncryptData", True),
    ("operator", None, "control", "DeleteKey", False),  # explicit deny in the identity policy
    ("operator", None, "control", "ExportKey", False),
    ("nobody", None, "control", "GetKey", False),
    ("nobody", None, "data", "EncryptData", False),
    ("unbound", None, "control", "DeleteKey", True),  # a user without a policy: everything
    ("eu", None, "control", "GetKey", False),  # the request is for us-east-1
    # a resource policy naming the user grants within the account
    ("nobody", [{"Effect": "Allow", "Principal": {"AWS": "{user:nobody}"}, "Action": "payment-cryptography:GetKey", "Resource": "*"}], "control", "GetKey", True),
    ("nobody", [{"Effect": "Allow", "Principal": {"AWS": "{user:nobody}"}, "Action": "payment-cryptography:Encrypt*", "Resource": "*"}], "data", "EncryptData", True),
    # ... under the resource policy's own conditions
    ("nobody", [{"Effect": "Allow", "Principal": {"AWS": "{user:nobody}"}, "Action": "payment-cryptography:GetKey", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}], "control", "GetKey", True),
    ("nobody", [{"Effect": "Allow", "Principal": {"AWS": "{user:nobody}"}, "Action": "payment-cryptography:GetKey", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}], "control", "GetKey", False),
    # ... naming the account does not (within the account, the identity policy decides)
    ("nobody", [{"Effect": "Allow", "Principal": {"AWS": "{account:" + DEFAULT_ACCOUNT + "}"}, "Action": "*", "Resource": "*"}], "control", "GetKey", False),
    # ... naming another user grants nothing to this one
    ("nobody", [{"Effect": "Allow", "Principal": {"AWS": "{user:reader}"}, "Action": "*", "Resource": "*"}], "control", "GetKey", False),
    # an explicit deny in the resource policy wins over the identity policy's allow
    ("operator", [{"Effect": "Deny", "Principal": {"AWS": "{user:operator}"}, "Action": "payment-cryptography:Encrypt*", "Resource": "*"}], "data", "EncryptData", False),
    ("operator", [{"Effect": "Deny", "Principal": {"AWS": "{account:" + DEFAULT_ACCOUNT + "}"}, "Action": "payment-cryptography:TagResource", "Resource": "*"}], "control", "TagResource", False),
    ("operator", [{"Effect": "Deny", "Principal": {"AWS": "{user:reader}"}, "Action": "*", "Resource": "*"}], "control", "TagResource", True),
    # ... and over a resource policy allow naming the user
    ("unbound", [{"Effect": "Deny", "Principal": "*", "Action": "payment-cryptography:Delete*", "Resource": "*"}], "control", "DeleteKey", False),
    # an explicit deny in the identity policy wins over the resource policy's allow
    ("operator", [{"Effect": "Allow", "Principal": {"AWS": "{user:operator}"}, "Action": "*", "Resource": "*"}], "control", "ExportKey", False),
    # across accounts both sides must allow
    ("partner", None, "control", "GetKey", False),
    ("partner", [{"Effect": "Allow", "Principal": {"AWS": "{account:" + OTHER_ACCOUNT + "}"}, "Action": "payment-cryptography:*", "Resource": "*"}], "control", "GetKey", True),
    ("partner", [{"Effect": "Allow", "Principal": {"AWS": "{account:" + OTHER_ACCOUNT + "}"}, "Action": "payment-cryptography:*", "Resource": "*"}], "data", "EncryptData", True),
    ("partner", [{"Effect": "Allow", "Principal": {"AWS": "{account:" + OTHER_ACCOUNT + "}"}, "Action": "payment-cryptography:*", "Resource": "*"}], "control", "TagResource", False),
    ("partner", [{"Effect": "Allow", "Principal": {"AWS": "{user:partner@" + OTHER_ACCOUNT + "}"}, "Action": "payment-cryptography:GetKey", "Resource": "*"}], "control", "GetKey", True),
    ("partner", [{"Effect": "Allow", "Principal": {"AWS": "{user:other@" + OTHER_ACCOUNT + "}"}, "Action": "payment-cryptography:GetKey", "Resource": "*"}], "control", "GetKey", False),
    ("partner", [
        {"Effect": "Allow", "Principal": {"AWS": "{account:" + OTHER_ACCOUNT + "}"}, "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "{user:partner@" + OTHER_ACCOUNT + "}"}, "Action": "payment-cryptography:GetKey", "Resource": "*"},
    ], "control", "GetKey", False),
]


def principal(text: str) -> str:
    kind, _, value = text.strip("{}").partition(":")
    if kind == "account":
        return f"arn:aws:iam::{value}:root"
    name, _, account = value.partition("@")
    return f"arn:aws:iam::{account or DEFAULT_ACCOUNT}:user/{name}"


def with_principals(statements: list[dict[str, Any]]) -> str:
    statements = copy.deepcopy(statements)
    for s in statements:
        if isinstance(s["Principal"], dict):
            s["Principal"]["AWS"] = principal(s["Principal"]["AWS"])
    return policy(*statements)


def call(endpoint: str, caller: str, plane: str, operation: str, key_arn: str, kek_arn: str):
    access_key = "AKIAPARTNER" if caller == "partner" else user_key(caller)
    if plane == "data":
        client = client_of(endpoint, access_key, service="payment-cryptography-data")
        return client.encrypt_data(KeyIdentifier=key_arn, **ENCRYPT)
    client = client_of(endpoint, access_key)
    if operation == "GetKey":
        return client.get_key(KeyIdentifier=key_arn)
    if operation == "DeleteKey":
        return client.delete_key(KeyIdentifier=key_arn, DeleteKeyInDays=3)
    if operation == "TagResource":
        return client.tag_resource(ResourceArn=key_arn, Tags=[{"Key": "by", "Value": caller}])
    if operation == "ListTagsForResource":
        return client.list_tags_for_resource(ResourceArn=key_arn)
    if operation == "ExportKey":
        return client.export_key(
            ExportKeyIdentifier=key_arn,
            KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn}},
        )
    raise AssertionError(operation)


@pytest.mark.parametrize(
    "caller, statements, plane, operation, allowed",
    CASES,
    ids=[f"{c}-{'rp' if s else 'no-rp'}{i}-{p}-{o}-{'allow' if a else 'deny'}" for i, (c, s, p, o, a) in enumerate(CASES)],
)
def test_table(endpoint, root, caller, statements, plane, operation, allowed):
    key_arn = data_key(root)["KeyArn"]
    kek_arn = kek(root)["KeyArn"]
    if statements:
        root.put_resource_policy(ResourceArn=key_arn, Policy=with_principals(statements))
        # the wrapping key of an ExportKey is named by the request too: share it the same way
        root.put_resource_policy(ResourceArn=kek_arn, Policy=with_principals(statements))
    before = state_of(root)
    if allowed:
        call(endpoint, caller, plane, operation, key_arn, kek_arn)
    else:
        message = refused(call, endpoint, caller, plane, operation, key_arn, kek_arn)
        account = OTHER_ACCOUNT if caller == "partner" else DEFAULT_ACCOUNT
        assert message.startswith(
            f"User: arn:aws:iam::{account}:user/{caller} is not authorized to perform: "
            f"payment-cryptography:{operation} on resource: arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/"
        ), message
        assert state_of(root) == before


def test_messages_say_why(endpoint, root):
    key_arn = data_key(root)["KeyArn"]
    action = "payment-cryptography:DeleteKey"
    prefix = f"User: arn:aws:iam::{DEFAULT_ACCOUNT}:user/{{}} is not authorized to perform: {action} on resource: {key_arn}"
    message = refused(client_of(endpoint, user_key("issuer")).delete_key, KeyIdentifier=key_arn)
    assert message == prefix.format("issuer") + f" because no identity-based policy allows the {action} action"
    message = refused(client_of(endpoint, user_key("operator")).delete_key, KeyIdentifier=key_arn)
    assert message == prefix.format("operator") + " with an explicit deny in an identity-based policy"
    root.put_resource_policy(
        ResourceArn=key_arn,
        Policy=policy({"Effect": "Deny", "Principal": {"AWS": principal("{user:unbound}")}, "Action": "*", "Resource": "*"}),
    )
    message = refused(client_of(endpoint, user_key("unbound")).delete_key, KeyIdentifier=key_arn)
    assert message == prefix.format("unbound") + " with an explicit deny in a resource-based policy"
    # requests about no key are authorized on "*"
    message = refused(client_of(endpoint, user_key("issuer")).list_keys)
    assert message == (
        f"User: arn:aws:iam::{DEFAULT_ACCOUNT}:user/issuer is not authorized to perform: "
        "payment-cryptography:ListKeys on resource: * because no identity-based policy allows the "
        "payment-cryptography:ListKeys action"
    )


def test_aliases_authorize_against_their_key(endpoint, root):
    key_arn = data_key(root)["KeyArn"]
    root.create_alias(AliasName="alias/idp-issuer-data", KeyArn=key_arn)
    issuer = client_of(endpoint, user_key("issuer"), service="payment-cryptography-data")
    issuer.encrypt_data(KeyIdentifier="alias/idp-issuer-data", **ENCRYPT)
    # a user not allowed the key learns nothing of whether an identifier names one
    reader = client_of(endpoint, user_key("reader"))
    reader.get_key(KeyIdentifier="alias/idp-issuer-data")
    missing = key_arn[:-16] + "zzzzzzzzzzzzzzzz"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        reader.get_key(KeyIdentifier=missing)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    refused(client_of(endpoint, user_key("issuer")).get_key, KeyIdentifier=missing)


def test_a_data_plane_user_cannot_export_or_delete(endpoint, root):
    key_arn = data_key(root)["KeyArn"]
    kek_arn = kek(root)["KeyArn"]
    issuer = client_of(endpoint, user_key("issuer"), service="payment-cryptography-data")
    cipher = issuer.encrypt_data(KeyIdentifier=key_arn, **ENCRYPT)["CipherText"]
    clear = issuer.decrypt_data(
        KeyIdentifier=key_arn, CipherText=cipher, DecryptionAttributes={"Symmetric": {"Mode": "ECB"}}
    )["PlainText"]
    assert clear == ENCRYPT["PlainText"]
    control = client_of(endpoint, user_key("issuer"))
    before = state_of(root)
    refused(
        control.export_key,
        ExportKeyIdentifier=key_arn,
        KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn}},
    )
    refused(control.delete_key, KeyIdentifier=key_arn)
    refused(control.create_key, KeyAttributes=attributes(
        "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"
    ), Exportable=True)
    refused(control.update_alias, AliasName="alias/none", KeyArn=key_arn)
    assert state_of(root) == before


def test_requests_naming_several_keys_need_every_key(endpoint, root):
    """ExportKey names the exported key and its wrapping key: a user allowed one only is refused."""
    key_arn = data_key(root)["KeyArn"]
    kek_arn = kek(root)["KeyArn"]
    # `nobody` is granted ExportKey on the exported key by its policy, not on the wrapping key
    root.put_resource_policy(
        ResourceArn=key_arn,
        Policy=policy({"Effect": "Allow", "Principal": {"AWS": principal("{user:nobody}")}, "Action": "payment-cryptography:ExportKey", "Resource": "*"}),
    )
    nobody = client_of(endpoint, user_key("nobody"))
    material = {"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn}}
    message = refused(nobody.export_key, ExportKeyIdentifier=key_arn, KeyMaterial=material)
    assert f"on resource: {kek_arn}" in message
    root.put_resource_policy(
        ResourceArn=kek_arn,
        Policy=policy({"Effect": "Allow", "Principal": {"AWS": principal("{user:nobody}")}, "Action": "payment-cryptography:ExportKey", "Resource": "*"}),
    )
    exported = nobody.export_key(ExportKeyIdentifier=key_arn, KeyMaterial=material)["WrappedKey"]
    assert exported["WrappedKeyMaterialFormat"] == "TR31_KEY_BLOCK"


def test_pin_operations_need_both_of_their_keys(endpoint, root):
    """VerifyPinData names a verification key and a PIN encryption key (read together): a user allowed
    the first only is refused on the second, and a user not allowed a key that does not exist learns
    nothing of whether it does."""
    pvk = root.create_key(KeyAttributes=attributes("TR31_V2_VISA_PIN_VERIFICATION_KEY", "TDES_2KEY", "SYMMETRIC_KEY",
                                                   "Generate", "Verify"), Exportable=False)["Key"]["KeyArn"]
    pek = root.create_key(KeyAttributes=attributes("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", "SYMMETRIC_KEY",
                                                   "Encrypt", "Decrypt", "Wrap", "Unwrap"), Exportable=False)["Key"]["KeyArn"]
    pan = "4111111111111111"
    generated = client_of(endpoint, "test-root", service="payment-cryptography-data").generate_pin_data(
        GenerationKeyIdentifier=pvk, EncryptionKeyIdentifier=pek, GenerationAttributes={"VisaPin": {"PinVerificationKeyIndex": 1}},
        PrimaryAccountNumber=pan, PinBlockFormat="ISO_FORMAT_0")
    grant = policy({"Effect": "Allow", "Principal": {"AWS": principal("{user:nobody}")},
                    "Action": "payment-cryptography:VerifyPinData", "Resource": "*"})
    root.put_resource_policy(ResourceArn=pvk, Policy=grant)
    nobody = client_of(endpoint, user_key("nobody"), service="payment-cryptography-data")

    def verify(pek_arn: str):
        return nobody.verify_pin_data(
            VerificationKeyIdentifier=pvk, EncryptionKeyIdentifier=pek_arn,
            VerificationAttributes={"VisaPin": {"PinVerificationKeyIndex": 1,
                                                "VerificationValue": generated["PinData"]["VerificationValue"]}},
            EncryptedPinBlock=generated["EncryptedPinBlock"], PrimaryAccountNumber=pan, PinBlockFormat="ISO_FORMAT_0")

    assert f"on resource: {pek}" in refused(verify, pek)
    missing = pek[:-16] + "0123456789abcdef"
    assert f"on resource: {missing}" in refused(verify, missing)
    root.put_resource_policy(ResourceArn=pek, Policy=grant)
    assert verify(pek)["VerificationKeyArn"] == pvk


def test_the_region_condition(endpoint, root):
    eu_root = client_of(endpoint, "test-root", region="eu-west-1")
    eu_key = data_key(eu_root)["KeyArn"]
    eu = client_of(endpoint, user_key("eu"), region="eu-west-1")
    assert eu.get_key(KeyIdentifier=eu_key)["Key"]["KeyArn"] == eu_key
    refused(client_of(endpoint, user_key("eu")).list_keys)


# --------------------------------------------------------------------------------------------
# aws:SourceIp: from 127.0.0.1, and from 127.0.0.2 (outside the allowed range)
# --------------------------------------------------------------------------------------------


def from_address(client, address: str):
    """The client, its connections made from `address`."""
    client._endpoint.http_session._manager.connection_pool_kw["source_address"] = (address, 0)
    return client


def test_source_ip(endpoint, root):
    key_arn = data_key(root)["KeyArn"]
    local = client_of(endpoint, user_key("local"))
    assert local.get_key(KeyIdentifier=key_arn)["Key"]["KeyArn"] == key_arn
    data = client_of(endpoint, user_key("local"), service="payment-cryptography-data")
    data.encrypt_data(KeyIdentifier=key_arn, **ENCRYPT)

    before = state_of(root)
    away = from_address(client_of(endpoint, user_key("local")), "127.0.0.2")
    refused(away.get_key, KeyIdentifier=key_arn)
    refused(away.delete_key, KeyIdentifier=key_arn)
    away_data = from_address(client_of(endpoint, user_key("local"), service="payment-cryptography-data"), "127.0.0.2")
    refused(away_data.encrypt_data, KeyIdentifier=key_arn, **ENCRYPT)
    # the root credential has no policy, wherever it calls from
    assert from_address(client_of(endpoint, "test-root"), "127.0.0.2").get_key(KeyIdentifier=key_arn)
    assert state_of(root) == before


# --------------------------------------------------------------------------------------------
# Every operation of both planes, for a user allowed nothing of use
# --------------------------------------------------------------------------------------------


def union_variants(requests: ModelRequests, op: str) -> list[dict[str, Any]]:
    """The required and the full body of `op`, and one body per member of each top-level union."""
    bodies = [requests.valid_body(op), requests.valid_body(op, full=True)]
    shape = requests.shapes[requests.input_shape(op)]
    for name, member in shape["members"].items():
        union = requests.shapes[member["shape"]]
        if union.get("type") == "structure" and union.get("union"):
            for variant, variant_member in union["members"].items():
                body = requests.valid_body(op)
                body[name] = {variant: requests.value_of(variant_member["shape"])}
                bodies.append(body)
    return bodies


def test_every_operation_is_refused_to_a_user_allowed_nothing(endpoint, root):
    key_arn = kek(root)["KeyArn"]
    root.create_alias(AliasName="alias/idp-walk", KeyArn=key_arn)
    root.tag_resource(ResourceArn=key_arn, Tags=[{"Key": "walk", "Value": "before"}])
    samples = {"KeyArnOrKeyAliasType": key_arn, "KeyArn": key_arn, "ResourceArn": key_arn, "AliasName": "alias/idp-walk"}
    control = ModelRequests(MODELS / "service-2.json", {**CONTROL_SAMPLES, **samples})
    data = ModelRequests(MODELS / "data" / "service-2.json", {**DATA_SAMPLES, **samples})
    by_alias = {**samples, "KeyArnOrKeyAliasType": "alias/idp-walk"}
    data_by_alias = ModelRequests(MODELS / "data" / "service-2.json", {**DATA_SAMPLES, **by_alias})

    before = state_of(root)
    outcomes = {}
    for requests, plane in ((control, "control"), (data, "data"), (data_by_alias, "data")):
        for op in requests.operations:
            for body in union_variants(requests, op):
                payload = json.dumps(body).encode()
                if plane == "control":
                    headers = sign(endpoint, op, payload, access_key=user_key("nobody"), secret=f"{user_key('nobody')}-secret")
                    r = send_raw(endpoint, headers, payload)
                else:
                    path = requests.path(op)
                    headers = data_headers(endpoint, path, payload)
                    r = send_raw(endpoint, headers, payload, path=path)
                outcomes[(plane, op, json.dumps(body)[:80])] = (r.error_type, r.body[:200])
    wrong = {k: v for k, v in outcomes.items() if v[0] != "AccessDeniedException"}
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    assert len({op for _, op, _ in outcomes}) == len(CONTROL.operations) + len(DATA.operations)
    assert state_of(root) == before


def data_headers(endpoint: str, path: str, body: bytes) -> dict[str, str]:
    """SigV4-signed headers of a data-plane request by `nobody`."""
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=endpoint + path, data=body, headers={"Content-Type": "application/json"}
    )
    credentials = botocore.credentials.Credentials(user_key("nobody"), f"{user_key('nobody')}-secret")
    botocore.auth.SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
    out = dict(request.prepare().headers.items())
    out["Host"] = urllib.parse.urlsplit(endpoint).netloc
    return out


# --------------------------------------------------------------------------------------------
# STS, the CLI, the audit trail
# --------------------------------------------------------------------------------------------


def test_get_caller_identity_names_the_user(endpoint):
    sts = client_of(endpoint, user_key("issuer"), service="sts")
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/issuer"
    assert identity["Account"] == DEFAULT_ACCOUNT
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21
    assert client_of(endpoint, user_key("issuer"), service="sts").get_caller_identity()["UserId"] == identity["UserId"]
    assert client_of(endpoint, user_key("reader"), service="sts").get_caller_identity()["UserId"] != identity["UserId"]
    root_identity = client_of(endpoint, "test-root", service="sts").get_caller_identity()
    assert root_identity["Arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
    assert root_identity["UserId"] == DEFAULT_ACCOUNT


def test_the_cli_is_allowed_and_refused_as_the_policy_says(endpoint, root):
    key_arn = data_key(root)["KeyArn"]
    reader = AwsCli(endpoint, access_key=user_key("reader"), secret=f"{user_key('reader')}-secret")
    assert reader.run("get-key", "--key-identifier", key_arn).json()["Key"]["KeyArn"] == key_arn
    result = reader.run("delete-key", "--key-identifier", key_arn, check=False)
    assert result.returncode != 0
    assert "AccessDeniedException" in result.stderr
    assert f"user/reader is not authorized to perform: payment-cryptography:DeleteKey" in result.stderr
    assert root.get_key(KeyIdentifier=key_arn)["Key"]["KeyState"] == "CREATE_COMPLETE"


def audit_lines(server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (server.data_dir / "audit.log").read_text().splitlines()]


def test_the_audit_trail_names_the_user_and_records_refusals(server, endpoint, root):
    key_arn = data_key(root)["KeyArn"]
    reader = client_of(endpoint, user_key("reader"))
    reader.get_key(KeyIdentifier=key_arn)  # an allowed Get is not audited
    refused(reader.list_tags_for_resource, ResourceArn=key_arn)  # a refused one is
    refused(reader.delete_key, KeyIdentifier=key_arn)
    lines = audit_lines(server)
    mine = [line for line in lines if line["access_key_id"] == user_key("reader") and line["key_arn"] == key_arn]
    assert [(line["operation"], line["outcome"], line["key_arn"]) for line in mine] == [
        ("ListTagsForResource", "AccessDeniedException", key_arn),
        ("DeleteKey", "AccessDeniedException", key_arn),
    ]
    assert {line["user_arn"] for line in mine} == {f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/reader"}
    created = [line for line in lines if line["key_arn"] == key_arn and line["operation"] == "CreateKey"]
    assert created[0]["user_arn"] == f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
    assert list(mine[0])[:4] == ["time", "account", "access_key_id", "user_arn"]


# --------------------------------------------------------------------------------------------
# The configuration, at start and on SIGHUP
# --------------------------------------------------------------------------------------------


ISSUE_EXAMPLE = '''
[[accounts]]
id = "111122223333"
credentials = [
  { access_key_id = "test", secret_access_key = "test" },   # no policy: may do everything, as today
  { access_key_id = "AKIAISSUER", secret_access_key = "issuer-secret", user = "issuer-host",
    policy = \'\'\'{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
      "Action": ["payment-cryptography:VerifyPinData", "payment-cryptography:VerifyAuthRequestCryptogram"],
      "Resource": "arn:aws:payment-cryptography:*:111122223333:key/*"}]}\'\'\' },
]
'''


def test_the_documented_example_starts(server_factory):
    server = server_factory(config=ISSUE_EXAMPLE)
    issuer = make_client(server.endpoint, "AKIAISSUER", "issuer-secret")
    refused(issuer.list_keys)
    identity = make_client(server.endpoint, "AKIAISSUER", "issuer-secret", service="sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::111122223333:user/issuer-host"


BAD_CONFIGS = [
    (
        users_config({"bad": '{"Version": "2012-10-17", "Statement": []}'}),
        "line 5: the policy of user \"bad\" (access key \"AKIABAD\") is not valid: Statement must be",
    ),
    (
        users_config({"cond": policy(allow("*", Condition={"StringEquals": {"aws:PrincipalTag/team": "x"}}))}),
        "line 5: the policy of user \"cond\" (access key \"AKIACOND\") is not valid: statement 1: condition key aws:PrincipalTag/team is not supported",
    ),
    (
        users_config({"op": policy(allow("*", Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}))}),
        "condition operator DateLessThan is not supported",
    ),
    (
        users_config({"a": None}).replace('user = "a"', 'user = "a", role = "admin"'),
        "line 5: unknown field `role`",
    ),
    (
        users_config({"a": None, "b": None}).replace("AKIAB", "AKIAA"),
        "line 6: access key id \"AKIAA\" is configured more than once (first at",
    ),
]


@pytest.mark.parametrize("config, expected", BAD_CONFIGS, ids=["policy", "condition-key", "condition-operator", "field", "duplicate"])
def test_bad_configs_stop_the_server_naming_the_line(tmp_path, config, expected):
    path = tmp_path / "paycrypt.toml"
    path.write_text(config)
    proc = run_paycrypt("serve", "--config", str(path), "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0")
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr
    assert f"{path}, line" in proc.stderr
    assert "-secret" not in proc.stderr  # the line's text (and its secret) is not quoted
    assert "listening" not in proc.stdout


def test_policies_reload_on_sighup_and_a_bad_one_keeps_the_old_set(server_factory):
    server = server_factory(config=users_config())
    root = client_of(server.endpoint, "test-root")
    key_arn = data_key(root)["KeyArn"]
    reader = client_of(server.endpoint, user_key("reader"))
    reader.get_key(KeyIdentifier=key_arn)

    # the reader is narrowed to one other key
    narrowed = {**USERS, "reader": policy(allow("payment-cryptography:GetKey", key_arn[:-1] + "?"), deny("*", key_arn))}
    server.config.write_text(users_config(narrowed))
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            reader.get_key(KeyIdentifier=key_arn)
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDeniedException"
            break
        time.sleep(0.1)
    else:
        pytest.fail("the narrowed policy was not applied")

    # a policy that does not parse leaves the previous set in force
    server.config.write_text(users_config({**USERS, "reader": "{not json"}))
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "accounts not reloaded" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "accounts not reloaded" in server.log()
    assert "the policy of user \"reader\"" in server.log()
    refused(reader.get_key, KeyIdentifier=key_arn)
    assert server.running
