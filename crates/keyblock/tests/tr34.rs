//! TR-34 key blocks: round trips over key types, content ciphers, KRD sizes and both
//! freshness modes; every receiving check failing when its input is tampered with; the
//! two real AWS blocks from the AWS CLI examples; the layout compared with AWS's, element
//! by element; parsers that never panic; and a live cross-check against an independent
//! Python implementation (`tests/tr34_independent.py`).

mod common;

use std::sync::OnceLock;

use common::{FixedRng, h};
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm, KeyPair};
use paycrypt_keyblock::tr34::{
    self, BuildParams, ContentCipher, Freshness, IssuerSerial, KeyTransport, SigningTime, Tr34Check,
};
use paycrypt_keyblock::{Error, SystemRng, kcv};
use proptest::prelude::*;

/// A key pair and its certificate, issued by the test CA.
struct Party {
    pair: KeyPair,
    cert: Vec<u8>,
}

impl Party {
    fn key(&self) -> &[u8] {
        self.pair.private_pkcs8_der.expose()
    }
}

struct Parties {
    kdh: Party,
    krd: Party,
    krd_3072: Party,
    other_kdh: Party,
    other_krd: Party,
    /// Same issuer and serial number as `kdh`, another key.
    kdh_twin: Party,
}

/// A certificate for `pair` signed by `ca`, with the given subject and serial number.
fn issue(
    ca: &rcgen::Issuer<'_, rcgen::KeyPair>,
    pair: &KeyPair,
    cn: &str,
    serial: &[u8],
) -> Vec<u8> {
    let key = rcgen::KeyPair::try_from(pair.private_pkcs8_der.expose()).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.signed_by(&key, ca).unwrap().der().to_vec()
}

/// Key pairs are slow to make: one set for the whole test binary.
fn parties() -> &'static Parties {
    static PARTIES: OnceLock<Parties> = OnceLock::new();
    PARTIES.get_or_init(|| {
        let rsa = |alg| keygen::generate_key_pair(alg).unwrap();
        let ca_pair = rsa(AsymmetricAlgorithm::Rsa2048);
        let ca_key = rcgen::KeyPair::try_from(ca_pair.private_pkcs8_der.expose()).unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "paycrypt test CA");
        let ca = rcgen::Issuer::new(ca_params, ca_key);
        let party = |alg, cn: &str, serial: &[u8]| {
            let pair = rsa(alg);
            let cert = issue(&ca, &pair, cn, serial);
            Party { pair, cert }
        };
        // Serials with the top bit set encode with a leading 00, as AWS's do.
        let kdh = party(
            AsymmetricAlgorithm::Rsa2048,
            "KDH",
            &h("C61EFF5D6A4FE93F5BD40FD8FF0852E8"),
        );
        let twin_pair = rsa(AsymmetricAlgorithm::Rsa2048);
        let twin_cert = issue(
            &ca,
            &twin_pair,
            "KDH",
            &h("C61EFF5D6A4FE93F5BD40FD8FF0852E8"),
        );
        Parties {
            kdh,
            krd: party(
                AsymmetricAlgorithm::Rsa2048,
                "KRD",
                &h("26C5E52507841B72C59D9F0065548DC1"),
            ),
            krd_3072: party(
                AsymmetricAlgorithm::Rsa3072,
                "KRD 3072",
                &h("0102030405060708"),
            ),
            other_kdh: party(AsymmetricAlgorithm::Rsa2048, "KDH", &h("6BD452CE836B7D2A")),
            other_krd: party(
                AsymmetricAlgorithm::Rsa2048,
                "KRD",
                &h("26C5E52507841B72C59D9F0065548DC2"),
            ),
            kdh_twin: Party {
                pair: twin_pair,
                cert: twin_cert,
            },
        }
    })
}

const NONCE: &str = "A1B2C3D4E5F60718";
/// 2023-06-09T23:39:46Z, the signing time of the AWS CLI import-key example.
const TIME: u64 = 1_686_353_986;

fn params<'a>(
    key: &'a [u8],
    header: &'a str,
    krd: &'a Party,
    cipher: ContentCipher,
    freshness: Freshness,
) -> BuildParams<'a> {
    let p = parties();
    BuildParams {
        key,
        header,
        kdh_certificate_der: &p.kdh.cert,
        kdh_private_pkcs8_der: p.kdh.key(),
        krd_certificate_der: &krd.cert,
        content_cipher: cipher,
        freshness,
    }
}

