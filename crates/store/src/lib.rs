//! Durable storage for paycrypt: the `Store` trait the service talks to, the records it keeps, and
//! the implementations behind it: SQLite, the embedded default for one node, and PostgreSQL, for
//! several nodes sharing one database.
//!
//! The store knows nothing of payment cryptography. A key is a row with the few columns queries need
//! (state, deletion deadline, an insertion sequence for stable pagination), an opaque JSON document
//! the service owns, and key material that arrives already sealed. Every method is scoped to one
//! account and region, so no lookup can reach another account's rows. A method returns only after
//! its write is durable.

mod checkpoint;
mod group_commit;
mod postgres;
mod sql;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;

/// The account and region every record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

/// A key as stored: columns for queries plus the service's own JSON document.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: String,
    /// The key state as the API spells it (`CREATE_COMPLETE`, `DELETE_PENDING`, ...).
    pub state: String,
    /// When a pending deletion completes, in milliseconds since the epoch.
    pub delete_pending_ms: Option<i64>,
    /// The service's description of the key (attributes, timestamps, KCV), as JSON.
    pub metadata: String,
    /// Key material sealed by the service; `None` once destroyed.
    pub sealed_material: Option<Vec<u8>>,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("key_id", &self.key_id)
            .field("state", &self.state)
            .field("delete_pending_ms", &self.delete_pending_ms)
            .field("has_material", &self.sealed_material.is_some())
            .finish_non_exhaustive()
    }
}

/// A stored key with its insertion sequence, the pagination cursor of ListKeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub seq: i64,
    pub record: KeyRecord,
}

/// A key as ListKeys pages show it: its sequence (the pagination cursor), id and document,
/// without its material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub seq: i64,
    pub key_id: String,
    /// The service's description of the key, as JSON.
    pub metadata: String,
}

/// An alias and the key it points to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    pub seq: i64,
    pub name: String,
    pub key_id: Option<String>,
}

/// One tag of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The certificate authority of one account and region: its certificate and sealed private key.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorityRecord {
    pub certificate: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
}

impl std::fmt::Debug for AuthorityRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorityRecord").finish_non_exhaustive()
    }
}

/// An import or export token: the key pair and certificate that GetParametersForImport or
/// GetParametersForExport handed out, valid until `expires_ms`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token: String,
    /// `export` or `import`.
    pub kind: String,
    pub material_type: String,
    pub algorithm: String,
    pub certificate: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_ms: i64,
    pub expires_ms: i64,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("token", &self.token)
            .field("kind", &self.kind)
            .field("expires_ms", &self.expires_ms)
            .finish_non_exhaustive()
    }
}

