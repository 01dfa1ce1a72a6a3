//! The key lifecycle: CreateKey, GetKey, ListKeys, DeleteKey, RestoreKey, StartKeyUsage and
//! StopKeyUsage, plus what every other operation uses to find a key by identifier (in the caller's
//! account, or in another account when the operation supports cross-account use and the key's
//! resource policy allows it), authorized there for the operation being served
//! ([`crate::authorization`]).

use paycrypt_api::{
    ApiError, CreateKeyInput, CreateKeyOutput, DeleteKeyInput, DeleteKeyOutput, GetKeyInput,
    GetKeyOutput, Key, KeyOrigin, KeyState, ListKeysInput, RestoreKeyInput, RestoreKeyOutput,
    StartKeyUsageInput, StartKeyUsageOutput, StopKeyUsageInput, StopKeyUsageOutput, Timestamp,
};
use paycrypt_keyblock::keygen::{self, KeyPair};
use paycrypt_keyblock::{SecretBytes, SystemRng, kcv};
use paycrypt_store::{KeyRecord, Scope, StoreError, StoredKey};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::attributes::{self, KcvMethod, Material};
use crate::authorization::{self, Refusal};
use crate::{
    Context, Service, ids, mpa, paging, parsed_documents, resource_policies, store_error, tags,
    to_json,
};

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;
const DEFAULT_DELETE_DAYS: i32 = 7;

/// What the service keeps about a key besides its sealed material: the key as the API describes
/// it, and for key pairs the public key (SubjectPublicKeyInfo DER, hex).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyDocument {
    pub key: Key,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// For imported certificates, the certificate (DER, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The resource-based policy, exactly as PutResourcePolicy was given it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
    /// For imports awaiting multi-party approval, the requester's comment for the approvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_comment: Option<String>,
}

/// The part of a [`KeyDocument`] that ListKeys shows: the fields of
/// [`paycrypt_api::KeySummary`], borrowed as
/// the JSON the document holds and written out as they are, in `KeySummary`'s order. A page of
/// keys is so answered without building and dropping each key's strings.
#[derive(Deserialize)]
struct SummaryDocument<'a> {
    #[serde(borrow)]
    key: SummaryView<'a>,
}

#[derive(Serialize, Deserialize)]
struct SummaryView<'a> {
    #[serde(rename = "KeyArn", borrow)]
    key_arn: &'a RawValue,
    #[serde(rename = "KeyState", borrow)]
    key_state: &'a RawValue,
    #[serde(rename = "KeyAttributes", borrow)]
    key_attributes: &'a RawValue,
    #[serde(rename = "KeyCheckValue", borrow)]
    key_check_value: &'a RawValue,
    #[serde(rename = "Exportable", borrow)]
    exportable: &'a RawValue,
    #[serde(rename = "Enabled", borrow)]
    enabled: &'a RawValue,
    #[serde(rename = "MultiRegionKeyType", borrow, default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_region_key_type: Option<&'a RawValue>,
    #[serde(rename = "PrimaryRegion", borrow, default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_region: Option<&'a RawValue>,
}

/// A ListKeys answer made of [`SummaryView`]s, shaped as [`paycrypt_api::ListKeysOutput`].
#[derive(Serialize)]
struct ListKeysPage<'a> {
    #[serde(rename = "Keys")]
    keys: Vec<SummaryView<'a>>,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// A key read from the store, ready to inspect or change.
pub(crate) struct LoadedKey {
    /// The account and region the key belongs to (another account's, for a cross-account use).
    pub scope: Scope,
    pub id: String,
    pub doc: KeyDocument,
    pub sealed_material: Option<Vec<u8>>,
    /// The record as read, so a write can tell whether another request changed it meanwhile.
    pub stored: Option<KeyRecord>,
}

/// What a key identifier names.
enum Target {
    /// A key of the caller's account.
    Key(String),
    /// A key of another account in the caller's region.
    OtherAccountKey { account: String, id: String },
    /// An alias of the caller's account.
    Alias(String),
}

