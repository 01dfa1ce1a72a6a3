//! The raw cost of the cryptography behind the expensive operations, measured in this process
//! with aws-lc-rs (the library paycrypt uses): RSA-2048 key generation (what a token without the
//! key pool costs), and an RSA-2048 PKCS#1 v1.5 SHA-256 signature plus an RSA-OAEP (SHA-256)
//! encryption of a TDES key (the two RSA operations of a TR-34 export).

use std::time::{Duration, Instant};

use anyhow::anyhow;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, OaepPublicEncryptingKey, PublicEncryptingKey};
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use paycrypt_keyblock::keygen::{AsymmetricAlgorithm, generate_key_pair};
use serde::Serialize;

/// Operations per second, each on `threads` threads working at once.
#[derive(Debug, Serialize)]
pub struct CryptoRates {
    pub threads: usize,
    pub rsa2048_keygen_per_s: f64,
    /// Median time of one RSA-2048 key generation (single thread), in milliseconds.
    pub rsa2048_keygen_median_ms: f64,
    pub rsa2048_sign_per_s: f64,
    pub rsa2048_oaep_encrypt_per_s: f64,
    /// One signature and one OAEP encryption, back to back.
    pub rsa2048_sign_plus_oaep_per_s: f64,
}

/// Runs `work` on `threads` threads for `duration`; returns the rate and each call's times.
fn rate(
    threads: usize,
    duration: Duration,
    work: impl Fn() -> anyhow::Result<()> + Sync,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let start = Instant::now();
    let results: Vec<anyhow::Result<Vec<Duration>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut times = Vec::new();
                    while start.elapsed() < duration || times.is_empty() {
                        let t = Instant::now();
                        work()?;
                        times.push(t.elapsed());
                    }
                    Ok(times)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a worker panicked")))
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok((all.len() as f64 / elapsed.as_secs_f64(), all))
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort_unstable();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

/// Measures each rate for `duration` on `threads` threads.
pub fn measure(threads: usize, duration: Duration) -> anyhow::Result<CryptoRates> {
    let generate = || {
        aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)
            .map(drop)
            .map_err(|_| anyhow!("RSA-2048 key generation failed"))
    };
    let (rsa2048_keygen_per_s, _) = rate(threads, duration, generate)?;
    let (_, single) = rate(1, duration, generate)?;

    let signer = generate_key_pair(AsymmetricAlgorithm::Rsa2048)?;
    let signer = RsaKeyPair::from_pkcs8(signer.private_pkcs8_der.expose())
        .map_err(|_| anyhow!("PKCS#8 parsing failed"))?;
    let recipient = generate_key_pair(AsymmetricAlgorithm::Rsa2048)?;
    let recipient = OaepPublicEncryptingKey::new(
        PublicEncryptingKey::from_der(&recipient.public_spki_der)
            .map_err(|_| anyhow!("SPKI parsing failed"))?,
    )
    .map_err(|_| anyhow!("not an OAEP key"))?;
    let message = [0x5a_u8; 512];
    let tdes_key = [0x11_u8; 24];
    let random = SystemRandom::new();
    let sign = || {
        let mut signature = vec![0u8; signer.public_modulus_len()];
        signer
            .sign(&RSA_PKCS1_SHA256, &random, &message, &mut signature)
            .map_err(|_| anyhow!("RSA signing failed"))
    };
    let encrypt = || {
        let mut out = vec![0u8; recipient.ciphertext_size()];
        recipient
            .encrypt(
                &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256,
                &tdes_key,
                &mut out,
                None,
            )
            .map(drop)
            .map_err(|_| anyhow!("RSA-OAEP encryption failed"))
    };
    let (rsa2048_sign_per_s, _) = rate(threads, duration, sign)?;
    let (rsa2048_oaep_encrypt_per_s, _) = rate(threads, duration, encrypt)?;
    let (rsa2048_sign_plus_oaep_per_s, _) = rate(threads, duration, || {
        sign()?;
        encrypt()
    })?;
    Ok(CryptoRates {
        threads,
        rsa2048_keygen_per_s,
        rsa2048_keygen_median_ms: median_ms(single),
        rsa2048_sign_per_s,
        rsa2048_oaep_encrypt_per_s,
        rsa2048_sign_plus_oaep_per_s,
    })
}
