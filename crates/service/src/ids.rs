//! Random identifiers: key ids are 16 lowercase alphanumerics, as AWS writes them.

use paycrypt_keyblock::SystemRng;
use paycrypt_keyblock::rand_core::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters drawn uniformly from `[a-z0-9]`.
pub fn random_lower_alphanumeric(len: usize) -> String {
    let mut rng = SystemRng;
    let mut out = String::with_capacity(len);
    // Random bytes in batches (one system call each), twice as many as characters: rejections
    // are rare (4 in 256), so one batch nearly always suffices.
    let mut batch = vec![0u8; 2 * len];
    while out.len() < len {
        rng.fill_bytes(&mut batch);
        // 252 = 7 * 36: reject the top values so every character is equally likely.
        for &byte in batch.iter().filter(|&&b| b < 252).take(len - out.len()) {
            out.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_aws_shape_and_differ() {
        let a = random_lower_alphanumeric(16);
        let b = random_lower_alphanumeric(16);
        assert_eq!(a.len(), 16);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_ne!(a, b);
    }
}
