//! The embedded SQLite store: one database file in the data directory, in WAL mode with
//! `synchronous=FULL`, so a write is on disk before the call returns. Writes go through a pool of
//! one connection (SQLite has one writer at a time anyway, and queueing here avoids busy errors);
//! reads use their own pool and run beside the writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, Row, SqliteConnection};

use crate::group_commit::{GroupCommit, Undo};
use crate::{
    AliasRecord, AuthorityRecord, KeyRecord, KeyWrite, ListedKey, Scope, Store, StoreError,
    StoreResult, StoredKey, Tag, TokenRecord,
};

/// Versioned schema migrations, applied in order at start-up; never edit one that has shipped.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE keys (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        state TEXT NOT NULL,
        delete_pending_ms INTEGER,
        metadata TEXT NOT NULL,
        sealed_material BLOB,
        UNIQUE (account, region, key_id)
    );
    CREATE INDEX keys_by_state ON keys (account, region, state, seq);
    CREATE TABLE aliases (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        key_id TEXT,
        UNIQUE (account, region, name)
    );
    CREATE INDEX aliases_by_key ON aliases (account, region, key_id, seq);
    CREATE TABLE tags (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (account, region, key_id, tag_key)
    );
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );",
    ),
    (
        2,
        "CREATE TABLE authorities (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        certificate BLOB NOT NULL,
        sealed_private_key BLOB NOT NULL,
        PRIMARY KEY (account, region)
    );
    CREATE TABLE tokens (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        token TEXT NOT NULL,
        kind TEXT NOT NULL,
        material_type TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        certificate BLOB NOT NULL,
        sealed_private_key BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        UNIQUE (account, region, token)
    );
    CREATE INDEX tokens_latest ON tokens (account, region, kind, material_type, algorithm, seq);",
    ),
    (
        3,
        "CREATE TABLE scope_settings (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE INDEX scope_settings_by_name ON scope_settings (name);
    CREATE INDEX keys_by_state_everywhere ON keys (state);",
    ),
    (
        4,
        // Pages of ListKeys and ListAliases walk an index in sequence order instead of sorting
        // the whole scope; quotas read a count kept by triggers instead of counting rows.
        "CREATE INDEX keys_by_scope ON keys (account, region, seq);
    CREATE INDEX aliases_by_scope ON aliases (account, region, seq);
    CREATE TABLE scope_counts (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        live_keys INTEGER NOT NULL DEFAULT 0,
        aliases INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account, region)
    );
    INSERT INTO scope_counts (account, region)
        SELECT account, region FROM keys UNION SELECT account, region FROM aliases;
    UPDATE scope_counts SET
        live_keys = (SELECT COUNT(*) FROM keys k
            WHERE k.account = scope_counts.account AND k.region = scope_counts.region
            AND k.state <> 'DELETE_COMPLETE'),
        aliases = (SELECT COUNT(*) FROM aliases a
            WHERE a.account = scope_counts.account AND a.region = scope_counts.region);
    CREATE TRIGGER keys_counted_on_insert AFTER INSERT ON keys BEGIN
        INSERT INTO scope_counts (account, region) VALUES (NEW.account, NEW.region)
            ON CONFLICT DO NOTHING;
        UPDATE scope_counts SET live_keys = live_keys + (NEW.state <> 'DELETE_COMPLETE')
            WHERE account = NEW.account AND region = NEW.region;
    END;
    CREATE TRIGGER keys_counted_on_delete AFTER DELETE ON keys BEGIN
        UPDATE scope_counts SET live_keys = live_keys - (OLD.state <> 'DELETE_COMPLETE')
            WHERE account = OLD.account AND region = OLD.region;
    END;
    CREATE TRIGGER keys_counted_on_state AFTER UPDATE OF state ON keys BEGIN
        UPDATE scope_counts SET live_keys = live_keys
            - (OLD.state <> 'DELETE_COMPLETE') + (NEW.state <> 'DELETE_COMPLETE')
            WHERE account = NEW.account AND region = NEW.region;
    END;
    CREATE TRIGGER aliases_counted_on_insert AFTER INSERT ON aliases BEGIN
        INSERT INTO scope_counts (account, region) VALUES (NEW.account, NEW.region)
            ON CONFLICT DO NOTHING;
        UPDATE scope_counts SET aliases = aliases + 1
            WHERE account = NEW.account AND region = NEW.region;
    END;
    CREATE TRIGGER aliases_counted_on_delete AFTER DELETE ON aliases BEGIN
        UPDATE scope_counts SET aliases = aliases - 1
            WHERE account = OLD.account AND region = OLD.region;
    END;",
    ),
];

