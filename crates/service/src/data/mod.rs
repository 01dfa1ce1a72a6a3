//! The data plane (`payment-cryptography-data`): cryptographic operations on the keys the
//! control plane manages. One file per operation family; [`keys`] finds and checks the key each
//! operation names, [`dynamic`] opens the keys a request brings wrapped (TR-31 under a key
//! encryption key held here). The algorithms themselves are pure functions of
//! `paycrypt_cardcrypto` and `paycrypt_keyblock`.

mod card;
mod dynamic;
mod encryption;
mod keys;
mod mac;
mod pin;

use paycrypt_api::data::Input;
use paycrypt_api::{AnyOperation, ApiError, ErrorCode};

use crate::{Context, Service, to_json};

/// Hex input of a member the model already checked as hex (an odd or non-hex value is still
/// refused here, never trusted).
pub(crate) fn unhex(member: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    hex::decode(value)
        .map_err(|_| ApiError::validation(format!("{member} must be hexadecimal bytes.")))
}

/// A cardcrypto refusal of the request's values, as a ValidationException (its messages never
/// carry secrets).
pub(crate) fn refused(e: paycrypt_cardcrypto::Error) -> ApiError {
    ApiError::validation(format!("The request cannot be served: {e}."))
}

impl Service {
    /// Runs one data-plane operation and returns its output as the JSON body of the response.
    pub async fn handle_data(&self, ctx: &Context, input: Input) -> Result<Vec<u8>, ApiError> {
        if ctx.operation != AnyOperation::Data(input.operation()) {
            return Err(ApiError::internal(
                "The request's operation does not match its input.",
            ));
        }
        self.complete_due_deletions(&ctx.scope(), ctx.now).await?;
        match input {
            Input::EncryptData(i) => to_json(&self.encrypt_data(ctx, i).await?),
            Input::DecryptData(i) => to_json(&self.decrypt_data(ctx, i).await?),
            Input::ReEncryptData(i) => to_json(&self.re_encrypt_data(ctx, i).await?),
            Input::GenerateMac(i) => to_json(&self.generate_mac(ctx, i).await?),
            Input::VerifyMac(i) => to_json(&self.verify_mac(ctx, i).await?),
            Input::GenerateCardValidationData(i) => {
                to_json(&self.generate_card_validation_data(ctx, i).await?)
            }
            Input::VerifyCardValidationData(i) => {
                to_json(&self.verify_card_validation_data(ctx, i).await?)
            }
            Input::GeneratePinData(i) => to_json(&self.generate_pin_data(ctx, i).await?),
            Input::VerifyPinData(i) => to_json(&self.verify_pin_data(ctx, i).await?),
            Input::TranslatePinData(i) => to_json(&self.translate_pin_data(ctx, i).await?),
            other => Err(ApiError::new(
                ErrorCode::UnknownOperationException,
                format!(
                    "paycrypt does not implement {} yet; the README's data-plane table lists what it serves.",
                    other.operation().name()
                ),
            )),
        }
    }
}
