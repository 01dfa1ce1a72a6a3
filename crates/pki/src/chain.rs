//! Signature checks and certificate path validation, as ImportKey needs them for a
//! caller's root (RootCertificatePublicKey) and for certificates that must chain to an
//! imported root (TrustedCertificatePublicKey, TR-34 signing and wrapping certificates).
//!
//! The path is `leaf`, then `intermediates` in order (index 0 issued the leaf, each next one
//! issued the previous), then `root`. The rules, each failure a distinct [`ChainError`]:
//!
//! 1. root: issuer name = subject name, signature verifies with its own key, CA, within its
//!    validity period;
//! 2. every certificate: no unrecognised critical extension, within its validity period
//!    (notBefore <= now <= notAfter);
//! 3. every link (certificate, issuer): the certificate's issuer name equals the issuer's
//!    subject name (DER byte comparison); the issuer is a CA (BasicConstraints CA:TRUE) and,
//!    if it has KeyUsage, asserts keyCertSign; the issuer's pathLenConstraint, if any, is not
//!    smaller than the number of intermediates below it; the signature verifies with the
//!    issuer's key; the certificate's key is no stronger than the issuer's (RSA-equivalent
//!    bits, see [`crate::EcCurve::comparable_rsa_bits`]).
//!
//! Not checked: revocation (no CRL or OCSP), name constraints and policies (a critical one
//! fails rule 2), ExtendedKeyUsage.

use std::iter;

use crate::cert::Certificate;
use crate::error::{CertId, CertRole, ChainError, Error};

/// Verifies that `issuer`'s public key signed `cert` (RSA PKCS#1 v1.5 or PSS with SHA-256,
/// SHA-384, SHA-512; ECDSA on P-256, P-384, P-521 with the same hashes). Nothing else is
/// checked: names, validity and extensions are [`validate_chain`]'s job.
///
/// # Errors
/// [`Error::BadSignature`], [`Error::SignatureAlgorithmMismatch`] (the algorithm does not fit
/// the key, or the certificate's two algorithm fields differ),
/// [`Error::UnsupportedSignatureAlgorithm`], [`Error::UnsupportedKey`].
pub fn verify_signature(cert: &Certificate, issuer: &Certificate) -> Result<(), Error> {
    let (alg, signature) = cert.signature_parts()?;
    issuer.public_key().verify(alg, cert.tbs_der(), signature)
}

fn id(cert: &Certificate, role: CertRole) -> CertId {
    CertId {
        role,
        subject: cert.subject().to_string(),
    }
}

fn check_extensions(cert: &Certificate, role: CertRole) -> Result<(), ChainError> {
    match cert.unrecognised_critical_extensions().first() {
        Some(oid) => Err(ChainError::UnknownCriticalExtension {
            cert: id(cert, role),
            oid: oid.clone(),
        }),
        None => Ok(()),
    }
}

fn check_validity(cert: &Certificate, role: CertRole, now: i64) -> Result<(), ChainError> {
    if now < cert.not_before() {
        return Err(ChainError::NotYetValid {
            cert: id(cert, role),
            not_before: cert.not_before(),
            now,
        });
    }
    if now > cert.not_after() {
        return Err(ChainError::Expired {
            cert: id(cert, role),
            not_after: cert.not_after(),
            now,
        });
    }
    Ok(())
}

fn check_ca(cert: &Certificate, role: CertRole) -> Result<(), ChainError> {
    if !cert.is_ca() {
        return Err(ChainError::IssuerNotCa {
            cert: id(cert, role),
        });
    }
    if cert.key_usage().is_some_and(|ku| !ku.key_cert_sign) {
        return Err(ChainError::IssuerLacksKeyCertSign {
            cert: id(cert, role),
        });
    }
    Ok(())
}

fn strength(cert: &Certificate, role: CertRole) -> Result<u32, ChainError> {
    cert.public_key_algorithm()
        .comparable_strength_bits()
        .ok_or_else(|| ChainError::UnsupportedKey {
            cert: id(cert, role),
            reason: Error::UnsupportedKey(match cert.public_key_algorithm() {
                crate::KeyAlgorithm::Unsupported { oid } => format!("key algorithm {oid}"),
                other => format!("{other:?}"),
            }),
        })
}

