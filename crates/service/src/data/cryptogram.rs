//! GenerateAuthRequestCryptogram and VerifyAuthRequestCryptogram: the card's application
//! cryptogram (ARQC) and the issuer's check of it, with the authorization response cryptogram
//! (ARPC) when the request asks for one.
//!
//! The key is an issuer master key for application cryptograms (TR31_E0, TDES, mode DeriveKey).
//! The card's ICC master key derives from it by EMV option A or B (`MajorKeyDerivationMode`),
//! and the session key by the `SessionKeyDerivation` variant (see `paycrypt_cardcrypto::emv::
//! keys` for each: EmvCommon, Mastercard SKD with the unpredictable number, the EMV2000 tree,
//! Visa CVN 10 and Amex with the ICC master key itself, UnionPay). The cryptogram is ISO/IEC
//! 9797-1 MAC algorithm 3 over `TransactionData` as given: padding is the caller's (data that
//! is not whole blocks is completed with zeros, as HSMs do).
//!
//! The ARPC is method 1 (ARQC XOR the 2-byte ARC, enciphered: 8 bytes) or method 2 (MAC over
//! ARQC, the 4-byte CSU and up to 8 bytes of proprietary data: 4 bytes), under the response key
//! (the ICC master key for Mastercard SKD, the cryptogram's session key otherwise). A wrong
//! ARQC is a VerificationFailedException with Reason INVALID_AUTH_REQUEST_CRYPTOGRAM.

use paycrypt_api::data::{
    CryptogramAuthResponse, GenerateAuthRequestCryptogramInput,
    GenerateAuthRequestCryptogramOutput, MajorKeyDerivationMode, SessionKeyDerivation,
    VerificationFailedReason, VerifyAuthRequestCryptogramInput, VerifyAuthRequestCryptogramOutput,
};
use paycrypt_api::{ApiError, KeyUsage};
use paycrypt_cardcrypto::emv::cryptogram;
use paycrypt_cardcrypto::emv::keys::{AcKeys, AcSessionKey, derive_ac_keys};

use super::keys::{Mode, Requirement, TDES, UsableKey};
use super::{card, fixed, refused, unhex, upper_hex};
use crate::{Context, Service};

/// What both operations need of their key.
const IMK_AC: Requirement = Requirement {
    purpose: "an application cryptogram",
    usages: &[KeyUsage::Tr31E0EmvMkeyAppCryptograms],
    mode: Mode::DeriveKey,
    algorithms: Some(TDES),
};

/// The cryptogram and response keys of the card and transaction `derivation` names.
fn ac_keys(
    imk: &UsableKey,
    major: MajorKeyDerivationMode,
    derivation: &SessionKeyDerivation,
) -> Result<AcKeys, ApiError> {
    use SessionKeyDerivation as S;
    let (pan, psn) = match derivation {
        S::EmvCommon(a) => (&a.primary_account_number, &a.pan_sequence_number),
        S::Mastercard(a) => (&a.primary_account_number, &a.pan_sequence_number),
        S::Emv2000(a) => (&a.primary_account_number, &a.pan_sequence_number),
        S::Amex(a) => (&a.primary_account_number, &a.pan_sequence_number),
        S::Visa(a) => (&a.primary_account_number, &a.pan_sequence_number),
        S::UnionPay(a) => (&a.primary_account_number, &a.pan_sequence_number),
    };
    let atc = |value: &str| fixed(value, "ApplicationTransactionCounter");
    let session = match derivation {
        S::EmvCommon(a) => AcSessionKey::EmvCommon {
            atc: atc(&a.application_transaction_counter)?,
        },
        S::Mastercard(a) => AcSessionKey::Mastercard {
            atc: atc(&a.application_transaction_counter)?,
            unpredictable_number: fixed(&a.unpredictable_number, "UnpredictableNumber")?,
        },
        S::Emv2000(a) => AcSessionKey::Emv2000 {
            atc: atc(&a.application_transaction_counter)?,
        },
        S::Amex(_) => AcSessionKey::Amex,
        S::Visa(_) => AcSessionKey::Visa,
        S::UnionPay(a) => AcSessionKey::UnionPay {
            atc: atc(&a.application_transaction_counter)?,
        },
    };
    derive_ac_keys(imk.material.expose(), &card(major, pan, psn), &session).map_err(refused)
}