pub(crate) fn key_arn(ctx: &Context, key_id: &str) -> String {
    key_arn_in(&ctx.region, &ctx.account, key_id)
}

/// The ARN of a key in any region of an account (a multi-Region key's replicas).
pub(crate) fn key_arn_in(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:payment-cryptography:{region}:{account}:key/{key_id}")
}

pub(crate) fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(
        format!("Key {identifier} is not found."),
        identifier.to_string(),
    )
}

/// Splits an identifier (key ARN, alias ARN or `alias/name`) into what it names. An ARN of
/// another region, and an alias ARN of another account, name nothing here.
fn parse_identifier(ctx: &Context, identifier: &str) -> Result<Target, ApiError> {
    if identifier.starts_with("alias/") {
        return Ok(Target::Alias(identifier.to_string()));
    }
    let prefix = format!("arn:aws:payment-cryptography:{}:", ctx.region);
    let (account, resource) = identifier
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once(':'))
        .filter(|(account, _)| account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| not_found(identifier))?;
    let own = account == ctx.account;
    match resource.strip_prefix("key/") {
        Some(id) if own => Ok(Target::Key(id.to_string())),
        Some(id) => Ok(Target::OtherAccountKey {
            account: account.to_string(),
            id: id.to_string(),
        }),
        None if own && resource.starts_with("alias/") => Ok(Target::Alias(resource.to_string())),
        None => Err(not_found(identifier)),
    }
}

fn not_a_key_arn(arn: &str) -> ApiError {
    ApiError::validation(format!(
        "{arn} is not a key ARN; this operation takes the ARN of a key."
    ))
}

/// The key id a key ARN names in the caller's scope, for filters that do not read the key.
pub(crate) fn key_id_of_arn(ctx: &Context, arn: &str) -> Result<String, ApiError> {
    match parse_identifier(ctx, arn)? {
        Target::Key(id) => Ok(id),
        Target::OtherAccountKey { .. } => Err(not_found(arn)),
        Target::Alias(_) => Err(not_a_key_arn(arn)),
    }
}

fn millis_of(ts: Timestamp) -> i64 {
    ts.as_millis()
}

impl LoadedKey {
    pub(crate) fn from_stored(scope: Scope, stored: StoredKey) -> Result<Self, ApiError> {
        let doc = parsed_documents::parse(&stored.record.key_id, &stored.record.metadata).map_err(
            |e| {
                tracing::error!(key_id = %stored.record.key_id, "unreadable key document: {e}");
                ApiError::internal("The key could not be read.")
            },
        )?;
        Ok(Self {
            scope,
            id: stored.record.key_id.clone(),
            doc,
            sealed_material: stored.record.sealed_material.clone(),
            stored: Some(stored.record),
        })
    }

    pub(crate) fn record(&self) -> Result<KeyRecord, ApiError> {
        let metadata = serde_json::to_string(&self.doc)
            .map_err(|e| ApiError::internal(format!("The key could not be stored: {e}")))?;
        Ok(KeyRecord {
            key_id: self.id.clone(),
            state: self.doc.key.key_state.as_str().to_string(),
            delete_pending_ms: self.doc.key.delete_pending_timestamp.map(millis_of),
            metadata,
            sealed_material: self.sealed_material.clone(),
        })
    }

    /// Refuses to use the key unless it is in `CREATE_COMPLETE` and enabled.
    pub fn require_usable(&self) -> Result<(), ApiError> {
        self.require_complete()?;
        // AWS documents it: a disabled key can't be used for cryptographic operations until
        // StartKeyUsage (user guide, "Enabling and disabling keys").
        if !self.doc.key.enabled {
            return Err(ApiError::validation(format!(
                "Key {} is disabled; StartKeyUsage enables it.",
                self.doc.key.key_arn
            )));
        }
        Ok(())
    }

