//! GetPublicKeyCertificate: a certificate from the key's account CA for the public half of a key
//! pair paycrypt generated, with the CA as its chain. GetCertificateSigningRequest: a PKCS#10 request
//! signed by such a key pair, for a certificate authority outside paycrypt.

use paycrypt_api::{
    ApiError, GetCertificateSigningRequestInput, GetCertificateSigningRequestOutput,
    GetPublicKeyCertificateInput, GetPublicKeyCertificateOutput, KeyClass, SigningAlgorithmType,
};
use paycrypt_pki::SubjectFields;

use crate::keys::LoadedKey;

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
        let public_key = key_pair_public_key(&key)?;
        // The key's own account CA certifies it, also for a cross-account caller.
        let owner = ctx.on_behalf_of(&key.scope);
        let authority = self.authority_record(&owner).await?;
        let (certificate, chain) = self
            .issue_certificate(
                &owner,
                authority,
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

/// The public key (SubjectPublicKeyInfo DER) of a generated key pair that may be used. AWS
/// documents both operations for asymmetric key pairs only (API reference).
fn key_pair_public_key(key: &LoadedKey) -> Result<Vec<u8>, ApiError> {
    key.require_complete()?;
    match (&key.doc.key.key_attributes.key_class, &key.doc.public_key) {
        (KeyClass::AsymmetricKeyPair, Some(public_key)) => hex::decode(public_key)
            .map_err(|_| ApiError::internal("A stored public key is unreadable.")),
        _ => Err(ApiError::validation(format!(
            "Key {} is not an ASYMMETRIC_KEY_PAIR key.",
            key.doc.key.key_arn
        ))),
    }
}

impl Service {
    pub(crate) async fn get_certificate_signing_request(
        &self,
        ctx: &Context,
        input: GetCertificateSigningRequestInput,
    ) -> Result<GetCertificateSigningRequestOutput, ApiError> {
        let key = self.resolve_key(ctx, &input.key_identifier).await?;
        let public_key = key_pair_public_key(&key)?;
        let algorithm = key.doc.key.key_attributes.key_algorithm.as_str();
        // paycrypt signs with SHA-256 for RSA keys and with the curve's own hash for ECC keys,
        // and refuses any other SigningAlgorithm: its own limit, not a security rule (listed in
        // the README under "Where paycrypt is stricter than AWS").
        let supported = match algorithm {
            "ECC_NIST_P384" => SigningAlgorithmType::Sha384,
            "ECC_NIST_P521" => SigningAlgorithmType::Sha512,
            _ => SigningAlgorithmType::Sha256,
        };
        if input.signing_algorithm != supported {
            return Err(ApiError::validation(format!(
                "SigningAlgorithm {} is not supported for a {algorithm} key; use {}.",
                input.signing_algorithm.as_str(),
                supported.as_str()
            )));
        }
        let subject = input.certificate_subject;
        let fields = SubjectFields {
            organization: subject.organization,
            organizational_unit: subject.organization_unit,
            country: subject.country,
            state_or_province: subject.state_or_province,
            locality: subject.city,
            email_address: subject.email_address,
            ..SubjectFields::new(subject.common_name)
        };
        let private_key = self.open_material(&key)?;
        let csr = paycrypt_pki::certificate_signing_request(
            private_key.expose(),
            &public_key,
            &fields,
        )
        .map_err(|e| ApiError::validation(format!("CertificateSubject is not valid: {e}")))?;
        Ok(GetCertificateSigningRequestOutput {
            certificate_signing_request: paycrypt_pki::csr_to_wire(&csr),
        })
    }
}