pub struct SqliteStore {
    writer: GroupCommit,
    reader: SqlitePool,
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// `Conflict` for a unique name or id already taken, else a backend failure.
fn conflict_or_backend(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict
    } else {
        backend(e)
    }
}

fn key_from_row(row: &SqliteRow) -> StoredKey {
    StoredKey {
        seq: row.get("seq"),
        record: KeyRecord {
            key_id: row.get("key_id"),
            state: row.get("state"),
            delete_pending_ms: row.get("delete_pending_ms"),
            metadata: row.get("metadata"),
            sealed_material: row.get("sealed_material"),
        },
    }
}

/// One key of a page read by [`listed_keys_page`]: `seq US key_id US metadata`.
fn listed_key(entry: &str) -> StoreResult<ListedKey> {
    let mut fields = entry.splitn(3, '\x1f');
    let (Some(seq), Some(key_id), Some(metadata)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(StoreError::Backend("unreadable page of keys".into()));
    };
    Ok(ListedKey {
        seq: seq
            .parse()
            .map_err(|_| StoreError::Backend("unreadable page of keys".into()))?,
        key_id: key_id.to_string(),
        metadata: metadata.to_string(),
    })
}

fn token_from_row(row: &SqliteRow) -> TokenRecord {
    TokenRecord {
        token: row.get("token"),
        kind: row.get("kind"),
        material_type: row.get("material_type"),
        algorithm: row.get("algorithm"),
        certificate: row.get("certificate"),
        sealed_private_key: row.get("sealed_private_key"),
        created_ms: row.get("created_ms"),
        expires_ms: row.get("expires_ms"),
    }
}

/// A static `SELECT` of every token column, followed by the rest of the query.
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT token, kind, material_type, algorithm, certificate, sealed_private_key,
             created_ms, expires_ms FROM tokens ",
            $rest
        )
    };
}

fn alias_from_row(row: &SqliteRow) -> AliasRecord {
    AliasRecord {
        seq: row.get("seq"),
        name: row.get("name"),
        key_id: row.get("key_id"),
    }
}

/// A static query of what a ListKeys page shows of its keys, their rows chosen by the rest of the
/// query. sqlx's SQLite driver passes rows one at a time from its connection thread to the
/// caller, a thread handoff each; the page comes back as one value instead: per key
/// `seq US key_id US metadata`, the keys separated by RS (the ASCII unit and record separators,
/// which JSON text never holds unescaped, nor does a key id or a number).
macro_rules! listed_keys_page {
    ($rest:literal) => {
        concat!(
            "SELECT group_concat(seq || char(31) || key_id || char(31) || metadata, char(30))
             FROM (SELECT seq, key_id, metadata FROM keys ",
            $rest,
            ")"
        )
    };
}

/// A static `SELECT` of every key column, followed by the rest of the query.
macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "SELECT seq, key_id, state, delete_pending_ms, metadata, sealed_material FROM keys ",
            $rest
        )
    };
}

