//! The store conformance suite: the behaviour every `Store` implementation must show, run here
//! against SQLite in a temporary directory.

use paycrypt_store::{
    AuthorityRecord, KeyRecord, Scope, SqliteStore, Store, StoreError, Tag, TokenRecord,
};

fn scope(account: &str) -> Scope {
    Scope {
        account: account.to_string(),
        region: "us-east-1".to_string(),
    }
}

fn key(id: &str, state: &str) -> KeyRecord {
    KeyRecord {
        key_id: id.to_string(),
        state: state.to_string(),
        delete_pending_ms: None,
        metadata: format!("{{\"id\":\"{id}\"}}"),
        sealed_material: Some(vec![1, 2, 3]),
    }
}

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.to_string(),
        value: v.to_string(),
    }
}

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn keys_round_trip_and_update() {
    let (_dir, store) = open().await;
    let s = scope("111122223333");
    let seq = store
        .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[], 10)
        .await
        .unwrap();
    let got = store.get_key(&s, "k1").await.unwrap().unwrap();
    assert_eq!(got.seq, seq);
    assert_eq!(got.record, key("k1", "CREATE_COMPLETE"));

    let mut changed = key("k1", "DELETE_PENDING");
    changed.delete_pending_ms = Some(42);
    changed.metadata = "{}".into();
    store.update_key(&s, &changed).await.unwrap();
    assert_eq!(
        store.get_key(&s, "k1").await.unwrap().unwrap().record,
        changed
    );

    let missing = store.update_key(&s, &key("nope", "CREATE_COMPLETE")).await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
    let dup = store
        .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[], 10)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict)));
}