fn two_pass() -> Freshness {
    Freshness::RandomNonce(h(NONCE))
}

fn one_pass() -> Freshness {
    Freshness::SigningTime(SigningTime::from_unix_seconds(TIME).unwrap())
}

/// Opens as `krd` with the genuine KDH certificate.
fn open_as(block: &[u8], krd: &Party, nonce: Option<&[u8]>) -> Result<tr34::Opened, Error> {
    tr34::open(block, &krd.cert, krd.key(), &parties().kdh.cert, nonce)
}

fn check_failed(which: Tr34Check) -> Result<(), Error> {
    Err(Error::Tr34CheckFailed(which))
}

#[test]
fn round_trips() {
    let p = parties();
    let cases = [
        // TDES 2-key and 3-key keys in TDES content, AES keys in AES content.
        (
            "0123456789ABCDEFFEDCBA9876543210",
            "D0112K0TB00E0000",
            ContentCipher::Tdes,
            &p.krd,
            true,
        ),
        (
            "0123456789ABCDEFFEDCBA9876543210",
            "D0112K0TB00E0000",
            ContentCipher::Tdes,
            &p.krd_3072,
            false,
        ),
        (
            "89E88CF7931444F334BD7547FC3F380C0123456789ABCDEF",
            "D0112K1TE00E0000",
            ContentCipher::Tdes,
            &p.krd,
            false,
        ),
        (
            "89E88CF7931444F334BD7547FC3F380C0123456789ABCDEF",
            "D0112K1TE00E0000",
            ContentCipher::Tdes,
            &p.krd_3072,
            true,
        ),
        (
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "D0112K0AB00E0000",
            ContentCipher::Aes128,
            &p.krd_3072,
            true,
        ),
        (
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "D0112K0AB00E0000",
            ContentCipher::Aes128,
            &p.krd,
            false,
        ),
        (
            "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4",
            "D0144K0AB00E0000",
            ContentCipher::Aes128,
            &p.krd_3072,
            false,
        ),
        // A header with an optional block, and the D9999 placeholder some senders write.
        (
            "0123456789ABCDEFFEDCBA9876543210",
            "D0112K0TB00E0100KS1800604B120F9292800000",
            ContentCipher::Tdes,
            &p.krd,
            true,
        ),
        (
            "0123456789ABCDEFFEDCBA9876543210",
            "D9999K0TB00E0000",
            ContentCipher::Tdes,
            &p.krd,
            true,
        ),
    ];
    for (key, header, cipher, krd, two) in cases {
        let key = h(key);
        let freshness = if two { two_pass() } else { one_pass() };
        let block = tr34::build(
            &params(&key, header, krd, cipher, freshness.clone()),
            &mut SystemRng,
        )
        .unwrap();
        let nonce = h(NONCE);
        let expected = two.then_some(nonce.as_slice());
        let opened = open_as(&block, krd, expected).unwrap();
        assert_eq!(opened.key.expose(), key.as_slice(), "{header} {cipher:?}");
        assert_eq!(opened.header, header);
        assert_eq!(opened.freshness, freshness);
        assert_eq!(opened.content_cipher, cipher);

        let seen = tr34::inspect(&block).unwrap();
        assert_eq!(seen, tr34::verify(&block, &p.kdh.cert).unwrap());
        assert_eq!(
            seen.kdh,
            IssuerSerial::from_certificate(&p.kdh.cert).unwrap()
        );
        assert_eq!(seen.krd, IssuerSerial::from_certificate(&krd.cert).unwrap());
        assert_eq!(seen.header, header);
        assert_eq!(seen.freshness, freshness);
        assert_eq!(seen.content_cipher, cipher);
        assert_eq!(seen.key_transport, KeyTransport::RsaOaepSha256);
    }
}

#[test]
fn identities_read_from_certificates() {
    let p = parties();
    let kdh = IssuerSerial::from_certificate(&p.kdh.cert).unwrap();
    assert_eq!(kdh.serial_hex(), "00C61EFF5D6A4FE93F5BD40FD8FF0852E8");
    assert_eq!(kdh.issuer().as_deref(), Some("O=paycrypt test CA"));
    assert_eq!(kdh.issuer_der()[0], 0x30);
    let twin = IssuerSerial::from_certificate(&p.kdh_twin.cert).unwrap();
    assert_eq!(kdh, twin);
    let krd = IssuerSerial::from_certificate(&p.krd_3072.cert).unwrap();
    assert_eq!(krd.serial(), h("0102030405060708").as_slice());
    assert!(matches!(
        IssuerSerial::from_certificate(b"not a certificate"),
        Err(Error::InvalidCertificate(_))
    ));
}

