//! Independent recomputations of the data plane's cipher, card, PIN and EMV cryptography, written
//! out on the RustCrypto `des` and `aes` block ciphers (never on paycrypt's cardcrypto), shared by
//! the data-plane tests. The card, PIN and EMV ones are checked against published vectors
//! (shared/reference/data-plane.md) by tests.

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

/// Two- or three-key TDES encryption of one block.
pub fn tdes(key: &[u8], block: [u8; 8]) -> [u8; 8] {
    let mut b = block.into();
    match key.len() {
        16 => des::TdesEde2::new_from_slice(key)
            .unwrap()
            .encrypt_block(&mut b),
        _ => des::TdesEde3::new_from_slice(key)
            .unwrap()
            .encrypt_block(&mut b),
    }
    b.into()
}

/// Two-key TDES decryption of one block.
pub fn tdes_decrypt(key: &[u8], block: [u8; 8]) -> [u8; 8] {
    let mut b = block.into();
    des::TdesEde2::new_from_slice(key)
        .unwrap()
        .decrypt_block(&mut b);
    b.into()
}

/// Single DES encryption of one block.
pub fn single_des(key: &[u8], block: [u8; 8]) -> [u8; 8] {
    let mut b = block.into();
    des::Des::new_from_slice(key).unwrap().encrypt_block(&mut b);
    b.into()
}

pub fn xor(a: [u8; 8], b: [u8; 8]) -> [u8; 8] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// Two-key TDES CBC encryption over whole blocks.
pub fn tdes_cbc(key: &[u8], iv: [u8; 8], data: &[u8]) -> Vec<u8> {
    let mut chain = iv;
    let mut out = Vec::new();
    for block in data.chunks(8) {
        chain = tdes(key, xor(chain, block.try_into().unwrap()));
        out.extend_from_slice(&chain);
    }
    out
}

/// Two-key TDES CBC decryption over whole blocks.
pub fn tdes_cbc_decrypt(key: &[u8], iv: [u8; 8], data: &[u8]) -> Vec<u8> {
    let mut chain = iv;
    let mut out = Vec::new();
    for block in data.chunks(8) {
        let block: [u8; 8] = block.try_into().unwrap();
        out.extend_from_slice(&xor(tdes_decrypt(key, block), chain));
        chain = block;
    }
    out
}

/// Packs decimal or hex digits, right-padded with zeros, into 8 bytes.
pub fn pack(digits: &str) -> [u8; 8] {
    hex::decode(format!("{digits:0<16}"))
        .unwrap()
        .try_into()
        .unwrap()
}

/// The decimal digits of a block's hex, then its letters less ten: the first `n`.
pub fn decimalize(block: [u8; 8], n: usize) -> String {
    let text = hex::encode_upper(block);
    let digits = text.chars().filter(char::is_ascii_digit);
    let letters = text
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .map(|c| char::from(b'0' + (c as u8 - b'A')));
    digits.chain(letters).take(n).collect()
}

/// The Visa PVV: 11 PAN digits before the check digit, the PVKI, 4 PIN digits.
pub fn pvv(pvk: &[u8], pvki: u8, pin: &str, pan: &str) -> String {
    let tsp = format!("{}{pvki}{}", &pan[pan.len() - 12..pan.len() - 1], &pin[..4]);
    decimalize(tdes(pvk, pack(&tsp)), 4)
}

/// The PAN field of ISO 9564 formats 0 and 3: 12 PAN digits before the check digit.
fn iso0_pan_field(pan: &str) -> [u8; 8] {
    pack(&format!("0000{}", &pan[pan.len() - 13..pan.len() - 1]))
}

/// The ISO 9564 format 0 clear block.
pub fn iso0(pin: &str, pan: &str) -> [u8; 8] {
    let field = pack(&format!("{:02X}{pin}{:F<14}", pin.len(), "")[..16]);
    xor(field, iso0_pan_field(pan))
}

/// The PIN of an ISO 9564 format 0 clear block.
pub fn iso0_pin(block: [u8; 8], pan: &str) -> String {
    let field = hex::encode_upper(xor(block, iso0_pan_field(pan)));
    assert_eq!(&field[..1], "0", "an ISO format 0 block");
    let len = usize::from_str_radix(&field[1..2], 16).unwrap();
    assert!(field[2 + len..].chars().all(|c| c == 'F'), "F padding");
    field[2..2 + len].to_string()
}

/// EMV option A: the rightmost 16 digits of PAN ‖ PSN, enciphered and inverted-enciphered.
pub fn icc_master_key(imk: &[u8], pan: &str, psn: &str) -> Vec<u8> {
    let digits = format!("{pan}{psn}");
    let y = pack(&digits[digits.len() - 16..]);
    [tdes(imk, y), tdes(imk, xor(y, [0xFF; 8]))].concat()
}

/// EMV common session key: R with byte 2 set to F0, then to 0F, each enciphered.
pub fn common_session_key(mk: &[u8], r: [u8; 8]) -> Vec<u8> {
    let (mut left, mut right) = (r, r);
    left[2] = 0xF0;
    right[2] = 0x0F;
    [tdes(mk, left), tdes(mk, right)].concat()
}

/// ISO/IEC 9797-1 MAC algorithm 3 over whole blocks.
pub fn retail_mac(key: &[u8], data: &[u8]) -> [u8; 8] {
    let mut chain = [0u8; 8];
    for block in data.chunks(8) {
        chain = single_des(&key[..8], xor(chain, block.try_into().unwrap()));
    }
    let mut b = chain.into();
    des::Des::new_from_slice(&key[8..16])
        .unwrap()
        .decrypt_block(&mut b);
    single_des(&key[..8], b.into())
}

/// AES-128 CBC over whole blocks, written out on the block cipher.
pub fn aes_cbc(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let cipher = aes::Aes128::new_from_slice(key).unwrap();
    let mut chain = *iv;
    let mut out = Vec::new();
    for block in data.chunks(16) {
        let mut b = [0u8; 16];
        for i in 0..16 {
            b[i] = block[i] ^ chain[i];
        }
        let mut array = b.into();
        cipher.encrypt_block(&mut array);
        chain = array.into();
        out.extend_from_slice(&chain);
    }
    out
}
