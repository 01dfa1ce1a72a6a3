//! Message authentication codes of GenerateMac / VerifyMac (and the DUKPT MACs, once the
//! working key is derived): ISO/IEC 9797-1 MAC algorithms 1 and 3, the AS 2805.4.1 MAC,
//! CMAC (TDES and AES) and HMAC (SHA-224/256/384/512).
//!
//! | [`MacAlgorithm`] | key | input | full MAC |
//! |---|---|---|---|
//! | `Iso9797Algorithm1` | TDES, 16 or 24 bytes | whole 8-byte blocks | 8 bytes |
//! | `Iso9797Algorithm3` | TDES, 16 or 24 bytes | whole 8-byte blocks | 8 bytes |
//! | `As2805_4_1` | TDES, 16 or 24 bytes | whole 8-byte blocks | 8 bytes |
//! | `Cmac(kind)` | TDES 16/24 or AES 16/24/32 bytes | any length | 8 (TDES) or 16 (AES) bytes |
//! | `Hmac(hash)` | any length | any length | the hash length |
//!
//! - **ISO 9797-1 algorithm 1**: CBC-MAC with TDES under the whole key, zero IV, initial
//!   transformation 1, output transformation 1 (the last CBC block).
//! - **ISO 9797-1 algorithm 3** (the retail MAC, ANSI X9.19): CBC with single DES under K1 over
//!   every block, then the last result is decrypted under K2 and encrypted under K3, where
//!   K3 = K1 for a two-key key. ISO 9797-1 defines algorithm 3 for two keys only; for a three-key
//!   key this crate does what HSMs that accept one do (the "X9.19 with a triple-length key"
//!   reading): single DES under K1 for the chain and the full three-key TDES EDE for the last block.
//!   For two-key keys both readings coincide.
//! - **AS 2805.4.1**: AS 2805.4.1 adopts ISO/IEC 9797-1; the AWS key usage for it is
//!   `TR31_M0_ISO_16609_MAC_KEY`, and ISO 16609's TDES MAC is ISO/IEC 9797-1 MAC algorithm 1 with
//!   TDES (IBM's description of "ISO 16609 TDES MAC": "corresponds to ISO/IEC 9797-1, algorithm 1
//!   using T-DEA", www.ibm.com/docs/en/linuxonibm/lxcc/wskc_c_iso16609tm.html). So the MAC is the
//!   algorithm 1 computation; it is a separate variant so the service maps the wire names one to
//!   one.
//! - Padding is the caller's job for the three block-chained algorithms (AWS takes the message
//!   already padded to 8 bytes); a message that is not whole 8-byte blocks is refused, not padded.
//!
//! [`verify`] compares in constant time and accepts a presented MAC shorter than the full MAC (at
//! least [`MIN_VERIFY_LEN`] bytes): it compares the leftmost bytes, the ISO 9797-1 truncation.
//!
//! ```
//! use paycrypt_cardcrypto::mac::{self, MacAlgorithm};
//! let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
//! let full = mac::generate(MacAlgorithm::Iso9797Algorithm3, &key, b"Now is the time for all ")?;
//! assert_eq!(hex::encode_upper(&full), "A1C72E74EA3FA9B6");
//! assert!(mac::verify(MacAlgorithm::Iso9797Algorithm3, &key, b"Now is the time for all ", &full[..4])?);
//! # Ok::<(), paycrypt_cardcrypto::Error>(())
//! ```

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use paycrypt_keyblock::kcv::{BlockCipherKind, HmacHash};
use paycrypt_keyblock::sym::{self, Cipher};
use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::cipher::xor_into;
use crate::error::Error;

/// The shortest MAC [`verify`] compares (AWS's `MacLength` minimum is 4 bytes).
pub const MIN_VERIFY_LEN: usize = 4;

