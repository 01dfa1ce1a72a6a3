//! Dynamic keys: a working key the request brings instead of naming one held here, used for this
//! request only and never stored. Either
//! - a TR-31 block wrapped under a key encryption key held here (the operation's key identifier
//!   names the KEK); its header must carry a key usage the operation accepts and a mode of use
//!   that allows what it does (AWS guide, "Using dynamic keys": data encryption keys are D0 with
//!   mode B, E or D); or
//! - a key agreed by ECDH (`DiffieHellmanSymmetricKey`) between the K3 key pair the key
//!   identifier names and the caller's certificate, whose DeriveKeyUsage must be one the
//!   operation accepts.

use paycrypt_api::data::{EcdhDerivationAttributes, WrappedKey, WrappedKeyMaterial};
use paycrypt_api::{ApiError, KeyAlgorithm, KeyUsage};
use paycrypt_keyblock::{SecretBytes, tr31};

use super::agreement::{ecdh_parameters, same_named};
use super::keys::{Mode, UsableKey};
use crate::attributes;
use crate::exchange::agreement::Agreement;
use crate::exchange::{algorithm_from_letter, usage_from_code};
use crate::keys::check_value;
use crate::{Context, Service};

/// The TR-31 modes of use that allow `mode` (`N` allows everything).
fn mode_letters(mode: Mode) -> &'static [char] {
    match mode {
        Mode::Encrypt => &['B', 'E', 'N'],
        Mode::Decrypt => &['B', 'D', 'N'],
        Mode::Generate => &['C', 'G', 'N'],
        Mode::Verify => &['C', 'V', 'N'],
        Mode::DeriveKey => &['X', 'N'],
    }
}

impl Service {
    /// Opens the dynamic key `wrapped` under the KEK `kek_identifier` names, refusing it unless its
    /// TR-31 key usage is one of `usages` (two-character codes such as `D0`) and its mode of use
    /// allows `mode`. The answer carries the KEK's ARN and the dynamic key's check value.
    pub(crate) async fn dynamic_key(
        &self,
        ctx: &Context,
        kek_identifier: &str,
        wrapped: &WrappedKey,
        usages: &[&str],
        mode: Mode,
    ) -> Result<UsableKey, ApiError> {
        let block = match &wrapped.wrapped_key_material {
            WrappedKeyMaterial::Tr31KeyBlock(block) => block,
            WrappedKeyMaterial::DiffieHellmanSymmetricKey(ecdh) => {
                return self
                    .agreed_key(ctx, kek_identifier, ecdh, usages, wrapped)
                    .await;
            }
        };
        let kek = self.resolve_key(ctx, kek_identifier).await?;
        let (kbpk, _) = self.open_tr31_kbpk(&kek, "unwrap")?;
        let (header, material) = tr31::unwrap(kbpk.expose(), block)
            .map_err(|e| ApiError::validation(format!("The TR-31 key block was refused: {e}")))?;
        let usage = header.key_usage.as_str();
        if !usages.contains(&usage) {
            return Err(ApiError::validation(format!(
                "The wrapped key has TR-31 key usage {usage}; this operation takes {}.",
                usages.join(" or ")
            )));
        }
        let letter = header.mode_of_use.as_char();
        if !mode_letters(mode).contains(&letter) {
            return Err(ApiError::validation(format!(
                "The wrapped key's TR-31 mode of use {letter} does not allow what this operation does."
            )));
        }
        let algorithm: KeyAlgorithm =
            algorithm_from_letter(header.algorithm.as_char(), material.len()).ok_or_else(|| {
                ApiError::validation("The wrapped key's algorithm is not one paycrypt can use.")
            })?;
        dynamic(algorithm, material, kek.doc.key.key_arn.clone(), wrapped)
    }

    /// The working key agreed by ECDH with the K3 key `private_key_identifier` names.
    async fn agreed_key(
        &self,
        ctx: &Context,
        private_key_identifier: &str,
        ecdh: &EcdhDerivationAttributes,
        usages: &[&str],
        wrapped: &WrappedKey,
    ) -> Result<UsableKey, ApiError> {
        let (algorithm, kdf, hash) = ecdh_parameters(
            ecdh.key_algorithm.as_str(),
            ecdh.key_derivation_function.as_str(),
            ecdh.key_derivation_hash_algorithm.as_str(),
        )?;
        let derives: Vec<KeyUsage> = usages.iter().filter_map(|u| usage_from_code(u)).collect();
        let derivation_data = paycrypt_api::DiffieHellmanDerivationData::SharedInformation(
            ecdh.shared_information.clone(),
        );
        let agreed = self
            .derive_agreed_key(
                ctx,
                Agreement {
                    private_key_identifier,
                    certificate_authority_identifier: &ecdh
                        .certificate_authority_public_key_identifier,
                    public_key_certificate: &ecdh.public_key_certificate,
                    derive_key_algorithm: algorithm,
                    kdf,
                    hash,
                    derivation_data: &derivation_data,
                    derives: &derives,
                },
            )
            .await?;
        dynamic(
            agreed.algorithm,
            agreed.key,
            agreed.private_key_arn,
            wrapped,
        )
    }
}

/// A dynamic key with the check value the request asks for (or its algorithm's default).
fn dynamic(
    algorithm: KeyAlgorithm,
    material: SecretBytes,
    arn: String,
    wrapped: &WrappedKey,
) -> Result<UsableKey, ApiError> {
    let requested = match wrapped.key_check_value_algorithm {
        Some(requested) => same_named(
            requested.as_str(),
            paycrypt_api::KeyCheckValueAlgorithm::ALL,
            |a| a.as_str(),
        )?,
        None => attributes::default_kcv_algorithm(algorithm),
    };
    let method = attributes::kcv_method(algorithm, requested)?;
    Ok(UsableKey {
        algorithm,
        check_value: check_value(method, &material, None)?,
        material,
        arn,
    })
}
