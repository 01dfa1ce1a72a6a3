//! ISO 9564-1 PIN blocks: formats 0, 1 and 3 (8-byte clear blocks, encrypted by the caller
//! under a TDES PIN key) and format 4 (16-byte blocks enciphered here under an AES key), and
//! [`Pin`], the clear PIN type that never prints its digits.
//!
//! Layouts (ISO 9564-1:2017; nibbles, left to right):
//! - format 0: PIN field `0 L P..P F..F` XOR PAN field `0000` + the 12 rightmost PAN digits
//!   excluding the check digit (left-padded with zeros when the PAN is shorter);
//! - format 1: `1 L P..P R..R`, R random 0..F, no PAN;
//! - format 3: `3 L P..P R..R` with R random A..F, XOR the format 0 PAN field;
//! - format 4: PIN field `4 L P..P A..A` (16 nibbles) then 16 random nibbles; PAN field
//!   `M` + PAN (M = PAN length - 12, or 0 with the PAN left-padded with zeros to 12 digits),
//!   right-padded with zeros to 32 nibbles; block = E(K, E(K, PIN field) XOR PAN field).
//!
//! L is the PIN length (4..=12). Decoding checks the control field, the length, that every
//! PIN position is a decimal digit and that the fill is of the format's kind, and fails
//! with [`Error::InvalidPinBlock`] naming which check failed (never the digits).
//!
//! AWS specifics the service layer applies:
//! - TranslatePinData's `As2805Format0` is taken as the ISO format 0 layout: AS 2805.3 is not
//!   public, the AWS guide's AS 2805 PIN translation example carries its blocks as
//!   `IsoFormat0`, and no independent vector checks an AS 2805 block;
//! - in TranslatePinData, format 4 binds the "legacy PAN length": pass [`legacy_pan`] of the
//!   PAN to [`encipher_iso4`] / [`decipher_iso4`] there;
//! - a PAN-bearing format (0, 3, 4) is not translated to format 1.

use paycrypt_keyblock::rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::block::aes_block;
use crate::digits::{check_decimal, digit_values, pack_into, pan12, unpack};
use crate::error::Error;

/// Shortest PIN any format carries.
pub const MIN_PIN_LENGTH: usize = 4;
/// Longest PIN any format carries.
pub const MAX_PIN_LENGTH: usize = 12;

/// A clear PIN of 4 to 12 decimal digits. Wiped on drop; `Debug` shows only the length;
/// no `Display`, no `PartialEq` (compare with [`Pin::ct_eq`], in constant time).
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// A PIN from its digits (4..=12 ASCII decimal digits).
    pub fn new(digits: &str) -> Result<Self, Error> {
        check_decimal(digits, "PIN", MIN_PIN_LENGTH, MAX_PIN_LENGTH)?;
        Ok(Self(Zeroizing::new(digits.to_owned())))
    }

    /// A PIN of `length` uniformly random digits (the random PIN of GeneratePinData).
    pub fn random(length: usize, rng: &mut impl CryptoRng) -> Result<Self, Error> {
        check_pin_length(length)?;
        let mut digits = Zeroizing::new(String::with_capacity(length));
        while digits.len() < length {
            let mut b = Zeroizing::new([0u8; 1]);
            rng.fill_bytes(&mut *b);
            // 250 = 25 * 10: reject the top six values so every digit is equally likely.
            if b[0] < 250 {
                digits.push(char::from(b'0' + b[0] % 10));
            }
        }
        Ok(Self(digits))
    }

    /// The ASCII digits. Keep the borrow short.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false (a PIN has at least four digits); present for the `len` convention.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality of two PINs (lengths are compared openly).
    pub fn ct_eq(&self, other: &Pin) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pin(<redacted; {} digits>)", self.0.len())
    }
}

fn check_pin_length(length: usize) -> Result<(), Error> {
    if !(MIN_PIN_LENGTH..=MAX_PIN_LENGTH).contains(&length) {
        return Err(Error::InvalidInput(format!(
            "PIN length must be {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH}"
        )));
    }
    Ok(())
}

fn check_pan(pan: &str) -> Result<(), Error> {
    check_decimal(pan, "PAN", 1, 19)
}

