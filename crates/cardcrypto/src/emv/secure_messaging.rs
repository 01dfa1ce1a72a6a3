//! EMV secure messaging (EMV 4.3 Book 2 section 9 and annex A1.1/A1.2): the MAC that protects
//! issuer script commands, encryption of data under an EMV session key, and the PIN change
//! script (the new PIN block enciphered under the SMC session key, the command MACed under the
//! SMI session key).
//!
//! Session keys: [`super::keys::derive_sm_session_key`] for the EMV MAC, [`data_session_key`]
//! for EMV data encryption, and [`generate_pin_change`] derives its own.

use zeroize::Zeroizing;

use super::keys::{
    Card, Emv2000Tree, common_session_key, emv2000_session_key, visa_sm_session_key,
};
use super::{BLOCK, Tdes, mac_algorithm3, pad_method2, xor_into};
use crate::Error;

/// The EMV script MAC (section 9.2.3): ISO/IEC 9797-1 padding method 2, then MAC algorithm 3
/// under the SMI session key; 8 bytes (callers keep the leftmost 4 to 8). The PIN change
/// script uses it; see [`emv_mac_unpadded`] for `GenerateMac`.
pub fn emv_mac(session_key: &[u8], message: &[u8]) -> Result<[u8; BLOCK], Error> {
    mac_algorithm3(session_key, &pad_method2(message))
}

/// MAC algorithm 3 under an EMV session key over `message` exactly as given: a non-empty whole
/// number of 8-byte blocks, padded by the caller. This is the `EmvMac` of `GenerateMac` and
/// `VerifyMac`, whose `MessageData` AWS MACs without padding (its ISO 9797 MACs leave padding to
/// the caller; a payShield-to-AWS proxy tested against the live service pads for it).
pub fn emv_mac_unpadded(session_key: &[u8], message: &[u8]) -> Result<[u8; BLOCK], Error> {
    mac_algorithm3(session_key, message)
}

/// The block cipher mode of EMV data encryption (the model's `EmvEncryptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmvMode {
    /// `ECB`.
    Ecb,
    /// `CBC` with the given 8-byte IV (zero when the caller gives none).
    Cbc {
        /// Initialization vector.
        iv: [u8; BLOCK],
    },
}

/// Encrypts `data` (a non-empty whole number of 8-byte blocks: padding is the caller's) under
/// the 16-byte session key with TDES in `mode`.
pub fn encrypt_data(session_key: &[u8], mode: EmvMode, data: &[u8]) -> Result<Vec<u8>, Error> {
    crypt(session_key, mode, data, true)
}

/// Decrypts `data` (a non-empty whole number of 8-byte blocks) under the 16-byte session key
/// with TDES in `mode`.
pub fn decrypt_data(session_key: &[u8], mode: EmvMode, data: &[u8]) -> Result<Vec<u8>, Error> {
    crypt(session_key, mode, data, false)
}

fn crypt(session_key: &[u8], mode: EmvMode, data: &[u8], encrypt: bool) -> Result<Vec<u8>, Error> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return Err(Error::InvalidInput(format!(
            "EMV data must be a non-empty multiple of {BLOCK} bytes, got {} bytes",
            data.len()
        )));
    }
    let tdes = Tdes::new(session_key, "EMV session key")?;
    let mut out = data.to_vec();
    let (blocks, _) = out.as_chunks_mut::<BLOCK>();
    match mode {
        EmvMode::Ecb if encrypt => blocks.iter_mut().for_each(|b| tdes.encrypt(b)),
        EmvMode::Ecb => blocks.iter_mut().for_each(|b| tdes.decrypt(b)),
        EmvMode::Cbc { iv } => {
            let mut chain = iv;
            for block in blocks.iter_mut() {
                if encrypt {
                    xor_into(block, &chain);
                    tdes.encrypt(block);
                    chain = *block;
                } else {
                    let ciphertext = *block;
                    tdes.decrypt(block);
                    xor_into(block, &chain);
                    chain = ciphertext;
                }
            }
        }
    }
    Ok(out)
}

/// Checks a PIN (4 to 12 decimal digits) without ever naming it in the error.
fn check_pin(pin: &str, what: &str) -> Result<(), Error> {
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{what} must be 4 to 12 decimal digits"
        )))
    }
}

/// Writes `control` and the PIN length as the first byte, then the PIN digits, `F`-filled.
fn control_length_pin_block(control: u8, pin: &str) -> Zeroizing<[u8; BLOCK]> {
    let mut block = Zeroizing::new([0xFFu8; BLOCK]);
    // The PIN is 4..=12 digits (checked), so its length fits the low nibble.
    block[0] = (control << 4) | (pin.len() as u8 & 0x0F);
    for (i, d) in pin.bytes().enumerate() {
        let nibble = d - b'0';
        let byte = &mut block[1 + i / 2];
        *byte = if i.is_multiple_of(2) {
            (nibble << 4) | (*byte & 0x0F)
        } else {
            (*byte & 0xF0) | nibble
        };
    }
    block
}

