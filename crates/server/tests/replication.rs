//! Multi-Region keys through the AWS SDK for Rust, with clients of one account in several
//! regions: replicas made by CreateKey and AddKeyReplicationRegions and read in their own region
//! with the primary's KCV and material, the account's default regions, replicas that refuse
//! direct changes, deletion and restoration that carry the replicas along, removal of a region,
//! quotas, and refusals that change nothing.

mod common;

use aws_sdk_paymentcryptography::Client;
use aws_sdk_paymentcryptography::types::{
    Key, KeyAlgorithm, KeyAttributes, KeyClass, KeyModesOfUse, KeyReplicationState, KeyState,
    KeyUsage, MultiRegionKeyType,
};
use common::{ACCOUNT, MASTER_KEY, TestServer, code, code_and_message, start, start_with};
use paycrypt_service::{Limits, Sealer};
use paycrypt_store::{Scope, Store};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const EU: &str = "eu-west-1";

fn client_in(server: &TestServer, region: &str) -> Client {
    server.client_as("test", "test", region, 0)
}

fn kek_attributes() -> KeyAttributes {
    KeyAttributes::builder()
        .key_usage(KeyUsage::Tr31K0KeyEncryptionKey)
        .key_class(KeyClass::SymmetricKey)
        .key_algorithm(KeyAlgorithm::Tdes3Key)
        .key_modes_of_use(
            KeyModesOfUse::builder()
                .encrypt(true)
                .decrypt(true)
                .wrap(true)
                .unwrap(true)
                .build(),
        )
        .build()
        .unwrap()
}

/// CreateKey of a TDES key encryption key, with `regions` as ReplicationRegions when given.
async fn create(client: &Client, regions: Option<&[&str]>) -> Key {
    let mut request = client
        .create_key()
        .key_attributes(kek_attributes())
        .exportable(true);
    if let Some(regions) = regions {
        request =
            request.set_replication_regions(Some(regions.iter().map(|r| r.to_string()).collect()));
    }
    request.send().await.unwrap().key.unwrap()
}

fn in_region(arn: &str, region: &str) -> String {
    arn.replacen(EAST, region, 1)
}

