//! The embedded SQLite store: one database file in the data directory, in WAL mode with
//! `synchronous=FULL`, so a write is on disk before the call returns. Every write runs on one
//! writer thread with a connection of its own, which commits the writes waiting together in one
//! transaction (see [`crate::group_commit`]); SQLite has one writer at a time anyway, and queueing
//! here avoids busy errors. Reads use a pool of read-only connections (sqlx) and run beside the
//! writer. The statements both stores run are in [`crate::sql`].

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, OpenFlags, Row as WriterRow};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::group_commit::GroupCommit;
use crate::sql::{self, ScopeSettingChange};
use crate::{
    AliasRecord, AuthorityRecord, KeyRecord, KeyWrite, ListedKey, Scope, Store, StoreError,
    StoreResult, StoredKey, Tag, TokenRecord,
};

/// How long a connection waits for another's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// `Conflict` for a unique name or id already taken, else a backend failure.
fn conflict_or_backend(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    match e.sqlite_error() {
        Some(f)
            if [SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY]
                .contains(&f.extended_code) =>
        {
            StoreError::Conflict
        }
        _ => backend(e),
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

/// Opens the writing connection: WAL, `synchronous=FULL`, and room for every write statement in
/// its cache of prepared statements.
fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) `paycrypt.db` in `data_dir` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> StoreResult<Self> {
        let path = data_dir.join("paycrypt.db");
        let writer = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let conn = open_writer(&path)?;
                migrate(&conn)?;
                Ok::<_, rusqlite::Error>(conn)
            })
            .await
            .map_err(backend)?
            .map_err(backend)?
        };
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(backend)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .read_only(true);
        // A connection to a local file cannot go stale as a network connection can, so the
        // pool skips the ping before each use (one round trip to the connection's thread less).
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(backend)?;
        let reopen = Box::new(move || open_writer(&path));
        Ok(Self {
            writer: GroupCommit::start(writer, reopen)?,
            reader,
        })
    }
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
    )?;
    for (version, sql) in MIGRATIONS {
        let tx = conn.unchecked_transaction()?;
        let applied = tx
            .prepare("SELECT version FROM schema_migrations WHERE version = ?1")?
            .exists([version])?;
        if !applied {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES (?1)",
                [version],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// Names of the parameters `$1`, `$2`, ... that [`bound`] binds.
const PARAMETERS: [&str; 10] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10"];

/// The cached statement `sql` with `values` bound to `$1`, `$2`, ... by name, as in
/// [`crate::sql`] (a statement may use a parameter twice).
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    values: &[&dyn ToSql],
) -> rusqlite::Result<CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(sql)?;
    for (name, value) in PARAMETERS.iter().zip(values) {
        if let Some(index) = statement.parameter_index(name)? {
            statement.raw_bind_parameter(index, value)?;
        }
    }
    Ok(statement)
}

/// Runs a statement on the writer's connection; the rows it changed.
fn execute(conn: &Connection, sql: &str, values: &[&dyn ToSql]) -> rusqlite::Result<usize> {
    bound(conn, sql, values)?.raw_execute()
}

