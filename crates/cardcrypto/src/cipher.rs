//! Symmetric data encryption (EncryptData / DecryptData / ReEncryptData with symmetric keys):
//! TDES (two- and three-key) and AES-128/192/256 in the modes of NIST SP 800-38A: ECB, CBC,
//! CFB with 1, 8, 64 and 128-bit segments, and OFB. No padding is ever added or removed.
//!
//! The modes are written here on the raw block ciphers (`des`, `aes`), straight from
//! SP 800-38A, rather than taken from the RustCrypto mode crates: no crate of the cipher 0.5
//! generation offers CFB1 or AES with 64-bit CFB segments, and one CFB routine over any segment
//! size covers all four CFB modes.
//!
//! Length rules:
//! - ECB and CBC take whole blocks only (8 bytes for TDES, 16 for AES); anything else is
//!   [`Error::InvalidInput`]. Empty data is refused in every mode.
//! - CFB and OFB are stream modes and take any whole number of bytes (a last partial segment
//!   uses the leftmost bytes of its keystream block). AWS documents "multiple of 8 bytes for TDES,
//!   16 for AES" for all of EncryptData, so the service layer should apply that rule to the wire
//!   input before calling here if it wants to match AWS exactly.
//! - CFB128 needs a 128-bit block and is refused for TDES.
//!
//! The initialization vector is one block (8 bytes TDES, 16 AES). `None` means all zeros, the
//! AWS default ("if no value is provided, ... defaults it to zero"); ECB ignores it.
//!
//! ```
//! use paycrypt_cardcrypto::cipher::{self, Mode};
//! use paycrypt_cardcrypto::BlockCipherKind;
//! let key = [0x11u8; 16];
//! let ct = cipher::encrypt(BlockCipherKind::Aes, Mode::Cfb8, &key, Some(&[0u8; 16]), b"hello")?;
//! let pt = cipher::decrypt(BlockCipherKind::Aes, Mode::Cfb8, &key, None, &ct)?;
//! assert_eq!(pt, b"hello");
//! # Ok::<(), paycrypt_cardcrypto::Error>(())
//! ```

use paycrypt_keyblock::kcv::BlockCipherKind;

use crate::error::Error;
use paycrypt_keyblock::sym::Cipher;

/// Block cipher mode of operation (NIST SP 800-38A).
///
/// The model's `EncryptionMode` also has a bare `CFB`; this crate leaves its meaning to the
/// caller (a full-block segment, `Cfb64` for TDES and `Cfb128` for AES, is the usual reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Electronic codebook: whole blocks, no IV.
    Ecb,
    /// Cipher block chaining: whole blocks.
    Cbc,
    /// Cipher feedback, 1-bit segments.
    Cfb1,
    /// Cipher feedback, 8-bit segments.
    Cfb8,
    /// Cipher feedback, 64-bit segments (the full block for TDES).
    Cfb64,
    /// Cipher feedback, 128-bit segments (AES only).
    Cfb128,
    /// Output feedback.
    Ofb,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// Encrypts `data` under `key` (TDES 16/24 bytes, AES 16/24/32 bytes) in `mode`.
///
/// # Errors
/// [`Error::InvalidKeyLength`] for a key the cipher does not take; [`Error::InvalidInput`] for
/// an IV that is not one block, empty data, data that is not whole blocks in ECB or CBC, or
/// CFB128 with TDES.
pub fn encrypt(
    kind: BlockCipherKind,
    mode: Mode,
    key: &[u8],
    iv: Option<&[u8]>,
    data: &[u8],
) -> Result<Vec<u8>, Error> {
    run(kind, mode, key, iv, data, Direction::Encrypt)
}

/// Decrypts `data` under `key` in `mode`; the inverse of [`encrypt`] with the same rules.
///
/// # Errors
/// As [`encrypt`]. No mode carries an integrity check, so a wrong key or IV yields other bytes,
/// never an error.
pub fn decrypt(
    kind: BlockCipherKind,
    mode: Mode,
    key: &[u8],
    iv: Option<&[u8]>,
    data: &[u8],
) -> Result<Vec<u8>, Error> {
    run(kind, mode, key, iv, data, Direction::Decrypt)
}

