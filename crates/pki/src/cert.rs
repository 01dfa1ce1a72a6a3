//! [`Certificate`]: a parsed, read-only view of an X.509 certificate (RFC 5280) with the
//! facts paycrypt needs: names, serial, validity, BasicConstraints, KeyUsage, key
//! identifiers, the public key and its strength, and the exact to-be-signed bytes for
//! signature checks.
//!
//! Parsing is strict DER (through `x509-cert`); it fails on malformed recognised
//! extensions, on an extension that appears twice, and on extensions in a certificate that
//! is not version 3. Unknown non-critical extensions are ignored; unknown critical ones
//! are recorded and fail path validation (see [`crate::validate_chain`]).

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280;
use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode, Sequence};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};

use crate::error::Error;
use crate::key::{KeyAlgorithm, PublicKey, SignatureAlgorithm};

/// The KeyUsage bits (RFC 5280 section 4.2.1.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KeyUsageFlags {
    /// digitalSignature (0).
    pub digital_signature: bool,
    /// nonRepudiation / contentCommitment (1).
    pub non_repudiation: bool,
    /// keyEncipherment (2).
    pub key_encipherment: bool,
    /// dataEncipherment (3).
    pub data_encipherment: bool,
    /// keyAgreement (4).
    pub key_agreement: bool,
    /// keyCertSign (5).
    pub key_cert_sign: bool,
    /// cRLSign (6).
    pub crl_sign: bool,
    /// encipherOnly (7).
    pub encipher_only: bool,
    /// decipherOnly (8).
    pub decipher_only: bool,
}

impl From<KeyUsage> for KeyUsageFlags {
    fn from(ku: KeyUsage) -> Self {
        Self {
            digital_signature: ku.digital_signature(),
            non_repudiation: ku.non_repudiation(),
            key_encipherment: ku.key_encipherment(),
            data_encipherment: ku.data_encipherment(),
            key_agreement: ku.key_agreement(),
            key_cert_sign: ku.key_cert_sign(),
            crl_sign: ku.crl_sign(),
            encipher_only: ku.encipher_only(),
            decipher_only: ku.decipher_only(),
        }
    }
}

/// The outer `Certificate` SEQUENCE with the to-be-signed part kept as raw bytes, so that
/// signatures are checked over exactly what was received.
#[derive(Sequence)]
struct RawCertificate<'a> {
    tbs_certificate: AnyRef<'a>,
    signature_algorithm: AnyRef<'a>,
    signature: BitStringRef<'a>,
}

/// `IssuerAndSerialNumber` (RFC 5652 section 10.2.4) over raw DER parts.
#[derive(Sequence)]
struct IssuerAndSerialNumber<'a> {
    issuer: AnyRef<'a>,
    serial_number: AnyRef<'a>,
}

/// Extensions a certificate may mark critical that this crate understands (or, for
/// ExtendedKeyUsage and SubjectAltName, may safely ignore: paycrypt keys are not bound to
/// TLS purposes or host names).
const RECOGNISED: [ObjectIdentifier; 6] = [
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
    rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
];

/// A parsed X.509 certificate.
///
/// ```
/// use paycrypt_keyblock::keygen::{generate_key_pair, AsymmetricAlgorithm};
/// use paycrypt_pki::{create_ca, Certificate, SubjectFields, ValidityPeriod};
/// let key = generate_key_pair(AsymmetricAlgorithm::EccNistP256)?;
/// let validity = ValidityPeriod { not_before: 1_700_000_000, not_after: 1_800_000_000 };
/// let der = create_ca(&key, &SubjectFields::new("Example CA"), validity, [7; 16])?;
/// let ca = Certificate::parse(&der)?;
/// assert!(ca.is_ca() && ca.is_self_signed());
/// assert_eq!(ca.subject(), "CN=Example CA");
/// assert_eq!(ca.not_after(), 1_800_000_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    tbs_der: Vec<u8>,
    outer_signature_algorithm_der: Vec<u8>,
    tbs_signature_algorithm_der: Vec<u8>,
    signature_algorithm: Result<SignatureAlgorithm, Error>,
    signature: Vec<u8>,
    version: u8,
    serial_der: Vec<u8>,
    issuer_der: Vec<u8>,
    issuer: String,
    subject_der: Vec<u8>,
    subject: String,
    subject_common_name: Option<String>,
    not_before: i64,
    not_after: i64,
    spki_der: Vec<u8>,
    public_key: PublicKey,
    /// BasicConstraints as (cA, pathLenConstraint), if present.
    basic_constraints: Option<(bool, Option<u8>)>,
    key_usage: Option<KeyUsageFlags>,
    subject_key_identifier: Option<Vec<u8>>,
    authority_key_identifier: Option<Vec<u8>>,
    unrecognised_critical: Vec<String>,
}

