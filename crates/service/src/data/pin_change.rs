//! GenerateMacEmvPinChange: the issuer script that changes the offline PIN of an EMV card.
//!
//! The new PIN arrives as an ISO 9564 format 0, 1 or 3 block encrypted (TDES-ECB) under a PIN
//! encryption key held here (TR31_P0, mode Decrypt); format 0 and 3 bind the card's PAN. The
//! PIN is recovered, put in the block the card expects and enciphered under the SMC session key
//! derived from the IMK-SMC (TR31_E1); the script (`MessageData`, the command header and what
//! the scheme puts before the data, followed by the enciphered block) is MACed under the SMI
//! session key derived from the IMK-SMI (TR31_E2): ISO/IEC 9797-1 padding method 2, MAC
//! algorithm 3, 8 bytes. Per `DerivationMethodAttributes` variant
//! (`paycrypt_cardcrypto::emv::secure_messaging::PinChangeMethod`):
//! - `EmvCommon`: common session keys with R = the ARQC; ISO format 2 block; the request's ECB
//!   or CBC (zero IV), padding and length position;
//! - `Mastercard`: common session keys with R = the ARQC; ISO format 2 block, CBC, no length
//!   byte, no padding (M/Chip);
//! - `Emv2000`: EMV2000 tree session keys over the ATC; ISO format 2 block, CBC, 7816-4 padding;
//! - `Visa` and `Amex`: Visa XOR session keys over the ATC; the VIS PIN block, which mixes in
//!   the card's ICC master key for AC (from the IMK-AC, TR31_E0, mode DeriveKey) and the current
//!   PIN when the request gives it (encrypted under its own PEK, same format as the new one);
//!   length byte, 7816-4 padding, ECB.

use paycrypt_api::data::{
    CurrentPinAttributes, DerivationMethodAttributes, EmvEncryptionMode,
    GenerateMacEmvPinChangeInput, GenerateMacEmvPinChangeOutput, PinBlockFormatForEmvPinChange,
    PinBlockLengthPosition as WireLengthPosition, PinBlockPaddingType, VisaAmexDerivationOutputs,
};
use paycrypt_api::{ApiError, KeyUsage};
use paycrypt_cardcrypto::BlockCipherKind;
use paycrypt_cardcrypto::cipher::{self, Mode as CipherMode};
use paycrypt_cardcrypto::emv::keys::Card;
use paycrypt_cardcrypto::emv::secure_messaging::{
    self, EmvMode, PinBlockLengthPosition, PinBlockPadding, PinChangeMethod, PinChangeScript,
};
use paycrypt_cardcrypto::pinblock::{self, Pin};
use zeroize::Zeroizing;

use super::keys::{Mode, Requirement, TDES, UsableKey};
use super::{card, fixed, refused, unhex, upper_hex};
use crate::{Context, Service};

const PEK: Requirement = Requirement {
    purpose: "decrypting a PIN block",
    usages: &[KeyUsage::Tr31P0PinEncryptionKey],
    mode: Mode::Decrypt,
    algorithms: Some(TDES),
};
const IMK_SMI: Requirement = Requirement {
    purpose: "an EMV script MAC",
    usages: &[KeyUsage::Tr31E2EmvMkeyIntegrity],
    mode: Mode::DeriveKey,
    algorithms: Some(TDES),
};
const IMK_SMC: Requirement = Requirement {
    purpose: "enciphering an EMV PIN block",
    usages: &[KeyUsage::Tr31E1EmvMkeyConfidentiality],
    mode: Mode::DeriveKey,
    algorithms: Some(TDES),
};
const IMK_AC: Requirement = Requirement {
    purpose: "a Visa or Amex PIN change block",
    usages: &[KeyUsage::Tr31E0EmvMkeyAppCryptograms],
    mode: Mode::DeriveKey,
    algorithms: Some(TDES),
};

/// The Visa and Amex members (the two shapes are the same).
struct VisaAmex<'a> {
    amex: bool,
    atc: &'a str,
    ac_key_identifier: &'a str,
    current_pin: Option<&'a CurrentPinAttributes>,
}

