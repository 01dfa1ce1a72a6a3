//! The paycrypt domain: accounts and regions, keys and their lifecycle (multi-Region replicas and
//! multi-party approval included), aliases, tags and resource policies.
//!
//! The service knows nothing of HTTP. The server hands it a [`Context`] (who is asking, in which
//! region, at what time) and a decoded, validated [`paycrypt_api::Input`]; it answers with the
//! operation's output as JSON or an [`ApiError`]. It reaches storage only through
//! [`paycrypt_store::Store`], seals key material with [`Sealer`] before it gets there, and opens it
//! only inside the operation that needs it. One file per operation family.

mod aliases;
mod attributes;
mod authorization;
mod certificates;
mod clock;
mod data;
mod deletions;
mod exchange;
mod ids;
mod keys;
mod mpa;
mod paging;
mod parsed_documents;
mod policy;
mod replication;
mod resource_policies;
mod sealing;
mod tags;

use std::sync::Arc;

use paycrypt_api::{AnyOperation, ApiError, Input, Timestamp};
use paycrypt_store::{Scope, Store, StoreError};
use serde::Serialize;
use zeroize::Zeroize;

pub use attributes::create_options;
pub use authorization::{
    IdentityPolicy, is_user_name, parse_identity_policy, principal_arn, user_id,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use data::DataAnswer;
pub use exchange::TokenPolicy;
pub use mpa::{MpaDecision, MpaSession};
pub use sealing::{SealError, Sealer};

/// Which way a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    /// The control plane's API (`POST /` with `X-Amz-Target`).
    Control,
    /// The data plane's API (rest-json paths).
    Data,
    /// The web console.
    Console,
    /// The `paycrypt admin` command line, on the machine itself.
    Admin,
}

/// Who signed a request and where it came from: what the audit trail records, and what a
/// request is authorized as (see `authorization`).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The access key id the request was signed (or the console session opened) with; `None`
    /// for the admin command line, which holds no credential.
    pub access_key_id: Option<String>,
    /// The user the credential belongs to (`arn:aws:iam::ACCOUNT:user/NAME`); `None` for an
    /// account's root credential and the admin command line.
    pub user: Option<String>,
    /// What the user may do; `None` means everything in its account, as for a credential
    /// without a policy.
    pub identity_policy: Option<Arc<IdentityPolicy>>,
    /// The address the request came from, when it came over the network.
    pub source_ip: Option<std::net::IpAddr>,
    /// The client's `User-Agent`, as sent.
    pub user_agent: Option<String>,
    pub plane: Plane,
}

impl Caller {
    /// The admin command line: no credential, no network address.
    pub fn admin() -> Self {
        Self {
            access_key_id: None,
            user: None,
            identity_policy: None,
            source_ip: None,
            user_agent: None,
            plane: Plane::Admin,
        }
    }
}

/// Who is asking, for which operation, where, and when: built by the server for each request.
#[derive(Debug, Clone)]
pub struct Context {
    pub account: String,
    pub caller: Caller,
    pub region: String,
    /// The operation being served: it decides whether a key of another account may be named,
    /// and which action a key's resource policy is asked about.
    pub operation: AnyOperation,
    pub request_id: String,
    pub now: Timestamp,
}

impl Context {
    /// The IAM ARN of the caller: its user's, or its account root's.
    pub fn caller_arn(&self) -> String {
        principal_arn(&self.account, self.caller.user.as_deref())
    }

    fn scope(&self) -> Scope {
        Scope {
            account: self.account.clone(),
            region: self.region.clone(),
        }
    }

    /// This request as seen by the account owning `scope` (for what a key's own account does on
    /// its behalf, such as issuing a certificate from that account's CA).
    fn on_behalf_of(&self, scope: &Scope) -> Context {
        Context {
            account: scope.account.clone(),
            region: scope.region.clone(),
            ..self.clone()
        }
    }
}

/// Per account and region limits (AWS's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_keys: u32,
    pub max_aliases: u32,
    pub max_tags: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_keys: 2000,
            max_aliases: 2000,
            max_tags: 200,
        }
    }
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "the master key does not match the one this data was written with; start paycrypt with the original master key"
    )]
    WrongMasterKey,
    #[error("the store could not be read: {0}")]
    Store(#[from] StoreError),
}

