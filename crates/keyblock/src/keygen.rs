//! Key generation: symmetric keys from a caller-supplied CSPRNG, asymmetric key pairs from
//! the crypto provider (aws-lc-rs, seeded by the operating system).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, KeyPair as _};
use rand_core::CryptoRng;

use crate::error::Error;
use crate::secret::SecretBytes;

/// A symmetric key type that paycrypt can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymmetricAlgorithm {
    /// Two-key Triple DES (16 bytes).
    Tdes2Key,
    /// Three-key Triple DES (24 bytes).
    Tdes3Key,
    /// AES-128.
    Aes128,
    /// AES-192.
    Aes192,
    /// AES-256.
    Aes256,
    /// HMAC-SHA-224 key (28 bytes).
    HmacSha224,
    /// HMAC-SHA-256 key (32 bytes).
    HmacSha256,
    /// HMAC-SHA-384 key (48 bytes).
    HmacSha384,
    /// HMAC-SHA-512 key (64 bytes).
    HmacSha512,
}

impl SymmetricAlgorithm {
    /// Key length in bytes. HMAC keys are as long as the digest output.
    pub fn key_len(self) -> usize {
        match self {
            Self::Tdes2Key | Self::Aes128 => 16,
            Self::Tdes3Key | Self::Aes192 => 24,
            Self::Aes256 | Self::HmacSha256 => 32,
            Self::HmacSha224 => 28,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }
}

/// Sets the least significant bit of every byte so that each byte has an odd number of one
/// bits (the DES parity convention).
fn set_odd_parity(key: &mut [u8]) {
    for b in key.iter_mut() {
        let ones_above = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones_above % 2 == 0);
    }
}

/// Generates a fresh symmetric key of `alg`'s length from `rng`. TDES keys get odd parity
/// in every byte.
///
/// ```
/// use paycrypt_keyblock::{SystemRng, keygen::{generate_symmetric, SymmetricAlgorithm}};
/// let key = generate_symmetric(SymmetricAlgorithm::Aes256, &mut SystemRng);
/// assert_eq!(key.len(), 32);
/// ```
pub fn generate_symmetric<R: CryptoRng + ?Sized>(
    alg: SymmetricAlgorithm,
    rng: &mut R,
) -> SecretBytes {
    let mut key = vec![0u8; alg.key_len()];
    rng.fill_bytes(&mut key);
    if matches!(
        alg,
        SymmetricAlgorithm::Tdes2Key | SymmetricAlgorithm::Tdes3Key
    ) {
        set_odd_parity(&mut key);
    }
    SecretBytes::new(key)
}

/// An asymmetric key type that paycrypt can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsymmetricAlgorithm {
    /// RSA with a 2048-bit modulus (public exponent 65537).
    Rsa2048,
    /// RSA with a 3072-bit modulus (public exponent 65537).
    Rsa3072,
    /// RSA with a 4096-bit modulus (public exponent 65537).
    Rsa4096,
    /// ECC on NIST P-256.
    EccNistP256,
    /// ECC on NIST P-384.
    EccNistP384,
    /// ECC on NIST P-521.
    EccNistP521,
}

/// A generated key pair.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The private key as PKCS#8 (RFC 5208 v1) DER.
    pub private_pkcs8_der: SecretBytes,
    /// The public key as X.509 SubjectPublicKeyInfo DER.
    pub public_spki_der: Vec<u8>,
}

