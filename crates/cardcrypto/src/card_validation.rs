//! Card validation codes: the CVV / CVC family (CVV1 with the card's service code, CVV2 with
//! `000`, iCVV with `999`) under a card verification key, and the dynamic codes computed
//! under a card (ICC) key derived from an issuer master key: Mastercard CVC3, Visa dCVV, the
//! Discover dCVC and the cardholder verification value (the last two paycrypt's reading of
//! schemes whose algorithms are not public); and the American Express card security codes,
//! versions 1 and 2.
//!
//! Verification recomputes the code at the length of the value presented and compares in
//! constant time; the service turns `false` into VerificationFailedException with Reason
//! INVALID_VALIDATION_DATA. Code lengths are 3..=5 digits (the model's
//! `ValidationDataLength`, default 3). Expiry dates are used exactly as given (AWS does not
//! reorder MMYY / YYMM; the same digits must be used to generate and to verify).
//!
//! The card keys come from the EMV master key derivation (option A with the PAN and PAN
//! sequence number), which is not done here: CVC3 takes the ICC key derived from the issuer's
//! `TR31_E4_EMV_MKEY_DYNAMIC_NUMBERS` key, dCVV the one derived from the
//! `TR31_E6_EMV_MKEY_OTHER` key.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::block::{des_decrypt, des_encrypt, tdes_encrypt};
use crate::digits::{check_decimal, decimalize, digit_values, hex_nibbles, pack_into, unpack};
use crate::error::Error;

/// The service code that makes CVV1 into CVV2 (CVC2).
pub const CVV2_SERVICE_CODE: &str = "000";
/// The service code that makes CVV1 into the chip's iCVV.
pub const ICVV_SERVICE_CODE: &str = "999";

/// Shortest validation code.
pub const MIN_CODE_LENGTH: usize = 3;
/// Longest validation code.
pub const MAX_CODE_LENGTH: usize = 5;

fn check_code_length(length: usize) -> Result<(), Error> {
    if !(MIN_CODE_LENGTH..=MAX_CODE_LENGTH).contains(&length) {
        return Err(Error::InvalidInput(format!(
            "validation data length must be {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH}"
        )));
    }
    Ok(())
}

fn check_double_length(key: &[u8], what: &'static str) -> Result<(), Error> {
    if key.len() != 16 && key.len() != 24 {
        return Err(Error::InvalidKeyLength {
            what,
            len: key.len(),
        });
    }
    Ok(())
}

/// The CVV algorithm over up to 32 nibbles (zero-padded to 32): block 1 DES-encrypted under
/// the key's first 8 bytes, XORed into block 2, the result TDES-encrypted under the whole
/// key, then decimalized to `length` digits.
fn cvv_core(
    key: &[u8],
    nibbles: impl Iterator<Item = u8>,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    check_double_length(key, "card verification key")?;
    check_code_length(length)?;
    let mut data = Zeroizing::new([0u8; 16]);
    pack_into(nibbles, &mut *data);
    let mut block = Zeroizing::new([0u8; 8]);
    block.copy_from_slice(&data[..8]);
    des_encrypt(&key[..8], &mut block)?;
    block.iter_mut().zip(&data[8..]).for_each(|(b, d)| *b ^= d);
    tdes_encrypt(key, &mut block)?;
    Ok(decimalize(&*block, length))
}

/// Checks `value` (3..=5 digits), generates the code of its length and compares the two in
/// constant time.
fn verify_with(
    value: &str,
    generate: impl FnOnce(usize) -> Result<Zeroizing<String>, Error>,
) -> Result<bool, Error> {
    check_decimal(value, "validation data", MIN_CODE_LENGTH, MAX_CODE_LENGTH)?;
    let expected = generate(value.len())?;
    Ok(expected.as_bytes().ct_eq(value.as_bytes()).into())
}