    /// Refuses the operation unless the key is in `CREATE_COMPLETE`.
    pub fn require_complete(&self) -> Result<(), ApiError> {
        if self.doc.key.key_state == KeyState::CreateComplete {
            Ok(())
        } else if let Some(mpa) = &self.doc.key.mpa_status {
            Err(mpa::unapproved(&self.doc.key.key_arn, mpa))
        } else {
            // AWS's own message for a key pending or done with deletion, which Terraform's
            // provider matches (shared/reference/api-behaviour.md, DeleteKey).
            Err(ApiError::validation(format!(
                "Key {} is not in CREATE_COMPLETE state.",
                self.doc.key.key_arn
            )))
        }
    }
}

/// The key check value of key material, as uppercase hex.
pub(crate) fn check_value(
    method: KcvMethod,
    secret: &SecretBytes,
    public_key: Option<&[u8]>,
) -> Result<String, ApiError> {
    let fail = |e: paycrypt_keyblock::Error| {
        ApiError::internal(format!("The key check value could not be computed: {e}"))
    };
    let bytes: Vec<u8> = match method {
        KcvMethod::AnsiX924 => kcv::ansi_x9_24(secret.expose()).map_err(fail)?.to_vec(),
        KcvMethod::Cmac(cipher) => kcv::cmac(cipher, secret.expose()).map_err(fail)?.to_vec(),
        KcvMethod::Hmac(hash) => kcv::hmac(hash, secret.expose()).to_vec(),
        KcvMethod::Sha1PublicKey => kcv::sha1_public_key(public_key.unwrap_or_default()).to_vec(),
    };
    Ok(hex::encode_upper(bytes))
}

/// Fresh key material for `material`: the secret (raw symmetric key or PKCS#8 private key) and,
/// for key pairs, the public key. Key pair generation runs off the async runtime.
async fn generate(material: Material) -> Result<(SecretBytes, Option<Vec<u8>>), ApiError> {
    match material {
        Material::Symmetric(alg) => Ok((keygen::generate_symmetric(alg, &mut SystemRng), None)),
        Material::Asymmetric(alg) => {
            let pair = tokio::task::spawn_blocking(move || keygen::generate_key_pair(alg))
                .await
                .map_err(|e| ApiError::internal(format!("Key generation stopped: {e}")))?
                .map_err(|e| ApiError::internal(format!("Key generation failed: {e}")))?;
            let KeyPair {
                private_pkcs8_der,
                public_spki_der,
            } = pair;
            Ok((private_pkcs8_der, Some(public_spki_der)))
        }
    }
}

/// What a new key (created or imported) is made of.
pub(crate) struct NewKey {
    pub attributes: paycrypt_api::KeyAttributes,
    pub key_check_value: String,
    pub kcv_algorithm: paycrypt_api::KeyCheckValueAlgorithm,
    pub enabled: bool,
    pub exportable: bool,
    pub origin: KeyOrigin,
    pub derive_key_usage: Option<paycrypt_api::DeriveKeyUsage>,
}

/// A fresh key id and the key as the API describes it, in CREATE_COMPLETE.
pub(crate) fn new_key(ctx: &Context, new: NewKey) -> (String, Key) {
    let id = ids::new_key_id(ctx.now);
    let key = Key {
        key_arn: key_arn(ctx, &id),
        key_attributes: new.attributes,
        key_check_value: new.key_check_value,
        key_check_value_algorithm: new.kcv_algorithm,
        enabled: new.enabled,
        exportable: new.exportable,
        key_state: KeyState::CreateComplete,
        key_origin: new.origin,
        create_timestamp: ctx.now,
        usage_start_timestamp: new.enabled.then_some(ctx.now),
        usage_stop_timestamp: None,
        delete_pending_timestamp: None,
        delete_timestamp: None,
        derive_key_usage: new.derive_key_usage,
        multi_region_key_type: None,
        primary_region: None,
        replication_status: None,
        using_default_replication_regions: None,
        mpa_status: None,
    };
    (id, key)
}

/// Keys of the caller's scope read ahead of their resolution (see [`Service::read_ahead`]), by id,
/// with `None` for a key found missing; each is used once, by the first resolution that names it,
/// and a key not here is read as usual.
#[derive(Default)]
pub(crate) struct ReadAhead(Vec<(String, Option<StoredKey>)>);

