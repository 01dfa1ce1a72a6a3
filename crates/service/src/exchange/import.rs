//! ImportKey: root and trusted public key certificates, TR-31 blocks under a key encryption key,
//! TR-34 blocks encrypted to an import token's certificate (paycrypt is the KRD), and RSA-OAEP
//! key cryptograms. Imported keys have KeyOrigin EXTERNAL and a key check value computed here.

use paycrypt_api::{
    ApiError, ImportKeyInput, ImportKeyMaterial, ImportKeyOutput, Key, KeyAttributes, KeyClass,
    KeyOrigin, KeyUsage,
};
use paycrypt_keyblock::{SecretBytes, cryptogram, tr31, tr34};
use paycrypt_pki::Certificate;

use super::agreement::agreement_of;
use super::export::oaep_hash;
use super::{Tr34Role, attributes_from_header, chained_certificate, rsa_strength, strength};
use crate::attributes::{self, Material};
use crate::keys::{KeyDocument, LoadedKey, NewKey, check_value, new_key};
use crate::mpa::PendingApproval;
use crate::replication::CreationRegions;
use crate::{Context, Service, tags};

/// A key about to be stored by ImportKey.
struct Imported {
    attributes: KeyAttributes,
    exportable: bool,
    secret: Option<SecretBytes>,
    public_key: Option<Vec<u8>>,
    certificate: Option<Vec<u8>>,
}

fn invalid(member: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::validation(format!("{member} is not valid: {e}"))
}

/// Which public keys a certificate may be imported as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CertificateRole {
    /// A root CA: only a signature-verification key.
    Root,
    /// A certificate chained to an imported root: a signature-verification key, or the public
    /// half of an outside RSA key pair for data encryption.
    Trusted,
}

/// Attributes an imported certificate may carry.
fn check_certificate_attributes(
    attributes: &KeyAttributes,
    certificate: &Certificate,
    role: CertificateRole,
) -> Result<(), ApiError> {
    // AWS documents it (user guide, "Importing public key certificates", and the ImportKey CLI
    // examples): a certificate is imported as an S0 PUBLIC_KEY allowed only to Verify. The
    // EncryptData documentation adds the public half of an outside RSA key pair for asymmetric
    // encryption: a D1 PUBLIC_KEY, which can only encrypt (and wrap).
    let modes = attributes::modes_set(&attributes.key_modes_of_use);
    let verification = attributes.key_usage == KeyUsage::Tr31S0AsymmetricKeyForDigitalSignature
        && modes == ["Verify"];
    let encryption = role == CertificateRole::Trusted
        && attributes.key_usage == KeyUsage::Tr31D1AsymmetricKeyForDataEncryption
        && matches!(
            certificate.public_key_algorithm(),
            paycrypt_pki::KeyAlgorithm::Rsa { .. }
        )
        && (modes == ["Encrypt", "Wrap"] || modes == ["Encrypt"]);
    if attributes.key_class != KeyClass::PublicKey || !(verification || encryption) {
        return Err(ApiError::validation(match role {
            CertificateRole::Root => {
                "An imported root certificate must have KeyUsage TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE, KeyClass PUBLIC_KEY and KeyModesOfUse {Verify}."
            }
            CertificateRole::Trusted => {
                "An imported certificate must have KeyClass PUBLIC_KEY and either KeyUsage TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE with KeyModesOfUse {Verify}, or (an RSA key) TR31_D1_ASYMMETRIC_KEY_FOR_DATA_ENCRYPTION with {Encrypt, Wrap} or {Encrypt}."
            }
        }));
    }
    let matches = match (
        certificate.public_key_algorithm(),
        attributes.key_algorithm.as_str(),
    ) {
        (paycrypt_pki::KeyAlgorithm::Rsa { bits }, alg) => alg == format!("RSA_{bits}"),
        (paycrypt_pki::KeyAlgorithm::Ec { curve }, alg) => {
            let name = match curve {
                paycrypt_pki::EcCurve::P256 => "ECC_NIST_P256",
                paycrypt_pki::EcCurve::P384 => "ECC_NIST_P384",
                paycrypt_pki::EcCurve::P521 => "ECC_NIST_P521",
            };
            alg == name
        }
        _ => false,
    };
    // paycrypt's own rule, kept for security: a key's recorded algorithm is the one of its
    // material, which strength checks and signature verification rely on.
    if !matches {
        return Err(ApiError::validation(format!(
            "KeyAlgorithm {} does not match the certificate's public key.",
            attributes.key_algorithm.as_str()
        )));
    }
    Ok(())
}

