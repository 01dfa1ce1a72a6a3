//! The TR-34-2019 annex B sample key blocks (B.8 one-pass, B.9 two-pass, in the form first
//! published and in the form of the 2019 corrigendum) with the annex's KDH 1 and KRD 1
//! keys and certificates (B.2.1.5, B.2.1.7): what `inspect` reads, checks 1 to 5 passing on
//! the samples as published, every check failing when its region is tampered with,
//! the samples opened end to end once their defective encrypted key is replaced, and
//! damaged blocks never opening to another key.
//!
//! Source of the vectors: the constants of `tests/fromtr34.rs` in the public repository
//! warthog33/keyblock (commit e6930673bc73c0aab7a3069ac134e10ed00257aa), which transcribes
//! annex B of ASC X9 TR 34-2019 and its corrigendum; see `tests/fixtures/README.md`.
//!
//! The samples' RSA-OAEP `encryptedKey` does not decrypt under the sample KRD 1 key (nor
//! under the CA KRD key, with OAEP over SHA-1 or SHA-256 or with PKCS #1 v1.5): the annex
//! is known to be defective there. The content key the annex uses is known, though:
//! `0123456789ABCDEFFEDCBA9876543210FFEEDDCCBBAA9988` (warthog33/keyblock,
//! `src/tr34openssl.rs`, commit d08b659329a171c00d1b22b422a7b8223dc1c8a0), and with it the
//! samples' ciphertext decrypts to the annex's clear key block B.2.2.2.1. So the tests
//! re-encrypt that content key to KRD 1 and re-sign with KDH 1 ("reissue"), changing
//! nothing else of the sample: the layout, the IV, the ciphertext, the CRL and the
//! attributes stay the annex's bytes.

use std::ops::Range;
use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::PrivateDecryptingKey;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use paycrypt_keyblock::cryptogram::{self, OaepHash};
use paycrypt_keyblock::tr34::{
    self, ContentCipher, Freshness, Inspection, IssuerSerial, KeyTransport, Layout, Tr34Check,
};
use paycrypt_keyblock::{Error, kcv};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn fixture(text: &str) -> Vec<u8> {
    hex::decode(text.trim()).expect("fixture is hex")
}

/// B.8, one-pass, as corrected by the 2019 corrigendum (RFC 5652 layout).
fn b8_corrigendum() -> Vec<u8> {
    fixture(include_str!(
        "fixtures/tr34_2019_b8_one_pass_corrigendum.hex"
    ))
}

/// B.9, two-pass, as corrected by the 2019 corrigendum (RFC 5652 layout).
fn b9_corrigendum() -> Vec<u8> {
    fixture(include_str!(
        "fixtures/tr34_2019_b9_two_pass_corrigendum.hex"
    ))
}

/// B.8 as first published in TR-34-2019 (ciphertext inside the algorithm).
fn b8_published() -> Vec<u8> {
    fixture(include_str!("fixtures/tr34_2019_b8_one_pass_published.hex"))
}

/// B.9 as first published in TR-34-2019 (ciphertext inside the algorithm).
fn b9_published() -> Vec<u8> {
    fixture(include_str!("fixtures/tr34_2019_b9_two_pass_published.hex"))
}

/// B.2.1.5: the KDH 1 certificate (issued by "TR34 Sample CA KDH", serial 3400000006).
fn kdh_cert() -> Vec<u8> {
    fixture(include_str!("fixtures/tr34_2019_kdh_1_cert.hex"))
}

/// B.2.1.5: the KDH 1 private key (PKCS #8, from the annex's PKCS #12).
fn kdh_key() -> Vec<u8> {
    fixture(include_str!("fixtures/tr34_2019_kdh_1_private_pkcs8.hex"))
}

/// B.2.1.7: the KRD 1 certificate (issued by "TR34 Sample CA KRD", serial 3400000007).
fn krd_cert() -> Vec<u8> {
    fixture(include_str!("fixtures/tr34_2019_krd_1_cert.hex"))
}