/// Generates a key pair with the operating system's randomness (through aws-lc-rs).
///
/// RSA 4096 generation takes a noticeable fraction of a second; call it off any latency
/// critical path.
///
/// # Errors
/// [`Error::KeyGeneration`] if the crypto provider fails.
pub fn generate_key_pair(alg: AsymmetricAlgorithm) -> Result<KeyPair, Error> {
    use aws_lc_rs::rsa::KeySize;
    let rsa = |size: KeySize| -> Result<KeyPair, Error> {
        let kp = aws_lc_rs::rsa::KeyPair::generate(size).map_err(|_| Error::KeyGeneration)?;
        let private = kp.as_der().map_err(|_| Error::KeyGeneration)?;
        let public = kp.public_key().as_der().map_err(|_| Error::KeyGeneration)?;
        Ok(KeyPair {
            private_pkcs8_der: SecretBytes::new(private.as_ref().to_vec()),
            public_spki_der: public.as_ref().to_vec(),
        })
    };
    let ec = |alg: &'static signature::EcdsaSigningAlgorithm| -> Result<KeyPair, Error> {
        let kp = signature::EcdsaKeyPair::generate(alg).map_err(|_| Error::KeyGeneration)?;
        let private = kp.to_pkcs8v1().map_err(|_| Error::KeyGeneration)?;
        let public = kp.public_key().as_der().map_err(|_| Error::KeyGeneration)?;
        Ok(KeyPair {
            private_pkcs8_der: SecretBytes::new(private.as_ref().to_vec()),
            public_spki_der: public.as_ref().to_vec(),
        })
    };
    match alg {
        AsymmetricAlgorithm::Rsa2048 => rsa(KeySize::Rsa2048),
        AsymmetricAlgorithm::Rsa3072 => rsa(KeySize::Rsa3072),
        AsymmetricAlgorithm::Rsa4096 => rsa(KeySize::Rsa4096),
        AsymmetricAlgorithm::EccNistP256 => ec(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        AsymmetricAlgorithm::EccNistP384 => ec(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        AsymmetricAlgorithm::EccNistP521 => ec(&signature::ECDSA_P521_SHA512_ASN1_SIGNING),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    const ALL_SYMMETRIC: [SymmetricAlgorithm; 9] = [
        SymmetricAlgorithm::Tdes2Key,
        SymmetricAlgorithm::Tdes3Key,
        SymmetricAlgorithm::Aes128,
        SymmetricAlgorithm::Aes192,
        SymmetricAlgorithm::Aes256,
        SymmetricAlgorithm::HmacSha224,
        SymmetricAlgorithm::HmacSha256,
        SymmetricAlgorithm::HmacSha384,
        SymmetricAlgorithm::HmacSha512,
    ];

    #[test]
    fn symmetric_lengths_and_parity() {
        let expected = [16, 24, 16, 24, 32, 28, 32, 48, 64];
        for (alg, len) in ALL_SYMMETRIC.iter().zip(expected) {
            let key = generate_symmetric(*alg, &mut SystemRng);
            assert_eq!(key.len(), len, "{alg:?}");
            assert_eq!(alg.key_len(), len);
            if matches!(
                alg,
                SymmetricAlgorithm::Tdes2Key | SymmetricAlgorithm::Tdes3Key
            ) {
                assert!(key.expose().iter().all(|b| b.count_ones() % 2 == 1));
            }
        }
        let a = generate_symmetric(SymmetricAlgorithm::Aes128, &mut SystemRng);
        let b = generate_symmetric(SymmetricAlgorithm::Aes128, &mut SystemRng);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn parity_fixes_every_byte() {
        let mut all: Vec<u8> = (0..=255).collect();
        set_odd_parity(&mut all);
        for (i, b) in all.iter().enumerate() {
            assert_eq!(b.count_ones() % 2, 1);
            assert_eq!(b & 0xFE, (i as u8) & 0xFE);
        }
    }

    #[test]
    fn key_pairs_are_der_that_parses_back() {
        for alg in [
            AsymmetricAlgorithm::Rsa2048,
            AsymmetricAlgorithm::EccNistP256,
            AsymmetricAlgorithm::EccNistP384,
            AsymmetricAlgorithm::EccNistP521,
        ] {
            let kp = generate_key_pair(alg).unwrap();
            // Both encodings are DER SEQUENCEs.
            assert_eq!(kp.private_pkcs8_der.expose()[0], 0x30, "{alg:?}");
            assert_eq!(kp.public_spki_der[0], 0x30, "{alg:?}");
            match alg {
                AsymmetricAlgorithm::Rsa2048 => {
                    let sk = aws_lc_rs::rsa::PrivateDecryptingKey::from_pkcs8(
                        kp.private_pkcs8_der.expose(),
                    )
                    .unwrap();
                    assert_eq!(sk.key_size_bits(), 2048);
                    let pk =
                        aws_lc_rs::rsa::PublicEncryptingKey::from_der(&kp.public_spki_der).unwrap();
                    assert_eq!(pk.key_size_bits(), 2048);
                }
                _ => {
                    let signing = match alg {
                        AsymmetricAlgorithm::EccNistP256 => {
                            &signature::ECDSA_P256_SHA256_ASN1_SIGNING
                        }
                        AsymmetricAlgorithm::EccNistP384 => {
                            &signature::ECDSA_P384_SHA384_ASN1_SIGNING
                        }
                        _ => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                    };
                    let sk =
                        signature::EcdsaKeyPair::from_pkcs8(signing, kp.private_pkcs8_der.expose())
                            .unwrap();
                    assert_eq!(
                        sk.public_key().as_der().unwrap().as_ref(),
                        kp.public_spki_der.as_slice()
                    );
                }
            }
        }
    }
}
