//! The access keys the server accepts, each belonging to one account and, optionally, to a user
//! of it with an identity policy. The set can be replaced while the server runs (on a
//! configuration reload); requests verified afterwards see the new set.
//! The console signs in with the same keys ([`Credentials::authenticate`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::http::request::Parts;
use paycrypt_service::IdentityPolicy;
use paycrypt_sigv4::{AuthError, Credential, CredentialStore, Verified};

/// One access key of an account.
#[derive(Clone)]
pub struct AccessKey {
    pub account: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The user the key belongs to (`arn:aws:iam::ACCOUNT:user/NAME`); `None` for the account's
    /// root credential.
    pub user: Option<String>,
    /// What the key may do; `None` means everything in its account.
    pub identity_policy: Option<Arc<IdentityPolicy>>,
}

impl AccessKey {
    /// A root credential of `account`: no user, no policy.
    pub fn root(account: &str, access_key_id: &str, secret_access_key: &str) -> Self {
        Self {
            account: account.into(),
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            user: None,
            identity_policy: None,
        }
    }
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("account", &self.account)
            .field("access_key_id", &self.access_key_id)
            .field("user", &self.user)
            .field("identity_policy", &self.identity_policy.is_some())
            .finish_non_exhaustive()
    }
}

/// Who signed a request: the verified signature, and the user and policy of its access key.
#[derive(Debug)]
pub struct Signer {
    pub verified: Verified,
    pub user: Option<String>,
    pub identity_policy: Option<Arc<IdentityPolicy>>,
}

type Index = HashMap<String, AccessKey>;

/// Access key id -> (secret, account, user, policy).
#[derive(Debug, Default)]
pub struct Credentials {
    by_id: RwLock<Arc<Index>>,
}

fn index(keys: impl IntoIterator<Item = AccessKey>) -> Arc<Index> {
    Arc::new(
        keys.into_iter()
            .map(|k| (k.access_key_id.clone(), k))
            .collect(),
    )
}

/// The keys as they were when a request's verification began, so the signature and the user
/// come from the same set even when a reload replaces it meanwhile.
struct Snapshot(Arc<Index>);

impl CredentialStore for Snapshot {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        self.0.get(access_key_id).map(|k| Credential {
            secret_access_key: k.secret_access_key.clone(),
            principal: k.account.clone(),
        })
    }
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
    ) -> Result<Signer, AuthError> {
        let signed = paycrypt_sigv4::Request {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body,
        };
        let snapshot = Snapshot(self.by_id.read().unwrap_or_else(|e| e.into_inner()).clone());
        let verified = paycrypt_sigv4::verify(&signed, &snapshot, now, service)?;
        let key = snapshot.0.get(&verified.access_key_id);
        Ok(Signer {
            user: key.and_then(|k| k.user.clone()),
            identity_policy: key.and_then(|k| k.identity_policy.clone()),
            verified,
        })
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

    /// The access key `access_key_id` as the configuration now has it (a console session reads
    /// its user and policy afresh on every page, so a reload applies at once).
    pub fn get(&self, access_key_id: &str) -> Option<AccessKey> {
        let by_id = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        by_id.get(access_key_id).cloned()
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
