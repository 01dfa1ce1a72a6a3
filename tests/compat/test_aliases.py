"""Aliases through boto3: CreateAlias, GetAlias, ListAliases, UpdateAlias, DeleteAlias."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from conftest import DEFAULT_ACCOUNT, REGION, accounts_config, error_code, make_client, tdes_key


def test_create_get_delete_alias(client):
    key = tdes_key(client)
    created = client.create_alias(AliasName="alias/payments/main_key-1", KeyArn=key["KeyArn"])["Alias"]
    assert created == {"AliasName": "alias/payments/main_key-1", "KeyArn": key["KeyArn"]}
    assert client.get_alias(AliasName="alias/payments/main_key-1")["Alias"] == created
    assert client.get_key(KeyIdentifier="alias/payments/main_key-1")["Key"]["KeyArn"] == key["KeyArn"]

    response = client.delete_alias(AliasName="alias/payments/main_key-1")
    assert set(response) == {"ResponseMetadata"}
    with pytest.raises(ClientError) as e:
        client.get_alias(AliasName="alias/payments/main_key-1")
    assert error_code(e) == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        client.delete_alias(AliasName="alias/payments/main_key-1")
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.get_key(KeyIdentifier="alias/payments/main_key-1")
    assert error_code(e) == "ResourceNotFoundException"
    # deleting the alias leaves the key alone
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyState"] == "CREATE_COMPLETE"


def test_alias_without_key(client):
    created = client.create_alias(AliasName="alias/unattached")["Alias"]
    assert created == {"AliasName": "alias/unattached"}
    assert client.get_alias(AliasName="alias/unattached")["Alias"] == created
    with pytest.raises(ClientError) as e:
        client.get_key(KeyIdentifier="alias/unattached")
    assert error_code(e) == "ResourceNotFoundException"


def test_duplicate_alias_is_conflict(client):
    first = tdes_key(client)
    second = tdes_key(client)
    client.create_alias(AliasName="alias/dup", KeyArn=first["KeyArn"])
    with pytest.raises(ClientError) as e:
        client.create_alias(AliasName="alias/dup", KeyArn=second["KeyArn"])
    assert error_code(e) == "ConflictException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ClientError) as e:
        client.create_alias(AliasName="alias/dup")
    assert error_code(e) == "ConflictException"
    assert client.get_alias(AliasName="alias/dup")["Alias"]["KeyArn"] == first["KeyArn"]


def test_concurrent_duplicate_alias_only_one_wins(endpoint, client):
    key = tdes_key(client)
    outcomes: list[str] = []
    lock = threading.Lock()

    def create():
        try:
            make_client(endpoint).create_alias(AliasName="alias/race", KeyArn=key["KeyArn"])
            result = "ok"
        except ClientError as e:
            result = e.response["Error"]["Code"]
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ConflictException"] * 7 + ["ok"]


def test_update_alias_moves_and_detaches(client):
    first = tdes_key(client)
    second = tdes_key(client)
    client.create_alias(AliasName="alias/moving", KeyArn=first["KeyArn"])
    moved = client.update_alias(AliasName="alias/moving", KeyArn=second["KeyArn"])["Alias"]
    assert moved == {"AliasName": "alias/moving", "KeyArn": second["KeyArn"]}
    assert client.get_key(KeyIdentifier="alias/moving")["Key"]["KeyArn"] == second["KeyArn"]

    detached = client.update_alias(AliasName="alias/moving")["Alias"]
    assert detached == {"AliasName": "alias/moving"}
    assert "KeyArn" not in client.get_alias(AliasName="alias/moving")["Alias"]
    with pytest.raises(ClientError) as e:
        client.get_key(KeyIdentifier="alias/moving")
    assert error_code(e) == "ResourceNotFoundException"

    reattached = client.update_alias(AliasName="alias/moving", KeyArn=first["KeyArn"])["Alias"]
    assert reattached["KeyArn"] == first["KeyArn"]


def test_update_unknown_alias_is_not_found(client):
    key = tdes_key(client)
    with pytest.raises(ClientError) as e:
        client.update_alias(AliasName="alias/never-created", KeyArn=key["KeyArn"])
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.get_alias(AliasName="alias/never-created")
    assert error_code(e) == "ResourceNotFoundException"


def test_alias_to_unknown_key_is_not_found_and_not_created(client):
    unknown = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/0000000000000000"
    with pytest.raises(ClientError) as e:
        client.create_alias(AliasName="alias/to-nowhere", KeyArn=unknown)
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.get_alias(AliasName="alias/to-nowhere")
    assert error_code(e) == "ResourceNotFoundException"
    # UpdateAlias to an unknown key leaves the alias as it was
    key = tdes_key(client)
    client.create_alias(AliasName="alias/stays", KeyArn=key["KeyArn"])
    with pytest.raises(ClientError) as e:
        client.update_alias(AliasName="alias/stays", KeyArn=unknown)
    assert error_code(e) == "ResourceNotFoundException"
    assert client.get_alias(AliasName="alias/stays")["Alias"]["KeyArn"] == key["KeyArn"]


def test_alias_to_key_of_other_region_is_not_found(client, endpoint):
    west_key = tdes_key(make_client(endpoint, region="us-west-2"))
    with pytest.raises(ClientError) as e:
        client.create_alias(AliasName="alias/cross-region", KeyArn=west_key["KeyArn"])
    assert error_code(e) == "ResourceNotFoundException"


def test_alias_survives_pending_deletion(client):
    key = tdes_key(client)
    client.create_alias(AliasName="alias/pending-target", KeyArn=key["KeyArn"])
    client.delete_key(KeyIdentifier=key["KeyArn"])
    assert client.get_alias(AliasName="alias/pending-target")["Alias"]["KeyArn"] == key["KeyArn"]
    assert client.get_key(KeyIdentifier="alias/pending-target")["Key"]["KeyState"] == "DELETE_PENDING"
    client.restore_key(KeyIdentifier="alias/pending-target")
    assert client.get_key(KeyIdentifier="alias/pending-target")["Key"]["KeyState"] == "CREATE_COMPLETE"


def test_alias_may_point_to_a_key_pending_deletion(client):
    # Such a key keeps the aliases it had (above), so a new one may point to it too.
    key = tdes_key(client)
    client.delete_key(KeyIdentifier=key["KeyArn"])
    created = client.create_alias(AliasName="alias/to-pending", KeyArn=key["KeyArn"])["Alias"]
    assert created["KeyArn"] == key["KeyArn"]
    client.create_alias(AliasName="alias/moved-to-pending")
    moved = client.update_alias(AliasName="alias/moved-to-pending", KeyArn=key["KeyArn"])["Alias"]
    assert moved["KeyArn"] == key["KeyArn"]
    client.restore_key(KeyIdentifier="alias/to-pending")
    assert client.get_key(KeyIdentifier="alias/moved-to-pending")["Key"]["KeyState"] == "CREATE_COMPLETE"


@pytest.mark.parametrize(
    "name",
    ["notalias/x", "alias/", "alias", "alias/has space", "alias/bad!char", "alias/" + "a" * 250 + "b"],
)
def test_invalid_alias_names(endpoint, name):
    raw = make_client(endpoint, validate=False)
    with pytest.raises(ClientError) as e:
        raw.create_alias(AliasName=name)
    assert error_code(e) == "ValidationException"
    assert "aliasName" in e.value.response["Error"]["Message"]


def test_alias_name_length_boundaries(client):
    longest = "alias/" + "a" * 250  # 256 characters, the maximum
    shortest = "alias/x"  # 7 characters, the minimum
    for name in (longest, shortest):
        assert client.create_alias(AliasName=name)["Alias"]["AliasName"] == name
        assert client.get_alias(AliasName=name)["Alias"]["AliasName"] == name


def test_alias_key_arn_must_be_a_key_arn(endpoint, client):
    key = tdes_key(client)
    client.create_alias(AliasName="alias/real", KeyArn=key["KeyArn"])
    raw = make_client(endpoint, validate=False)
    alias_arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:alias/real"
    with pytest.raises(ClientError) as e:
        raw.create_alias(AliasName="alias/via-alias", KeyArn=alias_arn)
    assert error_code(e) == "ValidationException"


def test_list_aliases_pagination_and_filter(server_factory):
    client = make_client(server_factory().endpoint)
    k1, k2 = tdes_key(client), tdes_key(client)
    names = [f"alias/page-{i}" for i in range(7)]
    for i, name in enumerate(names):
        client.create_alias(AliasName=name, KeyArn=(k1 if i % 2 == 0 else k2)["KeyArn"])
    client.create_alias(AliasName="alias/page-none")

    seen, pages, token = [], 0, None
    while True:
        kwargs = {"MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = client.list_aliases(**kwargs)
        pages += 1
        assert len(page["Aliases"]) <= 3
        seen += page["Aliases"]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3
    seen_names = [a["AliasName"] for a in seen]
    assert len(seen_names) == len(set(seen_names)) == 8
    assert set(seen_names) == set(names) | {"alias/page-none"}
    by_name = {a["AliasName"]: a for a in seen}
    assert "KeyArn" not in by_name["alias/page-none"]
    assert by_name["alias/page-1"]["KeyArn"] == k2["KeyArn"]

    full = client.list_aliases(MaxResults=8)
    assert len(full["Aliases"]) == 8 and "NextToken" not in full

    filtered = [a["AliasName"] for p in client.get_paginator("list_aliases").paginate(KeyArn=k1["KeyArn"], PaginationConfig={"PageSize": 1}) for a in p["Aliases"]]
    assert sorted(filtered) == sorted(names[0::2])

    with pytest.raises(ClientError) as e:
        client.list_aliases(NextToken="bogus-token")
    assert error_code(e) == "ValidationException"


def test_alias_quota(server_factory):
    config = accounts_config({DEFAULT_ACCOUNT: [("test", "test")]}, limits={"aliases_per_region": 2})
    client = make_client(server_factory(config=config).endpoint)
    client.create_alias(AliasName="alias/q1")
    client.create_alias(AliasName="alias/q2")
    with pytest.raises(ClientError) as e:
        client.create_alias(AliasName="alias/q3")
    assert error_code(e) == "ServiceQuotaExceededException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 402
    with pytest.raises(ClientError) as e:
        client.get_alias(AliasName="alias/q3")
    assert error_code(e) == "ResourceNotFoundException"
    # another region has its own quota; deleting one frees a slot
    make_client(client.meta.endpoint_url, region="eu-central-1").create_alias(AliasName="alias/q3")
    client.delete_alias(AliasName="alias/q1")
    client.create_alias(AliasName="alias/q3")
    assert sorted(a["AliasName"] for a in client.list_aliases()["Aliases"]) == ["alias/q2", "alias/q3"]
