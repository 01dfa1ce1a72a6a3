//! The access keys the server accepts, each belonging to one account.

use std::collections::HashMap;

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
    by_id: HashMap<String, AccessKey>,
}

impl Credentials {
    pub fn new(keys: impl IntoIterator<Item = AccessKey>) -> Self {
        Self {
            by_id: keys
                .into_iter()
                .map(|k| (k.access_key_id.clone(), k))
                .collect(),
        }
    }
}

impl CredentialStore for Credentials {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        self.by_id.get(access_key_id).map(|k| Credential {
            secret_access_key: k.secret_access_key.clone(),
            principal: k.account.clone(),
        })
    }
}
