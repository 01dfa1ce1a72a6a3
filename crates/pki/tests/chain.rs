//! Path validation with certificates this crate issues: a valid path passes, and each rule
//! that can be broken with them fails with its own [`ChainError`] naming the certificate.
//! (Issuers that are not CAs, or lack keyCertSign, cannot be made with this crate's
//! issuance; `python_chains.rs` covers those with certificates from python `cryptography`.)

mod common;

use common::{CA_VALIDITY, LEAF_VALIDITY, NOW, ca, key, leaf};
use paycrypt_keyblock::keygen::{AsymmetricAlgorithm as Alg, generate_key_pair};
use paycrypt_pki::*;

fn parse(der: &[u8]) -> Certificate {
    Certificate::parse(der).expect("parse")
}

#[test]
fn valid_paths_pass() {
    let root_der = ca(Alg::Rsa4096, "Root");
    let root = parse(&root_der);
    let rsa_leaf = parse(&leaf(
        &root_der,
        Alg::Rsa4096,
        Alg::Rsa2048,
        LeafUsage::Signing,
    ));
    validate_chain(&rsa_leaf, &[], &root, NOW).unwrap();
    // Equal strength is allowed, and so is an ECC key weaker than the RSA-4096 CA.
    let equal = parse(&leaf(
        &root_der,
        Alg::Rsa4096,
        Alg::Rsa4096,
        LeafUsage::Wrapping,
    ));
    validate_chain(&equal, &[], &root, NOW).unwrap();
    let p256 = parse(&leaf(
        &root_der,
        Alg::Rsa4096,
        Alg::EccNistP256,
        LeafUsage::Signing,
    ));
    validate_chain(&p256, &[], &root, NOW).unwrap();
    // The validity period includes both ends.
    validate_chain(&rsa_leaf, &[], &root, LEAF_VALIDITY.not_before).unwrap();
    validate_chain(&rsa_leaf, &[], &root, LEAF_VALIDITY.not_after).unwrap();
}

#[test]
fn expired_and_not_yet_valid() {
    let root_der = ca(Alg::Rsa2048, "Root");
    let root = parse(&root_der);
    let l = parse(&leaf(
        &root_der,
        Alg::Rsa2048,
        Alg::Rsa2048,
        LeafUsage::Signing,
    ));
    let later = LEAF_VALIDITY.not_after + 1;
    assert_eq!(
        validate_chain(&l, &[], &root, later),
        Err(ChainError::Expired {
            cert: CertId {
                role: CertRole::Leaf,
                subject: "CN=111122223333 leaf".into()
            },
            not_after: LEAF_VALIDITY.not_after,
            now: later,
        })
    );
    // A leaf that starts in the future (the root is already valid then).
    let future = parse(
        &issue_leaf(
            &root_der,
            key(Alg::Rsa2048).private_pkcs8_der.expose(),
            &key(Alg::Rsa2048).public_spki_der,
            &SubjectFields::new("future leaf"),
            ValidityPeriod {
                not_before: NOW + 100,
                not_after: NOW + 1000,
            },
            [3; 16],
            LeafUsage::Signing,
        )
        .unwrap(),
    );
    let err = validate_chain(&future, &[], &root, NOW).unwrap_err();
    assert!(matches!(err, ChainError::NotYetValid { .. }), "{err}");
    assert_eq!(err.cert().role, CertRole::Leaf);
    assert!(
        err.to_string()
            .starts_with("validity rule: leaf certificate"),
        "{err}"
    );

    // An expired root fails validate_root and, first, validate_chain.
    let after_root = CA_VALIDITY.not_after + 1;
    let err = validate_root(&root, after_root).unwrap_err();
    assert!(matches!(err, ChainError::Expired { .. }));
    assert_eq!(err.cert().role, CertRole::Root);
    assert_eq!(validate_chain(&l, &[], &root, after_root), Err(err));
}

#[test]
fn signature_tampered_by_one_bit() {
    let root_der = ca(Alg::EccNistP384, "Root");
    let root = parse(&root_der);
    let good = leaf(
        &root_der,
        Alg::EccNistP384,
        Alg::EccNistP256,
        LeafUsage::Signing,
    );
    // The last byte is inside the signature; a bit in the middle is inside the TBS.
    for at in [good.len() - 1, good.len() / 2] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let Ok(cert) = Certificate::parse(&bad) else {
            continue; // the flip broke the DER: nothing to validate
        };
        match validate_chain(&cert, &[], &root, NOW) {
            Err(ChainError::BadSignature { cert, issuer, .. }) => {
                assert_eq!(cert.role, CertRole::Leaf);
                assert_eq!(issuer.role, CertRole::Root);
            }
            other => panic!("flip at {at}: {other:?}"),
        }
    }
    // The signature byte flip always parses.
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 0x80;
    let cert = parse(&bad);
    assert_eq!(verify_signature(&cert, &root), Err(Error::BadSignature));
}

