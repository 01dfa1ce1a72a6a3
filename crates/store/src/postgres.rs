//! The PostgreSQL store, for several paycrypt nodes sharing one database. Every write is a
//! transaction that has committed before the call returns; the pool holds several connections,
//! so reads and writes of different requests run side by side.
//!
//! Nodes share nothing but the database, so every rule that spans rows is enforced there, never
//! by a lock inside one process:
//!
//! - Uniqueness (key ids, alias names, token names, one authority per scope, one value per setting)
//!   rests on the tables' unique constraints. A losing insert gets a unique violation, mapped to
//!   [`StoreError::Conflict`]; `init_authority` and `init_setting` insert with
//!   `ON CONFLICT DO NOTHING` and then read back whichever row committed first.
//! - Quotas (keys and aliases per scope, tags per key) read a count and then insert, which two
//!   transactions could interleave. Each such transaction therefore first takes a
//!   transaction-scoped advisory lock named after what it counts (`pg_advisory_xact_lock` on a
//!   namespace and `hashtext` of the scope). Writers to the same scope queue on the lock; at
//!   READ COMMITTED each statement after it sees every row its predecessor committed, so the count
//!   is exact. Writers to other scopes are not held up (a hash collision only makes two scopes
//!   queue together). This was chosen over SERIALIZABLE isolation because a serialization failure
//!   would have to be retried by every caller, whereas the lock turns the race into a short wait.
//!   The key and alias counts are not counted at each insert but kept by triggers in
//!   `scope_counts` (migration 5), as the SQLite store keeps them, so a quota check costs the same
//!   at 100,000 keys as at 1,000; the insert reads the count in the same statement
//!   ([`sql::INSERT_KEY`], [`sql::INSERT_ALIAS`]). Tags per key are few and still counted.
//! - A multi-Region key group ([`Store::write_key_group`]) may insert into several regions; its
//!   transaction takes the key quota locks of all those regions first, in region order, and
//!   writes its keys in region order too (each write locks the key's row, then the region's
//!   `scope_counts` row through the triggers), so two groups never wait on each other's locks in
//!   opposite orders.
//! - Scope settings change by compare-and-set in one statement (an `UPDATE`/`DELETE` whose
//!   `WHERE` names the expected value, or an insert that fails on an existing row).
//! - Migrations run in one transaction behind an advisory lock of their own, so nodes starting
//!   together apply each version exactly once.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::sql::{self, ScopeSettingChange};
use crate::{
    AliasRecord, AuthorityRecord, KeyRecord, KeyWrite, ListedKey, Scope, Store, StoreError,
    StoreResult, StoredKey, Tag, TokenRecord,
};

