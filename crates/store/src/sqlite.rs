//! The embedded SQLite store: one database file in the data directory, in WAL mode with
//! `synchronous=FULL`, so a write is on disk before the call returns. Every write runs on one
//! writer thread with a connection of its own, which commits the writes waiting together in one
//! transaction (see [`crate::group_commit`]); SQLite has one writer at a time anyway, and queueing
//! here avoids busy errors. The WAL is copied into the database file by a checkpointer thread of
//! its own rather than inside the writer's commits (see [`crate::checkpoint`]). The statements
//! both stores run are in [`crate::sql`].
//!
//! Reads run beside the writer (WAL lets readers see the last commit while a write goes on), on
//! read-only connections the store keeps idle between reads, and on the calling thread itself: a
//! read is one statement over pages that are nearly always cached, a few microseconds, so it is
//! cheaper to run it in place than to hand it to another thread and wait to be woken (through
//! sqlx's SQLite driver, each read was a round trip to a connection thread, and those thread
//! switches led the profiles of GetKey and of the data plane). The price is that a read which
//! has to go to the disk, or wait out SQLite's busy handler while a checkpoint holds the WAL's
//! index, holds the tokio worker thread that runs it meanwhile. No read holds a connection across
//! an `.await`, so there are never more read connections than threads reading at once.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, OpenFlags, Row};

use crate::checkpoint::{self, Checkpointer};
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

/// Read connections kept open between reads; more are opened when more threads read at once,
/// and closed after.
const IDLE_READERS: usize = 8;

pub struct SqliteStore {
    writer: GroupCommit,
    readers: Readers,
}

/// The read-only connections of the reads, each lent to one read at a time.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Runs `read` on the calling thread, on an idle connection or a new one.
    fn read<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let idle = self.idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path).map_err(backend)?,
        };
        let result = read(&conn).map_err(backend);
        // A connection whose read failed is closed rather than lent again.
        if result.is_ok() {
            let mut idle = self.idle();
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // The list is only pushed to and popped from: a panic elsewhere cannot leave it torn.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
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

/// A key read by a statement of [`sql`] that selects every key column, from column `at` on.
fn key_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        seq: row.get(at)?,
        record: KeyRecord {
            key_id: row.get(at + 1)?,
            state: row.get(at + 2)?,
            delete_pending_ms: row.get(at + 3)?,
            metadata: row.get(at + 4)?,
            sealed_material: row.get(at + 5)?,
        },
    })
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        token: row.get(0)?,
        kind: row.get(1)?,
        material_type: row.get(2)?,
        algorithm: row.get(3)?,
        certificate: row.get(4)?,
        sealed_private_key: row.get(5)?,
        created_ms: row.get(6)?,
        expires_ms: row.get(7)?,
    })
}

fn alias_from_row(row: &Row<'_>) -> rusqlite::Result<AliasRecord> {
    Ok(AliasRecord {
        seq: row.get(0)?,
        name: row.get(1)?,
        key_id: row.get(2)?,
    })
}

fn authority_from_row(row: &Row<'_>) -> rusqlite::Result<AuthorityRecord> {
    Ok(AuthorityRecord {
        certificate: row.get(0)?,
        sealed_private_key: row.get(1)?,
    })
}