/// The ISO 9564-1 format 2 PIN block: `2`, the PIN length, the PIN, `F` fill (8 bytes).
pub fn iso_format2_pin_block(pin: &str) -> Result<Zeroizing<[u8; BLOCK]>, Error> {
    check_pin(pin, "PIN")?;
    Ok(control_length_pin_block(2, pin))
}

/// The Visa (VIS) PIN change block, used for Visa and Amex: (00000000 ‖ bytes 4..8 of the ICC
/// master key for AC) ⊕ (`0`, length, new PIN, `F` fill) ⊕ (current PIN, `0` fill) when the
/// current PIN is given.
pub fn vis_pin_block(
    icc_mk_ac: &[u8],
    new_pin: &str,
    current_pin: Option<&str>,
) -> Result<Zeroizing<[u8; BLOCK]>, Error> {
    if icc_mk_ac.len() != 2 * BLOCK {
        return Err(Error::InvalidKeyLength {
            what: "ICC master key for AC",
            len: icc_mk_ac.len(),
        });
    }
    check_pin(new_pin, "new PIN")?;
    let mut block = control_length_pin_block(0, new_pin);
    xor_into(&mut block[4..], &icc_mk_ac[4..BLOCK]);
    if let Some(current) = current_pin {
        check_pin(current, "current PIN")?;
        let mut digits = Zeroizing::new([b'0'; 2 * BLOCK]);
        digits[..current.len()].copy_from_slice(current.as_bytes());
        let packed = Zeroizing::new(super::pack_digits(digits.as_slice()));
        xor_into(block.as_mut_slice(), &packed);
    }
    Ok(block)
}

/// Where the PIN block length goes (the model's `PinBlockLengthPosition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinBlockLengthPosition {
    /// `NONE`: the PIN block alone.
    None,
    /// `FRONT_OF_PIN_BLOCK`: one byte holding the block's length (8) before it.
    FrontOfPinBlock,
}

/// The padding before encipherment (the model's `PinBlockPaddingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinBlockPadding {
    /// `NO_PADDING`: the data must already be whole blocks.
    None,
    /// `ISO_IEC_7816_4`: `80` then zeros to the next whole block (always added).
    Iso7816_4,
}

/// How the PIN change variant derives its keys and enciphers the PIN block (the model's
/// `DerivationMethodAttributes`, values decoded to bytes; PINs are the clear digits recovered
/// from the incoming PIN blocks).
#[derive(Debug, Clone, Copy)]
pub enum PinChangeMethod<'a> {
    /// `EmvCommon`: common session keys with R = ARQC; ISO format 2 PIN block; the caller's
    /// mode (CBC with a zero IV), length position and padding.
    EmvCommon {
        /// The application cryptogram.
        arqc: [u8; BLOCK],
        /// ECB or CBC (the IV inside is used as given; the model's default is zero).
        mode: EmvMode,
        /// Whether a length byte precedes the PIN block.
        length_position: PinBlockLengthPosition,
        /// Padding before encipherment.
        padding: PinBlockPadding,
    },
    /// `Mastercard`: common session keys with R = ARQC; ISO format 2 PIN block, TDES-CBC with a
    /// zero IV, no length byte, no padding (M/Chip, pyemv's `MasterCardCVN*`).
    Mastercard {
        /// The application cryptogram.
        arqc: [u8; BLOCK],
    },
    /// `Emv2000`: EMV2000 tree session keys over the ATC; ISO format 2 PIN block, TDES-CBC with
    /// a zero IV after ISO/IEC 7816-4 padding (pyemv's `EncryptionType.EMV`).
    Emv2000 {
        /// Application transaction counter.
        atc: [u8; 2],
    },
    /// `Visa`: Visa XOR session keys over the ATC; the VIS PIN block (with the ICC master key
    /// for AC and the current PIN if given), length byte, ISO/IEC 7816-4 padding, TDES-ECB.
    Visa {
        /// Application transaction counter.
        atc: [u8; 2],
        /// The IMK-AC (`TR31_E0`) the card's AC key derives from.
        imk_ac: &'a [u8],
        /// The card's current PIN, when the script carries it.
        current_pin: Option<&'a str>,
    },
    /// `Amex`: as Visa (no public reference pins the Amex variant down).
    Amex {
        /// Application transaction counter.
        atc: [u8; 2],
        /// The IMK-AC (`TR31_E0`) the card's AC key derives from.
        imk_ac: &'a [u8],
        /// The card's current PIN, when the script carries it.
        current_pin: Option<&'a str>,
    },
}

