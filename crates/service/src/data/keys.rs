//! How a data-plane operation finds and checks its key: resolved as in the control plane (key
//! ARN, alias, alias ARN; another account's key where its policy allows the data-plane action),
//! then refused unless it is usable (CREATE_COMPLETE and enabled), of a usage the operation
//! accepts, allowed the mode the operation needs, and of an algorithm it can use
//! (shared/reference/data-plane.md, "Key usages per operation").
//!
//! The clear material is opened only here, for the operation at hand, and answered with the
//! key's ARN and check value, which every data-plane output repeats.

use paycrypt_api::{ApiError, KeyAlgorithm, KeyModesOfUse, KeyUsage};
use paycrypt_keyblock::SecretBytes;

use crate::keys::{LoadedKey, ReadAhead};
use crate::{Context, Service};

/// A mode of use an operation needs of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Encrypt,
    Decrypt,
    Generate,
    Verify,
    DeriveKey,
}

impl Mode {
    fn allowed(self, modes: &KeyModesOfUse) -> bool {
        modes.no_restrictions
            || match self {
                Self::Encrypt => modes.encrypt,
                Self::Decrypt => modes.decrypt,
                Self::Generate => modes.generate,
                Self::Verify => modes.verify,
                Self::DeriveKey => modes.derive_key,
            }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Encrypt => "Encrypt",
            Self::Decrypt => "Decrypt",
            Self::Generate => "Generate",
            Self::Verify => "Verify",
            Self::DeriveKey => "DeriveKey",
        }
    }
}

/// What an operation (or a variant of one) requires of its key.
pub(crate) struct Requirement {
    /// What the key is for, as messages name it (`encryption`, `an ISO9797_ALGORITHM3 MAC`).
    pub purpose: &'static str,
    /// The usages that serve it.
    pub usages: &'static [KeyUsage],
    /// The mode the key must allow.
    pub mode: Mode,
    /// The algorithms that serve it, or every algorithm of the usages.
    pub algorithms: Option<&'static [KeyAlgorithm]>,
}

/// A checked key, its clear material for this request, and what outputs echo.
pub(crate) struct UsableKey {
    pub algorithm: KeyAlgorithm,
    pub material: SecretBytes,
    pub arn: String,
    pub check_value: String,
}

/// Refuses `key` for `need` with a message that says why.
pub(crate) fn check(key: &LoadedKey, need: &Requirement) -> Result<(), ApiError> {
    key.require_usable()?;
    let k = &key.doc.key;
    let attrs = &k.key_attributes;
    if !need.usages.contains(&attrs.key_usage) {
        let expected: Vec<&str> = need.usages.iter().map(|u| u.as_str()).collect();
        return Err(ApiError::validation(format!(
            "Key {} has usage {}, which cannot be used for {}; use a key of usage {}.",
            k.key_arn,
            attrs.key_usage.as_str(),
            need.purpose,
            expected.join(" or ")
        )));
    }
    if !need.mode.allowed(&attrs.key_modes_of_use) {
        return Err(ApiError::validation(format!(
            "Key {} is not allowed the mode of use {} that {} needs.",
            k.key_arn,
            need.mode.name(),
            need.purpose
        )));
    }
    if let Some(algorithms) = need.algorithms
        && !algorithms.contains(&attrs.key_algorithm)
    {
        let expected: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
        return Err(ApiError::validation(format!(
            "Key {} is a {} key; {} needs a key of algorithm {}.",
            k.key_arn,
            attrs.key_algorithm.as_str(),
            need.purpose,
            expected.join(" or ")
        )));
    }
    Ok(())
}

impl Service {
    /// The key `identifier` names, checked against `need`, with its material opened.
    pub(crate) async fn usable_key(
        &self,
        ctx: &Context,
        identifier: &str,
        need: &Requirement,
    ) -> Result<UsableKey, ApiError> {
        self.usable_key_from(ctx, identifier, need, &mut ReadAhead::default())
            .await
    }

    /// As [`Service::usable_key`], taking the key from `ahead` when it was read there.
    pub(crate) async fn usable_key_from(
        &self,
        ctx: &Context,
        identifier: &str,
        need: &Requirement,
        ahead: &mut ReadAhead,
    ) -> Result<UsableKey, ApiError> {
        let key = self.resolve_key_from(ctx, identifier, ahead).await?;
        check(&key, need)?;
        self.open_usable(&key)
    }

    /// The material and echoed facts of a key already checked.
    pub(crate) fn open_usable(&self, key: &LoadedKey) -> Result<UsableKey, ApiError> {
        Ok(UsableKey {
            algorithm: key.doc.key.key_attributes.key_algorithm,
            material: self.open_material(key)?,
            arn: key.doc.key.key_arn.clone(),
            check_value: key.doc.key.key_check_value.clone(),
        })
    }
}

/// The TDES algorithms.
pub(crate) const TDES: &[KeyAlgorithm] = &[KeyAlgorithm::Tdes2Key, KeyAlgorithm::Tdes3Key];
