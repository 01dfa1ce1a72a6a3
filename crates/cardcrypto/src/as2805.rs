//! AS 2805.6 node-to-node functions: KEK validation and the per-transaction PIN key.
//!
//! # KEK validation (GenerateAs2805KekValidation)
//!
//! Two nodes prove to each other that they hold the same key encryption key before exchanging
//! session keys.
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
//!
//! # Session PIN key (TranslatePinData's `IncomingAs2805Attributes`)
//!
//! A PIN block travels under a per-transaction key KPE derived from the PIN key KPP the nodes
//! share, with the transaction's system trace audit number (STAN) and amount as derivation data.
//! Facts from AWS's own sample that has the service translate such a block and checks the result,
//! aws-samples/samples-for-payment-cryptography-service (commit 388e9320),
//! `python_sdk_example/as2805_node-to-node_examples/as2805_3_1_pin_translation.py`, which cites
//! AS 2805 section 6.6.3 (the AWS user guide's "PIN translation" page calls the scheme 6.4):
//! - field E is the 6-digit STAN followed by ten `0` digits, field F four `0` digits followed by
//!   the 12-digit amount; the 32 digits read as hexadecimal are D = E || F (16 bytes);
//! - KPE = OWF(KPP, D), where OWF(K, D) = TDES-CBC(K, D, IV = MAC) XOR D and MAC is the last
//!   block of TDES-CBC(K, D, IV = 0); KPE is a two-key TDES key, its parity left as it comes;
//! - the PIN block (ISO format 0 in the sample) is TDES-ECB under KPE.
//!
//! No published test vector exists (the standard is not public): this crate's known answers
//! come from an independent computation of the sample's steps.
//!
//! ```
//! use paycrypt_cardcrypto::as2805;
//! let kpp = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
//! let kpe = as2805::session_pin_key(&kpp, "000438", "000000000328")?;
//! assert_eq!(kpe.len(), 16);
//! assert!(as2805::session_pin_key(&kpp, "438", "000000000328").is_err());
//! # Ok::<(), paycrypt_cardcrypto::Error>(())
//! ```

use paycrypt_keyblock::SecretBytes;
use paycrypt_keyblock::kcv::BlockCipherKind;
use paycrypt_keyblock::sym::Cipher;
use zeroize::Zeroizing;

use crate::digits::{check_decimal, digit_values, pack_into};
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
    let masked = Zeroizing::new(
        kek.iter()
            .zip(pattern.iter().cycle())
            .map(|(k, m)| k ^ m)
            .collect::<Vec<u8>>(),
    );
    tdes(&masked, "AS 2805 key encryption key (TDES)")
}

/// `key` keyed as TDES; `what` names it in the error when it is not 16 or 24 bytes.
fn tdes(key: &[u8], what: &'static str) -> Result<Cipher, Error> {
    if !matches!(key.len(), 16 | 24) {
        return Err(Error::InvalidKeyLength {
            what,
            len: key.len(),
        });
    }
    Ok(Cipher::new(BlockCipherKind::Tdes, key)?)
}

fn encrypt(kek: &[u8], pattern: &[u8], key: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = key.to_vec();
    masked_cipher(kek, pattern)?.cbc_encrypt(&[0u8; 8], &mut out);
    Ok(out)
}

/// The length of a system trace audit number, in decimal digits.
const STAN_DIGITS: usize = 6;

/// The length of a transaction amount, in decimal digits.
const AMOUNT_DIGITS: usize = 12;

/// The session PIN key KPE of one transaction: OWF(KPP, D), D built from the transaction's
/// 6-digit system trace audit number and 12-digit amount (see the module doc). KPE is 16 bytes.
///
/// # Errors
/// [`Error::InvalidKeyLength`] unless KPP is 16 or 24 bytes (TDES); [`Error::InvalidInput`]
/// unless the STAN is 6 decimal digits and the amount 12.
pub fn session_pin_key(kpp: &[u8], stan: &str, amount: &str) -> Result<SecretBytes, Error> {
    let data = derivation_data(stan, amount)?;
    let kpe = one_way_function(kpp, &data)?;
    Ok(SecretBytes::new(kpe.to_vec()))
}

/// D = E || F: the STAN left-justified in 16 zero digits (E), the amount right-justified in 16
/// zero digits (F), the 32 digits read as hexadecimal.
fn derivation_data(stan: &str, amount: &str) -> Result<[u8; 16], Error> {
    check_decimal(stan, "SystemTraceAuditNumber", STAN_DIGITS, STAN_DIGITS)?;
    check_decimal(amount, "TransactionAmount", AMOUNT_DIGITS, AMOUNT_DIGITS)?;
    let zeros = std::iter::repeat_n(0, 32 - STAN_DIGITS - AMOUNT_DIGITS);
    let mut data = [0u8; 16];
    pack_into(
        digit_values(stan).chain(zeros).chain(digit_values(amount)),
        &mut data,
    );
    Ok(data)
}

