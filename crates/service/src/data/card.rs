//! GenerateCardValidationData and VerifyCardValidationData:
//! - CVV / CVC (`CardVerificationValue1`, the card's service code), CVV2 (`CardVerificationValue2`,
//!   service code `000`), and the American Express CSC versions 1 and 2, under a TDES card
//!   verification key (TR31_C0, mode Generate or Verify);
//! - Mastercard CVC3 (`DynamicCardVerificationCode`) under the ICC key derived (EMV option A,
//!   PAN and PAN sequence number) from a TDES issuer master key for dynamic numbers (TR31_E4,
//!   DeriveKey), over the request's track data, unpredictable number and ATC;
//! - Visa dCVV (`DynamicCardVerificationValue`) under the ICC key derived the same way from a
//!   TDES issuer master key TR31_E6_EMV_MKEY_OTHER (DeriveKey);
//! - the cardholder verification value (`CardHolderVerificationValue`, E6 key) and the Discover
//!   dCVC (`DiscoverDynamicCardVerificationCode`, E6 or E4 key, verify only, PAN sequence number
//!   `00` as the model gives none) under the ICC key derived the same way. Neither scheme's
//!   algorithm is public: paycrypt's reading is in `paycrypt_cardcrypto::card_validation`, and
//!   the README says so.
//!
//! The iCVV is CVV1 with service code `999`. The code is `ValidationDataLength` digits (3..=5,
//! default 3); verification recomputes it at the length of the value presented and compares in
//! constant time, a mismatch being VerificationFailedException INVALID_VALIDATION_DATA.

use paycrypt_api::data::{
    AmexCardSecurityCodeVersion1, AmexCardSecurityCodeVersion2, CardGenerationAttributes,
    CardHolderVerificationValue, CardVerificationAttributes, CardVerificationValue1,
    CardVerificationValue2, DiscoverDynamicCardVerificationCode, DynamicCardVerificationCode,
    DynamicCardVerificationValue, GenerateCardValidationDataInput,
    GenerateCardValidationDataOutput, VerificationFailedReason, VerifyCardValidationDataInput,
    VerifyCardValidationDataOutput,
};
use paycrypt_api::{ApiError, KeyUsage};
use paycrypt_cardcrypto::card_validation::{self, CVV2_SERVICE_CODE};
use paycrypt_cardcrypto::emv::keys::{MasterKeyDerivation, derive_icc_master_key};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::keys::{Mode, Requirement, TDES, UsableKey};
use super::refused;
use crate::{Context, Service};

