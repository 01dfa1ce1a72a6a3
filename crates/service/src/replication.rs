//! Multi-Region keys: AddKeyReplicationRegions, RemoveKeyReplicationRegions, the account's default
//! replication regions (Enable/Disable/GetDefaultKeyReplicationRegions), and the group write that
//! keeps a primary key and its replicas in step.
//!
//! A replica is a key record in another region of the same account with the same key id, the
//! same material (sealed anew under the replica's ARN), the same attributes and KCV, type
//! `REPLICA` and the primary's region. paycrypt replicates synchronously: the primary's new state
//! and every replica are written in one store transaction ([`Store::write_key_group`]), so a
//! replica never outlives the write that created it and a primary never lists a replica that is
//! not there. Any region name of the model's pattern is accepted, as paycrypt accepts any region
//! in a client's signature. Replicas are read-only: every change goes through the primary.
//!
//! [`Store::write_key_group`]: paycrypt_store::Store::write_key_group

use std::collections::{BTreeMap, BTreeSet};

use paycrypt_api::{
    AddKeyReplicationRegionsInput, AddKeyReplicationRegionsOutput, ApiError,
    DisableDefaultKeyReplicationRegionsInput, DisableDefaultKeyReplicationRegionsOutput,
    EnableDefaultKeyReplicationRegionsInput, EnableDefaultKeyReplicationRegionsOutput,
    GetDefaultKeyReplicationRegionsInput, GetDefaultKeyReplicationRegionsOutput, Key,
    KeyReplicationState, KeyState, MultiRegionKeyType, RemoveKeyReplicationRegionsInput,
    RemoveKeyReplicationRegionsOutput, ReplicationStatusType,
};
use paycrypt_store::{KeyWrite, Scope, StoreError, Tag};

use crate::keys::{LoadedKey, key_arn_in};
use crate::{Context, Service, store_error};

/// The scope setting holding the default replication regions (a JSON list).
const DEFAULT_REGIONS: &str = "default_replication_regions";

/// How a new key's replication regions were chosen.
pub(crate) struct CreationRegions {
    pub regions: Vec<String>,
    pub using_defaults: Option<bool>,
}

impl CreationRegions {
    /// Describes the choice on the new key.
    pub fn apply(&self, key: &mut Key) {
        if !self.regions.is_empty() {
            add_regions(key, &self.regions);
        }
        key.using_default_replication_regions = self.using_defaults;
    }
}

/// The regions a list names, each once, in their first order. The caller's own region is refused:
/// a replica has its primary's ARN, so one in the primary's own region would be the primary.
fn checked_regions(ctx: &Context, regions: &[String]) -> Result<Vec<String>, ApiError> {
    let mut seen = BTreeSet::new();
    let mut distinct = Vec::new();
    for region in regions {
        if region == &ctx.region {
            return Err(ApiError::validation(format!(
                "ReplicationRegions cannot name {region}: a key is not replicated to its own region."
            )));
        }
        if seen.insert(region.as_str()) {
            distinct.push(region.clone());
        }
    }
    Ok(distinct)
}

fn non_empty(regions: &[String]) -> Result<(), ApiError> {
    if regions.is_empty() {
        Err(ApiError::validation(
            "ReplicationRegions must name at least one region.",
        ))
    } else {
        Ok(())
    }
}

fn synchronized() -> ReplicationStatusType {
    ReplicationStatusType {
        status: KeyReplicationState::Synchronized,
        status_message: None,
    }
}

/// The regions a primary key is replicated to.
pub(crate) fn replica_regions(key: &Key) -> Vec<String> {
    key.replication_status
        .as_ref()
        .map(|status| status.keys().cloned().collect())
        .unwrap_or_default()
}

/// Marks `key` as the primary of replicas in `regions` (added to those it has).
fn add_regions(key: &mut Key, regions: &[String]) {
    let status = key.replication_status.get_or_insert_with(BTreeMap::new);
    for region in regions {
        status.insert(region.clone(), synchronized());
    }
    key.multi_region_key_type = Some(MultiRegionKeyType::Primary);
}

impl LoadedKey {
    /// Refuses to change a replica directly: its primary is the only way to change it. AWS
    /// documents it: replica Region keys are read-only (user guide, "Replicating AWS Payment
    /// Cryptography keys").
    pub fn require_not_replica(&self, operation: &str) -> Result<(), ApiError> {
        let key = &self.doc.key;
        if key.multi_region_key_type == Some(MultiRegionKeyType::Replica) {
            return Err(ApiError::validation(format!(
                "Key {} is a replica of a multi-Region key whose primary is in {}; {operation} applies to the primary key only.",
                key.key_arn,
                key.primary_region.as_deref().unwrap_or("another region")
            )));
        }
        Ok(())
    }
}

impl Service {
    async fn default_regions(
        &self,
        ctx: &Context,
    ) -> Result<(Vec<String>, Option<Vec<u8>>), ApiError> {
        let stored = self
            .store
            .get_scope_setting(&ctx.scope(), DEFAULT_REGIONS)
            .await
            .map_err(store_error)?;
        let regions = match &stored {
            Some(bytes) => serde_json::from_slice(bytes).map_err(|e| {
                tracing::error!("unreadable default replication regions: {e}");
                ApiError::internal("The default replication regions could not be read.")
            })?,
            None => Vec::new(),
        };
        Ok((regions, stored))
    }

