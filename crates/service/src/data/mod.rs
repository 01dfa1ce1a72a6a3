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
mod keys;
mod mac;
mod pin;
mod pin_change;
mod translate;

use paycrypt_api::data::{Input, MajorKeyDerivationMode};
use paycrypt_api::{AnyOperation, ApiError};
use paycrypt_cardcrypto::emv::keys::{Card, MasterKeyDerivation};

use serde::Serialize;

use crate::{Context, Service, to_json};

/// Each byte's value as a hex digit, or [`NOT_HEX`] for a byte that is not one.
const HEX_VALUES: [u8; 256] = {
    let mut values = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        values[b"0123456789abcdef"[digit] as usize] = digit as u8;
        values[b"0123456789ABCDEF"[digit] as usize] = digit as u8;
        digit += 1;
    }
    values
};

/// The mark of a byte that is not a hex digit: its high bits are set, a digit's never are.
const NOT_HEX: u8 = 0xff;

/// Hex input of a member the model already checked as hex (an odd or non-hex value is still
/// refused here, never trusted).
pub(crate) fn unhex(member: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    let refused = || ApiError::validation(format!("{member} must be hexadecimal bytes."));
    if !value.len().is_multiple_of(2) {
        return Err(refused());
    }
    // A table lookup a digit and one check at the end: data members run to kilobytes.
    let mut bytes = vec![0; value.len() / 2];
    let mut marks = 0;
    for (byte, pair) in bytes.iter_mut().zip(value.as_bytes().chunks_exact(2)) {
        let (high, low) = (
            HEX_VALUES[usize::from(pair[0])],
            HEX_VALUES[usize::from(pair[1])],
        );
        marks |= high | low;
        *byte = high << 4 | low;
    }
    if marks & 0xf0 != 0 {
        return Err(refused());
    }
    Ok(bytes)
}

/// Upper-case hex of `bytes`, as the data plane answers every binary member.
pub(crate) fn upper_hex(bytes: impl AsRef<[u8]>) -> String {
    // Arithmetic rather than a table, so that the compiler runs it on vectors.
    let digit = |nibble: u8| nibble + b'0' + 7 * u8::from(nibble > 9);
    let bytes = bytes.as_ref();
    let mut text = vec![0; bytes.len() * 2];
    for (pair, byte) in text.chunks_exact_mut(2).zip(bytes) {
        pair[0] = digit(byte >> 4);
        pair[1] = digit(byte & 0x0f);
    }
    String::from_utf8(text).expect("hex digits are ASCII")
}

/// Hex of exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(text: &str, member: &str) -> Result<[u8; N], ApiError> {
    unhex(member, text)?
        .try_into()
        .map_err(|_| ApiError::validation(format!("{member} must be {N} bytes.")))
}

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

/// An output as a [`DataAnswer`] naming `key_arn`.
fn answer<T: Serialize>(output: &T, key_arn: Option<&String>) -> Result<DataAnswer, ApiError> {
    Ok(DataAnswer {
        body: to_json(output)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_in_upper_case_and_refuses_what_is_not_hex() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = upper_hex(&bytes);
        assert_eq!(text, hex::encode_upper(&bytes));
        assert_eq!(unhex("PlainText", &text).unwrap(), bytes);
        assert_eq!(unhex("PlainText", &text.to_lowercase()).unwrap(), bytes);
        assert_eq!(upper_hex([]), "");
        for bad in ["ABC", "0G", "zz", "é1"] {
            let error = unhex("PlainText", bad).unwrap_err();
            assert_eq!(error.message, "PlainText must be hexadecimal bytes.");
        }
    }
}
