//! EncryptData, DecryptData and ReEncryptData, in the four schemes of the model:
//! - `Symmetric`: TDES and AES keys (TR31_D0) in ECB, CBC, the CFB segment sizes and OFB, held
//!   here or brought as a dynamic TR-31 key;
//! - `Asymmetric`: RSA (TR31_D1) with PKCS #1 v1.5 or OAEP (SHA-1, SHA-256, SHA-512), encrypting
//!   with the public key (of a key pair, or of an imported certificate) and decrypting with the
//!   private key;
//! - `Dukpt`: the working data key derived from a BDK (TR31_B0) and the KSN, TDES or AES DUKPT,
//!   in ECB or CBC (the default);
//! - `Emv`: the session key derived from an issuer master key (TR31_E1) for the card (option A
//!   or B) and the SessionDerivationData, TDES in ECB or CBC (the default).
//!
//! As the EncryptData documentation says, TDES data is a multiple of 8 bytes and AES data a
//! multiple of 16 bytes in every symmetric mode; the IV is one cipher block and defaults to zeros.
//! `CFB` without a segment size is the full-block segment (CFB64 for TDES, CFB128 for AES).

use paycrypt_api::data::{
    AsymmetricEncryptionAttributes, DecryptDataInput, DecryptDataOutput, DukptDerivationType,
    DukptEncryptionAttributes, DukptEncryptionMode, DukptKeyVariant as WireVariant,
    EmvEncryptionAttributes, EmvEncryptionMode, EmvMajorKeyDerivationMode, EncryptDataInput,
    EncryptDataOutput, EncryptionDecryptionAttributes, EncryptionMode, PaddingType,
    ReEncryptDataInput, ReEncryptDataOutput, ReEncryptionAttributes, SymmetricEncryptionAttributes,
    WrappedKey,
};
use paycrypt_api::{ApiError, KeyAlgorithm, KeyClass, KeyUsage};
use paycrypt_cardcrypto::BlockCipherKind;
use paycrypt_cardcrypto::cipher::{self, Mode as CipherMode};
use paycrypt_cardcrypto::dukpt::{self, DukptKeyType, DukptKeyVariant, DukptPurpose};
use paycrypt_cardcrypto::emv::keys::{Card, MasterKeyDerivation};
use paycrypt_cardcrypto::emv::secure_messaging::{self, EmvMode};
use paycrypt_cardcrypto::rsa::{self, RsaPadding};
use zeroize::Zeroizing;

use super::keys::{self, Mode, Requirement, TDES, UsableKey};
use super::{refused, unhex, upper_hex};
use crate::keys::LoadedKey;
use crate::{Context, Service};

/// The algorithms of symmetric data encryption keys.
const SYMMETRIC: &[KeyAlgorithm] = &[
    KeyAlgorithm::Tdes2Key,
    KeyAlgorithm::Tdes3Key,
    KeyAlgorithm::Aes128,
    KeyAlgorithm::Aes192,
    KeyAlgorithm::Aes256,
];
const RSA: &[KeyAlgorithm] = &[
    KeyAlgorithm::Rsa2048,
    KeyAlgorithm::Rsa3072,
    KeyAlgorithm::Rsa4096,
];

/// A scheme of either union of encryption attributes.
#[derive(Clone, Copy)]
enum Scheme<'a> {
    Symmetric(&'a SymmetricEncryptionAttributes),
    Asymmetric(&'a AsymmetricEncryptionAttributes),
    Dukpt(&'a DukptEncryptionAttributes),
    Emv(&'a EmvEncryptionAttributes),
}

impl<'a> From<&'a EncryptionDecryptionAttributes> for Scheme<'a> {
    fn from(attributes: &'a EncryptionDecryptionAttributes) -> Self {
        match attributes {
            EncryptionDecryptionAttributes::Symmetric(a) => Self::Symmetric(a),
            EncryptionDecryptionAttributes::Asymmetric(a) => Self::Asymmetric(a),
            EncryptionDecryptionAttributes::Dukpt(a) => Self::Dukpt(a),
            EncryptionDecryptionAttributes::Emv(a) => Self::Emv(a),
        }
    }
}

impl<'a> From<&'a ReEncryptionAttributes> for Scheme<'a> {
    fn from(attributes: &'a ReEncryptionAttributes) -> Self {
        match attributes {
            ReEncryptionAttributes::Symmetric(a) => Self::Symmetric(a),
            ReEncryptionAttributes::Asymmetric(a) => Self::Asymmetric(a),
            ReEncryptionAttributes::Dukpt(a) => Self::Dukpt(a),
        }
    }
}

/// Which way data goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Encrypt,
    Decrypt,
}