fn parse_certificate(wire: &str, member: &str) -> Result<Certificate, ApiError> {
    let der = paycrypt_pki::from_wire(wire).map_err(|e| invalid(member, e))?;
    Certificate::parse(&der).map_err(|e| invalid(member, e))
}

impl Service {
    pub(crate) async fn import_key(
        &self,
        ctx: &Context,
        input: ImportKeyInput,
    ) -> Result<ImportKeyOutput, ApiError> {
        let tags = tags::checked_tags(input.tags.unwrap_or_default(), self.limits.max_tags)?;
        let replication = self
            .creation_regions(ctx, input.replication_regions)
            .await?;
        let approval = match &input.key_material {
            ImportKeyMaterial::RootCertificatePublicKey(_) => {
                self.import_approval(ctx, input.requester_comment).await?
            }
            _ => None,
        };
        let imported = match input.key_material {
            ImportKeyMaterial::RootCertificatePublicKey(root) => {
                let certificate =
                    parse_certificate(&root.public_key_certificate, "PublicKeyCertificate")?;
                check_certificate_attributes(
                    &root.key_attributes,
                    &certificate,
                    CertificateRole::Root,
                )?;
                paycrypt_pki::validate_root(&certificate, ctx.now.as_millis() / 1000)
                    .map_err(|e| invalid("PublicKeyCertificate", e))?;
                Imported {
                    attributes: root.key_attributes,
                    exportable: false,
                    secret: None,
                    public_key: Some(certificate.public_key_spki_der().to_vec()),
                    certificate: Some(certificate.der().to_vec()),
                }
            }
            ImportKeyMaterial::TrustedCertificatePublicKey(trusted) => {
                let (_, ca) = self
                    .certificate_authority_key(
                        ctx,
                        &trusted.certificate_authority_public_key_identifier,
                    )
                    .await?;
                let certificate = chained_certificate(
                    &trusted.public_key_certificate,
                    "PublicKeyCertificate",
                    &ca,
                    ctx.now,
                )?;
                check_certificate_attributes(
                    &trusted.key_attributes,
                    &certificate,
                    CertificateRole::Trusted,
                )?;
                Imported {
                    attributes: trusted.key_attributes,
                    exportable: false,
                    secret: None,
                    public_key: Some(certificate.public_key_spki_der().to_vec()),
                    certificate: Some(certificate.der().to_vec()),
                }
            }
            ImportKeyMaterial::Tr31KeyBlock(block) => {
                let kek = self
                    .resolve_key(ctx, &block.wrapping_key_identifier)
                    .await?;
                self.unwrap_tr31(&kek, &block.wrapped_key_block)?
            }
            ImportKeyMaterial::Tr34KeyBlock(block) => {
                let (_, ca) = self
                    .certificate_authority_key(
                        ctx,
                        &block.certificate_authority_public_key_identifier,
                    )
                    .await?;
                let kdh = chained_certificate(
                    &block.signing_key_certificate,
                    "SigningKeyCertificate",
                    &ca,
                    ctx.now,
                )?;
                let (krd_certificate, krd_private_key) = self
                    .tr34_party(
                        ctx,
                        Tr34Role::Receiver,
                        block.import_token,
                        block.wrapping_key_identifier,
                        block.wrapping_key_certificate,
                    )
                    .await?;
                let der = hex::decode(&block.wrapped_key_block)
                    .map_err(|_| ApiError::validation("WrappedKeyBlock must be hexadecimal."))?;
                let nonce = block
                    .random_nonce
                    .as_deref()
                    .map(hex::decode)
                    .transpose()
                    .map_err(|_| ApiError::validation("RandomNonce must be hexadecimal."))?;
                let opened = tr34::open(
                    &der,
                    &krd_certificate,
                    krd_private_key.expose(),
                    kdh.der(),
                    nonce.as_deref(),
                )
                .map_err(|e| {
                    ApiError::validation(format!("The TR-34 key block was refused: {e}"))
                })?;
                let header = opened.header.as_bytes();
                if header.len() < 16 {
                    return Err(ApiError::validation(
                        "The TR-34 key block header is too short.",
                    ));
                }
                let field = |range: std::ops::Range<usize>| {
                    String::from_utf8_lossy(&header[range]).into_owned()
                };
                let attributes = attributes_from_header(
                    &field(5..7),
                    char::from(header[7]),
                    char::from(header[8]),
                    opened.key.len(),
                )?;
                Imported {
                    attributes,
                    exportable: header[11] != b'N',
                    secret: Some(opened.key),
                    public_key: None,
                    certificate: None,
                }
            }
            ImportKeyMaterial::KeyCryptogram(wrapped) => {
                let krd = self
                    .open_token(ctx, &wrapped.import_token, "import", "KEY_CRYPTOGRAM")
                    .await?;
                let certificate = Certificate::parse(&krd.record.certificate)
                    .map_err(|e| super::internal("A token certificate is unreadable", e))?;
                let der = hex::decode(&wrapped.wrapped_key_cryptogram).map_err(|_| {
                    ApiError::validation("WrappedKeyCryptogram must be hexadecimal.")
                })?;
                let secret = cryptogram::unwrap_key(
                    krd.private_key.expose(),
                    oaep_hash(wrapped.wrapping_spec),
                    &der,
                )
                .map_err(|e| {
                    ApiError::validation(format!("The key cryptogram was refused: {e}"))
                })?;
                attributes::check_create(&wrapped.key_attributes)?;
                let expected_len = match attributes::material(wrapped.key_attributes.key_algorithm)
                {
                    Material::Symmetric(alg) => alg.key_len(),
                    Material::Asymmetric(_) => 0,
                };
                if secret.len() != expected_len {
                    return Err(ApiError::validation(format!(
                        "The key cryptogram holds a {}-byte key, not a {} key.",
                        secret.len(),
                        wrapped.key_attributes.key_algorithm.as_str()
                    )));
                }
                if rsa_strength(&certificate)? < strength(wrapped.key_attributes.key_algorithm) {
                    return Err(ApiError::validation(
                        "The import token's RSA key is weaker than the key it wraps.",
                    ));
                }
                Imported {
                    attributes: wrapped.key_attributes,
                    exportable: wrapped.exportable,
                    secret: Some(secret),
                    public_key: None,
                    certificate: None,
                }
            }
            ImportKeyMaterial::DiffieHellmanTr31KeyBlock(dh) => {
                let derived = self.derive_agreed_key(ctx, agreement_of!(dh)).await?;
                unwrap_tr31_with(&derived.key, derived.algorithm, &dh.wrapped_key_block)?
            }
            ImportKeyMaterial::As2805KeyCryptogram(wrapped) => {
                let kek = self
                    .resolve_key(ctx, &wrapped.wrapping_key_identifier)
                    .await?;
                let imported = self.import_as2805(&kek, wrapped)?;
                Imported {
                    attributes: imported.attributes,
                    exportable: imported.exportable,
                    secret: Some(imported.secret),
                    public_key: None,
                    certificate: None,
                }
            }
        };
        let key = self
            .store_imported(
                ctx,
                imported,
                Creation {
                    kcv_algorithm: input.key_check_value_algorithm,
                    enabled: input.enabled,
                    tags,
                    replication,
                    approval,
                },
            )
            .await?;
        Ok(ImportKeyOutput { key })
    }

