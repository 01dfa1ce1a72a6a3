//! RSA data encryption (EncryptData / DecryptData with `Asymmetric` attributes): PKCS #1 v1.5 and
//! OAEP with SHA-1, SHA-256 or SHA-512 (MGF1 over the same hash, empty label), on aws-lc-rs as
//! the keyblock crate's key cryptograms are. Encryption takes the public key as
//! SubjectPublicKeyInfo DER, decryption the private key as PKCS #8 DER.
//!
//! The plaintext is at most the modulus length minus 11 bytes (PKCS #1 v1.5) or minus
//! 2 + 2 x hash length (OAEP); the ciphertext is exactly the modulus length. A ciphertext that
//! does not decrypt is [`Error::DecryptionFailed`], whatever the cause (wrong key, wrong padding,
//! altered bytes), so the error says nothing an oracle could use.
//!
//! AWS also documents RSA encryption without padding ("plaintext ... equal to the key size
//! unless padding is enabled"); raw RSA is not offered here.
//!
//! ```
//! use paycrypt_cardcrypto::rsa::{self, RsaPadding};
//! use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
//! let pair = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
//! let ct = rsa::encrypt(&pair.public_spki_der, RsaPadding::OaepSha256, b"card data")?;
//! let pt = rsa::decrypt(pair.private_pkcs8_der.expose(), RsaPadding::OaepSha256, &ct)?;
//! assert_eq!(pt, b"card data");
//! # Ok::<(), paycrypt_cardcrypto::Error>(())
//! ```

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA512_MGF1SHA512, OaepAlgorithm,
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use zeroize::Zeroizing;

use crate::error::Error;

/// The padding scheme (the model's `PaddingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RsaPadding {
    /// PKCS #1 v1.5 encryption padding (`PKCS1`).
    Pkcs1,
    /// OAEP with SHA-1 and MGF1-SHA-1 (`OAEP_SHA1`).
    OaepSha1,
    /// OAEP with SHA-256 and MGF1-SHA-256 (`OAEP_SHA256`).
    OaepSha256,
    /// OAEP with SHA-512 and MGF1-SHA-512 (`OAEP_SHA512`).
    OaepSha512,
}

impl RsaPadding {
    fn oaep(self) -> Option<&'static OaepAlgorithm> {
        match self {
            Self::Pkcs1 => None,
            Self::OaepSha1 => Some(&OAEP_SHA1_MGF1SHA1),
            Self::OaepSha256 => Some(&OAEP_SHA256_MGF1SHA256),
            Self::OaepSha512 => Some(&OAEP_SHA512_MGF1SHA512),
        }
    }
}

/// Encrypts `plaintext` under the RSA public key `public_spki_der` (SubjectPublicKeyInfo DER).
/// The padding's randomness comes from aws-lc's CSPRNG, seeded by the operating system.
///
/// # Errors
/// [`Error::InvalidPublicKey`] if the key does not parse as an RSA public key;
/// [`Error::InvalidInput`] for empty data; [`Error::PlaintextTooLong`] if the plaintext does not
/// fit the modulus with this padding.
pub fn encrypt(
    public_spki_der: &[u8],
    padding: RsaPadding,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let public = PublicEncryptingKey::from_der(public_spki_der)
        .map_err(|_| Error::InvalidPublicKey("not an RSA SubjectPublicKeyInfo"))?;
    if plaintext.is_empty() {
        return Err(Error::InvalidInput("data to encrypt is empty".into()));
    }
    let failed = |_| Error::InvalidPublicKey("RSA encryption failed");
    let too_long = |max: usize| Error::PlaintextTooLong {
        len: plaintext.len(),
        max,
    };
    let mut out = vec![0u8; public.key_size_bytes()];
    let len = match padding.oaep() {
        None => {
            let key = Pkcs1PublicEncryptingKey::new(public).map_err(failed)?;
            if plaintext.len() > key.max_plaintext_size() {
                return Err(too_long(key.max_plaintext_size()));
            }
            key.encrypt(plaintext, &mut out).map_err(failed)?.len()
        }
        Some(algorithm) => {
            let key = OaepPublicEncryptingKey::new(public).map_err(failed)?;
            if plaintext.len() > key.max_plaintext_size(algorithm) {
                return Err(too_long(key.max_plaintext_size(algorithm)));
            }
            key.encrypt(algorithm, plaintext, &mut out, None)
                .map_err(failed)?
                .len()
        }
    };
    out.truncate(len);
    Ok(out)
}