/// The CVV / CVC of `length` digits for `pan` (12..=19 digits), `expiry` (4 digits, as
/// given) and `service_code` (3 digits) under the card verification key `cvk` (TDES, 16 or
/// 24 bytes; AWS key usage C0). CVV2 passes [`CVV2_SERVICE_CODE`], iCVV [`ICVV_SERVICE_CODE`].
pub fn cvv(
    cvk: &[u8],
    pan: &str,
    expiry: &str,
    service_code: &str,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    check_decimal(pan, "PAN", 12, 19)?;
    check_decimal(expiry, "card expiry date", 4, 4)?;
    check_decimal(service_code, "service code", 3, 3)?;
    let nibbles = digit_values(pan)
        .chain(digit_values(expiry))
        .chain(digit_values(service_code));
    cvv_core(cvk, nibbles, length)
}

/// Whether `value` (3..=5 digits) is the CVV of its length; see [`cvv`].
pub fn verify_cvv(
    cvk: &[u8],
    pan: &str,
    expiry: &str,
    service_code: &str,
    value: &str,
) -> Result<bool, Error> {
    verify_with(value, |len| cvv(cvk, pan, expiry, service_code, len))
}

/// Left-pads hexadecimal `s` (1..=`width` digits) with zeros to `width` digits and packs it.
fn padded_hex<const N: usize>(s: &str, what: &str) -> Result<Zeroizing<[u8; N]>, Error> {
    let nibbles = hex_nibbles(s, what, 1, 2 * N)?;
    let mut out = Zeroizing::new([0u8; N]);
    let zeros = std::iter::repeat_n(0u8, 2 * N - nibbles.len());
    pack_into(zeros.chain(nibbles.iter().copied()), &mut *out);
    Ok(out)
}

/// The four nibbles of the ATC (1..=4 hexadecimal digits, left-padded with zeros).
fn atc_nibbles(atc: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    Ok(unpack(&*padded_hex::<2>(
        atc,
        "application transaction counter",
    )?))
}

/// The eight nibbles of the unpredictable number (1..=8 hexadecimal digits, left-padded with
/// zeros).
fn unpredictable_number_nibbles(un: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    Ok(unpack(&*padded_hex::<4>(un, "unpredictable number")?))
}

/// ISO/IEC 9797-1 MAC algorithm 3 (the retail MAC) with padding method 2 under a two-key
/// TDES key: single-DES CBC under K1, then the last block decrypted under K2 and encrypted
/// under K1.
fn retail_mac(key: &[u8], data: &[u8]) -> Result<Zeroizing<[u8; 8]>, Error> {
    let mut padded = Zeroizing::new(data.to_vec());
    padded.push(0x80);
    let whole = padded.len().div_ceil(8) * 8;
    padded.resize(whole, 0);
    let mut mac = Zeroizing::new([0u8; 8]);
    for chunk in padded.chunks_exact(8) {
        mac.iter_mut().zip(chunk).for_each(|(m, d)| *m ^= d);
        des_encrypt(&key[..8], &mut mac)?;
    }
    des_decrypt(&key[8..16], &mut mac)?;
    des_encrypt(&key[..8], &mut mac)?;
    Ok(mac)
}