#[test]
fn wrong_issuer_key() {
    // Two CAs with the same name but different keys: the name chains, the signature not.
    let root_der = ca(Alg::Rsa2048, "Same Name");
    let other_key = generate_key_pair(Alg::Rsa2048).unwrap();
    let impostor = parse(
        &create_ca(
            &other_key,
            &SubjectFields {
                organization: Some("111122223333".into()),
                ..SubjectFields::new("Same Name")
            },
            CA_VALIDITY,
            [1; 16],
        )
        .unwrap(),
    );
    let l = parse(&leaf(
        &root_der,
        Alg::Rsa2048,
        Alg::Rsa2048,
        LeafUsage::Signing,
    ));
    match validate_chain(&l, &[], &impostor, NOW) {
        Err(ChainError::BadSignature { cert, reason, .. }) => {
            assert_eq!(cert.role, CertRole::Leaf);
            assert_eq!(reason, Error::BadSignature);
        }
        other => panic!("{other:?}"),
    }
    // An ECC "issuer" for an RSA-signed certificate is an algorithm mismatch.
    let ec_root = parse(&ca(Alg::EccNistP256, "Same Name"));
    match validate_chain(&l, &[], &ec_root, NOW) {
        Err(ChainError::BadSignature { reason, .. }) => {
            assert!(matches!(reason, Error::SignatureAlgorithmMismatch(_)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn issuer_name_mismatch() {
    // Same key, different name: the signature would verify, the names do not chain.
    let root_der = ca(Alg::Rsa3072, "Root One");
    let renamed = parse(&ca(Alg::Rsa3072, "Root Two"));
    let l = parse(&leaf(
        &root_der,
        Alg::Rsa3072,
        Alg::Rsa2048,
        LeafUsage::Signing,
    ));
    verify_signature(&l, &renamed).unwrap();
    match validate_chain(&l, &[], &renamed, NOW) {
        Err(ChainError::IssuerNameMismatch { cert, issuer }) => {
            assert_eq!(cert.role, CertRole::Leaf);
            assert_eq!(issuer.role, CertRole::Root);
            assert_eq!(issuer.subject, "CN=Root Two,O=111122223333");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn leaf_stronger_than_issuer() {
    for (ca_alg, leaf_alg, strength, issuer_strength) in [
        (Alg::Rsa2048, Alg::Rsa4096, 4096, 2048),
        (Alg::Rsa2048, Alg::EccNistP256, 3072, 2048),
        (Alg::EccNistP256, Alg::Rsa4096, 4096, 3072),
        (Alg::EccNistP384, Alg::EccNistP521, 15360, 7680),
    ] {
        let root_der = ca(ca_alg, "Weak Root");
        let root = parse(&root_der);
        let l = parse(&leaf(&root_der, ca_alg, leaf_alg, LeafUsage::General));
        let err = validate_chain(&l, &[], &root, NOW).unwrap_err();
        assert_eq!(
            err,
            ChainError::StrongerThanIssuer {
                cert: CertId {
                    role: CertRole::Leaf,
                    subject: "CN=111122223333 leaf".into()
                },
                strength,
                issuer: CertId {
                    role: CertRole::Root,
                    subject: "CN=Weak Root,O=111122223333".into()
                },
                issuer_strength,
            },
            "{ca_alg:?} -> {leaf_alg:?}"
        );
        assert!(err.to_string().starts_with("strength rule:"));
    }
}

#[test]
fn intermediate_that_is_not_a_ca() {
    // This crate issues only leaves under a self-signed CA, so a three-level path with a
    // real intermediate CA comes from python (`python_chains.rs`). Here: a leaf issued by
    // the root for an RSA-3072 key, and a certificate signed by that same key under the
    // same name, so that names and signatures chain but the intermediate is no CA.
    let root_der = ca(Alg::Rsa4096, "Root");
    let root = parse(&root_der);
    let not_ca = parse(&leaf(
        &root_der,
        Alg::Rsa4096,
        Alg::Rsa3072,
        LeafUsage::General,
    ));
    let same_name_ca = create_ca(
        key(Alg::Rsa3072),
        &SubjectFields::new("111122223333 leaf"),
        CA_VALIDITY,
        [8; 16],
    )
    .unwrap();
    let under = parse(
        &issue_leaf(
            &same_name_ca,
            key(Alg::Rsa3072).private_pkcs8_der.expose(),
            &key(Alg::Rsa2048).public_spki_der,
            &SubjectFields::new("deep leaf"),
            LEAF_VALIDITY,
            [7; 16],
            LeafUsage::Signing,
        )
        .unwrap(),
    );
    // The name chains to `not_ca` and the key signed it, but `not_ca` is no CA.
    verify_signature(&under, &not_ca).unwrap();
    assert_eq!(
        validate_chain(&under, std::slice::from_ref(&not_ca), &root, NOW),
        Err(ChainError::IssuerNotCa {
            cert: CertId {
                role: CertRole::Intermediate(0),
                subject: "CN=111122223333 leaf".into()
            }
        })
    );
    // Out of order: the root given as the intermediate and vice versa.
    let err = validate_chain(&under, std::slice::from_ref(&root), &not_ca, NOW).unwrap_err();
    assert!(matches!(
        err,
        ChainError::RootNotSelfSigned { .. } | ChainError::IssuerNameMismatch { .. }
    ));
}

#[test]
fn root_rules() {
    let root_der = ca(Alg::EccNistP256, "Root");
    let root = parse(&root_der);
    validate_root(&root, NOW).unwrap();
    assert!(matches!(
        validate_root(&root, CA_VALIDITY.not_before - 1),
        Err(ChainError::NotYetValid { .. })
    ));
    // A leaf is not self-signed.
    let l = parse(&leaf(
        &root_der,
        Alg::EccNistP256,
        Alg::EccNistP256,
        LeafUsage::Signing,
    ));
    match validate_root(&l, NOW) {
        Err(ChainError::RootNotSelfSigned { cert, .. }) => assert_eq!(cert.role, CertRole::Root),
        other => panic!("{other:?}"),
    }
    // A self-signed CA whose signature was altered is not self-signed either.
    let mut bad = root_der.clone();
    *bad.last_mut().unwrap() ^= 1;
    if let Ok(bad) = Certificate::parse(&bad) {
        assert!(!bad.is_self_signed());
        assert!(matches!(
            validate_root(&bad, NOW),
            Err(ChainError::RootNotSelfSigned { .. })
        ));
    }
}
