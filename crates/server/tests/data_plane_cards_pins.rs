//! Card validation data and PIN verification through the AWS SDK for Rust: a CVV2 generated and
//! verified, and a Visa PVV verified against an ISO format 0 PIN block, with keys made by
//! CreateKey and their clear material read back from the store. Every value is recomputed here
//! on the `des` crate, independently of paycrypt's cardcrypto; the recomputation is first checked
//! against psec's published vectors (shared/reference/data-plane.md).

mod common;

use aws_sdk_paymentcryptography::types::KeyModesOfUse;
use aws_sdk_paymentcryptographydata::operation::verify_card_validation_data::VerifyCardValidationDataError;
use aws_sdk_paymentcryptographydata::operation::verify_pin_data::VerifyPinDataError;
use aws_sdk_paymentcryptographydata::types::{
    CardGenerationAttributes, CardVerificationAttributes, CardVerificationValue2,
    PinBlockFormatForPinData, PinVerificationAttributes, VerificationFailedReason,
    VisaPinVerification,
};
use common::start;
use des::cipher::{BlockCipherEncrypt, KeyInit};

fn tdes(key: &[u8], block: [u8; 8]) -> [u8; 8] {
    let mut b = block.into();
    des::TdesEde2::new_from_slice(key)
        .unwrap()
        .encrypt_block(&mut b);
    b.into()
}

fn single_des(key: &[u8], block: [u8; 8]) -> [u8; 8] {
    let mut b = block.into();
    des::Des::new_from_slice(key).unwrap().encrypt_block(&mut b);
    b.into()
}

/// Packs decimal or hex digits, right-padded with zeros, into 8 bytes.
fn pack(digits: &str) -> [u8; 8] {
    hex::decode(format!("{digits:0<16}"))
        .unwrap()
        .try_into()
        .unwrap()
}

/// The decimal digits of a block's hex, then its letters less ten: the first `n`.
fn decimalize(block: [u8; 8], n: usize) -> String {
    let text = hex::encode_upper(block);
    let digits = text.chars().filter(char::is_ascii_digit);
    let letters = text
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .map(|c| char::from(b'0' + (c as u8 - b'A')));
    digits.chain(letters).take(n).collect()
}

/// The 3-digit CVV of the Visa / Mastercard method.
fn cvv(cvk: &[u8], pan: &str, expiry: &str, service_code: &str) -> String {
    let data = format!("{pan}{expiry}{service_code}{:0<32}", "");
    let first = single_des(&cvk[..8], pack(&data[..16]));
    let second = pack(&data[16..32]);
    let mixed: Vec<u8> = first.iter().zip(second).map(|(a, b)| a ^ b).collect();
    decimalize(tdes(cvk, mixed.try_into().unwrap()), 3)
}

/// The Visa PVV: 11 PAN digits before the check digit, the PVKI, 4 PIN digits.
fn pvv(pvk: &[u8], pvki: u8, pin: &str, pan: &str) -> String {
    let tsp = format!("{}{pvki}{}", &pan[pan.len() - 12..pan.len() - 1], &pin[..4]);
    decimalize(tdes(pvk, pack(&tsp)), 4)
}

/// The ISO 9564 format 0 clear block.
fn iso0(pin: &str, pan: &str) -> [u8; 8] {
    let field = pack(&format!("{:02X}{pin}{:F<14}", pin.len(), "")[..16]);
    let pan_field = pack(&format!("0000{}", &pan[pan.len() - 13..pan.len() - 1]));
    let xored: Vec<u8> = field.iter().zip(pan_field).map(|(a, b)| a ^ b).collect();
    xored.try_into().unwrap()
}

#[test]
fn the_recomputations_reproduce_the_psec_vectors() {
    let cvk = hex::decode("99999999999999998888888888888888").unwrap();
    assert_eq!(cvv(&cvk, "2222222222222222", "3333", "111"), "361");
    let pvk = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
    assert_eq!(pvv(&pvk, 1, "4524", "1122334455667788"), "8523");
    assert_eq!(pvv(&pvk, 2, "1912", "1122334455667788"), "3244");
    assert_eq!(
        hex::encode_upper(iso0("1234", "5555555551234567")),
        "041261AAAAEDCBA9"
    );
}

