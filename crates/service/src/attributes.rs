//! The key attribute rules of CreateKey: which algorithms, key classes and sets of modes of use
//! each key usage allows, and which key check value algorithms fit each key algorithm. The table
//! is the one AWS Payment Cryptography enforces (shared/reference/api-behaviour.md).

use paycrypt_api::{
    ApiError, KeyAlgorithm, KeyAttributes, KeyCheckValueAlgorithm, KeyClass, KeyModesOfUse,
    KeyUsage,
};
use paycrypt_keyblock::kcv::{BlockCipherKind, HmacHash};
use paycrypt_keyblock::keygen::{AsymmetricAlgorithm, SymmetricAlgorithm};

/// What kind of key material an algorithm names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    Symmetric(SymmetricAlgorithm),
    Asymmetric(AsymmetricAlgorithm),
}

pub fn material(algorithm: KeyAlgorithm) -> Material {
    use AsymmetricAlgorithm as A;
    use SymmetricAlgorithm as S;
    match algorithm.as_str() {
        "TDES_2KEY" => Material::Symmetric(S::Tdes2Key),
        "TDES_3KEY" => Material::Symmetric(S::Tdes3Key),
        "AES_128" => Material::Symmetric(S::Aes128),
        "AES_192" => Material::Symmetric(S::Aes192),
        "AES_256" => Material::Symmetric(S::Aes256),
        "HMAC_SHA224" => Material::Symmetric(S::HmacSha224),
        "HMAC_SHA256" => Material::Symmetric(S::HmacSha256),
        "HMAC_SHA384" => Material::Symmetric(S::HmacSha384),
        "HMAC_SHA512" => Material::Symmetric(S::HmacSha512),
        "RSA_2048" => Material::Asymmetric(A::Rsa2048),
        "RSA_3072" => Material::Asymmetric(A::Rsa3072),
        "RSA_4096" => Material::Asymmetric(A::Rsa4096),
        "ECC_NIST_P256" => Material::Asymmetric(A::EccNistP256),
        "ECC_NIST_P384" => Material::Asymmetric(A::EccNistP384),
        _ => Material::Asymmetric(A::EccNistP521),
    }
}

/// How a key check value is computed for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KcvMethod {
    AnsiX924,
    Cmac(BlockCipherKind),
    Hmac(HmacHash),
    Sha1PublicKey,
}

fn family(algorithm: KeyAlgorithm) -> &'static str {
    let name = algorithm.as_str();
    ["TDES", "AES", "HMAC", "RSA", "ECC"]
        .into_iter()
        .find(|prefix| name.starts_with(prefix))
        .unwrap_or("ECC")
}

/// The check value algorithm used when the request names none.
pub fn default_kcv_algorithm(algorithm: KeyAlgorithm) -> KeyCheckValueAlgorithm {
    match family(algorithm) {
        "TDES" => KeyCheckValueAlgorithm::AnsiX924,
        "AES" => KeyCheckValueAlgorithm::Cmac,
        "HMAC" => KeyCheckValueAlgorithm::Hmac,
        _ => KeyCheckValueAlgorithm::Sha1,
    }
}

/// The check value algorithm and method of a key being created or imported, from the one the
/// request names (if any).
///
/// For a key pair or a public key certificate (RSA, ECC) any named algorithm is accepted and
/// ignored: the check value is the SHA_1 form, exactly as without the argument. AWS accepts it
/// too: its public TR-34 samples (aws-samples/samples-for-payment-cryptography-service,
/// `key-import-export/tr34`) import an RSA root certificate with `KeyCheckValueAlgorithm`
/// `ANSI_X9_24`.
pub fn creation_kcv(
    algorithm: KeyAlgorithm,
    requested: Option<KeyCheckValueAlgorithm>,
) -> Result<(KeyCheckValueAlgorithm, KcvMethod), ApiError> {
    let chosen = match (material(algorithm), requested) {
        (Material::Symmetric(_), Some(requested)) => requested,
        _ => default_kcv_algorithm(algorithm),
    };
    Ok((chosen, kcv_method(algorithm, chosen)?))
}

/// How to compute `requested` for a key of `algorithm`, or why that does not fit.
pub fn kcv_method(
    algorithm: KeyAlgorithm,
    requested: KeyCheckValueAlgorithm,
) -> Result<KcvMethod, ApiError> {
    let method = match (family(algorithm), requested.as_str()) {
        ("TDES", "ANSI_X9_24") => Some(KcvMethod::AnsiX924),
        ("TDES", "CMAC") => Some(KcvMethod::Cmac(BlockCipherKind::Tdes)),
        ("AES", "CMAC") => Some(KcvMethod::Cmac(BlockCipherKind::Aes)),
        ("HMAC", "HMAC") => Some(KcvMethod::Hmac(match algorithm.as_str() {
            "HMAC_SHA224" => HmacHash::Sha224,
            "HMAC_SHA256" => HmacHash::Sha256,
            "HMAC_SHA384" => HmacHash::Sha384,
            _ => HmacHash::Sha512,
        })),
        ("RSA" | "ECC", "SHA_1") => Some(KcvMethod::Sha1PublicKey),
        _ => None,
    };
    method.ok_or_else(|| {
        ApiError::validation(format!(
            "KeyCheckValueAlgorithm {} is not valid for a key of algorithm {}.",
            requested.as_str(),
            algorithm.as_str()
        ))
    })
}

