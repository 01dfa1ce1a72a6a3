//! ExportKey: a key leaves paycrypt as a TR-34 block signed with an export token's key (paycrypt
//! is the KDH), as a TR-31 block under a key encryption key, or as an RSA-OAEP key cryptogram;
//! optionally as the DUKPT initial key of a base derivation key instead of the key itself.

use paycrypt_api::{
    ApiError, ExportKeyInput, ExportKeyMaterial, ExportKeyOutput, KeyAlgorithm, KeyBlockHeaders,
    KeyCheckValueAlgorithm, KeyExportability, WrappedKey, WrappedKeyMaterialFormat,
    WrappingKeySpec,
};
use paycrypt_keyblock::tr31::{self, Exportability, Header, KeyVersion, OptionalBlock};
use paycrypt_keyblock::tr34::{self, ContentCipher, Freshness, SigningTime};
use paycrypt_keyblock::{SecretBytes, SystemRng, cryptogram, dukpt};

use super::agreement::agreement_of;
use super::{
    Tr34Role, algorithm_letter, chained_certificate, internal, mode_letter, modes_from_letter,
    rsa_strength, strength, usage_code,
};
use crate::attributes::{self, Material};
use crate::keys::{LoadedKey, check_value};
use crate::{Context, Service};

/// The key to export, opened: its attributes and clear bytes (possibly a derived DUKPT IPEK).
struct ClearKey {
    algorithm: KeyAlgorithm,
    usage_code: String,
    mode: char,
    exportable: bool,
    secret: SecretBytes,
}

/// The TR-31 style header fields after KeyBlockHeaders have tightened them.
struct HeaderFields {
    usage: String,
    algorithm: char,
    mode: char,
    version: String,
    exportability: char,
    optional_blocks: Vec<(String, String)>,
}