/// A TDES block built with known content key and IV (so tests can find the IV).
fn known_block() -> (Vec<u8>, Vec<u8>) {
    let p = parties();
    let key = h("0123456789ABCDEFFEDCBA9876543210");
    let content_key = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
    let iv = "F0E1D2C3B4A59687";
    let mut rng = FixedRng::new(&format!("{content_key}{iv}"));
    let block = tr34::build(
        &params(
            &key,
            "D0112K0TB00E0000",
            &p.krd,
            ContentCipher::Tdes,
            two_pass(),
        ),
        &mut rng,
    )
    .unwrap();
    assert!(rng.exhausted());
    (block, h(iv))
}

fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

#[test]
fn every_check_fails_when_its_input_is_tampered_with() {
    let p = parties();
    let (block, iv) = known_block();
    let nonce = h(NONCE);
    assert!(open_as(&block, &p.krd, Some(&nonce)).is_ok());

    // 1. Signature: the last byte of the block is the signature's.
    let mut bad = block.clone();
    *bad.last_mut().unwrap() ^= 0x01;
    assert_eq!(
        open_as(&bad, &p.krd, Some(&nonce)).map(|_| ()),
        check_failed(Tr34Check::Signature)
    );
    assert_eq!(
        tr34::verify(&bad, &p.kdh.cert).map(|_| ()),
        check_failed(Tr34Check::Signature)
    );
    // ... and a signed attribute: the header's first copy is the signed one.
    let mut bad = block.clone();
    bad[position(&block, b"D0112K0TB00E0000") + 11] = b'N';
    assert_eq!(
        open_as(&bad, &p.krd, Some(&nonce)).map(|_| ()),
        check_failed(Tr34Check::Signature)
    );
    // ... and a KDH certificate with the right issuer and serial but another key.
    assert_eq!(
        tr34::open(
            &block,
            &p.krd.cert,
            p.krd.key(),
            &p.kdh_twin.cert,
            Some(&nonce)
        )
        .map(|_| ()),
        check_failed(Tr34Check::Signature)
    );

    // 2. Signer identity: another KDH certificate.
    assert_eq!(
        tr34::open(
            &block,
            &p.krd.cert,
            p.krd.key(),
            &p.other_kdh.cert,
            Some(&nonce)
        )
        .map(|_| ()),
        check_failed(Tr34Check::SignerIdentity)
    );

    // 3. Message digest: one bit of the IV inside ENV.
    let mut bad = block.clone();
    bad[position(&block, &iv)] ^= 0x80;
    assert_eq!(
        open_as(&bad, &p.krd, Some(&nonce)).map(|_| ()),
        check_failed(Tr34Check::MessageDigest)
    );
    assert_eq!(
        tr34::verify(&bad, &p.kdh.cert).map(|_| ()),
        check_failed(Tr34Check::MessageDigest)
    );
    assert!(tr34::inspect(&bad).is_ok());

    // 4. Nonce: another one, none, or a one-pass block when a nonce was sent.
    let other = h("A1B2C3D4E5F60719");
    assert_eq!(
        open_as(&block, &p.krd, Some(&other)).map(|_| ()),
        check_failed(Tr34Check::Nonce)
    );
    assert_eq!(
        open_as(&block, &p.krd, Some(&nonce[..7])).map(|_| ()),
        check_failed(Tr34Check::Nonce)
    );
    assert_eq!(
        open_as(&block, &p.krd, None).map(|_| ()),
        check_failed(Tr34Check::Nonce)
    );
    let key = h("0123456789ABCDEFFEDCBA9876543210");
    let one = tr34::build(
        &params(
            &key,
            "D0112K0TB00E0000",
            &p.krd,
            ContentCipher::Tdes,
            one_pass(),
        ),
        &mut SystemRng,
    )
    .unwrap();
    assert_eq!(
        open_as(&one, &p.krd, Some(&nonce)).map(|_| ()),
        check_failed(Tr34Check::Nonce)
    );
    assert!(open_as(&one, &p.krd, None).is_ok());

    // 5. Recipient identity: another KRD (with its own, matching key).
    assert_eq!(
        open_as(&block, &p.other_krd, Some(&nonce)).map(|_| ()),
        check_failed(Tr34Check::RecipientIdentity)
    );
    // The right KRD certificate with the wrong private key does not decrypt.
    assert_eq!(
        tr34::open(
            &block,
            &p.krd.cert,
            p.other_krd.key(),
            &p.kdh.cert,
            Some(&nonce)
        )
        .map(|_| ()),
        Err(Error::DecryptionFailed)
    );
    // 6 (inner identity and header) cannot be reached by tampering a signed block; the
    // unit tests in src/tr34/tests.rs build blocks whose insides differ.
}