/// The PAN that TranslatePinData binds into format 4 (the "legacy PAN length"): the 12
/// rightmost digits excluding the check digit, left-padded with zeros for short PANs.
pub fn legacy_pan(pan: &str) -> Result<String, Error> {
    check_pan(pan)?;
    Ok(pan12(pan).iter().map(|d| char::from(b'0' + d)).collect())
}

/// The 8-byte PIN field of formats 0, 1 and 3: control, length, PIN, then one `fill()`
/// nibble for each remaining position.
fn pin_field(control: u8, pin: &Pin, mut fill: impl FnMut() -> u8) -> Zeroizing<[u8; 8]> {
    let mut nibbles = Zeroizing::new([0u8; 16]);
    nibbles[0] = control;
    nibbles[1] = pin.len() as u8;
    for (n, d) in nibbles[2..].iter_mut().zip(digit_values(pin.expose())) {
        *n = d;
    }
    for n in nibbles[2 + pin.len()..].iter_mut() {
        *n = fill();
    }
    let mut out = Zeroizing::new([0u8; 8]);
    pack_into(nibbles.iter().copied(), &mut *out);
    out
}

/// The format 0/3 PAN field: `0000` then the 12 rightmost PAN digits excluding the check digit.
fn pan_field(pan: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    pack_into([0, 0, 0, 0].into_iter().chain(pan12(pan)), &mut out);
    out
}

fn xor8(a: &mut [u8; 8], b: &[u8; 8]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x ^= y);
}

/// A random nibble in `lo..=15` (rejection sampling, so every value is equally likely).
fn random_nibble(lo: u8, rng: &mut impl CryptoRng) -> u8 {
    let span = 16 - u16::from(lo);
    let limit = 256 - 256 % span;
    loop {
        let mut b = Zeroizing::new([0u8; 1]);
        rng.fill_bytes(&mut *b);
        if u16::from(b[0]) < limit {
            return lo + (u16::from(b[0]) % span) as u8;
        }
    }
}

/// Format 0 clear block of `pin` bound to `pan` (1..=19 digits).
pub fn encode_iso0(pin: &Pin, pan: &str) -> Result<Zeroizing<[u8; 8]>, Error> {
    check_pan(pan)?;
    let mut block = pin_field(0x0, pin, || 0xF);
    xor8(&mut block, &pan_field(pan));
    Ok(block)
}

/// Format 1 clear block of `pin` with random fill from `rng`.
pub fn encode_iso1(pin: &Pin, rng: &mut impl CryptoRng) -> Zeroizing<[u8; 8]> {
    pin_field(0x1, pin, || random_nibble(0, rng))
}

/// Format 3 clear block of `pin` bound to `pan`, with random fill A..F from `rng`.
pub fn encode_iso3(
    pin: &Pin,
    pan: &str,
    rng: &mut impl CryptoRng,
) -> Result<Zeroizing<[u8; 8]>, Error> {
    check_pan(pan)?;
    let mut block = pin_field(0x3, pin, || random_nibble(0xA, rng));
    xor8(&mut block, &pan_field(pan));
    Ok(block)
}

/// Which fill nibbles a format allows after the PIN.
#[derive(Clone, Copy)]
enum Fill {
    /// Format 0: every fill nibble is F.
    F,
    /// Format 1: any value.
    Any,
    /// Format 3: A..F.
    AtoF,
    /// Format 4: every fill nibble up to the random half is A.
    A,
}

/// Reads control, length and PIN from the 16 nibbles of a clear PIN field and checks the
/// first `fill_end` nibbles' fill.
fn read_pin_field(nibbles: &[u8], control: u8, fill: Fill, fill_end: usize) -> Result<Pin, Error> {
    let bad = |why: &'static str| Err(Error::InvalidPinBlock(why));
    if nibbles.first() != Some(&control) {
        return bad("the control field does not match the format");
    }
    let len = usize::from(nibbles.get(1).copied().unwrap_or(0));
    if !(MIN_PIN_LENGTH..=MAX_PIN_LENGTH).contains(&len) {
        return bad("the PIN length field is out of range");
    }
    let pin_nibbles = nibbles.get(2..2 + len).unwrap_or_default();
    if pin_nibbles.iter().any(|&n| n > 9) {
        return bad("a PIN position holds a non-decimal value");
    }
    let fill_ok = nibbles
        .get(2 + len..fill_end)
        .unwrap_or_default()
        .iter()
        .all(|&n| match fill {
            Fill::F => n == 0xF,
            Fill::Any => true,
            Fill::AtoF => n >= 0xA,
            Fill::A => n == 0xA,
        });
    if !fill_ok {
        return bad("the fill does not match the format");
    }
    let digits: Zeroizing<String> =
        Zeroizing::new(pin_nibbles.iter().map(|&n| char::from(b'0' + n)).collect());
    Ok(Pin(digits))
}