impl SqliteStore {
    /// Opens (creating if needed) `paycrypt.db` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
        let path = data_dir.join("paycrypt.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        // A connection to a local file cannot go stale as a network connection can, so the
        // pools skip the ping before each use (one round trip to the connection's thread less).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            // A write that failed half-way (a full disk, an I/O error) can leave the connection
            // inside a transaction that neither COMMIT nor ROLLBACK ended; later "transactions"
            // on it would only be savepoints inside that one, acknowledged but never committed.
            // Such a connection is closed (SQLite rolls it back) and the next write opens a new one.
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        migrate(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .map_err(backend)?;
        Ok(Self {
            writer: GroupCommit::start(writer),
            reader,
        })
    }
}

async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        .execute(pool)
        .await
        .map_err(backend)?;
    for (version, sql) in MIGRATIONS {
        let mut tx = pool.begin().await.map_err(backend)?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if applied.is_none() {
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES (?)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_key(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        tags: &[Tag],
        max_keys: u32,
    ) -> StoreResult<i64> {
        let undo = if tags.is_empty() {
            Undo::Statement
        } else {
            Undo::Savepoint
        };
        let (scope, key, tags) = (scope.clone(), key.clone(), tags.to_vec());
        self.writer
            .write(undo, move |conn| {
                Box::pin(async move {
                    let (scope, key, tags) = (&scope, &key, &tags);
                    insert_key_row(conn, scope, key, tags, max_keys).await
                })
            })
            .await
    }

    async fn write_key_group(
        &self,
        account: &str,
        writes: &[KeyWrite],
        max_keys: u32,
    ) -> StoreResult<()> {
        let (account, writes) = (account.to_string(), writes.to_vec());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    for write in &writes {
                        let scope = Scope {
                            account: account.clone(),
                            region: write.region.clone(),
                        };
                        match &write.expected {
                            Some(expected) => {
                                write_key(conn, &scope, &write.record, expected).await?
                            }
                            None => {
                                remove_deleted_key(conn, &scope, &write.record.key_id).await?;
                                insert_key_row(conn, &scope, &write.record, &write.tags, max_keys)
                                    .await?;
                            }
                        }
                        if write.record.state == "DELETE_COMPLETE" {
                            remove_aliases_of(conn, &scope, &write.record.key_id).await?;
                        }
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn keys_in_state_everywhere(&self, state: &str) -> StoreResult<Vec<(Scope, StoredKey)>> {
        let rows = sqlx::query(
            "SELECT account, region, seq, key_id, state, delete_pending_ms, metadata, sealed_material
             FROM keys WHERE state = ? ORDER BY seq",
        )
        .bind(state)
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|row| {
                let scope = Scope {
                    account: row.get("account"),
                    region: row.get("region"),
                };
                (scope, key_from_row(row))
            })
            .collect())
    }

    async fn get_key(&self, scope: &Scope, key_id: &str) -> StoreResult<Option<StoredKey>> {
        let row = sqlx::query(select_keys!(
            "WHERE account = ? AND region = ? AND key_id = ?"
        ))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(key_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        Ok(row.as_ref().map(key_from_row))
    }

    async fn update_key(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        expected: &KeyRecord,
    ) -> StoreResult<()> {
        let (scope, key, expected) = (scope.clone(), key.clone(), expected.clone());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, key, expected) = (&scope, &key, &expected);
                    write_key(conn, scope, key, expected).await
                })
            })
            .await
    }

    async fn list_keys(
        &self,
        scope: &Scope,
        state: Option<&str>,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ListedKey>> {
        let rows = page(
            &self.reader,
            (
                listed_keys_page!(
                    "WHERE account = ? AND region = ? AND state = ? AND seq > ?
                     ORDER BY seq LIMIT ?"
                ),
                listed_keys_page!(
                    "WHERE account = ? AND region = ? AND seq > ? ORDER BY seq LIMIT ?"
                ),
            ),
            scope,
            state,
            after_seq,
            limit,
        )
        .await?;
        let page: Option<String> = rows.first().and_then(|row| row.get(0));
        let mut listed = page
            .as_deref()
            .map(|page| page.split('\x1e').map(listed_key).collect())
            .transpose()?
            .unwrap_or_else(Vec::new);
        // group_concat keeps no promised order: the page is put back in sequence order.
        listed.sort_by_key(|key: &ListedKey| key.seq);
        Ok(listed)
    }

    async fn due_deletions(&self, scope: &Scope, now_ms: i64) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query(select_keys!(
            "WHERE account = ? AND region = ?
             AND state = 'DELETE_PENDING' AND delete_pending_ms <= ? ORDER BY seq"
        ))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(now_ms)
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows.iter().map(key_from_row).collect())
    }

    async fn next_deletion_ms(&self, scope: &Scope) -> StoreResult<Option<i64>> {
        sqlx::query_scalar(
            "SELECT MIN(delete_pending_ms) FROM keys
             WHERE account = ? AND region = ? AND state = 'DELETE_PENDING'",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .fetch_one(&self.reader)
        .await
        .map_err(backend)
    }

    async fn complete_deletion(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        expected: &KeyRecord,
    ) -> StoreResult<()> {
        let (scope, key, expected) = (scope.clone(), key.clone(), expected.clone());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, key, expected) = (&scope, &key, &expected);
                    write_key(conn, scope, key, expected).await?;
                    remove_aliases_of(conn, scope, &key.key_id).await?;
                    Ok(())
                })
            })
            .await
    }

    async fn create_alias(
        &self,
        scope: &Scope,
        name: &str,
        key_id: Option<&str>,
        max_aliases: u32,
    ) -> StoreResult<AliasRecord> {
        let (scope, name, key_id) = (scope.clone(), name.to_string(), key_id.map(str::to_string));
        self.writer
            .write(Undo::Statement, move |conn| {
                Box::pin(async move {
                    let (scope, name, key_id) = (&scope, name.as_str(), key_id.as_deref());
                    // The quota is checked by the insert itself; a taken name fails it as unique.
                    let row = sqlx::query(
                        "INSERT INTO aliases (account, region, name, key_id)
                         SELECT ?, ?, ?, ?
                         WHERE COALESCE(
                             (SELECT aliases FROM scope_counts WHERE account = ? AND region = ?), 0)
                             < ?
                         RETURNING seq, name, key_id",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(name)
                    .bind(key_id)
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(i64::from(max_aliases))
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(conflict_or_backend)?;
                    if let Some(row) = row {
                        return Ok(alias_from_row(&row));
                    }
                    // At the quota, a name already taken is still a conflict.
                    let taken: Option<i64> = sqlx::query_scalar(
                        "SELECT seq FROM aliases WHERE account = ? AND region = ? AND name = ?",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Err(if taken.is_some() {
                        StoreError::Conflict
                    } else {
                        StoreError::QuotaExceeded
                    })
                })
            })
            .await
    }

    async fn get_alias(&self, scope: &Scope, name: &str) -> StoreResult<Option<AliasRecord>> {
        let row = sqlx::query(
            "SELECT seq, name, key_id FROM aliases WHERE account = ? AND region = ? AND name = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        Ok(row.as_ref().map(alias_from_row))
    }

    async fn update_alias(
        &self,
        scope: &Scope,
        name: &str,
        key_id: Option<&str>,
    ) -> StoreResult<AliasRecord> {
        let (scope, name, key_id) = (scope.clone(), name.to_string(), key_id.map(str::to_string));
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, name, key_id) = (&scope, name.as_str(), key_id.as_deref());
                    let row = sqlx::query(
                        "UPDATE aliases SET key_id = ? WHERE account = ? AND region = ? AND name = ?
                         RETURNING seq, name, key_id",
                    )
                    .bind(key_id)
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?
                    .ok_or(StoreError::NotFound)?;
                    Ok(alias_from_row(&row))
                })
            })
            .await
    }

    async fn delete_alias(&self, scope: &Scope, name: &str) -> StoreResult<()> {
        let (scope, name) = (scope.clone(), name.to_string());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, name) = (&scope, name.as_str());
                    let done = sqlx::query(
                        "DELETE FROM aliases WHERE account = ? AND region = ? AND name = ?",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(name)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn list_aliases(
        &self,
        scope: &Scope,
        key_id: Option<&str>,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AliasRecord>> {
        let rows = page(
            &self.reader,
            (
                "SELECT seq, name, key_id FROM aliases
                 WHERE account = ? AND region = ? AND key_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                "SELECT seq, name, key_id FROM aliases
                 WHERE account = ? AND region = ? AND seq > ? ORDER BY seq LIMIT ?",
            ),
            scope,
            key_id,
            after_seq,
            limit,
        )
        .await?;
        Ok(rows.iter().map(alias_from_row).collect())
    }

    async fn put_tags(
        &self,
        scope: &Scope,
        key_id: &str,
        tags: &[Tag],
        max_tags: u32,
    ) -> StoreResult<()> {
        let (scope, key_id, tags) = (scope.clone(), key_id.to_string(), tags.to_vec());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, key_id) = (&scope, key_id.as_str());
                    for tag in &tags {
                        upsert_tag(conn, scope, key_id, tag).await?;
                    }
                    let count: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM tags WHERE account = ? AND region = ? AND key_id = ?",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(key_id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(backend)?;
                    if count > i64::from(max_tags) {
                        return Err(StoreError::QuotaExceeded);
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn remove_tags(
        &self,
        scope: &Scope,
        key_id: &str,
        tag_keys: &[String],
    ) -> StoreResult<()> {
        let (scope, key_id, tag_keys) = (scope.clone(), key_id.to_string(), tag_keys.to_vec());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, key_id) = (&scope, key_id.as_str());
                    for tag_key in &tag_keys {
                        sqlx::query(
                            "DELETE FROM tags WHERE account = ? AND region = ? AND key_id = ? AND tag_key = ?",
                        )
                        .bind(&scope.account)
                        .bind(&scope.region)
                        .bind(key_id)
                        .bind(tag_key)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn list_tags(
        &self,
        scope: &Scope,
        key_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Tag>> {
        let rows = sqlx::query(
            "SELECT tag_key, tag_value FROM tags WHERE account = ? AND region = ? AND key_id = ?
             AND (? IS NULL OR tag_key > ?) ORDER BY tag_key LIMIT ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(key_id)
        .bind(after)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|row| Tag {
                key: row.get("tag_key"),
                value: row.get("tag_value"),
            })
            .collect())
    }

    async fn init_authority(
        &self,
        scope: &Scope,
        authority: &AuthorityRecord,
    ) -> StoreResult<AuthorityRecord> {
        let (scope, authority) = (scope.clone(), authority.clone());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, authority) = (&scope, &authority);
                    sqlx::query(
                        "INSERT INTO authorities (account, region, certificate, sealed_private_key)
                         VALUES (?, ?, ?, ?) ON CONFLICT (account, region) DO NOTHING",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(&authority.certificate)
                    .bind(&authority.sealed_private_key)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    let row = sqlx::query(
                        "SELECT certificate, sealed_private_key FROM authorities WHERE account = ? AND region = ?",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Ok(AuthorityRecord {
                        certificate: row.get("certificate"),
                        sealed_private_key: row.get("sealed_private_key"),
                })
                })
            })
            .await
    }

    async fn get_authority(&self, scope: &Scope) -> StoreResult<Option<AuthorityRecord>> {
        let row = sqlx::query(
            "SELECT certificate, sealed_private_key FROM authorities WHERE account = ? AND region = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        Ok(row.map(|row| AuthorityRecord {
            certificate: row.get("certificate"),
            sealed_private_key: row.get("sealed_private_key"),
        }))
    }

    async fn insert_token(&self, scope: &Scope, token: &TokenRecord) -> StoreResult<()> {
        let (scope, token) = (scope.clone(), token.clone());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, token) = (&scope, &token);
                    sqlx::query(
                        "INSERT INTO tokens (account, region, token, kind, material_type, algorithm,
                         certificate, sealed_private_key, created_ms, expires_ms)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(&token.token)
                    .bind(&token.kind)
                    .bind(&token.material_type)
                    .bind(&token.algorithm)
                    .bind(&token.certificate)
                    .bind(&token.sealed_private_key)
                    .bind(token.created_ms)
                    .bind(token.expires_ms)
                    .execute(&mut *conn)
                    .await
                    .map_err(conflict_or_backend)?;
                    Ok(())
                })
            })
            .await
    }

    async fn get_token(&self, scope: &Scope, token: &str) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(select_tokens!(
            "WHERE account = ? AND region = ? AND token = ?"
        ))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(token)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        Ok(row.as_ref().map(token_from_row))
    }

    async fn latest_token(
        &self,
        scope: &Scope,
        kind: &str,
        material_type: &str,
        algorithm: &str,
    ) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(select_tokens!(
            "WHERE account = ? AND region = ? AND kind = ? AND material_type = ? AND algorithm = ?
             ORDER BY seq DESC LIMIT 1"
        ))
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(kind)
        .bind(material_type)
        .bind(algorithm)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        Ok(row.as_ref().map(token_from_row))
    }

    async fn init_setting(&self, name: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        let (name, value) = (name.to_string(), value.to_vec());
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (name, value) = (name.as_str(), value.as_slice());
                    sqlx::query(
                        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(value)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
                        .bind(name)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(backend)?;
                    Ok(stored)
                })
            })
            .await
    }

    async fn get_scope_setting(&self, scope: &Scope, name: &str) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT value FROM scope_settings WHERE account = ? AND region = ? AND name = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(name)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)
    }

    async fn put_scope_setting(
        &self,
        scope: &Scope,
        name: &str,
        value: Option<&[u8]>,
        expected: Option<&[u8]>,
    ) -> StoreResult<()> {
        let (scope, name) = (scope.clone(), name.to_string());
        let (value, expected) = (value.map(<[u8]>::to_vec), expected.map(<[u8]>::to_vec));
        self.writer
            .write(Undo::Savepoint, move |conn| {
                Box::pin(async move {
                    let (scope, name) = (&scope, name.as_str());
                    let (value, expected) = (value.as_deref(), expected.as_deref());
                    let current: Option<Vec<u8>> = sqlx::query_scalar(
                        "SELECT value FROM scope_settings WHERE account = ? AND region = ? AND name = ?",
                    )
                    .bind(&scope.account)
                    .bind(&scope.region)
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(backend)?;
                    if current.as_deref() != expected {
                        return Err(StoreError::Conflict);
                    }
                    match value {
                        Some(value) => sqlx::query(
                            "INSERT INTO scope_settings (account, region, name, value) VALUES (?, ?, ?, ?)
                             ON CONFLICT (account, region, name) DO UPDATE SET value = excluded.value",
                        )
                        .bind(&scope.account)
                        .bind(&scope.region)
                        .bind(name)
                        .bind(value),
                        None => sqlx::query(
                            "DELETE FROM scope_settings WHERE account = ? AND region = ? AND name = ?",
                        )
                        .bind(&scope.account)
                        .bind(&scope.region)
                        .bind(name),
                    }
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                    Ok(())
                })
            })
            .await
    }

    async fn scope_settings_everywhere(&self, name: &str) -> StoreResult<Vec<(Scope, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT account, region, value FROM scope_settings WHERE name = ?
             ORDER BY account, region",
        )
        .bind(name)
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|row| {
                let scope = Scope {
                    account: row.get("account"),
                    region: row.get("region"),
                };
                (scope, row.get("value"))
            })
            .collect())
    }
}

