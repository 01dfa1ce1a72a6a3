//! The store conformance suite: the behaviour every `Store` implementation must show. Each test
//! body is written once against a [`Backend`] and runs twice: on SQLite in a temporary directory,
//! and on PostgreSQL in a database created for that test alone on the server that
//! `PAYCRYPT_TEST_DATABASE_URL` names (an administrator's URL, such as
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without the variable the PostgreSQL variants say
//! they were skipped and pass; `scripts/postgres-test-server` starts a server to set it to.
//!
//! The race tests fire many calls at once from several nodes (separate connection pools on one
//! PostgreSQL database; SQLite serves a single node, so there they share one store) and check that
//! uniqueness, quotas and first-writer-wins hold.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use paycrypt_store::{
    AuthorityRecord, KeyRecord, KeyWrite, PostgresStore, Scope, SqliteStore, Store, StoreError,
    StoreResult, Tag, TokenRecord,
};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

/// The variable naming the PostgreSQL server the PostgreSQL variants use.
const DATABASE_URL_VAR: &str = "PAYCRYPT_TEST_DATABASE_URL";

/// Declares each named test body twice: once in `mod sqlite`, once in `mod postgres`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(&super::Backend::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    match super::PgDatabase::create().await {
                        Some(database) => {
                            super::$name(&super::Backend::Postgres(database)).await;
                        }
                        None => super::skipped(stringify!($name)),
                    }
                }
            )*
        }
    };
}

conformance!(
    keys_round_trip_and_update,
    key_pairs_read_as_single_keys_do,
    scopes_are_isolated,
    key_quota_ignores_completed_deletions,
    list_keys_pages_in_insertion_order_with_filter,
    due_deletions_complete_and_take_aliases_with_them,
    next_deletion_is_the_earliest_pending_deadline_of_the_scope,
    aliases_are_unique_limited_and_listable_by_key,
    tags_upsert_limit_remove_and_page,
    first_setting_wins,
    data_survives_reopen,
    one_authority_per_scope_first_wins,
    tokens_by_name_and_latest_by_kind,
    nodes_starting_together_migrate_once,
    racing_aliases_one_name_one_winner_and_quota_holds,
    racing_keys_respect_quota_and_unique_ids,
    racing_tags_respect_quota,
    racing_authorities_and_settings_agree_on_one,
    racing_sweeps_complete_each_deletion_once,
    racing_tokens_agree_on_latest,
    key_groups_write_all_regions_or_none,
    key_groups_replace_completed_replicas_and_drop_their_aliases,
    racing_key_groups_one_writer_wins,
    scope_settings_compare_and_set,
    racing_scope_settings_one_writer_wins,
    inventory_counts_keys_by_state_and_names_an_accounts_regions,
);

/// Says, past the test harness's capture, that a PostgreSQL variant did not run.
fn skipped(test: &str) {
    let line = format!("postgres::{test}: skipped ({DATABASE_URL_VAR} is not set)\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Where one test's data lives.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabase),
}

impl Backend {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    /// Opens the store anew, as a restarted node would.
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(dir) => Arc::new(SqliteStore::open(dir.path()).await.unwrap()),
            Self::Postgres(database) => {
                Arc::new(PostgresStore::connect(&database.url).await.unwrap())
            }
        }
    }

    /// The stores of `count` nodes sharing the data, opened at the same moment. SQLite serves one
    /// node, so its nodes are one store.
    async fn nodes(&self, count: usize) -> Vec<Arc<dyn Store>> {
        match self {
            Self::Sqlite(_) => vec![self.open().await; count],
            Self::Postgres(database) => {
                let barrier = Arc::new(Barrier::new(count));
                let mut opening = JoinSet::new();
                for _ in 0..count {
                    let (barrier, url) = (barrier.clone(), database.url.clone());
                    opening.spawn(async move {
                        barrier.wait().await;
                        PostgresStore::connect(&url).await
                    });
                }
                opening
                    .join_all()
                    .await
                    .into_iter()
                    .map(|store| Arc::new(store.unwrap()) as Arc<dyn Store>)
                    .collect()
            }
        }
    }
}