/// AS 2805's one-way function of `data` under the TDES key `key`: TDES-CBC(key, data, IV = MAC)
/// XOR data, where MAC is the last block of TDES-CBC(key, data, IV = 0).
fn one_way_function(key: &[u8], data: &[u8; 16]) -> Result<Zeroizing<[u8; 16]>, Error> {
    let cipher = tdes(key, "AS 2805 PIN key (TDES)")?;
    let mut chained = Zeroizing::new(*data);
    cipher.cbc_encrypt(&[0u8; 8], &mut chained[..]);
    let mut out = Zeroizing::new(*data);
    cipher.cbc_encrypt(&chained[8..], &mut out[..]);
    out.iter_mut().zip(data).for_each(|(o, d)| *o ^= d);
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

    // Expected values computed with pyca `cryptography` 48.0.0 (TripleDES CBC and ECB) following
    // the steps of AWS's sample as2805_3_1_pin_translation.py (see the module doc), by the same
    // independent code as tests/compat/test_data_plane_cards_pins.py's `as2805_kpe`. The first
    // case is the sample's own STAN, amount and clear PIN block 041010DBDBDBDBDB under a KPP
    // chosen here.
    #[test]
    fn one_way_function_known_answer() {
        let data: [u8; 16] = h("00043800000000000000000000000328").try_into().unwrap();
        assert_eq!(
            up(&*one_way_function(&h(KEK), &data).unwrap()),
            "7F46E32285BDBABF23CB576EDAD17EB3"
        );
    }

    #[test]
    fn session_pin_key_known_answers() {
        let kpe = session_pin_key(&h(KEK), "000438", "000000000328").unwrap();
        assert_eq!(up(kpe.expose()), "7F46E32285BDBABF23CB576EDAD17EB3");
        let mut block = h("041010DBDBDBDBDB");
        Cipher::new(BlockCipherKind::Tdes, kpe.expose())
            .unwrap()
            .ecb_encrypt(&mut block);
        assert_eq!(up(&block), "82B51C4EFEAB13D3");
        // A three-key KPP still gives a two-key KPE.
        let kpp3 = h("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567");
        let kpe = session_pin_key(&kpp3, "123456", "000000001000").unwrap();
        assert_eq!(up(kpe.expose()), "28E1D6F5927E07A36B1743119DFBA808");
    }

    #[test]
    fn derivation_data_places_stan_and_amount() {
        assert_eq!(
            up(&derivation_data("123456", "987654321098").unwrap()),
            "12345600000000000000987654321098"
        );
    }

    #[test]
    fn session_pin_key_inputs_are_checked() {
        let kpp = h(KEK);
        for (stan, amount) in [
            ("12345", "000000001000"),
            ("1234567", "000000001000"),
            ("12345A", "000000001000"),
            ("123456", "00000000100"),
            ("123456", "0000000010000"),
            ("123456", "00000000100F"),
            ("123456", "+00000001000"),
        ] {
            assert!(matches!(
                session_pin_key(&kpp, stan, amount),
                Err(Error::InvalidInput(_))
            ));
        }
        assert!(matches!(
            session_pin_key(&[1; 8], "123456", "000000001000"),
            Err(Error::InvalidKeyLength { len: 8, .. })
        ));
        assert!(matches!(
            session_pin_key(&[1; 32], "123456", "000000001000"),
            Err(Error::InvalidKeyLength { len: 32, .. })
        ));
    }

    proptest! {
        #[test]
        fn every_transaction_has_its_own_key(stan in 0u32..1_000_000, amount in 0u64..1_000_000_000_000) {
            let kpp = h(KEK);
            let stan_text = format!("{stan:06}");
            let amount_text = format!("{amount:012}");
            let kpe = |stan: &str, amount: &str| session_pin_key(&kpp, stan, amount).unwrap().expose().to_vec();
            let next_stan = format!("{:06}", (stan + 1) % 1_000_000);
            let next_amount = format!("{:012}", (amount + 1) % 1_000_000_000_000);
            let ours = kpe(&stan_text, &amount_text);
            prop_assert_ne!(&ours, &kpe(&next_stan, &amount_text));
            prop_assert_ne!(&ours, &kpe(&stan_text, &next_amount));
        }
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
