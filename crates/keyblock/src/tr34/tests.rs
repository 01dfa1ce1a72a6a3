//! Unit tests that need the module's insides: check 6 (a block whose inner identity or
//! header differs from the signed one, which [`build`] never writes), lenient unpadding,
//! and the UTCTime encoding. Round trips, tampering, real AWS blocks and the independent
//! Python implementation are in `tests/tr34.rs`.

use super::*;
use crate::SystemRng;
use crate::keygen::{AsymmetricAlgorithm, KeyPair, generate_key_pair};

/// A self-signed certificate for `pair` (only its issuer, serial and key matter here).
fn certificate(pair: &KeyPair, name: &str) -> Vec<u8> {
    let key = rcgen::KeyPair::try_from(pair.private_pkcs8_der.expose()).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.self_signed(&key).unwrap().der().to_vec()
}

#[test]
fn check_6_compares_the_inner_identity_and_header_with_the_signed_ones() {
    let kdh = generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
    let krd = generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
    let (kdh_cert, krd_cert) = (certificate(&kdh, "KDH"), certificate(&krd, "KRD"));
    let params = BuildParams {
        key: &[0x11; 16],
        header: "D0112K0TB00E0000",
        kdh_certificate_der: &kdh_cert,
        kdh_private_pkcs8_der: kdh.private_pkcs8_der.expose(),
        krd_certificate_der: &krd_cert,
        content_cipher: ContentCipher::Tdes,
        freshness: Freshness::RandomNonce(vec![7; 8]),
    };
    let open = |block: &[u8]| {
        open(
            block,
            &krd_cert,
            krd.private_pkcs8_der.expose(),
            &kdh_cert,
            Some(&[7; 8]),
        )
        .map(|o| o.key.expose().to_vec())
    };

    let real = IssuerSerial::from_certificate(&kdh_cert).unwrap();
    let block = build_with_inner(&params, Some((&real, b"D0112K0TB00E0000")), &mut SystemRng);
    assert_eq!(open(&block.unwrap()), Ok(vec![0x11; 16]));

    let other = IssuerSerial::from_certificate(&krd_cert).unwrap();
    let block = build_with_inner(&params, Some((&other, b"D0112K0TB00E0000")), &mut SystemRng);
    assert_eq!(
        open(&block.unwrap()),
        Err(Error::Tr34CheckFailed(Tr34Check::InnerIdentity))
    );

    let block = build_with_inner(&params, Some((&real, b"D0112K0TE00E0000")), &mut SystemRng);
    assert_eq!(
        open(&block.unwrap()),
        Err(Error::Tr34CheckFailed(Tr34Check::InnerHeader))
    );
}

fn inner_plaintext(padding: &[u8]) -> Vec<u8> {
    let kdh = IssuerSerial {
        issuer_der: vec![0x30, 0x00],
        serial: vec![0x05],
    };
    let mut p = write::plaintext(&kdh, &[0x22; 16], b"D0112K0TB00E0000", 8).to_vec();
    // Drop the writer's own padding and put `padding` instead.
    let pad = usize::from(*p.last().unwrap());
    p.truncate(p.len() - pad);
    p.extend_from_slice(padding);
    p
}

#[test]
fn unpadding_is_lenient_but_not_blind() {
    let bare = inner_plaintext(&[]);
    assert_eq!(bare.len(), 63);
    for padding in [&[][..], &[1], &[4, 4, 4, 4], &[8; 8]] {
        let p = inner_plaintext(padding);
        let inner = parse::inner(&p, 8).unwrap();
        assert_eq!(inner.key, [0x22; 16], "{padding:?}");
        assert_eq!(inner.header, b"D0112K0TB00E0000");
        assert_eq!(inner.kdh.serial, [0x05]);
    }
    for padding in [&[0][..], &[1, 2], &[3, 3], &[9; 9], &[0x30, 0x00]] {
        let p = inner_plaintext(padding);
        assert_eq!(
            parse::inner(&p, 8).map(|_| ()),
            Err(Error::Tr34Malformed("decrypted content padding")),
            "{padding:?}"
        );
    }
}

#[test]
fn signing_time_is_written_as_utctime() {
    // The signing time of the AWS CLI import-key example block: 230609233946Z.
    let t = SigningTime::from_unix_seconds(1_686_353_986).unwrap();
    assert_eq!(t.to_der(), b"\x17\x0D230609233946Z");
    assert_eq!(t.unix_seconds(), 1_686_353_986);
    assert_eq!(t.to_string(), "2023-06-09T23:39:46Z");
    assert_eq!(format!("{t:?}"), "SigningTime(2023-06-09T23:39:46Z)");
    // UTCTime ends with 2049.
    assert!(SigningTime::from_unix_seconds(2_524_608_000).is_err());
    assert!(SigningTime::from_unix_seconds(2_524_607_999).is_ok());
}

