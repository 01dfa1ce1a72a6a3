//! ECDH and its KDFs against published vectors and against python `cryptography`.
//!
//! Sources:
//! - ECDH: NIST CAVS 14.1 "ECC CDH Primitive (SP800-56A Section 5.7.1.2)",
//!   KAS_ECC_CDH_PrimitiveTest.txt, COUNT = 0 of P-256, P-384 and P-521, as reproduced in
//!   Go's src/crypto/ecdh/ecdh_test.go (golang/go commit bb0d8297; Go drops two leading
//!   zero bytes from the P-521 inputs).
//! - SP 800-56C one-step KDF: pyca/cryptography tests/hazmat/primitives/test_concatkdf.py
//!   (`test_derive`); the "NIST SP 800-56C Rev1 non-official test vectors" of
//!   patrickfav/singlestep-kdf (SHA-256 and SHA-512 cases, as used by Bouncy Castle's
//!   ConcatenationKDFTest); RFC 7518 appendix C (the ECDH-ES example's Concat KDF).
//! - ANSI X9.63 KDF: pyca/cryptography tests/hazmat/primitives/test_x963kdf.py
//!   (`test_derive` and `test_verify`, SHA-256 cases of NIST CAVS ansx963_2001).
//! - tests/fixtures/ecdh_python.txt: keys, Z and KDF outputs from python `cryptography`
//!   48.0.0 (ECDH, ConcatKDFHash, X963KDF) made by tests/ecdh_fixtures.py.

use paycrypt_keyblock::Error;
use paycrypt_keyblock::ecdh::{self, Curve, Kdf, KdfHash, PeerKey};
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
use proptest::prelude::*;

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).expect("test data is hex")
}

/// DER TLV with a short or long form length (test inputs are small).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if content.len() < 0x80 {
        out.push(content.len() as u8);
    } else {
        out.extend_from_slice(&[0x81, content.len() as u8]);
    }
    out.extend_from_slice(content);
    out
}

const EC_PUBLIC_KEY: &str = "06072A8648CE3D0201";

fn curve_oid(curve: Curve) -> &'static str {
    match curve {
        Curve::P256 => "06082A8648CE3D030107",
        Curve::P384 => "06052B81040022",
        Curve::P521 => "06052B81040023",
    }
}

/// PKCS#8 (RFC 5208) around an RFC 5915 ECPrivateKey holding only the scalar `d`.
fn pkcs8(curve: Curve, d: &[u8]) -> Vec<u8> {
    let algorithm = tlv(0x30, &h(&format!("{EC_PUBLIC_KEY}{}", curve_oid(curve))));
    let ec_private_key = tlv(0x30, &[&h("020101")[..], &tlv(0x04, d)].concat());
    tlv(
        0x30,
        &[&h("020100")[..], &algorithm, &tlv(0x04, &ec_private_key)].concat(),
    )
}

/// SubjectPublicKeyInfo for an uncompressed point.
fn spki(curve: Curve, point: &[u8]) -> Vec<u8> {
    let algorithm = tlv(0x30, &h(&format!("{EC_PUBLIC_KEY}{}", curve_oid(curve))));
    let bits = tlv(0x03, &[&[0u8][..], point].concat());
    tlv(0x30, &[algorithm, bits].concat())
}

