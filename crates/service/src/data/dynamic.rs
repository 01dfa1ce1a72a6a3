//! Dynamic keys: a working key the request brings as a TR-31 block wrapped under a key
//! encryption key held here (the operation's key identifier names the KEK). The block is opened
//! for this request only and never stored; the TR-31 header must carry a key usage the
//! operation accepts and a mode of use that allows what it does (AWS guide, "Using dynamic
//! keys": data encryption keys are D0 with mode B, E or D).

use paycrypt_api::data::{KeyCheckValueAlgorithm, WrappedKey, WrappedKeyMaterial};
use paycrypt_api::{ApiError, KeyAlgorithm};
use paycrypt_keyblock::tr31;

use super::keys::{Mode, UsableKey};
use crate::attributes;
use crate::exchange::algorithm_from_letter;
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
        let WrappedKeyMaterial::Tr31KeyBlock(block) = &wrapped.wrapped_key_material else {
            return Err(ApiError::validation(
                "paycrypt does not serve DiffieHellmanSymmetricKey dynamic keys yet; send the key as a Tr31KeyBlock.",
            ));
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
        let requested = match wrapped.key_check_value_algorithm {
            Some(KeyCheckValueAlgorithm::Cmac) => paycrypt_api::KeyCheckValueAlgorithm::Cmac,
            Some(KeyCheckValueAlgorithm::AnsiX924) => {
                paycrypt_api::KeyCheckValueAlgorithm::AnsiX924
            }
            Some(KeyCheckValueAlgorithm::Hmac) => paycrypt_api::KeyCheckValueAlgorithm::Hmac,
            Some(KeyCheckValueAlgorithm::Sha1) => paycrypt_api::KeyCheckValueAlgorithm::Sha1,
            None => attributes::default_kcv_algorithm(algorithm),
        };
        let method = attributes::kcv_method(algorithm, requested)?;
        Ok(UsableKey {
            algorithm,
            check_value: check_value(method, &material, None)?,
            material,
            arn: kek.doc.key.key_arn.clone(),
        })
    }
}