/// Mastercard CVC3 of `length` digits under the ICC CVC3 key `icc_key` (16 bytes, derived
/// from the issuer's E4 key), over the track data template `track_data` (hexadecimal, as in
/// the model's `TrackData`; an odd number of digits is padded with `F`), the unpredictable
/// number (1..=8 hex digits, left-padded with zeros to 4 bytes) and the ATC (1..=4 hex
/// digits, left-padded to 2 bytes).
///
/// IVCVC3 = the 2 rightmost bytes of the retail MAC (ISO 9797-1 algorithm 3, padding
/// method 2) of the track data; CVC3 = the 2 rightmost bytes of TDES(IVCVC3 || UN || ATC),
/// as a 5-digit decimal number of which the `length` rightmost digits are kept.
pub fn cvc3(
    icc_key: &[u8],
    track_data: &str,
    unpredictable_number: &str,
    atc: &str,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    if icc_key.len() != 16 {
        return Err(Error::InvalidKeyLength {
            what: "ICC CVC3 key",
            len: icc_key.len(),
        });
    }
    check_code_length(length)?;
    let track = hex_nibbles(track_data, "track data", 1, 160)?;
    let mut track_bytes = Zeroizing::new(vec![0u8; track.len().div_ceil(2)]);
    pack_into(
        track.iter().copied().chain(std::iter::once(0xF)),
        &mut track_bytes,
    );
    let un = padded_hex::<4>(unpredictable_number, "unpredictable number")?;
    let atc = padded_hex::<2>(atc, "application transaction counter")?;
    let mac = retail_mac(icc_key, &track_bytes)?;
    let mut block = Zeroizing::new([0u8; 8]);
    block[..2].copy_from_slice(&mac[6..]);
    block[2..6].copy_from_slice(&*un);
    block[6..].copy_from_slice(&*atc);
    tdes_encrypt(icc_key, &mut block)?;
    let number = Zeroizing::new(format!("{:05}", u16::from_be_bytes([block[6], block[7]])));
    Ok(Zeroizing::new(number[5 - length..].to_owned()))
}

/// Whether `value` (3..=5 digits) is the CVC3 of its length; see [`cvc3`].
pub fn verify_cvc3(
    icc_key: &[u8],
    track_data: &str,
    unpredictable_number: &str,
    atc: &str,
    value: &str,
) -> Result<bool, Error> {
    verify_with(value, |len| {
        cvc3(icc_key, track_data, unpredictable_number, atc, len)
    })
}

/// Visa dCVV of `length` digits under the card's dCVV key `card_key` (16 bytes, derived from
/// the issuer's E6 key), for `pan` (12..=19 digits), `expiry` (4 digits, as given),
/// `service_code` (3 digits) and the ATC (1..=4 hex digits, the counter in hexadecimal,
/// left-padded with zeros to 4).
///
/// The CVV algorithm over ATC || PAN without its first four digits || expiry || service
/// code: the ATC takes the place of the PAN's four leading digits. This follows the only
/// public description found (a public Python EMV toolkit's `generate_dcvv`, written for the
/// Visa test card 4761739001010010); Visa's specification is not public and no vector
/// confirms it.
pub fn dcvv(
    card_key: &[u8],
    pan: &str,
    expiry: &str,
    service_code: &str,
    atc: &str,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    check_decimal(expiry, "card expiry date", 4, 4)?;
    check_decimal(service_code, "service code", 3, 3)?;
    let rest = digit_values(expiry).chain(digit_values(service_code));
    atc_led_cvv(card_key, pan, atc, rest, length)
}

/// The CVV algorithm under a card key over ATC || `pan` without its first four digits ||
/// `rest`: the dynamic codes' construction.
fn atc_led_cvv(
    card_key: &[u8],
    pan: &str,
    atc: &str,
    rest: impl Iterator<Item = u8>,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    check_decimal(pan, "PAN", 12, 19)?;
    let atc = atc_nibbles(atc)?;
    let nibbles = atc
        .iter()
        .copied()
        .chain(digit_values(&pan[4..]))
        .chain(rest);
    cvv_core(card_key, nibbles, length)
}

/// Whether `value` (3..=5 digits) is the dCVV of its length; see [`dcvv`].
pub fn verify_dcvv(
    card_key: &[u8],
    pan: &str,
    expiry: &str,
    service_code: &str,
    atc: &str,
    value: &str,
) -> Result<bool, Error> {
    verify_with(value, |len| {
        dcvv(card_key, pan, expiry, service_code, atc, len)
    })
}