impl Direction {
    fn mode(self) -> Mode {
        match self {
            Self::Encrypt => Mode::Encrypt,
            Self::Decrypt => Mode::Decrypt,
        }
    }
}

/// One encryption or decryption a request asks for.
struct Crypt<'a> {
    identifier: &'a str,
    wrapped: Option<&'a WrappedKey>,
    scheme: Scheme<'a>,
    data: &'a [u8],
    direction: Direction,
    /// The member the data came in, for messages.
    member: &'a str,
}

/// The block cipher of a TDES or AES key.
pub(crate) fn cipher_kind(algorithm: KeyAlgorithm) -> Result<BlockCipherKind, ApiError> {
    match algorithm {
        KeyAlgorithm::Tdes2Key | KeyAlgorithm::Tdes3Key => Ok(BlockCipherKind::Tdes),
        KeyAlgorithm::Aes128 | KeyAlgorithm::Aes192 | KeyAlgorithm::Aes256 => {
            Ok(BlockCipherKind::Aes)
        }
        other => Err(ApiError::validation(format!(
            "A {} key cannot encrypt data; use a TDES or AES key.",
            other.as_str()
        ))),
    }
}

fn block_len(kind: BlockCipherKind) -> usize {
    match kind {
        BlockCipherKind::Tdes => 8,
        BlockCipherKind::Aes => 16,
    }
}

/// Encrypts or decrypts `data` under a symmetric key as `attributes` say.
fn symmetric(
    key: &UsableKey,
    attributes: &SymmetricEncryptionAttributes,
    data: &[u8],
    direction: Direction,
    member: &str,
) -> Result<Vec<u8>, ApiError> {
    let kind = cipher_kind(key.algorithm)?;
    let block = block_len(kind);
    let mode = match attributes.mode {
        EncryptionMode::Ecb => CipherMode::Ecb,
        EncryptionMode::Cbc => CipherMode::Cbc,
        EncryptionMode::Cfb1 => CipherMode::Cfb1,
        EncryptionMode::Cfb8 => CipherMode::Cfb8,
        EncryptionMode::Cfb64 => CipherMode::Cfb64,
        EncryptionMode::Cfb128 => CipherMode::Cfb128,
        EncryptionMode::Cfb if kind == BlockCipherKind::Tdes => CipherMode::Cfb64,
        EncryptionMode::Cfb => CipherMode::Cfb128,
        EncryptionMode::Ofb => CipherMode::Ofb,
    };
    if mode == CipherMode::Cfb128 && kind == BlockCipherKind::Tdes {
        return Err(ApiError::validation(
            "Mode CFB128 needs a 16-byte block cipher; a TDES key takes CFB1, CFB8 or CFB64.",
        ));
    }
    let iv = attributes
        .initialization_vector
        .as_deref()
        .map(|iv| unhex("InitializationVector", iv))
        .transpose()?;
    if let Some(iv) = &iv
        && iv.len() != block
    {
        return Err(ApiError::validation(format!(
            "InitializationVector must be {block} bytes ({} hex characters) for a {} key, not {} bytes.",
            block * 2,
            key.algorithm.as_str(),
            iv.len()
        )));
    }
    if !data.len().is_multiple_of(block) {
        return Err(ApiError::validation(format!(
            "{member} must be a multiple of {block} bytes for a {} key; it is {} bytes.",
            key.algorithm.as_str(),
            data.len()
        )));
    }
    let run = match direction {
        Direction::Encrypt => cipher::encrypt,
        Direction::Decrypt => cipher::decrypt,
    };
    run(kind, mode, key.material.expose(), iv.as_deref(), data).map_err(refused)
}

