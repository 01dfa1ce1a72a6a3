//! GeneratePinData, VerifyPinData and TranslatePinData.
//!
//! PIN blocks are ISO 9564-1 formats 0, 1, 3 and 4. Formats 0, 1 and 3 are 8-byte blocks
//! encrypted with TDES ECB; format 4 is a 16-byte block enciphered under AES. The key that
//! encrypts a block is one of:
//! - a PIN encryption key held here (TR31_P0, TDES or AES; mode Encrypt to write a block,
//!   Decrypt to read one);
//! - the DUKPT PIN working key of a BDK (TR31_B0, DeriveKey) for the KSN: a TDES working key
//!   takes formats 0, 1 and 3, an AES one format 4;
//! - a dynamic key: a TR-31 P0 block wrapped under a key encryption key held here.
//!
//! PIN verification keys: Visa PVV under TR31_V2, IBM 3624 under TR31_V1 (TDES; Generate to
//! generate, Verify to verify). Generated PINs are `PinDataLength` digits (default 4); the Visa
//! PVV takes a PIN's four leftmost digits. The GeneratePinData variants that read a PIN block
//! (`VisaPinVerificationValue`, `Ibm3624PinOffset`) need Decrypt on the encryption key and answer
//! the block as given; the others need Encrypt and answer the new PIN's block. The natural PIN's
//! offset is all zeros. GeneratePinData and VerifyPinData bind format 4 to the PAN as given.
//!
//! A PIN block that does not decode under the key (wrong control field, length, digits or
//! fill) is, in VerifyPinData, a wrong PIN: VerificationFailedException INVALID_PIN, as is a
//! PIN that does not match; in TranslatePinData it is a ValidationException. TranslatePinData
//! binds format 4 to the "legacy PAN" (the 12 rightmost digits without the check digit) and
//! refuses to translate a PAN-bearing format (0, 3, 4, AS 2805 format 0) to format 1;
//! `As2805Format0` is the ISO format 0 layout (cardcrypto's `pinblock` says why).
//!
//! `IncomingAs2805Attributes` (AS 2805 PEK derivation): the incoming block is under the session
//! PIN key KPE that cardcrypto's `as2805` derives from the incoming TDES PIN key (a P0 key held
//! here or a dynamic one: the KPP) and the transaction's STAN and amount; it is refused with a
//! DUKPT incoming key and with ISO format 4 (KPE is a TDES key).
//!
//! The clear PIN is a cardcrypto `Pin`: it never leaves the operation, never prints, and is
//! wiped when dropped.

use paycrypt_api::data::{
    As2805PekDerivationAttributes, DukptDerivationType, GeneratePinDataInput,
    GeneratePinDataOutput, PinBlockFormatForPinData, PinData, PinGenerationAttributes,
    PinVerificationAttributes, TranslatePinDataInput, TranslatePinDataOutput,
    TranslationIsoFormats, VerificationFailedReason, VerifyPinDataInput, VerifyPinDataOutput,
    WrappedKey,
};
use paycrypt_api::{ApiError, KeyAlgorithm, KeyUsage};
use paycrypt_cardcrypto::as2805;
use paycrypt_cardcrypto::cipher::{self, Mode as CipherMode};
use paycrypt_cardcrypto::dukpt::DukptPurpose;
use paycrypt_cardcrypto::pin_verification::{self, Ibm3624Params};
use paycrypt_cardcrypto::pinblock::{self, Pin};
use paycrypt_cardcrypto::{BlockCipherKind, Error as CryptoError};
use paycrypt_keyblock::SystemRng;
use zeroize::Zeroizing;

use super::encryption::{BDK, cipher_kind, dukpt_working_usable};
use super::keys::{Mode, Requirement, TDES, UsableKey};
use super::{refused, unhex, upper_hex};
use crate::keys::ReadAhead;
use crate::{Context, Service};

