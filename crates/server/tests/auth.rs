//! Authentication through the AWS SDK for Rust: unknown access keys, wrong secrets, clock skew in
//! both directions, and the per-account request rate.

mod common;

use common::{REGION, code, code_and_message, start};

#[tokio::test]
async fn unknown_access_key_is_unrecognized() {
    let server = start().await;
    let client = server.client_as("nobody", "test", REGION, 0);
    assert_eq!(
        code(client.list_keys().send().await),
        "UnrecognizedClientException"
    );
}

#[tokio::test]
async fn wrong_secret_is_an_invalid_signature() {
    let server = start().await;
    let client = server.client_as("test", "not-the-secret", REGION, 0);
    assert_eq!(
        code(client.list_keys().send().await),
        "InvalidSignatureException"
    );
}

#[tokio::test]
async fn clock_skew_beyond_five_minutes_is_refused() {
    let server = start().await;
    for (offset, prefix) in [
        (-301, "Signature expired"),
        (301, "Signature not yet current"),
    ] {
        let client = server.client_as("test", "test", REGION, offset);
        let (code, message) = code_and_message(client.list_keys().send().await);
        assert_eq!(code, "InvalidSignatureException", "offset {offset}");
        assert!(message.starts_with(prefix), "{message}");
        if offset > 0 {
            assert!(message.contains("too far in the future"), "{message}");
        }
    }
    for offset in [-290, 290] {
        let client = server.client_as("test", "test", REGION, offset);
        client.list_keys().send().await.unwrap();
    }
}

#[tokio::test]
async fn request_rate_is_limited_per_account() {
    let server = common::start_limited(
        paycrypt_service::Limits::default(),
        paycrypt_server::RateLimiter::new(3),
    )
    .await;
    let a = server.client();
    let b = server.client_as("other", "other-secret", REGION, 0);
    for _ in 0..3 {
        a.list_keys().send().await.unwrap();
    }
    assert_eq!(code(a.list_keys().send().await), "ThrottlingException");
    b.list_keys().send().await.unwrap();
    server.clock.advance_millis(1_000);
    a.list_keys().send().await.unwrap();
}