/// One page of a scope's rows in sequence order after `after_seq`, by one of two queries: the
/// first (filtered), binding `filter` after account and region, when there is a filter, else the
/// second (all). Two queries rather than one with an optional condition, so each walks its own
/// index from the page start instead of sorting the scope.
async fn page(
    pool: &SqlitePool,
    (filtered, all): (&'static str, &'static str),
    scope: &Scope,
    filter: Option<&str>,
    after_seq: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<SqliteRow>> {
    let query = match filter {
        Some(value) => sqlx::query(filtered)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(value),
        None => sqlx::query(all).bind(&scope.account).bind(&scope.region),
    };
    query
        .bind(after_seq.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(backend)
}

/// Inserts a key and its tags unless the scope holds `max_keys` keys that are not
/// `DELETE_COMPLETE`; `Conflict` when the id is taken.
async fn insert_key_row(
    conn: &mut SqliteConnection,
    scope: &Scope,
    key: &KeyRecord,
    tags: &[Tag],
    max_keys: u32,
) -> StoreResult<i64> {
    // The quota is checked by the insert itself, so a key without tags is one statement.
    let seq: Option<i64> = sqlx::query_scalar(
        "INSERT INTO keys (account, region, key_id, state, delete_pending_ms, metadata, sealed_material)
         SELECT ?, ?, ?, ?, ?, ?, ?
         WHERE COALESCE(
             (SELECT live_keys FROM scope_counts WHERE account = ? AND region = ?), 0) < ?
         RETURNING seq",
    )
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(&key.key_id)
    .bind(&key.state)
    .bind(key.delete_pending_ms)
    .bind(&key.metadata)
    .bind(&key.sealed_material)
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(i64::from(max_keys))
    .fetch_optional(&mut *conn)
    .await
    .map_err(conflict_or_backend)?;
    let seq = seq.ok_or(StoreError::QuotaExceeded)?;
    for tag in tags {
        upsert_tag(conn, scope, &key.key_id, tag).await?;
    }
    Ok(seq)
}

/// Removes a `DELETE_COMPLETE` key and its tags, so the id can be used again.
async fn remove_deleted_key(
    conn: &mut SqliteConnection,
    scope: &Scope,
    key_id: &str,
) -> StoreResult<()> {
    let done = sqlx::query(
        "DELETE FROM keys WHERE account = ? AND region = ? AND key_id = ? AND state = 'DELETE_COMPLETE'",
    )
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(key_id)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if done.rows_affected() > 0 {
        sqlx::query("DELETE FROM tags WHERE account = ? AND region = ? AND key_id = ?")
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(key_id)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

async fn remove_aliases_of(
    conn: &mut SqliteConnection,
    scope: &Scope,
    key_id: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM aliases WHERE account = ? AND region = ? AND key_id = ?")
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(key_id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn write_key(
    conn: &mut SqliteConnection,
    scope: &Scope,
    key: &KeyRecord,
    expected: &KeyRecord,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE keys SET state = ?, delete_pending_ms = ?, metadata = ?, sealed_material = ?
         WHERE account = ? AND region = ? AND key_id = ? AND state = ? AND metadata = ?",
    )
    .bind(&key.state)
    .bind(key.delete_pending_ms)
    .bind(&key.metadata)
    .bind(&key.sealed_material)
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(&key.key_id)
    .bind(&expected.state)
    .bind(&expected.metadata)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if done.rows_affected() == 0 {
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM keys WHERE account = ? AND region = ? AND key_id = ?",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(&key.key_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
        return Err(if exists.is_some() {
            StoreError::Conflict
        } else {
            StoreError::NotFound
        });
    }
    Ok(())
}

async fn upsert_tag(
    conn: &mut SqliteConnection,
    scope: &Scope,
    key_id: &str,
    tag: &Tag,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tags (account, region, key_id, tag_key, tag_value) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account, region, key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
    )
    .bind(&scope.account)
    .bind(&scope.region)
    .bind(key_id)
    .bind(&tag.key)
    .bind(&tag.value)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl crate::Inventory for SqliteStore {
    async fn count_keys_by_state(&self) -> StoreResult<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM keys GROUP BY state ORDER BY state")
                .fetch_all(&self.reader)
                .await
                .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(state, count)| (state, u64::try_from(count).unwrap_or(0)))
            .collect())
    }

    async fn regions_with_keys(&self, account: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT region FROM keys WHERE account = ? ORDER BY region")
                .bind(account)
                .fetch_all(&self.reader)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(region,)| region).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory as paycrypt left it before migration 4: migrations 1 to 3, with keys
    /// (one of them deleted) and aliases in two scopes.
    async fn data_dir_at_migration_3(dir: &Path) {
        let url = format!("sqlite://{}", dir.join("paycrypt.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        for (version, sql) in &MIGRATIONS[..3] {
            sqlx::raw_sql(*sql).execute(&pool).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations (version) VALUES (?)")
                .bind(version)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (account, key_id, state) in [
            ("111122223333", "k1", "CREATE_COMPLETE"),
            ("111122223333", "k2", "DELETE_PENDING"),
            ("111122223333", "k3", "DELETE_COMPLETE"),
            ("444455556666", "k1", "CREATE_COMPLETE"),
        ] {
            sqlx::query(
                "INSERT INTO keys (account, region, key_id, state, metadata)
                 VALUES (?, 'us-east-1', ?, ?, '{}')",
            )
            .bind(account)
            .bind(key_id)
            .bind(state)
            .execute(&pool)
            .await
            .unwrap();
        }
        for name in ["alias/a", "alias/b"] {
            sqlx::query(
                "INSERT INTO aliases (account, region, name) VALUES ('111122223333', 'us-east-1', ?)",
            )
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }

    fn scope(account: &str) -> Scope {
        Scope {
            account: account.into(),
            region: "us-east-1".into(),
        }
    }

    fn key(id: &str) -> KeyRecord {
        KeyRecord {
            key_id: id.into(),
            state: "CREATE_COMPLETE".into(),
            delete_pending_ms: None,
            metadata: "{}".into(),
            sealed_material: None,
        }
    }

    #[tokio::test]
    async fn migration_4_counts_what_an_older_data_dir_holds_for_the_quotas() {
        let dir = tempfile::tempdir().unwrap();
        data_dir_at_migration_3(dir.path()).await;
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let (a, b) = (scope("111122223333"), scope("444455556666"));

        // Two live keys in `a` (the deleted one does not count): a third fits under 3, a fourth not.
        store.insert_key(&a, &key("k4"), &[], 3).await.unwrap();
        let over = store.insert_key(&a, &key("k5"), &[], 3).await;
        assert!(matches!(over, Err(StoreError::QuotaExceeded)), "{over:?}");
        // One live key in `b`.
        store.insert_key(&b, &key("k2"), &[], 2).await.unwrap();
        let over = store.insert_key(&b, &key("k3"), &[], 2).await;
        assert!(matches!(over, Err(StoreError::QuotaExceeded)), "{over:?}");
        // Two aliases in `a`.
        store.create_alias(&a, "alias/c", None, 3).await.unwrap();
        let over = store.create_alias(&a, "alias/d", None, 3).await;
        assert!(matches!(over, Err(StoreError::QuotaExceeded)), "{over:?}");
    }
}
