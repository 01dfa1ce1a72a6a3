//! The crate's error type: one enum with a distinct variant per failure, none of which
//! ever carries key material.

/// Everything that can go wrong in this crate.
///
/// Variants describe *what* was wrong (a length, a field, a check) and never include
/// key bytes, decrypted payloads or MAC values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key (or key-like input such as a BDK) has a length the operation does not accept.
    #[error("invalid {what} length: {len} bytes")]
    InvalidKeyLength {
        /// Which key was wrong, e.g. `"TDES key"`.
        what: &'static str,
        /// The length that was given.
        len: usize,
    },

    /// The TR-31 key block length field (positions 1-4) is not four decimal digits, or does
    /// not match the actual length of the block.
    #[error("TR-31 length field is invalid: {0}")]
    BadLengthField(&'static str),

    /// The TR-31 version identifier is not one of `A`, `B`, `C`, `D`.
    #[error("unknown TR-31 key block version {0:?}")]
    UnknownVersion(char),

    /// A TR-31 header field holds a value that is not allowed there.
    #[error("TR-31 header field `{field}` is invalid: {reason}")]
    BadHeaderField {
        /// The field, e.g. `"mode of use"`.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A TR-31 optional block is malformed (id, length, or data).
    #[error("TR-31 optional block is invalid: {0}")]
    BadOptionalBlock(&'static str),

    /// The TR-31 block ends before a field it announces.
    #[error("TR-31 key block is truncated: {0}")]
    Truncated(&'static str),

    /// The encrypted key or MAC of a TR-31 block contains characters other than `0-9A-F`.
    #[error("TR-31 payload is not uppercase hexadecimal")]
    NonHexPayload,

    /// The KBPK length does not fit the key block version.
    #[error("KBPK of {len} bytes cannot be used with key block version {version}")]
    WrongKbpkLength {
        /// The key block version (`A`, `B`, `C` or `D`).
        version: char,
        /// The KBPK length in bytes.
        len: usize,
    },

    /// The key block MAC does not verify: wrong KBPK, or the block was altered.
    #[error("TR-31 key block MAC does not verify")]
    MacMismatch,

    /// The MAC verified but the decrypted payload does not hold a well-formed key length.
    #[error("TR-31 decrypted payload is malformed")]
    MalformedPayload,

    /// A key block to be written would not fit the format's limits.
    #[error("TR-31 key block cannot be written: {0}")]
    CannotEncode(&'static str),

    /// Generating an asymmetric key pair failed in the crypto provider.
    #[error("key pair generation failed")]
    KeyGeneration,

    /// A public key (SubjectPublicKeyInfo DER) could not be parsed or is not usable.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),

    /// A private key (PKCS#8 DER) could not be parsed or is not usable.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),

    /// The plaintext is too long for the RSA key and padding scheme.
    #[error("plaintext of {len} bytes is too long for this RSA key (at most {max})")]
    PlaintextTooLong {
        /// Plaintext length in bytes.
        len: usize,
        /// Largest plaintext the key and padding allow.
        max: usize,
    },

    /// RSA-OAEP decryption failed (wrong key, wrong hash, or a corrupted cryptogram).
    #[error("RSA-OAEP decryption failed")]
    DecryptionFailed,

    /// An X.509 certificate could not be parsed or does not hold the kind of key needed.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(&'static str),

    /// A TR-34 key block is not DER in the expected layout; the text names the field.
    #[error("TR-34 key block is malformed: {0}")]
    Tr34Malformed(&'static str),

    /// A TR-34 key block is well formed but uses an algorithm or option this crate does not
    /// support (for example OAEP with SHA-1).
    #[error("TR-34 key block uses an unsupported option: {0}")]
    Tr34Unsupported(&'static str),

    /// The inputs to build a TR-34 key block are not acceptable (header, nonce, key pair).
    #[error("TR-34 key block cannot be built: {0}")]
    Tr34Parameter(&'static str),

    /// A TR-34 key block parsed, but one of the receiving party's checks failed.
    #[error("TR-34 check failed: {0}")]
    Tr34CheckFailed(Tr34Check),
}

/// The receiving party's checks on a TR-34 key block (see [`crate::tr34::open`]), each of
/// which fails with its own [`Error::Tr34CheckFailed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tr34Check {
    /// The signature over the signed attributes does not verify under the KDH certificate.
    Signature,
    /// The SignerInfo's issuer and serial number are not those of the KDH certificate.
    SignerIdentity,
    /// The messageDigest attribute is not the SHA-256 of the enveloped part.
    MessageDigest,
    /// The random nonce differs from the expected one, or one is present where none was
    /// expected (or the reverse).
    Nonce,
    /// The RecipientInfo's issuer and serial number are not those of the KRD certificate.
    RecipientIdentity,
    /// The KDH identity inside the decrypted content differs from the SignerInfo's.
    InnerIdentity,
    /// The key block header inside the decrypted content differs from the signed one.
    InnerHeader,
}

impl std::fmt::Display for Tr34Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Signature => "signature does not verify with the KDH certificate",
            Self::SignerIdentity => "signer is not the KDH certificate",
            Self::MessageDigest => "messageDigest does not match the enveloped data",
            Self::Nonce => "random nonce does not match",
            Self::RecipientIdentity => "recipient is not the KRD certificate",
            Self::InnerIdentity => "KDH identity inside the envelope differs from the signer",
            Self::InnerHeader => "key block header inside the envelope differs from the signed one",
        })
    }
}
