//! The crate's error type: what was wrong with an input, never the secret values involved.

/// Everything that can go wrong in this crate. Messages name lengths, formats and fields, never
/// key bytes, PINs, PANs or MAC values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key has a length the algorithm does not accept.
    #[error("invalid {what} length: {len} bytes")]
    InvalidKeyLength {
        /// Which key, e.g. `"TDES key"`.
        what: &'static str,
        /// The length that was given.
        len: usize,
    },
    /// An input other than a key is malformed; the message says which and why.
    #[error("{0}")]
    InvalidInput(String),
    /// A decoded PIN block is not well formed for its format (wrong control field, PIN
    /// length, digit or fill); the message says which check failed, never the digits.
    #[error("invalid PIN block: {0}")]
    InvalidPinBlock(&'static str),
    /// A public key (SubjectPublicKeyInfo DER) does not parse or does not fit the algorithm.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    /// A private key (PKCS #8 DER) does not parse or does not fit the algorithm.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// The plaintext does not fit the RSA modulus with the chosen padding.
    #[error("plaintext of {len} bytes is too long for this RSA key and padding (at most {max})")]
    PlaintextTooLong {
        /// Plaintext length in bytes.
        len: usize,
        /// The most the key and padding take.
        max: usize,
    },
    /// An RSA ciphertext does not decrypt under the key and padding (the cause is deliberately
    /// not told apart).
    #[error("decryption failed")]
    DecryptionFailed,
}

impl From<paycrypt_keyblock::Error> for Error {
    fn from(e: paycrypt_keyblock::Error) -> Self {
        match e {
            paycrypt_keyblock::Error::InvalidKeyLength { what, len } => {
                Self::InvalidKeyLength { what, len }
            }
            other => Self::InvalidInput(other.to_string()),
        }
    }
}
