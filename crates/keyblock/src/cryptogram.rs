//! Key cryptograms: a symmetric key encrypted with RSA-OAEP under an RSA public key, as
//! used by AWS Payment Cryptography's `KeyCryptogram` import and export. OAEP uses SHA-256
//! or SHA-512 with MGF1 over the same hash and an empty label.
//!
//! ```
//! use paycrypt_keyblock::{cryptogram::{self, OaepHash}, keygen::{self, AsymmetricAlgorithm}};
//! let pair = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048)?;
//! let key = [0x42u8; 16];
//! let wrapped = cryptogram::wrap_key(&pair.public_spki_der, OaepHash::Sha256, &key)?;
//! assert_eq!(wrapped.len(), 256);
//! let unwrapped = cryptogram::unwrap_key(pair.private_pkcs8_der.expose(), OaepHash::Sha256, &wrapped)?;
//! assert_eq!(unwrapped.expose(), &key);
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```

use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OAEP_SHA512_MGF1SHA512, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::secret::SecretBytes;

/// The OAEP hash (also used by MGF1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OaepHash {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl OaepHash {
    fn algorithm(self) -> &'static OaepAlgorithm {
        match self {
            Self::Sha256 => &OAEP_SHA256_MGF1SHA256,
            Self::Sha512 => &OAEP_SHA512_MGF1SHA512,
        }
    }
}

/// Encrypts `key` with RSA-OAEP under the RSA public key `public_spki_der`
/// (SubjectPublicKeyInfo DER). The OAEP seed comes from aws-lc's own CSPRNG, seeded by the
/// operating system.
///
/// # Errors
/// [`Error::InvalidPublicKey`] if the key does not parse as an RSA public key;
/// [`Error::InvalidKeyLength`] for an empty key; [`Error::PlaintextTooLong`] if the key is
/// longer than OAEP allows for this modulus and hash.
pub fn wrap_key(public_spki_der: &[u8], hash: OaepHash, key: &[u8]) -> Result<Vec<u8>, Error> {
    let public = PublicEncryptingKey::from_der(public_spki_der)
        .map_err(|_| Error::InvalidPublicKey("not an RSA SubjectPublicKeyInfo"))?;
    let public = OaepPublicEncryptingKey::new(public)
        .map_err(|_| Error::InvalidPublicKey("not usable for RSA-OAEP"))?;
    let alg = hash.algorithm();
    let max = public.max_plaintext_size(alg);
    if key.is_empty() {
        return Err(Error::InvalidKeyLength {
            what: "wrapped key",
            len: 0,
        });
    }
    if key.len() > max {
        return Err(Error::PlaintextTooLong {
            len: key.len(),
            max,
        });
    }
    let mut out = vec![0u8; public.ciphertext_size()];
    let len = public
        .encrypt(alg, key, &mut out, None)
        .map_err(|_| Error::InvalidPublicKey("RSA-OAEP encryption failed"))?
        .len();
    out.truncate(len);
    Ok(out)
}

/// Decrypts an RSA-OAEP cryptogram with the RSA private key `private_pkcs8_der`
/// (PKCS#8 DER).
///
/// # Errors
/// [`Error::InvalidPrivateKey`] if the key does not parse as an RSA private key;
/// [`Error::DecryptionFailed`] if the cryptogram does not decrypt under this key and hash
/// (the cause is deliberately not distinguished).
pub fn unwrap_key(
    private_pkcs8_der: &[u8],
    hash: OaepHash,
    cryptogram: &[u8],
) -> Result<SecretBytes, Error> {
    let private = PrivateDecryptingKey::from_pkcs8(private_pkcs8_der)
        .map_err(|_| Error::InvalidPrivateKey("not an RSA PKCS#8 private key"))?;
    let private = OaepPrivateDecryptingKey::new(private)
        .map_err(|_| Error::InvalidPrivateKey("not usable for RSA-OAEP"))?;
    if cryptogram.len() != private.key_size_bytes() {
        return Err(Error::DecryptionFailed);
    }
    let mut buf = Zeroizing::new(vec![0u8; private.min_output_size()]);
    let plain = private
        .decrypt(hash.algorithm(), cryptogram, &mut buf, None)
        .map_err(|_| Error::DecryptionFailed)?;
    Ok(SecretBytes::new(plain.to_vec()))
}
