//! The few facts this crate reads from an X.509 certificate (DER): the issuer name, the
//! serial number and the SubjectPublicKeyInfo. Parsing is done by `x509-cert`; nothing
//! here validates a chain, a validity period or an extension (that is the PKI layer's job).

use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::error::Error;

/// What TR-34 and ECDH need from a certificate.
pub(crate) struct CertFacts {
    /// The issuer `Name`, DER (a SEQUENCE).
    pub issuer_der: Vec<u8>,
    /// The serial number's INTEGER content octets (big-endian two's complement, minimal).
    pub serial: Vec<u8>,
    /// The subject public key, SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
}

/// Reads issuer, serial and public key from a DER certificate. `what` names the
/// certificate in the error (e.g. `"KDH certificate does not parse"`).
pub(crate) fn facts(cert_der: &[u8], what: &'static str) -> Result<CertFacts, Error> {
    let cert = Certificate::from_der(cert_der).map_err(|_| Error::InvalidCertificate(what))?;
    let tbs = cert.tbs_certificate();
    let issuer_der = tbs
        .issuer()
        .to_der()
        .map_err(|_| Error::InvalidCertificate(what))?;
    let serial = tbs
        .serial_number()
        .to_der()
        .map_err(|_| Error::InvalidCertificate(what))?;
    let spki_der = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|_| Error::InvalidCertificate(what))?;
    // The INTEGER's content octets: skip the tag and the (short or long form) length.
    let content_len = der::asn1::AnyRef::from_der(&serial)
        .map_err(|_| Error::InvalidCertificate(what))?
        .value()
        .len();
    let serial = serial[serial.len() - content_len..].to_vec();
    Ok(CertFacts {
        issuer_der,
        serial,
        spki_der,
    })
}

/// The RFC 4514 string form of a DER `Name` (`CN=...,O=...`), if it parses.
pub(crate) fn name_to_string(name_der: &[u8]) -> Option<String> {
    x509_cert::name::Name::from_der(name_der)
        .ok()
        .map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x01", &[0xFF; 40]] {
            assert_eq!(
                facts(bytes, "test certificate").map(|_| ()),
                Err(Error::InvalidCertificate("test certificate"))
            );
        }
        assert_eq!(name_to_string(b"\x04\x00"), None);
    }
}
