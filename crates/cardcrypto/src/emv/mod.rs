//! EMV issuer-side cryptography (EMV 4.3 Book 2 and the schemes built on it), for TDES issuer
//! master keys:
//!
//! - [`keys`]: ICC master key derivation from an issuer master key (options A and B) and the
//!   session key derivations the AWS data plane names (EMV common session key, Mastercard SKD,
//!   EMV2000 tree, Visa and Amex card keys, UnionPay, and the secure-messaging variants).
//! - [`cryptogram`]: application cryptograms (ARQC, TC, AAC) and ARPC methods 1 and 2.
//! - [`secure_messaging`]: the EMV script MAC, EMV data encryption and the PIN change script.
//!
//! Every function takes clear key bytes for the length of one call and returns derived keys as
//! [`paycrypt_keyblock::SecretBytes`]. Keys are TDES keys of 16 or 24 bytes; ICC master keys and
//! session keys are always 16 bytes (EMV defines double-length card keys for TDES). AES issuer
//! master keys are not supported here: an AES-keyed caller must be refused by the service.
//!
//! The shared plumbing below (single-block TDES on keyblock's cipher, the retail MAC of
//! [`crate::mac`], the padding methods and DES key parity) is private to this module.

pub mod cryptogram;
pub mod keys;
pub mod secure_messaging;

use paycrypt_keyblock::kcv::BlockCipherKind;
use paycrypt_keyblock::sym::Cipher;

use crate::Error;
use crate::mac::{self, MacAlgorithm};

/// The DES block size, in bytes.
const BLOCK: usize = 8;

/// A keyed TDES cipher (two-key keys run as K1 K2 K1), on keyblock's [`Cipher`].
struct Tdes(Cipher);

impl Tdes {
    /// Keys TDES with a 16- or 24-byte key; `what` names the key in the error.
    fn new(key: &[u8], what: &'static str) -> Result<Self, Error> {
        Cipher::new(BlockCipherKind::Tdes, key)
            .map(Self)
            .map_err(|_| Error::InvalidKeyLength {
                what,
                len: key.len(),
            })
    }

    fn encrypt(&self, block: &mut [u8; BLOCK]) {
        self.0.ecb_encrypt(block);
    }

    fn decrypt(&self, block: &mut [u8; BLOCK]) {
        self.0.ecb_decrypt(block);
    }

    /// Encrypts one block and returns the result, leaving `block` unchanged.
    fn encrypted(&self, block: &[u8; BLOCK]) -> [u8; BLOCK] {
        let mut out = *block;
        self.encrypt(&mut out);
        out
    }
}

/// XORs `src` into `dst` byte by byte (over the shorter length).
fn xor_into(dst: &mut [u8], src: &[u8]) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d ^= s);
}

/// Sets the low bit of every byte so that each byte has an odd number of one bits (DES key
/// parity).
fn adjust_parity(key: &mut [u8]) {
    for b in key.iter_mut() {
        let high_ones = (*b >> 1).count_ones();
        *b = (*b & 0xFE) | u8::from(high_ones.is_multiple_of(2));
    }
}

/// ISO/IEC 9797-1 padding method 1: zero bytes up to a whole number of blocks (at least one
/// block, so empty data MACs as one zero block).
fn pad_method1(data: &[u8]) -> Vec<u8> {
    padded(data, &[], data.len().div_ceil(BLOCK).max(1) * BLOCK)
}

/// ISO/IEC 9797-1 padding method 2 (ISO/IEC 7816-4): `80` then zero bytes up to a whole number
/// of blocks (always at least one byte added).
fn pad_method2(data: &[u8]) -> Vec<u8> {
    padded(data, &[0x80], (data.len() + 1).div_ceil(BLOCK) * BLOCK)
}

/// `data ‖ marker` zero-filled to `len` bytes, allocated once at its final size so that no
/// reallocation leaves a copy of (possibly secret) data behind.
fn padded(data: &[u8], marker: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(data);
    out.extend_from_slice(marker);
    out.resize(len, 0);
    out
}

/// ISO/IEC 9797-1 MAC algorithm 3 (the "retail MAC") over `data`, which must be a whole number
/// of 8-byte blocks (callers pad first), under a TDES session key.
fn mac_algorithm3(key: &[u8], data: &[u8]) -> Result<[u8; BLOCK], Error> {
    let full = mac::generate(MacAlgorithm::Iso9797Algorithm3, key, data)?;
    full.try_into()
        .map_err(|_| Error::InvalidInput("the retail MAC is one block".into()))
}

/// Packs an even-length string of decimal digits into bytes (two digits a byte). The caller
/// has checked that every character is a digit and the length is even.
fn pack_digits(digits: &[u8]) -> Vec<u8> {
    digits
        .chunks_exact(2)
        .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retail_mac_iso_9797_1_annex_b() {
        // ISO/IEC 9797-1 annex B.4 (MAC algorithm 3), via shared/reference/data-plane.md.
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let mac = mac_algorithm3(&key, b"Now is the time for all ").unwrap();
        assert_eq!(hex::encode_upper(mac), "A1C72E74EA3FA9B6");
    }

    #[test]
    fn retail_mac_refuses_partial_and_empty_input() {
        let key = [0x11u8; 16];
        assert!(mac_algorithm3(&key, &[0u8; 7]).is_err());
        assert!(mac_algorithm3(&key, &[]).is_err());
        assert!(mac_algorithm3(&key[..8], &[0u8; 8]).is_err());
    }

    #[test]
    fn padding_methods() {
        assert_eq!(pad_method1(&[]), vec![0u8; 8]);
        assert_eq!(pad_method1(&[1; 8]), vec![1u8; 8]);
        assert_eq!(pad_method1(&[1; 9]).len(), 16);
        assert_eq!(pad_method2(&[1; 8]).len(), 16);
        assert_eq!(pad_method2(&[1; 7]), [&[1u8; 7][..], &[0x80]].concat());
    }

    #[test]
    fn parity_is_odd() {
        let mut k: Vec<u8> = (0..=255).collect();
        adjust_parity(&mut k);
        assert!(k.iter().all(|b| b.count_ones() % 2 == 1));
        assert_eq!(k[0x01], 0x01);
        assert_eq!(k[0x00], 0x01);
    }
}
