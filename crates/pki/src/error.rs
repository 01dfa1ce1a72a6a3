//! The crate's error types: [`Error`] for parsing, issuing and signature checks, and
//! [`ChainError`] for certificate path validation, which names the rule that failed and
//! the certificate it failed on. Neither ever carries key material.

use std::fmt;

/// Everything that can go wrong while reading, issuing or checking a single certificate.
///
/// Variants say *what* was wrong (a field, a format, a check) and never include private
/// key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a certificate in any accepted wire form (base64 of PEM, PEM text,
    /// base64 of DER).
    #[error("not a certificate in base64-of-PEM form: {0}")]
    InvalidWireForm(&'static str),

    /// One certificate was expected but the wire text holds several.
    #[error("expected one certificate, found {0}")]
    MultipleCertificates(usize),

    /// The DER does not parse as an X.509 certificate, or one of its fields or extensions
    /// is malformed.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(&'static str),

    /// A SubjectPublicKeyInfo does not parse, or its key does not.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),

    /// The private key is not PKCS#8 DER of a supported RSA or ECC key.
    #[error("invalid private key: not PKCS#8 of a supported RSA or ECC key")]
    InvalidPrivateKey,

    /// The private key does not belong to the public key (or certificate) it was given
    /// with.
    #[error("the private key does not match the {0}")]
    KeyMismatch(&'static str),

    /// The key type or size is outside what this crate handles (RSA 2048..=8192 bits,
    /// ECC on P-256, P-384, P-521).
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),

    /// The signature algorithm is not one this crate verifies; the value is its OID or a
    /// description of the unsupported parameters.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(String),

    /// The signature algorithm does not fit the signer's key (for example ECDSA with an
    /// RSA key), or the certificate's two signature algorithm fields differ.
    #[error("signature algorithm mismatch: {0}")]
    SignatureAlgorithmMismatch(&'static str),

    /// The signature does not verify with the issuer's public key.
    #[error("signature does not verify")]
    BadSignature,

    /// The validity period cannot be encoded or is inverted.
    #[error("invalid validity period: {0}")]
    InvalidValidity(&'static str),

    /// A subject name field cannot be encoded.
    #[error("invalid subject field {field}: {reason}")]
    InvalidSubject {
        /// The field, e.g. `"country"`.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The serial number is zero (RFC 5280 wants a positive serial).
    #[error("invalid serial number: must be positive")]
    InvalidSerial,

    /// The certificate given as the issuer is not a CA (BasicConstraints CA:TRUE, and
    /// keyCertSign when KeyUsage is present).
    #[error("the issuing certificate is not a CA certificate with keyCertSign")]
    IssuerNotCa,

    /// A value could not be DER-encoded (for example a field longer than DER allows).
    #[error("DER encoding failed: {0}")]
    Encoding(&'static str),

    /// The crypto provider failed to sign.
    #[error("the crypto provider failed to sign")]
    Signing,
}

/// Where a certificate sits in the path being validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertRole {
    /// The end-entity certificate.
    Leaf,
    /// The intermediate at this index of the `intermediates` slice (0 issued the leaf).
    Intermediate(usize),
    /// The trust anchor.
    Root,
}

impl fmt::Display for CertRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Leaf => f.write_str("leaf certificate"),
            Self::Intermediate(i) => write!(f, "intermediate certificate {i}"),
            Self::Root => f.write_str("root certificate"),
        }
    }
}

/// A certificate named in a [`ChainError`]: its place in the path and its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    /// Its place in the path.
    pub role: CertRole,
    /// Its subject name, RFC 4514 style (`CN=...,O=...`).
    pub subject: String,
}

impl fmt::Display for CertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.role, self.subject)
    }
}