/// One card validation code a request asks for, with the card data it needs.
#[derive(Clone, Copy)]
enum Code<'a> {
    Cvv {
        expiry: &'a str,
        service_code: &'a str,
    },
    AmexV1(&'a AmexCardSecurityCodeVersion1),
    AmexV2(&'a AmexCardSecurityCodeVersion2),
    Cvc3(&'a DynamicCardVerificationCode),
    Dcvv(&'a DynamicCardVerificationValue),
    Chv(&'a CardHolderVerificationValue),
    DiscoverDcvc(&'a DiscoverDynamicCardVerificationCode),
}

impl<'a> Code<'a> {
    fn cvv1(v: &'a CardVerificationValue1) -> Self {
        Self::Cvv {
            expiry: &v.card_expiry_date,
            service_code: &v.service_code,
        }
    }

    fn cvv2(v: &'a CardVerificationValue2) -> Self {
        Self::Cvv {
            expiry: &v.card_expiry_date,
            service_code: CVV2_SERVICE_CODE,
        }
    }

    /// What the variant needs of its key.
    fn requirement(self, mode: Mode) -> Requirement {
        let (purpose, usages, mode): (_, &'static [KeyUsage], _) = match self {
            Self::Cvv { .. } => (
                "a card verification value",
                &[KeyUsage::Tr31C0CardVerificationKey],
                mode,
            ),
            Self::AmexV1(_) | Self::AmexV2(_) => (
                "an American Express card security code",
                &[KeyUsage::Tr31C0CardVerificationKey],
                mode,
            ),
            Self::Cvc3(_) => (
                "a dynamic card verification code (CVC3)",
                &[KeyUsage::Tr31E4EmvMkeyDynamicNumbers],
                Mode::DeriveKey,
            ),
            Self::Dcvv(_) => (
                "a dynamic card verification value (dCVV)",
                &[KeyUsage::Tr31E6EmvMkeyOther],
                Mode::DeriveKey,
            ),
            Self::Chv(_) => (
                "a cardholder verification value",
                &[KeyUsage::Tr31E6EmvMkeyOther],
                Mode::DeriveKey,
            ),
            Self::DiscoverDcvc(_) => (
                "a Discover dynamic card verification code (dCVC)",
                &[
                    KeyUsage::Tr31E6EmvMkeyOther,
                    KeyUsage::Tr31E4EmvMkeyDynamicNumbers,
                ],
                Mode::DeriveKey,
            ),
        };
        Requirement {
            purpose,
            usages,
            mode,
            algorithms: Some(TDES),
        }
    }

    /// The code of `length` digits for the card `pan` under the checked key.
    fn compute(
        self,
        key: &UsableKey,
        pan: &str,
        length: usize,
    ) -> Result<Zeroizing<String>, ApiError> {
        let k = key.material.expose();
        match self {
            Self::Cvv {
                expiry,
                service_code,
            } => card_validation::cvv(k, pan, expiry, service_code, length),
            Self::AmexV1(v) => card_validation::amex_csc_v1(k, pan, &v.card_expiry_date, length),
            Self::AmexV2(v) => {
                card_validation::amex_csc_v2(k, pan, &v.card_expiry_date, &v.service_code, length)
            }
            Self::Cvc3(v) => {
                let icc = icc_key(k, pan, &v.pan_sequence_number)?;
                card_validation::cvc3(
                    icc.expose(),
                    &v.track_data,
                    &v.unpredictable_number,
                    &v.application_transaction_counter,
                    length,
                )
            }
            Self::Dcvv(v) => {
                let icc = icc_key(k, pan, &v.pan_sequence_number)?;
                card_validation::dcvv(
                    icc.expose(),
                    pan,
                    &v.card_expiry_date,
                    &v.service_code,
                    &v.application_transaction_counter,
                    length,
                )
            }
            Self::Chv(v) => {
                let icc = icc_key(k, pan, &v.pan_sequence_number)?;
                card_validation::cardholder_verification_value(
                    icc.expose(),
                    pan,
                    &v.unpredictable_number,
                    &v.application_transaction_counter,
                    length,
                )
            }
            Self::DiscoverDcvc(v) => {
                let icc = icc_key(k, pan, DISCOVER_PAN_SEQUENCE_NUMBER)?;
                card_validation::discover_dcvc(
                    icc.expose(),
                    pan,
                    &v.card_expiry_date,
                    &v.unpredictable_number,
                    &v.application_transaction_counter,
                    length,
                )
            }
        }
        .map_err(refused)
    }
}

/// The ICC key of the card under an issuer master key: EMV option A, as AWS derives the CVC3
/// and dCVV card keys (the model gives no derivation mode for them).
fn icc_key(imk: &[u8], pan: &str, psn: &str) -> Result<paycrypt_keyblock::SecretBytes, ApiError> {
    derive_icc_master_key(imk, MasterKeyDerivation::OptionA, pan, psn).map_err(refused)
}

/// The PAN sequence number of the Discover card key: the model's
/// `DiscoverDynamicCardVerificationCode` carries none, and a card without one has `00`.
const DISCOVER_PAN_SEQUENCE_NUMBER: &str = "00";

impl<'a> From<&'a CardGenerationAttributes> for Code<'a> {
    fn from(attributes: &'a CardGenerationAttributes) -> Self {
        match attributes {
            CardGenerationAttributes::CardVerificationValue1(v) => Self::cvv1(v),
            CardGenerationAttributes::CardVerificationValue2(v) => Self::cvv2(v),
            CardGenerationAttributes::AmexCardSecurityCodeVersion1(v) => Self::AmexV1(v),
            CardGenerationAttributes::AmexCardSecurityCodeVersion2(v) => Self::AmexV2(v),
            CardGenerationAttributes::DynamicCardVerificationCode(v) => Self::Cvc3(v),
            CardGenerationAttributes::DynamicCardVerificationValue(v) => Self::Dcvv(v),
            CardGenerationAttributes::CardHolderVerificationValue(v) => Self::Chv(v),
        }
    }
}

impl<'a> From<&'a CardVerificationAttributes> for Code<'a> {
    fn from(attributes: &'a CardVerificationAttributes) -> Self {
        match attributes {
            CardVerificationAttributes::CardVerificationValue1(v) => Self::cvv1(v),
            CardVerificationAttributes::CardVerificationValue2(v) => Self::cvv2(v),
            CardVerificationAttributes::AmexCardSecurityCodeVersion1(v) => Self::AmexV1(v),
            CardVerificationAttributes::AmexCardSecurityCodeVersion2(v) => Self::AmexV2(v),
            CardVerificationAttributes::DynamicCardVerificationCode(v) => Self::Cvc3(v),
            CardVerificationAttributes::DynamicCardVerificationValue(v) => Self::Dcvv(v),
            CardVerificationAttributes::CardHolderVerificationValue(v) => Self::Chv(v),
            CardVerificationAttributes::DiscoverDynamicCardVerificationCode(v) => {
                Self::DiscoverDcvc(v)
            }
        }
    }
}

impl Service {
    pub(crate) async fn generate_card_validation_data(
        &self,
        ctx: &Context,
        input: GenerateCardValidationDataInput,
    ) -> Result<GenerateCardValidationDataOutput, ApiError> {
        let code = Code::from(&input.generation_attributes);
        let length = match input.validation_data_length {
            None => card_validation::MIN_CODE_LENGTH,
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| {
                    (card_validation::MIN_CODE_LENGTH..=card_validation::MAX_CODE_LENGTH)
                        .contains(n)
                })
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "ValidationDataLength must be 3 to 5 digits, not {n}."
                    ))
                })?,
        };
        let key = self
            .usable_key(
                ctx,
                &input.key_identifier,
                &code.requirement(Mode::Generate),
            )
            .await?;
        let value = code.compute(&key, &input.primary_account_number, length)?;
        Ok(GenerateCardValidationDataOutput {
            key_arn: key.arn,
            key_check_value: key.check_value,
            validation_data: value.to_string(),
        })
    }

    pub(crate) async fn verify_card_validation_data(
        &self,
        ctx: &Context,
        input: VerifyCardValidationDataInput,
    ) -> Result<VerifyCardValidationDataOutput, ApiError> {
        let code = Code::from(&input.verification_attributes);
        let presented = input.validation_data.as_str();
        if !(card_validation::MIN_CODE_LENGTH..=card_validation::MAX_CODE_LENGTH)
            .contains(&presented.len())
            || !presented.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ApiError::validation(
                "ValidationData must be 3 to 5 decimal digits.",
            ));
        }
        let key = self
            .usable_key(ctx, &input.key_identifier, &code.requirement(Mode::Verify))
            .await?;
        let expected = code.compute(&key, &input.primary_account_number, presented.len())?;
        if !bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) {
            return Err(ApiError::verification_failed(
                VerificationFailedReason::InvalidValidationData,
                "Card validation data verification failed.",
            ));
        }
        Ok(VerifyCardValidationDataOutput {
            key_arn: key.arn,
            key_check_value: key.check_value,
        })
    }
}
