//! GetPublicKeyCertificate: a certificate from the account CA for the public half of a key pair
//! paycrypt generated, with the CA as its chain.

use paycrypt_api::{
    ApiError, GetPublicKeyCertificateInput, GetPublicKeyCertificateOutput, KeyClass,
};

use crate::{Context, Service};

/// How long a public key certificate is valid, in seconds (one year).
const CERTIFICATE_VALIDITY_SECS: i64 = 365 * 24 * 60 * 60;

impl Service {
    pub(crate) async fn get_public_key_certificate(
        &self,
        ctx: &Context,
        input: GetPublicKeyCertificateInput,
    ) -> Result<GetPublicKeyCertificateOutput, ApiError> {
        let key = self.resolve_key(ctx, &input.key_identifier).await?;
        key.require_complete()?;
        let k = &key.doc.key;
        let public_key = match (&k.key_attributes.key_class, &key.doc.public_key) {
            (KeyClass::AsymmetricKeyPair, Some(public_key)) => hex::decode(public_key)
                .map_err(|_| ApiError::internal("A stored public key is unreadable."))?,
            _ => {
                return Err(ApiError::validation(format!(
                    "Key {} is not an ASYMMETRIC_KEY_PAIR key.",
                    k.key_arn
                )));
            }
        };
        let (certificate, chain) = self
            .issue_certificate(
                ctx,
                &public_key,
                &key.id,
                ctx.now.as_millis() / 1000 + CERTIFICATE_VALIDITY_SECS,
                paycrypt_pki::LeafUsage::General,
            )
            .await?;
        Ok(GetPublicKeyCertificateOutput {
            key_certificate: paycrypt_pki::to_wire(&certificate),
            key_certificate_chain: paycrypt_pki::to_wire(&chain),
        })
    }
}