/// What a variant asks for: a method that needs nothing more, or the Visa/Amex one, which
/// needs the AC key and the current PIN opened first.
enum Plan<'a> {
    Ready(PinChangeMethod<'static>),
    VisaAmex(VisaAmex<'a>),
}

/// The card of the request's `DerivationMethodAttributes` (every variant names it alike).
fn card_of(attributes: &DerivationMethodAttributes) -> Card<'_> {
    use DerivationMethodAttributes as D;
    macro_rules! card_of {
        ($a:expr) => {
            card(
                $a.major_key_derivation_mode,
                &$a.primary_account_number,
                &$a.pan_sequence_number,
            )
        };
    }
    match attributes {
        D::EmvCommon(a) => card_of!(a),
        D::Mastercard(a) => card_of!(a),
        D::Emv2000(a) => card_of!(a),
        D::Visa(a) => card_of!(a),
        D::Amex(a) => card_of!(a),
    }
}

/// The plan of the request's `DerivationMethodAttributes`.
fn plan(attributes: &DerivationMethodAttributes) -> Result<Plan<'_>, ApiError> {
    use DerivationMethodAttributes as D;
    const ARQC: &str = "ApplicationCryptogram";
    let visa_amex = |amex, atc, ac_key_identifier, current_pin| {
        Plan::VisaAmex(VisaAmex {
            amex,
            atc,
            ac_key_identifier,
            current_pin,
        })
    };
    Ok(match attributes {
        D::EmvCommon(a) => Plan::Ready(PinChangeMethod::EmvCommon {
            arqc: fixed(&a.application_cryptogram, ARQC)?,
            mode: match a.mode {
                EmvEncryptionMode::Ecb => EmvMode::Ecb,
                EmvEncryptionMode::Cbc => EmvMode::Cbc { iv: [0; 8] },
            },
            length_position: match a.pin_block_length_position {
                WireLengthPosition::None => PinBlockLengthPosition::None,
                WireLengthPosition::FrontOfPinBlock => PinBlockLengthPosition::FrontOfPinBlock,
            },
            padding: match a.pin_block_padding_type {
                PinBlockPaddingType::NoPadding => PinBlockPadding::None,
                PinBlockPaddingType::IsoIec78164 => PinBlockPadding::Iso7816_4,
            },
        }),
        D::Mastercard(a) => Plan::Ready(PinChangeMethod::Mastercard {
            arqc: fixed(&a.application_cryptogram, ARQC)?,
        }),
        D::Emv2000(a) => Plan::Ready(PinChangeMethod::Emv2000 {
            atc: fixed(
                &a.application_transaction_counter,
                "ApplicationTransactionCounter",
            )?,
        }),
        D::Visa(a) => visa_amex(
            false,
            &a.application_transaction_counter,
            &a.authorization_request_key_identifier,
            a.current_pin_attributes.as_ref(),
        ),
        D::Amex(a) => visa_amex(
            true,
            &a.application_transaction_counter,
            &a.authorization_request_key_identifier,
            a.current_pin_attributes.as_ref(),
        ),
    })
}

/// The PIN of `block` (hex, member `member`), a `format` block encrypted under `pek`, bound to
/// `pan` for formats 0 and 3.
fn open_pin(
    pek: &UsableKey,
    block: &str,
    member: &str,
    format: PinBlockFormatForEmvPinChange,
    pan: &str,
) -> Result<Pin, ApiError> {
    let encrypted: [u8; 8] = fixed(block, member)?;
    let clear = Zeroizing::new(
        cipher::decrypt(
            BlockCipherKind::Tdes,
            CipherMode::Ecb,
            pek.material.expose(),
            None,
            &encrypted,
        )
        .map_err(refused)?,
    );
    match format {
        PinBlockFormatForEmvPinChange::IsoFormat0 => pinblock::decode_iso0(&clear, pan),
        PinBlockFormatForEmvPinChange::IsoFormat1 => pinblock::decode_iso1(&clear),
        PinBlockFormatForEmvPinChange::IsoFormat3 => pinblock::decode_iso3(&clear, pan),
    }
    .map_err(|e| {
        ApiError::validation(format!(
            "{member} is not an {} PIN block under its PIN encryption key: {e}.",
            format.as_str()
        ))
    })
}

