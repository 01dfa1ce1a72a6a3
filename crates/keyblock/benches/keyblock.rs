//! Criterion benchmarks for the key block operations the service runs per request:
//! TR-31 wrap and unwrap (version B with a TDES KBPK, version D with an AES-256 KBPK),
//! TR-34 build and open (RSA-2048 KDH and KRD, a TDES key, two-pass), and key check
//! values (`ANSI_X9_24`, AES `CMAC`, `HMAC` SHA-256), and CBC over 1 KiB (AES-128 and TDES, as
//! the data plane's EncryptData and DecryptData run it).
//!
//! The keys are fixed test values; the RSA key pairs and their self-signed certificates
//! are made once, before measuring. Run with
//! `cargo bench -p paycrypt-keyblock --bench keyblock`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use paycrypt_keyblock::SystemRng;
use paycrypt_keyblock::kcv::{self, BlockCipherKind, HmacHash};
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm, KeyPair};
use paycrypt_keyblock::sym::Cipher;
use paycrypt_keyblock::tr31::{
    self, Algorithm, Exportability, Header, KeyUsage, ModeOfUse, Version, WrapOptions,
};
use paycrypt_keyblock::tr34::{self, BuildParams, ContentCipher, Freshness};

/// A TDES 2-key key (the published KCV example key).
const TDES_KEY: &str = "0123456789ABCDEFFEDCBA9876543210";
/// A TDES 2-key KBPK.
const TDES_KBPK: &str = "DD7515F2BFC17F85CE48F3CA25CB21F6";
/// An AES-128 key (NIST SP 800-38B appendix D).
const AES_128_KEY: &str = "2B7E151628AED2A6ABF7158809CF4F3C";
/// An AES-256 KBPK.
const AES_256_KBPK: &str = "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6";
/// The KRD's random nonce of a two-pass TR-34 exchange.
const NONCE: &str = "A1B2C3D4E5F60718";
const TR34_HEADER: &str = "D0112K0TB00E0000";

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).expect("benchmark constants are hex")
}

fn tr31_case(c: &mut Criterion, name: &str, kbpk: &[u8], header: &Header, key: &[u8]) {
    let options = WrapOptions::default();
    c.bench_function(&format!("tr31/wrap/{name}"), |b| {
        b.iter(|| {
            tr31::wrap(
                black_box(kbpk),
                header,
                black_box(key),
                options,
                &mut SystemRng,
            )
            .expect("wrap")
        })
    });
    let block = tr31::wrap(kbpk, header, key, options, &mut SystemRng).expect("wrap");
    c.bench_function(&format!("tr31/unwrap/{name}"), |b| {
        b.iter(|| tr31::unwrap(black_box(kbpk), black_box(&block)).expect("unwrap"))
    });
}

fn tr31_benches(c: &mut Criterion) {
    let tdes = Header::new(
        Version::B,
        KeyUsage::new("P0").expect("key usage"),
        Algorithm::Tdes,
        ModeOfUse::EncryptOnly,
        Exportability::Exportable,
    );
    tr31_case(
        c,
        "B_tdes2_kbpk_tdes_key",
        &bytes(TDES_KBPK),
        &tdes,
        &bytes(TDES_KEY),
    );
    let aes = Header::new(
        Version::D,
        KeyUsage::new("D0").expect("key usage"),
        Algorithm::Aes,
        ModeOfUse::EncryptDecrypt,
        Exportability::Exportable,
    );
    tr31_case(
        c,
        "D_aes256_kbpk_aes128_key",
        &bytes(AES_256_KBPK),
        &aes,
        &bytes(AES_128_KEY),
    );
}

/// An RSA-2048 key pair and a self-signed certificate for it with common name `name`.
fn party(name: &str) -> (KeyPair, Vec<u8>) {
    let pair = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048).expect("RSA key pair");
    let key = rcgen::KeyPair::try_from(pair.private_pkcs8_der.expose()).expect("rcgen key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params
        .self_signed(&key)
        .expect("certificate")
        .der()
        .to_vec();
    (pair, cert)
}

fn tr34_benches(c: &mut Criterion) {
    let (kdh, kdh_cert) = party("paycrypt bench KDH");
    let (krd, krd_cert) = party("paycrypt bench KRD");
    let key = bytes(TDES_KEY);
    let nonce = bytes(NONCE);
    let params = BuildParams {
        key: &key,
        header: TR34_HEADER,
        kdh_certificate_der: &kdh_cert,
        kdh_private_pkcs8_der: kdh.private_pkcs8_der.expose(),
        krd_certificate_der: &krd_cert,
        content_cipher: ContentCipher::Tdes,
        freshness: Freshness::RandomNonce(nonce.clone()),
    };
    c.bench_function("tr34/build/rsa2048_tdes_two_pass", |b| {
        b.iter(|| tr34::build(black_box(&params), &mut SystemRng).expect("build"))
    });
    let block = tr34::build(&params, &mut SystemRng).expect("build");
    c.bench_function("tr34/open/rsa2048_tdes_two_pass", |b| {
        b.iter(|| {
            tr34::open(
                black_box(&block),
                &krd_cert,
                krd.private_pkcs8_der.expose(),
                &kdh_cert,
                Some(&nonce),
            )
            .expect("open")
        })
    });
}

fn kcv_benches(c: &mut Criterion) {
    let tdes = bytes(TDES_KEY);
    c.bench_function("kcv/ansi_x9_24/tdes2", |b| {
        b.iter(|| kcv::ansi_x9_24(black_box(&tdes)).expect("kcv"))
    });
    let aes = bytes(AES_128_KEY);
    c.bench_function("kcv/cmac/aes128", |b| {
        b.iter(|| kcv::cmac(BlockCipherKind::Aes, black_box(&aes)).expect("kcv"))
    });
    let hmac_key: Vec<u8> = (0u8..32).collect();
    c.bench_function("kcv/hmac/sha256", |b| {
        b.iter(|| kcv::hmac(HmacHash::Sha256, black_box(&hmac_key)))
    });
}

fn cbc_benches(c: &mut Criterion) {
    for (name, kind, key, block) in [
        ("aes128", BlockCipherKind::Aes, bytes(AES_128_KEY), 16),
        ("tdes2", BlockCipherKind::Tdes, bytes(TDES_KEY), 8),
    ] {
        let cipher = Cipher::new(kind, &key).expect("cipher");
        let iv = vec![0u8; block];
        let mut data = vec![0x5Au8; 1024];
        c.bench_function(&format!("cbc/encrypt_1k/{name}"), |b| {
            b.iter(|| cipher.cbc_encrypt(&iv, black_box(&mut data)))
        });
        c.bench_function(&format!("cbc/decrypt_1k/{name}"), |b| {
            b.iter(|| cipher.cbc_decrypt(&iv, black_box(&mut data)))
        });
    }
}

criterion_group!(
    benches,
    tr31_benches,
    tr34_benches,
    kcv_benches,
    cbc_benches
);
criterion_main!(benches);