/// The first row of a statement on the writer's connection, read by `read`.
fn first<T>(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    read: impl FnOnce(&WriterRow<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = bound(conn, sql, values)?;
    let mut rows = statement.raw_query();
    rows.next()?.map(read).transpose()
}

fn writer_alias(row: &WriterRow<'_>) -> rusqlite::Result<AliasRecord> {
    Ok(AliasRecord {
        seq: row.get(0)?,
        name: row.get(1)?,
        key_id: row.get(2)?,
    })
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
        let (scope, key, tags) = (scope.clone(), key.clone(), tags.to_vec());
        self.writer
            .write(move |conn| insert_key_row(conn, &scope, &key, &tags, max_keys))
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
            .write(move |conn| {
                for write in &writes {
                    let scope = Scope {
                        account: account.clone(),
                        region: write.region.clone(),
                    };
                    match &write.expected {
                        Some(expected) => write_key(conn, &scope, &write.record, expected)?,
                        None => {
                            remove_deleted_key(conn, &scope, &write.record.key_id)?;
                            insert_key_row(conn, &scope, &write.record, &write.tags, max_keys)?;
                        }
                    }
                    if write.record.state == "DELETE_COMPLETE" {
                        remove_aliases_of(conn, &scope, &write.record.key_id)?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn keys_in_state_everywhere(&self, state: &str) -> StoreResult<Vec<(Scope, StoredKey)>> {
        let rows = sqlx::query(sql::KEYS_IN_STATE_EVERYWHERE)
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
        let row = sqlx::query(sql::KEY)
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
            .write(move |conn| write_key(conn, &scope, &key, &expected))
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
                    "WHERE account = $1 AND region = $2 AND state = $3 AND seq > $4
                     ORDER BY seq LIMIT $5"
                ),
                listed_keys_page!(
                    "WHERE account = $1 AND region = $2 AND seq > $3 ORDER BY seq LIMIT $4"
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
        let rows = sqlx::query(sql::DUE_DELETIONS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(now_ms)
            .fetch_all(&self.reader)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(key_from_row).collect())
    }

    async fn next_deletion_ms(&self, scope: &Scope) -> StoreResult<Option<i64>> {
        sqlx::query_scalar(sql::NEXT_DELETION)
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
            .write(move |conn| {
                write_key(conn, &scope, &key, &expected)?;
                remove_aliases_of(conn, &scope, &key.key_id)
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
            .write(move |conn| {
                let (account, region) = (&scope.account, &scope.region);
                // The quota is checked by the insert itself; a taken name fails it as unique.
                let values: [&dyn ToSql; 5] =
                    [account, region, &name, &key_id, &i64::from(max_aliases)];
                if let Some(alias) = first(conn, sql::INSERT_ALIAS, &values, writer_alias)
                    .map_err(conflict_or_backend)?
                {
                    return Ok(alias);
                }
                // At the quota, a name already taken is still a conflict.
                let taken = first(conn, sql::ALIAS, &[account, region, &name], |_| Ok(()))
                    .map_err(backend)?;
                Err(match taken {
                    Some(()) => StoreError::Conflict,
                    None => StoreError::QuotaExceeded,
                })
            })
            .await
    }

    async fn get_alias(&self, scope: &Scope, name: &str) -> StoreResult<Option<AliasRecord>> {
        let row = sqlx::query(sql::ALIAS)
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
            .write(move |conn| {
                let values: [&dyn ToSql; 4] = [&key_id, &scope.account, &scope.region, &name];
                first(conn, sql::UPDATE_ALIAS, &values, writer_alias)
                    .map_err(backend)?
                    .ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn delete_alias(&self, scope: &Scope, name: &str) -> StoreResult<()> {
        let (scope, name) = (scope.clone(), name.to_string());
        self.writer
            .write(move |conn| {
                let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &name];
                match execute(conn, sql::DELETE_ALIAS, &values).map_err(backend)? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
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
            (sql::ALIASES_OF_KEY_PAGE, sql::ALIASES_PAGE),
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
            .write(move |conn| {
                for tag in &tags {
                    upsert_tag(conn, &scope, &key_id, tag)?;
                }
                let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &key_id];
                let count = first(conn, sql::COUNT_TAGS, &values, |row| row.get::<_, i64>(0))
                    .map_err(backend)?
                    .unwrap_or(0);
                if count > i64::from(max_tags) {
                    return Err(StoreError::QuotaExceeded);
                }
                Ok(())
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
            .write(move |conn| {
                for tag_key in &tag_keys {
                    let values: [&dyn ToSql; 4] = [&scope.account, &scope.region, &key_id, tag_key];
                    execute(
                        conn,
                        "DELETE FROM tags
                         WHERE account = $1 AND region = $2 AND key_id = $3 AND tag_key = $4",
                        &values,
                    )
                    .map_err(backend)?;
                }
                Ok(())
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
        let rows = sqlx::query(sql::TAGS_PAGE)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(key_id)
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
            .write(move |conn| {
                let (account, region) = (&scope.account, &scope.region);
                let values: [&dyn ToSql; 4] = [
                    account,
                    region,
                    &authority.certificate,
                    &authority.sealed_private_key,
                ];
                execute(conn, sql::INIT_AUTHORITY, &values).map_err(backend)?;
                first(conn, sql::AUTHORITY, &[account, region], |row| {
                    Ok(AuthorityRecord {
                        certificate: row.get(0)?,
                        sealed_private_key: row.get(1)?,
                    })
                })
                .map_err(backend)?
                .ok_or_else(|| backend("the authority just stored is missing"))
            })
            .await
    }

    async fn get_authority(&self, scope: &Scope) -> StoreResult<Option<AuthorityRecord>> {
        let row = sqlx::query(sql::AUTHORITY)
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
            .write(move |conn| {
                let values: [&dyn ToSql; 10] = [
                    &scope.account,
                    &scope.region,
                    &token.token,
                    &token.kind,
                    &token.material_type,
                    &token.algorithm,
                    &token.certificate,
                    &token.sealed_private_key,
                    &token.created_ms,
                    &token.expires_ms,
                ];
                execute(conn, sql::INSERT_TOKEN, &values).map_err(conflict_or_backend)?;
                Ok(())
            })
            .await
    }

    async fn get_token(&self, scope: &Scope, token: &str) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(sql::TOKEN)
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
        let row = sqlx::query(sql::LATEST_TOKEN)
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
            .write(move |conn| {
                execute(conn, sql::INIT_SETTING, &[&name, &value]).map_err(backend)?;
                first(conn, sql::SETTING, &[&name], |row| row.get(0))
                    .map_err(backend)?
                    .ok_or_else(|| backend("the setting just stored is missing"))
            })
            .await
    }

    async fn get_scope_setting(&self, scope: &Scope, name: &str) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar(sql::SCOPE_SETTING)
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
        let change = sql::scope_setting_change(expected, value);
        let (scope, name) = (scope.clone(), name.to_string());
        let (value, expected) = (value.map(<[u8]>::to_vec), expected.map(<[u8]>::to_vec));
        self.writer
            .write(move |conn| {
                let mut values: Vec<&dyn ToSql> = vec![&scope.account, &scope.region, &name];
                let changed = match change {
                    ScopeSettingChange::CheckAbsent => {
                        let present = first(conn, sql::SCOPE_SETTING, &values, |_| Ok(()))
                            .map_err(backend)?;
                        present.is_none()
                    }
                    ScopeSettingChange::Statement(statement) => {
                        // The new value first, then the expected one, as the statements number them.
                        values.extend(value.iter().chain(&expected).map(|v| v as &dyn ToSql));
                        execute(conn, statement, &values).map_err(backend)? > 0
                    }
                };
                if changed {
                    Ok(())
                } else {
                    Err(StoreError::Conflict)
                }
            })
            .await
    }

    async fn scope_settings_everywhere(&self, name: &str) -> StoreResult<Vec<(Scope, Vec<u8>)>> {
        let rows = sqlx::query(sql::SCOPE_SETTINGS_EVERYWHERE)
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
fn insert_key_row(
    conn: &Connection,
    scope: &Scope,
    key: &KeyRecord,
    tags: &[Tag],
    max_keys: u32,
) -> StoreResult<i64> {
    let values: [&dyn ToSql; 8] = [
        &scope.account,
        &scope.region,
        &key.key_id,
        &key.state,
        &key.delete_pending_ms,
        &key.metadata,
        &key.sealed_material,
        &i64::from(max_keys),
    ];
    let seq = first(conn, sql::INSERT_KEY, &values, |row| row.get::<_, i64>(0))
        .map_err(conflict_or_backend)?
        .ok_or(StoreError::QuotaExceeded)?;
    for tag in tags {
        upsert_tag(conn, scope, &key.key_id, tag)?;
    }
    Ok(seq)
}

/// Removes a `DELETE_COMPLETE` key and its tags, so the id can be used again.
fn remove_deleted_key(conn: &Connection, scope: &Scope, key_id: &str) -> StoreResult<()> {
    let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &key_id];
    if execute(conn, sql::REMOVE_DELETED_KEY, &values).map_err(backend)? > 0 {
        execute(conn, sql::REMOVE_TAGS_OF, &values).map_err(backend)?;
    }
    Ok(())
}

fn remove_aliases_of(conn: &Connection, scope: &Scope, key_id: &str) -> StoreResult<()> {
    let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &key_id];
    execute(conn, sql::REMOVE_ALIASES_OF, &values).map_err(backend)?;
    Ok(())
}

fn write_key(
    conn: &Connection,
    scope: &Scope,
    key: &KeyRecord,
    expected: &KeyRecord,
) -> StoreResult<()> {
    let values: [&dyn ToSql; 9] = [
        &key.state,
        &key.delete_pending_ms,
        &key.metadata,
        &key.sealed_material,
        &scope.account,
        &scope.region,
        &key.key_id,
        &expected.state,
        &expected.metadata,
    ];
    if execute(conn, sql::UPDATE_KEY, &values).map_err(backend)? > 0 {
        return Ok(());
    }
    let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &key.key_id];
    let exists = first(conn, sql::KEY_EXISTS, &values, |_| Ok(())).map_err(backend)?;
    Err(match exists {
        Some(()) => StoreError::Conflict,
        None => StoreError::NotFound,
    })
}

fn upsert_tag(conn: &Connection, scope: &Scope, key_id: &str, tag: &Tag) -> StoreResult<()> {
    let values: [&dyn ToSql; 5] = [&scope.account, &scope.region, &key_id, &tag.key, &tag.value];
    execute(conn, sql::UPSERT_TAG, &values).map_err(backend)?;
    Ok(())
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
