//! Application cryptograms (ARQC, TC, AAC; EMV 4.3 Book 2 section 8.1 and annex A1.2) and the
//! authorization response cryptogram (ARPC methods 1 and 2, section 8.2).
//!
//! The cryptogram is ISO/IEC 9797-1 MAC algorithm 3 under the session key over the transaction
//! data. Padding is the caller's: schemes pad with `80 00…` (EMV, Mastercard, Visa CVN 18/22)
//! or zeros (Visa CVN 10), and the data arrives padded. Data that is not a whole number of
//! blocks is completed with zero bytes (ISO/IEC 9797-1 padding method 1), as payment HSMs do,
//! so already-padded data is MACed as given.

use subtle::ConstantTimeEq;

use super::{BLOCK, Tdes, mac_algorithm3, pad_method1, pad_method2, xor_into};
use crate::Error;

/// The 8-byte application cryptogram over `transaction_data` under the cryptogram key
/// `session_key` (16 bytes; see [`super::keys::derive_ac_keys`]).
pub fn generate_ac(session_key: &[u8], transaction_data: &[u8]) -> Result<[u8; BLOCK], Error> {
    mac_algorithm3(session_key, &pad_method1(transaction_data))
}

/// Recomputes the application cryptogram and compares it with `cryptogram` in constant time.
/// `Ok(false)` means the cryptogram is wrong; `Err` means the inputs are unusable.
pub fn verify_ac(
    session_key: &[u8],
    transaction_data: &[u8],
    cryptogram: &[u8; BLOCK],
) -> Result<bool, Error> {
    let expected = generate_ac(session_key, transaction_data)?;
    Ok(bool::from(expected.ct_eq(cryptogram)))
}

/// ARPC method 1: TDES(key)[ARQC ⊕ (ARC ‖ 00 00 00 00 00 00)], 8 bytes, under the response key
/// (see [`super::keys::AcKeys::response`]).
pub fn arpc_method1(
    response_key: &[u8],
    arqc: &[u8; BLOCK],
    auth_response_code: &[u8; 2],
) -> Result<[u8; BLOCK], Error> {
    let tdes = Tdes::new(response_key, "ARPC key")?;
    let mut block = *arqc;
    xor_into(&mut block, auth_response_code);
    tdes.encrypt(&mut block);
    Ok(block)
}

/// ARPC method 2: the leftmost 4 bytes of MAC algorithm 3 over ARQC ‖ CSU ‖ proprietary
/// authentication data (0 to 8 bytes), padded with ISO/IEC 9797-1 method 2.
pub fn arpc_method2(
    response_key: &[u8],
    arqc: &[u8; BLOCK],
    card_status_update: &[u8; 4],
    proprietary_data: &[u8],
) -> Result<[u8; 4], Error> {
    if proprietary_data.len() > 8 {
        return Err(Error::InvalidInput(format!(
            "proprietary authentication data must be 0 to 8 bytes, got {}",
            proprietary_data.len()
        )));
    }
    let data = [&arqc[..], card_status_update, proprietary_data].concat();
    let mac = mac_algorithm3(response_key, &pad_method2(&data))?;
    let mut out = [0u8; 4];
    out.copy_from_slice(&mac[..4]);
    Ok(out)
}