const PEK_ALGORITHMS: &[KeyAlgorithm] = &[
    KeyAlgorithm::Tdes2Key,
    KeyAlgorithm::Tdes3Key,
    KeyAlgorithm::Aes128,
    KeyAlgorithm::Aes192,
    KeyAlgorithm::Aes256,
];

/// The PIN length generated when `PinDataLength` is not given.
const DEFAULT_PIN_LENGTH: usize = 4;

/// A PIN block format and the PAN it binds.
enum Format {
    Iso0(String),
    Iso1,
    Iso3(String),
    Iso4(String),
}

impl Format {
    fn name(&self) -> &'static str {
        match self {
            Self::Iso0(_) => "ISO format 0",
            Self::Iso1 => "ISO format 1",
            Self::Iso3(_) => "ISO format 3",
            Self::Iso4(_) => "ISO format 4",
        }
    }

    /// The format of GeneratePinData and VerifyPinData, bound to the request's PAN.
    fn for_pin_data(format: PinBlockFormatForPinData, pan: Option<&str>) -> Result<Self, ApiError> {
        let pan = || {
            pan.map(str::to_owned).ok_or_else(|| {
                ApiError::validation(format!(
                    "PrimaryAccountNumber is required for PinBlockFormat {}.",
                    format.as_str()
                ))
            })
        };
        Ok(match format {
            PinBlockFormatForPinData::IsoFormat0 => Self::Iso0(pan()?),
            PinBlockFormatForPinData::IsoFormat1 => Self::Iso1,
            PinBlockFormatForPinData::IsoFormat3 => Self::Iso3(pan()?),
            PinBlockFormatForPinData::IsoFormat4 => Self::Iso4(pan()?),
        })
    }

    /// The format of a TranslatePinData side: format 4 binds the legacy PAN.
    fn for_translation(attributes: &TranslationIsoFormats) -> Result<Self, ApiError> {
        Ok(match attributes {
            TranslationIsoFormats::IsoFormat0(f) => Self::Iso0(f.primary_account_number.clone()),
            TranslationIsoFormats::As2805Format0(f) => Self::Iso0(f.primary_account_number.clone()),
            TranslationIsoFormats::IsoFormat1(_) => Self::Iso1,
            TranslationIsoFormats::IsoFormat3(f) => Self::Iso3(f.primary_account_number.clone()),
            TranslationIsoFormats::IsoFormat4(f) => {
                Self::Iso4(pinblock::legacy_pan(&f.primary_account_number).map_err(refused)?)
            }
        })
    }

    /// Refuses a key whose cipher does not carry this format.
    fn check_key(&self, key: &UsableKey) -> Result<BlockCipherKind, ApiError> {
        let kind = cipher_kind(key.algorithm)?;
        match (self, kind) {
            (Self::Iso4(_), BlockCipherKind::Aes) => Ok(kind),
            (Self::Iso4(_), BlockCipherKind::Tdes) => Err(ApiError::validation(
                "ISO format 4 PIN blocks need an AES PIN encryption key; this key is TDES.",
            )),
            (_, BlockCipherKind::Tdes) => Ok(kind),
            (_, BlockCipherKind::Aes) => Err(ApiError::validation(format!(
                "{} PIN blocks need a TDES PIN encryption key; an AES key takes ISO format 4.",
                self.name()
            ))),
        }
    }

    /// `pin` in this format, encrypted under `key`.
    fn encrypt(&self, key: &UsableKey, pin: &Pin) -> Result<Vec<u8>, ApiError> {
        let kind = self.check_key(key)?;
        let k = key.material.expose();
        let mut rng = SystemRng;
        let clear = match self {
            Self::Iso4(pan) => {
                return Ok(pinblock::encipher_iso4(k, pin, pan, &mut rng)
                    .map_err(refused)?
                    .to_vec());
            }
            Self::Iso0(pan) => pinblock::encode_iso0(pin, pan),
            Self::Iso1 => Ok(pinblock::encode_iso1(pin, &mut rng)),
            Self::Iso3(pan) => pinblock::encode_iso3(pin, pan, &mut rng),
        }
        .map_err(refused)?;
        cipher::encrypt(kind, CipherMode::Ecb, k, None, &clear[..]).map_err(refused)
    }

    /// The PIN of `block` decrypted under `key`, or `None` when the block does not decode.
    fn decrypt(&self, key: &UsableKey, block: &[u8]) -> Result<Option<Pin>, ApiError> {
        let kind = self.check_key(key)?;
        let expected = match kind {
            BlockCipherKind::Tdes => 8,
            BlockCipherKind::Aes => 16,
        };
        if block.len() != expected {
            return Err(ApiError::validation(format!(
                "An encrypted {} PIN block is {expected} bytes ({} hex characters), not {} bytes.",
                self.name(),
                2 * expected,
                block.len()
            )));
        }
        let k = key.material.expose();
        let decoded = match self {
            Self::Iso4(pan) => pinblock::decipher_iso4(k, block, pan),
            _ => {
                let clear = Zeroizing::new(
                    cipher::decrypt(kind, CipherMode::Ecb, k, None, block).map_err(refused)?,
                );
                match self {
                    Self::Iso0(pan) => pinblock::decode_iso0(&clear, pan),
                    Self::Iso3(pan) => pinblock::decode_iso3(&clear, pan),
                    _ => pinblock::decode_iso1(&clear),
                }
            }
        };
        match decoded {
            Ok(pin) => Ok(Some(pin)),
            Err(CryptoError::InvalidPinBlock(_)) => Ok(None),
            Err(e) => Err(refused(e)),
        }
    }
}