impl Service {
    pub(crate) async fn generate_mac_emv_pin_change(
        &self,
        ctx: &Context,
        input: GenerateMacEmvPinChangeInput,
    ) -> Result<GenerateMacEmvPinChangeOutput, ApiError> {
        let message = unhex("MessageData", &input.message_data)?;
        let card = card_of(&input.derivation_method_attributes);
        let plan = plan(&input.derivation_method_attributes)?;
        let format = input.pin_block_format;
        let pek = self
            .usable_key(ctx, &input.new_pin_pek_identifier, &PEK)
            .await?;
        let smi = self
            .usable_key(
                ctx,
                &input.secure_messaging_integrity_key_identifier,
                &IMK_SMI,
            )
            .await?;
        let smc = self
            .usable_key(
                ctx,
                &input.secure_messaging_confidentiality_key_identifier,
                &IMK_SMC,
            )
            .await?;
        let new_pin = open_pin(
            &pek,
            &input.new_encrypted_pin_block,
            "NewEncryptedPinBlock",
            format,
            card.pan,
        )?;
        let script = |method: &PinChangeMethod<'_>| -> Result<PinChangeScript, ApiError> {
            secure_messaging::generate_pin_change(
                smi.material.expose(),
                smc.material.expose(),
                &card,
                new_pin.expose(),
                &message,
                method,
            )
            .map_err(refused)
        };
        let (script, visa_amex_derivation_outputs) = match plan {
            Plan::Ready(method) => (script(&method)?, None),
            Plan::VisaAmex(v) => {
                let atc = fixed(v.atc, "ApplicationTransactionCounter")?;
                let ac = self.usable_key(ctx, v.ac_key_identifier, &IMK_AC).await?;
                let current = match v.current_pin {
                    Some(c) => {
                        let current_pek = self
                            .usable_key(ctx, &c.current_pin_pek_identifier, &PEK)
                            .await?;
                        let pin = open_pin(
                            &current_pek,
                            &c.current_encrypted_pin_block,
                            "CurrentEncryptedPinBlock",
                            format,
                            card.pan,
                        )?;
                        Some((current_pek, pin))
                    }
                    None => None,
                };
                let imk_ac = ac.material.expose();
                let current_pin = current.as_ref().map(|(_, pin)| pin.expose());
                let method = if v.amex {
                    PinChangeMethod::Amex {
                        atc,
                        imk_ac,
                        current_pin,
                    }
                } else {
                    PinChangeMethod::Visa {
                        atc,
                        imk_ac,
                        current_pin,
                    }
                };
                let script = script(&method)?;
                let (current_pin_pek_arn, current_pin_pek_key_check_value) = match current {
                    Some((pek, _)) => (Some(pek.arn), Some(pek.check_value)),
                    None => (None, None),
                };
                let outputs = VisaAmexDerivationOutputs {
                    authorization_request_key_arn: ac.arn,
                    authorization_request_key_check_value: ac.check_value,
                    current_pin_pek_arn,
                    current_pin_pek_key_check_value,
                };
                (script, Some(outputs))
            }
        };
        Ok(GenerateMacEmvPinChangeOutput {
            new_pin_pek_arn: pek.arn,
            secure_messaging_integrity_key_arn: smi.arn,
            secure_messaging_confidentiality_key_arn: smc.arn,
            mac: upper_hex(script.mac),
            encrypted_pin_block: upper_hex(&script.encrypted_pin_block),
            new_pin_pek_key_check_value: pek.check_value,
            secure_messaging_integrity_key_check_value: smi.check_value,
            secure_messaging_confidentiality_key_check_value: smc.check_value,
            visa_amex_derivation_outputs,
        })
    }
}