impl ReadAhead {
    /// What was read for `key_id`, if it was read ahead.
    fn take(&mut self, key_id: &str) -> Option<Option<StoredKey>> {
        let at = self.0.iter().position(|(id, _)| id == key_id)?;
        Some(self.0.swap_remove(at).1)
    }
}

impl Service {
    /// Finds the key an identifier (key ARN, alias ARN or `alias/name`) names for the operation
    /// being served: a key of the caller's account and region, or a key of another account in
    /// that region when the operation supports cross-account use and the key's resource policy
    /// allows it (see [`resource_policies`]).
    pub(crate) async fn resolve_key(
        &self,
        ctx: &Context,
        identifier: &str,
    ) -> Result<LoadedKey, ApiError> {
        self.resolve_key_from(ctx, identifier, &mut ReadAhead::default())
            .await
    }

    /// As [`Service::resolve_key`], taking the key from `ahead` when it was read there.
    pub(crate) async fn resolve_key_from(
        &self,
        ctx: &Context,
        identifier: &str,
        ahead: &mut ReadAhead,
    ) -> Result<LoadedKey, ApiError> {
        let target = parse_identifier(ctx, identifier)?;
        self.resolve_target(ctx, target, identifier, ahead).await
    }

    /// Reads ahead the keys of an operation that uses two: when both identifiers name keys of
    /// the caller's account and region by key ARN, both are read in one store round. Nothing is
    /// decided here: each key is still resolved, authorized and checked when the operation
    /// comes to it, as if read then.
    pub(crate) async fn read_ahead(
        &self,
        ctx: &Context,
        first: &str,
        second: &str,
    ) -> Result<ReadAhead, ApiError> {
        let (Ok(Target::Key(first)), Ok(Target::Key(second))) =
            (parse_identifier(ctx, first), parse_identifier(ctx, second))
        else {
            return Ok(ReadAhead::default());
        };
        let (first_key, second_key) = self
            .store
            .get_key_pair(&ctx.scope(), &first, &second)
            .await
            .map_err(store_error)?;
        Ok(ReadAhead(vec![(first, first_key), (second, second_key)]))
    }

    /// As [`Service::resolve_key`], for operations that name keys by key ARN only.
    pub(crate) async fn resolve_key_arn(
        &self,
        ctx: &Context,
        arn: &str,
    ) -> Result<LoadedKey, ApiError> {
        match parse_identifier(ctx, arn)? {
            Target::Alias(_) => Err(not_a_key_arn(arn)),
            target => {
                self.resolve_target(ctx, target, arn, &mut ReadAhead::default())
                    .await
            }
        }
    }

    async fn resolve_target(
        &self,
        ctx: &Context,
        target: Target,
        identifier: &str,
        ahead: &mut ReadAhead,
    ) -> Result<LoadedKey, ApiError> {
        let key_id = match target {
            Target::Key(id) => id,
            Target::Alias(name) => self
                .store
                .get_alias(&ctx.scope(), &name)
                .await
                .map_err(store_error)?
                .and_then(|alias| alias.key_id)
                .ok_or_else(|| not_found(identifier))?,
            Target::OtherAccountKey { account, id } => {
                if !resource_policies::supports_cross_account(ctx.operation) {
                    return Err(not_found(identifier));
                }
                let arn = key_arn_in(&ctx.region, &account, &id);
                if !authorization::identity_allows(ctx, &arn)? {
                    return Err(authorization::denied(ctx, &arn, Refusal::NoIdentityAllow));
                }
                let scope = Scope {
                    account,
                    region: ctx.region.clone(),
                };
                self.complete_due_deletions(&scope, ctx.now).await?;
                let key = self.load_key(&scope, &id).await?;
                return resource_policies::check_cross_account(ctx, key, identifier);
            }
        };
        // (A credential without a policy is allowed everything in its account.)
        let identity_allows = ctx.caller.identity_policy.is_none()
            || authorization::identity_allows(ctx, &key_arn(ctx, &key_id))?;
        let loaded = match ahead.take(&key_id) {
            Some(read) => read
                .map(|stored| LoadedKey::from_stored(ctx.scope(), stored))
                .transpose()?,
            None => self.load_key(&ctx.scope(), &key_id).await?,
        };
        let Some(key) = loaded else {
            // A caller not allowed the key learns nothing of whether it exists.
            return Err(if identity_allows {
                not_found(identifier)
            } else {
                authorization::denied(ctx, &key_arn(ctx, &key_id), Refusal::NoIdentityAllow)
            });
        };
        resource_policies::check_owner(ctx, &key, identity_allows)?;
        Ok(key)
    }

