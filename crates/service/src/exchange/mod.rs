//! Key exchange: what GetParametersForExport/Import, ExportKey, ImportKey and
//! GetPublicKeyCertificate share. The account certificate authority (one per account and region,
//! created on first need and sealed like any key), import/export tokens, the mapping between key
//! attributes and TR-31 style key block headers, and the strength rule for wrapping keys.

pub(crate) mod agreement;
mod as2805;
mod export;
mod import;
mod key_pool;
mod params;

use paycrypt_api::{ApiError, KeyAlgorithm, KeyAttributes, KeyModesOfUse, KeyUsage, Timestamp};
use paycrypt_keyblock::SecretBytes;
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm, KeyPair};
use paycrypt_pki::{Certificate, SubjectFields, ValidityPeriod};
use paycrypt_store::{AuthorityRecord, TokenRecord};
use std::sync::Arc;

use crate::keys::LoadedKey;
use crate::{Context, Service, ids, store_error};

pub(crate) use key_pool::KeyPool;
use key_pool::{Issuer, ShelfKey};
pub use params::TokenPolicy;

const HOUR_SECS: i64 = 60 * 60;
/// How long the account CA certificate is valid.
const CA_VALIDITY_SECS: i64 = 20 * 365 * 24 * HOUR_SECS;

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!("{what}: {e}");
    ApiError::internal(format!("{what}."))
}

fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    paycrypt_keyblock::rand_core::Rng::fill_bytes(&mut paycrypt_keyblock::SystemRng, &mut serial);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    serial
}

/// Generates a key pair off the async runtime.
pub(crate) async fn generate_pair(alg: AsymmetricAlgorithm) -> Result<KeyPair, ApiError> {
    tokio::task::spawn_blocking(move || keygen::generate_key_pair(alg))
        .await
        .map_err(|e| internal("Key generation stopped", e))?
        .map_err(|e| internal("Key generation failed", e))
}

/// The account CA, opened for issuing.
pub(crate) struct Authority {
    pub certificate: Vec<u8>,
    pub private_key: SecretBytes,
}

fn authority_aad(ctx: &Context) -> Vec<u8> {
    format!("authority:{}:{}", ctx.account, ctx.region).into_bytes()
}

fn token_aad(ctx: &Context, token: &str) -> Vec<u8> {
    format!("token:{}:{}:{token}", ctx.account, ctx.region).into_bytes()
}

/// The subject of certificates issued in an account and region.
fn subject(ctx: &Context, common_name: &str) -> SubjectFields {
    SubjectFields {
        organization: Some(format!("paycrypt account {}", ctx.account)),
        organizational_unit: Some(ctx.region.clone()),
        ..SubjectFields::new(common_name)
    }
}

/// A new token's name.
/// The first whole second at or after `ms` (milliseconds since the epoch): a certificate that
/// ends then still covers a token ending at `ms` (certificates count whole seconds).
fn seconds_covering(ms: i64) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

fn new_token_name(kind: &str) -> String {
    format!("{kind}-token-{}", ids::random_lower_alphanumeric(16))
}

/// What a token's key does: an export token's signs, an import token's receives wrapped keys.
fn token_usage(kind: &str) -> paycrypt_pki::LeafUsage {
    if kind == "export" {
        paycrypt_pki::LeafUsage::Signing
    } else {
        paycrypt_pki::LeafUsage::Wrapping
    }
}

/// A certificate from the CA for `public_spki_der`, valid from an hour before `now_secs` to
/// `not_after_secs`, both within the CA's own validity.
fn sign_leaf(
    authority: &Authority,
    public_spki_der: &[u8],
    subject: &SubjectFields,
    now_secs: i64,
    not_after_secs: i64,
    usage: paycrypt_pki::LeafUsage,
) -> Result<Vec<u8>, ApiError> {
    let ca = Certificate::parse(&authority.certificate)
        .map_err(|e| internal("The account certificate authority is unreadable", e))?;
    let validity = ValidityPeriod {
        not_before: (now_secs - HOUR_SECS).max(ca.not_before()),
        not_after: not_after_secs.min(ca.not_after()),
    };
    paycrypt_pki::issue_leaf(
        &authority.certificate,
        authority.private_key.expose(),
        public_spki_der,
        subject,
        validity,
        random_serial(),
        usage,
    )
    .map_err(|e| internal("The certificate could not be issued", e))
}