/// Where the key of a PIN block comes from.
struct PinKeySource<'a> {
    identifier: &'a str,
    wrapped: Option<&'a WrappedKey>,
    /// The KSN and working key type of a DUKPT BDK.
    dukpt: Option<(&'a str, Option<DukptDerivationType>)>,
    mode: Mode,
}

impl<'a> PinKeySource<'a> {
    /// The identifier of the key held here, and the key it arrives under when it is wrapped.
    fn key(&self) -> (&'a str, Option<&'a WrappedKey>) {
        (self.identifier, self.wrapped)
    }
}

/// The PIN verification key requirement of a Visa or IBM 3624 operation.
fn pvk(visa: bool, mode: Mode) -> Requirement {
    Requirement {
        purpose: if visa {
            "the Visa PIN verification value"
        } else {
            "the IBM 3624 PIN method"
        },
        usages: if visa {
            &[KeyUsage::Tr31V2VisaPinVerificationKey]
        } else {
            &[KeyUsage::Tr31V1Ibm3624PinVerificationKey]
        },
        mode,
        algorithms: Some(TDES),
    }
}

/// The Visa PIN verification key index (the model allows 0 to 6).
fn pvki(index: i32) -> Result<u8, ApiError> {
    u8::try_from(index).ok().filter(|i| *i <= 6).ok_or_else(|| {
        ApiError::validation(format!(
            "PinVerificationKeyIndex must be 0 to 6, not {index}."
        ))
    })
}

/// The PIN length a request asks for (`PinDataLength`), 4 by default.
fn pin_length(requested: Option<i32>) -> Result<usize, ApiError> {
    let Some(n) = requested else {
        return Ok(DEFAULT_PIN_LENGTH);
    };
    usize::try_from(n)
        .ok()
        .filter(|n| (pinblock::MIN_PIN_LENGTH..=pinblock::MAX_PIN_LENGTH).contains(n))
        .ok_or_else(|| ApiError::validation(format!("PinDataLength must be 4 to 12, not {n}.")))
}

/// The IBM 3624 inputs of a request's `Ibm3624*` shape `$v` (the shapes share these members).
macro_rules! ibm3624 {
    ($v:expr) => {
        ibm3624(
            &$v.decimalization_table,
            &$v.pin_validation_data,
            &$v.pin_validation_data_pad_character,
        )?
    };
}

