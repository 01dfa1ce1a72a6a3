//! Issuing CA and leaf certificates and requests, then reading them back with
//! [`Certificate::parse`] (and, for requests, with `x509-cert`): the profile of
//! `tr34-aws-layout.md`, every key type, and the errors for bad inputs.

mod common;

use common::{CA_VALIDITY, LEAF_VALIDITY, NOW, ca, key, leaf};
use der::{Decode, Encode};
use paycrypt_keyblock::SecretBytes;
use paycrypt_keyblock::keygen::{AsymmetricAlgorithm as Alg, KeyPair, generate_key_pair};
use paycrypt_pki::*;

#[test]
fn ca_profile_for_every_key_type() {
    for (alg, expect_key, expect_sig) in [
        (
            Alg::Rsa2048,
            KeyAlgorithm::Rsa { bits: 2048 },
            SignatureAlgorithm::RsaPkcs1(HashAlgorithm::Sha256),
        ),
        (
            Alg::Rsa3072,
            KeyAlgorithm::Rsa { bits: 3072 },
            SignatureAlgorithm::RsaPkcs1(HashAlgorithm::Sha256),
        ),
        (
            Alg::Rsa4096,
            KeyAlgorithm::Rsa { bits: 4096 },
            SignatureAlgorithm::RsaPkcs1(HashAlgorithm::Sha256),
        ),
        (
            Alg::EccNistP256,
            KeyAlgorithm::Ec {
                curve: EcCurve::P256,
            },
            SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256),
        ),
        (
            Alg::EccNistP384,
            KeyAlgorithm::Ec {
                curve: EcCurve::P384,
            },
            SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha384),
        ),
        (
            Alg::EccNistP521,
            KeyAlgorithm::Ec {
                curve: EcCurve::P521,
            },
            SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha512),
        ),
    ] {
        let der = ca(alg, "paycrypt CA");
        let c = Certificate::parse(&der).unwrap();
        assert_eq!(c.der(), der.as_slice());
        assert_eq!(c.version(), 3);
        assert_eq!(c.subject(), "CN=paycrypt CA,O=111122223333", "{alg:?}");
        assert_eq!(c.issuer(), c.subject());
        assert_eq!(c.subject_der(), c.issuer_der());
        assert_eq!(c.subject_common_name(), Some("paycrypt CA"));
        assert_eq!(c.serial(), [0x3C; 16]);
        assert_eq!(c.serial_hex(), "3C".repeat(16));
        assert_eq!(c.not_before(), CA_VALIDITY.not_before);
        assert_eq!(c.not_after(), CA_VALIDITY.not_after);
        assert!(c.is_valid_at(NOW));
        assert!(c.is_ca());
        assert_eq!(c.path_len_constraint(), None);
        assert_eq!(
            c.key_usage(),
            Some(KeyUsageFlags {
                digital_signature: true,
                key_cert_sign: true,
                crl_sign: true,
                ..KeyUsageFlags::default()
            })
        );
        assert_eq!(c.subject_key_identifier().map(<[u8]>::len), Some(20));
        assert_eq!(c.authority_key_identifier(), None);
        assert!(c.unrecognised_critical_extensions().is_empty());
        assert_eq!(c.public_key_spki_der(), key(alg).public_spki_der.as_slice());
        assert_eq!(c.public_key_algorithm(), &expect_key);
        assert_eq!(c.signature_algorithm(), Some(expect_sig));
        assert!(c.is_self_signed());
        verify_signature(&c, &c).unwrap();
        validate_root(&c, NOW).unwrap();
    }
}