/// paycrypt's side of a TR-34 exchange: the signer (KDH) on export, the receiver (KRD) on import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tr34Role {
    Signer,
    Receiver,
}

/// An issued token, opened.
pub(crate) struct OpenedToken {
    pub record: TokenRecord,
    pub private_key: SecretBytes,
}

impl Service {
    /// The CA of the caller's account and region as stored (certificate and sealed private key),
    /// created on first use (RSA-4096, as AWS's). Concurrent first uses on this node wait for one
    /// creation instead of each generating a key; nodes sharing a database keep the first stored.
    pub(crate) async fn authority_record(
        &self,
        ctx: &Context,
    ) -> Result<AuthorityRecord, ApiError> {
        let scope = ctx.scope();
        let read = || async { self.store.get_authority(&scope).await.map_err(store_error) };
        if let Some(stored) = read().await? {
            return Ok(stored);
        }
        let _creating = self.authority_creation.lock().await;
        if let Some(stored) = read().await? {
            return Ok(stored);
        }
        let pair = generate_pair(AsymmetricAlgorithm::Rsa4096).await?;
        let now = ctx.now.as_millis() / 1000;
        let certificate = paycrypt_pki::create_ca(
            &pair,
            &subject(ctx, "paycrypt account certificate authority"),
            ValidityPeriod {
                not_before: now - HOUR_SECS,
                not_after: now + CA_VALIDITY_SECS,
            },
            random_serial(),
        )
        .map_err(|e| internal("The account certificate authority could not be created", e))?;
        let record = AuthorityRecord {
            certificate,
            sealed_private_key: self
                .sealer
                .seal(&authority_aad(ctx), pair.private_pkcs8_der.expose()),
        };
        let stored = self
            .store
            .init_authority(&scope, &record)
            .await
            .map_err(store_error)?;
        tracing::info!(account = %ctx.account, region = %ctx.region, "account certificate authority created");
        Ok(stored)
    }

    /// The CA of the caller's account and region, as `stored`, opened for issuing.
    fn open_authority(
        &self,
        ctx: &Context,
        stored: AuthorityRecord,
    ) -> Result<Authority, ApiError> {
        let private_key = self
            .sealer
            .open(&authority_aad(ctx), &stored.sealed_private_key)
            .map_err(|e| internal("The account certificate authority could not be opened", e))?;
        Ok(Authority {
            certificate: stored.certificate,
            private_key,
        })
    }

    /// Issues a certificate from the account CA (as stored: `authority`) for `public_spki_der`,
    /// valid until `not_after_secs` (capped at the CA's own validity).
    pub(crate) async fn issue_certificate(
        &self,
        ctx: &Context,
        authority: AuthorityRecord,
        public_spki_der: &[u8],
        common_name: &str,
        not_after_secs: i64,
        usage: paycrypt_pki::LeafUsage,
    ) -> Result<(Vec<u8>, Vec<u8>), ApiError> {
        let authority = self.open_authority(ctx, authority)?;
        let (public_spki_der, subject) = (public_spki_der.to_vec(), subject(ctx, common_name));
        let now_secs = ctx.now.as_millis() / 1000;
        // An RSA-4096 signature takes milliseconds: it runs off the async runtime.
        tokio::task::spawn_blocking(move || {
            let leaf = sign_leaf(
                &authority,
                &public_spki_der,
                &subject,
                now_secs,
                not_after_secs,
                usage,
            )?;
            Ok((leaf, authority.certificate))
        })
        .await
        .map_err(|e| internal("Certificate issuing stopped", e))?
    }

    /// How the key pool's thread makes tokens of `kind` ready for the caller's account and
    /// region: with a certificate from `authority` (whose private key stays sealed until each
    /// signature), valid for the token policy's period plus the pool's margin from the time it is
    /// issued for (see `key_pool`).
    fn token_issuer(&self, ctx: &Context, kind: &str, authority: AuthorityRecord) -> Issuer {
        let (sealer, aad) = (self.sealer.clone(), authority_aad(ctx));
        let (ctx, kind) = (ctx.clone(), kind.to_string());
        let lifetime_ms = self.token_policy.validity_millis + key_pool::MARGIN_MS;
        Arc::new(move |public_spki_der: &[u8], issued_ms: i64| {
            let private_key = sealer
                .open(&aad, &authority.sealed_private_key)
                .map_err(|e| e.to_string())?;
            let opened = Authority {
                certificate: authority.certificate.clone(),
                private_key,
            };
            let token = new_token_name(&kind);
            let certificate = sign_leaf(
                &opened,
                public_spki_der,
                &subject(&ctx, &format!("paycrypt {kind} {token}")),
                issued_ms / 1000,
                (issued_ms + lifetime_ms) / 1000,
                token_usage(&kind),
            )
            .map_err(|e| e.message)?;
            Ok((token, certificate))
        })
    }