/// B.2.1.7: the KRD 1 private key (PKCS #8, from the annex's PKCS #12).
fn krd_key() -> Vec<u8> {
    fixture(include_str!("fixtures/tr34_2019_krd_1_private_pkcs8.hex"))
}

/// B.12, the KRD's random number token `RKRD`: the attribute
/// `3020060A2A864886F70D0109190331120410 167EB0E72781E4940112233445566778`, whose value
/// the two-pass block B.9 carries as its randomNonce.
const NONCE: &str = "167EB0E72781E4940112233445566778";
/// The signed key block header of every annex B key token (and of B.2.2.2.1).
const HEADER: &str = "A0256K0TB00E0000";
/// B.2.2.2.1: the clear key inside the samples (a 2-key TDES key).
const CLEAR_KEY: &str = "0123456789ABCDEFFEDCBA9876543210";
/// The samples' content encryption key (see the module documentation).
const CONTENT_KEY: &str = "0123456789ABCDEFFEDCBA9876543210FFEEDDCCBBAA9988";
/// The samples' IV, in `contentEncryptionAlgorithm` (B.2.2.3.1).
const IV: &str = "0123456789ABCDEF";

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).expect("constant is hex")
}

fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

fn check_failed(which: Tr34Check) -> Result<(), Error> {
    Err(Error::Tr34CheckFailed(which))
}

/// Opens as KRD 1 with the KDH 1 certificate.
fn open(block: &[u8], nonce: Option<&[u8]>) -> Result<tr34::Opened, Error> {
    tr34::open(block, &krd_cert(), &krd_key(), &kdh_cert(), nonce)
}

/// The four samples: block, expected layout, two-pass or not.
fn samples() -> [(Vec<u8>, Layout, bool); 4] {
    [
        (b8_corrigendum(), Layout::Cms, false),
        (b9_corrigendum(), Layout::Cms, true),
        (b8_published(), Layout::AnnexB2019, false),
        (b9_published(), Layout::AnnexB2019, true),
    ]
}

fn expected_nonce(two_pass: bool) -> Option<Vec<u8>> {
    two_pass.then(|| h(NONCE))
}

#[test]
fn inspect_reads_the_annex_b_samples() {
    let kdh = IssuerSerial::from_certificate(&kdh_cert()).unwrap();
    let krd = IssuerSerial::from_certificate(&krd_cert()).unwrap();
    assert_eq!(kdh.serial_hex(), "3400000006");
    assert_eq!(krd.serial_hex(), "3400000007");
    assert_eq!(
        kdh.issuer().as_deref(),
        Some("CN=TR34 Sample CA KDH,O=TR34 Samples,C=US")
    );
    assert_eq!(
        krd.issuer().as_deref(),
        Some("CN=TR34 Sample CA KRD,O=TR34 Samples,C=US")
    );

    let times = [
        "2020-02-10T19:13:53Z", // B.8, corrigendum
        "",
        "2019-06-12T17:04:43Z", // B.8, as first published
        "",
    ];
    for ((block, layout, two_pass), time) in samples().into_iter().zip(times) {
        let seen = tr34::inspect(&block).unwrap();
        assert_eq!(seen.layout, layout);
        assert_eq!(seen.kdh, kdh);
        assert_eq!(seen.krd, krd);
        assert_eq!(seen.header, HEADER);
        assert_eq!(seen.content_cipher, ContentCipher::Tdes);
        assert_eq!(seen.key_transport, KeyTransport::RsaOaepSha256);
        match (&seen.freshness, two_pass) {
            (Freshness::RandomNonce(nonce), true) => assert_eq!(hex::encode_upper(nonce), NONCE),
            (Freshness::SigningTime(t), false) => assert_eq!(t.to_string(), time),
            (other, _) => panic!("unexpected freshness {other:?}"),
        }
    }
    assert_eq!(Layout::Cms.name(), "CMS");
    assert_eq!(Layout::AnnexB2019.name(), "TR-34-2019 annex B");
    assert_eq!(Layout::Aws.name(), "AWS");
}