/// EMV data encryption or decryption under the session key of a checked issuer master key.
fn emv(
    imk: &UsableKey,
    attributes: &EmvEncryptionAttributes,
    data: &[u8],
    direction: Direction,
    member: &str,
) -> Result<Vec<u8>, ApiError> {
    let card = Card {
        mode: match attributes.major_key_derivation_mode {
            EmvMajorKeyDerivationMode::EmvOptionA => MasterKeyDerivation::OptionA,
            EmvMajorKeyDerivationMode::EmvOptionB => MasterKeyDerivation::OptionB,
        },
        pan: &attributes.primary_account_number,
        psn: &attributes.pan_sequence_number,
    };
    let derivation: [u8; 8] = unhex("SessionDerivationData", &attributes.session_derivation_data)?
        .try_into()
        .map_err(|_| {
            ApiError::validation("SessionDerivationData must be 8 bytes (16 hex characters).")
        })?;
    let session_key = secure_messaging::data_session_key(imk.material.expose(), &card, &derivation)
        .map_err(refused)?;
    let mode = match attributes.mode {
        Some(EmvEncryptionMode::Ecb) => EmvMode::Ecb,
        _ => {
            let iv = match attributes.initialization_vector.as_deref() {
                Some(iv) => unhex("InitializationVector", iv)?.try_into().map_err(|_| {
                    ApiError::validation("InitializationVector must be 8 bytes (16 hex characters) for EMV encryption.")
                })?,
                None => [0u8; 8],
            };
            EmvMode::Cbc { iv }
        }
    };
    if !data.len().is_multiple_of(8) {
        return Err(ApiError::validation(format!(
            "{member} must be a multiple of 8 bytes for EMV encryption; it is {} bytes.",
            data.len()
        )));
    }
    let run = match direction {
        Direction::Encrypt => secure_messaging::encrypt_data,
        Direction::Decrypt => secure_messaging::decrypt_data,
    };
    run(session_key.expose(), mode, data).map_err(refused)
}

/// The DUKPT working key type a request asks for, or the BDK's own type.
fn dukpt_key_type(requested: Option<DukptDerivationType>, bdk: KeyAlgorithm) -> DukptKeyType {
    match requested.map(|t| t.as_str()).unwrap_or(bdk.as_str()) {
        "TDES_3KEY" => DukptKeyType::Tdes3Key,
        "AES_128" => DukptKeyType::Aes128,
        "AES_192" => DukptKeyType::Aes192,
        "AES_256" => DukptKeyType::Aes256,
        _ => DukptKeyType::Tdes2Key,
    }
}

pub(crate) fn dukpt_variant(variant: Option<WireVariant>) -> DukptKeyVariant {
    match variant {
        Some(WireVariant::Request) => DukptKeyVariant::Request,
        Some(WireVariant::Response) => DukptKeyVariant::Response,
        _ => DukptKeyVariant::Bidirectional,
    }
}

/// The BDK requirement of the DUKPT schemes.
pub(crate) const BDK: Requirement = Requirement {
    purpose: "DUKPT",
    usages: &[KeyUsage::Tr31B0BaseDerivationKey],
    mode: Mode::DeriveKey,
    algorithms: None,
};

/// The DUKPT working key of `purpose` from a checked BDK, for the KSN given as hex.
pub(crate) fn dukpt_working_key(
    bdk: &UsableKey,
    ksn_hex: &str,
    key_type: Option<DukptDerivationType>,
    purpose: DukptPurpose,
    variant: Option<WireVariant>,
) -> Result<(DukptKeyType, paycrypt_keyblock::SecretBytes), ApiError> {
    let bdk_kind = cipher_kind(bdk.algorithm)?;
    let ksn = unhex("KeySerialNumber", ksn_hex)?;
    let key_type = dukpt_key_type(key_type, bdk.algorithm);
    let key = dukpt::working_key(
        bdk_kind,
        bdk.material.expose(),
        &ksn,
        key_type,
        purpose,
        dukpt_variant(variant),
    )
    .map_err(refused)?;
    Ok((key_type, key))
}

/// The DUKPT working key of `purpose` as a key of its own (TDES or AES, as the working key
/// type says) that echoes the BDK's ARN and check value.
pub(crate) fn dukpt_working_usable(
    bdk: UsableKey,
    ksn_hex: &str,
    key_type: Option<DukptDerivationType>,
    purpose: DukptPurpose,
    variant: Option<WireVariant>,
) -> Result<UsableKey, ApiError> {
    let (key_type, working) = dukpt_working_key(&bdk, ksn_hex, key_type, purpose, variant)?;
    Ok(UsableKey {
        algorithm: match key_type.cipher_kind() {
            BlockCipherKind::Tdes => KeyAlgorithm::Tdes2Key,
            BlockCipherKind::Aes => KeyAlgorithm::Aes128,
        },
        material: working,
        arn: bdk.arn,
        check_value: bdk.check_value,
    })
}

