//! ImportKey and ExportKey in the `As2805KeyCryptogram` form: a TDES key encrypted under a
//! variant of a TDES key encryption key (see `paycrypt_keyblock::as2805`). The variant names the
//! key's usage, as AWS maps them: 00 terminal major key (K0), 28 PIN encryption (P0), 24 message
//! authentication (M0, ISO 16609 MAC), 22 data encryption (D0).

use paycrypt_api::{
    ApiError, As2805KeyVariant, ImportAs2805KeyCryptogram, KeyAlgorithm, KeyAttributes, KeyClass,
    KeyUsage,
};
use paycrypt_keyblock::{SecretBytes, as2805};

use super::{strength, usage_code};
use crate::Service;
use crate::attributes;
use crate::keys::LoadedKey;

/// The keyblock variant and the key usage an AS 2805 variant stands for.
fn variant_of(variant: As2805KeyVariant) -> (as2805::Variant, KeyUsage) {
    match variant {
        As2805KeyVariant::TerminalMajorKeyVariant00 => (
            as2805::Variant::TerminalMajorKey,
            KeyUsage::Tr31K0KeyEncryptionKey,
        ),
        As2805KeyVariant::PinEncryptionKeyVariant28 => (
            as2805::Variant::PinEncryption,
            KeyUsage::Tr31P0PinEncryptionKey,
        ),
        As2805KeyVariant::MessageAuthenticationKeyVariant24 => (
            as2805::Variant::MessageAuthentication,
            KeyUsage::Tr31M0Iso16609MacKey,
        ),
        As2805KeyVariant::DataEncryptionKeyVariant22 => (
            as2805::Variant::DataEncryption,
            KeyUsage::Tr31D0SymmetricDataEncryptionKey,
        ),
    }
}

fn is_tdes(algorithm: KeyAlgorithm) -> bool {
    matches!(algorithm, KeyAlgorithm::Tdes2Key | KeyAlgorithm::Tdes3Key)
}

/// A key imported from an AS 2805 cryptogram: its attributes and clear value.
pub(super) struct As2805Import {
    pub(super) attributes: KeyAttributes,
    pub(super) exportable: bool,
    pub(super) secret: SecretBytes,
}

impl Service {
    /// The clear value of an AS 2805 key encryption key: a usable TDES K0 key allowed to `direction`.
    fn open_as2805_kek(
        &self,
        kek: &LoadedKey,
        direction: &str,
    ) -> Result<(SecretBytes, KeyAlgorithm), ApiError> {
        let (secret, algorithm) = self.open_tr31_kbpk(kek, direction)?;
        if !is_tdes(algorithm)
            || kek.doc.key.key_attributes.key_usage != KeyUsage::Tr31K0KeyEncryptionKey
        {
            return Err(ApiError::validation(format!(
                "Key {} cannot {direction} AS 2805 key cryptograms: the wrapping key must be a TDES_2KEY or TDES_3KEY key with KeyUsage TR31_K0_KEY_ENCRYPTION_KEY.",
                kek.doc.key.key_arn
            )));
        }
        Ok((secret, algorithm))
    }

    pub(super) fn import_as2805(
        &self,
        kek: &LoadedKey,
        input: ImportAs2805KeyCryptogram,
    ) -> Result<As2805Import, ApiError> {
        let (kek_secret, kek_algorithm) = self.open_as2805_kek(kek, "unwrap")?;
        if !is_tdes(input.key_algorithm) {
            return Err(ApiError::validation(format!(
                "KeyAlgorithm {} cannot be imported from an AS 2805 key cryptogram, which carries TDES_2KEY or TDES_3KEY keys.",
                input.key_algorithm.as_str()
            )));
        }
        let (variant, usage) = variant_of(input.as2805_key_variant);
        let key_attributes = KeyAttributes {
            key_usage: usage,
            key_class: KeyClass::SymmetricKey,
            key_algorithm: input.key_algorithm,
            key_modes_of_use: input.key_modes_of_use,
        };
        attributes::check_create(&key_attributes)?;
        let cryptogram = hex::decode(&input.wrapped_key_cryptogram)
            .map_err(|_| ApiError::validation("WrappedKeyCryptogram must be hexadecimal."))?;
        let expected_len = if input.key_algorithm == KeyAlgorithm::Tdes2Key {
            16
        } else {
            24
        };
        if cryptogram.len() != expected_len {
            return Err(ApiError::validation(format!(
                "WrappedKeyCryptogram holds {} bytes; a {} key takes {expected_len}.",
                cryptogram.len(),
                input.key_algorithm.as_str()
            )));
        }
        if strength(kek_algorithm) < strength(input.key_algorithm) {
            return Err(ApiError::validation(format!(
                "The wrapping key is weaker than a {} key.",
                input.key_algorithm.as_str()
            )));
        }
        let secret = as2805::unwrap(kek_secret.expose(), variant, &cryptogram).map_err(|e| {
            ApiError::validation(format!("The AS 2805 key cryptogram was refused: {e}"))
        })?;
        Ok(As2805Import {
            attributes: key_attributes,
            exportable: input.exportable,
            secret,
        })
    }

    /// Encrypts the clear value of a key (a key of `algorithm` whose TR-31 usage is
    /// `usage_code`) under the `variant` of `kek`, as uppercase hex.
    pub(super) fn export_as2805(
        &self,
        kek: &LoadedKey,
        key: (&SecretBytes, KeyAlgorithm, &str),
        variant: As2805KeyVariant,
    ) -> Result<String, ApiError> {
        let (secret, algorithm, key_usage_code) = key;
        let (kek_secret, kek_algorithm) = self.open_as2805_kek(kek, "wrap")?;
        let (variant_kind, variant_usage) = variant_of(variant);
        if !is_tdes(algorithm) || key_usage_code != usage_code(variant_usage) {
            return Err(ApiError::validation(format!(
                "{} exports a TDES key with KeyUsage {}, not a {} key of TR-31 usage {key_usage_code}.",
                variant.as_str(),
                variant_usage.as_str(),
                algorithm.as_str(),
            )));
        }
        if strength(kek_algorithm) < strength(algorithm) {
            return Err(ApiError::validation(format!(
                "The wrapping key is weaker than the {} key to export.",
                algorithm.as_str()
            )));
        }
        let cryptogram =
            as2805::wrap(kek_secret.expose(), variant_kind, secret.expose()).map_err(|e| {
                ApiError::validation(format!("The AS 2805 key cryptogram could not be made: {e}"))
            })?;
        Ok(hex::encode_upper(cryptogram))
    }
}