#[test]
fn annex_b_signatures_verify_with_the_kdh_certificate() {
    for (block, layout, _) in samples() {
        // Checks 2, 1 and 3 on the samples exactly as the annex prints them.
        let seen = tr34::verify(&block, &kdh_cert()).unwrap();
        assert_eq!(seen, tr34::inspect(&block).unwrap());
        assert_eq!(seen.layout, layout);
        assert_eq!(
            tr34::verify(&block, &krd_cert()).map(|_| ()),
            check_failed(Tr34Check::SignerIdentity)
        );
    }
}

#[test]
fn the_annex_b_encrypted_key_does_not_decrypt_under_the_sample_krd_key() {
    for (block, _, two_pass) in samples() {
        let nonce = expected_nonce(two_pass);
        // Checks 1 to 5 pass (a wrong nonce is still caught first) ...
        let wrong = if two_pass {
            Some(&[0u8; 16][..])
        } else {
            Some(&[0u8; 8][..])
        };
        assert_eq!(
            open(&block, wrong).map(|_| ()),
            check_failed(Tr34Check::Nonce)
        );
        // ... and then the RSA-OAEP unwrap fails: the annex's defect, not a layout problem.
        assert_eq!(
            open(&block, nonce.as_deref()).map(|_| ()),
            Err(Error::DecryptionFailed)
        );
    }
}

/// Where the parts of a sample sit.
struct Regions {
    /// The encapsulated OCTET STRING's content (the enveloped part the digest covers).
    env: Range<usize>,
    encrypted_key: Range<usize>,
    /// The ciphertext, inside or after the algorithm.
    ciphertext: Range<usize>,
    message_digest: Range<usize>,
    /// The signedAttrs TLV, `[0]` tag included.
    signed_attrs: Range<usize>,
    signature: Range<usize>,
}

/// The RSAES-OAEP AlgorithmIdentifier of the samples, byte for byte the one AWS writes.
const OAEP_ALG: &str = "304506092A864886F70D0101073038300D06096086480165030402010500301806092A864886F70D010108300B0609608648016503040201300D06092A864886F70D0101090400";

fn regions(block: &[u8]) -> Regions {
    // encapContentInfo: OID envelopedData, A0 82 xx xx, 04 82 xx xx, ENV.
    let oid = h("06092A864886F70D010703");
    let encap = position(block, &oid) + oid.len();
    assert_eq!(
        (block[encap], block[encap + 4]),
        (0xA0, 0x04),
        "encapsulated content"
    );
    let env_len = usize::from(u16::from_be_bytes([block[encap + 6], block[encap + 7]]));
    let env_start = encap + 8;
    let key_prefix = [h(OAEP_ALG), h("04820100")].concat();
    let key_start = position(block, &key_prefix) + key_prefix.len();
    // The IV, then `80 81 88` (the 136-byte ciphertext) in both layouts of the annex.
    let iv_then = [h(IV), h("808188")].concat();
    let ct_start = position(block, &iv_then) + iv_then.len();
    let digest_prefix = h("06092A864886F70D01090431220420");
    let digest_start = position(block, &digest_prefix) + digest_prefix.len();
    let content_type_attr = h("301806092A864886F70D010903");
    let attrs_start = position(block, &content_type_attr) - 3;
    assert_eq!(&block[attrs_start..attrs_start + 2], [0xA0, 0x81]);
    let attrs_len = 3 + usize::from(block[attrs_start + 2]);
    Regions {
        env: env_start..env_start + env_len,
        encrypted_key: key_start..key_start + 256,
        ciphertext: ct_start..ct_start + 136,
        message_digest: digest_start..digest_start + 32,
        signed_attrs: attrs_start..attrs_start + attrs_len,
        // The signature is the block's last element.
        signature: block.len() - 256..block.len(),
    }
}