/// The Discover dynamic card verification code (dCVC) of `length` digits under the card key
/// `card_key` (16 bytes, derived from the issuer's master key), for `pan` (12..=19 digits),
/// `expiry` (4 digits, as given), the unpredictable number (1..=8 hex digits, left-padded to
/// 8) and the ATC (1..=4 hex digits, left-padded to 4).
///
/// Discover's algorithm is not public, and the model names only its inputs (expiry,
/// unpredictable number, ATC). paycrypt computes it, like the other dynamic codes, under the
/// card key derived from an issuer master key, as the dCVV above with the unpredictable number in
/// the service code's place: the CVV algorithm over ATC || PAN without its first four digits ||
/// expiry || UN (at most 31 nibbles). No vector confirms it, and a code from another
/// implementation is unlikely to match.
pub fn discover_dcvc(
    card_key: &[u8],
    pan: &str,
    expiry: &str,
    unpredictable_number: &str,
    atc: &str,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    check_decimal(expiry, "card expiry date", 4, 4)?;
    let un = unpredictable_number_nibbles(unpredictable_number)?;
    let rest = digit_values(expiry).chain(un.iter().copied());
    atc_led_cvv(card_key, pan, atc, rest, length)
}

/// Whether `value` (3..=5 digits) is the Discover dCVC of its length; see [`discover_dcvc`].
pub fn verify_discover_dcvc(
    card_key: &[u8],
    pan: &str,
    expiry: &str,
    unpredictable_number: &str,
    atc: &str,
    value: &str,
) -> Result<bool, Error> {
    verify_with(value, |len| {
        discover_dcvc(card_key, pan, expiry, unpredictable_number, atc, len)
    })
}

/// The cardholder verification value (the model's `CardHolderVerificationValue`) of `length`
/// digits under the card key `card_key` (16 bytes, derived from the issuer's
/// `TR31_E6_EMV_MKEY_OTHER` key with the PAN and PAN sequence number), for `pan` (12..=19
/// digits), the unpredictable number (1..=8 hex digits, left-padded to 8) and the ATC (1..=4
/// hex digits, left-padded to 4).
///
/// No scheme publishes this algorithm, and the model names only its inputs. paycrypt computes
/// it as the dCVV above over the inputs the model gives: the CVV algorithm over ATC || PAN
/// without its first four digits || UN (at most 27 nibbles). No vector confirms it, and a
/// value from another implementation is unlikely to match.
pub fn cardholder_verification_value(
    card_key: &[u8],
    pan: &str,
    unpredictable_number: &str,
    atc: &str,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    let un = unpredictable_number_nibbles(unpredictable_number)?;
    atc_led_cvv(card_key, pan, atc, un.iter().copied(), length)
}

/// Whether `value` (3..=5 digits) is the cardholder verification value of its length; see
/// [`cardholder_verification_value`].
pub fn verify_cardholder_verification_value(
    card_key: &[u8],
    pan: &str,
    unpredictable_number: &str,
    atc: &str,
    value: &str,
) -> Result<bool, Error> {
    verify_with(value, |len| {
        cardholder_verification_value(card_key, pan, unpredictable_number, atc, len)
    })
}

/// The 12 CSC digits of the American Express method: the decimal nibbles of `block` left to
/// right, then its letters left to right, each A..F as 1..6 when in the first five positions
/// and as 6, 7, 8, 9, 0, 1 after. The 5-digit CSC is digits 0..5, the 4-digit 5..9 and the
/// 3-digit 9..12.
fn amex_digits(block: &[u8; 8], length: usize) -> Zeroizing<String> {
    let nibbles = unpack(block);
    let digits = nibbles.iter().filter(|&&v| v < 10).copied();
    let letters = nibbles
        .iter()
        .enumerate()
        .filter(|(_, v)| **v >= 10)
        .map(|(i, &v)| {
            let n = v - 9;
            if i < 5 { n } else { (n + 5) % 10 }
        });
    let all: Zeroizing<Vec<u8>> = Zeroizing::new(digits.chain(letters).take(12).collect());
    let range = match length {
        5 => 0..5,
        4 => 5..9,
        _ => 9..12,
    };
    Zeroizing::new(
        all.get(range)
            .unwrap_or_default()
            .iter()
            .map(|v| char::from(b'0' + v))
            .collect(),
    )
}