    fn unwrap_tr31(&self, kek: &LoadedKey, block: &str) -> Result<Imported, ApiError> {
        let (kbpk, algorithm) = self.open_tr31_kbpk(kek, "unwrap")?;
        unwrap_tr31_with(&kbpk, algorithm, block)
    }
}

/// Unwraps a TR-31 block under a key block protection key of `kbpk_algorithm`.
fn unwrap_tr31_with(
    kbpk: &SecretBytes,
    kbpk_algorithm: paycrypt_api::KeyAlgorithm,
    block: &str,
) -> Result<Imported, ApiError> {
    {
        let (header, secret) = tr31::unwrap(kbpk.expose(), block)
            .map_err(|e| ApiError::validation(format!("The TR-31 key block was refused: {e}")))?;
        let attributes = attributes_from_header(
            header.key_usage.as_str(),
            header.algorithm.as_char(),
            header.mode_of_use.as_char(),
            secret.len(),
        )?;
        if strength(kbpk_algorithm) < strength(attributes.key_algorithm) {
            return Err(ApiError::validation(format!(
                "The wrapping key is weaker than the {} key in the block.",
                attributes.key_algorithm.as_str()
            )));
        }
        Ok(Imported {
            attributes,
            exportable: header.exportability != tr31::Exportability::NonExportable,
            secret: Some(secret),
            public_key: None,
            certificate: None,
        })
    }
}

