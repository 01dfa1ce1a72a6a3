//! The data plane (`payment-cryptography-data`): cryptographic operations on the keys the
//! control plane manages. One file per operation family; [`keys`] finds and checks the key each
//! operation names, [`dynamic`] opens the keys a request brings wrapped (TR-31 under a key
//! encryption key held here). The algorithms themselves are pure functions of
//! `paycrypt_cardcrypto` and `paycrypt_keyblock`.

mod agreement;
mod as2805;
mod card;
mod cryptogram;
mod dynamic;
mod encryption;
mod hex_members;
mod keys;
mod mac;
mod pin;
mod pin_change;
mod translate;

use paycrypt_api::data::{Input, MajorKeyDerivationMode};
use paycrypt_api::{AnyOperation, ApiError};
use paycrypt_cardcrypto::emv::keys::{Card, MasterKeyDerivation};

use serde::Serialize;

use crate::{Context, Service, to_json_by};

pub(crate) use hex_members::{fixed, unhex, upper_hex};

/// The card an EMV request names: how its ICC master key derives (option A or B), its PAN and
/// PAN sequence number.
pub(crate) fn card<'a>(mode: MajorKeyDerivationMode, pan: &'a str, psn: &'a str) -> Card<'a> {
    Card {
        mode: match mode {
            MajorKeyDerivationMode::EmvOptionA => MasterKeyDerivation::OptionA,
            MajorKeyDerivationMode::EmvOptionB => MasterKeyDerivation::OptionB,
        },
        pan,
        psn,
    }
}

/// A cardcrypto refusal of the request's values, as a ValidationException (its messages never
/// carry secrets).
pub(crate) fn refused(e: paycrypt_cardcrypto::Error) -> ApiError {
    ApiError::validation(format!("The request cannot be served: {e}."))
}

/// A data-plane operation's answer: the JSON body of the response, and the key the operation
/// used by its ARN (the verification or generation key of a PIN operation), which the audit line
/// names; `None` where the output names several keys of equal standing or none.
pub struct DataAnswer {
    pub body: Vec<u8>,
    pub key_arn: Option<String>,
}

/// An output as a [`DataAnswer`] naming `key_arn`; written by [`paycrypt_api::write_json`], as
/// the outputs carry kilobytes of hex.
fn answer<T: Serialize>(output: &T, key_arn: Option<&String>) -> Result<DataAnswer, ApiError> {
    Ok(DataAnswer {
        body: to_json_by(output, paycrypt_api::write_json)?,
        key_arn: key_arn.cloned(),
    })
}

impl Service {
    /// Runs one data-plane operation.
    pub async fn handle_data(&self, ctx: &Context, input: Input) -> Result<DataAnswer, ApiError> {
        if ctx.operation != AnyOperation::Data(input.operation()) {
            return Err(ApiError::internal(
                "The request's operation does not match its input.",
            ));
        }
        self.authorize(ctx, &input).await?;
        self.complete_due_deletions(&ctx.scope(), ctx.now).await?;
        match input {
            Input::EncryptData(i) => {
                let o = self.encrypt_data(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::DecryptData(i) => {
                let o = self.decrypt_data(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::ReEncryptData(i) => {
                let o = self.re_encrypt_data(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::GenerateMac(i) => {
                let o = self.generate_mac(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::VerifyMac(i) => {
                let o = self.verify_mac(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::GenerateAuthRequestCryptogram(i) => {
                let o = self.generate_auth_request_cryptogram(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::VerifyAuthRequestCryptogram(i) => {
                let o = self.verify_auth_request_cryptogram(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::GenerateMacEmvPinChange(i) => {
                answer(&self.generate_mac_emv_pin_change(ctx, i).await?, None)
            }
            Input::TranslateKeyMaterial(i) => {
                answer(&self.translate_key_material(ctx, i).await?, None)
            }
            Input::GenerateAs2805KekValidation(i) => {
                let o = self.generate_as2805_kek_validation(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::GenerateCardValidationData(i) => {
                let o = self.generate_card_validation_data(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::VerifyCardValidationData(i) => {
                let o = self.verify_card_validation_data(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
            Input::GeneratePinData(i) => {
                let o = self.generate_pin_data(ctx, i).await?;
                answer(&o, Some(&o.generation_key_arn))
            }
            Input::VerifyPinData(i) => {
                let o = self.verify_pin_data(ctx, i).await?;
                answer(&o, Some(&o.verification_key_arn))
            }
            Input::TranslatePinData(i) => {
                let o = self.translate_pin_data(ctx, i).await?;
                answer(&o, Some(&o.key_arn))
            }
        }
    }
}