/// A sample with the content key re-encrypted to KRD 1, `edit` applied to the enveloped
/// part, the messageDigest recomputed and the signed attributes re-signed by KDH 1.
/// Every other byte is the annex's.
fn reissue(sample: &[u8], edit: impl FnOnce(&mut [u8], &Regions)) -> Vec<u8> {
    let r = regions(sample);
    let mut block = sample.to_vec();
    let krd_public = PrivateDecryptingKey::from_pkcs8(&krd_key())
        .unwrap()
        .public_key()
        .as_der()
        .unwrap();
    let encrypted_key =
        cryptogram::wrap_key(krd_public.as_ref(), OaepHash::Sha256, &h(CONTENT_KEY)).unwrap();
    block[r.encrypted_key.clone()].copy_from_slice(&encrypted_key);
    edit(&mut block, &r);
    let digest = Sha256::digest(&block[r.env.clone()]);
    block[r.message_digest.clone()].copy_from_slice(&digest);
    let mut to_sign = block[r.signed_attrs.clone()].to_vec();
    to_sign[0] = 0x31;
    let signer = RsaKeyPair::from_pkcs8(&kdh_key()).unwrap();
    let mut signature = vec![0u8; signer.public_modulus_len()];
    signer
        .sign(
            &RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            &to_sign,
            &mut signature,
        )
        .unwrap();
    block[r.signature.clone()].copy_from_slice(&signature);
    block
}

#[test]
fn reissued_samples_open_to_the_annex_b_clear_key() {
    for (sample, layout, two_pass) in samples() {
        let block = reissue(&sample, |_, _| {});
        // Only the encrypted key, the digest and the signature differ from the annex.
        let r = regions(&sample);
        assert_eq!(block.len(), sample.len());
        assert_eq!(block[r.ciphertext.clone()], sample[r.ciphertext.clone()]);
        assert_eq!(
            block[..r.encrypted_key.start],
            sample[..r.encrypted_key.start]
        );
        assert_eq!(
            block[r.encrypted_key.end..r.message_digest.start],
            sample[r.encrypted_key.end..r.message_digest.start]
        );

        let nonce = expected_nonce(two_pass);
        let opened = open(&block, nonce.as_deref()).unwrap();
        assert_eq!(hex::encode_upper(opened.key.expose()), CLEAR_KEY);
        assert_eq!(opened.header, HEADER);
        assert_eq!(opened.layout, layout);
        assert_eq!(opened.content_cipher, ContentCipher::Tdes);
        assert_eq!(opened.freshness, tr34::inspect(&sample).unwrap().freshness);
        // The key's check value, for ImportKey's check 7.
        assert_eq!(
            hex::encode_upper(kcv::ansi_x9_24(opened.key.expose()).unwrap()),
            "08D7B4"
        );
    }
}

fn expect(block: &[u8], nonce: Option<&[u8]>, which: Tr34Check) {
    assert_eq!(
        open(block, nonce).map(|_| ()),
        check_failed(which),
        "{which:?}"
    );
}

/// Flips `mask` in the byte at `index`.
fn flipped(block: &[u8], index: usize, mask: u8) -> Vec<u8> {
    let mut bad = block.to_vec();
    bad[index] ^= mask;
    bad
}

