//! The statements the SQLite and PostgreSQL stores share: one text for both dialects wherever
//! they agree, so a query shape is written (and fixed) once.
//!
//! Parameters are written `$1`, `$2`, ... in both, and a statement may use one twice. PostgreSQL
//! numbers them itself; SQLite takes `$1` as a parameter's name, and the SQLite store binds by
//! that name (its `bound` helper, for reads and writes alike), so both stores bind the same values
//! in the same order.
//!
//! What stays per dialect lives in each store: the migrations (column types, triggers), the locks
//! PostgreSQL takes for its quotas, and the removal of several tags at once.

/// Every key column, for a [`crate::StoredKey`]; followed by the rest of the query.
macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "SELECT seq, key_id, state, delete_pending_ms, metadata, sealed_material FROM keys ",
            $rest
        )
    };
}

/// Every token column, for a [`crate::TokenRecord`]; followed by the rest of the query.
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT token, kind, material_type, algorithm, certificate, sealed_private_key,
             created_ms, expires_ms FROM tokens ",
            $rest
        )
    };
}

// Keys.

/// How many keys are in each state, over every account and region (the metrics' inventory).
pub(crate) const KEY_COUNTS_BY_STATE: &str =
    "SELECT state, COUNT(*) FROM keys GROUP BY state ORDER BY state";
/// The regions in which an account has keys: account.
pub(crate) const REGIONS_WITH_KEYS: &str =
    "SELECT DISTINCT region FROM keys WHERE account = $1 ORDER BY region";

/// One key by id: account, region, key id.
pub(crate) const KEY: &str = select_keys!("WHERE account = $1 AND region = $2 AND key_id = $3");
/// Two keys by id, in one statement (one read transaction): account, region, key id, key id.
/// Two lookups joined, not `IN`: SQLite would build a temporary table for the list at each run.
pub(crate) const KEY_PAIR: &str = concat!(
    select_keys!("WHERE account = $1 AND region = $2 AND key_id = $3"),
    " UNION ALL ",
    select_keys!("WHERE account = $1 AND region = $2 AND key_id = $4")
);
/// A ListKeys page (sequence, id, document) of the keys in a state: account, region, state, after
/// sequence, limit.
pub(crate) const LISTED_KEYS_IN_STATE_PAGE: &str = "SELECT seq, key_id, metadata FROM keys
    WHERE account = $1 AND region = $2 AND state = $3 AND seq > $4 ORDER BY seq LIMIT $5";
/// A ListKeys page of all keys: account, region, after sequence, limit.
pub(crate) const LISTED_KEYS_PAGE: &str = "SELECT seq, key_id, metadata FROM keys
    WHERE account = $1 AND region = $2 AND seq > $3 ORDER BY seq LIMIT $4";
/// Keys in a state in every scope, for operator tools: state.
pub(crate) const KEYS_IN_STATE_EVERYWHERE: &str = "SELECT account, region, seq, key_id, state,
    delete_pending_ms, metadata, sealed_material FROM keys WHERE state = $1 ORDER BY seq";
/// Pending deletions due: account, region, now (ms).
pub(crate) const DUE_DELETIONS: &str = select_keys!(
    "WHERE account = $1 AND region = $2
     AND state = 'DELETE_PENDING' AND delete_pending_ms <= $3 ORDER BY seq"
);
/// The earliest pending deletion: account, region.
pub(crate) const NEXT_DELETION: &str = "SELECT MIN(delete_pending_ms) FROM keys
    WHERE account = $1 AND region = $2 AND state = 'DELETE_PENDING'";
/// Inserts a key unless the scope's count of keys that are not `DELETE_COMPLETE` (kept by
/// triggers in `scope_counts`) has reached the quota; returns its sequence, or no row at the
/// quota: account, region, key id, state, deadline, metadata, sealed material, quota.
pub(crate) const INSERT_KEY: &str = "INSERT INTO keys
    (account, region, key_id, state, delete_pending_ms, metadata, sealed_material)
    SELECT $1, $2, $3, $4, $5, $6, $7
    WHERE COALESCE((SELECT live_keys FROM scope_counts WHERE account = $1 AND region = $2), 0) < $8
    RETURNING seq";
/// Replaces a key's state, deadline, metadata and material provided its state and metadata are
/// still as expected: state, deadline, metadata, material, account, region, key id, expected
/// state, expected metadata.
pub(crate) const UPDATE_KEY: &str = "UPDATE keys
    SET state = $1, delete_pending_ms = $2, metadata = $3, sealed_material = $4
    WHERE account = $5 AND region = $6 AND key_id = $7 AND state = $8 AND metadata = $9";
/// Whether a key exists: account, region, key id.
pub(crate) const KEY_EXISTS: &str =
    "SELECT seq FROM keys WHERE account = $1 AND region = $2 AND key_id = $3";
/// Removes a `DELETE_COMPLETE` key: account, region, key id.
pub(crate) const REMOVE_DELETED_KEY: &str = "DELETE FROM keys
    WHERE account = $1 AND region = $2 AND key_id = $3 AND state = 'DELETE_COMPLETE'";

// Aliases.

/// Creates an alias unless the scope's alias count has reached the quota; returns it, or no
/// row at the quota: account, region, name, key id, quota.
pub(crate) const INSERT_ALIAS: &str = "INSERT INTO aliases (account, region, name, key_id)
    SELECT $1, $2, $3, $4
    WHERE COALESCE((SELECT aliases FROM scope_counts WHERE account = $1 AND region = $2), 0) < $5
    RETURNING seq, name, key_id";