/// The IBM 3624 inputs from their members.
fn ibm3624<'a>(
    decimalization_table: &'a str,
    validation_data: &'a str,
    pad: &str,
) -> Result<Ibm3624Params<'a>, ApiError> {
    let mut chars = pad.chars();
    let pad_character = match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_hexdigit() => c,
        _ => {
            return Err(ApiError::validation(
                "PinValidationDataPadCharacter must be one hexadecimal character.",
            ));
        }
    };
    Ok(Ibm3624Params {
        decimalization_table,
        validation_data,
        pad_character,
    })
}

/// The PAN the Visa PVV needs, whatever the PIN block format.
fn pan_for_visa(pan: Option<&str>) -> Result<&str, ApiError> {
    pan.ok_or_else(|| ApiError::validation("PrimaryAccountNumber is required for the Visa PVV."))
}

/// The answer to a wrong PIN, or a block that does not decode, in VerifyPinData.
fn wrong_pin() -> ApiError {
    ApiError::verification_failed(
        VerificationFailedReason::InvalidPin,
        "PIN verification failed.",
    )
}

/// The AS 2805 session PIN key (KPE) of the transaction `attributes` names, derived from `kpp`,
/// as a key of its own that echoes the KPP's ARN and check value.
fn as2805_session_key(
    kpp: UsableKey,
    attributes: &As2805PekDerivationAttributes,
) -> Result<UsableKey, ApiError> {
    if cipher_kind(kpp.algorithm)? != BlockCipherKind::Tdes {
        return Err(ApiError::validation(format!(
            "IncomingAs2805Attributes derive the session PIN key from a TDES PIN encryption key; \
             the incoming key is {}.",
            kpp.algorithm.as_str()
        )));
    }
    let kpe = as2805::session_pin_key(
        kpp.material.expose(),
        &attributes.system_trace_audit_number,
        &attributes.transaction_amount,
    )
    .map_err(refused)?;
    Ok(UsableKey {
        algorithm: KeyAlgorithm::Tdes2Key,
        material: kpe,
        arn: kpp.arn,
        check_value: kpp.check_value,
    })
}

/// Refuses `IncomingAs2805Attributes` beside a DUKPT incoming key or an ISO format 4 block.
fn check_as2805_incoming(input: &TranslatePinDataInput, incoming: &Format) -> Result<(), ApiError> {
    if input.incoming_as2805_attributes.is_none() {
        return Ok(());
    }
    if input.incoming_dukpt_attributes.is_some() {
        return Err(ApiError::validation(
            "IncomingAs2805Attributes derive the session PIN key from a PIN encryption key; \
             they cannot be used with IncomingDukptAttributes.",
        ));
    }
    if matches!(incoming, Format::Iso4(_)) {
        return Err(ApiError::validation(
            "IncomingAs2805Attributes derive a TDES session PIN key, which does not carry ISO \
             format 4 PIN blocks.",
        ));
    }
    Ok(())
}

impl Service {
    /// The key that encrypts or decrypts PIN blocks as `source` says.
    async fn pin_key(
        &self,
        ctx: &Context,
        source: PinKeySource<'_>,
        ahead: &mut ReadAhead,
    ) -> Result<UsableKey, ApiError> {
        match (source.wrapped, source.dukpt) {
            (Some(_), Some(_)) => Err(ApiError::validation(
                "A PIN block is under either a wrapped key or a DUKPT key, not both.",
            )),
            (Some(wrapped), None) => {
                self.dynamic_key(ctx, source.identifier, wrapped, &["P0"], source.mode)
                    .await
            }
            (None, Some((ksn, key_type))) => {
                let bdk = self
                    .usable_key_from(ctx, source.identifier, &BDK, ahead)
                    .await?;
                dukpt_working_usable(bdk, ksn, key_type, DukptPurpose::Pin, None)
            }
            (None, None) => {
                let need = Requirement {
                    purpose: "PIN encryption",
                    usages: &[KeyUsage::Tr31P0PinEncryptionKey],
                    mode: source.mode,
                    algorithms: Some(PEK_ALGORITHMS),
                };
                self.usable_key_from(ctx, source.identifier, &need, ahead)
                    .await
            }
        }
    }

