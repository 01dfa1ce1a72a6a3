//! RSA-OAEP key cryptograms: round trips over every RSA size and both hashes, and
//! cross-checks with python3 `cryptography` (recorded fixtures, plus a live check when
//! python3 with `cryptography` is on the machine).

use paycrypt_keyblock::cryptogram::{self, OaepHash};
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
use paycrypt_keyblock::{Error, kcv};

const KEY: &str = "00112233445566778899AABBCCDDEEFF0123456789ABCDEF";

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).expect("test data is hex")
}

fn fixture(text: &str) -> Vec<u8> {
    h(text.trim())
}

fn private_der() -> Vec<u8> {
    fixture(include_str!("fixtures/oaep_rsa2048_private_pkcs8.hex"))
}

fn public_der() -> Vec<u8> {
    fixture(include_str!("fixtures/oaep_rsa2048_public_spki.hex"))
}

#[test]
fn cryptograms_made_by_python_cryptography_unwrap() {
    for (hash, cryptogram) in [
        (
            OaepHash::Sha256,
            include_str!("fixtures/oaep_sha256_cryptogram.hex"),
        ),
        (
            OaepHash::Sha512,
            include_str!("fixtures/oaep_sha512_cryptogram.hex"),
        ),
    ] {
        let key = cryptogram::unwrap_key(&private_der(), hash, &fixture(cryptogram)).unwrap();
        assert_eq!(key.expose(), h(KEY).as_slice(), "{hash:?}");
    }
    // The wrong hash does not decrypt.
    let sha256 = fixture(include_str!("fixtures/oaep_sha256_cryptogram.hex"));
    assert_eq!(
        cryptogram::unwrap_key(&private_der(), OaepHash::Sha512, &sha256).map(|_| ()),
        Err(Error::DecryptionFailed)
    );
}

#[test]
fn sha1_kcv_of_the_fixture_public_key_matches_python_hashlib() {
    assert_eq!(
        hex::encode_upper(kcv::sha1_public_key(&public_der())),
        "B6106BA7"
    );
}

#[test]
fn round_trips_for_every_rsa_size_and_hash() {
    for alg in [
        AsymmetricAlgorithm::Rsa2048,
        AsymmetricAlgorithm::Rsa3072,
        AsymmetricAlgorithm::Rsa4096,
    ] {
        let pair = keygen::generate_key_pair(alg).unwrap();
        for hash in [OaepHash::Sha256, OaepHash::Sha512] {
            for len in [16, 24, 32] {
                let key = vec![0xA5; len];
                let wrapped = cryptogram::wrap_key(&pair.public_spki_der, hash, &key).unwrap();
                let back = cryptogram::unwrap_key(pair.private_pkcs8_der.expose(), hash, &wrapped)
                    .unwrap();
                assert_eq!(back.expose(), key.as_slice(), "{alg:?} {hash:?} {len}");
            }
        }
    }
}

#[test]
fn errors() {
    let key = h(KEY);
    assert!(matches!(
        cryptogram::wrap_key(b"not a key", OaepHash::Sha256, &key),
        Err(Error::InvalidPublicKey(_))
    ));
    assert!(matches!(
        cryptogram::unwrap_key(b"not a key", OaepHash::Sha256, &[0; 256]),
        Err(Error::InvalidPrivateKey(_))
    ));
    // SHA-512 OAEP under a 2048-bit key carries at most 256 - 2 * 64 - 2 = 126 bytes.
    assert_eq!(
        cryptogram::wrap_key(&public_der(), OaepHash::Sha512, &[1; 127]),
        Err(Error::PlaintextTooLong { len: 127, max: 126 })
    );
    assert!(cryptogram::wrap_key(&public_der(), OaepHash::Sha512, &[1; 126]).is_ok());
    assert!(matches!(
        cryptogram::wrap_key(&public_der(), OaepHash::Sha256, &[]),
        Err(Error::InvalidKeyLength { .. })
    ));
    assert_eq!(
        cryptogram::unwrap_key(&private_der(), OaepHash::Sha256, &[0; 255]).map(|_| ()),
        Err(Error::DecryptionFailed)
    );
    assert_eq!(
        cryptogram::unwrap_key(&private_der(), OaepHash::Sha256, &[0; 256]).map(|_| ()),
        Err(Error::DecryptionFailed)
    );
}

/// Cryptograms and public keys made here are accepted by python3 `cryptography`, when it
/// is installed (it is on the development machine; the test says so and passes where it
/// is not).
#[test]
fn python_cryptography_decrypts_cryptograms_made_here() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let pair = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
    let key = h(KEY);
    let c256 = cryptogram::wrap_key(&pair.public_spki_der, OaepHash::Sha256, &key).unwrap();
    let c512 = cryptogram::wrap_key(&pair.public_spki_der, OaepHash::Sha512, &key).unwrap();
    let script = r#"
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
priv_hex, pub_hex, c256, c512 = sys.stdin.read().split()
priv = serialization.load_der_private_key(bytes.fromhex(priv_hex), password=None)
pub = serialization.load_der_public_key(bytes.fromhex(pub_hex))
assert pub.public_numbers() == priv.public_key().public_numbers()
for c, h in ((c256, hashes.SHA256()), (c512, hashes.SHA512())):
    print(priv.decrypt(bytes.fromhex(c), padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)).hex().upper())
"#;
    let child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("python3 not found: live cross-check skipped");
        return;
    };
    let input = format!(
        "{} {} {} {}",
        hex::encode(pair.private_pkcs8_der.expose()),
        hex::encode(&pair.public_spki_der),
        hex::encode(&c256),
        hex::encode(&c512)
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("ModuleNotFoundError") {
        eprintln!("python3 has no `cryptography`: live cross-check skipped");
        return;
    }
    assert!(out.status.success(), "python3 failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), vec![KEY, KEY]);
}
