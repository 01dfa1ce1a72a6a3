//! `verify` never panics, whatever the client sends: arbitrary `Authorization` headers
//! (random bytes, random text after the algorithm, mutations of a valid header), arbitrary
//! dates, paths, query strings, payload hashes and bodies, and huge values.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use paycrypt_sigv4::{AuthError, Credential, Request, verify};
use proptest::prelude::*;

const VALID_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/\
    service/aws4_request, SignedHeaders=host;x-amz-date, \
    Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

fn store() -> HashMap<String, Credential> {
    HashMap::from([(
        "AKIDEXAMPLE".to_owned(),
        Credential {
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            principal: "p".to_owned(),
        },
    )])
}

/// The time of the AWS test suite, 20150830T123600Z.
fn suite_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_440_938_160)
}

struct Input<'a> {
    path: &'a str,
    query: &'a str,
    authorization: Option<&'a [u8]>,
    date: &'a [u8],
    content_sha256: Option<&'a [u8]>,
    body: &'a [u8],
    now: SystemTime,
}

fn run(input: &Input<'_>) -> Result<(), AuthError> {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
    // Bytes that cannot be a header value are what an HTTP server would refuse anyway.
    let mut add = |name: &'static str, value: &[u8]| {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name, value);
        }
    };
    if let Some(authorization) = input.authorization {
        add("authorization", authorization);
    }
    add("x-amz-date", input.date);
    if let Some(hash) = input.content_sha256 {
        add("x-amz-content-sha256", hash);
    }
    let request = Request {
        method: "GET",
        path: input.path,
        query: input.query,
        headers: &headers,
        body: input.body,
    };
    verify(&request, &store(), input.now, "service").map(|_| ())
}

fn base() -> Input<'static> {
    Input {
        path: "/",
        query: "",
        authorization: Some(VALID_AUTHORIZATION.as_bytes()),
        date: b"20150830T123600Z",
        content_sha256: None,
        body: b"",
        now: suite_time(),
    }
}

#[test]
fn the_base_request_verifies() {
    // The base input is the aws-c-auth suite's get-vanilla request, so the properties below
    // start from a request that passes.
    assert_eq!(run(&base()), Ok(()));
}

#[test]
fn huge_values_are_refused_without_panicking() {
    let huge = format!("AWS4-HMAC-SHA256 Credential={}", "A/".repeat(500_000));
    let mut input = base();
    input.authorization = Some(huge.as_bytes());
    assert!(matches!(
        run(&input),
        Err(AuthError::IncompleteSignature(_))
    ));

    let huge_signed = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;{}, Signature=00",
        "x".repeat(1_000_000)
    );
    input.authorization = Some(huge_signed.as_bytes());
    assert!(matches!(
        run(&input),
        Err(AuthError::IncompleteSignature(_))
    ));

    let path = "/a/..".repeat(100_000);
    let query = "a=%ZZ&".repeat(100_000);
    let mut input = base();
    input.path = &path;
    input.query = &query;
    assert_eq!(run(&input), Err(AuthError::SignatureMismatch));

    let mut input = base();
    input.now = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64);
    assert!(matches!(run(&input), Err(AuthError::SignatureExpired(_))));
    input.now = UNIX_EPOCH - Duration::from_secs(1 << 40);
    assert!(matches!(
        run(&input),
        Err(AuthError::SignatureNotYetCurrent(_))
    ));
}

#[test]
fn non_utf8_header_bytes_are_refused() {
    let mut input = base();
    let mut bytes = VALID_AUTHORIZATION.as_bytes().to_vec();
    bytes.push(0xff);
    input.authorization = Some(&bytes);
    assert!(matches!(
        run(&input),
        Err(AuthError::IncompleteSignature(_))
    ));
    let mut input = base();
    input.date = b"2015\xff0830T123600Z";
    assert!(matches!(
        run(&input),
        Err(AuthError::IncompleteSignature(_))
    ));
    let mut input = base();
    input.content_sha256 = Some(b"\xfe\xff");
    assert_eq!(run(&input), Err(AuthError::ContentHashMismatch));
}

/// Text built from the characters the Authorization grammar uses, plus some others.
fn auth_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9=,;/ _.\\-~%+\t\u{e9}\u{1234}]{0,160}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_authorization_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut input = base();
        input.authorization = Some(&bytes);
        let _ = run(&input);
    }

    #[test]
    fn arbitrary_authorization_strings(text in any::<String>()) {
        let mut input = base();
        input.authorization = Some(text.as_bytes());
        let _ = run(&input);
    }

    #[test]
    fn arbitrary_text_after_the_algorithm(rest in auth_text()) {
        let header = format!("AWS4-HMAC-SHA256 {rest}");
        let mut input = base();
        input.authorization = Some(header.as_bytes());
        prop_assert!(run(&input).is_err());
    }

    #[test]
    fn mutated_valid_headers(at in 0usize..VALID_AUTHORIZATION.len(), cut in 0usize..20, insert in auth_text()) {
        let start = (0..=at).rev().find(|i| VALID_AUTHORIZATION.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + cut).min(VALID_AUTHORIZATION.len());
        let header = format!("{}{insert}{}", &VALID_AUTHORIZATION[..start], &VALID_AUTHORIZATION[end..]);
        let mut input = base();
        input.authorization = Some(header.as_bytes());
        if run(&input).is_ok() {
            // A changed header can only verify if it still carries the same credential and
            // signature.
            prop_assert!(header.contains("Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"));
            prop_assert!(header.contains(&VALID_AUTHORIZATION[VALID_AUTHORIZATION.len() - 74..]));
        }
    }

    #[test]
    fn arbitrary_requests(
        path in any::<String>(),
        query in any::<String>(),
        date in proptest::collection::vec(any::<u8>(), 0..40),
        content_sha256 in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..80)),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        now in 0..=i64::MAX as u64,
        with_auth in any::<bool>(),
    ) {
        let input = Input {
            path: &path,
            query: &query,
            authorization: with_auth.then_some(VALID_AUTHORIZATION.as_bytes()),
            date: &date,
            content_sha256: content_sha256.as_deref(),
            body: &body,
            now: UNIX_EPOCH + Duration::from_secs(now),
        };
        let _ = run(&input);
    }

    #[test]
    fn arbitrary_presigned_queries(
        params in proptest::collection::vec(
            (
                prop_oneof![
                    Just("X-Amz-Algorithm".to_owned()),
                    Just("X-Amz-Credential".to_owned()),
                    Just("X-Amz-Date".to_owned()),
                    Just("X-Amz-Expires".to_owned()),
                    Just("X-Amz-SignedHeaders".to_owned()),
                    Just("X-Amz-Signature".to_owned()),
                    Just("X-Amz-Security-Token".to_owned()),
                    auth_text(),
                ],
                auth_text(),
            ),
            0..10,
        ),
        now in 0..=i64::MAX as u64,
    ) {
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let query = query.join("&");
        let mut input = base();
        input.authorization = None;
        input.query = &query;
        input.now = UNIX_EPOCH + Duration::from_secs(now);
        let _ = run(&input);
    }
}