#[test]
fn nist_cavs_ecc_cdh_primitive_count_0() {
    let vectors = [
        (
            Curve::P256,
            "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534",
            "04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287\
             db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
            "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b",
        ),
        (
            Curve::P384,
            "3cc3122a68f0d95027ad38c067916ba0eb8c38894d22e1b15618b6818a661774ad463b205da88cf699ab4d43c9cf98a1",
            "04a7c76b970c3b5fe8b05d2838ae04ab47697b9eaf52e764592efda27fe7513272734466b400091adbf2d68c58e0c50066\
             ac68f19f2e1cb879aed43a9969b91a0839c4c38a49749b661efedf243451915ed0905a32b060992b468c64766fc8437a",
            "5f9d29dc5e31a163060356213669c8ce132e22f57c9a04f40ba7fcead493b457e5621e766c40a2e3d4d6a04b25e533f1",
        ),
        (
            Curve::P521,
            "017eecc07ab4b329068fba65e56a1f8890aa935e57134ae0ffcce802735151f4eac6564f6ee9974c5e6887a1fefee5743ae2241bfeb95d5ce31ddcb6f9edb4d6fc47",
            "0400685a48e86c79f0f0875f7bc18d25eb5fc8c0b07e5da4f4370f3a9490340854334b1e1b87fa395464c60626124a4e70d0f785601d37c09870ebf176666877a2046d\
             01ba52c56fc8776d9e8f5db4f0cc27636d0b741bbe05400697942e80b739884a83bde99e0f6716939e632bc8986fa18dccd443a348b6c3e522497955a4f3c302f676",
            "005fc70477c3e63bc3954bd0df3ea0d1f41ee21746ed95fc5e1fdf90930d5e136672d72cc770742d1711c3c3a4c334a0ad9759436a4d3c5bf6e74b9578fac148c831",
        ),
    ];
    for (curve, d, peer, z) in vectors {
        let private = pkcs8(curve, &h(d));
        let peer = spki(curve, &h(peer));
        let (got_curve, got) = ecdh::shared_secret(&private, PeerKey::Spki(&peer)).unwrap();
        assert_eq!(got_curve, curve);
        assert_eq!(hex::encode(got.expose()), z, "{curve:?}");
    }
}

#[test]
fn sp800_56c_one_step_kdf_vectors() {
    let vectors = [
        // pyca/cryptography test_concatkdf.py, test_derive.
        (
            KdfHash::Sha256,
            "52169af5c485dcc2321eb8d26d5efa21fb9b93c98e38412ee2484cf14f0d0d23",
            "a1b2c3d4e53728157e634612c12d6d5223e204aeea4341565369647bd184bcd246f72971f292badaa2fe4124612cba",
            "1c3bc9e7c4547c5191c0d478cccaed55",
        ),
        // patrickfav/singlestep-kdf non-official SP 800-56C vectors (SHA-256, SHA-512).
        (
            KdfHash::Sha256,
            "3f892bd8b84dae64a782a35f6eaa8f00",
            "ec3f1cd873d28858a58cc39e",
            "a7c0665298252531e0db37737a374651b368275f2048284d16a166c6d8a90a91a491c16f49641b9f516a03d9d6d0f4fe7b81ffdf1c816f40ecd74aed8eda2b8a3c714fa0",
        ),
        (
            KdfHash::Sha512,
            "e65b1905878b95f68b5535bd3b2b1013",
            "830221b1730d9176f807d407",
            "b8c44bdf0b85a64b6a51c12a06710e373d829bb1fda5b4e1a20795c6199594f6fa65198a721257f7d58cb2f6f6db9bb5699f73863045909054b2389e06ec00fe318cabd9",
        ),
        // RFC 7518 appendix C: Z and OtherInfo ("A128GCM", "Alice", "Bob", 128) of the
        // ECDH-ES example, derived key 56aa8dea... (base64url VqqN6vgjbSBcIijNcacQGg).
        (
            KdfHash::Sha256,
            "9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa7798cfe90c4",
            "000000074131323847434d00000005416c69636500000003426f6200000080",
            "56aa8deaf8236d205c2228cd71a7101a",
        ),
    ];
    for (hash, z, info, expected) in vectors {
        let len = expected.len() / 2;
        let key = ecdh::concat_kdf(hash, &h(z), &h(info), len).unwrap();
        assert_eq!(hex::encode(key.expose()), expected, "{hash:?} {z}");
        // Every shorter output is a prefix (the published vectors are checked that way too).
        for prefix in [1, 2, 30, 32, 34] {
            let short = ecdh::concat_kdf(hash, &h(z), &h(info), prefix.min(len)).unwrap();
            assert_eq!(short.expose(), &h(expected)[..prefix.min(len)]);
        }
    }
}

#[test]
fn ansi_x963_kdf_vectors() {
    // pyca/cryptography test_x963kdf.py (SHA-256 cases of NIST CAVS ansx963_2001).
    let vectors = [
        (
            "96c05619d56c328ab95fe84b18264b08725b85e33fd34f08",
            "",
            "443024c3dae66b95e6f5670601558f71",
        ),
        (
            "22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d",
            "75eef81aa3041e33b80971203d2c0c52",
            "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e\
             52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d0097111485\
             500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269\
             142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21",
        ),
    ];
    for (z, info, expected) in vectors {
        let key = ecdh::x963_kdf(KdfHash::Sha256, &h(z), &h(info), expected.len() / 2).unwrap();
        assert_eq!(hex::encode(key.expose()), expected);
    }
}