/// Opens the writing connection: WAL, `synchronous=FULL`, no automatic checkpoint (the
/// checkpointer's instead, see [`crate::checkpoint`]), and room for every write statement in its
/// cache of prepared statements.
fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "journal_size_limit", checkpoint::JOURNAL_SIZE_LIMIT)?;
    checkpoint::watch_wal(&conn);
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Opens the checkpointer's connection: read-write (a checkpoint writes the database file) and
/// `synchronous=FULL`, so its checkpoints sync the file as the writer's would.
fn open_checkpointer(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Opens a read connection: read-only, its read statements cached.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(32);
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
        let readers = Readers {
            path: path.clone(),
            idle: Mutex::new(Vec::new()),
        };
        let checkpointer = Checkpointer::start(&path, open_checkpointer).map_err(|e| {
            StoreError::Backend(format!("the store's checkpointer could not start: {e}"))
        })?;
        let reopen = Box::new(move || open_writer(&path));
        let after_commit = Box::new(move |conn: &Connection| checkpointer.after_commit(conn));
        Ok(Self {
            writer: GroupCommit::start(writer, reopen, after_commit)?,
            readers,
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

/// Runs a statement; the rows it changed.
fn execute(conn: &Connection, sql: &str, values: &[&dyn ToSql]) -> rusqlite::Result<usize> {
    bound(conn, sql, values)?.raw_execute()
}

/// The first row of a statement, read by `read`.
fn first<T>(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = bound(conn, sql, values)?;
    let mut rows = statement.raw_query();
    rows.next()?.map(read).transpose()
}

/// Every row of a statement, each read by `read`.
fn every<T>(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    mut read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = bound(conn, sql, values)?;
    let mut rows = statement.raw_query();
    let mut read_rows = Vec::new();
    while let Some(row) = rows.next()? {
        read_rows.push(read(row)?);
    }
    Ok(read_rows)
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
        self.readers.read(|conn| {
            every(conn, sql::KEYS_IN_STATE_EVERYWHERE, &[&state], |row| {
                let scope = Scope {
                    account: row.get(0)?,
                    region: row.get(1)?,
                };
                Ok((scope, key_from_row(row, 2)?))
            })
        })
    }

    async fn get_key(&self, scope: &Scope, key_id: &str) -> StoreResult<Option<StoredKey>> {
        let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &key_id];
        self.readers
            .read(|conn| first(conn, sql::KEY, &values, |row| key_from_row(row, 0)))
    }

    async fn get_key_pair(
        &self,
        scope: &Scope,
        first: &str,
        second: &str,
    ) -> StoreResult<(Option<StoredKey>, Option<StoredKey>)> {
        let values: [&dyn ToSql; 4] = [&scope.account, &scope.region, &first, &second];
        let rows = self
            .readers
            .read(|conn| every(conn, sql::KEY_PAIR, &values, |row| key_from_row(row, 0)))?;
        Ok(crate::pair_of(rows, first, second))
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
        let statements = (sql::LISTED_KEYS_IN_STATE_PAGE, sql::LISTED_KEYS_PAGE);
        self.readers.read(|conn| {
            page(conn, statements, scope, state, after_seq, limit, |row| {
                Ok(ListedKey {
                    seq: row.get(0)?,
                    key_id: row.get(1)?,
                    metadata: row.get(2)?,
                })
            })
        })
    }

    async fn due_deletions(&self, scope: &Scope, now_ms: i64) -> StoreResult<Vec<StoredKey>> {
        let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &now_ms];
        self.readers.read(|conn| {
            every(conn, sql::DUE_DELETIONS, &values, |row| {
                key_from_row(row, 0)
            })
        })
    }

    async fn next_deletion_ms(&self, scope: &Scope) -> StoreResult<Option<i64>> {
        let values: [&dyn ToSql; 2] = [&scope.account, &scope.region];
        let earliest = self
            .readers
            .read(|conn| first(conn, sql::NEXT_DELETION, &values, |row| row.get(0)))?;
        Ok(earliest.flatten())
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
                if let Some(alias) = first(conn, sql::INSERT_ALIAS, &values, alias_from_row)
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
        let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &name];
        self.readers
            .read(|conn| first(conn, sql::ALIAS, &values, alias_from_row))
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
                first(conn, sql::UPDATE_ALIAS, &values, alias_from_row)
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
        let statements = (sql::ALIASES_OF_KEY_PAGE, sql::ALIASES_PAGE);
        self.readers.read(|conn| {
            page(
                conn,
                statements,
                scope,
                key_id,
                after_seq,
                limit,
                alias_from_row,
            )
        })
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
        let values: [&dyn ToSql; 5] = [
            &scope.account,
            &scope.region,
            &key_id,
            &after,
            &i64::from(limit),
        ];
        self.readers.read(|conn| {
            every(conn, sql::TAGS_PAGE, &values, |row| {
                Ok(Tag {
                    key: row.get(0)?,
                    value: row.get(1)?,
                })
            })
        })
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
                first(conn, sql::AUTHORITY, &[account, region], authority_from_row)
                    .map_err(backend)?
                    .ok_or_else(|| backend("the authority just stored is missing"))
            })
            .await
    }

    async fn get_authority(&self, scope: &Scope) -> StoreResult<Option<AuthorityRecord>> {
        let values: [&dyn ToSql; 2] = [&scope.account, &scope.region];
        self.readers
            .read(|conn| first(conn, sql::AUTHORITY, &values, authority_from_row))
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
        let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &token];
        self.readers
            .read(|conn| first(conn, sql::TOKEN, &values, token_from_row))
    }

    async fn latest_token(
        &self,
        scope: &Scope,
        kind: &str,
        material_type: &str,
        algorithm: &str,
    ) -> StoreResult<Option<TokenRecord>> {
        let values: [&dyn ToSql; 5] = [
            &scope.account,
            &scope.region,
            &kind,
            &material_type,
            &algorithm,
        ];
        self.readers
            .read(|conn| first(conn, sql::LATEST_TOKEN, &values, token_from_row))
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
        let values: [&dyn ToSql; 3] = [&scope.account, &scope.region, &name];
        self.readers
            .read(|conn| first(conn, sql::SCOPE_SETTING, &values, |row| row.get(0)))
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
        self.readers.read(|conn| {
            every(conn, sql::SCOPE_SETTINGS_EVERYWHERE, &[&name], |row| {
                let scope = Scope {
                    account: row.get(0)?,
                    region: row.get(1)?,
                };
                Ok((scope, row.get(2)?))
            })
        })
    }
}

