//! The data plane through the AWS SDK for Rust (`aws-sdk-paymentcryptographydata`) on the same
//! endpoint as the control plane: keys made with CreateKey, their clear material read back from
//! the store with the master key, and every result recomputed here with RustCrypto primitives,
//! independently of paycrypt's cardcrypto crate.

mod common;

use aws_sdk_paymentcryptography::types::KeyModesOfUse;
use aws_sdk_paymentcryptographydata::error::ProvideErrorMetadata;
use aws_sdk_paymentcryptographydata::types::{
    EncryptionDecryptionAttributes, EncryptionMode, MacAlgorithm, MacAttributes,
    SymmetricEncryptionAttributes, VerificationFailedReason,
};
use common::crypto::aes_cbc;
use common::{crypt_modes, start, verification_failure};
use hmac::{KeyInit, Mac};

fn mac_modes() -> KeyModesOfUse {
    KeyModesOfUse::builder().generate(true).verify(true).build()
}

#[tokio::test]
async fn encrypt_and_decrypt_with_an_aes_key_by_arn_and_alias() {
    let server = start().await;
    let arn = server
        .create_symmetric_key(
            "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY",
            "AES_128",
            crypt_modes(),
        )
        .await;
    server
        .client()
        .create_alias()
        .alias_name("alias/payments/data-key")
        .key_arn(&arn)
        .send()
        .await
        .unwrap();
    let key = server.clear_key(&arn).await;
    let iv = [0x42u8; 16];
    let plain: Vec<u8> = (0u8..64).collect();
    let attributes = EncryptionDecryptionAttributes::Symmetric(
        SymmetricEncryptionAttributes::builder()
            .mode(EncryptionMode::Cbc)
            .initialization_vector(hex::encode(iv))
            .build()
            .unwrap(),
    );
    let data = server.data_client();
    let alias_arn = format!(
        "{}:alias/payments/data-key",
        arn.split(":key/").next().unwrap()
    );
    for identifier in [arn.as_str(), "alias/payments/data-key", alias_arn.as_str()] {
        let out = data
            .encrypt_data()
            .key_identifier(identifier)
            .plain_text(hex::encode(&plain))
            .encryption_attributes(attributes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.cipher_text,
            hex::encode_upper(aes_cbc(&key, &iv, &plain))
        );
        assert_eq!(out.key_arn, arn);
        let back = data
            .decrypt_data()
            .key_identifier(identifier)
            .cipher_text(out.cipher_text)
            .decryption_attributes(attributes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(back.plain_text, hex::encode_upper(&plain));
    }
}

#[tokio::test]
async fn hmac_mac_generates_verifies_and_a_wrong_one_fails_with_its_reason() {
    let server = start().await;
    let arn = server
        .create_symmetric_key("TR31_M7_HMAC_KEY", "HMAC_SHA256", mac_modes())
        .await;
    let key = server.clear_key(&arn).await;
    let message = vec![0x5au8; 256];
    let mut reference = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    reference.update(&message);
    let expected = hex::encode_upper(reference.finalize().into_bytes());
    let data = server.data_client();
    let attributes = MacAttributes::Algorithm(MacAlgorithm::HmacSha256);
    let out = data
        .generate_mac()
        .key_identifier(&arn)
        .message_data(hex::encode(&message))
        .generation_attributes(attributes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.mac, expected);
    data.verify_mac()
        .key_identifier(&arn)
        .message_data(hex::encode(&message))
        .mac(&out.mac)
        .verification_attributes(attributes.clone())
        .send()
        .await
        .unwrap();
    let wrong = data
        .verify_mac()
        .key_identifier(&arn)
        .message_data(hex::encode(&message))
        .mac("00".repeat(32))
        .verification_attributes(attributes)
        .send()
        .await;
    let failure = verification_failure(wrong);
    assert_eq!(failure.reason, VerificationFailedReason::InvalidMac);
    assert!(!failure.message.is_empty());
}

#[tokio::test]
async fn a_key_that_does_not_exist_and_a_key_of_the_wrong_usage_are_refused() {
    let server = start().await;
    let mac_key = server
        .create_symmetric_key("TR31_M6_ISO_9797_5_CMAC_KEY", "AES_128", mac_modes())
        .await;
    let data = server.data_client();
    let attributes = EncryptionDecryptionAttributes::Symmetric(
        SymmetricEncryptionAttributes::builder()
            .mode(EncryptionMode::Ecb)
            .build()
            .unwrap(),
    );
    let wrong_usage = data
        .encrypt_data()
        .key_identifier(&mac_key)
        .plain_text("00".repeat(16))
        .encryption_attributes(attributes.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(wrong_usage.code(), Some("ValidationException"));
    let missing = data
        .encrypt_data()
        .key_identifier("alias/nothing-here")
        .plain_text("00".repeat(16))
        .encryption_attributes(attributes)
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
}
