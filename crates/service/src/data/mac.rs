//! GenerateMac and VerifyMac with keys held here:
//! - ISO/IEC 9797-1 MAC algorithms 1 and 3 (TDES M1 and M3 keys), CMAC (TDES or AES M6 keys),
//!   HMAC (M7 keys; `HMAC` takes the key's own hash, `HMAC_SHA256` and the others need a key of
//!   that hash) and AS 2805.4.1 (TDES M0 keys);
//! - the DUKPT MACs (ISO 9797-1 algorithms 1 and 3, CMAC) under the working MAC key a BDK (B0)
//!   derives for the KSN;
//! - the EMV MAC (ISO 9797-1 algorithm 3, the caller's padding) under the secure-messaging
//!   session key an issuer master key for integrity (E2) derives for the card.
//!
//! The caller pads the message for the ISO 9797-1 and AS 2805 algorithms (whole 8-byte blocks);
//! CMAC and HMAC take any length. `MacLength` counts bytes and takes the leftmost bytes of the
//! full MAC; without it the MAC is 8 bytes for the TDES CBC-MAC family (shared/reference/
//! data-plane.md) and full length for CMAC and HMAC. VerifyMac compares the MAC it is given
//! with as many leftmost bytes of the computed one, in constant time; a mismatch is a
//! VerificationFailedException with Reason INVALID_MAC.

use paycrypt_api::data::{
    GenerateMacInput, GenerateMacOutput, MacAlgorithm as WireAlgorithm, MacAlgorithmDukpt,
    MacAlgorithmEmv, MacAttributes, SessionKeyDerivationMode, SessionKeyDerivationValue,
    VerificationFailedReason, VerifyMacInput, VerifyMacOutput,
};
use paycrypt_api::{ApiError, KeyAlgorithm, KeyUsage};
use paycrypt_cardcrypto::dukpt::DukptPurpose;
use paycrypt_cardcrypto::emv::keys::{self as emv_keys, SmDiversifier, SmSessionKeyMode};
use paycrypt_cardcrypto::emv::secure_messaging;
use paycrypt_cardcrypto::mac::{self, MacAlgorithm};
use paycrypt_cardcrypto::{BlockCipherKind, HmacHash};

use super::encryption::{BDK, dukpt_working_key};
use super::keys::{Mode, Requirement, TDES, UsableKey};
use super::{card, fixed, refused, unhex, upper_hex};
use crate::{Context, Service};

const AES_AND_TDES: &[KeyAlgorithm] = &[
    KeyAlgorithm::Tdes2Key,
    KeyAlgorithm::Tdes3Key,
    KeyAlgorithm::Aes128,
    KeyAlgorithm::Aes192,
    KeyAlgorithm::Aes256,
];
const HMAC: &[KeyAlgorithm] = &[
    KeyAlgorithm::HmacSha224,
    KeyAlgorithm::HmacSha256,
    KeyAlgorithm::HmacSha384,
    KeyAlgorithm::HmacSha512,
];

/// What a wire MAC algorithm needs of its key, and the MAC length used when none is asked for
/// (`None`: the algorithm's full length).
fn requirement(algorithm: WireAlgorithm, mode: Mode) -> (Requirement, Option<usize>) {
    let (purpose, usage, algorithms, default_len): (_, _, &'static [KeyAlgorithm], _) =
        match algorithm {
            WireAlgorithm::Iso9797Algorithm1 => (
                "an ISO9797_ALGORITHM1 MAC",
                KeyUsage::Tr31M1Iso97971MacKey,
                TDES,
                Some(8),
            ),
            WireAlgorithm::Iso9797Algorithm3 => (
                "an ISO9797_ALGORITHM3 MAC",
                KeyUsage::Tr31M3Iso97973MacKey,
                TDES,
                Some(8),
            ),
            WireAlgorithm::As280541 => (
                "an AS2805_4_1 MAC",
                KeyUsage::Tr31M0Iso16609MacKey,
                TDES,
                Some(8),
            ),
            WireAlgorithm::Cmac => (
                "a CMAC",
                KeyUsage::Tr31M6Iso97975CmacKey,
                AES_AND_TDES,
                None,
            ),
            WireAlgorithm::Hmac => ("an HMAC", KeyUsage::Tr31M7HmacKey, HMAC, None),
            WireAlgorithm::HmacSha224 => (
                "an HMAC_SHA224 MAC",
                KeyUsage::Tr31M7HmacKey,
                &[KeyAlgorithm::HmacSha224],
                None,
            ),
            WireAlgorithm::HmacSha256 => (
                "an HMAC_SHA256 MAC",
                KeyUsage::Tr31M7HmacKey,
                &[KeyAlgorithm::HmacSha256],
                None,
            ),
            WireAlgorithm::HmacSha384 => (
                "an HMAC_SHA384 MAC",
                KeyUsage::Tr31M7HmacKey,
                &[KeyAlgorithm::HmacSha384],
                None,
            ),
            WireAlgorithm::HmacSha512 => (
                "an HMAC_SHA512 MAC",
                KeyUsage::Tr31M7HmacKey,
                &[KeyAlgorithm::HmacSha512],
                None,
            ),
        };
    let usages: &'static [KeyUsage] = match usage {
        KeyUsage::Tr31M1Iso97971MacKey => &[KeyUsage::Tr31M1Iso97971MacKey],
        KeyUsage::Tr31M3Iso97973MacKey => &[KeyUsage::Tr31M3Iso97973MacKey],
        KeyUsage::Tr31M0Iso16609MacKey => &[KeyUsage::Tr31M0Iso16609MacKey],
        KeyUsage::Tr31M6Iso97975CmacKey => &[KeyUsage::Tr31M6Iso97975CmacKey],
        _ => &[KeyUsage::Tr31M7HmacKey],
    };
    let need = Requirement {
        purpose,
        usages,
        mode,
        algorithms: Some(algorithms),
    };
    (need, default_len)
}

