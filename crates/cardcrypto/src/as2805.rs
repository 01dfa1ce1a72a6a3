//! AS 2805.6.3 KEK validation (GenerateAs2805KekValidation): two nodes prove to each other that
//! they hold the same key encryption key before exchanging session keys.
//!
//! The scheme, as AWS Payment Cryptography runs it (facts from AWS's own sample that exchanges
//! validations with the service in both directions and compares the results,
//! aws-samples/samples-for-payment-cryptography-service,
//! `python_sdk_example/as2805_node-to-node_examples/as2805_1_5_KEK_Validation.py`):
//! - KRs is a random key; KRr is its bitwise inverse with each byte then set to odd parity (the
//!   low bit flipped where the bit count is even).
//! - `RandomKeySend` is KRs encrypted under the KEK XOR the **request** mask, `RandomKeyReceive`
//!   is KRr encrypted under the KEK XOR the **response** mask, both TDES-CBC with a zero IV over
//!   the whole key (8, 16 or 24 bytes).
//! - For `VARIANT_MASK_82` the request mask is `82` in every byte and the response mask `84` in
//!   every byte (the sample's constants). For `VARIANT_MASK_82C0` the request mask is `82C0`
//!   repeated; the response mask `84C0` repeated is this crate's reading by analogy (no public
//!   sample shows it).
//!
//! The model's two forms:
//! - **request** (`KekValidationRequest`): generate KRs (here: the caller's random bytes, set to
//!   odd parity), return both cryptograms; the caller keeps `RandomKeyReceive` to compare with
//!   what the partner answers.
//! - **response** (`KekValidationResponse{RandomKeySend}`): decrypt the partner's KRs under the
//!   request mask, invert it, return it encrypted under the response mask as `RandomKeyReceive`
//!   (and the incoming `RandomKeySend` unchanged).
//!
//! ```
//! use paycrypt_cardcrypto::as2805::{self, VariantMask};
//! let kek = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
//! let ours = as2805::kek_validation_request(&kek, VariantMask::Mask82, &[0x5A; 16])?;
//! // The partner, holding the same KEK, answers our RandomKeySend with our RandomKeyReceive.
//! let theirs = as2805::kek_validation_response(&kek, VariantMask::Mask82, &ours.random_key_send)?;
//! assert_eq!(theirs.random_key_receive, ours.random_key_receive);
//! # Ok::<(), paycrypt_cardcrypto::Error>(())
//! ```

use paycrypt_keyblock::kcv::BlockCipherKind;
use paycrypt_keyblock::sym::Cipher;
use zeroize::Zeroizing;

use crate::error::Error;

/// The model's `RandomKeySendVariantMask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VariantMask {
    /// `VARIANT_MASK_82`: `82` (request) and `84` (response) in every byte of the KEK.
    Mask82,
    /// `VARIANT_MASK_82C0`: `82C0` (request) and `84C0` (response) repeated over the KEK.
    Mask82C0,
}

impl VariantMask {
    fn request(self) -> &'static [u8] {
        match self {
            Self::Mask82 => &[0x82],
            Self::Mask82C0 => &[0x82, 0xC0],
        }
    }

    fn response(self) -> &'static [u8] {
        match self {
            Self::Mask82 => &[0x84],
            Self::Mask82C0 => &[0x84, 0xC0],
        }
    }
}

/// The two cryptograms of a KEK validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekValidation {
    /// KRs under the KEK's request variant.
    pub random_key_send: Vec<u8>,
    /// KRr (the inverse of KRs) under the KEK's response variant.
    pub random_key_receive: Vec<u8>,
}

/// A KEK validation request: KRs is `random` (8, 16 or 24 bytes) set to odd parity.
///
/// # Errors
/// [`Error::InvalidKeyLength`] unless the KEK is 16 or 24 bytes (TDES) and `random` 8, 16 or 24.
pub fn kek_validation_request(
    kek: &[u8],
    mask: VariantMask,
    random: &[u8],
) -> Result<KekValidation, Error> {
    check_random_key(random.len())?;
    let mut krs = Zeroizing::new(random.to_vec());
    krs.iter_mut().for_each(|b| *b = odd_parity(*b));
    let random_key_send = encrypt(kek, mask.request(), &krs)?;
    let krr = invert(&krs);
    let random_key_receive = encrypt(kek, mask.response(), &krr)?;
    Ok(KekValidation {
        random_key_send,
        random_key_receive,
    })
}

/// A KEK validation response to the partner's `random_key_send` (8, 16 or 24 bytes).
///
/// # Errors
/// [`Error::InvalidKeyLength`] unless the KEK is 16 or 24 bytes and `random_key_send` 8, 16 or
/// 24. There is no integrity check: a different KEK yields a different `random_key_receive`,
/// which the partner's comparison catches.
pub fn kek_validation_response(
    kek: &[u8],
    mask: VariantMask,
    random_key_send: &[u8],
) -> Result<KekValidation, Error> {
    check_random_key(random_key_send.len())?;
    let mut krs = Zeroizing::new(random_key_send.to_vec());
    masked_cipher(kek, mask.request())?.cbc_decrypt(&[0u8; 8], &mut krs);
    let krr = invert(&krs);
    Ok(KekValidation {
        random_key_send: random_key_send.to_vec(),
        random_key_receive: encrypt(kek, mask.response(), &krr)?,
    })
}

fn check_random_key(len: usize) -> Result<(), Error> {
    if matches!(len, 8 | 16 | 24) {
        Ok(())
    } else {
        Err(Error::InvalidKeyLength {
            what: "AS 2805 random key",
            len,
        })
    }
}

