//! Shared test helpers: key pairs generated once per test binary, a fixed clock, and
//! one-call CA and leaf issuance.

use std::sync::OnceLock;

use paycrypt_keyblock::keygen::{AsymmetricAlgorithm, KeyPair, generate_key_pair};
use paycrypt_pki::{LeafUsage, SubjectFields, ValidityPeriod, create_ca, issue_leaf};

/// The tests' "now", Unix seconds (2025-06-15).
pub const NOW: i64 = 1_750_000_000;

/// The CA validity used by [`ca`]: an hour in the past to ten years ahead.
pub const CA_VALIDITY: ValidityPeriod = ValidityPeriod {
    not_before: NOW - 3600,
    not_after: NOW + 10 * 365 * 86_400,
};

/// The leaf validity used by [`leaf`]: an hour in the past to seven days ahead.
pub const LEAF_VALIDITY: ValidityPeriod = ValidityPeriod {
    not_before: NOW - 3600,
    not_after: NOW + 7 * 86_400,
};

/// A key pair of `alg`, generated once per test binary (RSA-4096 takes a while).
pub fn key(alg: AsymmetricAlgorithm) -> &'static KeyPair {
    static KEYS: [OnceLock<KeyPair>; 6] = [const { OnceLock::new() }; 6];
    let slot = match alg {
        AsymmetricAlgorithm::Rsa2048 => 0,
        AsymmetricAlgorithm::Rsa3072 => 1,
        AsymmetricAlgorithm::Rsa4096 => 2,
        AsymmetricAlgorithm::EccNistP256 => 3,
        AsymmetricAlgorithm::EccNistP384 => 4,
        AsymmetricAlgorithm::EccNistP521 => 5,
    };
    KEYS[slot].get_or_init(|| generate_key_pair(alg).expect("key generation"))
}

/// A CA certificate (DER) for [`key`]`(alg)` named `cn`, organization "111122223333".
pub fn ca(alg: AsymmetricAlgorithm, cn: &str) -> Vec<u8> {
    let subject = SubjectFields {
        organization: Some("111122223333".into()),
        ..SubjectFields::new(cn)
    };
    create_ca(key(alg), &subject, CA_VALIDITY, [0x3C; 16]).expect("create_ca")
}

/// A leaf certificate (DER) for [`key`]`(leaf_alg)`, issued by `ca_der` whose key is
/// [`key`]`(ca_alg)`.
pub fn leaf(
    ca_der: &[u8],
    ca_alg: AsymmetricAlgorithm,
    leaf_alg: AsymmetricAlgorithm,
    usage: LeafUsage,
) -> Vec<u8> {
    issue_leaf(
        ca_der,
        key(ca_alg).private_pkcs8_der.expose(),
        &key(leaf_alg).public_spki_der,
        &SubjectFields::new("111122223333 leaf"),
        LEAF_VALIDITY,
        [0x9E; 16],
        usage,
    )
    .expect("issue_leaf")
}