/// One key of a multi-Region group written by [`Store::write_key_group`]: a primary key or one of
/// its replicas, each in its own region of the group's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWrite {
    pub region: String,
    pub record: KeyRecord,
    /// For an update, the record as the caller read it (`Conflict` unless it is still so). `None`
    /// inserts the key within the region's key quota; an insert replaces a `DELETE_COMPLETE` key
    /// with the same id (a replica removed earlier and now added again).
    pub expected: Option<KeyRecord>,
    /// Tags to put on an inserted key.
    pub tags: Vec<Tag>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique name is taken (an alias).
    #[error("already exists")]
    Conflict,
    /// The write would pass the given limit.
    #[error("limit exceeded")]
    QuotaExceeded,
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// The database failed; the message is for the operator's log, never for clients.
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What the service needs from a database. Implementations make each call atomic and durable.
#[async_trait]
pub trait Store: Inventory + Send + Sync {
    /// Inserts a key and its tags, unless the scope already holds `max_keys` keys that are not
    /// `DELETE_COMPLETE`. Returns the key's sequence number.
    async fn insert_key(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        tags: &[Tag],
        max_keys: u32,
    ) -> StoreResult<i64>;
    async fn get_key(&self, scope: &Scope, key_id: &str) -> StoreResult<Option<StoredKey>>;
    /// Two keys of one scope, read together (an operation that uses two keys reads them in one
    /// round): each as [`Store::get_key`] would answer it alone.
    async fn get_key_pair(
        &self,
        scope: &Scope,
        first: &str,
        second: &str,
    ) -> StoreResult<(Option<StoredKey>, Option<StoredKey>)>;
    /// Replaces the state, deadline, metadata and material of an existing key, provided it is
    /// still as `expected` (the record the caller read): `Conflict` when another request changed
    /// it meanwhile, `NotFound` when there is no such key.
    async fn update_key(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        expected: &KeyRecord,
    ) -> StoreResult<()>;
    /// Keys in insertion order after `after_seq`, optionally only those in `state`; their
    /// material is not read.
    async fn list_keys(
        &self,
        scope: &Scope,
        state: Option<&str>,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ListedKey>>;
    /// Keys whose pending deletion is due at `now_ms`.
    async fn due_deletions(&self, scope: &Scope, now_ms: i64) -> StoreResult<Vec<StoredKey>>;
    /// The earliest deadline of a pending deletion in the scope, if any key is `DELETE_PENDING`.
    async fn next_deletion_ms(&self, scope: &Scope) -> StoreResult<Option<i64>>;
    /// Completes a deletion in one transaction: stores the key as given (without material) and
    /// removes the aliases that pointed to it; `Conflict` unless the key is still as `expected`.
    async fn complete_deletion(
        &self,
        scope: &Scope,
        key: &KeyRecord,
        expected: &KeyRecord,
    ) -> StoreResult<()>;

    /// Writes keys of one account in several regions in one transaction, so a primary key and
    /// its replicas never disagree: every write happens or none does. Inserts count against the
    /// key quota of their own region (`QuotaExceeded`); updates fail with `Conflict` or
    /// `NotFound` like [`Store::update_key`]; a key written as `DELETE_COMPLETE` loses its
    /// aliases, as in [`Store::complete_deletion`].
    async fn write_key_group(
        &self,
        account: &str,
        writes: &[KeyWrite],
        max_keys: u32,
    ) -> StoreResult<()>;
    /// Keys in `state` in every account and region, for operator tools (such as the pending
    /// multi-party approvals that `paycrypt admin mpa list` shows), never for API requests.
    async fn keys_in_state_everywhere(&self, state: &str) -> StoreResult<Vec<(Scope, StoredKey)>>;

    /// Creates an alias unless the name is taken (`Conflict`) or the scope holds `max_aliases`.
    async fn create_alias(
        &self,
        scope: &Scope,
        name: &str,
        key_id: Option<&str>,
        max_aliases: u32,
    ) -> StoreResult<AliasRecord>;
    async fn get_alias(&self, scope: &Scope, name: &str) -> StoreResult<Option<AliasRecord>>;
    /// Points an existing alias at a key, or detaches it.
    async fn update_alias(
        &self,
        scope: &Scope,
        name: &str,
        key_id: Option<&str>,
    ) -> StoreResult<AliasRecord>;
    async fn delete_alias(&self, scope: &Scope, name: &str) -> StoreResult<()>;
    /// Aliases in creation order after `after_seq`, optionally only those pointing to `key_id`.
    async fn list_aliases(
        &self,
        scope: &Scope,
        key_id: Option<&str>,
        after_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AliasRecord>>;

    /// Adds or overwrites tags on a key unless it would then carry more than `max_tags`.
    async fn put_tags(
        &self,
        scope: &Scope,
        key_id: &str,
        tags: &[Tag],
        max_tags: u32,
    ) -> StoreResult<()>;
    async fn remove_tags(
        &self,
        scope: &Scope,
        key_id: &str,
        tag_keys: &[String],
    ) -> StoreResult<()>;
    /// Tags of a key in tag-key order, after the tag key `after`.
    async fn list_tags(
        &self,
        scope: &Scope,
        key_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Tag>>;

    /// Stores the scope's certificate authority unless it has one already, and returns the one
    /// stored afterwards, so concurrent first uses agree on a single authority.
    async fn init_authority(
        &self,
        scope: &Scope,
        authority: &AuthorityRecord,
    ) -> StoreResult<AuthorityRecord>;
    async fn get_authority(&self, scope: &Scope) -> StoreResult<Option<AuthorityRecord>>;

    async fn insert_token(&self, scope: &Scope, token: &TokenRecord) -> StoreResult<()>;
    async fn get_token(&self, scope: &Scope, token: &str) -> StoreResult<Option<TokenRecord>>;
    /// The most recently created token of a kind, material type and algorithm.
    async fn latest_token(
        &self,
        scope: &Scope,
        kind: &str,
        material_type: &str,
        algorithm: &str,
    ) -> StoreResult<Option<TokenRecord>>;

    /// Deployment-wide settings (such as the master-key check value): stores `value` under `name`
    /// unless a value is there already, and returns the value that is stored afterwards.
    async fn init_setting(&self, name: &str, value: &[u8]) -> StoreResult<Vec<u8>>;

    /// A setting of one account and region (such as its default replication regions).
    async fn get_scope_setting(&self, scope: &Scope, name: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `value` under `name` in the scope (`None` removes it), provided the setting still
    /// holds `expected` (`None`: absent); `Conflict` when another request changed it meanwhile.
    async fn put_scope_setting(
        &self,
        scope: &Scope,
        name: &str,
        value: Option<&[u8]>,
        expected: Option<&[u8]>,
    ) -> StoreResult<()>;
    /// The value of the setting `name` in every scope that has one, for operator tools.
    async fn scope_settings_everywhere(&self, name: &str) -> StoreResult<Vec<(Scope, Vec<u8>)>>;
}

/// Counts for operators (the `/metrics` page, the console's region picker): read-only, and never
/// what an API request answers.
#[async_trait]
pub trait Inventory {
    /// How many keys are in each state, over every account and region, in state order.
    async fn count_keys_by_state(&self) -> StoreResult<Vec<(String, u64)>>;
    /// The regions in which `account` has keys (in any state), in name order.
    async fn regions_with_keys(&self, account: &str) -> StoreResult<Vec<String>>;
}

/// The rows of a two-key read, put back in the order the ids were asked in (`KEY_PAIR` answers a
/// key asked for twice twice).
pub(crate) fn pair_of(
    mut rows: Vec<StoredKey>,
    first: &str,
    second: &str,
) -> (Option<StoredKey>, Option<StoredKey>) {
    let mut take = |id: &str| {
        let at = rows.iter().position(|key| key.record.key_id == id)?;
        Some(rows.swap_remove(at))
    };
    (take(first), take(second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_records_prints_no_sealed_bytes() {
        let sealed = vec![0xC3; 48];
        let key = KeyRecord {
            key_id: "k".into(),
            state: "CREATE_COMPLETE".into(),
            delete_pending_ms: None,
            metadata: "{}".into(),
            sealed_material: Some(sealed.clone()),
        };
        let token = TokenRecord {
            token: "export-token-x".into(),
            kind: "export".into(),
            material_type: "TR34_KEY_BLOCK".into(),
            algorithm: "RSA_2048".into(),
            certificate: vec![],
            sealed_private_key: sealed.clone(),
            created_ms: 0,
            expires_ms: 1,
        };
        let authority = AuthorityRecord {
            certificate: vec![],
            sealed_private_key: sealed,
        };
        for printed in [
            format!("{key:?}"),
            format!("{token:?}"),
            format!("{authority:?}"),
        ] {
            assert!(!printed.contains("195"), "{printed}");
            assert!(!printed.to_lowercase().contains("c3c3"), "{printed}");
        }
        assert!(format!("{key:?}").contains("has_material: true"));
    }
}