#[test]
fn build_rejects_bad_inputs() {
    let p = parties();
    let key = h("0123456789ABCDEFFEDCBA9876543210");
    let ok = params(
        &key,
        "D0112K0TB00E0000",
        &p.krd,
        ContentCipher::Tdes,
        two_pass(),
    );
    let build = |params: &BuildParams<'_>| tr34::build(params, &mut SystemRng).map(|_| ());
    assert_eq!(build(&ok), Ok(()));

    for len in [0, 8, 15, 17, 33] {
        let key = vec![0x11; len];
        assert_eq!(
            build(&BuildParams {
                key: &key,
                ..ok.clone()
            }),
            Err(Error::InvalidKeyLength {
                what: "TR-34 transported key",
                len
            })
        );
    }
    for header in [
        "D0112K0TB00E000",
        "D0112K0TB00E000\u{e9}",
        "D0112K0TB00E000\n",
    ] {
        assert!(
            matches!(
                build(&BuildParams {
                    header,
                    ..ok.clone()
                }),
                Err(Error::Tr34Parameter(_))
            ),
            "{header:?}"
        );
    }
    let long_header = format!("D0112K0TB00E0000{}", "A".repeat(9984));
    assert!(matches!(
        build(&BuildParams {
            header: &long_header,
            ..ok.clone()
        }),
        Err(Error::Tr34Parameter(_))
    ));
    for len in [0, 7, 17] {
        let freshness = Freshness::RandomNonce(vec![1; len]);
        assert_eq!(
            build(&BuildParams {
                freshness,
                ..ok.clone()
            }),
            Err(Error::Tr34Parameter("random nonce must be 8 to 16 bytes"))
        );
    }
    // The KDH key must match the KDH certificate.
    assert_eq!(
        build(&BuildParams {
            kdh_private_pkcs8_der: p.other_kdh.key(),
            ..ok.clone()
        }),
        Err(Error::Tr34Parameter(
            "KDH private key does not match the KDH certificate"
        ))
    );
    let ec = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP256).unwrap();
    assert!(matches!(
        build(&BuildParams {
            kdh_private_pkcs8_der: ec.private_pkcs8_der.expose(),
            ..ok.clone()
        }),
        Err(Error::InvalidPrivateKey(_))
    ));
    assert!(matches!(
        build(&BuildParams {
            kdh_certificate_der: b"junk",
            ..ok.clone()
        }),
        Err(Error::InvalidCertificate(_))
    ));
    assert!(matches!(
        build(&BuildParams {
            krd_certificate_der: b"junk",
            ..ok.clone()
        }),
        Err(Error::InvalidCertificate(_))
    ));
    // A KRD certificate for an EC key cannot receive RSA-OAEP.
    let ca_key = rcgen::KeyPair::try_from(p.kdh.key()).unwrap();
    let ca = rcgen::Issuer::new(
        rcgen::CertificateParams::new(Vec::<String>::new()).unwrap(),
        ca_key,
    );
    let ec_cert = issue(&ca, &ec, "EC KRD", &[1]);
    assert_eq!(
        build(&BuildParams {
            krd_certificate_der: &ec_cert,
            ..ok.clone()
        }),
        Err(Error::InvalidCertificate(
            "KRD certificate does not hold a usable RSA key"
        ))
    );
}

fn fixture(text: &str) -> Vec<u8> {
    h(text.trim())
}

/// From the AWS CLI's `import-key` example (aws/aws-cli,
/// awscli/examples/payment-cryptography/import-key.rst, commit 3096efeb): a real block and
/// the signing certificate it was imported with.
fn aws_import() -> (Vec<u8>, Vec<u8>) {
    (
        fixture(include_str!("fixtures/aws_cli_import_key_tr34.hex")),
        fixture(include_str!("fixtures/aws_cli_import_key_kdh_cert.hex")),
    )
}