/// The operations, over a store and a master key.
pub struct Service {
    store: Arc<dyn Store>,
    sealer: Arc<Sealer>,
    limits: Limits,
    token_policy: TokenPolicy,
    key_pool: exchange::KeyPool,
    deletions: deletions::DeletionSchedule,
    /// Held while an account CA is created, so concurrent first uses create one.
    authority_creation: tokio::sync::Mutex<()>,
}

/// The store failed: the details go to the operator's log, the client gets a generic error.
fn store_error(e: StoreError) -> ApiError {
    tracing::error!("store failure: {e}");
    ApiError::internal("The request could not be completed because of an internal error.")
}

/// What each worker thread's response scratch buffer starts with: room for a few kilobytes (a
/// data-plane `CipherText`, a page of keys), so that serde_json does not grow it from its own
/// 128 bytes, copying at each doubling. A buffer grown past `SCRATCH_KEPT` is let go after use.
const SCRATCH_CAPACITY: usize = 4096;
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(Vec::with_capacity(SCRATCH_CAPACITY));
}

/// The JSON of `output` as serde_json writes it; see [`to_json_by`].
fn to_json<T: Serialize>(output: &T) -> Result<Vec<u8>, ApiError> {
    to_json_by(output, |out, output| serde_json::to_writer(out, output))
}

/// The JSON of `output` by `write`, written into the thread's scratch buffer and copied out at
/// its exact size: one allocation that fits the body (a small one stays in the allocator's fast
/// per-thread caches, where a fresh 4 KiB buffer each time made glibc consolidate its free
/// lists). The scratch copy is wiped, as a body may carry a decrypted `PlainText`.
fn to_json_by<T: Serialize>(
    output: &T,
    write: impl FnOnce(&mut Vec<u8>, &T) -> Result<(), serde_json::Error>,
) -> Result<Vec<u8>, ApiError> {
    SCRATCH.with_borrow_mut(|scratch| {
        let written = write(&mut *scratch, output)
            .map_err(|e| ApiError::internal(format!("Encoding failed: {e}")));
        let body = written.map(|()| scratch.clone());
        scratch.as_mut_slice().zeroize();
        scratch.clear();
        if scratch.capacity() > SCRATCH_KEPT {
            *scratch = Vec::with_capacity(SCRATCH_CAPACITY);
        }
        body
    })
}

const MASTER_KEY_CHECK: &str = "master_key_check";

impl Service {
    /// A service over `store`, refusing to start when `sealer`'s master key is not the one the
    /// store's data was sealed with.
    pub async fn new(
        store: Arc<dyn Store>,
        sealer: Sealer,
        limits: Limits,
        token_policy: TokenPolicy,
    ) -> Result<Self, StartError> {
        let stored = store
            .init_setting(MASTER_KEY_CHECK, &sealer.check_value())
            .await?;
        if !sealer.matches_check(&stored) {
            return Err(StartError::WrongMasterKey);
        }
        Ok(Self {
            store,
            sealer: Arc::new(sealer),
            limits,
            token_policy,
            key_pool: exchange::KeyPool::new(0),
            deletions: deletions::DeletionSchedule::default(),
            authority_creation: tokio::sync::Mutex::new(()),
        })
    }

    /// Keeps up to `size` RSA-2048 key pairs pregenerated in a background thread for export and
    /// import tokens, each used for one token only; 0 (the default) generates every pair on
    /// request.
    pub fn with_rsa_key_pool(mut self, size: usize) -> Self {
        self.key_pool = exchange::KeyPool::new(size);
        self
    }

