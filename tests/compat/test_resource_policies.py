"""Resource policies through boto3 against the real binary, with two accounts: the owner
(111122223333) attaches policies to its keys and the other account (444455556666) uses those keys
exactly as far as the policies allow (GetKey, ExportKey under its own KEK, TagResource, ImportKey
under the owner's KEK); it is refused without a policy, against an explicit Deny and for actions
not granted. Public and malformed policies are refused and store nothing; the three policy
operations never work across accounts; the document never appears in GetKey or ListKeys.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from conftest import (
    DEFAULT_ACCOUNT,
    REGION,
    accounts_config,
    attributes,
    call_raw,
    error_code,
    error_message,
    key_count,
    make_client,
)

OTHER_ACCOUNT = "444455556666"
OTHER_KEY, OTHER_SECRET = "other", "other-secret"


@pytest.fixture(scope="module")
def server(module_server_factory):
    config = accounts_config({DEFAULT_ACCOUNT: [("test", "test")], OTHER_ACCOUNT: [(OTHER_KEY, OTHER_SECRET)]})
    return module_server_factory(config=config)


@pytest.fixture(scope="module")
def other(endpoint):
    return make_client(endpoint, OTHER_KEY, OTHER_SECRET)


def create(client, algorithm: str = "AES_128", exportable: bool = True) -> str:
    return client.create_key(
        KeyAttributes=attributes(
            "TR31_K0_KEY_ENCRYPTION_KEY", algorithm, "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"
        ),
        Exportable=exportable,
    )["Key"]["KeyArn"]


def statement(effect: str, principal, actions: list[str], resource: str, sid: str | None = None) -> dict:
    out = {
        "Effect": effect,
        "Principal": principal,
        "Action": [f"payment-cryptography:{a}" for a in actions],
        "Resource": resource,
    }
    if sid:
        out["Sid"] = sid
    return out


def policy(*statements: dict) -> str:
    # Indented on purpose: the document must come back byte for byte.
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def grant(actions: list[str], resource: str) -> str:
    principal = {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}
    return policy(statement("Allow", principal, actions, resource, sid="SharedWithPartner"))


def put(client, arn: str, document: str) -> None:
    out = client.put_resource_policy(ResourceArn=arn, Policy=document)
    assert out["ResourceArn"] == arn and out["Policy"] == document


def stored_policy(client, arn: str) -> str | None:
    try:
        return client.get_resource_policy(ResourceArn=arn)["Policy"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException"
        return None


def refused(call, code: str, **kwargs) -> str:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e) == code, error_message(e)
    return error_message(e)


def tr31_export(client, key: str, kek: str) -> dict:
    return client.export_key(
        ExportKeyIdentifier=key, KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek}}
    )["WrappedKey"]


def tr31_import(client, kek: str, block: str) -> dict:
    return client.import_key(
        KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek, "WrappedKeyBlock": block}}
    )["Key"]


def test_round_trip_and_the_document_stays_out_of_key_output(client, endpoint):
    key = create(client)
    message = refused(client.get_resource_policy, "ResourceNotFoundException", ResourceArn=key)
    assert "has no resource-based policy" in message
    document = grant(["GetKey"], key)
    put(client, key, document)
    assert stored_policy(client, key) == document
    replacement = grant(["GetKey", "TagResource"], key)
    put(client, key, replacement)
    assert stored_policy(client, key) == replacement

    # The raw wire bodies of GetKey and ListKeys carry no trace of it.
    for operation, payload in (("GetKey", {"KeyIdentifier": key}), ("ListKeys", {})):
        raw = call_raw(endpoint, operation, payload)
        assert raw.status == 200, raw.body
        body = raw.body.decode()
        assert key in body
        assert "SharedWithPartner" not in body and "Statement" not in body, body

    client.delete_resource_policy(ResourceArn=key)
    assert stored_policy(client, key) is None
    refused(client.delete_resource_policy, "ResourceNotFoundException", ResourceArn=key)


def test_the_other_account_uses_a_key_as_far_as_the_policy_allows(client, other):
    key = create(client)
    kcv = client.get_key(KeyIdentifier=key)["Key"]["KeyCheckValue"]
    b_kek = create(other, "AES_256", exportable=False)

    # No policy: refused, and alike for a key that does not exist (no probing).
    message = refused(other.get_key, "AccessDeniedException", KeyIdentifier=key)
    assert "payment-cryptography:GetKey" in message
    missing = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/aaaaaaaaaaaaaaaa"
    missing_message = refused(other.get_key, "AccessDeniedException", KeyIdentifier=missing)
    assert missing_message.replace(missing, key) == message
    with pytest.raises(ClientError) as e:
        tr31_export(other, key, b_kek)
    assert error_code(e) == "AccessDeniedException"

    put(client, key, grant(["GetKey", "ExportKey", "TagResource", "ListTagsForResource"], key))

    seen = other.get_key(KeyIdentifier=key)["Key"]
    assert seen["KeyArn"] == key and seen["KeyCheckValue"] == kcv

    # ExportKey under the other account's own KEK, and the block opens there into the same key.
    wrapped = tr31_export(other, key, b_kek)
    assert wrapped["KeyCheckValue"] == kcv and wrapped["WrappingKeyArn"] == b_kek
    copy = tr31_import(other, b_kek, wrapped["KeyMaterial"])
    assert copy["KeyCheckValue"] == kcv
    assert f":{OTHER_ACCOUNT}:key/" in copy["KeyArn"]

    other.tag_resource(ResourceArn=key, Tags=[{"Key": "shared", "Value": "yes"}])
    assert client.list_tags_for_resource(ResourceArn=key)["Tags"] == [{"Key": "shared", "Value": "yes"}]
    assert other.list_tags_for_resource(ResourceArn=key)["Tags"] == [{"Key": "shared", "Value": "yes"}]

    # Actions not granted: refused, and nothing changes.
    refused(other.delete_key, "AccessDeniedException", KeyIdentifier=key)
    refused(other.stop_key_usage, "AccessDeniedException", KeyIdentifier=key)
    refused(other.untag_resource, "AccessDeniedException", ResourceArn=key, TagKeys=["shared"])
    after = client.get_key(KeyIdentifier=key)["Key"]
    assert after["KeyState"] == "CREATE_COMPLETE" and after["Enabled"] is True

    # Never cross-account: aliases (also by ARN), CreateAlias, other regions.
    refused(other.create_alias, "ResourceNotFoundException", AliasName="alias/theirs", KeyArn=key)
    client.create_alias(AliasName="alias/shared-key", KeyArn=key)
    alias_arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:alias/shared-key"
    refused(other.get_key, "ResourceNotFoundException", KeyIdentifier=alias_arn)
    west = make_client(other.meta.endpoint_url, OTHER_KEY, OTHER_SECRET, region="eu-west-1")
    refused(west.get_key, "ResourceNotFoundException", KeyIdentifier=key)

    client.delete_resource_policy(ResourceArn=key)
    refused(other.get_key, "AccessDeniedException", KeyIdentifier=key)


def test_an_explicit_deny_overrides_an_allow(client, other):
    key = create(client)
    b_kek = create(other, "AES_256", exportable=False)
    document = policy(
        statement("Allow", {"AWS": OTHER_ACCOUNT}, ["*"], key),
        statement(
            "Deny",
            {"AWS": OTHER_ACCOUNT},
            ["Export*"],
            f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/*",
        ),
    )
    put(client, key, document)
    other.get_key(KeyIdentifier=key)
    with pytest.raises(ClientError) as e:
        tr31_export(other, key, b_kek)
    assert error_code(e) == "AccessDeniedException"
    assert "payment-cryptography:ExportKey" in error_message(e)
    # What the Allow grants works: the other account schedules the deletion of the owner's key.
    assert other.delete_key(KeyIdentifier=key)["Key"]["KeyState"] == "DELETE_PENDING"
    assert client.get_key(KeyIdentifier=key)["Key"]["KeyState"] == "DELETE_PENDING"


def test_the_owner_obeys_only_explicit_denies_and_is_never_locked_out(client):
    key = create(client)
    put(client, key, grant(["GetKey"], key))
    client.stop_key_usage(KeyIdentifier=key)
    deny_self = policy(
        statement(
            "Deny",
            {"AWS": DEFAULT_ACCOUNT},
            ["StartKeyUsage", "PutResourcePolicy", "GetResourcePolicy", "DeleteResourcePolicy"],
            "*",
        )
    )
    put(client, key, deny_self)
    refused(client.start_key_usage, "AccessDeniedException", KeyIdentifier=key)
    client.get_key(KeyIdentifier=key)
    assert stored_policy(client, key) == deny_self
    client.delete_resource_policy(ResourceArn=key)
    assert client.start_key_usage(KeyIdentifier=key)["Key"]["Enabled"] is True


def test_the_other_account_imports_under_a_shared_kek_into_its_own_account(client, other):
    kek = create(client, "AES_256", exportable=False)
    key = create(client)
    kcv = client.get_key(KeyIdentifier=key)["Key"]["KeyCheckValue"]
    block = tr31_export(client, key, kek)["KeyMaterial"]
    owner_keys, other_keys = key_count(client), key_count(other)
    with pytest.raises(ClientError) as e:
        tr31_import(other, kek, block)
    assert error_code(e) == "AccessDeniedException"
    put(client, kek, grant(["ExportKey"], kek))
    with pytest.raises(ClientError) as e:
        tr31_import(other, kek, block)
    assert error_code(e) == "AccessDeniedException"
    assert key_count(other) == other_keys
    put(client, kek, grant(["IMPORTKEY"], kek))
    imported = tr31_import(other, kek, block)
    assert imported["KeyCheckValue"] == kcv
    assert imported["KeyArn"].startswith(f"arn:aws:payment-cryptography:{REGION}:{OTHER_ACCOUNT}:key/")
    assert key_count(client) == owner_keys and key_count(other) == other_keys + 1


def test_policy_operations_are_never_cross_account(client, other):
    key = create(client)
    document = policy(statement("Allow", {"AWS": OTHER_ACCOUNT}, ["*"], "*"))
    put(client, key, document)
    refused(other.get_resource_policy, "ResourceNotFoundException", ResourceArn=key)
    refused(other.put_resource_policy, "ResourceNotFoundException", ResourceArn=key, Policy=grant(["GetKey"], "*"))
    refused(other.delete_resource_policy, "ResourceNotFoundException", ResourceArn=key)
    assert stored_policy(client, key) == document


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": [OTHER_ACCOUNT, "*"]}],
    ids=["star", "aws-star", "aws-list-with-star"],
)
def test_public_policies_are_refused_and_nothing_is_stored(client, principal):
    key = create(client)
    kept = grant(["GetKey"], key)
    put(client, key, kept)
    fresh = create(client)
    document = policy(statement("Allow", principal, ["GetKey"], "*"))
    for arn in (key, fresh):
        message = refused(client.put_resource_policy, "PublicPolicyException", ResourceArn=arn, Policy=document)
        assert "public" in message
    assert stored_policy(client, key) == kept
    assert stored_policy(client, fresh) is None


MALFORMED = [
    ("{not json", "not valid JSON"),
    ('["a"]', "must be a JSON object"),
    ('{"Statement": []}', "Version is required"),
    ('{"Version": "2008-10-17", "Statement": []}', "Version must be"),
    ('{"Version": "2012-10-17", "Statement": []}', "non-empty list"),
    (
        policy({"Effect": "Permit", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "*", "Resource": "*"}),
        "Effect must be",
    ),
    (
        policy({"Effect": "Allow", "Principal": {"AWS": "4444"}, "Action": "*", "Resource": "*"}),
        "principal 4444 is not supported",
    ),
    (
        policy({"Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"}, "Action": "*", "Resource": "*"}),
        "Principal Service is not supported",
    ),
    (
        policy({"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "kms:Decrypt", "Resource": "*"}),
        "action kms:Decrypt",
    ),
    (
        policy({"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "*", "Resource": "key"}),
        "resource key must be",
    ),
    (
        policy({"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "*"}),
        "Resource is required",
    ),
    (
        policy(
            {"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "*", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        ),
        "condition operator Bool is not supported",
    ),
    (
        policy(
            {"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}
        ),
        "condition key aws:PrincipalOrgID is not supported",
    ),
]


@pytest.mark.parametrize("document,expected", MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_policies_say_what_is_wrong_and_store_nothing(client, document, expected):
    key = create(client)
    message = refused(client.put_resource_policy, "ValidationException", ResourceArn=key, Policy=document)
    assert expected in message, message
    assert stored_policy(client, key) is None


def test_a_policy_over_the_model_limit_is_refused(client, endpoint):
    key = create(client)
    unchecked = make_client(endpoint, validate=False)  # so the server's own check is what answers
    too_long = grant(["GetKey"], key) + " " * 20481
    refused(unchecked.put_resource_policy, "ValidationException", ResourceArn=key, Policy=too_long)
    assert stored_policy(client, key) is None