fn run(
    kind: BlockCipherKind,
    mode: Mode,
    key: &[u8],
    iv: Option<&[u8]>,
    data: &[u8],
    direction: Direction,
) -> Result<Vec<u8>, Error> {
    let cipher = Cipher::new(kind, key)?;
    let block = cipher.block_size();
    if data.is_empty() {
        return Err(Error::InvalidInput(
            "data to encrypt or decrypt is empty".into(),
        ));
    }
    let iv = match iv {
        None => vec![0u8; block],
        Some(iv) if iv.len() == block => iv.to_vec(),
        Some(iv) => {
            return Err(Error::InvalidInput(format!(
                "initialization vector must be {block} bytes, got {}",
                iv.len()
            )));
        }
    };
    let mut out = data.to_vec();
    match mode {
        Mode::Ecb | Mode::Cbc if !data.len().is_multiple_of(block) => {
            return Err(Error::InvalidInput(format!(
                "data must be a multiple of {block} bytes in ECB and CBC modes, got {}",
                data.len()
            )));
        }
        Mode::Ecb => match direction {
            Direction::Encrypt => cipher.ecb_encrypt(&mut out),
            Direction::Decrypt => cipher.ecb_decrypt(&mut out),
        },
        Mode::Cbc => match direction {
            Direction::Encrypt => cipher.cbc_encrypt(&iv, &mut out),
            Direction::Decrypt => cipher.cbc_decrypt(&iv, &mut out),
        },
        Mode::Cfb1 => cfb1(&cipher, iv, &mut out, direction),
        Mode::Cfb8 => cfb_bytes(&cipher, iv, 1, &mut out, direction),
        Mode::Cfb64 => cfb_bytes(&cipher, iv, 8, &mut out, direction),
        Mode::Cfb128 if block < 16 => {
            return Err(Error::InvalidInput(
                "CFB128 needs a 128-bit block cipher (AES)".into(),
            ));
        }
        Mode::Cfb128 => cfb_bytes(&cipher, iv, 16, &mut out, direction),
        Mode::Ofb => ofb(&cipher, iv, &mut out),
    }
    Ok(out)
}

/// CFB with segments of `segment` whole bytes (SP 800-38A 6.3): each segment is XORed with the
/// leftmost bytes of the encrypted shift register, which then shifts the ciphertext segment in.
fn cfb_bytes(
    cipher: &Cipher,
    mut register: Vec<u8>,
    segment: usize,
    data: &mut [u8],
    direction: Direction,
) {
    let mut keystream = vec![0u8; register.len()];
    for chunk in data.chunks_mut(segment) {
        keystream.copy_from_slice(&register);
        cipher.ecb_encrypt(&mut keystream);
        let ciphertext = match direction {
            Direction::Encrypt => {
                xor_into(chunk, &keystream);
                chunk.to_vec()
            }
            Direction::Decrypt => {
                let ciphertext = chunk.to_vec();
                xor_into(chunk, &keystream);
                ciphertext
            }
        };
        register.rotate_left(segment);
        let tail = register.len() - segment;
        register[tail..]
            .iter_mut()
            .zip(ciphertext.iter().chain(std::iter::repeat(&0)))
            .for_each(|(r, c)| *r = *c);
    }
}

/// CFB with 1-bit segments: one block encryption per bit, bits taken most significant first.
fn cfb1(cipher: &Cipher, mut register: Vec<u8>, data: &mut [u8], direction: Direction) {
    let mut keystream = vec![0u8; register.len()];
    for byte in data.iter_mut() {
        let input = *byte;
        let mut output = 0u8;
        for bit in (0..8).rev() {
            keystream.copy_from_slice(&register);
            cipher.ecb_encrypt(&mut keystream);
            let in_bit = (input >> bit) & 1;
            let out_bit = in_bit ^ (keystream[0] >> 7);
            output |= out_bit << bit;
            let feedback = match direction {
                Direction::Encrypt => out_bit,
                Direction::Decrypt => in_bit,
            };
            shift_left_one_bit(&mut register, feedback);
        }
        *byte = output;
    }
}

/// Shifts the register left by one bit and puts `bit` in at the right.
fn shift_left_one_bit(register: &mut [u8], bit: u8) {
    let mut carry = bit;
    for byte in register.iter_mut().rev() {
        let next = *byte >> 7;
        *byte = (*byte << 1) | carry;
        carry = next;
    }
}

/// XORs `src` into `dst` over the shorter of the two.
pub(crate) fn xor_into(dst: &mut [u8], src: &[u8]) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d ^= s);
}

