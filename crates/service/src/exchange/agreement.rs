//! ECDH key agreement: the shared secret between one of the account's K3 ECC key pairs and a
//! caller's certificate (which must chain to a CA the account imported) goes through the NIST
//! SP 800-56C one-step KDF or the ANSI X9.63 KDF to give a key: the key block protection key of a
//! DiffieHellmanTr31KeyBlock (ImportKey, ExportKey, TranslateKeyMaterial), or the working key of
//! a data-plane DiffieHellmanSymmetricKey. The K3 key's DeriveKeyUsage must be one the caller
//! allows. The derived key is never stored.

use paycrypt_api::{
    ApiError, DiffieHellmanDerivationData, KeyAlgorithm, KeyDerivationFunction,
    KeyDerivationHashAlgorithm, KeyUsage, SymmetricKeyAlgorithm,
};
use paycrypt_keyblock::SecretBytes;
use paycrypt_keyblock::ecdh::{self, Kdf, KdfHash, PeerKey};

use super::chained_certificate;
use crate::attributes::{self, Material};
use crate::{Context, Service};

/// What the API says about an ECDH derivation.
pub(crate) struct Agreement<'a> {
    pub private_key_identifier: &'a str,
    pub certificate_authority_identifier: &'a str,
    pub public_key_certificate: &'a str,
    pub derive_key_algorithm: SymmetricKeyAlgorithm,
    pub kdf: KeyDerivationFunction,
    pub hash: KeyDerivationHashAlgorithm,
    pub derivation_data: &'a DiffieHellmanDerivationData,
    /// The usages the derived key may have (the K3 key's DeriveKeyUsage must be one of them).
    pub derives: &'a [KeyUsage],
}

/// The usages of key block protection keys.
pub(crate) const KBPK_USAGES: &[KeyUsage] = &[
    KeyUsage::Tr31K0KeyEncryptionKey,
    KeyUsage::Tr31K1KeyBlockProtectionKey,
];

/// The [`Agreement`] an ImportKey or ExportKey DiffieHellmanTr31KeyBlock member describes (the two
/// shapes name these members alike).
macro_rules! agreement_of {
    ($dh:expr) => {
        $crate::exchange::agreement::Agreement {
            private_key_identifier: &$dh.private_key_identifier,
            certificate_authority_identifier: &$dh.certificate_authority_public_key_identifier,
            public_key_certificate: &$dh.public_key_certificate,
            derive_key_algorithm: $dh.derive_key_algorithm,
            kdf: $dh.key_derivation_function,
            hash: $dh.key_derivation_hash_algorithm,
            derivation_data: &$dh.derivation_data,
            derives: $crate::exchange::agreement::KBPK_USAGES,
        }
    };
}
pub(crate) use agreement_of;

/// The derived key, its algorithm, and the K3 key it was agreed with.
pub(crate) struct DerivedKey {
    pub algorithm: KeyAlgorithm,
    pub key: SecretBytes,
    pub private_key_arn: String,
}

impl Service {
    pub(crate) async fn derive_agreed_key(
        &self,
        ctx: &Context,
        agreement: Agreement<'_>,
    ) -> Result<DerivedKey, ApiError> {
        let private = self
            .resolve_key(ctx, agreement.private_key_identifier)
            .await?;
        private.require_usable()?;
        let k = &private.doc.key;
        // The model documents both: ECDH uses "an ECC key pair with key usage K3", and the
        // usage of keys derived from it is fixed when it is created (DeriveKeyUsage).
        if k.key_attributes.key_usage != KeyUsage::Tr31K3AsymmetricKeyForKeyAgreement {
            return Err(ApiError::validation(format!(
                "Key {} is not a TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT key.",
                k.key_arn
            )));
        }
        if let Some(usage) = k.derive_key_usage
            && !agreement
                .derives
                .iter()
                .any(|u| u.as_str() == usage.as_str())
        {
            let wanted: Vec<&str> = agreement.derives.iter().map(|u| u.as_str()).collect();
            return Err(ApiError::validation(format!(
                "Key {} derives {} keys; this needs a key of usage {}.",
                k.key_arn,
                usage.as_str(),
                wanted.join(" or ")
            )));
        }
        let (_, ca) = self
            .certificate_authority_key(ctx, agreement.certificate_authority_identifier)
            .await?;
        let peer = chained_certificate(
            agreement.public_key_certificate,
            "PublicKeyCertificate",
            &ca,
            ctx.now,
        )?;
        let algorithm = KeyAlgorithm::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == agreement.derive_key_algorithm.as_str())
            .ok_or_else(|| ApiError::validation("DeriveKeyAlgorithm is not supported."))?;
        let len = match attributes::material(algorithm) {
            Material::Symmetric(alg) => alg.key_len(),
            Material::Asymmetric(_) => 0,
        };
        let DiffieHellmanDerivationData::SharedInformation(shared) = agreement.derivation_data;
        let info = hex::decode(shared)
            .map_err(|_| ApiError::validation("SharedInformation must be hexadecimal."))?;
        let kdf = match agreement.kdf {
            KeyDerivationFunction::AnsiX963 => Kdf::AnsiX963,
            _ => Kdf::NistSp800_56C,
        };
        let hash = match agreement.hash {
            KeyDerivationHashAlgorithm::Sha384 => KdfHash::Sha384,
            KeyDerivationHashAlgorithm::Sha512 => KdfHash::Sha512,
            _ => KdfHash::Sha256,
        };
        let private_key = self.open_material(&private)?;
        let key = ecdh::derive_key(
            private_key.expose(),
            PeerKey::Certificate(peer.der()),
            kdf,
            hash,
            &info,
            len,
        )
        .map_err(|e| {
            ApiError::validation(format!(
                "No key could be agreed with PublicKeyCertificate: {e}"
            ))
        })?;
        Ok(DerivedKey {
            algorithm,
            key,
            private_key_arn: k.key_arn.clone(),
        })
    }
}