    /// Stores a new token with a fresh key pair and its certificate.
    pub(crate) async fn issue_token(
        &self,
        ctx: &Context,
        authority: &AuthorityRecord,
        kind: &str,
        material_type: &str,
        algorithm: KeyAlgorithm,
        expires: Timestamp,
    ) -> Result<TokenRecord, ApiError> {
        // An RSA-2048 token made ready by the key pool, if one is (only RSA-2048 is pooled).
        let ready = match algorithm {
            KeyAlgorithm::Rsa2048 => {
                let shelf = ShelfKey {
                    scope: ctx.scope(),
                    kind: kind.to_string(),
                };
                self.key_pool.take_ready(&shelf, ctx.now.as_millis(), || {
                    self.token_issuer(ctx, kind, authority.clone())
                })
            }
            _ => None,
        };
        let (token, pair, certificate) = match ready {
            Some(ready) => (ready.token, ready.pair, ready.certificate),
            None => {
                let pair = match algorithm {
                    KeyAlgorithm::Rsa2048 => self.key_pool.take(),
                    _ => None,
                };
                let pair = match pair {
                    Some(pair) => pair,
                    None => generate_pair(asymmetric(algorithm)?).await?,
                };
                let token = new_token_name(kind);
                let (certificate, _) = self
                    .issue_certificate(
                        ctx,
                        authority.clone(),
                        &pair.public_spki_der,
                        &format!("paycrypt {kind} {token}"),
                        seconds_covering(expires.as_millis()),
                        token_usage(kind),
                    )
                    .await?;
                (token, pair, certificate)
            }
        };
        let record = TokenRecord {
            sealed_private_key: self
                .sealer
                .seal(&token_aad(ctx, &token), pair.private_pkcs8_der.expose()),
            token,
            kind: kind.to_string(),
            material_type: material_type.to_string(),
            algorithm: algorithm.as_str().to_string(),
            certificate,
            created_ms: ctx.now.as_millis(),
            expires_ms: expires.as_millis(),
        };
        self.store
            .insert_token(&ctx.scope(), &record)
            .await
            .map_err(store_error)?;
        Ok(record)
    }