/// Versioned schema migrations, applied in order at start-up; never edit one that has shipped.
/// The versions match the SQLite store's, table for table.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE keys (
        seq BIGSERIAL PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        state TEXT NOT NULL,
        delete_pending_ms BIGINT,
        metadata TEXT NOT NULL,
        sealed_material BYTEA,
        UNIQUE (account, region, key_id)
    );
    CREATE INDEX keys_by_state ON keys (account, region, state, seq);
    CREATE TABLE aliases (
        seq BIGSERIAL PRIMARY KEY,
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
        value BYTEA NOT NULL
    );",
    ),
    (
        2,
        "CREATE TABLE authorities (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        certificate BYTEA NOT NULL,
        sealed_private_key BYTEA NOT NULL,
        PRIMARY KEY (account, region)
    );
    CREATE TABLE tokens (
        seq BIGSERIAL PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        token TEXT NOT NULL,
        kind TEXT NOT NULL,
        material_type TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        certificate BYTEA NOT NULL,
        sealed_private_key BYTEA NOT NULL,
        created_ms BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL,
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
        value BYTEA NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE INDEX scope_settings_by_name ON scope_settings (name);
    CREATE INDEX keys_by_state_everywhere ON keys (state);",
    ),
    (
        4,
        // Pages of ListKeys and ListAliases walk an index in sequence order from the page start.
        "CREATE INDEX keys_by_scope ON keys (account, region, seq);
    CREATE INDEX aliases_by_scope ON aliases (account, region, seq);",
    ),
    (
        5,
        // Quotas read counts kept by triggers instead of counting rows, as in the SQLite store.
        // The tables are locked against writes of nodes still on the older version while the
        // counts are taken.
        "LOCK TABLE keys, aliases IN SHARE MODE;
    CREATE TABLE scope_counts (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        live_keys BIGINT NOT NULL DEFAULT 0,
        aliases BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (account, region)
    );
    INSERT INTO scope_counts (account, region, live_keys, aliases)
        SELECT account, region, SUM(live), SUM(alias) FROM (
            SELECT account, region, (state <> 'DELETE_COMPLETE')::INT AS live, 0 AS alias FROM keys
            UNION ALL SELECT account, region, 0, 1 FROM aliases
        ) AS rows GROUP BY account, region;
    CREATE FUNCTION paycrypt_count_keys() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO scope_counts AS c (account, region, live_keys)
                VALUES (NEW.account, NEW.region, (NEW.state <> 'DELETE_COMPLETE')::INT)
                ON CONFLICT (account, region) DO UPDATE SET live_keys = c.live_keys + EXCLUDED.live_keys;
        ELSIF TG_OP = 'DELETE' THEN
            UPDATE scope_counts SET live_keys = live_keys - (OLD.state <> 'DELETE_COMPLETE')::INT
                WHERE account = OLD.account AND region = OLD.region;
        ELSE
            UPDATE scope_counts SET live_keys = live_keys
                - (OLD.state <> 'DELETE_COMPLETE')::INT + (NEW.state <> 'DELETE_COMPLETE')::INT
                WHERE account = NEW.account AND region = NEW.region;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER keys_counted_on_insert AFTER INSERT ON keys
        FOR EACH ROW EXECUTE FUNCTION paycrypt_count_keys();
    CREATE TRIGGER keys_counted_on_delete AFTER DELETE ON keys
        FOR EACH ROW EXECUTE FUNCTION paycrypt_count_keys();
    CREATE TRIGGER keys_counted_on_state AFTER UPDATE OF state ON keys
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
        EXECUTE FUNCTION paycrypt_count_keys();
    CREATE FUNCTION paycrypt_count_aliases() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO scope_counts AS c (account, region, aliases)
                VALUES (NEW.account, NEW.region, 1)
                ON CONFLICT (account, region) DO UPDATE SET aliases = c.aliases + 1;
        ELSE
            UPDATE scope_counts SET aliases = aliases - 1
                WHERE account = OLD.account AND region = OLD.region;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER aliases_counted AFTER INSERT OR DELETE ON aliases
        FOR EACH ROW EXECUTE FUNCTION paycrypt_count_aliases();",
    ),
];

/// The advisory lock that serialises migrations: "paycrypt" in ASCII.
const MIGRATION_LOCK: i64 = 0x7061_7963_7279_7074;

/// Namespaces of the two-part advisory locks that guard quota counts; the second part is the
/// `hashtext` of the counted scope. Two-part and one-part advisory locks never collide.
#[derive(Clone, Copy)]
#[repr(i32)]
enum QuotaLock {
    Keys = 0x7063_0001,
    Aliases = 0x7063_0002,
    Tags = 0x7063_0003,
}

/// Connections the pool keeps open at most.
const POOL_SIZE: u32 = 16;

/// A connection pool to one PostgreSQL database, which any number of nodes may share.
pub struct PostgresStore {
    pool: PgPool,
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A failed insert: a unique violation means the name is taken.
fn insert_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        _ => backend(e),
    }
}