/// From the AWS CLI's `export-key` example (export-key.rst, commit 3332bf93): a block the
/// service exported, and the wrapping (KRD) certificate it was exported to. The docs
/// replaced the block's last 7 hex digits (inside the signature) with `EXAMPLE`; the
/// fixture has `0000000` there.
fn aws_export() -> (Vec<u8>, Vec<u8>) {
    (
        fixture(include_str!("fixtures/aws_cli_export_key_tr34.hex")),
        fixture(include_str!("fixtures/aws_cli_export_key_krd_cert.hex")),
    )
}

#[test]
fn real_aws_import_block_parses_and_verifies() {
    let (block, kdh_cert) = aws_import();
    let seen = tr34::inspect(&block).unwrap();
    assert_eq!(seen.header, "D0112C0TC00E0000");
    assert_eq!(seen.content_cipher, ContentCipher::Tdes);
    assert_eq!(seen.key_transport, KeyTransport::RsaOaepSha256);
    let Freshness::SigningTime(time) = seen.freshness else {
        panic!("one-pass block expected")
    };
    assert_eq!(time.to_string(), "2023-06-09T23:39:46Z");
    assert_eq!(seen.kdh.serial_hex(), "69E07E9C794C55E30E1956FAE7909BB0");
    assert_eq!(seen.krd.serial_hex(), "26C5E52507841B72C59D9F0065548DC1");
    assert_eq!(
        seen.kdh.issuer().as_deref(),
        Some(
            "L=Arlington,CN=529027455495,ST=Virginia,OU=AWS Payment Cryptography,O=AWS Cryptography,C=US"
        )
    );
    assert_eq!(seen.kdh, IssuerSerial::from_certificate(&kdh_cert).unwrap());

    // Checks 1 to 3 on a block AWS produced: signer, RSA signature, digest.
    assert_eq!(tr34::verify(&block, &kdh_cert).unwrap(), seen);
    let (_, export_krd) = aws_export();
    assert_eq!(
        tr34::verify(&block, &export_krd).map(|_| ()),
        check_failed(Tr34Check::SignerIdentity)
    );
    let mut bad = block.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(
        tr34::verify(&bad, &kdh_cert).map(|_| ()),
        check_failed(Tr34Check::Signature)
    );
}

#[test]
fn real_aws_export_block_parses() {
    let (block, krd_cert) = aws_export();
    let seen = tr34::inspect(&block).unwrap();
    assert_eq!(seen.header, "D0112K0TB00E0000");
    assert_eq!(seen.content_cipher, ContentCipher::Tdes);
    let Freshness::SigningTime(time) = seen.freshness else {
        panic!("one-pass block expected")
    };
    assert_eq!(time.unix_seconds(), 1_686_682_960); // 230613190240Z
    assert_eq!(seen.kdh.serial_hex(), "6BD452CE836B7D2A717B69DB8FAF3679");
    // The recipient is the wrapping certificate of the example (serial with a leading 00).
    assert_eq!(seen.krd, IssuerSerial::from_certificate(&krd_cert).unwrap());
    assert_eq!(seen.krd.serial_hex(), "00C61EFF5D6A4FE93F5BD40FD8FF0852E8");
}

/// The shape of a DER value: one line per element with its depth and tag, plus the value
/// of OIDs, small INTEGERs and NULLs; Names are one opaque element; the enveloped part
/// (the OCTET STRING inside the encapsulated content's `[0]`) is walked as DER too.
fn shape(der: &[u8], depth: usize, in_encap: bool, out: &mut Vec<String>) {
    let mut pos = 0;
    while pos < der.len() {
        let tag = der[pos];
        let (len, header) = match der[pos + 1] {
            n if n < 0x80 => (usize::from(n), 2),
            n => {
                let k = usize::from(n & 0x7F);
                let len = der[pos + 2..pos + 2 + k]
                    .iter()
                    .fold(0, |a, b| a << 8 | usize::from(*b));
                (len, 2 + k)
            }
        };
        let value = &der[pos + header..pos + header + len];
        let is_name = tag == 0x30 && value.first() == Some(&0x31);
        let shown = match tag {
            0x06 | 0x05 => hex::encode(value),
            0x02 if len == 1 => hex::encode(value),
            _ => String::new(),
        };
        out.push(format!("{depth} {tag:02X} {shown}"));
        if tag & 0x20 != 0 && !is_name {
            // ContentInfo(0) > [0](1) > SignedData(2) > encapContentInfo(3) > [0](4).
            shape(value, depth + 1, tag == 0xA0 && depth == 4, out);
        } else if tag == 0x04 && in_encap {
            shape(value, depth + 1, false, out);
        }
        pos += header + len;
    }
}