/// One alias by name: account, region, name.
pub(crate) const ALIAS: &str =
    "SELECT seq, name, key_id FROM aliases WHERE account = $1 AND region = $2 AND name = $3";
/// Points an alias at a key (or none): key id, account, region, name.
pub(crate) const UPDATE_ALIAS: &str = "UPDATE aliases SET key_id = $1
    WHERE account = $2 AND region = $3 AND name = $4 RETURNING seq, name, key_id";
/// Deletes an alias: account, region, name.
pub(crate) const DELETE_ALIAS: &str =
    "DELETE FROM aliases WHERE account = $1 AND region = $2 AND name = $3";
/// Removes the aliases of a key: account, region, key id.
pub(crate) const REMOVE_ALIASES_OF: &str =
    "DELETE FROM aliases WHERE account = $1 AND region = $2 AND key_id = $3";
/// A page of the aliases of one key: account, region, key id, after sequence, limit.
pub(crate) const ALIASES_OF_KEY_PAGE: &str = "SELECT seq, name, key_id FROM aliases
    WHERE account = $1 AND region = $2 AND key_id = $3 AND seq > $4 ORDER BY seq LIMIT $5";
/// A page of aliases: account, region, after sequence, limit.
pub(crate) const ALIASES_PAGE: &str = "SELECT seq, name, key_id FROM aliases
    WHERE account = $1 AND region = $2 AND seq > $3 ORDER BY seq LIMIT $4";

// Tags.

/// Adds or overwrites a tag: account, region, key id, tag key, tag value.
pub(crate) const UPSERT_TAG: &str = "INSERT INTO tags (account, region, key_id, tag_key, tag_value)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (account, region, key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value";
/// How many tags a key has: account, region, key id.
pub(crate) const COUNT_TAGS: &str =
    "SELECT COUNT(*) FROM tags WHERE account = $1 AND region = $2 AND key_id = $3";
/// A page of a key's tags in tag-key order, after a tag key if given: account, region, key id,
/// after, limit.
pub(crate) const TAGS_PAGE: &str = "SELECT tag_key, tag_value FROM tags
    WHERE account = $1 AND region = $2 AND key_id = $3
    AND (CAST($4 AS TEXT) IS NULL OR tag_key > $4) ORDER BY tag_key LIMIT $5";
/// Removes every tag of a key: account, region, key id.
pub(crate) const REMOVE_TAGS_OF: &str =
    "DELETE FROM tags WHERE account = $1 AND region = $2 AND key_id = $3";

// Certificate authorities.

/// Stores an authority unless the scope has one: account, region, certificate, sealed key.
pub(crate) const INIT_AUTHORITY: &str = "INSERT INTO authorities
    (account, region, certificate, sealed_private_key) VALUES ($1, $2, $3, $4)
    ON CONFLICT (account, region) DO NOTHING";
/// The scope's authority: account, region.
pub(crate) const AUTHORITY: &str =
    "SELECT certificate, sealed_private_key FROM authorities WHERE account = $1 AND region = $2";

// Tokens.

/// Stores a token: account, region, then the [`crate::TokenRecord`] fields in order.
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO tokens (account, region, token, kind,
    material_type, algorithm, certificate, sealed_private_key, created_ms, expires_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
/// One token by name: account, region, token.
pub(crate) const TOKEN: &str = select_tokens!("WHERE account = $1 AND region = $2 AND token = $3");
/// The latest token of a kind: account, region, kind, material type, algorithm.
pub(crate) const LATEST_TOKEN: &str = select_tokens!(
    "WHERE account = $1 AND region = $2 AND kind = $3 AND material_type = $4 AND algorithm = $5
     ORDER BY seq DESC LIMIT 1"
);

// Settings.

/// Stores a deployment setting unless set: name, value.
pub(crate) const INIT_SETTING: &str =
    "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
/// A deployment setting: name.
pub(crate) const SETTING: &str = "SELECT value FROM settings WHERE name = $1";
/// A scope setting: account, region, name.
pub(crate) const SCOPE_SETTING: &str =
    "SELECT value FROM scope_settings WHERE account = $1 AND region = $2 AND name = $3";
/// A setting in every scope: name.
pub(crate) const SCOPE_SETTINGS_EVERYWHERE: &str = "SELECT account, region, value
    FROM scope_settings WHERE name = $1 ORDER BY account, region";

/// A compare-and-set of a scope setting, as one statement that changes no row when the setting
/// is not as expected.
pub(crate) enum ScopeSettingChange {
    /// Nothing to change: the setting must be absent (checked by reading it).
    CheckAbsent,
    /// The statement, binding account, region, name, then the new value (if any), then the
    /// expected value (if any).
    Statement(&'static str),
}

/// The statement that sets a scope setting from `expected` to `value` (`None`: absent).
pub(crate) fn scope_setting_change(
    expected: Option<&[u8]>,
    value: Option<&[u8]>,
) -> ScopeSettingChange {
    ScopeSettingChange::Statement(match (expected, value) {
        (None, Some(_)) => {
            "INSERT INTO scope_settings (account, region, name, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account, region, name) DO NOTHING"
        }
        (Some(_), Some(_)) => {
            "UPDATE scope_settings SET value = $4
             WHERE account = $1 AND region = $2 AND name = $3 AND value = $5"
        }
        (Some(_), None) => {
            "DELETE FROM scope_settings
             WHERE account = $1 AND region = $2 AND name = $3 AND value = $4"
        }
        (None, None) => return ScopeSettingChange::CheckAbsent,
    })
}