#[test]
fn tampering_each_region_of_a_sample_names_the_failed_check() {
    for (sample, _, two_pass) in samples() {
        let nonce = expected_nonce(two_pass);
        let nonce = nonce.as_deref();
        let r = regions(&sample);
        let seen: Inspection = tr34::inspect(&sample).unwrap();

        // 1. Signature: the signature itself, the signed header, the nonce or time.
        expect(
            &flipped(&sample, r.signature.end - 1, 0x01),
            nonce,
            Tr34Check::Signature,
        );
        let in_attrs = |needle: &[u8]| {
            r.signed_attrs.start + position(&sample[r.signed_attrs.clone()], needle)
        };
        expect(
            &flipped(&sample, in_attrs(HEADER.as_bytes()) + 5, 0x02),
            nonce,
            Tr34Check::Signature,
        );
        let fresh_at = match &seen.freshness {
            Freshness::RandomNonce(n) => in_attrs(n),
            Freshness::SigningTime(_) => in_attrs(&h("170D")) + 2,
        };
        expect(
            &flipped(&sample, fresh_at + 3, 0x01),
            nonce,
            Tr34Check::Signature,
        );

        // 2. Signer identity: another certificate as the KDH's.
        assert_eq!(
            tr34::open(&sample, &krd_cert(), &krd_key(), &krd_cert(), nonce).map(|_| ()),
            check_failed(Tr34Check::SignerIdentity)
        );

        // 3. Message digest: the enveloped part, anywhere (recipient, key, IV, ciphertext).
        for index in [
            r.env.start + 40,
            r.encrypted_key.start + 100,
            r.ciphertext.start - 4,
            r.ciphertext.start + 70,
            r.env.end - 1,
        ] {
            assert!(r.env.contains(&index));
            expect(
                &flipped(&sample, index, 0x10),
                nonce,
                Tr34Check::MessageDigest,
            );
        }

        // 4. Nonce: another, none, or one for a one-pass block.
        let wrong = if two_pass { None } else { Some(&h(NONCE)[..]) };
        expect(&sample, wrong, Tr34Check::Nonce);
        if two_pass {
            let mut other = h(NONCE);
            other[15] ^= 1;
            expect(&sample, Some(&other), Tr34Check::Nonce);
        }

        // 5. Recipient identity: the KDH 1 certificate as the KRD's.
        assert_eq!(
            tr34::open(&sample, &kdh_cert(), &kdh_key(), &kdh_cert(), nonce).map(|_| ()),
            check_failed(Tr34Check::RecipientIdentity)
        );

        // 6. Inside the envelope (reachable only with a key that decrypts): a ciphertext
        // bit flip garbles one 8-byte block and flips the same bit in the next. The
        // plaintext is B.2.2.2.1 (136 bytes with padding): the KDH issuer's common name
        // "TR34 Sample CA KDH" at 57..75, the header at 117..133, padding 133..136.
        let at = |offset: usize| {
            move |block: &mut [u8], r: &Regions| block[r.ciphertext.start + offset] ^= 0x04
        };
        expect(&reissue(&sample, at(64)), nonce, Tr34Check::InnerIdentity);
        expect(&reissue(&sample, at(122)), nonce, Tr34Check::InnerHeader);
        assert_eq!(
            open(&reissue(&sample, at(125)), nonce).map(|_| ()),
            Err(Error::Tr34Malformed("decrypted content padding"))
        );
    }
}

#[test]
fn the_unsigned_crl_is_carried_but_not_interpreted() {
    // The corrigendum's samples carry the CA KDH's CRL (B.2.1.3) in SignedData `crls`.
    // It is not covered by the KDH's signature and revocation is the caller's business:
    // damage to its signature goes unnoticed, damage to its structure is a parse error.
    let sample = b9_corrigendum();
    let crl_signature = position(&sample, &h("A18201D8")) + 4 + 0x1D8 - 10;
    let seen = tr34::verify(&flipped(&sample, crl_signature, 0x01), &kdh_cert()).unwrap();
    assert_eq!(seen.layout, Layout::Cms);
    let crls = position(&sample, &h("A18201D8"));
    assert!(matches!(
        tr34::inspect(&flipped(&sample, crls + 3, 0x01)),
        Err(Error::Tr34Malformed(_))
    ));
}

/// The four samples, reissued once for the whole test binary.
fn reissued() -> &'static [(Vec<u8>, bool)] {
    static BLOCKS: OnceLock<Vec<(Vec<u8>, bool)>> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        samples()
            .into_iter()
            .map(|(sample, _, two_pass)| (reissue(&sample, |_, _| {}), two_pass))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn damaged_annex_b_blocks_never_open_to_something_else(
        which in 0usize..4,
        index in any::<prop::sample::Index>(),
        xor in 1u8..,
        cut in any::<bool>(),
    ) {
        let (block, two_pass) = &reissued()[which];
        let mut bad = block.clone();
        let i = index.index(bad.len());
        if cut { bad.truncate(i) } else { bad[i] ^= xor }
        let _ = tr34::inspect(&bad);
        let nonce = expected_nonce(*two_pass);
        if let Ok(opened) = open(&bad, nonce.as_deref()) {
            // Only what no check covers may change: unsigned leniencies and the CRL.
            prop_assert_eq!(hex::encode_upper(opened.key.expose()), CLEAR_KEY);
            prop_assert_eq!(opened.header, HEADER);
        }
    }
}