#[test]
fn leaf_profile_under_an_rsa_4096_ca() {
    let ca_der = ca(Alg::Rsa4096, "paycrypt CA");
    let ca = Certificate::parse(&ca_der).unwrap();
    for usage in [LeafUsage::Signing, LeafUsage::Wrapping, LeafUsage::General] {
        let der = leaf(&ca_der, Alg::Rsa4096, Alg::Rsa2048, usage);
        let l = Certificate::parse(&der).unwrap();
        assert_eq!(l.version(), 3);
        assert_eq!(l.issuer_der(), ca.subject_der());
        assert_eq!(l.issuer(), "CN=paycrypt CA,O=111122223333");
        assert_eq!(l.subject(), "CN=111122223333 leaf");
        // 0x9E has its top bit set: the INTEGER gets a 0x00 sign byte.
        assert_eq!(l.serial(), [&[0u8][..], &[0x9E; 16]].concat());
        assert_eq!(l.not_before(), LEAF_VALIDITY.not_before);
        assert_eq!(l.not_after(), LEAF_VALIDITY.not_after);
        assert!(!l.is_ca());
        assert_eq!(
            l.key_usage(),
            Some(KeyUsageFlags {
                digital_signature: true,
                key_encipherment: true,
                ..KeyUsageFlags::default()
            }),
            "RSA leaves get the AWS profile whatever the usage ({usage:?})"
        );
        assert_eq!(l.authority_key_identifier(), ca.subject_key_identifier());
        assert_eq!(l.subject_key_identifier().map(<[u8]>::len), Some(20));
        assert_ne!(l.subject_key_identifier(), ca.subject_key_identifier());
        assert_eq!(l.public_key_algorithm(), &KeyAlgorithm::Rsa { bits: 2048 });
        assert_eq!(
            l.signature_algorithm(),
            Some(SignatureAlgorithm::RsaPkcs1(HashAlgorithm::Sha256))
        );
        assert!(!l.is_self_signed());
        verify_signature(&l, &ca).unwrap();
        assert_eq!(verify_signature(&l, &l), Err(Error::BadSignature));
        validate_chain(&l, &[], &ca, NOW).unwrap();
    }
}

#[test]
fn ecc_leaf_key_usage_follows_the_usage() {
    let ca_der = ca(Alg::EccNistP521, "ECC CA");
    let ca = Certificate::parse(&ca_der).unwrap();
    let flags = |ds, ka| KeyUsageFlags {
        digital_signature: ds,
        key_agreement: ka,
        ..KeyUsageFlags::default()
    };
    for (usage, expected) in [
        (LeafUsage::Signing, flags(true, false)),
        (LeafUsage::Wrapping, flags(false, true)),
        (LeafUsage::General, flags(true, true)),
    ] {
        let l =
            Certificate::parse(&leaf(&ca_der, Alg::EccNistP521, Alg::EccNistP256, usage)).unwrap();
        assert_eq!(l.key_usage(), Some(expected), "{usage:?}");
        assert_eq!(
            l.signature_algorithm(),
            Some(SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha512))
        );
        validate_chain(&l, &[], &ca, NOW).unwrap();
    }
}

#[test]
fn issuer_and_serial_is_the_der_of_the_two_fields() {
    let ca_der = ca(Alg::Rsa2048, "IAS CA");
    let l = Certificate::parse(&leaf(
        &ca_der,
        Alg::Rsa2048,
        Alg::Rsa2048,
        LeafUsage::Wrapping,
    ))
    .unwrap();
    let ias = l.issuer_and_serial_der().unwrap();
    let mut serial_tlv = vec![0x02, 17, 0x00];
    serial_tlv.extend([0x9E; 16]);
    let content = [l.issuer_der(), &serial_tlv].concat();
    assert!(content.len() < 128);
    let mut expected = vec![0x30, content.len() as u8];
    expected.extend(content);
    assert_eq!(ias, expected);
}