/// A MAC algorithm with what it needs to know about its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    /// ISO/IEC 9797-1 MAC algorithm 1: TDES CBC-MAC.
    Iso9797Algorithm1,
    /// ISO/IEC 9797-1 MAC algorithm 3: the retail MAC (single DES chain, TDES last block).
    Iso9797Algorithm3,
    /// AS 2805.4.1 (ISO 16609): ISO/IEC 9797-1 MAC algorithm 1 with TDES.
    As2805_4_1,
    /// CMAC (NIST SP 800-38B, ISO/IEC 9797-1 algorithm 5) with TDES or AES.
    Cmac(BlockCipherKind),
    /// HMAC (RFC 2104) with the key's hash.
    Hmac(HmacHash),
}

/// Computes the full-length MAC of `data` under `key`; the caller truncates it to the MAC
/// length it wants (the leftmost bytes).
///
/// # Errors
/// [`Error::InvalidKeyLength`] for a key the algorithm does not take; [`Error::InvalidInput`]
/// for empty data or, for the ISO 9797-1 and AS 2805.4.1 algorithms, data that is not whole
/// 8-byte blocks.
pub fn generate(algorithm: MacAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    if data.is_empty() {
        return Err(Error::InvalidInput("message data is empty".into()));
    }
    match algorithm {
        MacAlgorithm::Iso9797Algorithm1 | MacAlgorithm::As2805_4_1 => {
            check_blocks(data)?;
            let cipher = Cipher::new(BlockCipherKind::Tdes, key)?;
            Ok(cbc_mac(&cipher, data).to_vec())
        }
        MacAlgorithm::Iso9797Algorithm3 => {
            check_blocks(data)?;
            retail_mac(key, data)
        }
        MacAlgorithm::Cmac(kind) => Ok(sym::cmac(kind, key, data)?.to_vec()),
        // HMAC takes keys of any length; the error arm of `keyed_mac` cannot be reached.
        MacAlgorithm::Hmac(hash) => match hash {
            HmacHash::Sha224 => keyed_mac::<Hmac<Sha224>>(key, data, "HMAC key"),
            HmacHash::Sha256 => keyed_mac::<Hmac<Sha256>>(key, data, "HMAC key"),
            HmacHash::Sha384 => keyed_mac::<Hmac<Sha384>>(key, data, "HMAC key"),
            HmacHash::Sha512 => keyed_mac::<Hmac<Sha512>>(key, data, "HMAC key"),
        },
    }
}

/// Recomputes the MAC of `data` and compares its leftmost `presented.len()` bytes with
/// `presented` in constant time. `Ok(false)` is a MAC that does not verify.
///
/// # Errors
/// As [`generate`], and [`Error::InvalidInput`] when `presented` is shorter than
/// [`MIN_VERIFY_LEN`] or longer than the algorithm's full MAC.
pub fn verify(
    algorithm: MacAlgorithm,
    key: &[u8],
    data: &[u8],
    presented: &[u8],
) -> Result<bool, Error> {
    let full = generate(algorithm, key, data)?;
    verify_prefix(&full, presented)
}

/// Compares `presented` with the leftmost bytes of the full MAC `computed`, in constant time.
///
/// # Errors
/// [`Error::InvalidInput`] when `presented` is shorter than [`MIN_VERIFY_LEN`] or longer than
/// `computed`.
pub fn verify_prefix(computed: &[u8], presented: &[u8]) -> Result<bool, Error> {
    if presented.len() < MIN_VERIFY_LEN || presented.len() > computed.len() {
        return Err(Error::InvalidInput(format!(
            "MAC length must be {MIN_VERIFY_LEN} to {} bytes, got {}",
            computed.len(),
            presented.len()
        )));
    }
    Ok(computed[..presented.len()].ct_eq(presented).into())
}

fn check_blocks(data: &[u8]) -> Result<(), Error> {
    if data.len().is_multiple_of(8) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "message data must be padded to a multiple of 8 bytes for this MAC algorithm, got {}",
            data.len()
        )))
    }
}

/// The last block of a zero-IV CBC encryption of whole blocks.
fn cbc_mac(cipher: &Cipher, data: &[u8]) -> [u8; 8] {
    let mut chain = [0u8; 8];
    for block in data.chunks_exact(8) {
        xor_into(&mut chain, block);
        cipher.ecb_encrypt(&mut chain);
    }
    chain
}

