//! Parsed RSA private keys, remembered. Loading an RSA key pair from PKCS#8 checks the key
//! (aws-lc's RSA key check and blinding set-up) and costs more than the signature it is loaded
//! for; the same few keys (an account CA, an export token used for many exports) sign again and
//! again. The parsed pairs are kept in memory, looked up by the SHA-256 of their PKCS#8 encoding,
//! a bounded number of them; aws-lc clears a key's private numbers when the last user drops it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use aws_lc_rs::signature::RsaKeyPair;
use sha2::{Digest, Sha256};

/// Keys remembered at most; past this the memory is emptied and filled again by later uses.
const MAX_KEYS: usize = 64;

static PARSED: LazyLock<Mutex<HashMap<[u8; 32], Arc<RsaKeyPair>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The RSA key pair encoded by `private_pkcs8_der`, parsed once; `None` when it is not an RSA
/// PKCS#8 private key.
pub fn key_pair(private_pkcs8_der: &[u8]) -> Option<Arc<RsaKeyPair>> {
    let id: [u8; 32] = Sha256::digest(private_pkcs8_der).into();
    if let Some(known) = PARSED.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return Some(known.clone());
    }
    let parsed = Arc::new(RsaKeyPair::from_pkcs8(private_pkcs8_der).ok()?);
    let mut parsed_keys = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if parsed_keys.len() >= MAX_KEYS {
        parsed_keys.clear();
    }
    parsed_keys.insert(id, parsed.clone());
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::KeyPair;

    use super::*;
    use crate::keygen::{AsymmetricAlgorithm, generate_key_pair};

    #[test]
    fn a_key_is_parsed_once_and_a_different_key_is_not_mistaken_for_it() {
        let a = generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
        let b = generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
        let first = key_pair(a.private_pkcs8_der.expose()).unwrap();
        let again = key_pair(a.private_pkcs8_der.expose()).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other = key_pair(b.private_pkcs8_der.expose()).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert_ne!(
            first.public_key().as_ref(),
            other.public_key().as_ref(),
            "two keys, two public halves"
        );
        assert!(key_pair(b"not a key").is_none());
    }
}