/// The public key (SubjectPublicKeyInfo DER) of an RSA key pair or imported certificate.
fn rsa_public_key(key: &LoadedKey) -> Result<Vec<u8>, ApiError> {
    let unreadable = || ApiError::internal("A stored public key is unreadable.");
    match (&key.doc.public_key, &key.doc.certificate) {
        (Some(public_key), _) => hex::decode(public_key).map_err(|_| unreadable()),
        (None, Some(certificate)) => {
            let der = hex::decode(certificate).map_err(|_| unreadable())?;
            let certificate = paycrypt_pki::Certificate::parse(&der).map_err(|_| unreadable())?;
            Ok(certificate.public_key_spki_der().to_vec())
        }
        (None, None) => Err(unreadable()),
    }
}

impl Service {
    /// Encrypts or decrypts as `crypt` says; answers the key that did it and the result.
    async fn crypt(
        &self,
        ctx: &Context,
        crypt: Crypt<'_>,
    ) -> Result<(UsableKey, Vec<u8>), ApiError> {
        let Crypt {
            identifier,
            wrapped,
            scheme,
            data,
            direction,
            member,
        } = crypt;
        if wrapped.is_some() && !matches!(scheme, Scheme::Symmetric(_)) {
            return Err(ApiError::validation(
                "A WrappedKey serves Symmetric encryption only.",
            ));
        }
        match scheme {
            Scheme::Symmetric(attributes) => {
                let key = match wrapped {
                    Some(wrapped) => {
                        self.dynamic_key(ctx, identifier, wrapped, &["D0"], direction.mode())
                            .await?
                    }
                    None => {
                        let need = Requirement {
                            purpose: "symmetric data encryption",
                            usages: &[KeyUsage::Tr31D0SymmetricDataEncryptionKey],
                            mode: direction.mode(),
                            algorithms: Some(SYMMETRIC),
                        };
                        self.usable_key(ctx, identifier, &need).await?
                    }
                };
                let out = symmetric(&key, attributes, data, direction, member)?;
                Ok((key, out))
            }
            Scheme::Asymmetric(attributes) => {
                self.asymmetric(ctx, identifier, attributes, data, direction)
                    .await
            }
            Scheme::Dukpt(attributes) => {
                let bdk = self.usable_key(ctx, identifier, &BDK).await?;
                let working = dukpt_working_usable(
                    bdk,
                    &attributes.key_serial_number,
                    attributes.dukpt_key_derivation_type,
                    DukptPurpose::DataEncryption,
                    attributes.dukpt_key_variant,
                )?;
                let mode = match attributes.mode {
                    Some(DukptEncryptionMode::Ecb) => EncryptionMode::Ecb,
                    _ => EncryptionMode::Cbc,
                };
                let symmetric_attributes = SymmetricEncryptionAttributes {
                    mode,
                    initialization_vector: attributes.initialization_vector.clone(),
                    padding_type: None,
                };
                let out = symmetric(&working, &symmetric_attributes, data, direction, member)?;
                Ok((working, out))
            }
            Scheme::Emv(attributes) => {
                let need = Requirement {
                    purpose: "EMV data encryption",
                    usages: &[KeyUsage::Tr31E1EmvMkeyConfidentiality],
                    mode: Mode::DeriveKey,
                    algorithms: Some(TDES),
                };
                let imk = self.usable_key(ctx, identifier, &need).await?;
                let out = emv(&imk, attributes, data, direction, member)?;
                Ok((imk, out))
            }
        }
    }

