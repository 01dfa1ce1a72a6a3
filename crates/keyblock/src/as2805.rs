//! AS 2805.6 key cryptograms: a TDES key encrypted under a variant of a TDES key encryption key,
//! the form AS 2805 nodes exchange working keys in (ImportKey/ExportKey `As2805KeyCryptogram`).
//!
//! The scheme, as AWS Payment Cryptography applies it (facts from
//! aws-samples/samples-for-payment-cryptography-service,
//! `python_sdk_example/as2805_node-to-node_examples/as2805_2_1_Working_Key_Exchange.py`, which
//! exchanges keys both ways with the service and checks their KCVs):
//! - the variant mask is the two bytes `VV C0` repeated over the length of the KEK, with `VV` the
//!   variant number (`28` PIN encryption, `24` message authentication, `22` data encryption);
//!   the terminal major key variant `00` follows the same pattern (`00C0`), which no public
//!   sample shows;
//! - the mask is XORed into the KEK (masks of even bit count keep the KEK's DES parity);
//! - the key (16 or 24 bytes) is encrypted with TDES-CBC under the masked KEK and a zero IV.
//!
//! ```
//! use paycrypt_keyblock::as2805::{self, Variant};
//! let kek = [0x11u8; 16];
//! let key = [0x22u8; 16];
//! let cryptogram = as2805::wrap(&kek, Variant::PinEncryption, &key).unwrap();
//! let opened = as2805::unwrap(&kek, Variant::PinEncryption, &cryptogram).unwrap();
//! assert_eq!(opened.expose(), &key);
//! ```

use zeroize::Zeroizing;

use crate::error::Error;
use crate::kcv::BlockCipherKind;
use crate::secret::SecretBytes;
use crate::sym::Cipher;

/// What the key under the cryptogram is for; each names the variant of the KEK that wraps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Variant 00: a terminal major key (a key encryption key).
    TerminalMajorKey,
    /// Variant 28: a PIN encryption key.
    PinEncryption,
    /// Variant 24: a message authentication key.
    MessageAuthentication,
    /// Variant 22: a data encryption key.
    DataEncryption,
}

impl Variant {
    /// The variant number, the first byte of each two-byte step of the mask.
    pub fn number(self) -> u8 {
        match self {
            Self::TerminalMajorKey => 0x00,
            Self::PinEncryption => 0x28,
            Self::MessageAuthentication => 0x24,
            Self::DataEncryption => 0x22,
        }
    }
}

/// The second byte of each two-byte step of every variant mask.
const MASK_SECOND_BYTE: u8 = 0xC0;

/// The KEK with the variant's mask XORed in, keyed as TDES.
fn variant_cipher(kek: &[u8], variant: Variant) -> Result<Cipher, Error> {
    if !matches!(kek.len(), 16 | 24) {
        return Err(Error::InvalidKeyLength {
            what: "AS 2805 key encryption key (TDES)",
            len: kek.len(),
        });
    }
    let mut masked = Zeroizing::new(kek.to_vec());
    for (i, byte) in masked.iter_mut().enumerate() {
        *byte ^= if i % 2 == 0 {
            variant.number()
        } else {
            MASK_SECOND_BYTE
        };
    }
    Cipher::new(BlockCipherKind::Tdes, &masked)
}

fn check_key_length(len: usize, what: &'static str) -> Result<(), Error> {
    if matches!(len, 16 | 24) {
        Ok(())
    } else {
        Err(Error::InvalidKeyLength { what, len })
    }
}

/// Encrypts a TDES key (16 or 24 bytes) under the `variant` of `kek`.
pub fn wrap(kek: &[u8], variant: Variant, key: &[u8]) -> Result<Vec<u8>, Error> {
    check_key_length(key.len(), "AS 2805 key (TDES)")?;
    let cipher = variant_cipher(kek, variant)?;
    let mut out = key.to_vec();
    cipher.cbc_encrypt(&[0u8; 8], &mut out);
    Ok(out)
}

/// Decrypts a cryptogram of 16 or 24 bytes made under the `variant` of `kek`. There is no
/// integrity check in the format: a wrong KEK or variant yields another key, which the caller's
/// key check value comparison catches.
pub fn unwrap(kek: &[u8], variant: Variant, cryptogram: &[u8]) -> Result<SecretBytes, Error> {
    check_key_length(cryptogram.len(), "AS 2805 cryptogram")?;
    let cipher = variant_cipher(kek, variant)?;
    let mut clear = Zeroizing::new(cryptogram.to_vec());
    cipher.cbc_decrypt(&[0u8; 8], &mut clear);
    Ok(SecretBytes::new(clear.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers computed independently with pyca `cryptography` 50 (TripleDES, CBC, zero
    // IV) from the scheme in the module doc: KEK 0123456789ABCDEFFEDCBA9876543210, key
    // 89ABCDEF0123456776543210FEDCBA98.
    const KEK: &str = "0123456789ABCDEFFEDCBA9876543210";
    const KEY: &str = "89ABCDEF0123456776543210FEDCBA98";

    fn bytes(hex_text: &str) -> Vec<u8> {
        hex::decode(hex_text).unwrap()
    }

    #[test]
    fn known_answers_for_every_variant() {
        for (variant, expected) in [
            (
                Variant::TerminalMajorKey,
                "C786C1AB343A5D764416ED436262F7A6",
            ),
            (Variant::PinEncryption, "283353B15171638522838EC58E0643AA"),
            (
                Variant::MessageAuthentication,
                "A63809FB674229575BB772160397F198",
            ),
            (Variant::DataEncryption, "170BD5F59BCACDDA4A70C0D1CA65ECA2"),
        ] {
            let wrapped = wrap(&bytes(KEK), variant, &bytes(KEY)).unwrap();
            assert_eq!(hex::encode_upper(&wrapped), expected, "{variant:?}");
            let opened = unwrap(&bytes(KEK), variant, &wrapped).unwrap();
            assert_eq!(opened.expose(), bytes(KEY).as_slice());
        }
    }

    #[test]
    fn three_key_kek_and_key() {
        // pyca `cryptography`, as above, with a 24-byte KEK, mask 22C0 x 12 and a 24-byte key.
        let kek = bytes("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567");
        let key = bytes("F1F1F1F1F1F1F1F1E0E0E0E0E0E0E0E0D3D3D3D3D3D3D3D3");
        let wrapped = wrap(&kek, Variant::DataEncryption, &key).unwrap();
        assert_eq!(
            hex::encode_upper(&wrapped),
            "77B9206038C7AD142F40FDF7BD7057CB9B27046E40B6BEC8"
        );
    }

    #[test]
    fn another_variant_opens_to_another_key() {
        let wrapped = wrap(&bytes(KEK), Variant::PinEncryption, &bytes(KEY)).unwrap();
        let opened = unwrap(&bytes(KEK), Variant::DataEncryption, &wrapped).unwrap();
        assert_ne!(opened.expose(), bytes(KEY).as_slice());
    }

    #[test]
    fn lengths_are_checked() {
        assert!(matches!(
            wrap(&[1u8; 8], Variant::PinEncryption, &[2u8; 16]),
            Err(Error::InvalidKeyLength { len: 8, .. })
        ));
        assert!(matches!(
            wrap(&[1u8; 16], Variant::PinEncryption, &[2u8; 32]),
            Err(Error::InvalidKeyLength { len: 32, .. })
        ));
        assert!(matches!(
            unwrap(&[1u8; 16], Variant::PinEncryption, &[2u8; 15]),
            Err(Error::InvalidKeyLength { len: 15, .. })
        ));
    }
}