/// One page of a scope's rows in sequence order after `after_seq`, by one of two queries: the
/// first (filtered), binding `filter` after account and region, when there is a filter, else the
/// second (all). Two queries rather than one with an optional condition, so each walks its own
/// index from the page start instead of sorting the scope.
fn page<T>(
    conn: &Connection,
    (filtered, all): (&'static str, &'static str),
    scope: &Scope,
    filter: Option<&str>,
    after_seq: Option<i64>,
    limit: u32,
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let (after_seq, limit) = (after_seq.unwrap_or(0), i64::from(limit));
    match filter {
        Some(value) => {
            let values: [&dyn ToSql; 5] =
                [&scope.account, &scope.region, &value, &after_seq, &limit];
            every(conn, filtered, &values, read)
        }
        None => {
            let values: [&dyn ToSql; 4] = [&scope.account, &scope.region, &after_seq, &limit];
            every(conn, all, &values, read)
        }
    }
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

#[async_trait]
impl crate::Inventory for SqliteStore {
    async fn count_keys_by_state(&self) -> StoreResult<Vec<(String, u64)>> {
        self.readers.read(|conn| {
            every(conn, sql::KEY_COUNTS_BY_STATE, &[], |row| {
                let count: i64 = row.get(1)?;
                Ok((row.get(0)?, u64::try_from(count).unwrap_or(0)))
            })
        })
    }

    async fn regions_with_keys(&self, account: &str) -> StoreResult<Vec<String>> {
        let values: [&dyn ToSql; 1] = [&account];
        self.readers
            .read(|conn| every(conn, sql::REGIONS_WITH_KEYS, &values, |row| row.get(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory as paycrypt left it before migration 4: migrations 1 to 3, with keys
    /// (one of them deleted) and aliases in two scopes.
    fn data_dir_at_migration_3(dir: &Path) {
        let conn = Connection::open(dir.join("paycrypt.db")).unwrap();
        conn.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
            .unwrap();
        for (version, sql) in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
            conn.execute(
                "INSERT INTO schema_migrations (version) VALUES (?1)",
                [version],
            )
            .unwrap();
        }
        for (account, key_id, state) in [
            ("111122223333", "k1", "CREATE_COMPLETE"),
            ("111122223333", "k2", "DELETE_PENDING"),
            ("111122223333", "k3", "DELETE_COMPLETE"),
            ("444455556666", "k1", "CREATE_COMPLETE"),
        ] {
            conn.execute(
                "INSERT INTO keys (account, region, key_id, state, metadata)
                 VALUES (?1, 'us-east-1', ?2, ?3, '{}')",
                [account, key_id, state],
            )
            .unwrap();
        }
        for name in ["alias/a", "alias/b"] {
            conn.execute(
                "INSERT INTO aliases (account, region, name) VALUES ('111122223333', 'us-east-1', ?1)",
                [name],
            )
            .unwrap();
        }
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
        data_dir_at_migration_3(dir.path());
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
