"""Multi-Region keys against the real binary with boto3: a key replicated on creation is read by
GetKey in its replica region (a client configured for that region) with the primary's KCV, the
account's default regions apply to new keys, and deleting the primary schedules its replicas."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, error_code, error_message, make_client, tdes_key

WEST = "us-west-2"
EU = "eu-west-1"


@pytest.fixture(scope="module")
def west(endpoint):
    return make_client(endpoint, region=WEST)


@pytest.fixture(scope="module")
def eu(endpoint):
    return make_client(endpoint, region=EU)


def replica_arn(arn: str, region: str) -> str:
    return arn.replace(f":{REGION}:", f":{region}:", 1)


def test_replica_is_read_in_its_region_and_deleted_with_its_primary(client, west):
    key = tdes_key(client, ReplicationRegions=[WEST])
    assert key["MultiRegionKeyType"] == "PRIMARY"
    assert key["ReplicationStatus"] == {WEST: {"Status": "SYNCHRONIZED"}}

    replica = west.get_key(KeyIdentifier=replica_arn(key["KeyArn"], WEST))["Key"]
    assert replica["KeyArn"].split(":")[3] == WEST
    assert replica["KeyArn"].rsplit("/", 1)[1] == key["KeyArn"].rsplit("/", 1)[1]
    assert replica["KeyCheckValue"] == key["KeyCheckValue"]
    assert replica["KeyAttributes"] == key["KeyAttributes"]
    assert replica["MultiRegionKeyType"] == "REPLICA"
    assert replica["PrimaryRegion"] == REGION
    assert replica["KeyState"] == "CREATE_COMPLETE"
    listed = [k for k in west.list_keys()["Keys"] if k["KeyArn"] == replica["KeyArn"]]
    assert listed and listed[0]["MultiRegionKeyType"] == "REPLICA"

    # The replica is read-only.
    with pytest.raises(ClientError) as e:
        west.delete_key(KeyIdentifier=replica["KeyArn"])
    assert error_code(e) == "ValidationException"
    assert "replica" in error_message(e) and REGION in error_message(e)

    deleted = client.delete_key(KeyIdentifier=key["KeyArn"], DeleteKeyInDays=3)["Key"]
    replica = west.get_key(KeyIdentifier=replica["KeyArn"])["Key"]
    assert replica["KeyState"] == "DELETE_PENDING"
    assert replica["DeletePendingTimestamp"] == deleted["DeletePendingTimestamp"]


def test_added_and_removed_regions(client, eu):
    key = tdes_key(client)
    assert "MultiRegionKeyType" not in key
    added = client.add_key_replication_regions(KeyIdentifier=key["KeyArn"], ReplicationRegions=[EU])["Key"]
    assert added["ReplicationStatus"] == {EU: {"Status": "SYNCHRONIZED"}}
    arn = replica_arn(key["KeyArn"], EU)
    assert eu.get_key(KeyIdentifier=arn)["Key"]["KeyCheckValue"] == key["KeyCheckValue"]
    with pytest.raises(ClientError) as e:
        client.add_key_replication_regions(KeyIdentifier=key["KeyArn"], ReplicationRegions=[REGION])
    assert error_code(e) == "ValidationException"
    assert "own region" in error_message(e)
    removed = client.remove_key_replication_regions(KeyIdentifier=key["KeyArn"], ReplicationRegions=[EU])["Key"]
    assert removed["ReplicationStatus"] == {}
    assert eu.get_key(KeyIdentifier=arn)["Key"]["KeyState"] == "DELETE_COMPLETE"


def test_default_regions_apply_to_new_keys(client, west):
    assert client.get_default_key_replication_regions()["EnabledReplicationRegions"] == []
    enabled = client.enable_default_key_replication_regions(ReplicationRegions=[WEST])
    assert enabled["EnabledReplicationRegions"] == [WEST]
    try:
        key = tdes_key(client)
        assert key["UsingDefaultReplicationRegions"] is True
        assert list(key["ReplicationStatus"]) == [WEST]
        replica = west.get_key(KeyIdentifier=replica_arn(key["KeyArn"], WEST))["Key"]
        assert replica["KeyCheckValue"] == key["KeyCheckValue"]
        opted_out = tdes_key(client, ReplicationRegions=[])
        assert opted_out["UsingDefaultReplicationRegions"] is False
        assert "ReplicationStatus" not in opted_out
    finally:
        remaining = client.disable_default_key_replication_regions(ReplicationRegions=[WEST])
    assert remaining["EnabledReplicationRegions"] == []
    assert "ReplicationStatus" not in tdes_key(client)
