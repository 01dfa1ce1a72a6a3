//! The EMV authorization of the data plane through the AWS SDK for Rust: an ARQC verified by
//! VerifyAuthRequestCryptogram with an ARPC by method 1, against the ICC master key (option A),
//! the common session key, the application cryptogram and the ARPC written out in common::crypto
//! on the `des` crate, independently of paycrypt's cardcrypto crate. That computation is itself
//! checked first against pyemv's published vector (shared/reference/data-plane.md:
//! AC 19C1FBC83EBDC0D5).

mod common;

use aws_sdk_paymentcryptography::types::KeyModesOfUse;
use aws_sdk_paymentcryptographydata::types::{
    CryptogramAuthResponse, CryptogramVerificationArpcMethod1, MajorKeyDerivationMode,
    SessionKeyDerivation, SessionKeyEmvCommon, VerificationFailedReason,
};
use common::crypto::{common_session_key, icc_master_key, retail_mac, tdes, xor};
use common::{start, verification_failure};

#[test]
fn the_independent_computation_meets_the_published_vector() {
    let imk = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let mk = icc_master_key(&imk, "12345678901234567", "45");
    let sk = common_session_key(
        &mk,
        hex::decode("1234567890123456").unwrap().try_into().unwrap(),
    );
    // pyemv pads the vector's data with ISO/IEC 9797-1 method 2 (80 00..).
    let data = hex::decode("0123456789ABCDEF0123456789ABCDEF8000000000000000").unwrap();
    assert_eq!(
        hex::encode_upper(retail_mac(&sk, &data)),
        "19C1FBC83EBDC0D5"
    );
}

#[tokio::test]
async fn verify_an_arqc_and_answer_with_an_arpc_method_1() {
    let server = start().await;
    let modes = KeyModesOfUse::builder().derive_key(true).build();
    let arn = server
        .create_symmetric_key("TR31_E0_EMV_MKEY_APP_CRYPTOGRAMS", "TDES_2KEY", modes)
        .await;
    let imk = server.clear_key(&arn).await;

    let (pan, psn, atc) = ("5413330089020011", "01", [0x00, 0x2A]);
    let mk = icc_master_key(&imk, pan, psn);
    let sk = common_session_key(&mk, [atc[0], atc[1], 0, 0, 0, 0, 0, 0]);
    // Transaction data as the terminal sends it: 29 bytes of tags, padded (80 00 00) by the caller.
    let data: Vec<u8> = (1u8..=29).chain([0x80, 0, 0]).collect();
    let arqc = retail_mac(&sk, &data);
    let arpc = tdes(&sk, xor(arqc, [0x30, 0x30, 0, 0, 0, 0, 0, 0]));

    let session = SessionKeyDerivation::EmvCommon(
        SessionKeyEmvCommon::builder()
            .primary_account_number(pan)
            .pan_sequence_number(psn)
            .application_transaction_counter(hex::encode_upper(atc))
            .build()
            .unwrap(),
    );
    let response = CryptogramAuthResponse::ArpcMethod1(
        CryptogramVerificationArpcMethod1::builder()
            .auth_response_code("3030")
            .build()
            .unwrap(),
    );
    let verify = |cryptogram: [u8; 8]| {
        server
            .data_client()
            .verify_auth_request_cryptogram()
            .key_identifier(&arn)
            .transaction_data(hex::encode_upper(&data))
            .auth_request_cryptogram(hex::encode_upper(cryptogram))
            .major_key_derivation_mode(MajorKeyDerivationMode::EmvOptionA)
            .session_key_derivation_attributes(session.clone())
            .auth_response_attributes(response.clone())
            .send()
    };
    let out = verify(arqc).await.unwrap();
    assert_eq!(out.key_arn(), arn);
    assert_eq!(
        out.auth_response_value(),
        Some(hex::encode_upper(arpc).as_str())
    );

    let mut wrong = arqc;
    wrong[7] ^= 1;
    assert_eq!(
        verification_failure(verify(wrong).await).reason,
        VerificationFailedReason::InvalidAuthRequestCryptogram
    );
}