fn key_from_row(row: &PgRow) -> StoredKey {
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

fn alias_from_row(row: &PgRow) -> AliasRecord {
    AliasRecord {
        seq: row.get("seq"),
        name: row.get("name"),
        key_id: row.get("key_id"),
    }
}

fn token_from_row(row: &PgRow) -> TokenRecord {
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

fn authority_from_row(row: &PgRow) -> AuthorityRecord {
    AuthorityRecord {
        certificate: row.get("certificate"),
        sealed_private_key: row.get("sealed_private_key"),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// applies pending migrations. The database must exist; the tables are created in it.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options)
            .await
            .map_err(backend)?;
        migrate(&pool).await?;
        Ok(Self { pool })
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(backend)
    }
}

async fn migrate(pool: &PgPool) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    for (version, sql) in MIGRATIONS {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if applied.is_none() {
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tracing::info!(version, "PostgreSQL schema migration applied");
        }
    }
    tx.commit().await.map_err(backend)
}

/// Waits for the quota lock of `what` within `scope` (and `key_id`, for tags), held until `tx`
/// ends. It must be its own statement: the counts that follow then see every row committed by
/// the transaction that held the lock before.
async fn lock_quota(
    tx: &mut Transaction<'static, Postgres>,
    what: QuotaLock,
    scope: &Scope,
    key_id: Option<&str>,
) -> StoreResult<()> {
    let name = match key_id {
        Some(key_id) => format!("{}/{}/{}", scope.account, scope.region, key_id),
        None => format!("{}/{}", scope.account, scope.region),
    };
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(what as i32)
        .bind(name)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert_key(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        tags: &[Tag],
        max_keys: u32,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        lock_quota(&mut tx, QuotaLock::Keys, scope, None).await?;
        let seq = insert_key_row(&mut tx, scope, key, tags, max_keys).await?;
        tx.commit().await.map_err(backend)?;
        Ok(seq)
    }

    async fn write_key_group(
        &self,
        account: &str,
        writes: &[KeyWrite],
        max_keys: u32,
    ) -> StoreResult<()> {
        let scope_of = |region: &str| Scope {
            account: account.to_string(),
            region: region.to_string(),
        };
        let mut tx = self.begin().await?;
        let mut inserting: Vec<&str> = writes
            .iter()
            .filter(|w| w.expected.is_none())
            .map(|w| w.region.as_str())
            .collect();
        inserting.sort_unstable();
        inserting.dedup();
        for region in inserting {
            lock_quota(&mut tx, QuotaLock::Keys, &scope_of(region), None).await?;
        }
        let mut in_order: Vec<&KeyWrite> = writes.iter().collect();
        in_order.sort_by(|a, b| a.region.cmp(&b.region));
        for write in in_order {
            let scope = scope_of(&write.region);
            match &write.expected {
                Some(expected) => write_key(&mut tx, &scope, &write.record, expected).await?,
                None => {
                    remove_deleted_key(&mut tx, &scope, &write.record.key_id).await?;
                    insert_key_row(&mut tx, &scope, &write.record, &write.tags, max_keys).await?;
                }
            }
            if write.record.state == "DELETE_COMPLETE" {
                remove_aliases_of(&mut tx, &scope, &write.record.key_id).await?;
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn keys_in_state_everywhere(&self, state: &str) -> StoreResult<Vec<(Scope, StoredKey)>> {
        let rows = sqlx::query(sql::KEYS_IN_STATE_EVERYWHERE)
            .bind(state)
            .fetch_all(&self.pool)
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
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(key_from_row))
    }

    async fn get_key_pair(
        &self,
        scope: &Scope,
        first: &str,
        second: &str,
    ) -> StoreResult<(Option<StoredKey>, Option<StoredKey>)> {
        let rows = sqlx::query(sql::KEY_PAIR)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(first)
            .bind(second)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let rows = rows.iter().map(key_from_row).collect();
        Ok(crate::pair_of(rows, first, second))
    }

    async fn update_key(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        expected: &KeyRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        write_key(&mut tx, scope, key, expected).await?;
        tx.commit().await.map_err(backend)
    }

    async fn list_keys(
        &self,
        scope: &Scope,
        state: Option<&str>,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ListedKey>> {
        let rows = page(
            &self.pool,
            (sql::LISTED_KEYS_IN_STATE_PAGE, sql::LISTED_KEYS_PAGE),
            scope,
            state,
            after_seq,
            limit,
        )
        .await?;
        Ok(rows
            .iter()
            .map(|row| ListedKey {
                seq: row.get("seq"),
                key_id: row.get("key_id"),
                metadata: row.get("metadata"),
            })
            .collect())
    }

    async fn due_deletions(&self, scope: &Scope, now_ms: i64) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query(sql::DUE_DELETIONS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.iter().map(key_from_row).collect())
    }

    async fn next_deletion_ms(&self, scope: &Scope) -> StoreResult<Option<i64>> {
        sqlx::query_scalar(sql::NEXT_DELETION)
            .bind(&scope.account)
            .bind(&scope.region)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    async fn complete_deletion(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        expected: &KeyRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        write_key(&mut tx, scope, key, expected).await?;
        remove_aliases_of(&mut tx, scope, &key.key_id).await?;
        tx.commit().await.map_err(backend)
    }

    async fn create_alias(
        &self,
        scope: &Scope,
        name: &str,
        key_id: Option<&str>,
        max_aliases: u32,
    ) -> StoreResult<AliasRecord> {
        let mut tx = self.begin().await?;
        lock_quota(&mut tx, QuotaLock::Aliases, scope, None).await?;
        let row = sqlx::query(sql::INSERT_ALIAS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(name)
            .bind(key_id)
            .bind(i64::from(max_aliases))
            .fetch_optional(&mut *tx)
            .await
            .map_err(insert_error)?;
        if let Some(row) = row {
            tx.commit().await.map_err(backend)?;
            return Ok(alias_from_row(&row));
        }
        // At the quota, a name already taken is still a conflict.
        let taken = sqlx::query(sql::ALIAS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        Err(match taken {
            Some(_) => StoreError::Conflict,
            None => StoreError::QuotaExceeded,
        })
    }

    async fn get_alias(&self, scope: &Scope, name: &str) -> StoreResult<Option<AliasRecord>> {
        let row = sqlx::query(sql::ALIAS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(name)
            .fetch_optional(&self.pool)
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
        let row = sqlx::query(sql::UPDATE_ALIAS)
            .bind(key_id)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        Ok(alias_from_row(&row))
    }

    async fn delete_alias(&self, scope: &Scope, name: &str) -> StoreResult<()> {
        let done = sqlx::query(sql::DELETE_ALIAS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn list_aliases(
        &self,
        scope: &Scope,
        key_id: Option<&str>,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AliasRecord>> {
        let rows = page(
            &self.pool,
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
        let mut tx = self.begin().await?;
        lock_quota(&mut tx, QuotaLock::Tags, scope, Some(key_id)).await?;
        for tag in tags {
            upsert_tag(&mut tx, scope, key_id, tag).await?;
        }
        let count: i64 = sqlx::query_scalar(sql::COUNT_TAGS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(key_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if count > i64::from(max_tags) {
            return Err(StoreError::QuotaExceeded);
        }
        tx.commit().await.map_err(backend)
    }

    async fn remove_tags(
        &self,
        scope: &Scope,
        key_id: &str,
        tag_keys: &[String],
    ) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM tags WHERE account = $1 AND region = $2 AND key_id = $3
             AND tag_key = ANY($4)",
        )
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(key_id)
        .bind(tag_keys)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
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
            .fetch_all(&self.pool)
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
        let mut tx = self.begin().await?;
        // A concurrent insert of the same scope makes this one wait for it to end; once it has
        // committed, this one does nothing and the read below (a new statement, so a new
        // snapshot) returns the winner's row.
        sqlx::query(sql::INIT_AUTHORITY)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(&authority.certificate)
            .bind(&authority.sealed_private_key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let row = sqlx::query(sql::AUTHORITY)
            .bind(&scope.account)
            .bind(&scope.region)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(authority_from_row(&row))
    }

    async fn get_authority(&self, scope: &Scope) -> StoreResult<Option<AuthorityRecord>> {
        let row = sqlx::query(sql::AUTHORITY)
            .bind(&scope.account)
            .bind(&scope.region)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(authority_from_row))
    }

    async fn insert_token(&self, scope: &Scope, token: &TokenRecord) -> StoreResult<()> {
        sqlx::query(sql::INSERT_TOKEN)
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
            .execute(&self.pool)
            .await
            .map_err(insert_error)?;
        Ok(())
    }

    async fn get_token(&self, scope: &Scope, token: &str) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(sql::TOKEN)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(token)
            .fetch_optional(&self.pool)
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
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(token_from_row))
    }

    async fn init_setting(&self, name: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        let mut tx = self.begin().await?;
        sqlx::query(sql::INIT_SETTING)
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let stored: Vec<u8> = sqlx::query_scalar(sql::SETTING)
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn get_scope_setting(&self, scope: &Scope, name: &str) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar(sql::SCOPE_SETTING)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(name)
            .fetch_optional(&self.pool)
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
        let statement = match sql::scope_setting_change(expected, value) {
            ScopeSettingChange::Statement(statement) => statement,
            ScopeSettingChange::CheckAbsent => {
                return match self.get_scope_setting(scope, name).await? {
                    None => Ok(()),
                    Some(_) => Err(StoreError::Conflict),
                };
            }
        };
        let mut query = sqlx::query(statement)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(name);
        // The new value first, then the expected one, as the statements number them.
        for bytes in [value, expected].into_iter().flatten() {
            query = query.bind(bytes);
        }
        let done = query.execute(&self.pool).await.map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn scope_settings_everywhere(&self, name: &str) -> StoreResult<Vec<(Scope, Vec<u8>)>> {
        let rows = sqlx::query(sql::SCOPE_SETTINGS_EVERYWHERE)
            .bind(name)
            .fetch_all(&self.pool)
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
    pool: &PgPool,
    (filtered, all): (&'static str, &'static str),
    scope: &Scope,
    filter: Option<&str>,
    after_seq: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<PgRow>> {
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
/// `DELETE_COMPLETE`; `Conflict` when the id is taken. The caller holds the scope's quota lock.
async fn insert_key_row(
    tx: &mut Transaction<'static, Postgres>,
    scope: &Scope,
    key: &KeyRecord,
    tags: &[Tag],
    max_keys: u32,
) -> StoreResult<i64> {
    let seq: Option<i64> = sqlx::query_scalar(sql::INSERT_KEY)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(&key.key_id)
        .bind(&key.state)
        .bind(key.delete_pending_ms)
        .bind(&key.metadata)
        .bind(&key.sealed_material)
        .bind(i64::from(max_keys))
        .fetch_optional(&mut **tx)
        .await
        .map_err(insert_error)?;
    let seq = seq.ok_or(StoreError::QuotaExceeded)?;
    for tag in tags {
        upsert_tag(tx, scope, &key.key_id, tag).await?;
    }
    Ok(seq)
}

/// Removes a `DELETE_COMPLETE` key and its tags, so the id can be used again.
async fn remove_deleted_key(
    tx: &mut Transaction<'static, Postgres>,
    scope: &Scope,
    key_id: &str,
) -> StoreResult<()> {
    let done = sqlx::query(sql::REMOVE_DELETED_KEY)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(key_id)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    if done.rows_affected() > 0 {
        sqlx::query(sql::REMOVE_TAGS_OF)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(key_id)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

async fn remove_aliases_of(
    tx: &mut Transaction<'static, Postgres>,
    scope: &Scope,
    key_id: &str,
) -> StoreResult<()> {
    sqlx::query(sql::REMOVE_ALIASES_OF)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(key_id)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn write_key(
    tx: &mut Transaction<'static, Postgres>,
    scope: &Scope,
    key: &KeyRecord,
    expected: &KeyRecord,
) -> StoreResult<()> {
    let done = sqlx::query(sql::UPDATE_KEY)
        .bind(&key.state)
        .bind(key.delete_pending_ms)
        .bind(&key.metadata)
        .bind(&key.sealed_material)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(&key.key_id)
        .bind(&expected.state)
        .bind(&expected.metadata)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    if done.rows_affected() == 0 {
        let exists: Option<i64> = sqlx::query_scalar(sql::KEY_EXISTS)
            .bind(&scope.account)
            .bind(&scope.region)
            .bind(&key.key_id)
            .fetch_optional(&mut **tx)
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
    tx: &mut Transaction<'static, Postgres>,
    scope: &Scope,
    key_id: &str,
    tag: &Tag,
) -> StoreResult<()> {
    sqlx::query(sql::UPSERT_TAG)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(key_id)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl crate::Inventory for PostgresStore {
    async fn count_keys_by_state(&self) -> StoreResult<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(sql::KEY_COUNTS_BY_STATE)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(state, count)| (state, u64::try_from(count).unwrap_or(0)))
            .collect())
    }

    async fn regions_with_keys(&self, account: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(sql::REGIONS_WITH_KEYS)
            .bind(account)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(region,)| region).collect())
    }
}
