//! Card validation data and PIN verification through the AWS SDK for Rust: a CVV2 generated and
//! verified, the cardholder verification value generated and verified and a Discover dCVC
//! verified (paycrypt's reading of schemes without a public algorithm: the CVV algorithm over
//! the dynamic inputs under the EMV option A card key), and a Visa PVV verified against an ISO
//! format 0 PIN block, with keys made by
//! CreateKey and their clear material read back from the store. Every value is recomputed here
//! on the `des` crate (common::crypto), independently of paycrypt's cardcrypto; the
//! recomputation is first checked against psec's published vectors
//! (shared/reference/data-plane.md).

mod common;

use aws_sdk_paymentcryptography::types::KeyModesOfUse;
use aws_sdk_paymentcryptographydata::types::{
    CardGenerationAttributes, CardHolderVerificationValue, CardVerificationAttributes,
    CardVerificationValue2, DiscoverDynamicCardVerificationCode, PinBlockFormatForPinData,
    PinVerificationAttributes, VerificationFailedReason, VisaPinVerification,
};
use common::crypto::{decimalize, icc_master_key, iso0, pack, pvv, single_des, tdes};
use common::{start, verification_failure};

/// The 3-digit CVV of the Visa / Mastercard method.
fn cvv(cvk: &[u8], pan: &str, expiry: &str, service_code: &str) -> String {
    cvv_algorithm(cvk, &format!("{pan}{expiry}{service_code}"), 3)
}

/// The CVV algorithm over up to 32 hex nibbles (zero-padded), `n` digits.
fn cvv_algorithm(key: &[u8], nibbles: &str, n: usize) -> String {
    let data = format!("{nibbles:0<32}");
    let first = single_des(&key[..8], pack(&data[..16]));
    let second = pack(&data[16..32]);
    let mixed: Vec<u8> = first.iter().zip(second).map(|(a, b)| a ^ b).collect();
    decimalize(tdes(key, mixed.try_into().unwrap()), n)
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
    assert_eq!(
        verification_failure(verify(format!("{wrong:0>3}")).await).reason,
        VerificationFailedReason::InvalidValidationData
    );
}

#[tokio::test]
async fn the_codes_without_a_public_algorithm_follow_paycrypts_reading() {
    let server = start().await;
    let modes = KeyModesOfUse::builder().derive_key(true).build();
    let arn = server
        .create_symmetric_key("TR31_E6_EMV_MKEY_OTHER", "TDES_2KEY", modes)
        .await;
    let imk = server.clear_key(&arn).await;
    let (pan, psn, un, atc, expiry) = ("6011000990139424", "01", "1A2B3C4D", "005E", "2812");
    let data = server.data_client();

    // The cardholder verification value: CVV algorithm over ATC || PAN[4..] || UN.
    let card = icc_master_key(&imk, pan, psn);
    let expected = cvv_algorithm(&card, &format!("{atc}{}{un}", &pan[4..]), 4);
    let chv = CardHolderVerificationValue::builder()
        .unpredictable_number(un)
        .pan_sequence_number(psn)
        .application_transaction_counter(atc)
        .build()
        .unwrap();
    let out = data
        .generate_card_validation_data()
        .key_identifier(&arn)
        .primary_account_number(pan)
        .validation_data_length(4)
        .generation_attributes(CardGenerationAttributes::CardHolderVerificationValue(
            chv.clone(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.validation_data, expected);
    data.verify_card_validation_data()
        .key_identifier(&arn)
        .primary_account_number(pan)
        .verification_attributes(CardVerificationAttributes::CardHolderVerificationValue(chv))
        .validation_data(&expected)
        .send()
        .await
        .unwrap();

    // The Discover dCVC (verify only): ATC || PAN[4..] || expiry || UN under the card key of
    // PAN sequence number 00.
    let card = icc_master_key(&imk, pan, "00");
    let expected = cvv_algorithm(&card, &format!("{atc}{}{expiry}{un}", &pan[4..]), 3);
    let discover = DiscoverDynamicCardVerificationCode::builder()
        .card_expiry_date(expiry)
        .unpredictable_number(un)
        .application_transaction_counter(atc)
        .build()
        .unwrap();
    let verify = |value: String| {
        data.verify_card_validation_data()
            .key_identifier(&arn)
            .primary_account_number(pan)
            .verification_attributes(
                CardVerificationAttributes::DiscoverDynamicCardVerificationCode(discover.clone()),
            )
            .validation_data(value)
            .send()
    };
    verify(expected.clone()).await.unwrap();
    let wrong = format!("{:03}", (expected.parse::<u32>().unwrap() + 1) % 1000);
    assert_eq!(
        verification_failure(verify(wrong).await).reason,
        VerificationFailedReason::InvalidValidationData
    );
}

#[tokio::test]
async fn a_visa_pvv_verifies_against_an_iso0_pin_block_and_a_wrong_one_fails() {
    let server = start().await;
    let (pvk_arn, pek_arn) = server.create_visa_pin_keys().await;
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
    assert_eq!(
        verification_failure(verify(wrong).await).reason,
        VerificationFailedReason::InvalidPin
    );
}