#[tokio::test]
async fn scopes_are_isolated() {
    let (_dir, store) = open().await;
    let a = scope("111111111111");
    let b = scope("222222222222");
    let other_region = Scope {
        account: a.account.clone(),
        region: "eu-west-1".into(),
    };
    store
        .insert_key(&a, &key("k1", "CREATE_COMPLETE"), &[tag("t", "v")], 10)
        .await
        .unwrap();
    store
        .create_alias(&a, "alias/x", Some("k1"), 10)
        .await
        .unwrap();
    for other in [&b, &other_region] {
        assert!(store.get_key(other, "k1").await.unwrap().is_none());
        assert!(
            store
                .list_keys(other, None, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.get_alias(other, "alias/x").await.unwrap().is_none());
        assert!(
            store
                .list_tags(other, "k1", None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // The same names are free in another scope.
        store
            .insert_key(other, &key("k1", "CREATE_COMPLETE"), &[], 10)
            .await
            .unwrap();
        store
            .create_alias(other, "alias/x", None, 10)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn key_quota_ignores_completed_deletions() {
    let (_dir, store) = open().await;
    let s = scope("111122223333");
    store
        .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[], 2)
        .await
        .unwrap();
    store
        .insert_key(&s, &key("k2", "DELETE_PENDING"), &[], 2)
        .await
        .unwrap();
    let over = store
        .insert_key(&s, &key("k3", "CREATE_COMPLETE"), &[], 2)
        .await;
    assert!(matches!(over, Err(StoreError::QuotaExceeded)));
    assert!(store.get_key(&s, "k3").await.unwrap().is_none());
    store
        .complete_deletion(&s, &key("k2", "DELETE_COMPLETE"))
        .await
        .unwrap();
    store
        .insert_key(&s, &key("k3", "CREATE_COMPLETE"), &[], 2)
        .await
        .unwrap();
}

#[tokio::test]
async fn list_keys_pages_in_insertion_order_with_filter() {
    let (_dir, store) = open().await;
    let s = scope("111122223333");
    for i in 0..7 {
        let state = if i % 2 == 0 {
            "CREATE_COMPLETE"
        } else {
            "DELETE_PENDING"
        };
        store
            .insert_key(&s, &key(&format!("k{i}"), state), &[], 100)
            .await
            .unwrap();
    }
    let first = store.list_keys(&s, None, None, 3).await.unwrap();
    let ids: Vec<_> = first.iter().map(|k| k.record.key_id.as_str()).collect();
    assert_eq!(ids, ["k0", "k1", "k2"]);
    let rest = store
        .list_keys(&s, None, Some(first[2].seq), 10)
        .await
        .unwrap();
    let ids: Vec<_> = rest.iter().map(|k| k.record.key_id.as_str()).collect();
    assert_eq!(ids, ["k3", "k4", "k5", "k6"]);
    let pending = store
        .list_keys(&s, Some("DELETE_PENDING"), None, 10)
        .await
        .unwrap();
    let ids: Vec<_> = pending.iter().map(|k| k.record.key_id.as_str()).collect();
    assert_eq!(ids, ["k1", "k3", "k5"]);
}

#[tokio::test]
async fn due_deletions_complete_and_take_aliases_with_them() {
    let (_dir, store) = open().await;
    let s = scope("111122223333");
    let mut pending = key("k1", "DELETE_PENDING");
    pending.delete_pending_ms = Some(1_000);
    store.insert_key(&s, &pending, &[], 10).await.unwrap();
    store
        .insert_key(&s, &key("k2", "CREATE_COMPLETE"), &[], 10)
        .await
        .unwrap();
    store
        .create_alias(&s, "alias/gone", Some("k1"), 10)
        .await
        .unwrap();
    store
        .create_alias(&s, "alias/kept", Some("k2"), 10)
        .await
        .unwrap();

    assert!(store.due_deletions(&s, 999).await.unwrap().is_empty());
    let due = store.due_deletions(&s, 1_000).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].record.key_id, "k1");

    let mut done = due[0].record.clone();
    done.state = "DELETE_COMPLETE".into();
    done.sealed_material = None;
    store.complete_deletion(&s, &done).await.unwrap();
    let stored = store.get_key(&s, "k1").await.unwrap().unwrap().record;
    assert_eq!(stored.state, "DELETE_COMPLETE");
    assert!(stored.sealed_material.is_none());
    assert!(store.get_alias(&s, "alias/gone").await.unwrap().is_none());
    assert!(store.get_alias(&s, "alias/kept").await.unwrap().is_some());
    assert!(store.due_deletions(&s, 5_000).await.unwrap().is_empty());
}

#[tokio::test]
async fn aliases_are_unique_limited_and_listable_by_key() {
    let (_dir, store) = open().await;
    let s = scope("111122223333");
    store
        .create_alias(&s, "alias/a", Some("k1"), 3)
        .await
        .unwrap();
    let dup = store.create_alias(&s, "alias/a", None, 3).await;
    assert!(matches!(dup, Err(StoreError::Conflict)));
    store.create_alias(&s, "alias/b", None, 3).await.unwrap();
    store
        .create_alias(&s, "alias/c", Some("k1"), 3)
        .await
        .unwrap();
    let over = store.create_alias(&s, "alias/d", None, 3).await;
    assert!(matches!(over, Err(StoreError::QuotaExceeded)));

    let by_key = store.list_aliases(&s, Some("k1"), None, 10).await.unwrap();
    let names: Vec<_> = by_key.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["alias/a", "alias/c"]);
    let page = store
        .list_aliases(&s, None, Some(by_key[0].seq), 1)
        .await
        .unwrap();
    assert_eq!(page[0].name, "alias/b");

    let moved = store.update_alias(&s, "alias/b", Some("k2")).await.unwrap();
    assert_eq!(moved.key_id.as_deref(), Some("k2"));
    let detached = store.update_alias(&s, "alias/a", None).await.unwrap();
    assert_eq!(detached.key_id, None);
    assert!(matches!(
        store.update_alias(&s, "alias/none", None).await,
        Err(StoreError::NotFound)
    ));
    store.delete_alias(&s, "alias/a").await.unwrap();
    assert!(matches!(
        store.delete_alias(&s, "alias/a").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn tags_upsert_limit_remove_and_page() {
    let (_dir, store) = open().await;
    let s = scope("111122223333");
    store
        .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[tag("b", "1")], 10)
        .await
        .unwrap();
    store
        .put_tags(&s, "k1", &[tag("a", "2"), tag("b", "3")], 3)
        .await
        .unwrap();
    let all = store.list_tags(&s, "k1", None, 10).await.unwrap();
    assert_eq!(all, [tag("a", "2"), tag("b", "3")]);

    let over = store
        .put_tags(&s, "k1", &[tag("c", "x"), tag("d", "y")], 3)
        .await;
    assert!(matches!(over, Err(StoreError::QuotaExceeded)));
    assert_eq!(store.list_tags(&s, "k1", None, 10).await.unwrap().len(), 2);

    store.put_tags(&s, "k1", &[tag("c", "x")], 3).await.unwrap();
    let page = store.list_tags(&s, "k1", Some("a"), 1).await.unwrap();
    assert_eq!(page, [tag("b", "3")]);
    store
        .remove_tags(&s, "k1", &["a".into(), "zz".into()])
        .await
        .unwrap();
    let left = store.list_tags(&s, "k1", None, 10).await.unwrap();
    assert_eq!(left, [tag("b", "3"), tag("c", "x")]);
}

#[tokio::test]
async fn first_setting_wins() {
    let (_dir, store) = open().await;
    assert_eq!(store.init_setting("check", b"one").await.unwrap(), b"one");
    assert_eq!(store.init_setting("check", b"two").await.unwrap(), b"one");
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let s = scope("111122223333");
    {
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store
            .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[tag("t", "v")], 10)
            .await
            .unwrap();
        store
            .create_alias(&s, "alias/a", Some("k1"), 10)
            .await
            .unwrap();
    }
    let store = SqliteStore::open(dir.path()).await.unwrap();
    assert_eq!(
        store.get_key(&s, "k1").await.unwrap().unwrap().record,
        key("k1", "CREATE_COMPLETE")
    );
    assert_eq!(
        store
            .get_alias(&s, "alias/a")
            .await
            .unwrap()
            .unwrap()
            .key_id
            .as_deref(),
        Some("k1")
    );
    assert_eq!(
        store.list_tags(&s, "k1", None, 10).await.unwrap(),
        [tag("t", "v")]
    );
}

fn authority(tag: u8) -> AuthorityRecord {
    AuthorityRecord {
        certificate: vec![tag; 4],
        sealed_private_key: vec![tag; 8],
    }
}

fn token(name: &str, kind: &str, algorithm: &str, created_ms: i64) -> TokenRecord {
    TokenRecord {
        token: name.to_string(),
        kind: kind.to_string(),
        material_type: "TR34_KEY_BLOCK".to_string(),
        algorithm: algorithm.to_string(),
        certificate: vec![1],
        sealed_private_key: vec![2],
        created_ms,
        expires_ms: created_ms + 1000,
    }
}

#[tokio::test]
async fn one_authority_per_scope_first_wins() {
    let (_dir, store) = open().await;
    let a = scope("111111111111");
    let b = scope("222222222222");
    assert!(store.get_authority(&a).await.unwrap().is_none());
    assert_eq!(
        store.init_authority(&a, &authority(1)).await.unwrap(),
        authority(1)
    );
    assert_eq!(
        store.init_authority(&a, &authority(2)).await.unwrap(),
        authority(1)
    );
    assert_eq!(store.get_authority(&a).await.unwrap(), Some(authority(1)));
    assert_eq!(
        store.init_authority(&b, &authority(3)).await.unwrap(),
        authority(3)
    );
}

#[tokio::test]
async fn tokens_by_name_and_latest_by_kind() {
    let (_dir, store) = open().await;
    let s = scope("111122223333");
    store
        .insert_token(&s, &token("export-token-a", "export", "RSA_2048", 1))
        .await
        .unwrap();
    store
        .insert_token(&s, &token("export-token-b", "export", "RSA_2048", 2))
        .await
        .unwrap();
    store
        .insert_token(&s, &token("import-token-c", "import", "RSA_2048", 3))
        .await
        .unwrap();
    let dup = store
        .insert_token(&s, &token("export-token-a", "export", "RSA_2048", 4))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict)));
    assert_eq!(
        store.get_token(&s, "export-token-a").await.unwrap(),
        Some(token("export-token-a", "export", "RSA_2048", 1))
    );
    let latest = store
        .latest_token(&s, "export", "TR34_KEY_BLOCK", "RSA_2048")
        .await
        .unwrap();
    assert_eq!(latest.unwrap().token, "export-token-b");
    assert!(
        store
            .latest_token(&s, "export", "TR34_KEY_BLOCK", "RSA_4096")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_token(&scope("999999999999"), "export-token-a")
            .await
            .unwrap()
            .is_none()
    );
}