/// A database created for one test on the server of `PAYCRYPT_TEST_DATABASE_URL`, dropped with
/// the value (also when the test fails).
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    /// Creates the database, or returns `None` when no server is configured.
    async fn create() -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin_url = std::env::var(DATABASE_URL_VAR).ok()?;
        let name = format!(
            "paycrypt_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {DATABASE_URL_VAR}: {e}"));
        // A database left by an earlier run whose process had the same id goes first.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        admin.close().await.unwrap();
        let url = with_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for PgDatabase {
    /// Drops the database from a thread of its own, so that this works from any runtime and while
    /// a failed test unwinds. Connections still open are closed by `WITH (FORCE)`.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())?;
                admin.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            let line = format!("could not drop test database {}: {e}\n", self.name);
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// `url` with its database replaced by `database`, keeping user, host and parameters.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Runs `count` calls of `op` at the same moment, spread over `nodes`, and returns their results
/// in call order. `op` receives a node and the call's index.
async fn race<T, F, Fut>(nodes: &[Arc<dyn Store>], count: usize, op: F) -> Vec<StoreResult<T>>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: Future<Output = StoreResult<T>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(count));
    let calls: Vec<_> = (0..count)
        .map(|i| {
            let call = op(nodes[i % nodes.len()].clone(), i);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(count);
    for call in calls {
        results.push(call.await.unwrap());
    }
    results
}

/// How many results are `Ok`, and panics on any error that is not `expected`.
fn count_ok<T>(results: &[StoreResult<T>], expected: fn(&StoreError) -> bool) -> usize {
    for result in results {
        if let Err(e) = result {
            assert!(expected(e), "unexpected error: {e:?}");
        }
    }
    results.iter().filter(|r| r.is_ok()).count()
}

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

async fn keys_round_trip_and_update(db: &Backend) {
    let store = db.open().await;
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
    store
        .update_key(&s, &changed, &key("k1", "CREATE_COMPLETE"))
        .await
        .unwrap();
    assert_eq!(
        store.get_key(&s, "k1").await.unwrap().unwrap().record,
        changed
    );
    // A write based on what the key was before that update is refused and changes nothing.
    let stale = store
        .update_key(
            &s,
            &key("k1", "CREATE_COMPLETE"),
            &key("k1", "CREATE_COMPLETE"),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict)));
    let stale = store
        .complete_deletion(
            &s,
            &key("k1", "DELETE_COMPLETE"),
            &key("k1", "CREATE_COMPLETE"),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict)));
    assert_eq!(
        store.get_key(&s, "k1").await.unwrap().unwrap().record,
        changed
    );

    let missing = store
        .update_key(
            &s,
            &key("nope", "CREATE_COMPLETE"),
            &key("nope", "CREATE_COMPLETE"),
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
    let dup = store
        .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[], 10)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict)));
}

async fn key_pairs_read_as_single_keys_do(db: &Backend) {
    let store = db.open().await;
    let s = scope("111122223333");
    let other = scope("444455556666");
    for (id, state) in [("k1", "CREATE_COMPLETE"), ("k2", "DELETE_PENDING")] {
        store
            .insert_key(&s, &key(id, state), &[], 10)
            .await
            .unwrap();
    }
    store
        .insert_key(&other, &key("k3", "CREATE_COMPLETE"), &[], 10)
        .await
        .unwrap();
    let single = |id: &'static str| {
        let store = &store;
        let s = &s;
        async move { store.get_key(s, id).await.unwrap() }
    };
    // Each id answered as alone, in the order asked, whichever exist; the other scope's key is
    // not found here.
    for (first, second) in [
        ("k1", "k2"),
        ("k2", "k1"),
        ("k1", "k1"),
        ("k1", "missing"),
        ("missing", "k2"),
        ("k3", "k1"),
        ("missing", "missing"),
    ] {
        let (a, b) = store.get_key_pair(&s, first, second).await.unwrap();
        assert_eq!(a, single(first).await, "{first} of ({first}, {second})");
        assert_eq!(b, single(second).await, "{second} of ({first}, {second})");
    }
    assert!(single("k3").await.is_none());
    assert!(single("k1").await.is_some() && single("k2").await.is_some());
}

