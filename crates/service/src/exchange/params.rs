//! GetParametersForExport and GetParametersForImport: tokens with a fresh RSA key pair and a
//! certificate from the account CA, valid for the token policy's period (7 days by default, as
//! the original API documents), optionally reusing the last token that still has enough time left.
//! An RSA-2048 token usually comes ready from the key pool (`key_pool`), its certificate valid
//! from before the token was handed out until at most an hour past its expiry.

use paycrypt_api::{
    ApiError, GetParametersForExportInput, GetParametersForExportOutput,
    GetParametersForImportInput, GetParametersForImportOutput, KeyAlgorithm, KeyMaterialType,
    Timestamp,
};
use paycrypt_store::{AuthorityRecord, TokenRecord};

use crate::{Context, Service, store_error};

/// How long tokens live and when ReuseLastGeneratedToken may hand out an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Validity of a new token and its certificate, in milliseconds.
    pub validity_millis: i64,
    /// The least validity a token must have left to be reused, in milliseconds.
    pub reuse_min_remaining_millis: i64,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        const DAY: i64 = 24 * 60 * 60 * 1000;
        Self {
            validity_millis: 7 * DAY,
            reuse_min_remaining_millis: DAY,
        }
    }
}

fn wire_certificate(der: &[u8]) -> String {
    paycrypt_pki::to_wire(der)
}

impl Service {
    /// The token to answer with: the last one when reuse is asked for and it has enough time
    /// left, otherwise a new one.
    async fn token_for(
        &self,
        ctx: &Context,
        authority: &AuthorityRecord,
        kind: &str,
        material_type: KeyMaterialType,
        algorithm: KeyAlgorithm,
        reuse: bool,
    ) -> Result<TokenRecord, ApiError> {
        if reuse {
            let last = self
                .store
                .latest_token(
                    &ctx.scope(),
                    kind,
                    material_type.as_str(),
                    algorithm.as_str(),
                )
                .await
                .map_err(store_error)?;
            if let Some(last) = last.filter(|t| {
                t.expires_ms - ctx.now.as_millis() >= self.token_policy.reuse_min_remaining_millis
            }) {
                return Ok(last);
            }
        }
        let expires =
            Timestamp::from_millis(ctx.now.as_millis() + self.token_policy.validity_millis);
        self.issue_token(
            ctx,
            authority,
            kind,
            material_type.as_str(),
            algorithm,
            expires,
        )
        .await
    }

    pub(crate) async fn get_parameters_for_export(
        &self,
        ctx: &Context,
        input: GetParametersForExportInput,
    ) -> Result<GetParametersForExportOutput, ApiError> {
        // The model documents both refusals: "Export token is only required for a TR-34 key
        // export" and "RSA_2048 is the only signing key algorithm allowed".
        match input.key_material_type {
            KeyMaterialType::Tr34KeyBlock => {}
            KeyMaterialType::KeyCryptogram | KeyMaterialType::Tr31KeyBlock => {
                return Err(ApiError::validation(format!(
                    "KeyMaterialType {} needs no export parameters: export it with ExportKey directly.",
                    input.key_material_type.as_str()
                )));
            }
            other => {
                return Err(ApiError::validation(format!(
                    "KeyMaterialType {} needs no export parameters: certificates are not exported with a token.",
                    other.as_str()
                )));
            }
        }
        if input.signing_key_algorithm != KeyAlgorithm::Rsa2048 {
            return Err(ApiError::validation(
                "RSA_2048 is the only signing key algorithm allowed.",
            ));
        }
        // The account CA signs the token's certificate (or did, for a pooled one) and is its
        // chain: read once for both.
        let authority = self.authority_record(ctx).await?;
        let token = self
            .token_for(
                ctx,
                &authority,
                "export",
                input.key_material_type,
                input.signing_key_algorithm,
                input.reuse_last_generated_token.unwrap_or(false),
            )
            .await?;
        Ok(GetParametersForExportOutput {
            signing_key_certificate: wire_certificate(&token.certificate),
            signing_key_certificate_chain: wire_certificate(&authority.certificate),
            signing_key_algorithm: input.signing_key_algorithm,
            export_token: token.token,
            parameters_valid_until_timestamp: Timestamp::from_millis(token.expires_ms),
        })
    }

    pub(crate) async fn get_parameters_for_import(
        &self,
        ctx: &Context,
        input: GetParametersForImportInput,
    ) -> Result<GetParametersForImportOutput, ApiError> {
        let algorithm = input.wrapping_key_algorithm;
        let rsa = matches!(
            algorithm,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096
        );
        // The model documents it: an import token is only for TR34_KEY_BLOCK and KEY_CRYPTOGRAM,
        // with an RSA wrapping key. It names only RSA_2048 for TR-34, but AWS's TR-34 import
        // sample asks for RSA_3072, so every RSA size is accepted for both.
        match input.key_material_type {
            KeyMaterialType::Tr34KeyBlock | KeyMaterialType::KeyCryptogram if rsa => {}
            KeyMaterialType::Tr34KeyBlock | KeyMaterialType::KeyCryptogram => {
                return Err(ApiError::validation(format!(
                    "WrappingKeyAlgorithm {} is not allowed for {}: use RSA_2048, RSA_3072 or RSA_4096.",
                    algorithm.as_str(),
                    input.key_material_type.as_str()
                )));
            }
            other => {
                return Err(ApiError::validation(format!(
                    "KeyMaterialType {} needs no import parameters: import it with ImportKey directly.",
                    other.as_str()
                )));
            }
        }
        // The account CA signs the token's certificate (or did, for a pooled one) and is its
        // chain: read once for both.
        let authority = self.authority_record(ctx).await?;
        let token = self
            .token_for(
                ctx,
                &authority,
                "import",
                input.key_material_type,
                algorithm,
                input.reuse_last_generated_token.unwrap_or(false),
            )
            .await?;
        Ok(GetParametersForImportOutput {
            wrapping_key_certificate: wire_certificate(&token.certificate),
            wrapping_key_certificate_chain: wire_certificate(&authority.certificate),
            wrapping_key_algorithm: algorithm,
            import_token: token.token,
            parameters_valid_until_timestamp: Timestamp::from_millis(token.expires_ms),
        })
    }
}