fn ofb(cipher: &Cipher, mut register: Vec<u8>, data: &mut [u8]) {
    let block = register.len();
    for chunk in data.chunks_mut(block) {
        cipher.ecb_encrypt(&mut register);
        xor_into(chunk, &register);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // NIST SP 800-38A appendix F: AES-128 key, IV and the first two plaintext blocks.
    const AES128: &str = "2b7e151628aed2a6abf7158809cf4f3c";
    const AES_IV: &str = "000102030405060708090a0b0c0d0e0f";
    const PT: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51";

    fn check(kind: BlockCipherKind, mode: Mode, key: &str, iv: &str, pt: &[u8], ct: &str) {
        let got = encrypt(kind, mode, &h(key), Some(&h(iv)), pt).unwrap();
        assert_eq!(hex::encode(&got), ct, "{mode:?} encrypt");
        let back = decrypt(kind, mode, &h(key), Some(&h(iv)), &got).unwrap();
        assert_eq!(back, pt, "{mode:?} decrypt");
    }

    #[test]
    fn aes_sp800_38a_vectors() {
        let pt = h(PT);
        let aes = BlockCipherKind::Aes;
        // F.1.1 ECB-AES128, F.2.1 CBC-AES128, F.3.13 CFB128-AES128, F.4.1 OFB-AES128 (two blocks).
        let ecb = "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf";
        check(aes, Mode::Ecb, AES128, AES_IV, &pt, ecb);
        let cbc = "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2";
        check(aes, Mode::Cbc, AES128, AES_IV, &pt, cbc);
        let cfb128 = "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b";
        check(aes, Mode::Cfb128, AES128, AES_IV, &pt, cfb128);
        let ofb = "3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825";
        check(aes, Mode::Ofb, AES128, AES_IV, &pt, ofb);
        // F.3.1 CFB1-AES128 (16 bits) and F.3.7 CFB8-AES128 (18 bytes).
        check(aes, Mode::Cfb1, AES128, AES_IV, &pt[..2], "68b3");
        let cfb8 = "3b79424c9c0dd436bace9e0ed4586a4f32b9";
        check(aes, Mode::Cfb8, AES128, AES_IV, &pt[..18], cfb8);
        // F.3.5 CFB1-AES256.
        let aes256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
        check(aes, Mode::Cfb1, aes256, AES_IV, &pt[..2], "9029");
    }

    #[test]
    fn aes_vectors_from_pycryptodome() {
        // pycryptodome 4.4.0 (AES.MODE_CFB segment_size=64, MODE_CBC, MODE_OFB), the SP 800-38A
        // keys, IV and plaintext.
        let pt = h(PT);
        let aes = BlockCipherKind::Aes;
        let cfb64 = "3b3fd92eb72dad20764bc8b40ee0de40f857ab76f3e7bc33332265ff0594b12e";
        check(aes, Mode::Cfb64, AES128, AES_IV, &pt, cfb64);
        let aes192 = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b";
        let cbc192 = "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a";
        check(aes, Mode::Cbc, aes192, AES_IV, &pt, cbc192);
        let aes256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
        let ofb256 = "dc7e84bfda79164b7ecd8486985d38604febdc6740d20b3ac88f6ad82a4fb08d";
        check(aes, Mode::Ofb, aes256, AES_IV, &pt, ofb256);
        // pyca `cryptography` 50.0.2 CFB (128-bit segments) over 20 bytes: a partial last segment.
        check(
            aes,
            Mode::Cfb128,
            AES128,
            AES_IV,
            &pt[..20],
            "3b3fd92eb72dad20333449f8e83cfb4ac8a64537",
        );
    }

    #[test]
    fn tdes_vectors_from_pycryptodome() {
        // pycryptodome 4.4.0 DES3 (ECB, CBC, CFB segment_size 8 and 64, OFB); CFB1 from a
        // bit-by-bit SP 800-38A CFB loop over pycryptodome's DES3 ECB that reproduces the
        // SP 800-38A F.3.1 AES vector. IV 1234567890ABCDEF, the SP 800-38A plaintext.
        let pt = h(PT);
        let tdes = BlockCipherKind::Tdes;
        let iv = "1234567890abcdef";
        for (key, ecb, cbc, cfb1, cfb8, cfb64, ofb) in [
            (
                "0123456789abcdeffedcba9876543210",
                "ea43f9aa27f82f595a3e3056e1710d3492d9a7b73ab3b15840eaf7b333e9740c",
                "832f61058039361c8774f6923e61b15d258fd4d340144b86fffe922ea498df25",
                "34992a",
                "2ca8b1f030505f489182333b1d",
                "2c5f4923c2befb3a1bbd032db741acee6bac47df2f4dfbf1396c37eb38a102c4",
                "2c5f4923c2befb3a5a61e5a929682e370d763479665016903eca411033669371",
            ),
            (
                "0123456789abcdeffedcba987654321089abcdef01234567",
                "a40aa617219768d8c81f1f9d43f698947c8ce5f35f9885da25588f8d5e1d925a",
                "67187c5874be9823406c48ba95f4eb992f145b24aa0d24775e7138834a8d8db3",
                "c072dc",
                "e5b0bf0fec304f112a1b4a4825",
                "e56f0f085167ca331c81cde148eba7fa8568f21b930091a9b592b6c2481e46b6",
                "e56f0f085167ca33df43d66e5851cbdb1c3a76bbfa4587ab364eb1e168ad78b4",
            ),
        ] {
            check(tdes, Mode::Ecb, key, iv, &pt, ecb);
            check(tdes, Mode::Cbc, key, iv, &pt, cbc);
            check(tdes, Mode::Cfb1, key, iv, &pt[..3], cfb1);
            check(tdes, Mode::Cfb8, key, iv, &pt[..13], cfb8);
            check(tdes, Mode::Cfb64, key, iv, &pt, cfb64);
            check(tdes, Mode::Ofb, key, iv, &pt, ofb);
        }
    }

    #[test]
    fn missing_iv_is_zero_and_ecb_ignores_it() {
        let key = h(AES128);
        let pt = h(PT);
        let zero = encrypt(BlockCipherKind::Aes, Mode::Cbc, &key, Some(&[0; 16]), &pt).unwrap();
        let none = encrypt(BlockCipherKind::Aes, Mode::Cbc, &key, None, &pt).unwrap();
        assert_eq!(zero, none);
        let ecb = encrypt(BlockCipherKind::Aes, Mode::Ecb, &key, Some(&[9; 16]), &pt).unwrap();
        assert_eq!(hex::encode(&ecb[..16]), "3ad77bb40d7a3660a89ecaf32466ef97");
    }

    #[test]
    fn refusals() {
        let tdes = BlockCipherKind::Tdes;
        let aes = BlockCipherKind::Aes;
        let k16 = [1u8; 16];
        assert!(matches!(
            encrypt(tdes, Mode::Cbc, &k16, None, &[0; 12]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            decrypt(aes, Mode::Ecb, &k16, None, &[0; 8]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            encrypt(tdes, Mode::Cbc, &k16, Some(&[0; 16]), &[0; 8]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            encrypt(tdes, Mode::Cfb128, &k16, None, &[0; 16]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            encrypt(aes, Mode::Ofb, &k16, None, &[]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            encrypt(tdes, Mode::Ecb, &[1u8; 8], None, &[0; 8]),
            Err(Error::InvalidKeyLength { len: 8, .. })
        ));
        assert!(matches!(
            encrypt(aes, Mode::Ecb, &[1u8; 20], None, &[0; 16]),
            Err(Error::InvalidKeyLength { len: 20, .. })
        ));
    }

    fn any_mode() -> impl Strategy<Value = Mode> {
        prop_oneof![
            Just(Mode::Ecb),
            Just(Mode::Cbc),
            Just(Mode::Cfb1),
            Just(Mode::Cfb8),
            Just(Mode::Cfb64),
            Just(Mode::Cfb128),
            Just(Mode::Ofb),
        ]
    }

    proptest! {
        #[test]
        fn round_trip_or_clean_error(
            aes in any::<bool>(),
            mode in any_mode(),
            key in proptest::collection::vec(any::<u8>(), 0..40),
            iv in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            data in proptest::collection::vec(any::<u8>(), 0..70),
        ) {
            let kind = if aes { BlockCipherKind::Aes } else { BlockCipherKind::Tdes };
            if let Ok(ct) = encrypt(kind, mode, &key, iv.as_deref(), &data) {
                prop_assert_eq!(ct.len(), data.len());
                let pt = decrypt(kind, mode, &key, iv.as_deref(), &ct).unwrap();
                prop_assert_eq!(pt, data.clone());
            }
            let _ = decrypt(kind, mode, &key, iv.as_deref(), &data);
        }
    }
}