/// How ImportKey asks for the new key to be made, besides its material.
struct Creation {
    kcv_algorithm: Option<paycrypt_api::KeyCheckValueAlgorithm>,
    enabled: Option<bool>,
    tags: Vec<paycrypt_store::Tag>,
    replication: CreationRegions,
    approval: Option<PendingApproval>,
}

impl Service {
    async fn store_imported(
        &self,
        ctx: &Context,
        imported: Imported,
        creation: Creation,
    ) -> Result<Key, ApiError> {
        let Creation {
            kcv_algorithm,
            enabled,
            tags,
            replication,
            approval,
        } = creation;
        let algorithm = imported.attributes.key_algorithm;
        let (kcv_algorithm, method) = attributes::creation_kcv(algorithm, kcv_algorithm)?;
        let empty = SecretBytes::new(Vec::new());
        let key_check_value = check_value(
            method,
            imported.secret.as_ref().unwrap_or(&empty),
            imported.public_key.as_deref(),
        )?;
        let (id, mut key) = new_key(
            ctx,
            NewKey {
                attributes: imported.attributes,
                key_check_value,
                kcv_algorithm,
                enabled: enabled.unwrap_or(true),
                exportable: imported.exportable,
                origin: KeyOrigin::External,
                derive_key_usage: None,
            },
        );
        replication.apply(&mut key);
        let requester_comment = approval.map(|a| a.apply(ctx, &id, &mut key));
        let arn = key.key_arn.clone();
        let loaded = LoadedKey {
            scope: ctx.scope(),
            id,
            doc: KeyDocument {
                key,
                public_key: imported.public_key.map(hex::encode),
                certificate: imported.certificate.map(hex::encode),
                resource_policy: None,
                requester_comment,
            },
            sealed_material: imported
                .secret
                .map(|secret| self.sealer.seal(arn.as_bytes(), secret.expose())),
            stored: None,
        };
        self.save_with_replicas(ctx, &loaded, &replication.regions, &[], &tags)
            .await?;
        tracing::info!(key_arn = %arn, state = loaded.doc.key.key_state.as_str(), "key imported");
        Ok(loaded.doc.key)
    }
}