    pub(crate) async fn load_key(
        &self,
        scope: &Scope,
        key_id: &str,
    ) -> Result<Option<LoadedKey>, ApiError> {
        self.store
            .get_key(scope, key_id)
            .await
            .map_err(store_error)?
            .map(|stored| LoadedKey::from_stored(scope.clone(), stored))
            .transpose()
    }

    /// The clear material of a key, opened from its seal for the operation at hand.
    pub(crate) fn open_material(&self, key: &LoadedKey) -> Result<SecretBytes, ApiError> {
        let sealed = key.sealed_material.as_deref().ok_or_else(|| {
            ApiError::validation(format!(
                "Key {} has no key material to use.",
                key.doc.key.key_arn
            ))
        })?;
        self.sealer
            .open(key.doc.key.key_arn.as_bytes(), sealed)
            .map_err(|e| {
                tracing::error!(key_arn = %key.doc.key.key_arn, "sealed key material does not open: {e}");
                ApiError::internal("The key material could not be opened.")
            })
    }

    /// Writes back a key read by this request, unless another request changed it meanwhile.
    pub(crate) async fn save_key(&self, key: &LoadedKey) -> Result<(), ApiError> {
        let expected = key
            .stored
            .as_ref()
            .ok_or_else(|| ApiError::internal("A key that was never stored cannot be updated."))?;
        self.store
            .update_key(&key.scope, &key.record()?, expected)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ApiError::conflict(format!(
                    "Key {} changed while this request ran; read it again and retry.",
                    key.doc.key.key_arn
                )),
                other => store_error(other),
            })
    }

    pub(crate) async fn create_key(
        &self,
        ctx: &Context,
        input: CreateKeyInput,
    ) -> Result<CreateKeyOutput, ApiError> {
        let attributes = input.key_attributes;
        attributes::check_create(&attributes)?;
        let replication = self
            .creation_regions(ctx, input.replication_regions)
            .await?;
        let is_agreement_key =
            attributes.key_usage.as_str() == "TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT";
        if input.derive_key_usage.is_some() && !is_agreement_key {
            return Err(ApiError::validation(
                "DeriveKeyUsage applies only to TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT keys.",
            ));
        }
        let (kcv_algorithm, method) =
            attributes::creation_kcv(attributes.key_algorithm, input.key_check_value_algorithm)?;
        let tags = tags::checked_tags(input.tags.unwrap_or_default(), self.limits.max_tags)?;

        let (secret, public_key) = generate(attributes::material(attributes.key_algorithm)).await?;
        let key_check_value = check_value(method, &secret, public_key.as_deref())?;
        let (id, mut key) = new_key(
            ctx,
            NewKey {
                attributes,
                key_check_value,
                kcv_algorithm,
                enabled: input.enabled.unwrap_or(true),
                exportable: input.exportable,
                origin: KeyOrigin::AwsPaymentCryptography,
                derive_key_usage: input.derive_key_usage,
            },
        );
        replication.apply(&mut key);
        let arn = key.key_arn.clone();
        let loaded = LoadedKey {
            scope: ctx.scope(),
            id,
            doc: KeyDocument {
                key,
                public_key: public_key.map(hex::encode),
                certificate: None,
                resource_policy: None,
                requester_comment: None,
            },
            sealed_material: Some(self.sealer.seal(arn.as_bytes(), secret.expose())),
            stored: None,
        };
        self.save_with_replicas(ctx, &loaded, &replication.regions, &[], &tags)
            .await?;
        tracing::info!(key_arn = %arn, "key created");
        Ok(CreateKeyOutput {
            key: loaded.doc.key,
        })
    }

    pub(crate) async fn get_key(
        &self,
        ctx: &Context,
        input: GetKeyInput,
    ) -> Result<GetKeyOutput, ApiError> {
        let key = self.resolve_key(ctx, &input.key_identifier).await?;
        Ok(GetKeyOutput { key: key.doc.key })
    }

    /// ListKeys, answered as the JSON body of a [`paycrypt_api::ListKeysOutput`].
    pub(crate) async fn list_keys(
        &self,
        ctx: &Context,
        input: ListKeysInput,
    ) -> Result<Vec<u8>, ApiError> {
        let limit = paging::page_size(input.max_results);
        let after = paging::sequence(input.next_token.as_deref())?;
        let state = input.key_state.map(|s| s.as_str());
        let mut rows = self
            .store
            .list_keys(&ctx.scope(), state, after, limit + 1)
            .await
            .map_err(store_error)?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_token = more
            .then(|| rows.last().map(|k| paging::next_token(&k.seq.to_string())))
            .flatten();
        let keys = rows
            .iter()
            .map(|listed| {
                serde_json::from_str::<SummaryDocument>(&listed.metadata)
                    .map(|doc| doc.key)
                    .map_err(|e| {
                        tracing::error!(key_id = %listed.key_id, "unreadable key document: {e}");
                        ApiError::internal("The key could not be read.")
                    })
            })
            .collect::<Result<_, _>>()?;
        to_json(&ListKeysPage { keys, next_token })
    }

    pub(crate) async fn delete_key(
        &self,
        ctx: &Context,
        input: DeleteKeyInput,
    ) -> Result<DeleteKeyOutput, ApiError> {
        let mut key = self.resolve_key(ctx, &input.key_identifier).await?;
        key.require_not_replica("DeleteKey")?;
        key.require_deletable()?;
        let days = input.delete_key_in_days.unwrap_or(DEFAULT_DELETE_DAYS);
        let k = &mut key.doc.key;
        k.key_state = KeyState::DeletePending;
        k.enabled = false;
        k.usage_stop_timestamp = Some(ctx.now);
        k.delete_pending_timestamp = Some(Timestamp::from_millis(
            ctx.now.as_millis() + i64::from(days) * DAY_MILLIS,
        ));
        self.save_with_replicas(ctx, &key, &[], &[], &[]).await?;
        tracing::info!(key_id = %key.id, days, "key scheduled for deletion");
        Ok(DeleteKeyOutput { key: key.doc.key })
    }

    pub(crate) async fn restore_key(
        &self,
        ctx: &Context,
        input: RestoreKeyInput,
    ) -> Result<RestoreKeyOutput, ApiError> {
        let mut key = self.resolve_key(ctx, &input.key_identifier).await?;
        key.require_not_replica("RestoreKey")?;
        // AWS documents it: RestoreKey cancels a scheduled deletion (API reference, RestoreKey).
        if key.doc.key.key_state != KeyState::DeletePending {
            return Err(ApiError::validation(format!(
                "Key {} is not in DELETE_PENDING state.",
                key.doc.key.key_arn
            )));
        }
        key.doc.key.key_state = mpa::restored_state(&key.doc.key);
        key.doc.key.delete_pending_timestamp = None;
        self.save_with_replicas(ctx, &key, &[], &[], &[]).await?;
        Ok(RestoreKeyOutput { key: key.doc.key })
    }

    pub(crate) async fn start_key_usage(
        &self,
        ctx: &Context,
        input: StartKeyUsageInput,
    ) -> Result<StartKeyUsageOutput, ApiError> {
        let key = self
            .set_usage(ctx, &input.key_identifier, true, "StartKeyUsage")
            .await?;
        Ok(StartKeyUsageOutput { key })
    }

    pub(crate) async fn stop_key_usage(
        &self,
        ctx: &Context,
        input: StopKeyUsageInput,
    ) -> Result<StopKeyUsageOutput, ApiError> {
        let key = self
            .set_usage(ctx, &input.key_identifier, false, "StopKeyUsage")
            .await?;
        Ok(StopKeyUsageOutput { key })
    }

    async fn set_usage(
        &self,
        ctx: &Context,
        identifier: &str,
        enabled: bool,
        operation: &str,
    ) -> Result<Key, ApiError> {
        let mut key = self.resolve_key(ctx, identifier).await?;
        key.require_not_replica(operation)?;
        key.require_complete()?;
        key.doc.key.enabled = enabled;
        if enabled {
            key.doc.key.usage_start_timestamp = Some(ctx.now);
        } else {
            key.doc.key.usage_stop_timestamp = Some(ctx.now);
        }
        self.save_with_replicas(ctx, &key, &[], &[], &[]).await?;
        Ok(key.doc.key)
    }
}