#[test]
fn serials_and_times_encode_as_rfc_5280_wants() {
    let k = key(Alg::EccNistP256);
    // A serial with leading zero bytes is encoded minimally.
    let mut serial = [0u8; 16];
    serial[15] = 1;
    // 2060 needs GeneralizedTime; 1970 is the earliest UTCTime this crate writes.
    let far = ValidityPeriod {
        not_before: 0,
        not_after: 2_840_140_800, // 2060-01-01T00:00:00Z
    };
    let der = create_ca(k, &SubjectFields::new("far"), far, serial).unwrap();
    let c = Certificate::parse(&der).unwrap();
    assert_eq!(c.serial(), [1]);
    assert_eq!((c.not_before(), c.not_after()), (0, 2_840_140_800));
    let x = x509_cert::Certificate::from_der(&der).unwrap();
    let v = x.tbs_certificate().validity();
    assert!(matches!(v.not_before, x509_cert::time::Time::UtcTime(_)));
    assert!(matches!(v.not_after, x509_cert::time::Time::GeneralTime(_)));
}

#[test]
fn issuance_errors() {
    let rsa = key(Alg::Rsa2048);
    let ec = key(Alg::EccNistP256);
    let subject = SubjectFields::new("x");
    let ok = LEAF_VALIDITY;
    let mixed = KeyPair {
        private_pkcs8_der: rsa.private_pkcs8_der.clone(),
        public_spki_der: key(Alg::Rsa3072).public_spki_der.clone(),
    };
    let wrong_type = KeyPair {
        private_pkcs8_der: ec.private_pkcs8_der.clone(),
        public_spki_der: rsa.public_spki_der.clone(),
    };
    let garbage = KeyPair {
        private_pkcs8_der: SecretBytes::new(vec![0x30, 0x00]),
        public_spki_der: rsa.public_spki_der.clone(),
    };
    assert_eq!(
        create_ca(&mixed, &subject, ok, [1; 16]),
        Err(Error::KeyMismatch("public key"))
    );
    assert_eq!(
        create_ca(&wrong_type, &subject, ok, [1; 16]),
        Err(Error::InvalidPrivateKey)
    );
    assert_eq!(
        create_ca(&garbage, &subject, ok, [1; 16]),
        Err(Error::InvalidPrivateKey)
    );
    assert_eq!(
        create_ca(rsa, &subject, ok, [0; 16]),
        Err(Error::InvalidSerial)
    );
    for (period, why) in [
        ((10, 9), "notAfter is before notBefore"),
        ((-1, 9), "before 1970"),
        ((0, 253_402_300_800), "after 9999"),
    ] {
        let v = ValidityPeriod {
            not_before: period.0,
            not_after: period.1,
        };
        assert_eq!(
            create_ca(ec, &subject, v, [1; 16]),
            Err(Error::InvalidValidity(why))
        );
    }
    assert!(matches!(
        create_ca(ec, &SubjectFields::new(""), ok, [1; 16]),
        Err(Error::InvalidSubject {
            field: "common_name",
            ..
        })
    ));

    let ca_der = ca(Alg::Rsa2048, "Issuing CA");
    let leaf_der = leaf(&ca_der, Alg::Rsa2048, Alg::Rsa2048, LeafUsage::Signing);
    let issue = |ca: &[u8], private: &[u8], spki: &[u8], validity| {
        issue_leaf(
            ca,
            private,
            spki,
            &subject,
            validity,
            [5; 16],
            LeafUsage::Signing,
        )
    };
    let rsa_private = rsa.private_pkcs8_der.expose();
    // A leaf cannot issue.
    assert_eq!(
        issue(&leaf_der, rsa_private, &ec.public_spki_der, ok),
        Err(Error::IssuerNotCa)
    );
    // The private key must be the CA certificate's.
    assert_eq!(
        issue(
            &ca_der,
            key(Alg::Rsa3072).private_pkcs8_der.expose(),
            &ec.public_spki_der,
            ok
        ),
        Err(Error::KeyMismatch("CA certificate"))
    );
    // The leaf must lie within the CA's validity.
    let too_long = ValidityPeriod {
        not_before: NOW,
        not_after: CA_VALIDITY.not_after + 1,
    };
    assert!(matches!(
        issue(&ca_der, rsa_private, &ec.public_spki_der, too_long),
        Err(Error::InvalidValidity(_))
    ));
    assert!(matches!(
        issue(&ca_der, rsa_private, b"\x30\x03\x02\x01\x01", ok),
        Err(Error::InvalidPublicKey(_))
    ));
    assert!(matches!(
        issue(b"not a certificate", rsa_private, &ec.public_spki_der, ok),
        Err(Error::InvalidCertificate(_))
    ));
    // An Ed25519 SubjectPublicKeyInfo (RFC 8410 example key) is not a supported leaf key.
    let ed25519_spki = [
        &[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ][..],
        &[0x19; 32][..],
    ]
    .concat();
    assert!(matches!(
        issue(&ca_der, rsa_private, &ed25519_spki, ok),
        Err(Error::UnsupportedKey(_))
    ));
}

