//! GenerateAs2805KekValidation (AS 2805.6.3 node-to-node KEK validation) under a TDES key
//! encryption key (TR31_K0) held here.
//!
//! - A request (`KekValidationRequest`) draws a random KRs, odd parity, of the length the
//!   derive-key algorithm has (at most `RandomKeyMaxLength`, 24 bytes by default), and answers
//!   KRs under the KEK's send variant and KRr (the inverse of KRs) under its receive variant;
//!   the KEK must allow Encrypt.
//! - A response (`KekValidationResponse`) decrypts the partner's KRs under the send variant and
//!   answers KRr; the KEK must allow Decrypt.
//!
//! The variants and the TDES-CBC zero-IV encryption follow AWS's public AS 2805 sample
//! (`paycrypt_cardcrypto::as2805`).

use paycrypt_api::data::{
    As2805KekValidationType, GenerateAs2805KekValidationInput, GenerateAs2805KekValidationOutput,
    RandomKeyMaxLength, RandomKeySendVariantMask, SymmetricKeyAlgorithm,
};
use paycrypt_api::{ApiError, KeyUsage};
use paycrypt_cardcrypto::as2805::{self, VariantMask};
use paycrypt_keyblock::SystemRng;
use paycrypt_keyblock::rand_core::Rng;
use zeroize::Zeroizing;

use super::keys::{Mode, Requirement, TDES};
use super::{refused, unhex, upper_hex};
use crate::{Context, Service};

/// The length of KRs for a request.
fn random_key_len(
    algorithm: SymmetricKeyAlgorithm,
    max: Option<RandomKeyMaxLength>,
) -> Result<usize, ApiError> {
    let natural = match algorithm {
        SymmetricKeyAlgorithm::Tdes2Key | SymmetricKeyAlgorithm::Aes128 => 16,
        SymmetricKeyAlgorithm::Tdes3Key
        | SymmetricKeyAlgorithm::Aes192
        | SymmetricKeyAlgorithm::Aes256 => 24,
        other => {
            return Err(ApiError::validation(format!(
                "DeriveKeyAlgorithm {} cannot be validated as an AS 2805 key; use TDES or AES.",
                other.as_str()
            )));
        }
    };
    let max = match max {
        Some(RandomKeyMaxLength::Bytes8) => 8,
        Some(RandomKeyMaxLength::Bytes16) => 16,
        Some(RandomKeyMaxLength::Bytes24) | None => 24,
    };
    Ok(natural.min(max))
}

impl Service {
    pub(crate) async fn generate_as2805_kek_validation(
        &self,
        ctx: &Context,
        input: GenerateAs2805KekValidationInput,
    ) -> Result<GenerateAs2805KekValidationOutput, ApiError> {
        let mask = match input.random_key_send_variant_mask {
            RandomKeySendVariantMask::VariantMask82 => VariantMask::Mask82,
            RandomKeySendVariantMask::VariantMask82C0 => VariantMask::Mask82C0,
        };
        let mode = match input.kek_validation_type {
            As2805KekValidationType::KekValidationRequest(_) => Mode::Encrypt,
            As2805KekValidationType::KekValidationResponse(_) => Mode::Decrypt,
        };
        let need = Requirement {
            purpose: "AS 2805 KEK validation",
            usages: &[KeyUsage::Tr31K0KeyEncryptionKey],
            mode,
            algorithms: Some(TDES),
        };
        let kek = self.usable_key(ctx, &input.key_identifier, &need).await?;
        let validation = match &input.kek_validation_type {
            As2805KekValidationType::KekValidationRequest(request) => {
                let len =
                    random_key_len(request.derive_key_algorithm, request.random_key_max_length)?;
                let mut random = Zeroizing::new(vec![0u8; len]);
                SystemRng.fill_bytes(&mut random);
                as2805::kek_validation_request(kek.material.expose(), mask, &random)
            }
            As2805KekValidationType::KekValidationResponse(response) => {
                let send = unhex("RandomKeySend", &response.random_key_send)?;
                as2805::kek_validation_response(kek.material.expose(), mask, &send)
            }
        }
        .map_err(refused)?;
        Ok(GenerateAs2805KekValidationOutput {
            key_arn: kek.arn,
            key_check_value: kek.check_value,
            random_key_send: upper_hex(validation.random_key_send),
            random_key_receive: upper_hex(validation.random_key_receive),
        })
    }
}