async fn scopes_are_isolated(db: &Backend) {
    let store = db.open().await;
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

async fn key_quota_ignores_completed_deletions(db: &Backend) {
    let store = db.open().await;
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
        .complete_deletion(
            &s,
            &key("k2", "DELETE_COMPLETE"),
            &key("k2", "DELETE_PENDING"),
        )
        .await
        .unwrap();
    store
        .insert_key(&s, &key("k3", "CREATE_COMPLETE"), &[], 2)
        .await
        .unwrap();
}

async fn list_keys_pages_in_insertion_order_with_filter(db: &Backend) {
    let store = db.open().await;
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
    let ids: Vec<_> = first.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["k0", "k1", "k2"]);
    let rest = store
        .list_keys(&s, None, Some(first[2].seq), 10)
        .await
        .unwrap();
    let ids: Vec<_> = rest.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["k3", "k4", "k5", "k6"]);
    let pending = store
        .list_keys(&s, Some("DELETE_PENDING"), None, 10)
        .await
        .unwrap();
    let ids: Vec<_> = pending.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["k1", "k3", "k5"]);
}

async fn due_deletions_complete_and_take_aliases_with_them(db: &Backend) {
    let store = db.open().await;
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
    store
        .complete_deletion(&s, &done, &due[0].record)
        .await
        .unwrap();
    let stored = store.get_key(&s, "k1").await.unwrap().unwrap().record;
    assert_eq!(stored.state, "DELETE_COMPLETE");
    assert!(stored.sealed_material.is_none());
    assert!(store.get_alias(&s, "alias/gone").await.unwrap().is_none());
    assert!(store.get_alias(&s, "alias/kept").await.unwrap().is_some());
    assert!(store.due_deletions(&s, 5_000).await.unwrap().is_empty());
}

async fn next_deletion_is_the_earliest_pending_deadline_of_the_scope(db: &Backend) {
    let store = db.open().await;
    let (s, other) = (scope("111122223333"), scope("444455556666"));
    assert_eq!(store.next_deletion_ms(&s).await.unwrap(), None);
    for (id, deadline) in [("k1", 9_000), ("k2", 4_000), ("k3", 7_000)] {
        let mut pending = key(id, "DELETE_PENDING");
        pending.delete_pending_ms = Some(deadline);
        store.insert_key(&s, &pending, &[], 10).await.unwrap();
    }
    let mut elsewhere = key("k9", "DELETE_PENDING");
    elsewhere.delete_pending_ms = Some(1_000);
    store.insert_key(&other, &elsewhere, &[], 10).await.unwrap();
    assert_eq!(store.next_deletion_ms(&s).await.unwrap(), Some(4_000));
    assert_eq!(store.next_deletion_ms(&other).await.unwrap(), Some(1_000));

    // A key no longer pending (completed or restored) no longer counts.
    let expected = store.get_key(&s, "k2").await.unwrap().unwrap().record;
    let mut done = expected.clone();
    done.state = "DELETE_COMPLETE".into();
    done.sealed_material = None;
    store.complete_deletion(&s, &done, &expected).await.unwrap();
    assert_eq!(store.next_deletion_ms(&s).await.unwrap(), Some(7_000));
}

