//! Issuing certificates: the per-account CA's self-signed certificate ([`create_ca`]) and the
//! short-lived leaf certificates it signs ([`issue_leaf`]).
//!
//! The to-be-signed structure is assembled here field by field (RFC 5280 section 4.1),
//! DER-encoded, signed with aws-lc-rs (RSA keys sign with sha256WithRSAEncryption, ECC keys with ECDSA and their curve's hash) and
//! wrapped in the outer `Certificate` SEQUENCE.
//!
//! Profiles (the leaf follows what AWS Payment Cryptography issues; see
//! `tr34-aws-layout.md`, "Certificates the service issues"):
//!
//! | | CA | leaf |
//! |---|---|---|
//! | version | v3 | v3 |
//! | serial | the 16 bytes given, as a positive INTEGER | same |
//! | BasicConstraints | critical, CA:TRUE, no path length | critical, CA:FALSE |
//! | KeyUsage | critical, digitalSignature, keyCertSign, cRLSign | critical, see [`LeafUsage`] |
//! | SubjectKeyIdentifier | SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1) | same |
//! | AuthorityKeyIdentifier | absent (self-signed) | keyIdentifier = the CA's SKI |
//! | issuer | = subject | = the CA certificate's subject, byte for byte |

use aws_lc_rs::digest;
use der::asn1::{AnyRef, BitStringRef, OctetString};
use der::{DateTime, Decode, Encode, Sequence};
use paycrypt_keyblock::keygen::KeyPair;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use const_oid::AssociatedOid;

use crate::cert::Certificate;
use crate::error::Error;
use crate::key::{KeyAlgorithm, PublicKey, SigningKey};
use crate::name::SubjectFields;

/// A validity period, both ends inclusive, in Unix seconds.
///
/// Times up to 2049 are encoded as UTCTime, later ones as GeneralizedTime (RFC 5280
/// section 4.1.2.5); both ends must lie between 1970 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidityPeriod {
    /// notBefore.
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
}

impl ValidityPeriod {
    fn to_x509(self) -> Result<Validity, Error> {
        if self.not_after < self.not_before {
            return Err(Error::InvalidValidity("notAfter is before notBefore"));
        }
        let time = |secs: i64| -> Result<Time, Error> {
            let secs = u64::try_from(secs).map_err(|_| Error::InvalidValidity("before 1970"))?;
            DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map(Time::from)
                .map_err(|_| Error::InvalidValidity("after 9999"))
        };
        Ok(Validity::new(time(self.not_before)?, time(self.not_after)?))
    }
}

/// What a leaf certificate's key is for; it chooses the KeyUsage bits.
///
/// For an RSA subject key every usage gets the profile AWS issues: digitalSignature +
/// keyEncipherment (an RSA key that signs TR-34 blocks, or that receives keys by RSA-OAEP,
/// carries both). For an ECC subject key, which cannot encipher, the bits follow the use:
/// signing gets digitalSignature, wrapping (ECDH key agreement) gets keyAgreement, general
/// gets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafUsage {
    /// A key that signs (TR-34 KDH signing certificate).
    Signing,
    /// A key that receives wrapped keys (TR-34 KRD / key cryptogram wrapping certificate).
    Wrapping,
    /// Both.
    General,
}

impl LeafUsage {
    fn key_usage(self, subject: &KeyAlgorithm) -> KeyUsage {
        match (subject, self) {
            (KeyAlgorithm::Ec { .. }, Self::Signing) => {
                KeyUsage(KeyUsages::DigitalSignature.into())
            }
            (KeyAlgorithm::Ec { .. }, Self::Wrapping) => KeyUsage(KeyUsages::KeyAgreement.into()),
            (KeyAlgorithm::Ec { .. }, Self::General) => {
                KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyAgreement)
            }
            _ => KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment),
        }
    }
}

/// `TBSCertificate` (RFC 5280 section 4.1) as this crate writes it: always v3 with
/// extensions, no unique identifiers; names and key as already-encoded DER.
#[derive(Sequence)]
struct TbsCertificateOut<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: x509_cert::Version,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: AnyRef<'a>,
    validity: Validity,
    subject: AnyRef<'a>,
    subject_public_key_info: AnyRef<'a>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }`.
#[derive(Sequence)]
struct CertificateOut<'a> {
    tbs_certificate: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitStringRef<'a>,
}

/// RFC 5280 section 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value
/// (excluding tag, length and unused-bits octet).
fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, Error> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|_| Error::InvalidPublicKey("SubjectPublicKeyInfo does not parse"))?;
    let bits = spki.subject_public_key.raw_bytes();
    Ok(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bits)
        .as_ref()
        .to_vec())
}

fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension, Error> {
    let bytes = value.to_der().map_err(|_| Error::Encoding("extension"))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(bytes).map_err(|_| Error::Encoding("extension"))?,
    })
}

fn octets(bytes: Vec<u8>) -> Result<OctetString, Error> {
    OctetString::new(bytes).map_err(|_| Error::Encoding("key identifier"))
}

/// The parts of a certificate to sign; names and key are DER.
struct ToSign<'a> {
    serial: [u8; 16],
    issuer_der: &'a [u8],
    validity: ValidityPeriod,
    subject_der: &'a [u8],
    spki_der: &'a [u8],
    extensions: Vec<Extension>,
}

fn any<'a>(der: &'a [u8], what: &'static str) -> Result<AnyRef<'a>, Error> {
    AnyRef::from_der(der).map_err(|_| Error::Encoding(what))
}