    async fn set_default_regions(
        &self,
        ctx: &Context,
        regions: &[String],
        expected: Option<&[u8]>,
    ) -> Result<(), ApiError> {
        let value = serde_json::to_vec(regions)
            .map_err(|e| ApiError::internal(format!("Encoding failed: {e}")))?;
        self.store
            .put_scope_setting(&ctx.scope(), DEFAULT_REGIONS, Some(&value), expected)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ApiError::conflict(
                    "The default replication regions changed while this request ran; retry.",
                ),
                other => store_error(other),
            })
    }

    /// The replication regions of a key about to be created or imported: those the request
    /// names (an empty list opts out of the defaults), else the account's defaults here.
    pub(crate) async fn creation_regions(
        &self,
        ctx: &Context,
        requested: Option<Vec<String>>,
    ) -> Result<CreationRegions, ApiError> {
        let (defaults, _) = self.default_regions(ctx).await?;
        Ok(match requested {
            Some(regions) => CreationRegions {
                regions: checked_regions(ctx, &regions)?,
                using_defaults: (!defaults.is_empty() || !regions.is_empty()).then_some(false),
            },
            None => CreationRegions {
                using_defaults: (!defaults.is_empty()).then_some(true),
                regions: defaults,
            },
        })
    }

    /// Writes a key (inserted when new, otherwise updated against the record it was read as)
    /// together with its replicas, in one store transaction: replicas in `added` are created
    /// with the key's material, those in `removed` complete their deletion, and every other
    /// replica the key lists takes its new state.
    pub(crate) async fn save_with_replicas(
        &self,
        ctx: &Context,
        primary: &LoadedKey,
        added: &[String],
        removed: &[String],
        tags: &[Tag],
    ) -> Result<(), ApiError> {
        // The key's own account and region: another account's, for a cross-account request.
        let owner = &primary.scope;
        let mut writes = vec![KeyWrite {
            region: owner.region.clone(),
            record: primary.record()?,
            expected: primary.stored.clone(),
            tags: tags.to_vec(),
        }];
        for region in replica_regions(&primary.doc.key) {
            let mut doc = primary.doc.clone();
            let key = &mut doc.key;
            key.key_arn = key_arn_in(&region, &owner.account, &primary.id);
            key.multi_region_key_type = Some(MultiRegionKeyType::Replica);
            key.primary_region = Some(owner.region.clone());
            key.replication_status = None;
            key.using_default_replication_regions = None;
            let (sealed_material, stored) = if added.contains(&region) {
                (self.reseal(primary, &doc.key.key_arn)?, None)
            } else {
                let existing = self.existing_replica(&region, primary).await?;
                (existing.sealed_material, existing.stored)
            };
            let replica = LoadedKey {
                scope: Scope {
                    account: owner.account.clone(),
                    region: region.clone(),
                },
                id: primary.id.clone(),
                doc,
                sealed_material,
                stored,
            };
            writes.push(KeyWrite {
                region,
                record: replica.record()?,
                expected: replica.stored.clone(),
                tags: Vec::new(),
            });
        }
        for region in removed {
            let mut replica = self.existing_replica(region, primary).await?;
            let key = &mut replica.doc.key;
            key.key_state = KeyState::DeleteComplete;
            key.enabled = false;
            key.usage_stop_timestamp = Some(ctx.now);
            key.delete_pending_timestamp = None;
            key.delete_timestamp = Some(ctx.now);
            replica.sealed_material = None;
            writes.push(KeyWrite {
                region: region.clone(),
                record: replica.record()?,
                expected: replica.stored.clone(),
                tags: Vec::new(),
            });
        }
        self.store
            .write_key_group(&owner.account, &writes, self.limits.max_keys)
            .await
            .map_err(|e| match e {
                StoreError::QuotaExceeded => {
                    let regions: Vec<&str> = writes
                        .iter()
                        .filter(|w| w.expected.is_none())
                        .map(|w| w.region.as_str())
                        .collect();
                    ApiError::quota(format!(
                        "This account has reached its limit of {} keys in one of {}.",
                        self.limits.max_keys,
                        regions.join(", ")
                    ))
                }
                StoreError::Conflict | StoreError::NotFound => ApiError::conflict(format!(
                    "Key {} or one of its replicas changed while this request ran; read it again and retry.",
                    primary.doc.key.key_arn
                )),
                other => store_error(other),
            })
    }

    /// The key's material sealed under another ARN (`None` for keys without material, such as
    /// imported certificates).
    fn reseal(&self, key: &LoadedKey, arn: &str) -> Result<Option<Vec<u8>>, ApiError> {
        if key.sealed_material.is_none() {
            return Ok(None);
        }
        let secret = self.open_material(key)?;
        Ok(Some(self.sealer.seal(arn.as_bytes(), secret.expose())))
    }

    async fn existing_replica(
        &self,
        region: &str,
        primary: &LoadedKey,
    ) -> Result<LoadedKey, ApiError> {
        let scope = Scope {
            account: primary.scope.account.clone(),
            region: region.to_string(),
        };
        let replica = self
            .store
            .get_key(&scope, &primary.id)
            .await
            .map_err(store_error)?
            .map(|stored| LoadedKey::from_stored(scope.clone(), stored))
            .transpose()?
            .filter(|r| r.doc.key.key_state != KeyState::DeleteComplete);
        replica.ok_or_else(|| {
            ApiError::conflict(format!(
                "The replica of key {} in {region} is gone; read the key again and retry.",
                primary.doc.key.key_arn
            ))
        })
    }

    pub(crate) async fn add_key_replication_regions(
        &self,
        ctx: &Context,
        input: AddKeyReplicationRegionsInput,
    ) -> Result<AddKeyReplicationRegionsOutput, ApiError> {
        let mut key = self.resolve_key(ctx, &input.key_identifier).await?;
        key.require_not_replica("AddKeyReplicationRegions")?;
        key.require_usable()?;
        non_empty(&input.replication_regions)?;
        // A region the key is already replicated to is already done, as in
        // EnableDefaultKeyReplicationRegions; only the others are added.
        let current = replica_regions(&key.doc.key);
        let regions: Vec<String> = checked_regions(ctx, &input.replication_regions)?
            .into_iter()
            .filter(|r| !current.contains(r))
            .collect();
        if regions.is_empty() {
            return Ok(AddKeyReplicationRegionsOutput { key: key.doc.key });
        }
        add_regions(&mut key.doc.key, &regions);
        key.doc.key.using_default_replication_regions = Some(false);
        self.save_with_replicas(ctx, &key, &regions, &[], &[])
            .await?;
        tracing::info!(key_id = %key.id, ?regions, "key replicated");
        Ok(AddKeyReplicationRegionsOutput { key: key.doc.key })
    }

    pub(crate) async fn remove_key_replication_regions(
        &self,
        ctx: &Context,
        input: RemoveKeyReplicationRegionsInput,
    ) -> Result<RemoveKeyReplicationRegionsOutput, ApiError> {
        let mut key = self.resolve_key(ctx, &input.key_identifier).await?;
        key.require_not_replica("RemoveKeyReplicationRegions")?;
        key.require_complete()?;
        non_empty(&input.replication_regions)?;
        let regions = checked_regions(ctx, &input.replication_regions)?;
        let current = replica_regions(&key.doc.key);
        if let Some(region) = regions.iter().find(|r| !current.contains(r)) {
            return Err(ApiError::validation(format!(
                "Key {} is not replicated to {region}.",
                key.doc.key.key_arn
            )));
        }
        if let Some(status) = key.doc.key.replication_status.as_mut() {
            status.retain(|region, _| !regions.contains(region));
        }
        key.doc.key.using_default_replication_regions = Some(false);
        self.save_with_replicas(ctx, &key, &[], &regions, &[])
            .await?;
        tracing::info!(key_id = %key.id, ?regions, "key replicas removed; their material is destroyed");
        Ok(RemoveKeyReplicationRegionsOutput { key: key.doc.key })
    }

    pub(crate) async fn enable_default_key_replication_regions(
        &self,
        ctx: &Context,
        input: EnableDefaultKeyReplicationRegionsInput,
    ) -> Result<EnableDefaultKeyReplicationRegionsOutput, ApiError> {
        non_empty(&input.replication_regions)?;
        let added = checked_regions(ctx, &input.replication_regions)?;
        let (mut regions, stored) = self.default_regions(ctx).await?;
        for region in added {
            if !regions.contains(&region) {
                regions.push(region);
            }
        }
        self.set_default_regions(ctx, &regions, stored.as_deref())
            .await?;
        Ok(EnableDefaultKeyReplicationRegionsOutput {
            enabled_replication_regions: regions,
        })
    }

    pub(crate) async fn disable_default_key_replication_regions(
        &self,
        ctx: &Context,
        input: DisableDefaultKeyReplicationRegionsInput,
    ) -> Result<DisableDefaultKeyReplicationRegionsOutput, ApiError> {
        non_empty(&input.replication_regions)?;
        let (mut regions, stored) = self.default_regions(ctx).await?;
        regions.retain(|r| !input.replication_regions.contains(r));
        self.set_default_regions(ctx, &regions, stored.as_deref())
            .await?;
        Ok(DisableDefaultKeyReplicationRegionsOutput {
            enabled_replication_regions: regions,
        })
    }

    pub(crate) async fn get_default_key_replication_regions(
        &self,
        ctx: &Context,
        _input: GetDefaultKeyReplicationRegionsInput,
    ) -> Result<GetDefaultKeyReplicationRegionsOutput, ApiError> {
        let (regions, _) = self.default_regions(ctx).await?;
        Ok(GetDefaultKeyReplicationRegionsOutput {
            enabled_replication_regions: regions,
        })
    }
}