/// The outputs of a PIN change script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinChangeScript {
    /// The PIN block enciphered under the SMC session key (8 or 16 bytes).
    pub encrypted_pin_block: Vec<u8>,
    /// The 8-byte EMV MAC under the SMI session key over `message_data ‖ encrypted_pin_block`.
    pub mac: [u8; BLOCK],
}

/// Builds the PIN change script for `card`: derives the SMI and SMC session keys from the
/// IMK-SMI (`TR31_E2`) and IMK-SMC (`TR31_E1`), enciphers the new PIN's block under SMC and
/// MACs `message_data` (the APDU header and whatever the scheme puts before the data, e.g.
/// ATC ‖ ARQC) followed by the enciphered block under SMI.
pub fn generate_pin_change(
    imk_smi: &[u8],
    imk_smc: &[u8],
    card: &Card<'_>,
    new_pin: &str,
    message_data: &[u8],
    method: &PinChangeMethod<'_>,
) -> Result<PinChangeScript, Error> {
    let smi_mk = card.master_key(imk_smi)?;
    let smc_mk = card.master_key(imk_smc)?;
    let session = |mk: &[u8]| match method {
        PinChangeMethod::EmvCommon { arqc, .. } | PinChangeMethod::Mastercard { arqc } => {
            common_session_key(mk, arqc)
        }
        PinChangeMethod::Emv2000 { atc } => emv2000_session_key(mk, atc, &Emv2000Tree::default()),
        PinChangeMethod::Visa { atc, .. } | PinChangeMethod::Amex { atc, .. } => {
            visa_sm_session_key(mk, atc)
        }
    };
    let smi = session(smi_mk.expose())?;
    let smc = session(smc_mk.expose())?;
    let zero_iv = EmvMode::Cbc { iv: [0; BLOCK] };
    let (pin_block, mode, length, padding) = match method {
        PinChangeMethod::EmvCommon {
            mode,
            length_position,
            padding,
            ..
        } => (
            iso_format2_pin_block(new_pin)?,
            *mode,
            *length_position,
            *padding,
        ),
        PinChangeMethod::Mastercard { .. } => (
            iso_format2_pin_block(new_pin)?,
            zero_iv,
            PinBlockLengthPosition::None,
            PinBlockPadding::None,
        ),
        PinChangeMethod::Emv2000 { .. } => (
            iso_format2_pin_block(new_pin)?,
            zero_iv,
            PinBlockLengthPosition::None,
            PinBlockPadding::Iso7816_4,
        ),
        PinChangeMethod::Visa {
            imk_ac,
            current_pin,
            ..
        }
        | PinChangeMethod::Amex {
            imk_ac,
            current_pin,
            ..
        } => {
            let ac_mk = card.master_key(imk_ac)?;
            (
                vis_pin_block(ac_mk.expose(), new_pin, *current_pin)?,
                EmvMode::Ecb,
                PinBlockLengthPosition::FrontOfPinBlock,
                PinBlockPadding::Iso7816_4,
            )
        }
    };
    let mut plain = Zeroizing::new(Vec::with_capacity(BLOCK + 1));
    if length == PinBlockLengthPosition::FrontOfPinBlock {
        plain.push(BLOCK as u8);
    }
    plain.extend_from_slice(pin_block.as_slice());
    let plain = match padding {
        PinBlockPadding::Iso7816_4 => Zeroizing::new(pad_method2(&plain)),
        PinBlockPadding::None => plain,
    };
    if !plain.len().is_multiple_of(BLOCK) {
        return Err(Error::InvalidInput(
            "a PIN block with its length in front needs ISO_IEC_7816_4 padding".into(),
        ));
    }
    let encrypted_pin_block = encrypt_data(smc.expose(), mode, &plain)?;
    let script = [message_data, &encrypted_pin_block].concat();
    let mac = emv_mac(smi.expose(), &script)?;
    Ok(PinChangeScript {
        encrypted_pin_block,
        mac,
    })
}

/// The session key for EMV data encryption (`EncryptData`/`DecryptData` with `Emv`
/// attributes): the common session key of `card`'s ICC master key under the IMK-SMC
/// (`TR31_E1`), with R = the 8-byte `SessionDerivationData` (typically ATC ‖ 00…00, or the
/// ARQC).
pub fn data_session_key(
    imk_smc: &[u8],
    card: &Card<'_>,
    session_derivation_data: &[u8; BLOCK],
) -> Result<paycrypt_keyblock::SecretBytes, Error> {
    common_session_key(card.master_key(imk_smc)?.expose(), session_derivation_data)
}