    /// RSA encryption with the public key, or decryption with the private key, of a TR31_D1 key.
    async fn asymmetric(
        &self,
        ctx: &Context,
        identifier: &str,
        attributes: &AsymmetricEncryptionAttributes,
        data: &[u8],
        direction: Direction,
    ) -> Result<(UsableKey, Vec<u8>), ApiError> {
        let need = Requirement {
            purpose: "asymmetric data encryption",
            usages: &[KeyUsage::Tr31D1AsymmetricKeyForDataEncryption],
            mode: direction.mode(),
            algorithms: Some(RSA),
        };
        let key = self.resolve_key(ctx, identifier).await?;
        keys::check(&key, &need)?;
        let padding = match attributes.padding_type {
            Some(PaddingType::OaepSha1) => RsaPadding::OaepSha1,
            Some(PaddingType::OaepSha256) => RsaPadding::OaepSha256,
            Some(PaddingType::OaepSha512) => RsaPadding::OaepSha512,
            _ => RsaPadding::Pkcs1,
        };
        let k = &key.doc.key;
        let out = match direction {
            Direction::Encrypt => rsa::encrypt(&rsa_public_key(&key)?, padding, data),
            Direction::Decrypt if k.key_attributes.key_class == KeyClass::AsymmetricKeyPair => {
                rsa::decrypt(self.open_material(&key)?.expose(), padding, data)
            }
            Direction::Decrypt => {
                return Err(ApiError::validation(format!(
                    "Key {} is a public key; decryption needs the key pair's private key.",
                    k.key_arn
                )));
            }
        }
        .map_err(refused)?;
        let key = UsableKey {
            algorithm: k.key_attributes.key_algorithm,
            material: paycrypt_keyblock::SecretBytes::new(Vec::new()),
            arn: k.key_arn.clone(),
            check_value: k.key_check_value.clone(),
        };
        Ok((key, out))
    }

    /// EncryptData or DecryptData: `text` (hex) through the key `identifier` names; the key and
    /// the result as hex.
    async fn crypt_hex(
        &self,
        ctx: &Context,
        identifier: &str,
        wrapped: Option<&WrappedKey>,
        attributes: &EncryptionDecryptionAttributes,
        text: &str,
        direction: Direction,
    ) -> Result<(UsableKey, String), ApiError> {
        let member = match direction {
            Direction::Encrypt => "PlainText",
            Direction::Decrypt => "CipherText",
        };
        let data = unhex(member, text)?;
        let crypt = Crypt {
            identifier,
            wrapped,
            scheme: Scheme::from(attributes),
            data: &data,
            direction,
            member,
        };
        let (key, out) = self.crypt(ctx, crypt).await?;
        Ok((key, upper_hex(out)))
    }

    pub(crate) async fn encrypt_data(
        &self,
        ctx: &Context,
        input: EncryptDataInput,
    ) -> Result<EncryptDataOutput, ApiError> {
        let (key, cipher_text) = self
            .crypt_hex(
                ctx,
                &input.key_identifier,
                input.wrapped_key.as_ref(),
                &input.encryption_attributes,
                &input.plain_text,
                Direction::Encrypt,
            )
            .await?;
        Ok(EncryptDataOutput {
            key_arn: key.arn,
            key_check_value: Some(key.check_value),
            cipher_text,
        })
    }

    pub(crate) async fn decrypt_data(
        &self,
        ctx: &Context,
        input: DecryptDataInput,
    ) -> Result<DecryptDataOutput, ApiError> {
        let (key, plain_text) = self
            .crypt_hex(
                ctx,
                &input.key_identifier,
                input.wrapped_key.as_ref(),
                &input.decryption_attributes,
                &input.cipher_text,
                Direction::Decrypt,
            )
            .await?;
        Ok(DecryptDataOutput {
            key_arn: key.arn,
            key_check_value: key.check_value,
            plain_text,
        })
    }

    /// Decrypts under the incoming key (Decrypt) and encrypts under the outgoing one (Encrypt);
    /// the clear data never leaves the operation.
    pub(crate) async fn re_encrypt_data(
        &self,
        ctx: &Context,
        input: ReEncryptDataInput,
    ) -> Result<ReEncryptDataOutput, ApiError> {
        let data = unhex("CipherText", &input.cipher_text)?;
        let (_, clear) = self
            .crypt(
                ctx,
                Crypt {
                    identifier: &input.incoming_key_identifier,
                    wrapped: input.incoming_wrapped_key.as_ref(),
                    scheme: Scheme::from(&input.incoming_encryption_attributes),
                    data: &data,
                    direction: Direction::Decrypt,
                    member: "CipherText",
                },
            )
            .await?;
        let clear = Zeroizing::new(clear);
        let (key, out) = self
            .crypt(
                ctx,
                Crypt {
                    identifier: &input.outgoing_key_identifier,
                    wrapped: input.outgoing_wrapped_key.as_ref(),
                    scheme: Scheme::from(&input.outgoing_encryption_attributes),
                    data: &clear,
                    direction: Direction::Encrypt,
                    member: "CipherText",
                },
            )
            .await?;
        Ok(ReEncryptDataOutput {
            key_arn: key.arn,
            key_check_value: key.check_value,
            cipher_text: upper_hex(out),
        })
    }
}