#[test]
fn layout_matches_the_real_aws_block_element_by_element() {
    let p = parties();
    let (aws, _) = aws_export();
    let key = h("0123456789ABCDEFFEDCBA9876543210");
    let ours = tr34::build(
        &params(
            &key,
            "D0112K0TB00E0000",
            &p.krd,
            ContentCipher::Tdes,
            one_pass(),
        ),
        &mut SystemRng,
    )
    .unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    shape(&aws, 0, false, &mut a);
    shape(&ours, 0, false, &mut b);
    assert_eq!(a, b);
    assert!(a.len() > 50);
    // Same content type, OAEP parameters and attribute order, byte for byte.
    let oaep = h(
        "304506092A864886F70D0101073038300D06096086480165030402010500301806092A864886F70D010108300B0609608648016503040201300D06092A864886F70D0101090400",
    );
    assert!(position(&aws, &oaep) > 0 && position(&ours, &oaep) > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let p = parties();
        let _ = tr34::inspect(&bytes);
        let _ = tr34::verify(&bytes, &p.kdh.cert);
        let _ = tr34::open(&bytes, &p.krd.cert, p.krd.key(), &p.kdh.cert, None);
        // Arbitrary certificates and keys are errors too.
        let (block, _) = aws_import();
        let _ = IssuerSerial::from_certificate(&bytes);
        let _ = tr34::verify(&block, &bytes);
        let _ = tr34::open(&block, &bytes, &bytes, &bytes, Some(&bytes));
    }

    #[test]
    fn damaged_blocks_never_open_to_something_else(
        index in any::<prop::sample::Index>(),
        xor in 1u8..,
        cut in any::<bool>(),
    ) {
        let p = parties();
        static BLOCK: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        let (block, _) = BLOCK.get_or_init(known_block);
        let mut bad = block.clone();
        let i = index.index(bad.len());
        if cut { bad.truncate(i) } else { bad[i] ^= xor }
        let _ = tr34::inspect(&bad);
        if let Ok(opened) = open_as(&bad, &p.krd, Some(&h(NONCE))) {
            // Only unsigned leniencies (e.g. the signature algorithm OID) may change.
            let key = h("0123456789ABCDEFFEDCBA9876543210");
            prop_assert_eq!(opened.key.expose(), key.as_slice());
            prop_assert_eq!(opened.header, "D0112K0TB00E0000");
        }
    }
}

/// Runs `tests/tr34_independent.py` on a list of requests (JSON objects) and returns its
/// answers, one JSON line per request. `None` when python3 or its `cryptography` package
/// is missing (the caller then skips, saying so).
fn python(requests: &[String]) -> Option<Vec<String>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tr34_independent.py");
    let Ok(mut child) = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("python3 not found: TR-34 cross-check skipped");
        return None;
    };
    let input = format!("[{}]", requests.join(","));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("ModuleNotFoundError") {
        eprintln!("python3 has no `cryptography`: TR-34 cross-check skipped");
        return None;
    }
    assert!(out.status.success(), "python failed: {stderr}");
    let answers: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(answers.len(), requests.len());
    Some(answers)
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// The value of `"name": "..."` in one of the script's one-line JSON answers.
fn json_field(json: &str, name: &str) -> String {
    let pattern = format!("\"{name}\": \"");
    let start = json
        .find(&pattern)
        .unwrap_or_else(|| panic!("{name} in {json}"))
        + pattern.len();
    json[start..].split('"').next().unwrap().to_string()
}

struct Case {
    key: &'static str,
    header: &'static str,
    cipher: ContentCipher,
    krd: &'static Party,
    two_pass: bool,
}