/// The cardcrypto algorithm for a wire algorithm and a key that passed [`requirement`].
fn algorithm_for(algorithm: WireAlgorithm, key: &UsableKey) -> MacAlgorithm {
    match algorithm {
        WireAlgorithm::Iso9797Algorithm1 => MacAlgorithm::Iso9797Algorithm1,
        WireAlgorithm::Iso9797Algorithm3 => MacAlgorithm::Iso9797Algorithm3,
        WireAlgorithm::As280541 => MacAlgorithm::As2805_4_1,
        WireAlgorithm::Cmac => MacAlgorithm::Cmac(match key.algorithm {
            KeyAlgorithm::Tdes2Key | KeyAlgorithm::Tdes3Key => BlockCipherKind::Tdes,
            _ => BlockCipherKind::Aes,
        }),
        _ => MacAlgorithm::Hmac(match key.algorithm {
            KeyAlgorithm::HmacSha224 => HmacHash::Sha224,
            KeyAlgorithm::HmacSha256 => HmacHash::Sha256,
            KeyAlgorithm::HmacSha384 => HmacHash::Sha384,
            _ => HmacHash::Sha512,
        }),
    }
}

/// The secure-messaging session key of an EMV MAC request under a checked E2 key.
fn emv_session_key(
    imk: &UsableKey,
    emv: &MacAlgorithmEmv,
) -> Result<paycrypt_keyblock::SecretBytes, ApiError> {
    let card = card(
        emv.major_key_derivation_mode,
        &emv.primary_account_number,
        &emv.pan_sequence_number,
    );
    let mode = match emv.session_key_derivation_mode {
        SessionKeyDerivationMode::EmvCommonSessionKey => SmSessionKeyMode::EmvCommon,
        SessionKeyDerivationMode::MastercardSessionKey => SmSessionKeyMode::Mastercard,
        SessionKeyDerivationMode::Emv2000 => SmSessionKeyMode::Emv2000,
        SessionKeyDerivationMode::Amex => SmSessionKeyMode::Amex,
        SessionKeyDerivationMode::Visa => SmSessionKeyMode::Visa,
        SessionKeyDerivationMode::UnionPay => SmSessionKeyMode::UnionPay,
    };
    let value = match &emv.session_key_derivation_value {
        SessionKeyDerivationValue::ApplicationCryptogram(arqc) => {
            SmDiversifier::ApplicationCryptogram(fixed(arqc, "ApplicationCryptogram")?)
        }
        SessionKeyDerivationValue::ApplicationTransactionCounter(atc) => {
            SmDiversifier::Atc(fixed(atc, "ApplicationTransactionCounter")?)
        }
    };
    emv_keys::derive_sm_session_key(imk.material.expose(), &card, mode, &value).map_err(refused)
}