/// The key block header of an export: the key's own, tightened by `headers`. Loosening is refused:
/// the model says KeyExportability "can be used to further restrict exportability", and a header
/// that granted more modes or exportability than the key has would be a way around them
/// (paycrypt's own rule for modes, kept for security).
fn tighten(key: &ClearKey, headers: Option<&KeyBlockHeaders>) -> Result<HeaderFields, ApiError> {
    let mut fields = HeaderFields {
        usage: key.usage_code.clone(),
        algorithm: algorithm_letter(key.algorithm),
        mode: key.mode,
        version: "00".into(),
        exportability: if key.exportable { 'E' } else { 'N' },
        optional_blocks: Vec::new(),
    };
    let Some(headers) = headers else {
        return Ok(fields);
    };
    if let Some(modes) = &headers.key_modes_of_use {
        let wanted = mode_letter(modes).ok_or_else(|| {
            ApiError::validation("KeyBlockHeaders.KeyModesOfUse is not a valid set of modes.")
        })?;
        let stored = modes_from_letter(key.mode).map(|m| attributes::modes_set(&m));
        let wanted_set = modes_from_letter(wanted).map(|m| attributes::modes_set(&m));
        let tighter = match (stored, wanted_set) {
            (Some(stored), Some(wanted_set)) => {
                stored == ["NoRestrictions"] || wanted_set.iter().all(|m| stored.contains(m))
            }
            _ => false,
        };
        if !tighter {
            return Err(ApiError::validation(
                "KeyBlockHeaders.KeyModesOfUse may only restrict the key's modes of use.",
            ));
        }
        fields.mode = wanted;
    }
    if let Some(exportability) = headers.key_exportability {
        fields.exportability = match exportability {
            KeyExportability::NonExportable => 'N',
            KeyExportability::Exportable if key.exportable => 'E',
            _ => {
                return Err(ApiError::validation(format!(
                    "KeyBlockHeaders.KeyExportability {} would make the exported key less restricted than the stored one.",
                    exportability.as_str()
                )));
            }
        };
    }
    if let Some(version) = &headers.key_version {
        fields.version = version.clone();
    }
    if let Some(blocks) = &headers.optional_blocks {
        fields.optional_blocks = blocks.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    Ok(fields)
}

fn tr31_header(version: tr31::Version, fields: &HeaderFields) -> Result<Header, ApiError> {
    let bad = |e: paycrypt_keyblock::Error| {
        ApiError::validation(format!("The key block header is not valid: {e}"))
    };
    let mut header = Header::new(
        version,
        tr31::KeyUsage::new(&fields.usage).map_err(bad)?,
        tr31::Algorithm::from_char(fields.algorithm).map_err(bad)?,
        tr31::ModeOfUse::from_char(fields.mode).map_err(bad)?,
        Exportability::from_char(fields.exportability).map_err(bad)?,
    );
    header.key_version = KeyVersion::new(&fields.version).map_err(bad)?;
    header.optional_blocks = fields
        .optional_blocks
        .iter()
        .map(|(id, data)| OptionalBlock::new(id, data.clone()))
        .collect::<Result<_, _>>()
        .map_err(bad)?;
    Ok(header)
}

/// The TR-34 key block header AWS writes: version `D` and length `0112` whatever the key.
fn tr34_header(fields: &HeaderFields) -> String {
    format!(
        "D0112{}{}{}{}{}0000",
        fields.usage, fields.algorithm, fields.mode, fields.version, fields.exportability
    )
}

fn kcv_of(
    algorithm: KeyAlgorithm,
    requested: Option<KeyCheckValueAlgorithm>,
    secret: &SecretBytes,
) -> Result<(String, KeyCheckValueAlgorithm), ApiError> {
    let kcv_algorithm = requested.unwrap_or_else(|| attributes::default_kcv_algorithm(algorithm));
    let method = attributes::kcv_method(algorithm, kcv_algorithm)?;
    Ok((check_value(method, secret, None)?, kcv_algorithm))
}

/// The model documents it (ExportKey, ImportKey): "wrapping keys used for transport must be at
/// least as strong as the key being protected" (PCI).
fn require_wrap_strength(wrapping: u32, key: KeyAlgorithm) -> Result<(), ApiError> {
    if wrapping < strength(key) {
        return Err(ApiError::validation(format!(
            "The wrapping key is weaker than the {} key it would wrap.",
            key.as_str()
        )));
    }
    Ok(())
}

impl Service {
    /// Opens the key ExportKey names, after the checks that keep keys safe.
    fn exportable_clear_key(&self, key: &LoadedKey) -> Result<ClearKey, ApiError> {
        key.require_usable()?;
        let k = &key.doc.key;
        if !k.exportable {
            return Err(ApiError::validation(format!(
                "Key {} is not exportable.",
                k.key_arn
            )));
        }
        // AWS documents it: ExportKey exports symmetric keys; a key pair's public half leaves
        // through GetPublicKeyCertificate, its private half never.
        if !matches!(
            attributes::material(k.key_attributes.key_algorithm),
            Material::Symmetric(_)
        ) {
            return Err(ApiError::validation(format!(
                "Key {} is a key pair; ExportKey exports symmetric keys.",
                k.key_arn
            )));
        }
        let mode = mode_letter(&k.key_attributes.key_modes_of_use).ok_or_else(|| {
            ApiError::validation("The key's modes of use have no TR-31 equivalent.")
        })?;
        Ok(ClearKey {
            algorithm: k.key_attributes.key_algorithm,
            usage_code: usage_code(k.key_attributes.key_usage).to_string(),
            mode,
            exportable: k.exportable,
            secret: self.open_material(key)?,
        })
    }

    pub(crate) async fn export_key(
        &self,
        ctx: &Context,
        input: ExportKeyInput,
    ) -> Result<ExportKeyOutput, ApiError> {
        let key = self.resolve_key(ctx, &input.export_key_identifier).await?;
        let mut clear = self.exportable_clear_key(&key)?;
        let attributes = input.export_attributes.unwrap_or_default();
        if let Some(initial) = attributes.export_dukpt_initial_key {
            clear = dukpt_initial_key(clear, &initial.key_serial_number)?;
        }
        let (kcv, kcv_algorithm) = kcv_of(
            clear.algorithm,
            attributes.key_check_value_algorithm,
            &clear.secret,
        )?;
        let (wrapping_key_arn, format, material) = match input.key_material {
            ExportKeyMaterial::Tr31KeyBlock(tr31_input) => {
                let kek = self
                    .resolve_key(ctx, &tr31_input.wrapping_key_identifier)
                    .await?;
                let block = self.wrap_tr31(&kek, &clear, tr31_input.key_block_headers.as_ref())?;
                (
                    kek.doc.key.key_arn,
                    WrappedKeyMaterialFormat::Tr31KeyBlock,
                    block,
                )
            }
            ExportKeyMaterial::Tr34KeyBlock(tr34_input) => {
                let (ca_key, ca) = self
                    .certificate_authority_key(
                        ctx,
                        &tr34_input.certificate_authority_public_key_identifier,
                    )
                    .await?;
                let krd = chained_certificate(
                    &tr34_input.wrapping_key_certificate,
                    "WrappingKeyCertificate",
                    &ca,
                    ctx.now,
                )?;
                require_wrap_strength(rsa_strength(&krd)?, clear.algorithm)?;
                let (kdh_certificate, kdh_private_key) = self
                    .tr34_party(
                        ctx,
                        Tr34Role::Signer,
                        tr34_input.export_token,
                        tr34_input.signing_key_identifier,
                        tr34_input.signing_key_certificate,
                    )
                    .await?;
                let fields = tighten(&clear, tr34_input.key_block_headers.as_ref())?;
                let freshness = match tr34_input.random_nonce {
                    Some(nonce) => {
                        Freshness::RandomNonce(hex::decode(&nonce).map_err(|_| {
                            ApiError::validation("RandomNonce must be hexadecimal.")
                        })?)
                    }
                    None => Freshness::SigningTime(
                        SigningTime::from_unix_seconds(
                            u64::try_from(ctx.now.as_millis() / 1000).unwrap_or(0),
                        )
                        .map_err(|e| internal("The signing time is out of range", e))?,
                    ),
                };
                let content_cipher = if algorithm_letter(clear.algorithm) == 'A' {
                    ContentCipher::Aes128
                } else {
                    ContentCipher::Tdes
                };
                let block = tr34::build(
                    &tr34::BuildParams {
                        key: clear.secret.expose(),
                        header: &tr34_header(&fields),
                        kdh_certificate_der: &kdh_certificate,
                        kdh_private_pkcs8_der: kdh_private_key.expose(),
                        krd_certificate_der: krd.der(),
                        content_cipher,
                        freshness,
                    },
                    &mut SystemRng,
                )
                .map_err(|e| {
                    ApiError::validation(format!("The TR-34 key block could not be built: {e}"))
                })?;
                (
                    ca_key.doc.key.key_arn,
                    WrappedKeyMaterialFormat::Tr34KeyBlock,
                    hex::encode_upper(block),
                )
            }
            ExportKeyMaterial::KeyCryptogram(cryptogram_input) => {
                let (ca_key, ca) = self
                    .certificate_authority_key(
                        ctx,
                        &cryptogram_input.certificate_authority_public_key_identifier,
                    )
                    .await?;
                let recipient = chained_certificate(
                    &cryptogram_input.wrapping_key_certificate,
                    "WrappingKeyCertificate",
                    &ca,
                    ctx.now,
                )?;
                require_wrap_strength(rsa_strength(&recipient)?, clear.algorithm)?;
                let hash = oaep_hash(cryptogram_input.wrapping_spec);
                let wrapped = cryptogram::wrap_key(
                    recipient.public_key_spki_der(),
                    hash,
                    clear.secret.expose(),
                )
                .map_err(|e| {
                    ApiError::validation(format!("The key cryptogram could not be made: {e}"))
                })?;
                (
                    ca_key.doc.key.key_arn,
                    WrappedKeyMaterialFormat::KeyCryptogram,
                    hex::encode_upper(wrapped),
                )
            }
            ExportKeyMaterial::DiffieHellmanTr31KeyBlock(dh) => {
                let derived = self.derive_agreed_key(ctx, agreement_of!(dh)).await?;
                let block = wrap_tr31_with(
                    &derived.key,
                    derived.algorithm,
                    &clear,
                    dh.key_block_headers.as_ref(),
                )?;
                let private = self.resolve_key(ctx, &dh.private_key_identifier).await?;
                (
                    private.doc.key.key_arn,
                    WrappedKeyMaterialFormat::Tr31KeyBlock,
                    block,
                )
            }
            ExportKeyMaterial::As2805KeyCryptogram(as2805_input) => {
                let kek = self
                    .resolve_key(ctx, &as2805_input.wrapping_key_identifier)
                    .await?;
                let cryptogram = self.export_as2805(
                    &kek,
                    (&clear.secret, clear.algorithm, &clear.usage_code),
                    as2805_input.as2805_key_variant,
                )?;
                (
                    kek.doc.key.key_arn,
                    WrappedKeyMaterialFormat::KeyCryptogram,
                    cryptogram,
                )
            }
        };
        tracing::info!(key_arn = %key.doc.key.key_arn, format = format.as_str(), "key exported");
        Ok(ExportKeyOutput {
            wrapped_key: Some(WrappedKey {
                wrapping_key_arn,
                wrapped_key_material_format: format,
                key_material: material,
                key_check_value: Some(kcv),
                key_check_value_algorithm: Some(kcv_algorithm),
            }),
        })
    }

    fn wrap_tr31(
        &self,
        kek: &LoadedKey,
        clear: &ClearKey,
        headers: Option<&KeyBlockHeaders>,
    ) -> Result<String, ApiError> {
        let (kbpk, algorithm) = self.open_tr31_kbpk(kek, "wrap")?;
        wrap_tr31_with(&kbpk, algorithm, clear, headers)
    }
}

/// Wraps `clear` in a TR-31 block under a key block protection key of `kbpk_algorithm`:
/// version B under TDES, D under AES.
fn wrap_tr31_with(
    kbpk: &SecretBytes,
    kbpk_algorithm: KeyAlgorithm,
    clear: &ClearKey,
    headers: Option<&KeyBlockHeaders>,
) -> Result<String, ApiError> {
    {
        require_wrap_strength(strength(kbpk_algorithm), clear.algorithm)?;
        let version = match algorithm_letter(kbpk_algorithm) {
            'T' => tr31::Version::B,
            _ => tr31::Version::D,
        };
        let header = tr31_header(version, &tighten(clear, headers)?)?;
        tr31::wrap(
            kbpk.expose(),
            &header,
            clear.secret.expose(),
            tr31::WrapOptions {
                mask_key_length: true,
            },
            &mut SystemRng,
        )
        .map_err(|e| ApiError::validation(format!("The TR-31 key block could not be built: {e}")))
    }
}

pub(crate) fn oaep_hash(spec: Option<WrappingKeySpec>) -> cryptogram::OaepHash {
    match spec {
        Some(WrappingKeySpec::RsaOaepSha512) => cryptogram::OaepHash::Sha512,
        _ => cryptogram::OaepHash::Sha256,
    }
}

/// The DUKPT initial key (IPEK) of a base derivation key for a key serial number: 20 hex
/// characters for TDES DUKPT (ANSI X9.24-1), 24 for AES DUKPT (ANSI X9.24-3, an initial key of the
/// BDK's own type and size).
fn dukpt_initial_key(bdk: ClearKey, ksn_hex: &str) -> Result<ClearKey, ApiError> {
    // The model documents it: an IPEK is generated from a BDK, with a KSN of 20 hex characters
    // for TDES or 24 for AES (ExportDukptInitialKey.KeySerialNumber).
    if bdk.usage_code != "B0" {
        return Err(ApiError::validation(
            "ExportDukptInitialKey needs a TR31_B0_BASE_DERIVATION_KEY.",
        ));
    }
    let ksn = hex::decode(ksn_hex)
        .map_err(|_| ApiError::validation("KeySerialNumber must be hexadecimal."))?;
    let derived = match (algorithm_letter(bdk.algorithm), ksn.len()) {
        ('T', 10) => {
            let ksn: [u8; 10] = ksn.try_into().unwrap_or([0; 10]);
            dukpt::tdes_ipek(bdk.secret.expose(), &ksn)
        }
        ('A', 12) => {
            let initial_key_id: [u8; 8] = ksn[..8].try_into().unwrap_or([0; 8]);
            let key_type = match bdk.algorithm {
                KeyAlgorithm::Aes128 => dukpt::KeyType::Aes128,
                KeyAlgorithm::Aes192 => dukpt::KeyType::Aes192,
                _ => dukpt::KeyType::Aes256,
            };
            dukpt::aes_initial_key(bdk.secret.expose(), key_type, &initial_key_id)
        }
        _ => {
            return Err(ApiError::validation(
                "KeySerialNumber must be 20 hex characters for a TDES BDK or 24 for an AES BDK.",
            ));
        }
    }
    .map_err(|e| {
        ApiError::validation(format!("The DUKPT initial key could not be derived: {e}"))
    })?;
    let algorithm = if bdk.algorithm == KeyAlgorithm::Tdes3Key {
        // X9.24-1 IPEKs are double-length TDES keys, whatever the BDK's length.
        KeyAlgorithm::Tdes2Key
    } else {
        bdk.algorithm
    };
    Ok(ClearKey {
        algorithm,
        usage_code: "B1".into(),
        mode: 'X',
        exportable: bdk.exportable,
        secret: derived,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tr34_header_has_the_aws_shape() {
        let fields = HeaderFields {
            usage: "K0".into(),
            algorithm: 'T',
            mode: 'B',
            version: "00".into(),
            exportability: 'E',
            optional_blocks: vec![],
        };
        assert_eq!(tr34_header(&fields), "D0112K0TB00E0000");
    }
}
