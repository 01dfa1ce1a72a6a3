//! The access keys the server accepts, each belonging to one account. The set can be replaced
//! while the server runs (on a configuration reload); requests verified afterwards see the new set.

use std::collections::HashMap;
use std::sync::RwLock;

use paycrypt_sigv4::{Credential, CredentialStore};

/// One access key of an account.
#[derive(Clone)]
pub struct AccessKey {
    pub account: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("account", &self.account)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Access key id -> (secret, account).
#[derive(Debug, Default)]
pub struct Credentials {
    by_id: RwLock<HashMap<String, AccessKey>>,
}

fn index(keys: impl IntoIterator<Item = AccessKey>) -> HashMap<String, AccessKey> {
    keys.into_iter()
        .map(|k| (k.access_key_id.clone(), k))
        .collect()
}

impl Credentials {
    pub fn new(keys: impl IntoIterator<Item = AccessKey>) -> Self {
        Self {
            by_id: RwLock::new(index(keys)),
        }
    }

    /// Replaces every access key at once: a key left out is refused from now on.
    pub fn replace(&self, keys: impl IntoIterator<Item = AccessKey>) {
        let keys = index(keys);
        *self.by_id.write().unwrap_or_else(|e| e.into_inner()) = keys;
    }
}

impl CredentialStore for Credentials {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        let by_id = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        by_id.get(access_key_id).map(|k| Credential {
            secret_access_key: k.secret_access_key.clone(),
            principal: k.account.clone(),
        })
    }
}