async fn get(client: &Client, arn: &str) -> Key {
    client
        .get_key()
        .key_identifier(arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap()
}

/// AddKeyReplicationRegions of `regions` (as listed, repeats included) to `key`, which succeeds.
async fn add_regions(client: &Client, key: &str, regions: &[&str]) -> Key {
    client
        .add_key_replication_regions()
        .key_identifier(key)
        .set_replication_regions(Some(regions.iter().map(|r| r.to_string()).collect()))
        .send()
        .await
        .unwrap()
        .key
        .unwrap()
}

fn replicated_regions(key: &Key) -> Vec<String> {
    let mut regions: Vec<String> = key
        .replication_status
        .as_ref()
        .map(|s| s.keys().cloned().collect())
        .unwrap_or_default();
    regions.sort();
    regions
}

/// The clear material of a key as stored in `region`, opened under its own ARN.
async fn material(server: &TestServer, region: &str, arn: &str) -> Option<Vec<u8>> {
    let scope = Scope {
        account: ACCOUNT.into(),
        region: region.into(),
    };
    let id = arn.rsplit('/').next().unwrap();
    let record = server
        .store()
        .await
        .get_key(&scope, id)
        .await
        .unwrap()?
        .record;
    record.sealed_material.map(|sealed| {
        Sealer::new(&MASTER_KEY)
            .open(arn.as_bytes(), &sealed)
            .expect("replica material is sealed under its own ARN")
            .expose()
            .to_vec()
    })
}

/// Checks that the key in `region` is a synchronized replica of `primary`.
async fn assert_replica(server: &TestServer, primary: &Key, region: &str) {
    let arn = in_region(&primary.key_arn, region);
    let replica = get(&client_in(server, region), &arn).await;
    assert_eq!(replica.key_arn, arn);
    assert_eq!(
        replica.multi_region_key_type,
        Some(MultiRegionKeyType::Replica)
    );
    assert_eq!(replica.primary_region.as_deref(), Some(EAST));
    assert_eq!(replica.key_check_value, primary.key_check_value);
    assert_eq!(replica.key_attributes, primary.key_attributes);
    assert_eq!(replica.key_state, KeyState::CreateComplete);
    assert!(replica.replication_status.is_none());
    let primary_material = material(server, EAST, &primary.key_arn).await;
    assert!(primary_material.is_some());
    assert_eq!(material(server, region, &arn).await, primary_material);
}

#[tokio::test]
async fn create_key_with_replication_regions_makes_replicas_in_those_regions() {
    let server = start().await;
    let east = server.client();
    let key = create(&east, Some(&[WEST, EU])).await;
    assert_eq!(key.multi_region_key_type, Some(MultiRegionKeyType::Primary));
    assert_eq!(replicated_regions(&key), [EU, WEST]);
    for status in key.replication_status.as_ref().unwrap().values() {
        assert_eq!(status.status, KeyReplicationState::Synchronized);
    }
    assert_eq!(key.using_default_replication_regions, Some(false));
    assert_eq!(get(&east, &key.key_arn).await, key);
    for region in [WEST, EU] {
        assert_replica(&server, &key, region).await;
    }
    // The replica is listed in its region only.
    let west_keys = client_in(&server, WEST)
        .list_keys()
        .send()
        .await
        .unwrap()
        .keys;
    assert_eq!(west_keys.len(), 1);
    assert_eq!(west_keys[0].key_arn, in_region(&key.key_arn, WEST));
    assert_eq!(
        west_keys[0].multi_region_key_type,
        Some(MultiRegionKeyType::Replica)
    );
    assert!(
        client_in(&server, "ap-south-1")
            .list_keys()
            .send()
            .await
            .unwrap()
            .keys
            .is_empty()
    );
    // Another account sees nothing in the replica region.
    let other = server.client_as("other", "other-secret", WEST, 0);
    assert!(other.list_keys().send().await.unwrap().keys.is_empty());
}

#[tokio::test]
async fn add_key_replication_regions_replicates_existing_keys_pairs_included() {
    let server = start().await;
    let east = server.client();
    let key = create(&east, None).await;
    assert_eq!(key.multi_region_key_type, None);
    assert_eq!(key.using_default_replication_regions, None);
    let added = add_regions(&east, &key.key_arn, &[WEST]).await;
    assert_eq!(
        added.multi_region_key_type,
        Some(MultiRegionKeyType::Primary)
    );
    assert_eq!(replicated_regions(&added), [WEST]);
    assert_replica(&server, &added, WEST).await;
    // A second region later, through an alias.
    east.create_alias()
        .alias_name("alias/multi")
        .key_arn(&key.key_arn)
        .send()
        .await
        .unwrap();
    let added = east
        .add_key_replication_regions()
        .key_identifier("alias/multi")
        .replication_regions(EU)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(replicated_regions(&added), [EU, WEST]);
    assert_replica(&server, &added, EU).await;

    // Key pairs replicate too (AWS added asymmetric keys in July 2026).
    let pair = east
        .create_key()
        .key_attributes(
            KeyAttributes::builder()
                .key_usage(KeyUsage::Tr31S0AsymmetricKeyForDigitalSignature)
                .key_class(KeyClass::AsymmetricKeyPair)
                .key_algorithm(KeyAlgorithm::EccNistP256)
                .key_modes_of_use(KeyModesOfUse::builder().sign(true).build())
                .build()
                .unwrap(),
        )
        .exportable(false)
        .replication_regions(WEST)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_replica(&server, &pair, WEST).await;
}

#[tokio::test]
async fn default_regions_are_used_overridden_and_disabled() {
    let server = start().await;
    let east = server.client();
    let defaults = |c: Client| async move {
        c.get_default_key_replication_regions()
            .send()
            .await
            .unwrap()
            .enabled_replication_regions
    };
    assert!(defaults(east.clone()).await.is_empty());
    let enabled = east
        .enable_default_key_replication_regions()
        .replication_regions(WEST)
        .send()
        .await
        .unwrap()
        .enabled_replication_regions;
    assert_eq!(enabled, [WEST]);
    let enabled = east
        .enable_default_key_replication_regions()
        .replication_regions(EU)
        .replication_regions(WEST)
        .send()
        .await
        .unwrap()
        .enabled_replication_regions;
    assert_eq!(enabled, [WEST, EU]);
    assert_eq!(defaults(east.clone()).await, [WEST, EU]);
    // Defaults belong to the account and region where they were set.
    assert!(defaults(client_in(&server, WEST)).await.is_empty());
    assert!(
        defaults(server.client_as("other", "other-secret", EAST, 0))
            .await
            .is_empty()
    );

    let by_default = create(&east, None).await;
    assert_eq!(replicated_regions(&by_default), [EU, WEST]);
    assert_eq!(by_default.using_default_replication_regions, Some(true));
    assert_replica(&server, &by_default, EU).await;

    // An empty list opts out; a list of its own replaces the defaults.
    let opted_out = create(&east, Some(&[])).await;
    assert_eq!(opted_out.multi_region_key_type, None);
    assert_eq!(opted_out.using_default_replication_regions, Some(false));
    let west = client_in(&server, WEST);
    assert_eq!(
        code(
            west.get_key()
                .key_identifier(in_region(&opted_out.key_arn, WEST))
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    let own = create(&east, Some(&["ap-south-1"])).await;
    assert_eq!(replicated_regions(&own), ["ap-south-1"]);
    assert_eq!(own.using_default_replication_regions, Some(false));

    let remaining = east
        .disable_default_key_replication_regions()
        .replication_regions(WEST)
        .send()
        .await
        .unwrap()
        .enabled_replication_regions;
    assert_eq!(remaining, [EU]);
    let later = create(&east, None).await;
    assert_eq!(replicated_regions(&later), [EU]);
    // Existing keys keep their replicas.
    assert_replica(&server, &by_default, WEST).await;
    east.disable_default_key_replication_regions()
        .replication_regions(EU)
        .send()
        .await
        .unwrap();
    let single = create(&east, None).await;
    assert_eq!(single.multi_region_key_type, None);
    assert_eq!(single.using_default_replication_regions, None);
}

#[tokio::test]
async fn replicas_refuse_direct_changes() {
    let server = start().await;
    let key = create(&server.client(), Some(&[WEST])).await;
    let west = client_in(&server, WEST);
    let replica_arn = in_region(&key.key_arn, WEST);
    let before = get(&west, &replica_arn).await;
    let refusals = [
        code_and_message(west.delete_key().key_identifier(&replica_arn).send().await),
        code_and_message(west.restore_key().key_identifier(&replica_arn).send().await),
        code_and_message(
            west.stop_key_usage()
                .key_identifier(&replica_arn)
                .send()
                .await,
        ),
        code_and_message(
            west.start_key_usage()
                .key_identifier(&replica_arn)
                .send()
                .await,
        ),
        code_and_message(
            west.add_key_replication_regions()
                .key_identifier(&replica_arn)
                .replication_regions(EU)
                .send()
                .await,
        ),
        code_and_message(
            west.remove_key_replication_regions()
                .key_identifier(&replica_arn)
                .replication_regions(EAST)
                .send()
                .await,
        ),
    ];
    for (code, message) in refusals {
        assert_eq!(code, "ValidationException", "{message}");
        assert!(message.contains("is a replica"), "{message}");
        assert!(message.contains(EAST), "{message}");
    }
    assert_eq!(get(&west, &replica_arn).await, before);
    assert_eq!(
        code(
            client_in(&server, EU)
                .get_key()
                .key_identifier(in_region(&key.key_arn, EU))
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn primary_deletion_restoration_and_usage_carry_the_replicas() {
    let server = start().await;
    let east = server.client();
    let key = create(&east, Some(&[WEST])).await;
    let west = client_in(&server, WEST);
    let replica_arn = in_region(&key.key_arn, WEST);

    let stopped = east
        .stop_key_usage()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap();
    assert!(!stopped.key.unwrap().enabled);
    assert!(!get(&west, &replica_arn).await.enabled);
    east.start_key_usage()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap();
    assert!(get(&west, &replica_arn).await.enabled);

    let deleted = east
        .delete_key()
        .key_identifier(&key.key_arn)
        .delete_key_in_days(3)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    let replica = get(&west, &replica_arn).await;
    assert_eq!(replica.key_state, KeyState::DeletePending);
    assert_eq!(
        replica.delete_pending_timestamp,
        deleted.delete_pending_timestamp
    );
    assert!(!replica.enabled);

    east.restore_key()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap();
    let replica = get(&west, &replica_arn).await;
    assert_eq!(replica.key_state, KeyState::CreateComplete);
    assert_eq!(replica.delete_pending_timestamp, None);

    east.delete_key()
        .key_identifier(&key.key_arn)
        .delete_key_in_days(3)
        .send()
        .await
        .unwrap();
    server.advance_days(4);
    let replica = get(&west, &replica_arn).await;
    assert_eq!(replica.key_state, KeyState::DeleteComplete);
    assert_eq!(material(&server, WEST, &replica_arn).await, None);
    assert_eq!(
        get(&east, &key.key_arn).await.key_state,
        KeyState::DeleteComplete
    );
}

#[tokio::test]
async fn removing_a_region_deletes_its_replica_at_once() {
    let server = start().await;
    let east = server.client();
    let key = create(&east, Some(&[WEST, EU])).await;
    let west = client_in(&server, WEST);
    let replica_arn = in_region(&key.key_arn, WEST);
    west.create_alias()
        .alias_name("alias/replica")
        .key_arn(&replica_arn)
        .send()
        .await
        .unwrap();
    let removed = east
        .remove_key_replication_regions()
        .key_identifier(&key.key_arn)
        .replication_regions(WEST)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(replicated_regions(&removed), [EU]);
    let replica = get(&west, &replica_arn).await;
    assert_eq!(replica.key_state, KeyState::DeleteComplete);
    assert!(replica.delete_timestamp.is_some());
    assert_eq!(material(&server, WEST, &replica_arn).await, None);
    assert_eq!(
        code(west.get_alias().alias_name("alias/replica").send().await),
        "ResourceNotFoundException"
    );
    assert_replica(&server, &removed, EU).await;
    // The region can be added again: a new replica with the same material.
    let again = east
        .add_key_replication_regions()
        .key_identifier(&key.key_arn)
        .replication_regions(WEST)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_replica(&server, &again, WEST).await;
}

#[tokio::test]
async fn replicas_count_against_their_region_quota_and_a_refused_group_writes_nothing() {
    let server = start_with(Limits {
        max_keys: 1,
        ..Limits::default()
    })
    .await;
    let east = server.client();
    let west = client_in(&server, WEST);
    create(&west, None).await;
    let (code, message) = code_and_message(
        east.create_key()
            .key_attributes(kek_attributes())
            .exportable(true)
            .replication_regions(WEST)
            .send()
            .await,
    );
    assert_eq!(code, "ServiceQuotaExceededException", "{message}");
    assert!(east.list_keys().send().await.unwrap().keys.is_empty());
    let key = create(&east, None).await;
    let (code, _) = code_and_message(
        east.add_key_replication_regions()
            .key_identifier(&key.key_arn)
            .replication_regions(WEST)
            .send()
            .await,
    );
    assert_eq!(code, "ServiceQuotaExceededException");
    assert_eq!(get(&east, &key.key_arn).await, key);
    assert_eq!(west.list_keys().send().await.unwrap().keys.len(), 1);
}

#[tokio::test]
async fn repeated_and_already_replicated_regions_are_each_replicated_once() {
    let server = start().await;
    let east = server.client();
    let key = create(&east, Some(&[WEST, WEST])).await;
    assert_eq!(replicated_regions(&key), [WEST]);
    assert_eq!(add_regions(&east, &key.key_arn, &[WEST]).await, key);
    let added = add_regions(&east, &key.key_arn, &[WEST, EU, EU]).await;
    assert_eq!(replicated_regions(&added), [EU, WEST]);
    assert_replica(&server, &added, EU).await;
    assert_replica(&server, &added, WEST).await;
}

#[tokio::test]
async fn refused_replication_requests_change_nothing() {
    let server = start().await;
    let east = server.client();
    let key = create(&east, Some(&[WEST])).await;
    let disabled = create(&east, None).await;
    east.stop_key_usage()
        .key_identifier(&disabled.key_arn)
        .send()
        .await
        .unwrap();
    let disabled = get(&east, &disabled.key_arn).await;

    let add = |arn: &str, regions: &[&str]| {
        east.add_key_replication_regions()
            .key_identifier(arn)
            .set_replication_regions(Some(regions.iter().map(|r| r.to_string()).collect()))
            .send()
    };
    let cases = [
        (
            code_and_message(add(&key.key_arn, &[EAST]).await),
            "own region",
        ),
        (
            code_and_message(add(&key.key_arn, &[]).await),
            "at least one",
        ),
        (
            code_and_message(add(&key.key_arn, &["us_west"]).await),
            "replicationRegions",
        ),
        (
            code_and_message(add(&disabled.key_arn, &[EU]).await),
            "disabled",
        ),
        (
            code_and_message(
                east.remove_key_replication_regions()
                    .key_identifier(&key.key_arn)
                    .replication_regions(EU)
                    .send()
                    .await,
            ),
            "not replicated",
        ),
        (
            code_and_message(
                east.create_key()
                    .key_attributes(kek_attributes())
                    .exportable(true)
                    .replication_regions(EU)
                    .replication_regions(EAST)
                    .send()
                    .await,
            ),
            "own region",
        ),
        (
            code_and_message(
                east.enable_default_key_replication_regions()
                    .replication_regions(EAST)
                    .send()
                    .await,
            ),
            "own region",
        ),
    ];
    for ((code, message), expected) in cases {
        assert_eq!(code, "ValidationException", "{message}");
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
    assert_eq!(get(&east, &key.key_arn).await, key);
    assert_eq!(get(&east, &disabled.key_arn).await, disabled);
    assert_eq!(east.list_keys().send().await.unwrap().keys.len(), 2);
    assert!(
        client_in(&server, EU)
            .list_keys()
            .send()
            .await
            .unwrap()
            .keys
            .is_empty()
    );
    assert_eq!(
        client_in(&server, WEST)
            .list_keys()
            .send()
            .await
            .unwrap()
            .keys
            .len(),
        1
    );
    assert!(
        east.get_default_key_replication_regions()
            .send()
            .await
            .unwrap()
            .enabled_replication_regions
            .is_empty()
    );
}