    /// The two keys of a PIN operation read ahead in one store round, unless one of them is a
    /// key encryption key under which the request brings its key wrapped (that is read where
    /// the wrapped key is opened).
    async fn pin_keys_ahead(
        &self,
        ctx: &Context,
        [(first, first_wrapped), (second, second_wrapped)]: [(&str, Option<&WrappedKey>); 2],
    ) -> Result<ReadAhead, ApiError> {
        if first_wrapped.is_some() || second_wrapped.is_some() {
            return Ok(ReadAhead::default());
        }
        self.read_ahead(ctx, first, second).await
    }

    /// The PIN verification key `identifier` names, checked against `need`, and the key of the
    /// request's PIN block.
    async fn pin_keys(
        &self,
        ctx: &Context,
        identifier: &str,
        need: Requirement,
        source: PinKeySource<'_>,
    ) -> Result<(UsableKey, UsableKey), ApiError> {
        let mut ahead = self
            .pin_keys_ahead(ctx, [(identifier, None), source.key()])
            .await?;
        let verification_key = self
            .usable_key_from(ctx, identifier, &need, &mut ahead)
            .await?;
        Ok((
            verification_key,
            self.pin_key(ctx, source, &mut ahead).await?,
        ))
    }

    pub(crate) async fn generate_pin_data(
        &self,
        ctx: &Context,
        input: GeneratePinDataInput,
    ) -> Result<GeneratePinDataOutput, ApiError> {
        let format = Format::for_pin_data(
            input.pin_block_format,
            input.primary_account_number.as_deref(),
        )?;
        let pan = input.primary_account_number.as_deref();
        let length = pin_length(input.pin_data_length)?;
        let attributes = &input.generation_attributes;
        // The variants that read a PIN block decrypt it; the others write one.
        let presented = match attributes {
            PinGenerationAttributes::VisaPinVerificationValue(v) => Some(&v.encrypted_pin_block),
            PinGenerationAttributes::Ibm3624PinOffset(v) => Some(&v.encrypted_pin_block),
            _ => None,
        };
        let visa = matches!(
            attributes,
            PinGenerationAttributes::VisaPin(_)
                | PinGenerationAttributes::VisaPinVerificationValue(_)
        );
        let (generation_key, encryption_key) = self
            .pin_keys(
                ctx,
                &input.generation_key_identifier,
                pvk(visa, Mode::Generate),
                PinKeySource {
                    identifier: &input.encryption_key_identifier,
                    wrapped: input.encryption_wrapped_key.as_ref(),
                    dukpt: None,
                    mode: if presented.is_some() {
                        Mode::Decrypt
                    } else {
                        Mode::Encrypt
                    },
                },
            )
            .await?;
        let pvk_bytes = generation_key.material.expose();
        let mut rng = SystemRng;
        // The PIN, and the block to answer when the request brought one.
        let read = |block: &String| -> Result<Pin, ApiError> {
            let bytes = unhex("EncryptedPinBlock", block)?;
            format.decrypt(&encryption_key, &bytes)?.ok_or_else(|| {
                ApiError::validation(format!(
                    "EncryptedPinBlock does not decode as an {} PIN block under the encryption key.",
                    format.name()
                ))
            })
        };
        let visa_pvv = |pin: &Pin, index: i32| -> Result<PinData, ApiError> {
            let pvv = pin_verification::visa_pvv(pvk_bytes, pvki(index)?, pin, pan_for_visa(pan)?)
                .map_err(refused)?;
            Ok(PinData::VerificationValue(pvv.to_string()))
        };
        let (pin, pin_data) = match attributes {
            PinGenerationAttributes::VisaPin(v) => {
                let pin = Pin::random(length, &mut rng).map_err(refused)?;
                let pvv = visa_pvv(&pin, v.pin_verification_key_index)?;
                (pin, pvv)
            }
            PinGenerationAttributes::VisaPinVerificationValue(v) => {
                let pin = read(&v.encrypted_pin_block)?;
                let pvv = visa_pvv(&pin, v.pin_verification_key_index)?;
                (pin, pvv)
            }
            PinGenerationAttributes::Ibm3624PinOffset(v) => {
                let pin = read(&v.encrypted_pin_block)?;
                let params = ibm3624!(v);
                let offset =
                    pin_verification::ibm3624_offset(pvk_bytes, &params, &pin).map_err(refused)?;
                (pin, PinData::PinOffset(offset.to_string()))
            }
            PinGenerationAttributes::Ibm3624NaturalPin(v) => {
                let params = ibm3624!(v);
                let pin = pin_verification::ibm3624_natural_pin(pvk_bytes, &params, length)
                    .map_err(refused)?;
                (pin, PinData::PinOffset("0".repeat(length)))
            }
            PinGenerationAttributes::Ibm3624RandomPin(v) => {
                let params = ibm3624!(v);
                let (pin, offset) =
                    pin_verification::ibm3624_random_pin(pvk_bytes, &params, length, &mut rng)
                        .map_err(refused)?;
                (pin, PinData::PinOffset(offset.to_string()))
            }
            PinGenerationAttributes::Ibm3624PinFromOffset(v) => {
                let params = ibm3624!(v);
                let pin =
                    pin_verification::ibm3624_pin_from_offset(pvk_bytes, &params, &v.pin_offset)
                        .map_err(refused)?;
                (pin, PinData::PinOffset(v.pin_offset.clone()))
            }
        };
        let encrypted_pin_block = match presented {
            Some(block) => block.to_ascii_uppercase(),
            None => upper_hex(format.encrypt(&encryption_key, &pin)?),
        };
        Ok(GeneratePinDataOutput {
            generation_key_arn: generation_key.arn,
            generation_key_check_value: generation_key.check_value,
            encryption_key_arn: encryption_key.arn,
            encryption_key_check_value: encryption_key.check_value,
            encrypted_pin_block,
            pin_data,
        })
    }