#[test]
fn content_cipher_names() {
    assert_eq!(ContentCipher::Tdes.name(), "des-ede3-cbc");
    assert_eq!(ContentCipher::Tdes.oid(), "1.2.840.113549.3.7");
    assert_eq!(ContentCipher::Aes128.name(), "aes128-CBC");
    assert_eq!(ContentCipher::Aes128.oid(), "2.16.840.1.101.3.4.1.2");
    for c in [ContentCipher::Tdes, ContentCipher::Aes128] {
        assert_eq!(c.oid_const().to_string(), c.oid());
    }
    assert!(KeyTransport::RsaOaepSha256.name().starts_with("RSAES-OAEP"));
}

/// ENV with the same recipient and content in each combination of "EnvelopedData
/// SEQUENCE or bare fields" and "ciphertext inside the algorithm, after it, both or none".
fn envelope_variant(in_sequence: bool, inside: bool, after: bool) -> Vec<u8> {
    use asn1::{oid_tlv, tag, tlv};
    let krd = IssuerSerial {
        issuer_der: vec![0x30, 0x00],
        serial: vec![0x07],
    };
    let aws = write::envelope(&write::Envelope {
        krd: &krd,
        encrypted_key: &[0x11; 256],
        cipher: ContentCipher::Tdes,
        iv: &[0x22; 8],
        ciphertext: &[0x33; 16],
    });
    let mut items = asn1::Items::new(&aws, "test").unwrap();
    let version = items.next_tlv(tag::INTEGER, "test").unwrap().raw;
    let recipients = items.next_tlv(tag::SET, "test").unwrap().raw;
    let ciphertext = tlv(tag::CONTEXT_0_PRIMITIVE, &[&[0x33; 16]]);
    let none: &[u8] = &[];
    let algorithm = tlv(
        tag::SEQUENCE,
        &[
            &oid_tlv(&asn1::oid::DES_EDE3_CBC),
            &tlv(tag::OCTET_STRING, &[&[0x22; 8]]),
            if inside { &ciphertext } else { none },
        ],
    );
    let eci = tlv(
        tag::SEQUENCE,
        &[
            &oid_tlv(&asn1::oid::DATA),
            &algorithm,
            if after { &ciphertext } else { none },
        ],
    );
    let fields = [version, recipients, &eci].concat();
    if in_sequence {
        tlv(tag::SEQUENCE, &[&fields])
    } else {
        fields
    }
}

#[test]
fn the_layout_is_read_from_where_the_enveloped_fields_sit() {
    let kdh = IssuerSerial {
        issuer_der: vec![0x30, 0x00],
        serial: vec![0x06],
    };
    let freshness = Freshness::RandomNonce(vec![9; 8]);
    let inspect_env = |env: &[u8]| {
        let attrs = write::signed_attributes(b"D0112K0TB00E0000", &freshness, &[0; 32]);
        let block = write::signed_data(env, &kdh, &attrs, &[0; 256]);
        inspect(&block).map(|seen| seen.layout)
    };
    // The AWS writer's own ENV is the AWS layout.
    assert_eq!(
        inspect_env(&envelope_variant(false, true, false)),
        Ok(Layout::Aws)
    );
    assert_eq!(
        inspect_env(&envelope_variant(true, true, false)),
        Ok(Layout::AnnexB2019)
    );
    assert_eq!(
        inspect_env(&envelope_variant(true, false, true)),
        Ok(Layout::Cms)
    );
    for in_sequence in [false, true] {
        assert_eq!(
            inspect_env(&envelope_variant(in_sequence, true, true)),
            Err(Error::Tr34Malformed("encryptedContent given twice"))
        );
        assert_eq!(
            inspect_env(&envelope_variant(in_sequence, false, false)),
            Err(Error::Tr34Malformed("encryptedContent missing"))
        );
    }
    assert_eq!(
        inspect_env(&envelope_variant(false, false, true)),
        Err(Error::Tr34Malformed(
            "encryptedContent outside the algorithm without an EnvelopedData SEQUENCE"
        ))
    );
    // An EnvelopedData SEQUENCE followed by anything is not one.
    let mut trailing = envelope_variant(true, false, true);
    trailing.extend_from_slice(&[0x05, 0x00]);
    assert_eq!(
        inspect_env(&trailing),
        Err(Error::Tr34Malformed("EnvelopedData trailing data"))
    );
}