#[tokio::test]
async fn cvv2_generates_and_verifies_and_a_wrong_one_fails_with_its_reason() {
    let server = start().await;
    let modes = KeyModesOfUse::builder().generate(true).verify(true).build();
    let arn = server
        .create_symmetric_key("TR31_C0_CARD_VERIFICATION_KEY", "TDES_2KEY", modes)
        .await;
    let cvk = server.clear_key(&arn).await;
    let (pan, expiry) = ("4111111111111111", "2812");
    let expected = cvv(&cvk, pan, expiry, "000");
    let card = CardVerificationValue2::builder()
        .card_expiry_date(expiry)
        .build()
        .unwrap();
    let data = server.data_client();
    let out = data
        .generate_card_validation_data()
        .key_identifier(&arn)
        .primary_account_number(pan)
        .generation_attributes(CardGenerationAttributes::CardVerificationValue2(
            card.clone(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.validation_data, expected);
    assert_eq!(out.key_arn, arn);
    let verify = |value: String| {
        data.verify_card_validation_data()
            .key_identifier(&arn)
            .primary_account_number(pan)
            .verification_attributes(CardVerificationAttributes::CardVerificationValue2(
                card.clone(),
            ))
            .validation_data(value)
            .send()
    };
    verify(expected.clone()).await.unwrap();
    let wrong = format!("{}", (expected.parse::<u32>().unwrap() + 1) % 1000);
    match verify(format!("{wrong:0>3}"))
        .await
        .unwrap_err()
        .into_service_error()
    {
        VerifyCardValidationDataError::VerificationFailedException(e) => {
            assert_eq!(e.reason, VerificationFailedReason::InvalidValidationData);
        }
        other => panic!("expected VerificationFailedException, got {other:?}"),
    }
}

#[tokio::test]
async fn a_visa_pvv_verifies_against_an_iso0_pin_block_and_a_wrong_one_fails() {
    let server = start().await;
    let pvk_arn = server
        .create_symmetric_key(
            "TR31_V2_VISA_PIN_VERIFICATION_KEY",
            "TDES_2KEY",
            KeyModesOfUse::builder().generate(true).verify(true).build(),
        )
        .await;
    let pek_arn = server
        .create_symmetric_key(
            "TR31_P0_PIN_ENCRYPTION_KEY",
            "TDES_2KEY",
            KeyModesOfUse::builder()
                .encrypt(true)
                .decrypt(true)
                .wrap(true)
                .unwrap(true)
                .build(),
        )
        .await;
    let pvk = server.clear_key(&pvk_arn).await;
    let pek = server.clear_key(&pek_arn).await;
    let (pin, pan) = ("4524", "1122334455667788");
    let block = hex::encode_upper(tdes(&pek, iso0(pin, pan)));
    let data = server.data_client();
    let verify = |value: String| {
        data.verify_pin_data()
            .verification_key_identifier(&pvk_arn)
            .encryption_key_identifier(&pek_arn)
            .verification_attributes(PinVerificationAttributes::VisaPin(
                VisaPinVerification::builder()
                    .pin_verification_key_index(1)
                    .verification_value(value)
                    .build()
                    .unwrap(),
            ))
            .encrypted_pin_block(&block)
            .primary_account_number(pan)
            .pin_block_format(PinBlockFormatForPinData::IsoFormat0)
            .send()
    };
    let expected = pvv(&pvk, 1, pin, pan);
    let out = verify(expected.clone()).await.unwrap();
    assert_eq!(out.verification_key_arn, pvk_arn);
    assert_eq!(out.encryption_key_arn, pek_arn);
    let wrong = format!("{:04}", (expected.parse::<u32>().unwrap() + 1) % 10000);
    match verify(wrong).await.unwrap_err().into_service_error() {
        VerifyPinDataError::VerificationFailedException(e) => {
            assert_eq!(e.reason, VerificationFailedReason::InvalidPin);
        }
        other => panic!("expected VerificationFailedException, got {other:?}"),
    }
}