#[test]
fn errors_do_not_carry_key_material() {
    let pair = generate_key_pair(Alg::EccNistP256).unwrap();
    let other = key(Alg::EccNistP256);
    let mixed = KeyPair {
        private_pkcs8_der: pair.private_pkcs8_der.clone(),
        public_spki_der: other.public_spki_der.clone(),
    };
    let err = create_ca(&mixed, &SubjectFields::new("x"), LEAF_VALIDITY, [1; 16]).unwrap_err();
    let printed = format!("{err} {err:?}");
    let private_hex = hex_upper(pair.private_pkcs8_der.expose());
    // No run of 8 private key bytes appears in either form, in hex or decimal.
    for window in pair.private_pkcs8_der.expose().windows(8) {
        assert!(!printed.contains(&hex_upper(window)));
        assert!(!printed.contains(&format!("{window:?}")[1..20]));
    }
    assert!(!printed.contains(&private_hex));
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn csr_for_every_key_type() {
    let subject = SubjectFields {
        common_name: "Payment HSM".into(),
        organization: Some("Example Corp".into()),
        organizational_unit: Some("Payments".into()),
        country: Some("US".into()),
        state_or_province: Some("Washington".into()),
        locality: Some("Seattle".into()),
        email_address: Some("pki@example.com".into()),
    };
    for alg in [
        Alg::Rsa2048,
        Alg::EccNistP256,
        Alg::EccNistP384,
        Alg::EccNistP521,
    ] {
        let k = key(alg);
        let der =
            certificate_signing_request(k.private_pkcs8_der.expose(), &k.public_spki_der, &subject)
                .unwrap();
        let req = x509_cert::request::CertReq::from_der(&der).unwrap();
        assert_eq!(req.to_der().unwrap(), der);
        assert_eq!(req.info.public_key.to_der().unwrap(), k.public_spki_der);
        assert_eq!(
            req.info.subject.common_name().unwrap().unwrap().value(),
            "Payment HSM"
        );
        assert_eq!(req.info.subject.iter().count(), 7);
        assert!(req.info.attributes.is_empty());
        let wire = csr_to_wire(&der);
        assert!(wire.starts_with("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNU"));
    }
    let rsa = key(Alg::Rsa2048);
    assert_eq!(
        certificate_signing_request(
            rsa.private_pkcs8_der.expose(),
            &key(Alg::Rsa3072).public_spki_der,
            &subject
        ),
        Err(Error::KeyMismatch("public key"))
    );
}

#[test]
fn wire_round_trip_of_real_certificates() {
    let ca_der = ca(Alg::EccNistP384, "Wire CA");
    let leaf_der = leaf(
        &ca_der,
        Alg::EccNistP384,
        Alg::EccNistP256,
        LeafUsage::Signing,
    );
    let wire = to_wire(&leaf_der);
    assert!(wire.starts_with("LS0tLS1CRUdJTi"));
    assert_eq!(from_wire(&wire).unwrap(), leaf_der);
    assert_eq!(from_wire(&to_pem(&leaf_der)).unwrap(), leaf_der);
    let chain = chain_to_wire(&[&leaf_der, &ca_der]);
    assert_eq!(
        from_wire_chain(&chain).unwrap(),
        vec![leaf_der.clone(), ca_der]
    );
    assert_eq!(from_wire(&chain), Err(Error::MultipleCertificates(2)));
}