/// The `name = hex` groups of tests/fixtures/ecdh_python.txt, one map per curve.
fn python_fixtures() -> Vec<std::collections::HashMap<String, String>> {
    let text = include_str!("fixtures/ecdh_python.txt");
    let mut groups = Vec::new();
    for group in text.split("\n\n").filter(|g| g.contains("curve = ")) {
        let map = group
            .lines()
            .filter_map(|line| line.split_once(" = "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        groups.push(map);
    }
    groups
}

#[test]
fn matches_python_cryptography_on_every_curve_and_hash() {
    let groups = python_fixtures();
    assert_eq!(groups.len(), 3);
    for g in groups {
        let curve = match g["curve"].as_str() {
            "P-256" => Curve::P256,
            "P-384" => Curve::P384,
            _ => Curve::P521,
        };
        let private = h(&g["private_pkcs8"]);
        let peer = h(&g["peer_spki"]);
        let info = h(&g["info"]);
        let (c, z) = ecdh::shared_secret(&private, PeerKey::Spki(&peer)).unwrap();
        assert_eq!(c, curve);
        assert_eq!(hex::encode(z.expose()), g["z"]);
        for (name, hash) in [
            ("sha256", KdfHash::Sha256),
            ("sha384", KdfHash::Sha384),
            ("sha512", KdfHash::Sha512),
        ] {
            for (kdf, prefix) in [(Kdf::NistSp800_56C, "concat"), (Kdf::AnsiX963, "x963")] {
                let expected = &g[&format!("{prefix}_{name}")];
                let key =
                    ecdh::derive_key(&private, PeerKey::Spki(&peer), kdf, hash, &info, 72).unwrap();
                assert_eq!(
                    &hex::encode(key.expose()),
                    expected,
                    "{curve:?} {prefix} {name}"
                );
            }
        }
    }
}

#[test]
fn peer_key_from_a_certificate() {
    let ours = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP256).unwrap();
    let theirs = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP256).unwrap();
    let key = rcgen::KeyPair::try_from(theirs.private_pkcs8_der.expose()).unwrap();
    let cert = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .der()
        .to_vec();
    let info = h("0011223344");
    let derive = |peer| {
        ecdh::derive_key(
            ours.private_pkcs8_der.expose(),
            peer,
            Kdf::AnsiX963,
            KdfHash::Sha384,
            &info,
            32,
        )
        .unwrap()
    };
    let from_cert = derive(PeerKey::Certificate(&cert));
    let from_spki = derive(PeerKey::Spki(&theirs.public_spki_der));
    assert_eq!(from_cert.expose(), from_spki.expose());
    // And the other side, from our public key, gets the same key.
    let back = ecdh::derive_key(
        theirs.private_pkcs8_der.expose(),
        PeerKey::Spki(&ours.public_spki_der),
        Kdf::AnsiX963,
        KdfHash::Sha384,
        &info,
        32,
    )
    .unwrap();
    assert_eq!(back.expose(), from_cert.expose());
}

#[test]
fn derive_key_rejects_bad_lengths_before_any_work() {
    assert_eq!(
        ecdh::derive_key(
            b"",
            PeerKey::Spki(b""),
            Kdf::AnsiX963,
            KdfHash::Sha256,
            b"",
            0
        )
        .map(|_| ()),
        Err(Error::InvalidKeyLength {
            what: "derived key",
            len: 0
        })
    );
}

proptest! {
    #[test]
    fn arbitrary_inputs_give_errors_or_keys_of_the_asked_length(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        len in 0usize..1100,
    ) {
        let _ = ecdh::shared_secret(&bytes, PeerKey::Spki(&bytes));
        let _ = ecdh::shared_secret(&bytes, PeerKey::Certificate(&bytes));
        for hash in [KdfHash::Sha256, KdfHash::Sha384, KdfHash::Sha512] {
            for key in [
                ecdh::concat_kdf(hash, &bytes, &bytes, len),
                ecdh::x963_kdf(hash, &bytes, &bytes, len),
            ] {
                match key {
                    Ok(key) => prop_assert_eq!(key.len(), len),
                    Err(e) => prop_assert_eq!(e, Error::InvalidKeyLength { what: "derived key", len }),
                }
            }
        }
    }
}