fn block8(block: &[u8]) -> Result<Zeroizing<[u8; 8]>, Error> {
    let mut out = Zeroizing::new([0u8; 8]);
    if block.len() != 8 {
        return Err(Error::InvalidPinBlock(
            "a format 0, 1 or 3 block is 8 bytes",
        ));
    }
    out.copy_from_slice(block);
    Ok(out)
}

/// The PIN of a format 0 clear block bound to `pan`.
pub fn decode_iso0(block: &[u8], pan: &str) -> Result<Pin, Error> {
    check_pan(pan)?;
    let mut b = block8(block)?;
    xor8(&mut b, &pan_field(pan));
    read_pin_field(&unpack(&*b), 0x0, Fill::F, 16)
}

/// The PIN of a format 1 clear block.
pub fn decode_iso1(block: &[u8]) -> Result<Pin, Error> {
    let b = block8(block)?;
    read_pin_field(&unpack(&*b), 0x1, Fill::Any, 16)
}

/// The PIN of a format 3 clear block bound to `pan`.
pub fn decode_iso3(block: &[u8], pan: &str) -> Result<Pin, Error> {
    check_pan(pan)?;
    let mut b = block8(block)?;
    xor8(&mut b, &pan_field(pan));
    read_pin_field(&unpack(&*b), 0x3, Fill::AtoF, 16)
}

/// The format 4 PAN field of `pan` (1..=19 digits, checked by the caller).
fn iso4_pan_field(pan: &str) -> [u8; 16] {
    let m = pan.len().saturating_sub(12) as u8;
    let pad = 12usize.saturating_sub(pan.len());
    let nibbles = std::iter::once(m)
        .chain(std::iter::repeat_n(0, pad))
        .chain(digit_values(pan));
    let mut out = [0u8; 16];
    pack_into(nibbles, &mut out);
    out
}

fn xor16(a: &mut [u8; 16], b: &[u8; 16]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x ^= y);
}

/// Format 4 block of `pin` bound to `pan` (1..=19 digits), enciphered under the AES key
/// `key` (16, 24 or 32 bytes), with the 8 random bytes of the PIN field from `rng`.
pub fn encipher_iso4(
    key: &[u8],
    pin: &Pin,
    pan: &str,
    rng: &mut impl CryptoRng,
) -> Result<[u8; 16], Error> {
    check_pan(pan)?;
    let mut nibbles = Zeroizing::new([0xAu8; 32]);
    nibbles[0] = 0x4;
    nibbles[1] = pin.len() as u8;
    for (n, d) in nibbles[2..].iter_mut().zip(digit_values(pin.expose())) {
        *n = d;
    }
    let mut field = Zeroizing::new([0u8; 16]);
    pack_into(nibbles.iter().copied(), &mut *field);
    rng.fill_bytes(&mut field[8..]);
    aes_block(key, &mut field, false)?;
    xor16(&mut field, &iso4_pan_field(pan));
    aes_block(key, &mut field, false)?;
    Ok(*field)
}

/// The PIN of a format 4 block enciphered under the AES key `key` and bound to `pan`.
pub fn decipher_iso4(key: &[u8], block: &[u8], pan: &str) -> Result<Pin, Error> {
    check_pan(pan)?;
    if block.len() != 16 {
        return Err(Error::InvalidPinBlock("a format 4 block is 16 bytes"));
    }
    let mut field = Zeroizing::new([0u8; 16]);
    field.copy_from_slice(block);
    aes_block(key, &mut field, true)?;
    xor16(&mut field, &iso4_pan_field(pan));
    aes_block(key, &mut field, true)?;
    read_pin_field(&unpack(&*field), 0x4, Fill::A, 16)
}
