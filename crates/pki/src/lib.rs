//! The PKI side of paycrypt: the per-account CA, the short-lived signing and wrapping
//! certificates it issues, PKCS#10 requests, parsing and validating callers' certificates
//! and chains, and the base64-of-PEM wire form AWS Payment Cryptography uses for every
//! certificate.
//!
//! Pure functions over bytes: no I/O and no clock (times are Unix seconds passed in), errors
//! are typed ([`Error`], [`ChainError`]) and never carry key material, and no input makes
//! these functions panic. Private keys arrive as PKCS#8 DER borrowed from the caller (who
//! keeps them in [`paycrypt_keyblock::SecretBytes`]); this crate keeps no copy of its own:
//! aws-lc-rs holds the parsed key only for the duration of one call.
//! Signing and verification are aws-lc-rs; the ASN.1 types are RustCrypto's `x509-cert`
//! and `der`.
//!
//! | module | what |
//! |---|---|
//! | [`create_ca`], [`issue_leaf`] | the account CA certificate and the leaves it signs |
//! | [`Certificate`] | a parsed certificate: names, serial, validity, extensions, key |
//! | [`verify_signature`], [`validate_root`], [`validate_chain`] | path validation rules |
//! | [`certificate_signing_request`] | PKCS#10 requests for GetCertificateSigningRequest |
//! | [`to_wire`], [`from_wire`], [`from_wire_chain`], [`csr_to_wire`] | base64 of PEM |
//!
//! ```
//! use paycrypt_keyblock::keygen::{generate_key_pair, AsymmetricAlgorithm};
//! use paycrypt_pki::*;
//!
//! let ca_key = generate_key_pair(AsymmetricAlgorithm::Rsa2048)?;
//! let leaf_key = generate_key_pair(AsymmetricAlgorithm::Rsa2048)?;
//! let now = 1_750_000_000;
//! let ca = create_ca(
//!     &ca_key,
//!     &SubjectFields { organization: Some("111122223333".into()), ..SubjectFields::new("paycrypt CA") },
//!     ValidityPeriod { not_before: now - 3600, not_after: now + 10 * 365 * 86400 },
//!     [0x5A; 16],
//! )?;
//! let leaf = issue_leaf(
//!     &ca,
//!     ca_key.private_pkcs8_der.expose(),
//!     &leaf_key.public_spki_der,
//!     &SubjectFields::new("111122223333"),
//!     ValidityPeriod { not_before: now - 3600, not_after: now + 7 * 86400 },
//!     [0xA5; 16],
//!     LeafUsage::Signing,
//! )?;
//! let wire = to_wire(&leaf);
//! assert!(wire.starts_with("LS0tLS1CRUdJTi"));
//!
//! let leaf = Certificate::parse(&from_wire(&wire)?)?;
//! let ca = Certificate::parse(&ca)?;
//! assert_eq!(leaf.issuer(), "CN=paycrypt CA,O=111122223333");
//! assert_eq!(leaf.public_key_algorithm(), &KeyAlgorithm::Rsa { bits: 2048 });
//! validate_chain(&leaf, &[], &ca, now)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cert;
mod chain;
mod csr;
mod error;
mod issue;
mod key;
mod name;
mod wire;

pub use cert::{Certificate, KeyUsageFlags};
pub use chain::{validate_chain, validate_root, verify_signature};
pub use csr::certificate_signing_request;
pub use error::{CertId, CertRole, ChainError, Error};
pub use issue::{LeafUsage, ValidityPeriod, create_ca, issue_leaf};
pub use key::{EcCurve, HashAlgorithm, KeyAlgorithm, SignatureAlgorithm};
pub use name::SubjectFields;
pub use wire::{chain_to_wire, csr_to_wire, from_wire, from_wire_chain, to_pem, to_wire};
