//! PKCS#10 certificate signing requests (RFC 2986), as GetCertificateSigningRequest returns
//! them: the subject from the request's `CertificateSubjectType`, the key pair's public key,
//! no attributes, signed by the key pair's private key (RSA: sha256WithRSAEncryption; ECC:
//! ECDSA with the curve's hash).

use der::asn1::{BitString, SetOfVec};
use der::{Decode, Encode};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::error::Error;
use crate::key::{PublicKey, SigningKey};
use crate::name::SubjectFields;

/// Builds a DER PKCS#10 request for the key pair (`private_pkcs8_der`,
/// `public_spki_der`) and `subject`. Put it on the wire with [`crate::csr_to_wire`].
///
/// # Errors
/// [`Error::InvalidPublicKey`], [`Error::InvalidPrivateKey`], [`Error::KeyMismatch`] (the
/// halves do not belong together), [`Error::UnsupportedKey`], [`Error::InvalidSubject`].
pub fn certificate_signing_request(
    private_pkcs8_der: &[u8],
    public_spki_der: &[u8],
    subject: &SubjectFields,
) -> Result<Vec<u8>, Error> {
    let public = PublicKey::from_spki_der(public_spki_der)?;
    let signer = SigningKey::load(private_pkcs8_der, &public, "public key")?;
    let name =
        Name::from_der(&subject.to_name_der()?).map_err(|_| Error::Encoding("subject name"))?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: name,
        public_key: SubjectPublicKeyInfoOwned::from_der(public_spki_der)
            .map_err(|_| Error::InvalidPublicKey("SubjectPublicKeyInfo does not parse"))?,
        attributes: SetOfVec::new(),
    };
    let info_der = info
        .to_der()
        .map_err(|_| Error::Encoding("CertificationRequestInfo"))?;
    let signature = signer.sign(&info_der)?;
    CertReq {
        info,
        algorithm: signer.algorithm_identifier(),
        signature: BitString::from_bytes(&signature).map_err(|_| Error::Encoding("signature"))?,
    }
    .to_der()
    .map_err(|_| Error::Encoding("CertificationRequest"))
}