fn sign_certificate(key: &SigningKey, parts: ToSign<'_>) -> Result<Vec<u8>, Error> {
    if parts.serial.iter().all(|&b| b == 0) {
        return Err(Error::InvalidSerial);
    }
    let tbs = TbsCertificateOut {
        version: x509_cert::Version::V3,
        serial_number: SerialNumber::new(&parts.serial).map_err(|_| Error::InvalidSerial)?,
        signature: key.algorithm_identifier(),
        issuer: any(parts.issuer_der, "issuer name")?,
        validity: parts.validity.to_x509()?,
        subject: any(parts.subject_der, "subject name")?,
        subject_public_key_info: any(parts.spki_der, "subject public key info")?,
        extensions: parts.extensions,
    }
    .to_der()
    .map_err(|_| Error::Encoding("TBSCertificate"))?;
    let signature = key.sign(&tbs)?;
    CertificateOut {
        tbs_certificate: any(&tbs, "TBSCertificate")?,
        signature_algorithm: key.algorithm_identifier(),
        signature: BitStringRef::from_bytes(&signature)
            .map_err(|_| Error::Encoding("signature"))?,
    }
    .to_der()
    .map_err(|_| Error::Encoding("Certificate"))
}

/// Creates a self-signed CA certificate for `key` (RSA 2048..=8192 bits, or ECC on P-256,
/// P-384, P-521; AWS uses RSA-4096).
///
/// Profile: see the module documentation. An RSA CA signs with sha256WithRSAEncryption, an
/// ECC CA with ECDSA and its curve's hash.
///
/// # Errors
/// [`Error::InvalidPrivateKey`] / [`Error::KeyMismatch`] when the key pair's halves do not
/// parse or do not belong together, [`Error::UnsupportedKey`], [`Error::InvalidSubject`],
/// [`Error::InvalidValidity`], [`Error::InvalidSerial`] (all zero).
pub fn create_ca(
    key: &KeyPair,
    subject: &SubjectFields,
    validity: ValidityPeriod,
    serial: [u8; 16],
) -> Result<Vec<u8>, Error> {
    let public = PublicKey::from_spki_der(&key.public_spki_der)?;
    let signer = SigningKey::load(key.private_pkcs8_der.expose(), &public, "public key")?;
    let name = subject.to_name_der()?;
    let ski = SubjectKeyIdentifier(octets(key_identifier(&key.public_spki_der)?)?);
    let extensions = vec![
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
            true,
        )?,
        extension(
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            true,
        )?,
        extension(&ski, false)?,
    ];
    sign_certificate(
        &signer,
        ToSign {
            serial,
            issuer_der: &name,
            validity,
            subject_der: &name,
            spki_der: &key.public_spki_der,
            extensions,
        },
    )
}

/// Issues a leaf certificate for `subject_public_spki_der`, signed by the CA whose
/// certificate is `ca_cert_der` and whose private key is `ca_private_pkcs8_der`.
///
/// The serial should be 16 random bytes; `usage` picks the KeyUsage bits (see
/// [`LeafUsage`]). The validity must lie within the CA certificate's.
///
/// # Errors
/// [`Error::InvalidCertificate`] when the CA certificate does not parse,
/// [`Error::IssuerNotCa`] when it is not a CA with keyCertSign, [`Error::InvalidPrivateKey`]
/// / [`Error::KeyMismatch`] when the private key is not the CA certificate's,
/// [`Error::InvalidPublicKey`] / [`Error::UnsupportedKey`] for the subject key (RSA and ECC
/// P-256/384/521 only), [`Error::InvalidSubject`], [`Error::InvalidValidity`],
/// [`Error::InvalidSerial`].
pub fn issue_leaf(
    ca_cert_der: &[u8],
    ca_private_pkcs8_der: &[u8],
    subject_public_spki_der: &[u8],
    subject: &SubjectFields,
    validity: ValidityPeriod,
    serial: [u8; 16],
    usage: LeafUsage,
) -> Result<Vec<u8>, Error> {
    let ca = Certificate::parse(ca_cert_der)?;
    if !ca.is_ca() || ca.key_usage().is_some_and(|ku| !ku.key_cert_sign) {
        return Err(Error::IssuerNotCa);
    }
    if validity.not_before < ca.not_before() || validity.not_after > ca.not_after() {
        return Err(Error::InvalidValidity(
            "outside the CA certificate's validity period",
        ));
    }
    let signer = SigningKey::load(ca_private_pkcs8_der, ca.public_key(), "CA certificate")?;
    let subject_key = PublicKey::from_spki_der(subject_public_spki_der)?;
    if let KeyAlgorithm::Unsupported { oid } = &subject_key.algorithm {
        return Err(Error::UnsupportedKey(format!(
            "subject key algorithm {oid}"
        )));
    }
    let name = subject.to_name_der()?;
    let authority_key_id = match ca.subject_key_identifier() {
        Some(id) => id.to_vec(),
        None => key_identifier(ca.public_key_spki_der())?,
    };
    let extensions = vec![
        extension(
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
            true,
        )?,
        extension(&usage.key_usage(&subject_key.algorithm), true)?,
        extension(
            &SubjectKeyIdentifier(octets(key_identifier(subject_public_spki_der)?)?),
            false,
        )?,
        extension(
            &AuthorityKeyIdentifier {
                key_identifier: Some(octets(authority_key_id)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            false,
        )?,
    ];
    sign_certificate(
        &signer,
        ToSign {
            serial,
            issuer_der: ca.subject_der(),
            validity,
            subject_der: &name,
            spki_der: subject_public_spki_der,
            extensions,
        },
    )
}