    /// A token of this account and region, unexpired, of the kind and material type expected.
    pub(crate) async fn open_token(
        &self,
        ctx: &Context,
        token: &str,
        kind: &str,
        material_type: &str,
    ) -> Result<OpenedToken, ApiError> {
        let record = self
            .store
            .get_token(&ctx.scope(), token)
            .await
            .map_err(store_error)?
            .filter(|r| r.kind == kind)
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "{} {token} is not valid in this account and region.",
                    token_name(kind)
                ))
            })?;
        // The model documents it: tokens expire (after 30 days at AWS; configurable here).
        if record.expires_ms <= ctx.now.as_millis() {
            return Err(ApiError::validation(format!(
                "{} {token} has expired; call GetParametersFor{} for a new one.",
                token_name(kind),
                if kind == "export" { "Export" } else { "Import" }
            )));
        }
        if record.material_type != material_type {
            return Err(ApiError::validation(format!(
                "{} {token} was issued for {}, not {material_type}.",
                token_name(kind),
                record.material_type
            )));
        }
        let private_key = self
            .sealer
            .open(&token_aad(ctx, token), &record.sealed_private_key)
            .map_err(|e| internal("The token could not be opened", e))?;
        Ok(OpenedToken {
            record,
            private_key,
        })
    }

    /// The certificate (DER) and private key of a TR-34 party on paycrypt's side: a token from
    /// GetParametersForExport/Import, or one of the account's RSA key pairs with a certificate
    /// the caller gives for it.
    pub(crate) async fn tr34_party(
        &self,
        ctx: &Context,
        role: Tr34Role,
        token: Option<String>,
        key_identifier: Option<String>,
        certificate: Option<String>,
    ) -> Result<(Vec<u8>, SecretBytes), ApiError> {
        let (kind, token_member, identifier_member, certificate_member, mode) = match role {
            Tr34Role::Signer => (
                "export",
                "ExportToken",
                "SigningKeyIdentifier",
                "SigningKeyCertificate",
                "Sign",
            ),
            Tr34Role::Receiver => (
                "import",
                "ImportToken",
                "WrappingKeyIdentifier",
                "WrappingKeyCertificate",
                "Unwrap",
            ),
        };
        // SDKs send an empty token when none is set.
        match (token.filter(|t| !t.is_empty()), key_identifier, certificate) {
            (Some(token), None, None) => {
                let opened = self.open_token(ctx, &token, kind, "TR34_KEY_BLOCK").await?;
                Ok((opened.record.certificate, opened.private_key))
            }
            (None, Some(identifier), Some(certificate)) => {
                self.key_pair_with_certificate(
                    ctx,
                    &identifier,
                    &certificate,
                    certificate_member,
                    mode,
                )
                .await
            }
            _ => Err(ApiError::validation(format!(
                "Give either {token_member} or {identifier_member} with {certificate_member}."
            ))),
        }
    }

    /// An RSA key pair of the account named by `identifier`, allowed `mode` (`Sign` or `Unwrap`),
    /// with a caller-given certificate (`member`) for its public key: the certificate DER and the
    /// opened private key.
    async fn key_pair_with_certificate(
        &self,
        ctx: &Context,
        identifier: &str,
        certificate_wire: &str,
        member: &str,
        mode: &str,
    ) -> Result<(Vec<u8>, SecretBytes), ApiError> {
        let key = self.resolve_key(ctx, identifier).await?;
        key.require_usable()?;
        let k = &key.doc.key;
        let modes = crate::attributes::modes_set(&k.key_attributes.key_modes_of_use);
        let is_rsa_pair = k.key_attributes.key_class == paycrypt_api::KeyClass::AsymmetricKeyPair
            && algorithm_letter(k.key_attributes.key_algorithm) == 'R';
        if !is_rsa_pair || !modes.contains(&mode) {
            return Err(ApiError::validation(format!(
                "Key {} must be an RSA key pair allowed to {mode}.",
                k.key_arn
            )));
        }
        let der = paycrypt_pki::from_wire(certificate_wire).map_err(|e| {
            ApiError::validation(format!("{member} is not a valid certificate: {e}"))
        })?;
        let certificate = Certificate::parse(&der).map_err(|e| {
            ApiError::validation(format!("{member} is not a valid certificate: {e}"))
        })?;
        let public_key = key
            .doc
            .public_key
            .as_deref()
            .and_then(|h| hex::decode(h).ok());
        // paycrypt's own rule, kept for security: the certificate handed over with a key pair
        // must be that key's and current, or the other side would trust another key.
        if public_key.as_deref() != Some(certificate.public_key_spki_der()) {
            return Err(ApiError::validation(format!(
                "{member} is not a certificate for the public key of {}.",
                k.key_arn
            )));
        }
        if !certificate.is_valid_at(ctx.now.as_millis() / 1000) {
            return Err(ApiError::validation(format!(
                "{member} is expired or not yet valid."
            )));
        }
        Ok((der, self.open_material(&key)?))
    }

    /// The clear key block protection key of a TR-31 key encryption key and its algorithm: a
    /// usable K0 or K1 key allowed to `direction` (`wrap` or `unwrap`).
    pub(crate) fn open_tr31_kbpk(
        &self,
        kek: &LoadedKey,
        direction: &str,
    ) -> Result<(SecretBytes, KeyAlgorithm), ApiError> {
        kek.require_usable()?;
        let attrs = &kek.doc.key.key_attributes;
        let modes = &attrs.key_modes_of_use;
        let allowed = if direction == "wrap" {
            modes.wrap
        } else {
            modes.unwrap
        };
        // AWS documents it (ImportKey, ExportKey): TR-31 needs a KEK, a key allowed to wrap or
        // unwrap keys; a key of another usage is never used to carry keys (security).
        if !matches!(
            attrs.key_usage,
            KeyUsage::Tr31K0KeyEncryptionKey | KeyUsage::Tr31K1KeyBlockProtectionKey
        ) || !(allowed || modes.no_restrictions)
        {
            return Err(ApiError::validation(format!(
                "Key {} cannot {direction} keys: a TR-31 wrapping key must be a K0 or K1 key allowed to {direction}.",
                kek.doc.key.key_arn
            )));
        }
        Ok((self.open_material(kek)?, attrs.key_algorithm))
    }

    /// The certificate of an imported public key (a root or trusted certificate) named by
    /// `identifier`, usable as a certificate authority.
    pub(crate) async fn certificate_authority_key(
        &self,
        ctx: &Context,
        identifier: &str,
    ) -> Result<(LoadedKey, Certificate), ApiError> {
        let key = self.resolve_key(ctx, identifier).await?;
        key.require_usable()?;
        let certificate = key
            .doc
            .certificate
            .as_deref()
            .and_then(|hex_der| hex::decode(hex_der).ok())
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "Key {} is not an imported public key certificate.",
                    key.doc.key.key_arn
                ))
            })?;
        let parsed = Certificate::parse(&certificate)
            .map_err(|e| internal("A stored certificate is unreadable", e))?;
        if !parsed.is_ca() {
            return Err(ApiError::validation(format!(
                "Key {} is not a certificate authority.",
                key.doc.key.key_arn
            )));
        }
        Ok((key, parsed))
    }
}