#[test]
fn independent_python_implementation_opens_our_blocks_and_builds_blocks_we_open() {
    let p = parties();
    let case = |key, header, cipher, krd, two_pass| Case {
        key,
        header,
        cipher,
        krd,
        two_pass,
    };
    let cases = [
        case(
            "0123456789ABCDEFFEDCBA9876543210",
            "D0112K0TB00E0000",
            ContentCipher::Tdes,
            &p.krd,
            true,
        ),
        case(
            "89E88CF7931444F334BD7547FC3F380C0123456789ABCDEF",
            "D0112K1TE00E0000",
            ContentCipher::Tdes,
            &p.krd_3072,
            false,
        ),
        case(
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "D0112K0AB00E0000",
            ContentCipher::Aes128,
            &p.krd_3072,
            true,
        ),
        case(
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "D9999K0AB00E0000",
            ContentCipher::Aes128,
            &p.krd,
            false,
        ),
    ];
    let nonce_json = |c: &Case| {
        if c.two_pass {
            format!("\"{NONCE}\"")
        } else {
            "null".to_string()
        }
    };
    let open_request = |c: &Case, block: &[u8], kcv: &[u8], nonce: &str| {
        format!(
            r#"{{"op": "open", "block": "{}", "krd_cert": "{}", "krd_key": "{}", "kdh_cert": "{}", "nonce": {nonce}, "kcv": "{}"}}"#,
            hex_upper(block),
            hex_upper(&c.krd.cert),
            hex_upper(c.krd.key()),
            hex_upper(&p.kdh.cert),
            hex_upper(kcv)
        )
    };

    // Per case: open ours with the right KCV, with a wrong KCV (check 7 fails), with a
    // wrong nonce (check 4 fails), and build one for us to open.
    let mut requests = Vec::new();
    let mut check_values = Vec::new();
    for c in &cases {
        let key = h(c.key);
        let check_value = match c.cipher {
            ContentCipher::Tdes => kcv::ansi_x9_24(&key).unwrap(),
            ContentCipher::Aes128 => kcv::cmac(kcv::BlockCipherKind::Aes, &key).unwrap(),
        };
        let freshness = if c.two_pass { two_pass() } else { one_pass() };
        let block = tr34::build(
            &params(&key, c.header, c.krd, c.cipher, freshness),
            &mut SystemRng,
        )
        .unwrap();
        let wrong_nonce = if c.two_pass {
            "\"A1B2C3D4E5F60719\""
        } else {
            "\"A1B2C3D4E5F60718\""
        };
        requests.push(open_request(c, &block, &check_value, &nonce_json(c)));
        requests.push(open_request(c, &block, &[0, 0, 0], &nonce_json(c)));
        requests.push(open_request(c, &block, &check_value, wrong_nonce));
        requests.push(format!(
            r#"{{"op": "build", "key": "{}", "header": "{}", "kdh_cert": "{}", "kdh_key": "{}", "krd_cert": "{}", "cipher": "{}", "nonce": {}, "signing_time": "230609233946Z"}}"#,
            c.key, c.header, hex_upper(&p.kdh.cert), hex_upper(p.kdh.key()), hex_upper(&c.krd.cert),
            if c.cipher == ContentCipher::Tdes { "TDES" } else { "AES" }, nonce_json(c)
        ));
        check_values.push(check_value);
    }
    let Some(answers) = python(&requests) else {
        return;
    };

    for ((c, answers), check_value) in cases.iter().zip(answers.chunks(4)).zip(check_values) {
        // Ours -> Python, checks 1 to 7.
        assert_eq!(json_field(&answers[0], "key"), c.key);
        assert_eq!(json_field(&answers[0], "header"), c.header);
        assert_eq!(json_field(&answers[0], "kcv"), hex_upper(&check_value));
        assert_eq!(json_field(&answers[1], "failed"), "kcv");
        assert_eq!(json_field(&answers[2], "failed"), "nonce");

        // Python -> ours.
        let theirs = h(&json_field(&answers[3], "block"));
        let nonce = h(NONCE);
        let opened = open_as(&theirs, c.krd, c.two_pass.then_some(nonce.as_slice())).unwrap();
        assert_eq!(opened.key.expose(), h(c.key).as_slice());
        assert_eq!(opened.header, c.header);
        assert_eq!(opened.content_cipher, c.cipher);
        if !c.two_pass {
            assert_eq!(opened.freshness, one_pass());
        }
        assert_eq!(
            tr34::inspect(&theirs).unwrap().krd,
            IssuerSerial::from_certificate(&c.krd.cert).unwrap()
        );
    }
}