#[cfg(test)]
mod tests {
    use paycrypt_api::{KeySummary, ListKeysOutput};

    use super::*;

    fn document(key: serde_json::Value) -> String {
        let doc = KeyDocument {
            key: serde_json::from_value(key).unwrap(),
            public_key: Some("3059301306072a8648ce3d0201".into()),
            certificate: None,
            resource_policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
            requester_comment: Some("a \"quoted\" comment".into()),
        };
        serde_json::to_string(&doc).unwrap()
    }

    #[test]
    fn a_page_of_summary_views_is_the_list_keys_output_of_the_same_keys() {
        let attributes = serde_json::json!({
            "KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
            "KeyClass": "SYMMETRIC_KEY",
            "KeyAlgorithm": "AES_256",
            "KeyModesOfUse": {"Encrypt": true, "Decrypt": true, "Wrap": true, "Unwrap": true,
                "Generate": false, "Sign": false, "Verify": false, "DeriveKey": false,
                "NoRestrictions": false}
        });
        let documents = [
            document(serde_json::json!({
                "KeyArn": "arn:aws:payment-cryptography:us-east-1:111122223333:key/abcdefghijklmnop",
                "KeyAttributes": attributes,
                "KeyCheckValue": "8F698F",
                "KeyCheckValueAlgorithm": "CMAC",
                "Enabled": true,
                "Exportable": false,
                "KeyState": "CREATE_COMPLETE",
                "KeyOrigin": "AWS_PAYMENT_CRYPTOGRAPHY",
                "CreateTimestamp": 1795891062.362,
                "UsageStartTimestamp": 1795891062.362
            })),
            document(serde_json::json!({
                "KeyArn": "arn:aws:payment-cryptography:eu-west-1:111122223333:key/qrstuvwxyz012345",
                "KeyAttributes": attributes,
                "KeyCheckValue": "0A1B2C",
                "KeyCheckValueAlgorithm": "CMAC",
                "Enabled": false,
                "Exportable": true,
                "KeyState": "DELETE_PENDING",
                "KeyOrigin": "EXTERNAL",
                "CreateTimestamp": 1795891062.0,
                "DeletePendingTimestamp": 1796495862.0,
                "MultiRegionKeyType": "REPLICA",
                "PrimaryRegion": "us-east-1"
            })),
        ];

        let views = documents
            .iter()
            .map(|d| serde_json::from_str::<SummaryDocument>(d).unwrap().key)
            .collect();
        let answered = serde_json::to_string(&ListKeysPage {
            keys: views,
            next_token: Some("next".into()),
        })
        .unwrap();

        let typed = ListKeysOutput {
            keys: documents
                .iter()
                .map(|d| {
                    let key = serde_json::from_str::<KeyDocument>(d).unwrap().key;
                    KeySummary {
                        key_arn: key.key_arn,
                        key_state: key.key_state,
                        key_attributes: key.key_attributes,
                        key_check_value: key.key_check_value,
                        exportable: key.exportable,
                        enabled: key.enabled,
                        multi_region_key_type: key.multi_region_key_type,
                        primary_region: key.primary_region,
                    }
                })
                .collect(),
            next_token: Some("next".into()),
        };
        assert_eq!(answered, serde_json::to_string(&typed).unwrap());
        assert!(
            answered.contains(r#""PrimaryRegion":"us-east-1""#),
            "{answered}"
        );
    }
}