/// Checks that `root` can serve as a trust anchor at `now` (Unix seconds): self-signed (its
/// issuer is its subject and its signature verifies with its own key), a CA (with
/// keyCertSign if it has KeyUsage), within its validity period, no unrecognised critical
/// extension.
///
/// # Errors
/// The first rule broken, as a [`ChainError`] naming the root.
pub fn validate_root(root: &Certificate, now: i64) -> Result<(), ChainError> {
    let role = CertRole::Root;
    check_extensions(root, role)?;
    if root.issuer_der() != root.subject_der() {
        return Err(ChainError::RootNotSelfSigned {
            cert: id(root, role),
            reason: "its issuer name differs from its subject name".into(),
        });
    }
    verify_signature(root, root).map_err(|e| ChainError::RootNotSelfSigned {
        cert: id(root, role),
        reason: e.to_string(),
    })?;
    check_ca(root, role)?;
    check_validity(root, role, now)
}

/// Validates the path `leaf` <- `intermediates`... <- `root` at `now` (Unix seconds) by the
/// rules in the module documentation.
///
/// ```
/// use paycrypt_keyblock::keygen::{generate_key_pair, AsymmetricAlgorithm};
/// use paycrypt_pki::*;
/// let ca_key = generate_key_pair(AsymmetricAlgorithm::EccNistP384)?;
/// let leaf_key = generate_key_pair(AsymmetricAlgorithm::EccNistP256)?;
/// let validity = ValidityPeriod { not_before: 1_700_000_000, not_after: 1_800_000_000 };
/// let ca = create_ca(&ca_key, &SubjectFields::new("CA"), validity, [1; 16])?;
/// let leaf = issue_leaf(&ca, ca_key.private_pkcs8_der.expose(), &leaf_key.public_spki_der,
///     &SubjectFields::new("leaf"), validity, [2; 16], LeafUsage::Signing)?;
/// let (ca, leaf) = (Certificate::parse(&ca)?, Certificate::parse(&leaf)?);
/// validate_chain(&leaf, &[], &ca, 1_750_000_000)?;
/// assert!(matches!(validate_chain(&leaf, &[], &ca, 1_900_000_000),
///     Err(ChainError::Expired { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// The first rule broken, as a [`ChainError`] naming the rule and the certificate.
pub fn validate_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    root: &Certificate,
    now: i64,
) -> Result<(), ChainError> {
    validate_root(root, now)?;
    let path: Vec<(&Certificate, CertRole)> = iter::once((leaf, CertRole::Leaf))
        .chain(
            intermediates
                .iter()
                .enumerate()
                .map(|(i, c)| (c, CertRole::Intermediate(i))),
        )
        .chain(iter::once((root, CertRole::Root)))
        .collect();
    for (below, link) in path.windows(2).enumerate() {
        let [(cert, role), (issuer, issuer_role)] = [link[0], link[1]];
        check_extensions(cert, role)?;
        if cert.issuer_der() != issuer.subject_der() {
            return Err(ChainError::IssuerNameMismatch {
                cert: id(cert, role),
                issuer: id(issuer, issuer_role),
            });
        }
        check_ca(issuer, issuer_role)?;
        // `below` = how many intermediates sit between the leaf and this issuer.
        if let Some(path_len) = issuer.path_len_constraint()
            && below > usize::from(path_len)
        {
            return Err(ChainError::PathLengthExceeded {
                cert: id(issuer, issuer_role),
                path_len,
                below,
            });
        }
        verify_signature(cert, issuer).map_err(|reason| ChainError::BadSignature {
            cert: id(cert, role),
            issuer: id(issuer, issuer_role),
            reason,
        })?;
        check_validity(cert, role, now)?;
        let (mine, theirs) = (strength(cert, role)?, strength(issuer, issuer_role)?);
        if mine > theirs {
            return Err(ChainError::StrongerThanIssuer {
                cert: id(cert, role),
                strength: mine,
                issuer: id(issuer, issuer_role),
                issuer_strength: theirs,
            });
        }
    }
    Ok(())
}