/// Parses a caller's certificate (base64 of PEM) and checks it chains to `ca` at `now`.
pub(crate) fn chained_certificate(
    wire: &str,
    member: &str,
    ca: &Certificate,
    now: Timestamp,
) -> Result<Certificate, ApiError> {
    let der = paycrypt_pki::from_wire(wire)
        .map_err(|e| ApiError::validation(format!("{member} is not a valid certificate: {e}")))?;
    let certificate = Certificate::parse(&der)
        .map_err(|e| ApiError::validation(format!("{member} is not a valid certificate: {e}")))?;
    paycrypt_pki::validate_chain(&certificate, &[], ca, now.as_millis() / 1000).map_err(|e| {
        ApiError::validation(format!(
            "{member} does not chain to the given certificate authority: {e}"
        ))
    })?;
    Ok(certificate)
}

fn token_name(kind: &str) -> &'static str {
    if kind == "export" {
        "ExportToken"
    } else {
        "ImportToken"
    }
}

pub(crate) fn asymmetric(algorithm: KeyAlgorithm) -> Result<AsymmetricAlgorithm, ApiError> {
    match crate::attributes::material(algorithm) {
        crate::attributes::Material::Asymmetric(a) => Ok(a),
        crate::attributes::Material::Symmetric(_) => Err(ApiError::validation(format!(
            "{} is not an asymmetric algorithm.",
            algorithm.as_str()
        ))),
    }
}

/// Security strength in bits (NIST SP 800-57 part 1, table 2) used for the rule that a wrapping
/// key is at least as strong as the key it wraps.
pub(crate) fn strength(algorithm: KeyAlgorithm) -> u32 {
    match algorithm.as_str() {
        "TDES_2KEY" => 80,
        "TDES_3KEY" | "RSA_2048" | "HMAC_SHA224" => 112,
        "AES_128" | "RSA_3072" | "HMAC_SHA256" | "ECC_NIST_P256" => 128,
        "RSA_4096" => 152,
        "AES_192" | "HMAC_SHA384" | "ECC_NIST_P384" => 192,
        _ => 256,
    }
}

/// The security strength of an RSA certificate's key. Below 2048 bits is refused: paycrypt's own
/// rule, kept for security (PCI allows no weaker RSA for key transport).
pub(crate) fn rsa_strength(certificate: &Certificate) -> Result<u32, ApiError> {
    match certificate.public_key_algorithm() {
        paycrypt_pki::KeyAlgorithm::Rsa { bits } if *bits >= 4096 => Ok(152),
        paycrypt_pki::KeyAlgorithm::Rsa { bits } if *bits >= 3072 => Ok(128),
        paycrypt_pki::KeyAlgorithm::Rsa { bits } if *bits >= 2048 => Ok(112),
        _ => Err(ApiError::validation(
            "The wrapping certificate must hold an RSA key of at least 2048 bits.",
        )),
    }
}

/// The two-character TR-31 key usage of a key usage (`TR31_K0_...` -> `K0`).
pub(crate) fn usage_code(usage: KeyUsage) -> &'static str {
    usage.as_str().get(5..7).unwrap_or("")
}