/// Decrypts `ciphertext` with the RSA private key `private_pkcs8_der` (PKCS #8 DER).
///
/// # Errors
/// [`Error::InvalidPrivateKey`] if the key does not parse as an RSA private key;
/// [`Error::DecryptionFailed`] if the ciphertext is not the modulus length or does not decrypt
/// under this key and padding.
pub fn decrypt(
    private_pkcs8_der: &[u8],
    padding: RsaPadding,
    ciphertext: &[u8],
) -> Result<Vec<u8>, Error> {
    let private = PrivateDecryptingKey::from_pkcs8(private_pkcs8_der)
        .map_err(|_| Error::InvalidPrivateKey("not an RSA PKCS#8 private key"))?;
    if ciphertext.len() != private.key_size_bytes() {
        return Err(Error::DecryptionFailed);
    }
    let mut buf = Zeroizing::new(vec![0u8; private.key_size_bytes()]);
    let failed = |_| Error::DecryptionFailed;
    let plain = match padding.oaep() {
        None => Pkcs1PrivateDecryptingKey::new(private)
            .map_err(failed)?
            .decrypt(ciphertext, &mut buf)
            .map_err(failed)?
            .to_vec(),
        Some(algorithm) => OaepPrivateDecryptingKey::new(private)
            .map_err(failed)?
            .decrypt(algorithm, ciphertext, &mut buf, None)
            .map_err(failed)?
            .to_vec(),
    };
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
    use proptest::prelude::*;

    const ALL: [RsaPadding; 4] = [
        RsaPadding::Pkcs1,
        RsaPadding::OaepSha1,
        RsaPadding::OaepSha256,
        RsaPadding::OaepSha512,
    ];

    /// The fixture's hex values, comment lines skipped.
    fn fixture() -> Vec<Vec<u8>> {
        include_str!("../tests/fixtures/rsa2048_vectors.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| hex::decode(l.trim()).unwrap())
            .collect()
    }

    #[test]
    fn decrypts_what_pyca_cryptography_encrypted() {
        // pyca `cryptography` 50.0.2 made the key and the four ciphertexts (see the fixture).
        let f = fixture();
        let (private, public) = (&f[0], &f[1]);
        let plaintext = hex::decode("0123456789ABCDEF0123456789ABCDEF").unwrap();
        for (padding, ciphertext) in ALL.iter().zip(&f[2..]) {
            assert_eq!(
                decrypt(private, *padding, ciphertext).unwrap(),
                plaintext,
                "{padding:?}"
            );
            let ours = encrypt(public, *padding, &plaintext).unwrap();
            assert_eq!(ours.len(), 256);
            assert_eq!(decrypt(private, *padding, &ours).unwrap(), plaintext);
        }
        // The wrong padding never yields the plaintext.
        for (i, ciphertext) in f[2..].iter().enumerate() {
            let other = ALL[(i + 1) % ALL.len()];
            assert!(!matches!(decrypt(private, other, ciphertext), Ok(p) if p == plaintext));
        }
    }

    #[test]
    fn lengths_and_bad_inputs() {
        let f = fixture();
        let (private, public) = (&f[0], &f[1]);
        // 2048-bit modulus: 245 bytes with PKCS #1 v1.5, 256 - 2 - 2 * 64 = 126 with OAEP-SHA-512.
        assert!(encrypt(public, RsaPadding::Pkcs1, &[1; 245]).is_ok());
        assert_eq!(
            encrypt(public, RsaPadding::Pkcs1, &[1; 246]),
            Err(Error::PlaintextTooLong { len: 246, max: 245 })
        );
        assert!(encrypt(public, RsaPadding::OaepSha512, &[1; 126]).is_ok());
        assert_eq!(
            encrypt(public, RsaPadding::OaepSha512, &[1; 127]),
            Err(Error::PlaintextTooLong { len: 127, max: 126 })
        );
        assert!(matches!(
            encrypt(public, RsaPadding::Pkcs1, &[]),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            encrypt(private, RsaPadding::Pkcs1, &[1]),
            Err(Error::InvalidPublicKey(_))
        ));
        assert!(matches!(
            decrypt(public, RsaPadding::Pkcs1, &[0; 256]),
            Err(Error::InvalidPrivateKey(_))
        ));
        assert_eq!(
            decrypt(private, RsaPadding::OaepSha256, &[0; 255]),
            Err(Error::DecryptionFailed)
        );
        let mut altered = f[4].clone();
        altered[100] ^= 1;
        assert_eq!(
            decrypt(private, RsaPadding::OaepSha256, &altered),
            Err(Error::DecryptionFailed)
        );
    }

    #[test]
    fn generated_ec_key_is_refused() {
        let ec = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP256).unwrap();
        assert!(matches!(
            encrypt(&ec.public_spki_der, RsaPadding::OaepSha1, &[1]),
            Err(Error::InvalidPublicKey(_))
        ));
        assert!(matches!(
            decrypt(
                ec.private_pkcs8_der.expose(),
                RsaPadding::OaepSha1,
                &[1; 32]
            ),
            Err(Error::InvalidPrivateKey(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn round_trip_and_no_panic(
            padding in prop_oneof![
                Just(RsaPadding::Pkcs1), Just(RsaPadding::OaepSha1),
                Just(RsaPadding::OaepSha256), Just(RsaPadding::OaepSha512)
            ],
            data in proptest::collection::vec(any::<u8>(), 0..300),
            junk in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let f = fixture();
            if let Ok(ct) = encrypt(&f[1], padding, &data) {
                prop_assert_eq!(decrypt(&f[0], padding, &ct).unwrap(), data.clone());
            }
            let _ = decrypt(&f[0], padding, &junk);
            let _ = encrypt(&junk, padding, &data);
            let _ = decrypt(&junk, padding, &data);
        }
    }
}
