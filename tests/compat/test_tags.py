"""Tags through boto3: TagResource, UntagResource, ListTagsForResource, and tags at CreateKey."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import DEFAULT_ACCOUNT, REGION, accounts_config, error_code, key_count, make_client, tdes_key


def tags_of(client, arn: str, page_size: int | None = None) -> dict[str, str]:
    config = {"PageSize": page_size} if page_size else {}
    pages = client.get_paginator("list_tags_for_resource").paginate(ResourceArn=arn, PaginationConfig=config)
    out: dict[str, str] = {}
    for page in pages:
        for tag in page["Tags"]:
            assert tag["Key"] not in out, f"duplicate tag {tag['Key']}"
            out[tag["Key"]] = tag["Value"]
    return out


def test_tags_at_create(client):
    key = tdes_key(client, Tags=[{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "test"}])
    assert tags_of(client, key["KeyArn"]) == {"team": "payments", "env": "test"}
    untagged = tdes_key(client)
    response = client.list_tags_for_resource(ResourceArn=untagged["KeyArn"])
    assert response["Tags"] == [] and "NextToken" not in response


def test_tag_overwrite_untag(client):
    key = tdes_key(client)
    arn = key["KeyArn"]
    response = client.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    assert set(response) == {"ResponseMetadata"}
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "20"}, {"Key": "c", "Value": "3"}])
    assert tags_of(client, arn) == {"a": "1", "b": "20", "c": "3"}
    response = client.untag_resource(ResourceArn=arn, TagKeys=["a", "not-there"])
    assert set(response) == {"ResponseMetadata"}
    assert tags_of(client, arn) == {"b": "20", "c": "3"}
    client.untag_resource(ResourceArn=arn, TagKeys=["b", "c"])
    assert tags_of(client, arn) == {}


def test_tags_are_per_key(client):
    k1, k2 = tdes_key(client), tdes_key(client)
    client.tag_resource(ResourceArn=k1["KeyArn"], Tags=[{"Key": "owner", "Value": "one"}])
    client.tag_resource(ResourceArn=k2["KeyArn"], Tags=[{"Key": "owner", "Value": "two"}])
    assert tags_of(client, k1["KeyArn"]) == {"owner": "one"}
    assert tags_of(client, k2["KeyArn"]) == {"owner": "two"}


def test_list_tags_pagination(client):
    key = tdes_key(client)
    expected = {f"tag-{i:02d}": f"value {i}" for i in range(9)}
    client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": k, "Value": v} for k, v in expected.items()])

    seen, pages, token = [], 0, None
    while True:
        kwargs = {"ResourceArn": key["KeyArn"], "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = client.list_tags_for_resource(**kwargs)
        pages += 1
        assert len(page["Tags"]) <= 2
        seen += page["Tags"]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 5
    assert len({t["Key"] for t in seen}) == len(seen) == 9
    assert {t["Key"]: t["Value"] for t in seen} == expected
    exact = client.list_tags_for_resource(ResourceArn=key["KeyArn"], MaxResults=9)
    assert len(exact["Tags"]) == 9 and "NextToken" not in exact
    with pytest.raises(ClientError) as e:
        client.list_tags_for_resource(ResourceArn=key["KeyArn"], NextToken="%%%not-a-token%%%")
    assert error_code(e) == "ValidationException"


def test_pending_key_cannot_be_tagged(client):
    key = tdes_key(client, Tags=[{"Key": "keep", "Value": "me"}])
    client.delete_key(KeyIdentifier=key["KeyArn"])
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "new", "Value": "x"}])
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        client.untag_resource(ResourceArn=key["KeyArn"], TagKeys=["keep"])
    assert error_code(e) == "ValidationException"
    # listing still works and shows nothing changed
    assert tags_of(client, key["KeyArn"]) == {"keep": "me"}
    client.restore_key(KeyIdentifier=key["KeyArn"])
    client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "new", "Value": "x"}])
    assert tags_of(client, key["KeyArn"]) == {"keep": "me", "new": "x"}


def test_tag_unknown_key_is_not_found(client):
    arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/1234567890abcdef"
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.untag_resource(ResourceArn=arn, TagKeys=["k"])
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.list_tags_for_resource(ResourceArn=arn)
    assert error_code(e) == "ResourceNotFoundException"


def test_tag_operations_take_key_arns_only(endpoint, client):
    key = tdes_key(client)
    client.create_alias(AliasName="alias/tag-target", KeyArn=key["KeyArn"])
    raw = make_client(endpoint, validate=False)
    for resource in ("alias/tag-target", f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:alias/tag-target"):
        with pytest.raises(ClientError) as e:
            raw.tag_resource(ResourceArn=resource, Tags=[{"Key": "k", "Value": "v"}])
        assert error_code(e) == "ValidationException"
        with pytest.raises(ClientError) as e:
            raw.list_tags_for_resource(ResourceArn=resource)
        assert error_code(e) == "ValidationException"
    assert tags_of(client, key["KeyArn"]) == {}


@pytest.mark.parametrize(
    "tags,member",
    [
        ([{"Key": "", "Value": "v"}], "tags.1.member.key"),
        ([{"Key": "k" * 129, "Value": "v"}], "tags.1.member.key"),
        ([{"Key": "k", "Value": "v" * 257}], "tags.1.member.value"),
        ([{"Key": "ok", "Value": "v"}, {"Key": "k", "Value": ""}], "tags.2.member.value"),
    ],
)
def test_tag_length_limits(endpoint, client, tags, member):
    key = tdes_key(client)
    raw = make_client(endpoint, validate=False)
    with pytest.raises(ClientError) as e:
        raw.tag_resource(ResourceArn=key["KeyArn"], Tags=tags)
    assert error_code(e) == "ValidationException"
    assert member in e.value.response["Error"]["Message"]
    assert tags_of(client, key["KeyArn"]) == {}


def test_tag_boundary_lengths_accepted(client):
    key = tdes_key(client)
    client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "k" * 128, "Value": "v" * 256}])
    assert tags_of(client, key["KeyArn"]) == {"k" * 128: "v" * 256}


def test_duplicate_tag_keys_in_one_request(client):
    before = key_count(client)
    with pytest.raises(ClientError) as e:
        tdes_key(client, Tags=[{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}])
    assert error_code(e) == "ValidationException"
    assert key_count(client) == before
    key = tdes_key(client)
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}])
    assert error_code(e) == "ValidationException"
    assert tags_of(client, key["KeyArn"]) == {}


def test_tag_quota(server_factory):
    config = accounts_config({DEFAULT_ACCOUNT: [("test", "test")]}, limits={"tags_per_key": 3})
    client = make_client(server_factory(config=config).endpoint)
    key = tdes_key(client, Tags=[{"Key": f"t{i}", "Value": "v"} for i in range(3)])
    # overwriting existing tags at the limit is fine
    client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "t0", "Value": "changed"}])
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "t1", "Value": "changed too"}, {"Key": "t3", "Value": "v"}])
    assert error_code(e) == "ServiceQuotaExceededException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    # the refused request changed nothing, not even the tag it would have overwritten
    assert tags_of(client, key["KeyArn"]) == {"t0": "changed", "t1": "v", "t2": "v"}
    client.untag_resource(ResourceArn=key["KeyArn"], TagKeys=["t2"])
    client.tag_resource(ResourceArn=key["KeyArn"], Tags=[{"Key": "t3", "Value": "v"}])
    assert set(tags_of(client, key["KeyArn"])) == {"t0", "t1", "t3"}
    # CreateKey with more tags than allowed creates nothing
    with pytest.raises(ClientError) as e:
        tdes_key(client, Tags=[{"Key": f"n{i}", "Value": "v"} for i in range(4)])
    assert error_code(e) == "ServiceQuotaExceededException"
    assert key_count(client) == 1