/// The 16-digit American Express data block: the account number's digits 3 to 14 (without
/// the two-digit prefix 34 or 37 and, for a 15-digit PAN, the check digit) and the expiry,
/// the expiry first for PANs starting 37 and last otherwise (the simulator this follows
/// refuses other prefixes; this takes them in the layout of 34).
fn amex_block(pan: &str, expiry: &str) -> Result<Zeroizing<[u8; 8]>, Error> {
    check_decimal(pan, "PAN", 14, 19)?;
    check_decimal(expiry, "card expiry date", 4, 4)?;
    let account = digit_values(&pan[2..14]);
    let mut block = Zeroizing::new([0u8; 8]);
    if pan.starts_with("37") {
        pack_into(digit_values(expiry).chain(account), &mut *block);
    } else {
        pack_into(account.chain(digit_values(expiry)), &mut *block);
    }
    Ok(block)
}

/// American Express CSC version 1 ("classic") of `length` digits (5, 4 or 3: the 5-, 4- or
/// 3-digit CSC) for `pan` (14..=19 digits; Amex PANs have 15) and `expiry` (YYMM, as AWS's
/// guide asks for Amex) under the CSC key `csck` (TDES, 16 or 24 bytes; AWS key usage C0).
///
/// The data block (PAN digits 3 to 14 and the expiry) is TDES-encrypted and the result
/// decimalized the American Express way. Amex's specification is not public: this follows the one public
/// description found (the ThalesSim payShield simulator's RY command), and no published
/// vector checks it.
pub fn amex_csc_v1(
    csck: &[u8],
    pan: &str,
    expiry: &str,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    check_code_length(length)?;
    let mut block = amex_block(pan, expiry)?;
    tdes_encrypt(csck, &mut block)?;
    Ok(amex_digits(&block, length))
}

/// American Express CSC version 2 of `length` digits (5, 4 or 3), as [`amex_csc_v1`] with the
/// service code (3 digits; 999 for the chip's iCSC) in a second block: the data block, then
/// the service code zero-padded to 16 digits, TDES-CBC-encrypted with a zero IV; the second
/// cipher block is decimalized. The same caveat applies: no public vector checks it.
pub fn amex_csc_v2(
    csck: &[u8],
    pan: &str,
    expiry: &str,
    service_code: &str,
    length: usize,
) -> Result<Zeroizing<String>, Error> {
    check_code_length(length)?;
    check_decimal(service_code, "service code", 3, 3)?;
    let mut block = amex_block(pan, expiry)?;
    tdes_encrypt(csck, &mut block)?;
    let mut second = Zeroizing::new([0u8; 8]);
    pack_into(digit_values(service_code), &mut *second);
    block
        .iter_mut()
        .zip(second.iter())
        .for_each(|(b, s)| *b ^= s);
    tdes_encrypt(csck, &mut block)?;
    Ok(amex_digits(&block, length))
}

/// Whether `value` (3..=5 digits) is the version 1 CSC of its length; see [`amex_csc_v1`].
pub fn verify_amex_csc_v1(
    csck: &[u8],
    pan: &str,
    expiry: &str,
    value: &str,
) -> Result<bool, Error> {
    verify_with(value, |len| amex_csc_v1(csck, pan, expiry, len))
}

/// Whether `value` (3..=5 digits) is the version 2 CSC of its length; see [`amex_csc_v2`].
pub fn verify_amex_csc_v2(
    csck: &[u8],
    pan: &str,
    expiry: &str,
    service_code: &str,
    value: &str,
) -> Result<bool, Error> {
    verify_with(value, |len| {
        amex_csc_v2(csck, pan, expiry, service_code, len)
    })
}