impl Service {
    /// The key and full MAC of `message` under `attributes`, with the length a MAC takes when
    /// none is asked for.
    async fn full_mac(
        &self,
        ctx: &Context,
        identifier: &str,
        attributes: &MacAttributes,
        message: &str,
        mode: Mode,
    ) -> Result<(UsableKey, Vec<u8>, usize), ApiError> {
        let data = unhex("MessageData", message)?;
        match attributes {
            MacAttributes::Algorithm(algorithm) => {
                let (need, default_len) = requirement(*algorithm, mode);
                let key = self.usable_key(ctx, identifier, &need).await?;
                let full = mac::generate(
                    algorithm_for(*algorithm, &key),
                    key.material.expose(),
                    &data,
                )
                .map_err(refused)?;
                let default_len = default_len.unwrap_or(full.len()).min(full.len());
                Ok((key, full, default_len))
            }
            MacAttributes::DukptIso9797Algorithm1(dukpt) => {
                self.dukpt_mac(
                    ctx,
                    identifier,
                    dukpt,
                    Some(MacAlgorithm::Iso9797Algorithm1),
                    &data,
                )
                .await
            }
            MacAttributes::DukptIso9797Algorithm3(dukpt) => {
                self.dukpt_mac(
                    ctx,
                    identifier,
                    dukpt,
                    Some(MacAlgorithm::Iso9797Algorithm3),
                    &data,
                )
                .await
            }
            MacAttributes::DukptCmac(dukpt) => {
                self.dukpt_mac(ctx, identifier, dukpt, None, &data).await
            }
            MacAttributes::EmvMac(emv) => {
                let need = Requirement {
                    purpose: "an EMV MAC",
                    usages: &[KeyUsage::Tr31E2EmvMkeyIntegrity],
                    mode: Mode::DeriveKey,
                    algorithms: Some(TDES),
                };
                let imk = self.usable_key(ctx, identifier, &need).await?;
                let session_key = emv_session_key(&imk, emv)?;
                let full = secure_messaging::emv_mac_unpadded(session_key.expose(), &data)
                    .map_err(refused)?;
                Ok((imk, full.to_vec(), full.len()))
            }
        }
    }

    /// A DUKPT MAC: `algorithm` under the BDK's working MAC key, or CMAC (`None`) with the
    /// working key's cipher.
    async fn dukpt_mac(
        &self,
        ctx: &Context,
        identifier: &str,
        dukpt: &MacAlgorithmDukpt,
        algorithm: Option<MacAlgorithm>,
        data: &[u8],
    ) -> Result<(UsableKey, Vec<u8>, usize), ApiError> {
        let bdk = self.usable_key(ctx, identifier, &BDK).await?;
        let (key_type, working) = dukpt_working_key(
            &bdk,
            &dukpt.key_serial_number,
            dukpt.dukpt_derivation_type,
            DukptPurpose::Mac,
            Some(dukpt.dukpt_key_variant),
        )?;
        let algorithm = algorithm.unwrap_or(MacAlgorithm::Cmac(key_type.cipher_kind()));
        if algorithm != MacAlgorithm::Cmac(key_type.cipher_kind())
            && key_type.cipher_kind() != BlockCipherKind::Tdes
        {
            return Err(ApiError::validation(
                "The DUKPT ISO 9797-1 MACs need a TDES working key; use DukptCmac with AES DUKPT.",
            ));
        }
        let full = mac::generate(algorithm, working.expose(), data).map_err(refused)?;
        let default_len = if matches!(algorithm, MacAlgorithm::Cmac(_)) {
            full.len()
        } else {
            8
        };
        Ok((bdk, full, default_len))
    }

    pub(crate) async fn generate_mac(
        &self,
        ctx: &Context,
        input: GenerateMacInput,
    ) -> Result<GenerateMacOutput, ApiError> {
        let (key, full, default_len) = self
            .full_mac(
                ctx,
                &input.key_identifier,
                &input.generation_attributes,
                &input.message_data,
                Mode::Generate,
            )
            .await?;
        let len = mac_length(input.mac_length, default_len, full.len())?;
        Ok(GenerateMacOutput {
            key_arn: key.arn,
            key_check_value: key.check_value,
            mac: upper_hex(&full[..len]),
        })
    }

    pub(crate) async fn verify_mac(
        &self,
        ctx: &Context,
        input: VerifyMacInput,
    ) -> Result<VerifyMacOutput, ApiError> {
        let (key, full, _) = self
            .full_mac(
                ctx,
                &input.key_identifier,
                &input.verification_attributes,
                &input.message_data,
                Mode::Verify,
            )
            .await?;
        let presented = unhex("Mac", &input.mac)?;
        if let Some(length) = input.mac_length
            && usize::try_from(length).ok() != Some(presented.len())
        {
            return Err(ApiError::validation(format!(
                "MacLength is {length} bytes but the Mac given is {} bytes.",
                presented.len()
            )));
        }
        mac_length(Some(presented.len() as i32), full.len(), full.len())?;
        if !mac::verify_prefix(&full, &presented).map_err(refused)? {
            return Err(ApiError::verification_failed(
                VerificationFailedReason::InvalidMac,
                "MAC verification failed.",
            ));
        }
        Ok(VerifyMacOutput {
            key_arn: key.arn,
            key_check_value: key.check_value,
        })
    }
}

/// The MAC length in bytes: `requested` (4 bytes at least, by the model) up to the full length.
fn mac_length(requested: Option<i32>, default: usize, full: usize) -> Result<usize, ApiError> {
    let Some(requested) = requested else {
        return Ok(default);
    };
    match usize::try_from(requested) {
        Ok(len) if (mac::MIN_VERIFY_LEN..=full).contains(&len) => Ok(len),
        _ => Err(ApiError::validation(format!(
            "MacLength must be {} to {full} bytes for this algorithm and key, not {requested}.",
            mac::MIN_VERIFY_LEN
        ))),
    }
}