    pub(crate) async fn verify_pin_data(
        &self,
        ctx: &Context,
        input: VerifyPinDataInput,
    ) -> Result<VerifyPinDataOutput, ApiError> {
        let format = Format::for_pin_data(
            input.pin_block_format,
            input.primary_account_number.as_deref(),
        )?;
        let visa = matches!(
            input.verification_attributes,
            PinVerificationAttributes::VisaPin(_)
        );
        let (verification_key, encryption_key) = self
            .pin_keys(
                ctx,
                &input.verification_key_identifier,
                pvk(visa, Mode::Verify),
                PinKeySource {
                    identifier: &input.encryption_key_identifier,
                    wrapped: input.encryption_wrapped_key.as_ref(),
                    dukpt: input
                        .dukpt_attributes
                        .as_ref()
                        .map(|d| (d.key_serial_number.as_str(), Some(d.dukpt_derivation_type))),
                    mode: Mode::Decrypt,
                },
            )
            .await?;
        let block = unhex("EncryptedPinBlock", &input.encrypted_pin_block)?;
        let pin = format
            .decrypt(&encryption_key, &block)?
            .ok_or_else(wrong_pin)?;
        if let Some(length) = input.pin_data_length {
            pin_length(Some(length))?;
            if usize::try_from(length).ok() != Some(pin.len()) {
                return Err(wrong_pin());
            }
        }
        let pvk_bytes = verification_key.material.expose();
        let matches = match &input.verification_attributes {
            PinVerificationAttributes::VisaPin(v) => {
                if v.verification_value.len() != 4 {
                    return Err(ApiError::validation(
                        "VerificationValue must be the 4-digit Visa PVV.",
                    ));
                }
                pin_verification::verify_visa_pvv(
                    pvk_bytes,
                    pvki(v.pin_verification_key_index)?,
                    &pin,
                    pan_for_visa(input.primary_account_number.as_deref())?,
                    &v.verification_value,
                )
            }
            PinVerificationAttributes::Ibm3624Pin(v) => {
                let params = ibm3624!(v);
                if v.pin_offset.len() != pin.len() {
                    return Err(wrong_pin());
                }
                pin_verification::verify_ibm3624(pvk_bytes, &params, &pin, &v.pin_offset)
            }
        }
        .map_err(refused)?;
        if !matches {
            return Err(wrong_pin());
        }
        Ok(VerifyPinDataOutput {
            verification_key_arn: verification_key.arn,
            verification_key_check_value: verification_key.check_value,
            encryption_key_arn: encryption_key.arn,
            encryption_key_check_value: encryption_key.check_value,
        })
    }