fn invalid(what: &'static str) -> impl Fn(der::Error) -> Error {
    move |_| Error::InvalidCertificate(what)
}

/// The DER of a decoded part, for keeping its exact bytes.
fn der_of<T: Encode>(part: &T, what: &'static str) -> Result<Vec<u8>, Error> {
    part.to_der().map_err(invalid(what))
}

/// Content octets of a DER TLV (what follows the tag and length).
fn tlv_content(tlv: &[u8]) -> Result<&[u8], Error> {
    AnyRef::from_der(tlv)
        .map(AnyRef::value)
        .map_err(invalid("serial number"))
}

impl Certificate {
    /// Parses a DER certificate.
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] naming the part that does not parse, or
    /// [`Error::InvalidPublicKey`] for a malformed RSA or ECC key. A key or signature
    /// algorithm this crate cannot use still parses (see
    /// [`Certificate::public_key_algorithm`] and [`Certificate::signature_algorithm`]).
    pub fn parse(der: &[u8]) -> Result<Self, Error> {
        let raw = RawCertificate::from_der(der).map_err(invalid("not a DER Certificate"))?;
        let cert =
            x509_cert::Certificate::from_der(der).map_err(invalid("not an X.509 certificate"))?;
        let tbs = cert.tbs_certificate();
        let version = match tbs.version() {
            x509_cert::Version::V1 => 1,
            x509_cert::Version::V2 => 2,
            x509_cert::Version::V3 => 3,
        };
        let serial_der = der_of(tbs.serial_number(), "serial number")?;
        let issuer_der = der_of(tbs.issuer(), "issuer name")?;
        let subject_der = der_of(tbs.subject(), "subject name")?;
        let spki_der = der_of(tbs.subject_public_key_info(), "subject public key info")?;
        let public_key = PublicKey::from_spki_der(&spki_der)?;
        let subject_common_name = tbs
            .subject()
            .common_name()
            .map_err(invalid("subject common name"))?
            .map(|cn| cn.value().into_owned());
        let unix = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs())
                .map_err(|_| Error::InvalidCertificate("validity"))
        };

        let mut parsed = Self {
            der: der.to_vec(),
            tbs_der: raw
                .tbs_certificate
                .to_der()
                .map_err(invalid("tbsCertificate"))?,
            outer_signature_algorithm_der: raw
                .signature_algorithm
                .to_der()
                .map_err(invalid("signatureAlgorithm"))?,
            tbs_signature_algorithm_der: der_of(tbs.signature(), "signature")?,
            signature_algorithm: SignatureAlgorithm::from_algorithm_identifier(
                cert.signature_algorithm(),
            ),
            signature: raw
                .signature
                .as_bytes()
                .ok_or(Error::InvalidCertificate(
                    "signature BIT STRING has unused bits",
                ))?
                .to_vec(),
            version,
            serial_der,
            issuer: tbs.issuer().to_string(),
            issuer_der,
            subject: tbs.subject().to_string(),
            subject_der,
            subject_common_name,
            not_before: unix(tbs.validity().not_before)?,
            not_after: unix(tbs.validity().not_after)?,
            spki_der,
            public_key,
            basic_constraints: None,
            key_usage: None,
            subject_key_identifier: None,
            authority_key_identifier: None,
            unrecognised_critical: Vec::new(),
        };

        let extensions = tbs.extensions().map(Vec::as_slice).unwrap_or_default();
        if !extensions.is_empty() && version != 3 {
            return Err(Error::InvalidCertificate(
                "extensions in a certificate that is not v3",
            ));
        }
        let mut seen: Vec<ObjectIdentifier> = Vec::with_capacity(extensions.len());
        for ext in extensions {
            if seen.contains(&ext.extn_id) {
                return Err(Error::InvalidCertificate("an extension appears twice"));
            }
            seen.push(ext.extn_id);
            let value = ext.extn_value.as_bytes();
            match ext.extn_id {
                rfc5280::ID_CE_BASIC_CONSTRAINTS => {
                    let bc =
                        BasicConstraints::from_der(value).map_err(invalid("BasicConstraints"))?;
                    parsed.basic_constraints = Some((bc.ca, bc.path_len_constraint));
                }
                rfc5280::ID_CE_KEY_USAGE => {
                    let ku = KeyUsage::from_der(value).map_err(invalid("KeyUsage"))?;
                    parsed.key_usage = Some(ku.into());
                }
                rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER => {
                    let ski = SubjectKeyIdentifier::from_der(value)
                        .map_err(invalid("SubjectKeyIdentifier"))?;
                    parsed.subject_key_identifier = Some(ski.0.as_bytes().to_vec());
                }
                rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                    let aki = AuthorityKeyIdentifier::from_der(value)
                        .map_err(invalid("AuthorityKeyIdentifier"))?;
                    parsed.authority_key_identifier =
                        aki.key_identifier.map(|k| k.as_bytes().to_vec());
                }
                other if ext.critical && !RECOGNISED.contains(&other) => {
                    parsed.unrecognised_critical.push(other.to_string());
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// The certificate as DER, exactly as parsed.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The exact DER of the TBSCertificate (what the signature covers).
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    /// The X.509 version: 1, 2 or 3.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The serial number's INTEGER content octets (big-endian two's complement, minimal:
    /// a positive serial whose top bit is set starts with a 0x00 byte).
    pub fn serial(&self) -> &[u8] {
        // The DER was produced by encoding a parsed INTEGER, so it always has content.
        tlv_content(&self.serial_der).unwrap_or_default()
    }

    /// The serial number as uppercase hexadecimal of [`Certificate::serial`].
    pub fn serial_hex(&self) -> String {
        self.serial().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The issuer `Name`, DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// The issuer name as an RFC 4514 string (`CN=...,O=...`, most specific first).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The subject `Name`, DER.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The subject name as an RFC 4514 string.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The subject's common name, if it has one.
    pub fn subject_common_name(&self) -> Option<&str> {
        self.subject_common_name.as_deref()
    }

    /// notBefore, Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// notAfter, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether `now` (Unix seconds) lies within notBefore..=notAfter.
    pub fn is_valid_at(&self, now: i64) -> bool {
        (self.not_before..=self.not_after).contains(&now)
    }

    /// Whether BasicConstraints is present with CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|(ca, _)| ca)
    }

    /// The BasicConstraints pathLenConstraint, if any.
    pub fn path_len_constraint(&self) -> Option<u8> {
        self.basic_constraints.and_then(|(_, path_len)| path_len)
    }

    /// The KeyUsage bits, or `None` when the extension is absent (any use allowed).
    pub fn key_usage(&self) -> Option<KeyUsageFlags> {
        self.key_usage
    }

    /// The SubjectKeyIdentifier, if present.
    pub fn subject_key_identifier(&self) -> Option<&[u8]> {
        self.subject_key_identifier.as_deref()
    }

    /// The keyIdentifier of the AuthorityKeyIdentifier, if present.
    pub fn authority_key_identifier(&self) -> Option<&[u8]> {
        self.authority_key_identifier.as_deref()
    }

    /// OIDs of critical extensions this crate does not recognise.
    pub fn unrecognised_critical_extensions(&self) -> &[String] {
        &self.unrecognised_critical
    }

    /// The subject public key, SubjectPublicKeyInfo DER.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The subject public key's algorithm and size.
    pub fn public_key_algorithm(&self) -> &KeyAlgorithm {
        &self.public_key.algorithm
    }

    /// The signature algorithm, or `None` when it is one this crate cannot verify.
    pub fn signature_algorithm(&self) -> Option<SignatureAlgorithm> {
        self.signature_algorithm.as_ref().ok().copied()
    }

    /// Whether the issuer name equals the subject name and the signature verifies with the
    /// certificate's own key.
    pub fn is_self_signed(&self) -> bool {
        self.issuer_der == self.subject_der && crate::verify_signature(self, self).is_ok()
    }

    /// The DER of `IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber
    /// CertificateSerialNumber }` (RFC 5652 section 10.2.4), as TR-34 blocks carry it.
    ///
    /// # Errors
    /// [`Error::Encoding`] only if the parts are too long for DER, which a parsed
    /// certificate's parts cannot be.
    pub fn issuer_and_serial_der(&self) -> Result<Vec<u8>, Error> {
        let parts = [
            AnyRef::from_der(&self.issuer_der),
            AnyRef::from_der(&self.serial_der),
        ];
        let [Ok(issuer), Ok(serial)] = parts else {
            return Err(Error::Encoding("IssuerAndSerialNumber"));
        };
        IssuerAndSerialNumber {
            issuer,
            serial_number: serial,
        }
        .to_der()
        .map_err(|_| Error::Encoding("IssuerAndSerialNumber"))
    }

    pub(crate) fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The signature algorithm and value, after checking that the outer algorithm field
    /// equals the one inside the TBSCertificate (RFC 5280 section 4.1.1.2).
    pub(crate) fn signature_parts(&self) -> Result<(SignatureAlgorithm, &[u8]), Error> {
        if self.outer_signature_algorithm_der != self.tbs_signature_algorithm_der {
            return Err(Error::SignatureAlgorithmMismatch(
                "signatureAlgorithm differs from the TBSCertificate's signature field",
            ));
        }
        let alg = self.signature_algorithm.clone()?;
        Ok((alg, &self.signature))
    }
}
