//! TranslateKeyMaterial: a TR-31 block wrapped under a key agreed by ECDH (one of the account's K3
//! key pairs and the sender's certificate, chained to an imported CA) is opened and wrapped again
//! under a TR-31 key encryption key held here, without the key ever being stored. The outgoing
//! block keeps the incoming header's usage, algorithm, mode of use, key version, exportability and
//! optional blocks; its version is B under a TDES KEK and D under an AES KEK, and the KEK must be
//! at least as strong as the key.

use paycrypt_api::ApiError;
use paycrypt_api::data::{
    DiffieHellmanDerivationData, IncomingKeyMaterial, OutgoingKeyMaterial,
    TranslateKeyMaterialInput, TranslateKeyMaterialOutput, WrappedKeyMaterialFormat,
    WrappedWorkingKey,
};
use paycrypt_keyblock::{SystemRng, tr31};

use super::agreement::{ecdh_parameters, same_named};
use crate::attributes;
use crate::exchange::agreement::{Agreement, KBPK_USAGES};
use crate::exchange::{algorithm_from_letter, algorithm_letter, strength};
use crate::keys::check_value;
use crate::{Context, Service};

impl Service {
    pub(crate) async fn translate_key_material(
        &self,
        ctx: &Context,
        input: TranslateKeyMaterialInput,
    ) -> Result<TranslateKeyMaterialOutput, ApiError> {
        let IncomingKeyMaterial::DiffieHellmanTr31KeyBlock(incoming) = &input.incoming_key_material;
        let OutgoingKeyMaterial::Tr31KeyBlock(outgoing) = &input.outgoing_key_material;
        let (algorithm, kdf, hash) = ecdh_parameters(
            incoming.derive_key_algorithm.as_str(),
            incoming.key_derivation_function.as_str(),
            incoming.key_derivation_hash_algorithm.as_str(),
        )?;
        let DiffieHellmanDerivationData::SharedInformation(shared) = &incoming.derivation_data;
        let derivation_data =
            paycrypt_api::DiffieHellmanDerivationData::SharedInformation(shared.clone());
        let agreed = self
            .derive_agreed_key(
                ctx,
                Agreement {
                    private_key_identifier: &incoming.private_key_identifier,
                    certificate_authority_identifier: &incoming
                        .certificate_authority_public_key_identifier,
                    public_key_certificate: &incoming.public_key_certificate,
                    derive_key_algorithm: algorithm,
                    kdf,
                    hash,
                    derivation_data: &derivation_data,
                    derives: KBPK_USAGES,
                },
            )
            .await?;
        let (mut header, key) = tr31::unwrap(agreed.key.expose(), &incoming.wrapped_key_block)
            .map_err(|e| ApiError::validation(format!("The TR-31 key block was refused: {e}")))?;
        let key_algorithm = algorithm_from_letter(header.algorithm.as_char(), key.len())
            .ok_or_else(|| {
                ApiError::validation("The wrapped key's algorithm is not one paycrypt can use.")
            })?;
        let kek = self
            .resolve_key(ctx, &outgoing.wrapping_key_identifier)
            .await?;
        let (kbpk, kek_algorithm) = self.open_tr31_kbpk(&kek, "wrap")?;
        if strength(kek_algorithm) < strength(key_algorithm) {
            return Err(ApiError::validation(format!(
                "The wrapping key is weaker than the {} key it would wrap.",
                key_algorithm.as_str()
            )));
        }
        header.version = match algorithm_letter(kek_algorithm) {
            'T' => tr31::Version::B,
            _ => tr31::Version::D,
        };
        let block = tr31::wrap(
            kbpk.expose(),
            &header,
            key.expose(),
            tr31::WrapOptions {
                mask_key_length: true,
            },
            &mut SystemRng,
        )
        .map_err(|e| ApiError::validation(format!("The key cannot be wrapped: {e}")))?;
        let requested = match input.key_check_value_algorithm {
            Some(requested) => same_named(
                requested.as_str(),
                paycrypt_api::KeyCheckValueAlgorithm::ALL,
                |a| a.as_str(),
            )?,
            None => attributes::default_kcv_algorithm(key_algorithm),
        };
        let method = attributes::kcv_method(key_algorithm, requested)?;
        Ok(TranslateKeyMaterialOutput {
            wrapped_key: WrappedWorkingKey {
                wrapped_key_material: block,
                key_check_value: check_value(method, &key, None)?,
                wrapped_key_material_format: WrappedKeyMaterialFormat::Tr31KeyBlock,
            },
        })
    }
}