    pub(crate) async fn translate_pin_data(
        &self,
        ctx: &Context,
        input: TranslatePinDataInput,
    ) -> Result<TranslatePinDataOutput, ApiError> {
        let incoming = Format::for_translation(&input.incoming_translation_attributes)?;
        check_as2805_incoming(&input, &incoming)?;
        let outgoing = Format::for_translation(&input.outgoing_translation_attributes)?;
        if matches!(outgoing, Format::Iso1) && !matches!(incoming, Format::Iso1) {
            return Err(ApiError::validation(format!(
                "A PIN block of {} carries the PAN and cannot be translated to ISO format 1.",
                incoming.name()
            )));
        }
        let dukpt = |attributes: &Option<paycrypt_api::data::DukptDerivationAttributes>| {
            attributes
                .as_ref()
                .map(|d| (d.key_serial_number.clone(), d.dukpt_key_derivation_type))
        };
        let incoming_dukpt = dukpt(&input.incoming_dukpt_attributes);
        let outgoing_dukpt = dukpt(&input.outgoing_dukpt_attributes);
        let incoming_source = PinKeySource {
            identifier: &input.incoming_key_identifier,
            wrapped: input.incoming_wrapped_key.as_ref(),
            dukpt: incoming_dukpt.as_ref().map(|(k, t)| (k.as_str(), *t)),
            mode: Mode::Decrypt,
        };
        let outgoing_source = PinKeySource {
            identifier: &input.outgoing_key_identifier,
            wrapped: input.outgoing_wrapped_key.as_ref(),
            dukpt: outgoing_dukpt.as_ref().map(|(k, t)| (k.as_str(), *t)),
            mode: Mode::Encrypt,
        };
        let mut ahead = self
            .pin_keys_ahead(ctx, [incoming_source.key(), outgoing_source.key()])
            .await?;
        let incoming_key = self.pin_key(ctx, incoming_source, &mut ahead).await?;
        let incoming_key = match &input.incoming_as2805_attributes {
            Some(attributes) => as2805_session_key(incoming_key, attributes)?,
            None => incoming_key,
        };
        let outgoing_key = self.pin_key(ctx, outgoing_source, &mut ahead).await?;
        outgoing.check_key(&outgoing_key)?;
        let block = unhex("EncryptedPinBlock", &input.encrypted_pin_block)?;
        let pin = incoming.decrypt(&incoming_key, &block)?.ok_or_else(|| {
            ApiError::validation(format!(
                "EncryptedPinBlock does not decode as an {} PIN block under the incoming key.",
                incoming.name()
            ))
        })?;
        let out = outgoing.encrypt(&outgoing_key, &pin)?;
        Ok(TranslatePinDataOutput {
            pin_block: upper_hex(out),
            key_arn: outgoing_key.arn,
            key_check_value: outgoing_key.check_value,
        })
    }
}
