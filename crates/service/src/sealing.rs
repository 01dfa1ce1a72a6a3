//! Sealing of key material at rest: AES-256-GCM under the deployment's master key, with the key's
//! ARN as associated data, so a sealed blob opens only under the right master key and only for the
//! key it was written for (a blob copied to another row fails to open).
//!
//! Layout of a sealed blob: `version (1 byte, 1) | nonce (12 bytes) | ciphertext | tag (16 bytes)`.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use paycrypt_keyblock::SecretBytes;
use zeroize::Zeroizing;

const VERSION: u8 = 1;
/// Associated data and plaintext of the value that proves a master key is the deployment's own.
const CHECK_AAD: &[u8] = b"paycrypt master key check";
const CHECK_PLAINTEXT: &[u8] = b"paycrypt";

/// Why sealed material could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("sealed key material is malformed")]
    Malformed,
    #[error("sealed key material does not open under this master key")]
    WrongKey,
}

/// Seals and opens key material under the master key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<master key redacted>)")
    }
}

impl Sealer {
    /// A sealer over a 32-byte master key.
    pub fn new(master_key: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, master_key).expect("AES-256 key is 32 bytes");
        Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    /// Encrypts `plaintext` bound to `aad` (the key ARN).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the operating system's random source failed");
        let mut buffer = Zeroizing::new(plaintext.to_vec());
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut *buffer,
            )
            .expect("AES-GCM sealing of an in-memory buffer cannot fail");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&buffer);
        sealed
    }

    /// Decrypts a blob written by [`Sealer::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<SecretBytes, SealError> {
        if sealed.len() < 1 + NONCE_LEN + AES_256_GCM.tag_len() || sealed[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN])
            .map_err(|_| SealError::Malformed)?;
        let mut buffer = sealed[1 + NONCE_LEN..].to_vec();
        let len = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .map_err(|_| SealError::WrongKey)?
            .len();
        buffer.truncate(len);
        Ok(SecretBytes::new(buffer))
    }

    /// A value to store once per deployment; [`Sealer::matches_check`] later proves that the
    /// master key in use is the one the data was written with.
    pub fn check_value(&self) -> Vec<u8> {
        self.seal(CHECK_AAD, CHECK_PLAINTEXT)
    }

    /// Whether `check` (from [`Sealer::check_value`]) was made with this master key.
    pub fn matches_check(&self, check: &[u8]) -> bool {
        self.open(CHECK_AAD, check)
            .is_ok_and(|opened| opened.expose() == CHECK_PLAINTEXT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_key() {
        let sealer = Sealer::new(&[0xA5; 32]);
        let printed = format!("{sealer:?} {:#?}", sealer);
        assert!(!printed.to_lowercase().contains("a5a5"), "{printed}");
        assert!(!printed.contains("165"), "{printed}");
        assert_eq!(format!("{sealer:?}"), "Sealer(<master key redacted>)");
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let sealer = Sealer::new(&[7u8; 32]);
        let sealed = sealer.seal(b"arn:a", b"secret key bytes");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            sealer.open(b"arn:a", &sealed).unwrap().expose(),
            b"secret key bytes"
        );
        assert!(matches!(
            sealer.open(b"arn:b", &sealed),
            Err(SealError::WrongKey)
        ));
        let other = Sealer::new(&[8u8; 32]);
        assert!(matches!(
            other.open(b"arn:a", &sealed),
            Err(SealError::WrongKey)
        ));
        assert!(matches!(
            sealer.open(b"arn:a", &sealed[..10]),
            Err(SealError::Malformed)
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            sealer.open(b"arn:a", &flipped),
            Err(SealError::WrongKey)
        ));
    }

    #[test]
    fn check_value_tells_master_keys_apart() {
        let sealer = Sealer::new(&[1u8; 32]);
        let check = sealer.check_value();
        assert!(sealer.matches_check(&check));
        assert!(!Sealer::new(&[2u8; 32]).matches_check(&check));
        assert!(!sealer.matches_check(b"garbage"));
    }
}