pub(crate) fn usage_from_code(code: &str) -> Option<KeyUsage> {
    KeyUsage::ALL
        .iter()
        .copied()
        .find(|u| usage_code(*u) == code)
}

/// The TR-31 algorithm letter of a key algorithm.
pub(crate) fn algorithm_letter(algorithm: KeyAlgorithm) -> char {
    match algorithm.as_str().split('_').next().unwrap_or("") {
        "TDES" => 'T',
        "AES" => 'A',
        "HMAC" => 'H',
        "RSA" => 'R',
        _ => 'E',
    }
}

/// The key algorithm a header letter and clear key length describe.
pub(crate) fn algorithm_from_letter(letter: char, key_len: usize) -> Option<KeyAlgorithm> {
    let name = match (letter, key_len) {
        ('T', 16) => "TDES_2KEY",
        ('T', 24) => "TDES_3KEY",
        ('A', 16) => "AES_128",
        ('A', 24) => "AES_192",
        ('A', 32) => "AES_256",
        ('H', 28) => "HMAC_SHA224",
        ('H', 32) => "HMAC_SHA256",
        ('H', 48) => "HMAC_SHA384",
        ('H', 64) => "HMAC_SHA512",
        _ => return None,
    };
    KeyAlgorithm::ALL
        .iter()
        .copied()
        .find(|a| a.as_str() == name)
}

/// Modes of use and their TR-31 mode letters.
const MODE_LETTERS: &[(&[&str], char)] = &[
    (&["Encrypt", "Decrypt", "Wrap", "Unwrap"], 'B'),
    (&["Encrypt", "Wrap"], 'E'),
    (&["Decrypt", "Unwrap"], 'D'),
    (&["Generate", "Verify"], 'C'),
    (&["Generate"], 'G'),
    (&["Verify"], 'V'),
    (&["Sign"], 'S'),
    (&["DeriveKey"], 'X'),
    (&["NoRestrictions"], 'N'),
];

pub(crate) fn mode_letter(modes: &KeyModesOfUse) -> Option<char> {
    let set = crate::attributes::modes_set(modes);
    MODE_LETTERS
        .iter()
        .find(|(names, _)| *names == set.as_slice())
        .map(|(_, letter)| *letter)
}

pub(crate) fn modes_from_letter(letter: char) -> Option<KeyModesOfUse> {
    let (names, _) = MODE_LETTERS.iter().find(|(_, l)| *l == letter)?;
    let on = |n: &str| names.contains(&n);
    Some(KeyModesOfUse {
        encrypt: on("Encrypt"),
        decrypt: on("Decrypt"),
        wrap: on("Wrap"),
        unwrap: on("Unwrap"),
        generate: on("Generate"),
        sign: on("Sign"),
        verify: on("Verify"),
        derive_key: on("DeriveKey"),
        no_restrictions: on("NoRestrictions"),
    })
}

/// Key attributes from the fields of a key block header and the clear key's length, refused
/// unless CreateKey would accept them.
pub(crate) fn attributes_from_header(
    usage: &str,
    algorithm: char,
    mode: char,
    key_len: usize,
) -> Result<KeyAttributes, ApiError> {
    let key_usage = usage_from_code(usage).ok_or_else(|| {
        ApiError::validation(format!(
            "Key usage {usage} in the key block is not supported."
        ))
    })?;
    let key_algorithm = algorithm_from_letter(algorithm, key_len).ok_or_else(|| {
        ApiError::validation(format!(
            "Algorithm {algorithm} with a {key_len}-byte key in the key block is not supported."
        ))
    })?;
    let key_modes_of_use = modes_from_letter(mode).ok_or_else(|| {
        ApiError::validation(format!(
            "Mode of use {mode} in the key block is not supported."
        ))
    })?;
    let attributes = KeyAttributes {
        key_usage,
        key_class: paycrypt_api::KeyClass::SymmetricKey,
        key_algorithm,
        key_modes_of_use,
    };
    // An imported key obeys the same attribute table as a created one.
    crate::attributes::check_create(&attributes)?;
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_certificate_ends_no_earlier_than_its_token() {
        assert_eq!(seconds_covering(1_700_000_000_000), 1_700_000_000);
        assert_eq!(seconds_covering(1_700_000_000_001), 1_700_000_001);
        assert_eq!(seconds_covering(1_700_000_000_999), 1_700_000_001);
        assert_eq!(seconds_covering(-1), 0);
    }
}