fn retail_mac(key: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    let tdes = Cipher::new(BlockCipherKind::Tdes, key)?;
    let k1 = Cipher::des(&key[..8])?;
    let (init, last) = data.split_at(data.len() - 8);
    let mut chain = if init.is_empty() {
        [0u8; 8]
    } else {
        cbc_mac(&k1, init)
    };
    xor_into(&mut chain, last);
    // E_K1 then D_K2 then E_K3 is the TDES EDE encryption under the whole key.
    tdes.ecb_encrypt(&mut chain);
    Ok(chain.to_vec())
}

fn keyed_mac<M: Mac + KeyInit>(
    key: &[u8],
    data: &[u8],
    what: &'static str,
) -> Result<Vec<u8>, Error> {
    let mut mac = <M as KeyInit>::new_from_slice(key).map_err(|_| Error::InvalidKeyLength {
        what,
        len: key.len(),
    })?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn mac_hex(algorithm: MacAlgorithm, key: &str, data: &[u8]) -> String {
        hex::encode_upper(generate(algorithm, &h(key), data).unwrap())
    }

    const K2: &str = "0123456789ABCDEFFEDCBA9876543210";
    const K3: &str = "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567";
    const NOW: &[u8] = b"Now is the time for all ";

    #[test]
    fn iso9797_algorithm3_published_and_psec() {
        // ISO/IEC 9797-1 annex B.4 (recorded in data-plane.md), also psec 1.3.0
        // `mac.generate_retail_mac(k1, k2, data, 1)`.
        assert_eq!(
            mac_hex(MacAlgorithm::Iso9797Algorithm3, K2, NOW),
            "A1C72E74EA3FA9B6"
        );
        // One block: the retail MAC equals the TDES CBC-MAC (psec 1.3.0, both functions).
        assert_eq!(
            mac_hex(MacAlgorithm::Iso9797Algorithm3, K2, &NOW[..8]),
            "D80A0D8B2BAE5E4E"
        );
        // Three-key key: single DES K1 chain, then D_K2 and E_K3, computed with pycryptodome
        // 4.4.0 DES ECB step by step.
        assert_eq!(
            mac_hex(MacAlgorithm::Iso9797Algorithm3, K3, NOW),
            "5AB5B1465E02A612"
        );
    }

    #[test]
    fn iso9797_algorithm1_and_as2805_psec() {
        // psec 1.3.0 `mac.generate_cbc_mac(key, data, 1)` (TDES CBC-MAC).
        for alg in [MacAlgorithm::Iso9797Algorithm1, MacAlgorithm::As2805_4_1] {
            assert_eq!(mac_hex(alg, K2, NOW), "93462A6DB9B4A4D1");
            assert_eq!(mac_hex(alg, K3, NOW), "B2FBD705B999B15D");
            assert_eq!(mac_hex(alg, K2, &NOW[..8]), "D80A0D8B2BAE5E4E");
        }
    }

    #[test]
    fn cmac_vectors() {
        // NIST SP 800-38B D.1 example 2 (AES-128, one block).
        assert_eq!(
            mac_hex(
                MacAlgorithm::Cmac(BlockCipherKind::Aes),
                "2b7e151628aed2a6abf7158809cf4f3c",
                &h("6bc1bee22e409f96e93d7e117393172a")
            ),
            "070A16B46B4D4144F79BDD9DD04A287C"
        );
        // pyca `cryptography` 50.0.2 CMAC over the first 13 bytes of "Now is the time for all ".
        let tdes = MacAlgorithm::Cmac(BlockCipherKind::Tdes);
        assert_eq!(mac_hex(tdes, K2, &NOW[..13]), "65AE9B76315BD0CE");
        assert_eq!(mac_hex(tdes, K3, &NOW[..13]), "D8BB092DEE0BA13F");
        let aes = MacAlgorithm::Cmac(BlockCipherKind::Aes);
        for (key, expected) in [
            (
                "000102030405060708090a0b0c0d0e0f",
                "26CA94048996F7C2A4695656D0AF3952",
            ),
            (
                "000102030405060708090a0b0c0d0e0f1011121314151617",
                "E31B66A91944ED8D046FB9BD0B57475A",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "192381F4BCE559C1D86109C483791A73",
            ),
        ] {
            assert_eq!(mac_hex(aes, key, &NOW[..13]), expected);
        }
    }

    #[test]
    fn hmac_vectors() {
        // RFC 4231 test case 2 (key "Jefe").
        let data = b"what do ya want for nothing?";
        let key = hex::encode(b"Jefe");
        for (hash, expected) in [
            (
                HmacHash::Sha224,
                "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
            ),
            (
                HmacHash::Sha256,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                HmacHash::Sha384,
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            ),
            (
                HmacHash::Sha512,
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ] {
            assert_eq!(
                mac_hex(MacAlgorithm::Hmac(hash), &key, data),
                expected.to_uppercase()
            );
        }
        // A key longer than the block: pyca `cryptography` 50.0.2 HMAC-SHA256, key 00..C7.
        let long: Vec<u8> = (0..200u8).collect();
        assert_eq!(
            hex::encode_upper(generate(MacAlgorithm::Hmac(HmacHash::Sha256), &long, NOW).unwrap()),
            "7D2E82F1DAEDE4554DCADD28893F3106E78B7237416C997C76527535D63FC888"
        );
    }

    #[test]
    fn verify_by_prefix() {
        let alg = MacAlgorithm::Iso9797Algorithm3;
        let key = h(K2);
        let full = h("A1C72E74EA3FA9B6");
        assert!(verify(alg, &key, NOW, &full).unwrap());
        assert!(verify(alg, &key, NOW, &full[..4]).unwrap());
        assert!(!verify(alg, &key, NOW, &h("A1C72E75")).unwrap());
        assert!(!verify(alg, &key, b"Now is the time for alL ", &full).unwrap());
        assert!(matches!(
            verify(alg, &key, NOW, &full[..3]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            verify(alg, &key, NOW, &[0xA1; 9]),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn refusals() {
        let k = h(K2);
        for alg in [
            MacAlgorithm::Iso9797Algorithm1,
            MacAlgorithm::Iso9797Algorithm3,
            MacAlgorithm::As2805_4_1,
        ] {
            assert!(matches!(
                generate(alg, &k, &NOW[..13]),
                Err(Error::InvalidInput(_))
            ));
            assert!(matches!(
                generate(alg, &[1; 8], NOW),
                Err(Error::InvalidKeyLength { len: 8, .. })
            ));
        }
        assert!(matches!(
            generate(MacAlgorithm::Cmac(BlockCipherKind::Aes), &[1; 8], NOW),
            Err(Error::InvalidKeyLength { len: 8, .. })
        ));
        assert!(matches!(
            generate(MacAlgorithm::Hmac(HmacHash::Sha256), &k, &[]),
            Err(Error::InvalidInput(_))
        ));
    }

    fn any_algorithm() -> impl Strategy<Value = MacAlgorithm> {
        prop_oneof![
            Just(MacAlgorithm::Iso9797Algorithm1),
            Just(MacAlgorithm::Iso9797Algorithm3),
            Just(MacAlgorithm::As2805_4_1),
            Just(MacAlgorithm::Cmac(BlockCipherKind::Tdes)),
            Just(MacAlgorithm::Cmac(BlockCipherKind::Aes)),
            Just(MacAlgorithm::Hmac(HmacHash::Sha224)),
            Just(MacAlgorithm::Hmac(HmacHash::Sha512)),
        ]
    }

    proptest! {
        #[test]
        fn generate_then_verify_or_clean_error(
            alg in any_algorithm(),
            key in proptest::collection::vec(any::<u8>(), 0..40),
            data in proptest::collection::vec(any::<u8>(), 0..40),
            presented in proptest::collection::vec(any::<u8>(), 0..70),
        ) {
            if let Ok(full) = generate(alg, &key, &data) {
                prop_assert!(verify(alg, &key, &data, &full).unwrap());
                prop_assert!(verify(alg, &key, &data, &full[..MIN_VERIFY_LEN]).unwrap());
            }
            let _ = verify(alg, &key, &data, &presented);
        }
    }
}
