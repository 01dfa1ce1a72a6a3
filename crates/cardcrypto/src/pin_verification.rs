//! PIN verification values: the Visa PVV and the IBM 3624 PIN / PIN offset method, each
//! under a TDES PIN verification key (16 or 24 bytes; AWS key usage V2 for the PVV, V1 for
//! IBM 3624). Verification recomputes the value and compares in constant time; the service
//! turns `false` into VerificationFailedException with Reason INVALID_PIN.
//!
//! Visa PVV: the transformed security parameter is the 11 rightmost PAN digits excluding
//! the check digit, the PVKI (one digit) and the 4 leftmost PIN digits; it is TDES-encrypted
//! and decimalized (decimal nibbles left to right, then A..F less ten) to 4 digits.
//!
//! IBM 3624: the PIN validation data (hexadecimal digits, up to 16) is right-padded with the
//! pad character to 16 nibbles and TDES-encrypted; each nibble of the result is replaced by
//! the decimalization table's digit at that index, and the leftmost PIN-length digits are the
//! natural PIN. The offset is the digit-wise difference PIN - natural PIN (mod 10); its length
//! is the PIN's.

use paycrypt_keyblock::rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::block::tdes_encrypt;
use crate::digits::{check_decimal, decimalize, digit_values, hex_nibbles, pack_into, unpack};
use crate::error::Error;
use crate::pinblock::{MAX_PIN_LENGTH, MIN_PIN_LENGTH, Pin};

/// Visa PVV (4 digits) of `pin` for `pan` (12..=19 digits) under the PVK `pvk`, with the
/// PIN verification key index `pvki` (0..=9; AWS allows 0..=6). PINs longer than four
/// digits contribute their four leftmost digits.
pub fn visa_pvv(pvk: &[u8], pvki: u8, pin: &Pin, pan: &str) -> Result<Zeroizing<String>, Error> {
    check_decimal(pan, "PAN", 12, 19)?;
    if pvki > 9 {
        return Err(Error::InvalidInput("PVKI must be 0 to 9".into()));
    }
    let body = &pan[pan.len() - 12..pan.len() - 1];
    let tsp = digit_values(body)
        .chain(std::iter::once(pvki))
        .chain(digit_values(&pin.expose()[..4]));
    let mut block = Zeroizing::new([0u8; 8]);
    pack_into(tsp, &mut *block);
    tdes_encrypt(pvk, &mut block)?;
    Ok(decimalize(&*block, 4))
}

/// Whether `pvv` (4 digits) is the Visa PVV of `pin`; see [`visa_pvv`].
pub fn verify_visa_pvv(
    pvk: &[u8],
    pvki: u8,
    pin: &Pin,
    pan: &str,
    pvv: &str,
) -> Result<bool, Error> {
    check_decimal(pvv, "PVV", 4, 4)?;
    let expected = visa_pvv(pvk, pvki, pin, pan)?;
    Ok(expected.as_bytes().ct_eq(pvv.as_bytes()).into())
}

/// The inputs of the IBM 3624 method besides the key, as the model's `Ibm3624*` shapes
/// name them.
#[derive(Clone, Copy)]
pub struct Ibm3624Params<'a> {
    /// `DecimalizationTable`: 16 decimal digits, the digit for each nibble value 0..F.
    pub decimalization_table: &'a str,
    /// `PinValidationData`: 1..=16 hexadecimal digits (AWS: 4..=16 decimal digits).
    pub validation_data: &'a str,
    /// `PinValidationDataPadCharacter`: one hexadecimal digit.
    pub pad_character: char,
}

impl std::fmt::Debug for Ibm3624Params<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ibm3624Params(<redacted>)")
    }
}