/// The modes of use a request sets, by their wire names.
pub fn modes_set(modes: &KeyModesOfUse) -> Vec<&'static str> {
    [
        ("Encrypt", modes.encrypt),
        ("Decrypt", modes.decrypt),
        ("Wrap", modes.wrap),
        ("Unwrap", modes.unwrap),
        ("Generate", modes.generate),
        ("Sign", modes.sign),
        ("Verify", modes.verify),
        ("DeriveKey", modes.derive_key),
        ("NoRestrictions", modes.no_restrictions),
    ]
    .into_iter()
    .filter(|(_, set)| *set)
    .map(|(name, _)| name)
    .collect()
}

const TDES_AES: &[&str] = &["TDES", "AES"];
const TDES_ONLY: &[&str] = &["TDES"];
const HMAC_ONLY: &[&str] = &["HMAC"];
const RSA_ONLY: &[&str] = &["RSA"];
const ECC_ONLY: &[&str] = &["ECC"];
const RSA_ECC: &[&str] = &["RSA", "ECC"];

const DERIVE: &[&[&str]] = &[&["DeriveKey"], &["NoRestrictions"]];
const MAC: &[&[&str]] = &[
    &["Generate"],
    &["Verify"],
    &["Generate", "Verify"],
    &["NoRestrictions"],
];
const CIPHER: &[&[&str]] = &[
    &["Encrypt", "Decrypt", "Wrap", "Unwrap"],
    &["Encrypt", "Wrap"],
    &["Decrypt", "Unwrap"],
    &["NoRestrictions"],
];
const ASYMMETRIC_CIPHER: &[&[&str]] = &[
    &["Encrypt", "Decrypt", "Wrap", "Unwrap"],
    &["Encrypt", "Wrap"],
    &["Decrypt", "Unwrap"],
];
const SIGN: &[&[&str]] = &[&["Sign"], &["Verify"]];
const AGREE: &[&[&str]] = &[&["DeriveKey"]];

/// The algorithm families and mode sets a key usage allows, or `None` where CreateKey does not
/// create keys of that usage.
fn rule(usage: KeyUsage) -> Option<(&'static [&'static str], &'static [&'static [&'static str]])> {
    let name = usage.as_str();
    let code = name.get(5..7).unwrap_or("");
    Some(match code {
        "B0" | "E0" | "E1" | "E2" | "E4" | "E5" | "E6" => (TDES_AES, DERIVE),
        "C0" | "V1" | "V2" | "M6" => (TDES_AES, MAC),
        // M0 (ISO 16609 MAC) is not in the service's published table, but AWS's AS 2805 sample
        // (aws-samples/samples-for-payment-cryptography-service, as2805_2_1_Working_Key_Exchange.py)
        // creates TDES_2KEY M0 keys with {Generate, Verify}: the AS 2805 MAC key.
        "M0" | "M1" | "M3" => (TDES_ONLY, MAC),
        "M7" => (HMAC_ONLY, MAC),
        "D0" | "K0" | "K1" | "P0" => (TDES_AES, CIPHER),
        "D1" | "K2" => (RSA_ONLY, ASYMMETRIC_CIPHER),
        "S0" => (RSA_ECC, SIGN),
        "K3" => (ECC_ONLY, AGREE),
        _ => return None,
    })
}

/// What CreateKey accepts for one key usage: the algorithms, and the sets of modes of use (by
/// their wire names), any of the one with any of the other. `None` where CreateKey does not create
/// keys of that usage. The console's key creation form offers exactly these.
pub fn create_options(
    usage: KeyUsage,
) -> Option<(Vec<KeyAlgorithm>, &'static [&'static [&'static str]])> {
    let (families, mode_sets) = rule(usage)?;
    let algorithms = KeyAlgorithm::ALL
        .iter()
        .copied()
        .filter(|algorithm| families.contains(&family(*algorithm)))
        .collect();
    Some((algorithms, mode_sets))
}

/// Checks CreateKey's attributes against the table; the error names what does not fit.
pub fn check_create(attributes: &KeyAttributes) -> Result<(), ApiError> {
    let usage = attributes.key_usage.as_str();
    let algorithm = attributes.key_algorithm;
    let Some((families, mode_sets)) = rule(attributes.key_usage) else {
        return Err(ApiError::validation(format!(
            "KeyUsage {usage} is not supported for CreateKey."
        )));
    };
    let fam = family(algorithm);
    if !families.contains(&fam) {
        return Err(ApiError::validation(format!(
            "KeyAlgorithm {} is not valid for KeyUsage {usage}.",
            algorithm.as_str()
        )));
    }
    let expected_class = match material(algorithm) {
        Material::Symmetric(_) => KeyClass::SymmetricKey,
        Material::Asymmetric(_) => KeyClass::AsymmetricKeyPair,
    };
    if attributes.key_class != expected_class {
        return Err(ApiError::validation(format!(
            "KeyClass {} is not valid for KeyAlgorithm {}; CreateKey requires {}.",
            attributes.key_class.as_str(),
            algorithm.as_str(),
            expected_class.as_str()
        )));
    }
    let modes = modes_set(&attributes.key_modes_of_use);
    if !mode_sets.contains(&modes.as_slice()) {
        let allowed: Vec<String> = mode_sets
            .iter()
            .map(|set| format!("{{{}}}", set.join(", ")))
            .collect();
        return Err(ApiError::validation(format!(
            "KeyModesOfUse {{{}}} is not valid for KeyUsage {usage}; allowed: {}.",
            modes.join(", "),
            allowed.join(" or ")
        )));
    }
    Ok(())
}