    /// Runs one operation and returns its output as the JSON body of the response.
    pub async fn handle(&self, ctx: &Context, input: Input) -> Result<Vec<u8>, ApiError> {
        if ctx.operation != AnyOperation::Control(input.operation()) {
            return Err(ApiError::internal(
                "The request's operation does not match its input.",
            ));
        }
        self.authorize(ctx, &input).await?;
        self.complete_due_deletions(&ctx.scope(), ctx.now).await?;
        match input {
            Input::CreateKey(i) => to_json(&self.create_key(ctx, i).await?),
            Input::GetKey(i) => to_json(&self.get_key(ctx, i).await?),
            Input::ListKeys(i) => self.list_keys(ctx, i).await,
            Input::DeleteKey(i) => to_json(&self.delete_key(ctx, i).await?),
            Input::RestoreKey(i) => to_json(&self.restore_key(ctx, i).await?),
            Input::StartKeyUsage(i) => to_json(&self.start_key_usage(ctx, i).await?),
            Input::StopKeyUsage(i) => to_json(&self.stop_key_usage(ctx, i).await?),
            Input::CreateAlias(i) => to_json(&self.create_alias(ctx, i).await?),
            Input::GetAlias(i) => to_json(&self.get_alias(ctx, i).await?),
            Input::ListAliases(i) => to_json(&self.list_aliases(ctx, i).await?),
            Input::UpdateAlias(i) => to_json(&self.update_alias(ctx, i).await?),
            Input::DeleteAlias(i) => to_json(&self.delete_alias(ctx, i).await?),
            Input::TagResource(i) => to_json(&self.tag_resource(ctx, i).await?),
            Input::UntagResource(i) => to_json(&self.untag_resource(ctx, i).await?),
            Input::ListTagsForResource(i) => to_json(&self.list_tags_for_resource(ctx, i).await?),
            Input::GetParametersForExport(i) => {
                to_json(&self.get_parameters_for_export(ctx, i).await?)
            }
            Input::GetParametersForImport(i) => {
                to_json(&self.get_parameters_for_import(ctx, i).await?)
            }
            Input::ExportKey(i) => to_json(&self.export_key(ctx, i).await?),
            Input::ImportKey(i) => to_json(&self.import_key(ctx, i).await?),
            Input::GetPublicKeyCertificate(i) => {
                to_json(&self.get_public_key_certificate(ctx, i).await?)
            }
            Input::GetCertificateSigningRequest(i) => {
                to_json(&self.get_certificate_signing_request(ctx, i).await?)
            }
            Input::PutResourcePolicy(i) => to_json(&self.put_resource_policy(ctx, i).await?),
            Input::GetResourcePolicy(i) => to_json(&self.get_resource_policy(ctx, i).await?),
            Input::DeleteResourcePolicy(i) => to_json(&self.delete_resource_policy(ctx, i).await?),
            Input::AddKeyReplicationRegions(i) => {
                to_json(&self.add_key_replication_regions(ctx, i).await?)
            }
            Input::RemoveKeyReplicationRegions(i) => {
                to_json(&self.remove_key_replication_regions(ctx, i).await?)
            }
            Input::EnableDefaultKeyReplicationRegions(i) => {
                to_json(&self.enable_default_key_replication_regions(ctx, i).await?)
            }
            Input::DisableDefaultKeyReplicationRegions(i) => {
                to_json(&self.disable_default_key_replication_regions(ctx, i).await?)
            }
            Input::GetDefaultKeyReplicationRegions(i) => {
                to_json(&self.get_default_key_replication_regions(ctx, i).await?)
            }
            Input::AssociateMpaTeam(i) => to_json(&self.associate_mpa_team(ctx, i).await?),
            Input::DisassociateMpaTeam(i) => to_json(&self.disassociate_mpa_team(ctx, i).await?),
            Input::GetMpaTeamAssociation(i) => {
                to_json(&self.get_mpa_team_association(ctx, i).await?)
            }
        }
    }
}

/// Counts for operators, outside any API operation: they name no key and no account but the
/// caller's own.
impl Service {
    /// How many keys are in each state (`CREATE_COMPLETE`, ...), over every account and region.
    pub async fn count_keys_by_state(&self) -> Result<Vec<(String, u64)>, ApiError> {
        self.store.count_keys_by_state().await.map_err(store_error)
    }

    /// The regions in which `account` has keys, in name order.
    pub async fn regions_with_keys(&self, account: &str) -> Result<Vec<String>, ApiError> {
        self.store
            .regions_with_keys(account)
            .await
            .map_err(store_error)
    }
}