/// The 16 decimalized digit values of the encrypted, padded validation data.
fn intermediate(pvk: &[u8], p: &Ibm3624Params<'_>) -> Result<Zeroizing<Vec<u8>>, Error> {
    check_decimal(p.decimalization_table, "decimalization table", 16, 16)?;
    let data = hex_nibbles(p.validation_data, "PIN validation data", 1, 16)?;
    let pad =
        p.pad_character.to_digit(16).ok_or_else(|| {
            Error::InvalidInput("pad character must be one hexadecimal digit".into())
        })? as u8;
    let mut block = Zeroizing::new([0u8; 8]);
    pack_into(
        data.iter().copied().chain(std::iter::repeat(pad)),
        &mut *block,
    );
    tdes_encrypt(pvk, &mut block)?;
    let table: Zeroizing<Vec<u8>> = Zeroizing::new(digit_values(p.decimalization_table).collect());
    Ok(Zeroizing::new(
        unpack(&*block)
            .iter()
            .map(|&n| table[usize::from(n)])
            .collect(),
    ))
}

fn check_length(length: usize, what: &str) -> Result<(), Error> {
    if !(MIN_PIN_LENGTH..=MAX_PIN_LENGTH).contains(&length) {
        return Err(Error::InvalidInput(format!(
            "{what} must be {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits"
        )));
    }
    Ok(())
}

fn to_ascii(values: impl Iterator<Item = u8>) -> Zeroizing<String> {
    Zeroizing::new(values.map(|v| char::from(b'0' + v)).collect())
}

/// The IBM 3624 natural PIN of `length` (4..=12) digits under the PVK `pvk`.
pub fn ibm3624_natural_pin(
    pvk: &[u8],
    params: &Ibm3624Params<'_>,
    length: usize,
) -> Result<Pin, Error> {
    check_length(length, "PIN length")?;
    let natural = intermediate(pvk, params)?;
    Pin::new(&to_ascii(natural.iter().take(length).copied()))
}

/// The IBM 3624 offset (as many digits as the PIN) that turns the natural PIN into `pin`.
pub fn ibm3624_offset(
    pvk: &[u8],
    params: &Ibm3624Params<'_>,
    pin: &Pin,
) -> Result<Zeroizing<String>, Error> {
    let natural = intermediate(pvk, params)?;
    Ok(to_ascii(
        digit_values(pin.expose())
            .zip(natural.iter())
            .map(|(p, n)| (p + 10 - n) % 10),
    ))
}

/// The PIN that `offset` (4..=12 digits; the PIN has as many) gives from the natural PIN.
pub fn ibm3624_pin_from_offset(
    pvk: &[u8],
    params: &Ibm3624Params<'_>,
    offset: &str,
) -> Result<Pin, Error> {
    check_decimal(offset, "PIN offset", MIN_PIN_LENGTH, MAX_PIN_LENGTH)?;
    let natural = intermediate(pvk, params)?;
    let digits = to_ascii(
        digit_values(offset)
            .zip(natural.iter())
            .map(|(o, n)| (o + n) % 10),
    );
    Pin::new(&digits)
}

/// A random PIN of `length` digits and its IBM 3624 offset (Ibm3624RandomPin).
pub fn ibm3624_random_pin(
    pvk: &[u8],
    params: &Ibm3624Params<'_>,
    length: usize,
    rng: &mut impl CryptoRng,
) -> Result<(Pin, Zeroizing<String>), Error> {
    let pin = Pin::random(length, rng)?;
    let offset = ibm3624_offset(pvk, params, &pin)?;
    Ok((pin, offset))
}

/// Whether `pin` matches `offset` under the IBM 3624 method: the PIN must have as many
/// digits as the offset and equal the natural PIN plus the offset.
pub fn verify_ibm3624(
    pvk: &[u8],
    params: &Ibm3624Params<'_>,
    pin: &Pin,
    offset: &str,
) -> Result<bool, Error> {
    check_decimal(offset, "PIN offset", MIN_PIN_LENGTH, MAX_PIN_LENGTH)?;
    let expected = ibm3624_offset(pvk, params, pin)?;
    Ok(expected.as_bytes().ct_eq(offset.as_bytes()).into())
}