async fn aliases_are_unique_limited_and_listable_by_key(db: &Backend) {
    let store = db.open().await;
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

async fn tags_upsert_limit_remove_and_page(db: &Backend) {
    let store = db.open().await;
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

async fn first_setting_wins(db: &Backend) {
    let store = db.open().await;
    assert_eq!(store.init_setting("check", b"one").await.unwrap(), b"one");
    assert_eq!(store.init_setting("check", b"two").await.unwrap(), b"one");
}

async fn data_survives_reopen(db: &Backend) {
    let s = scope("111122223333");
    {
        let store = db.open().await;
        store
            .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[tag("t", "v")], 10)
            .await
            .unwrap();
        store
            .create_alias(&s, "alias/a", Some("k1"), 10)
            .await
            .unwrap();
    }
    let store = db.open().await;
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

async fn one_authority_per_scope_first_wins(db: &Backend) {
    let store = db.open().await;
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

async fn tokens_by_name_and_latest_by_kind(db: &Backend) {
    let store = db.open().await;
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

async fn nodes_starting_together_migrate_once(db: &Backend) {
    let nodes = db.nodes(6).await;
    let s = scope("111122223333");
    nodes[0]
        .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[], 10)
        .await
        .unwrap();
    for node in &nodes {
        assert!(node.get_key(&s, "k1").await.unwrap().is_some());
    }
    // A node started later finds the schema in place and the data intact.
    let late = db.open().await;
    assert!(late.get_key(&s, "k1").await.unwrap().is_some());
}

async fn racing_aliases_one_name_one_winner_and_quota_holds(db: &Backend) {
    let nodes = db.nodes(4).await;
    let same = race(&nodes, 24, |store, _| async move {
        store
            .create_alias(&scope("111111111111"), "alias/race", None, 100)
            .await
    })
    .await;
    assert_eq!(
        count_ok(&same, |e| matches!(e, StoreError::Conflict)),
        1,
        "{same:?}"
    );

    let distinct = race(&nodes, 24, |store, i| async move {
        store
            .create_alias(&scope("222222222222"), &format!("alias/a{i}"), None, 5)
            .await
    })
    .await;
    assert_eq!(
        count_ok(&distinct, |e| matches!(e, StoreError::QuotaExceeded)),
        5
    );
    let stored = nodes[0]
        .list_aliases(&scope("222222222222"), None, None, 100)
        .await
        .unwrap();
    assert_eq!(stored.len(), 5);
}

async fn racing_keys_respect_quota_and_unique_ids(db: &Backend) {
    let nodes = db.nodes(4).await;
    let s = scope("111122223333");
    let distinct = race(&nodes, 24, |store, i| async move {
        store
            .insert_key(
                &scope("111122223333"),
                &key(&format!("k{i}"), "CREATE_COMPLETE"),
                &[tag("n", &i.to_string())],
                5,
            )
            .await
    })
    .await;
    assert_eq!(
        count_ok(&distinct, |e| matches!(e, StoreError::QuotaExceeded)),
        5
    );
    let stored = nodes[0].list_keys(&s, None, None, 100).await.unwrap();
    assert_eq!(stored.len(), 5);
    // A key refused for quota left no tags behind.
    for (i, result) in distinct.iter().enumerate() {
        let tags = nodes[0].list_tags(&s, &format!("k{i}"), None, 10).await;
        assert_eq!(tags.unwrap().len(), usize::from(result.is_ok()));
    }

    let same = race(&nodes, 24, |store, _| async move {
        store
            .insert_key(
                &scope("444455556666"),
                &key("same-id", "CREATE_COMPLETE"),
                &[],
                100,
            )
            .await
    })
    .await;
    assert_eq!(count_ok(&same, |e| matches!(e, StoreError::Conflict)), 1);
}

async fn racing_tags_respect_quota(db: &Backend) {
    let nodes = db.nodes(4).await;
    let s = scope("111122223333");
    nodes[0]
        .insert_key(&s, &key("k1", "CREATE_COMPLETE"), &[], 10)
        .await
        .unwrap();
    let results = race(&nodes, 16, |store, i| async move {
        store
            .put_tags(
                &scope("111122223333"),
                "k1",
                &[tag(&format!("t{i}"), "v")],
                4,
            )
            .await
    })
    .await;
    assert_eq!(
        count_ok(&results, |e| matches!(e, StoreError::QuotaExceeded)),
        4
    );
    assert_eq!(
        nodes[0].list_tags(&s, "k1", None, 100).await.unwrap().len(),
        4
    );
}

async fn racing_authorities_and_settings_agree_on_one(db: &Backend) {
    let nodes = db.nodes(4).await;
    let s = scope("111122223333");
    let authorities = race(&nodes, 16, |store, i| async move {
        let candidate = authority(u8::try_from(i).unwrap());
        store
            .init_authority(&scope("111122223333"), &candidate)
            .await
    })
    .await;
    let authorities: Vec<_> = authorities.into_iter().map(Result::unwrap).collect();
    let winner = nodes[0].get_authority(&s).await.unwrap().unwrap();
    assert!(authorities.iter().all(|a| *a == winner));
    for node in &nodes {
        assert_eq!(
            node.get_authority(&s).await.unwrap().as_ref(),
            Some(&winner)
        );
    }

    let settings = race(&nodes, 16, |store, i| async move {
        store
            .init_setting("check", &[u8::try_from(i).unwrap()])
            .await
    })
    .await;
    let settings: Vec<_> = settings.into_iter().map(Result::unwrap).collect();
    assert!(settings.iter().all(|v| *v == settings[0]));
}

async fn racing_sweeps_complete_each_deletion_once(db: &Backend) {
    let nodes = db.nodes(4).await;
    let s = scope("111122223333");
    for i in 0..3 {
        let mut pending = key(&format!("k{i}"), "DELETE_PENDING");
        pending.delete_pending_ms = Some(1_000);
        nodes[0].insert_key(&s, &pending, &[], 10).await.unwrap();
        nodes[0]
            .create_alias(&s, &format!("alias/k{i}"), Some(&format!("k{i}")), 10)
            .await
            .unwrap();
    }
    // Every node sweeps at once, as each request's first step does.
    let sweeps = race(&nodes, 8, |store, _| async move {
        let s = scope("111122223333");
        for due in store.due_deletions(&s, 2_000).await? {
            let mut done = due.record.clone();
            done.state = "DELETE_COMPLETE".into();
            done.sealed_material = None;
            // A sweep that lost the race finds the key already completed.
            match store.complete_deletion(&s, &done, &due.record).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(())
    })
    .await;
    assert_eq!(count_ok(&sweeps, |_| false), 8);
    for i in 0..3 {
        let stored = nodes[0]
            .get_key(&s, &format!("k{i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.record.state, "DELETE_COMPLETE");
        assert!(stored.record.sealed_material.is_none());
    }
    assert!(
        nodes[0]
            .list_aliases(&s, None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(nodes[0].due_deletions(&s, 2_000).await.unwrap().is_empty());
}

async fn racing_tokens_agree_on_latest(db: &Backend) {
    let nodes = db.nodes(4).await;
    let s = scope("111122223333");
    let same = race(&nodes, 16, |store, i| async move {
        let created = i64::try_from(i).unwrap();
        store
            .insert_token(
                &scope("111122223333"),
                &token("import-token-x", "import", "RSA_2048", created),
            )
            .await
    })
    .await;
    assert_eq!(count_ok(&same, |e| matches!(e, StoreError::Conflict)), 1);

    let distinct = race(&nodes, 16, |store, i| async move {
        let created = i64::try_from(i).unwrap();
        store
            .insert_token(
                &scope("111122223333"),
                &token(&format!("export-token-{i}"), "export", "RSA_2048", created),
            )
            .await
    })
    .await;
    assert_eq!(count_ok(&distinct, |_| false), 16);
    let mut latest = Vec::new();
    for node in &nodes {
        let token = node
            .latest_token(&s, "export", "TR34_KEY_BLOCK", "RSA_2048")
            .await
            .unwrap();
        latest.push(token.unwrap().token);
    }
    assert!(latest.iter().all(|t| *t == latest[0]), "{latest:?}");
}

fn in_region(account: &str, region: &str) -> Scope {
    Scope {
        account: account.to_string(),
        region: region.to_string(),
    }
}

fn insert(region: &str, record: KeyRecord) -> KeyWrite {
    KeyWrite {
        region: region.to_string(),
        record,
        expected: None,
        tags: Vec::new(),
    }
}

fn update(region: &str, record: KeyRecord, expected: KeyRecord) -> KeyWrite {
    KeyWrite {
        region: region.to_string(),
        record,
        expected: Some(expected),
        tags: Vec::new(),
    }
}

async fn key_groups_write_all_regions_or_none(db: &Backend) {
    let store = db.open().await;
    let account = "111122223333";
    let (east, west, eu) = (
        in_region(account, "us-east-1"),
        in_region(account, "us-west-2"),
        in_region(account, "eu-west-1"),
    );
    // A primary with tags and two replicas, in one go.
    let mut primary = insert("us-east-1", key("k1", "CREATE_COMPLETE"));
    primary.tags = vec![tag("team", "a")];
    store
        .write_key_group(
            account,
            &[
                primary,
                insert("us-west-2", key("k1", "CREATE_COMPLETE")),
                insert("eu-west-1", key("k1", "CREATE_COMPLETE")),
            ],
            10,
        )
        .await
        .unwrap();
    for s in [&east, &west, &eu] {
        assert!(store.get_key(s, "k1").await.unwrap().is_some(), "{s:?}");
    }
    assert_eq!(
        store.list_tags(&east, "k1", None, 10).await.unwrap().len(),
        1
    );
    assert!(
        store
            .list_tags(&west, "k1", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Another account sees none of it.
    assert!(
        store
            .get_key(&in_region("444455556666", "us-west-2"), "k1")
            .await
            .unwrap()
            .is_none()
    );

    // The replica region is full: nothing of the group is written, the primary included.
    store
        .insert_key(&west, &key("other", "CREATE_COMPLETE"), &[], 10)
        .await
        .unwrap();
    let result = store
        .write_key_group(
            account,
            &[
                insert("us-east-1", key("k2", "CREATE_COMPLETE")),
                insert("us-west-2", key("k2", "CREATE_COMPLETE")),
            ],
            2,
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::QuotaExceeded)),
        "{result:?}"
    );
    assert!(store.get_key(&east, "k2").await.unwrap().is_none());

    // A stale replica makes the whole update fail, and the primary keeps its state.
    let before = key("k1", "CREATE_COMPLETE");
    let mut pending = key("k1", "DELETE_PENDING");
    pending.delete_pending_ms = Some(5);
    let stale = key("k1", "DELETE_PENDING");
    let result = store
        .write_key_group(
            account,
            &[
                update("us-east-1", pending.clone(), before.clone()),
                update("us-west-2", pending.clone(), before.clone()),
                update("eu-west-1", pending.clone(), stale),
            ],
            10,
        )
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    for s in [&east, &west, &eu] {
        let now = store.get_key(s, "k1").await.unwrap().unwrap().record;
        assert_eq!(now.state, "CREATE_COMPLETE", "{s:?}");
    }
    // An update of a key that does not exist is NotFound, and changes nothing either.
    let result = store
        .write_key_group(
            account,
            &[
                update("us-east-1", pending.clone(), before.clone()),
                update("ap-south-1", pending.clone(), before.clone()),
            ],
            10,
        )
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(
        store
            .get_key(&east, "k1")
            .await
            .unwrap()
            .unwrap()
            .record
            .state,
        "CREATE_COMPLETE"
    );
    // Done right, every region moves together and survives a reopen.
    store
        .write_key_group(
            account,
            &[
                update("us-east-1", pending.clone(), before.clone()),
                update("us-west-2", pending.clone(), before.clone()),
                update("eu-west-1", pending.clone(), before.clone()),
            ],
            10,
        )
        .await
        .unwrap();
    let reopened = db.open().await;
    for s in [&east, &west, &eu] {
        let now = reopened.get_key(s, "k1").await.unwrap().unwrap().record;
        assert_eq!(now, pending, "{s:?}");
    }
}

async fn key_groups_replace_completed_replicas_and_drop_their_aliases(db: &Backend) {
    let store = db.open().await;
    let account = "111122223333";
    let west = in_region(account, "us-west-2");
    store
        .write_key_group(
            account,
            &[
                insert("us-east-1", key("k1", "CREATE_COMPLETE")),
                insert("us-west-2", key("k1", "CREATE_COMPLETE")),
            ],
            10,
        )
        .await
        .unwrap();
    store
        .create_alias(&west, "alias/replica", Some("k1"), 10)
        .await
        .unwrap();
    // The replica is removed: it completes its deletion and its aliases go.
    let mut removed = key("k1", "DELETE_COMPLETE");
    removed.sealed_material = None;
    store
        .write_key_group(
            account,
            &[update("us-west-2", removed, key("k1", "CREATE_COMPLETE"))],
            10,
        )
        .await
        .unwrap();
    assert!(
        store
            .get_alias(&west, "alias/replica")
            .await
            .unwrap()
            .is_none()
    );
    // Adding the region again replaces the completed replica.
    let mut again = key("k1", "CREATE_COMPLETE");
    again.metadata = "{\"again\":true}".to_string();
    store
        .write_key_group(account, &[insert("us-west-2", again.clone())], 10)
        .await
        .unwrap();
    assert_eq!(
        store.get_key(&west, "k1").await.unwrap().unwrap().record,
        again
    );
    // A live key with the same id is not replaced.
    let result = store
        .write_key_group(
            account,
            &[insert("us-west-2", key("k1", "CREATE_COMPLETE"))],
            10,
        )
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(
        store.get_key(&west, "k1").await.unwrap().unwrap().record,
        again
    );
    // Operator tools find keys by state in every scope.
    let everywhere = store
        .keys_in_state_everywhere("CREATE_COMPLETE")
        .await
        .unwrap();
    let mut found: Vec<String> = everywhere
        .iter()
        .map(|(s, k)| format!("{}/{}/{}", s.account, s.region, k.record.key_id))
        .collect();
    found.sort();
    assert_eq!(
        found,
        ["111122223333/us-east-1/k1", "111122223333/us-west-2/k1"]
    );
}

async fn racing_key_groups_one_writer_wins(db: &Backend) {
    let account = "111122223333";
    let store = db.open().await;
    store
        .write_key_group(
            account,
            &[
                insert("us-east-1", key("k1", "CREATE_COMPLETE")),
                insert("us-west-2", key("k1", "CREATE_COMPLETE")),
            ],
            10,
        )
        .await
        .unwrap();
    let nodes = db.nodes(4).await;
    let results = race(&nodes, 16, |store, i| async move {
        let mut next = key("k1", "CREATE_COMPLETE");
        next.metadata = format!("{{\"writer\":{i}}}");
        store
            .write_key_group(
                "111122223333",
                &[
                    update("us-east-1", next.clone(), key("k1", "CREATE_COMPLETE")),
                    update("us-west-2", next, key("k1", "CREATE_COMPLETE")),
                ],
                10,
            )
            .await
    })
    .await;
    assert_eq!(count_ok(&results, |e| matches!(e, StoreError::Conflict)), 1);
    let east = store
        .get_key(&in_region(account, "us-east-1"), "k1")
        .await
        .unwrap()
        .unwrap();
    let west = store
        .get_key(&in_region(account, "us-west-2"), "k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(east.record.metadata, west.record.metadata);
    // Groups inserting into the same regions in opposite orders neither deadlock nor pass the
    // quota of either region.
    let results = race(&nodes, 16, |store, i| async move {
        let id = format!("g{i}");
        let regions = if i % 2 == 0 {
            ["eu-west-1", "ap-south-1"]
        } else {
            ["ap-south-1", "eu-west-1"]
        };
        store
            .write_key_group(
                "111122223333",
                &[
                    insert(regions[0], key(&id, "CREATE_COMPLETE")),
                    insert(regions[1], key(&id, "CREATE_COMPLETE")),
                ],
                5,
            )
            .await
    })
    .await;
    assert_eq!(
        count_ok(&results, |e| matches!(e, StoreError::QuotaExceeded)),
        5
    );
    for region in ["eu-west-1", "ap-south-1"] {
        let keys = store
            .list_keys(&in_region(account, region), None, None, 100)
            .await
            .unwrap();
        assert_eq!(keys.len(), 5, "{region}");
    }
}

async fn scope_settings_compare_and_set(db: &Backend) {
    let store = db.open().await;
    let s = scope("111122223333");
    let other = scope("444455556666");
    assert_eq!(store.get_scope_setting(&s, "defaults").await.unwrap(), None);
    store
        .put_scope_setting(&s, "defaults", Some(b"one"), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_scope_setting(&s, "defaults")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(
        store.get_scope_setting(&other, "defaults").await.unwrap(),
        None
    );
    // Expecting the wrong value (or absence) changes nothing.
    for expected in [None, Some(&b"two"[..])] {
        let result = store
            .put_scope_setting(&s, "defaults", Some(b"three"), expected)
            .await;
        assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    }
    store
        .put_scope_setting(&s, "defaults", Some(b"two"), Some(b"one"))
        .await
        .unwrap();
    store
        .put_scope_setting(&other, "defaults", Some(b"x"), None)
        .await
        .unwrap();
    let everywhere = store.scope_settings_everywhere("defaults").await.unwrap();
    assert_eq!(
        everywhere,
        vec![(s.clone(), b"two".to_vec()), (other, b"x".to_vec())]
    );
    let result = store
        .put_scope_setting(&s, "defaults", None, Some(b"one"))
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    store
        .put_scope_setting(&s, "defaults", None, Some(b"two"))
        .await
        .unwrap();
    assert_eq!(
        db.open()
            .await
            .get_scope_setting(&s, "defaults")
            .await
            .unwrap(),
        None
    );
}

async fn racing_scope_settings_one_writer_wins(db: &Backend) {
    let nodes = db.nodes(4).await;
    let results = race(&nodes, 16, |store, i| async move {
        let value = format!("v{i}");
        store
            .put_scope_setting(
                &scope("111122223333"),
                "defaults",
                Some(value.as_bytes()),
                None,
            )
            .await
    })
    .await;
    assert_eq!(count_ok(&results, |e| matches!(e, StoreError::Conflict)), 1);
    let results = race(&nodes, 16, |store, i| async move {
        let s = scope("111122223333");
        let current = store.get_scope_setting(&s, "defaults").await?;
        let value = format!("w{i}");
        store
            .put_scope_setting(&s, "defaults", Some(value.as_bytes()), current.as_deref())
            .await
    })
    .await;
    assert!(count_ok(&results, |e| matches!(e, StoreError::Conflict)) >= 1);
}

async fn inventory_counts_keys_by_state_and_names_an_accounts_regions(db: &Backend) {
    let store = db.open().await;
    assert!(store.count_keys_by_state().await.unwrap().is_empty());
    assert!(
        store
            .regions_with_keys("111111111111")
            .await
            .unwrap()
            .is_empty()
    );
    let a = scope("111111111111");
    let a_west = Scope {
        account: a.account.clone(),
        region: "us-west-2".into(),
    };
    let b_eu = Scope {
        account: "222222222222".into(),
        region: "eu-west-1".into(),
    };
    for (scope, id, state) in [
        (&a, "k1", "CREATE_COMPLETE"),
        (&a, "k2", "DELETE_PENDING"),
        (&a_west, "k3", "CREATE_COMPLETE"),
        (&b_eu, "k4", "DELETE_COMPLETE"),
    ] {
        store
            .insert_key(scope, &key(id, state), &[], 10)
            .await
            .unwrap();
    }
    assert_eq!(
        store.count_keys_by_state().await.unwrap(),
        [
            ("CREATE_COMPLETE".to_string(), 2),
            ("DELETE_COMPLETE".to_string(), 1),
            ("DELETE_PENDING".to_string(), 1),
        ]
    );
    assert_eq!(
        store.regions_with_keys(&a.account).await.unwrap(),
        ["us-east-1", "us-west-2"]
    );
    assert_eq!(
        store.regions_with_keys("222222222222").await.unwrap(),
        ["eu-west-1"]
    );
    assert!(
        store
            .regions_with_keys("333333333333")
            .await
            .unwrap()
            .is_empty()
    );
}
