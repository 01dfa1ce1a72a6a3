//! The access keys the server accepts, each belonging to one account. The set can be replaced
//! while the server runs (on a configuration reload); requests verified afterwards see the new set.
//! The console signs in with the same keys ([`Credentials::authenticate`]).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::SystemTime;

use axum::http::request::Parts;
use paycrypt_sigv4::{AuthError, Credential, CredentialStore, Verified};

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

    /// Checks the SigV4 signature of a request received as `parts` and `body` at `now`, for
    /// credentials scoped to `service`, and says who signed it.
    pub fn verify(
        &self,
        parts: &Parts,
        body: &[u8],
        now: SystemTime,
        service: &str,
    ) -> Result<Verified, AuthError> {
        let signed = paycrypt_sigv4::Request {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body,
        };
        paycrypt_sigv4::verify(&signed, self, now, service)
    }

    /// The access key `access_key_id` when `secret` is its secret (the console's sign-in). The
    /// secrets are compared in constant time, and an unknown id costs the same comparison, so
    /// the time taken tells neither which part was wrong nor how much of the secret matched.
    pub fn authenticate(&self, access_key_id: &str, secret: &str) -> Option<AccessKey> {
        use subtle::ConstantTimeEq;
        let by_id = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        let found = by_id.get(access_key_id);
        let expected = found.map_or("\0not-a-secret", |k| k.secret_access_key.as_str());
        let same = digest(expected).ct_eq(&digest(secret));
        match (found, bool::from(same)) {
            (Some(key), true) => Some(key.clone()),
            _ => None,
        }
    }

    /// Replaces every access key at once: a key left out is refused from now on.
    pub fn replace(&self, keys: impl IntoIterator<Item = AccessKey>) {
        let keys = index(keys);
        *self.by_id.write().unwrap_or_else(|e| e.into_inner()) = keys;
    }
}

/// SHA-256 of a secret, so secrets of different lengths compare in the same time.
fn digest(secret: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).into()
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