/// The ARPC `response` asks for, under the response key.
fn arpc(
    keys: &AcKeys,
    arqc: &[u8; 8],
    response: &CryptogramAuthResponse,
) -> Result<Vec<u8>, ApiError> {
    let key = keys.response.expose();
    match response {
        CryptogramAuthResponse::ArpcMethod1(m) => {
            let arc = fixed(&m.auth_response_code, "AuthResponseCode")?;
            Ok(cryptogram::arpc_method1(key, arqc, &arc)
                .map_err(refused)?
                .to_vec())
        }
        CryptogramAuthResponse::ArpcMethod2(m) => {
            let csu = fixed(&m.card_status_update, "CardStatusUpdate")?;
            let proprietary = match &m.proprietary_authentication_data {
                Some(data) => unhex("ProprietaryAuthenticationData", data)?,
                None => Vec::new(),
            };
            if proprietary.len() > 8 {
                return Err(ApiError::validation(
                    "ProprietaryAuthenticationData must be at most 8 bytes (16 hex characters).",
                ));
            }
            Ok(cryptogram::arpc_method2(key, arqc, &csu, &proprietary)
                .map_err(refused)?
                .to_vec())
        }
    }
}

impl Service {
    /// The checked IMK-AC `identifier` names and the keys of the card and transaction.
    async fn card_keys(
        &self,
        ctx: &Context,
        identifier: &str,
        major: MajorKeyDerivationMode,
        derivation: &SessionKeyDerivation,
    ) -> Result<(UsableKey, AcKeys), ApiError> {
        let imk = self.usable_key(ctx, identifier, &IMK_AC).await?;
        let keys = ac_keys(&imk, major, derivation)?;
        Ok((imk, keys))
    }

    pub(crate) async fn generate_auth_request_cryptogram(
        &self,
        ctx: &Context,
        input: GenerateAuthRequestCryptogramInput,
    ) -> Result<GenerateAuthRequestCryptogramOutput, ApiError> {
        let GenerateAuthRequestCryptogramInput {
            key_identifier,
            transaction_data,
            major_key_derivation_mode: major,
            session_key_derivation_attributes: derivation,
        } = input;
        let data = unhex("TransactionData", &transaction_data)?;
        let (imk, keys) = self
            .card_keys(ctx, &key_identifier, major, &derivation)
            .await?;
        let ac = cryptogram::generate_ac(keys.cryptogram.expose(), &data).map_err(refused)?;
        Ok(GenerateAuthRequestCryptogramOutput {
            key_arn: imk.arn,
            key_check_value: imk.check_value,
            auth_request_cryptogram: upper_hex(ac),
        })
    }

    pub(crate) async fn verify_auth_request_cryptogram(
        &self,
        ctx: &Context,
        input: VerifyAuthRequestCryptogramInput,
    ) -> Result<VerifyAuthRequestCryptogramOutput, ApiError> {
        let VerifyAuthRequestCryptogramInput {
            key_identifier,
            transaction_data,
            auth_request_cryptogram,
            major_key_derivation_mode: major,
            session_key_derivation_attributes: derivation,
            auth_response_attributes,
        } = input;
        let data = unhex("TransactionData", &transaction_data)?;
        let arqc: [u8; 8] = fixed(&auth_request_cryptogram, "AuthRequestCryptogram")?;
        let (imk, keys) = self
            .card_keys(ctx, &key_identifier, major, &derivation)
            .await?;
        if !cryptogram::verify_ac(keys.cryptogram.expose(), &data, &arqc).map_err(refused)? {
            return Err(ApiError::verification_failed(
                VerificationFailedReason::InvalidAuthRequestCryptogram,
                "ARQC verification failed.",
            ));
        }
        let auth_response_value = auth_response_attributes
            .as_ref()
            .map(|response| arpc(&keys, &arqc, response).map(hex::encode_upper))
            .transpose()?;
        Ok(VerifyAuthRequestCryptogramOutput {
            key_arn: imk.arn,
            key_check_value: imk.check_value,
            auth_response_value,
        })
    }
}