/// The byte with its low bit set so that it has an odd number of one bits.
fn odd_parity(byte: u8) -> u8 {
    if byte.count_ones().is_multiple_of(2) {
        byte ^ 1
    } else {
        byte
    }
}

/// KRr: the bitwise inverse of KRs, each byte then set to odd parity.
fn invert(krs: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(krs.iter().map(|b| odd_parity(!b)).collect())
}

/// The KEK XOR `pattern` repeated over its length, keyed as TDES.
fn masked_cipher(kek: &[u8], pattern: &[u8]) -> Result<Cipher, Error> {
    if !matches!(kek.len(), 16 | 24) {
        return Err(Error::InvalidKeyLength {
            what: "AS 2805 key encryption key (TDES)",
            len: kek.len(),
        });
    }
    let masked = Zeroizing::new(
        kek.iter()
            .zip(pattern.iter().cycle())
            .map(|(k, m)| k ^ m)
            .collect::<Vec<u8>>(),
    );
    Ok(Cipher::new(BlockCipherKind::Tdes, &masked)?)
}

fn encrypt(kek: &[u8], pattern: &[u8], key: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = key.to_vec();
    masked_cipher(kek, pattern)?.cbc_encrypt(&[0u8; 8], &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn up(b: &[u8]) -> String {
        hex::encode_upper(b)
    }

    const KEK: &str = "0123456789ABCDEFFEDCBA9876543210";

    // Expected values computed with pyca `cryptography` 50.0.2 (TripleDES CBC, zero IV) following
    // the steps of AWS's sample as2805_1_5_KEK_Validation.py (see the module doc); random input
    // 00112233445566778899AABBCCDDEEFF, which odd parity makes 01102332455467768998ABBACDDCEFFE.
    #[test]
    fn request_known_answers() {
        let kek = h(KEK);
        let random = h("00112233445566778899AABBCCDDEEFF");
        let v = kek_validation_request(&kek, VariantMask::Mask82, &random).unwrap();
        assert_eq!(up(&v.random_key_send), "AFAA7C7B90C91DCFF825BAAF87202BD6");
        assert_eq!(
            up(&v.random_key_receive),
            "A2D72D9B5694B1AE4E6DEF9A70ABAA70"
        );
        let v = kek_validation_request(&kek, VariantMask::Mask82C0, &random).unwrap();
        assert_eq!(up(&v.random_key_send), "6D75601E3D76FA761F5AFD50F4C2883C");
        assert_eq!(
            up(&v.random_key_receive),
            "9A854F2CCA07D41316FB4E139D09ECB3"
        );
        // Three-key KEK, 8-byte random key (pyca `cryptography` 50.0.2 as above).
        let kek3 = h("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567");
        let v =
            kek_validation_request(&kek3, VariantMask::Mask82C0, &h("A1B2C3D4E5F60718")).unwrap();
        assert_eq!(up(&v.random_key_send), "C1660AAF6BB25B95");
        assert_eq!(up(&v.random_key_receive), "71F4FD65880AC748");
    }

    #[test]
    fn response_known_answer() {
        // The partner sent 0000000000000000FFFFFFFFFFFFFFFF (no parity) under KEK ^ 82..;
        // the answer inverts it and sets odd parity (pyca `cryptography` 50.0.2 as above).
        let incoming = h("100508245DF172C76299B13F63E05CEE");
        let v = kek_validation_response(&h(KEK), VariantMask::Mask82, &incoming).unwrap();
        assert_eq!(v.random_key_send, incoming);
        assert_eq!(
            up(&v.random_key_receive),
            "88D102632EDE6F6241AAD2BF73B811E6"
        );
    }

    #[test]
    fn wrong_kek_or_mask_does_not_validate() {
        let ours = kek_validation_request(&h(KEK), VariantMask::Mask82, &[7; 16]).unwrap();
        let other_kek =
            kek_validation_response(&[0x11; 16], VariantMask::Mask82, &ours.random_key_send)
                .unwrap();
        assert_ne!(other_kek.random_key_receive, ours.random_key_receive);
        let other_mask =
            kek_validation_response(&h(KEK), VariantMask::Mask82C0, &ours.random_key_send).unwrap();
        assert_ne!(other_mask.random_key_receive, ours.random_key_receive);
    }

    #[test]
    fn lengths_are_checked() {
        assert!(matches!(
            kek_validation_request(&[1; 8], VariantMask::Mask82, &[0; 16]),
            Err(Error::InvalidKeyLength { len: 8, .. })
        ));
        assert!(matches!(
            kek_validation_request(&[1; 16], VariantMask::Mask82, &[0; 12]),
            Err(Error::InvalidKeyLength { len: 12, .. })
        ));
        assert!(matches!(
            kek_validation_response(&[1; 32], VariantMask::Mask82C0, &[0; 16]),
            Err(Error::InvalidKeyLength { len: 32, .. })
        ));
    }

    proptest! {
        #[test]
        fn partner_with_same_kek_agrees(
            kek in proptest::collection::vec(any::<u8>(), 0..30),
            random in proptest::collection::vec(any::<u8>(), 0..30),
            c0 in any::<bool>(),
        ) {
            let mask = if c0 { VariantMask::Mask82C0 } else { VariantMask::Mask82 };
            if let Ok(ours) = kek_validation_request(&kek, mask, &random) {
                let theirs = kek_validation_response(&kek, mask, &ours.random_key_send).unwrap();
                prop_assert_eq!(theirs.random_key_receive, ours.random_key_receive);
            }
        }
    }
}