/// A rule of certificate path validation that a certificate breaks. Each variant names
/// the rule (in its message) and the certificate (in `cert`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// Rule "signature": the certificate's signature does not verify with its issuer's
    /// public key (or uses an algorithm or key this crate cannot verify).
    #[error("signature rule: {cert} is not validly signed by {issuer}: {reason}")]
    BadSignature {
        /// The certificate whose signature failed.
        cert: CertId,
        /// The certificate whose key was used.
        issuer: CertId,
        /// Why verification failed.
        reason: Error,
    },

    /// Rule "validity": `now` is before the certificate's notBefore.
    #[error("validity rule: {cert} is not valid before {not_before} (now {now})")]
    NotYetValid {
        /// The certificate.
        cert: CertId,
        /// Its notBefore, Unix seconds.
        not_before: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },

    /// Rule "validity": `now` is after the certificate's notAfter.
    #[error("validity rule: {cert} expired at {not_after} (now {now})")]
    Expired {
        /// The certificate.
        cert: CertId,
        /// Its notAfter, Unix seconds.
        not_after: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },

    /// Rule "issuer is a CA": a certificate that issues another lacks BasicConstraints
    /// CA:TRUE.
    #[error("CA rule: {cert} issues certificates but is not a CA (BasicConstraints CA:TRUE)")]
    IssuerNotCa {
        /// The issuing certificate.
        cert: CertId,
    },

    /// Rule "keyCertSign": a certificate that issues another has a KeyUsage extension
    /// without keyCertSign.
    #[error("key usage rule: {cert} issues certificates but its KeyUsage lacks keyCertSign")]
    IssuerLacksKeyCertSign {
        /// The issuing certificate.
        cert: CertId,
    },

    /// Rule "name chaining": the certificate's issuer name differs from the subject name
    /// of the next certificate up the path.
    #[error("name chaining rule: the issuer of {cert} is not the subject of {issuer}")]
    IssuerNameMismatch {
        /// The certificate whose issuer name does not match.
        cert: CertId,
        /// The next certificate up the path.
        issuer: CertId,
    },

    /// Rule "root is self-signed": the root's issuer is not its subject, or its signature
    /// does not verify with its own key.
    #[error("root rule: {cert} is not self-signed: {reason}")]
    RootNotSelfSigned {
        /// The root.
        cert: CertId,
        /// Name mismatch or signature failure.
        reason: String,
    },

    /// Rule "no stronger than its issuer": the certificate's key is stronger than the key
    /// of the certificate that issued it (strengths in RSA-equivalent bits, ECC per NIST
    /// SP 800-57: P-256 ~ 3072, P-384 ~ 7680, P-521 ~ 15360).
    #[error(
        "strength rule: {cert} ({strength}-bit equivalent) is stronger than its issuer {issuer} ({issuer_strength}-bit equivalent)"
    )]
    StrongerThanIssuer {
        /// The certificate.
        cert: CertId,
        /// Its key strength, RSA-equivalent bits.
        strength: u32,
        /// The issuer.
        issuer: CertId,
        /// The issuer's key strength, RSA-equivalent bits.
        issuer_strength: u32,
    },

    /// Rule "path length": a CA's BasicConstraints pathLenConstraint allows fewer
    /// intermediate CAs below it than the path has.
    #[error(
        "path length rule: {cert} allows {path_len} intermediate CA(s) below it, the path has {below}"
    )]
    PathLengthExceeded {
        /// The constraining CA.
        cert: CertId,
        /// Its pathLenConstraint.
        path_len: u8,
        /// Intermediate CAs below it in this path.
        below: usize,
    },

    /// Rule "critical extensions": the certificate carries a critical extension this
    /// crate does not process.
    #[error("critical extension rule: {cert} has unrecognised critical extension {oid}")]
    UnknownCriticalExtension {
        /// The certificate.
        cert: CertId,
        /// The extension's OID.
        oid: String,
    },

    /// Rule "supported key": the key strength of the certificate cannot be judged because
    /// its key type is not supported.
    #[error("key rule: {cert} has an unsupported key: {reason}")]
    UnsupportedKey {
        /// The certificate.
        cert: CertId,
        /// The key problem.
        reason: Error,
    },
}

impl ChainError {
    /// The certificate that broke the rule.
    pub fn cert(&self) -> &CertId {
        match self {
            Self::BadSignature { cert, .. }
            | Self::NotYetValid { cert, .. }
            | Self::Expired { cert, .. }
            | Self::IssuerNotCa { cert }
            | Self::IssuerLacksKeyCertSign { cert }
            | Self::IssuerNameMismatch { cert, .. }
            | Self::RootNotSelfSigned { cert, .. }
            | Self::StrongerThanIssuer { cert, .. }
            | Self::PathLengthExceeded { cert, .. }
            | Self::UnknownCriticalExtension { cert, .. }
            | Self::UnsupportedKey { cert, .. } => cert,
        }
    }
}
