//! The public AWS SigV4 test suite: every signed request in `tests/aws-signing-test-suite`
//! (see its README for the sources) must verify at the suite's time, and must fail once its
//! signature, its time or its credential is changed.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use paycrypt_sigv4::{AuthError, Credential, Request, Verified, verify};

/// 2015-08-30T12:36:00Z, the time every vector was signed at.
const SUITE_TIME: u64 = 1_440_938_160;
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn suite_time(offset_seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SUITE_TIME.checked_add_signed(offset_seconds).unwrap())
}

fn store() -> HashMap<String, Credential> {
    HashMap::from([(
        "AKIDEXAMPLE".to_owned(),
        Credential {
            secret_access_key: SECRET.to_owned(),
            principal: "111122223333".to_owned(),
        },
    )])
}

/// A request of the suite, parsed from its text form.
struct SuiteRequest {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl SuiteRequest {
    fn parse(text: &str) -> Self {
        let (head, body) = text
            .split_once("\n\n")
            .expect("blank line after the headers");
        let mut lines = head.lines();
        let request_line = lines.next().expect("request line");
        let (method, rest) = request_line.split_once(' ').expect("method");
        let target = rest.strip_suffix(" HTTP/1.1").expect("HTTP/1.1");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // A folded line: the suite's canonical requests take it as one more value of
                // the header above (`my-header1:value1,value2,value3`).
                let (name, _) = fields.last().expect("folded line after a header").clone();
                fields.push((name, line.trim().to_owned()));
            } else {
                let (name, value) = line.split_once(':').expect("header line");
                fields.push((name.to_owned(), value.trim().to_owned()));
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        SuiteRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn verify_at(&self, now: SystemTime) -> Result<Verified, AuthError> {
        let request = Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        };
        verify(&request, &store(), now, "service")
    }
}

fn vectors(kind: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws-signing-test-suite/v4");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join(format!("{kind}-signed-request.txt"));
        if file.exists() {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            found.push((name, std::fs::read_to_string(file).unwrap()));
        }
    }
    found.sort();
    found
}

const HEADER_VECTORS: [&str; 30] = [
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-query-plus",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-slash-dot-slash-normalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slashes-normalized",
    "get-space-normalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-after",
    "post-sts-header-before",
    "post-unsigned-payload",
    "post-vanilla",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
];

const QUERY_VECTORS: [&str; 9] = [
    "get-header-value-trim",
    "get-space-normalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-unsigned-payload",
];

#[test]
fn every_vector_is_present() {
    let names = |kind| {
        vectors(kind)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("header"), HEADER_VECTORS);
    assert_eq!(names("query"), QUERY_VECTORS);
}

#[test]
fn header_signed_vectors_verify() {
    for (name, text) in vectors("header") {
        let request = SuiteRequest::parse(&text);
        let verified = request
            .verify_at(suite_time(0))
            .unwrap_or_else(|e| panic!("{name}: {} {e}", e.code()));
        assert_eq!(verified.access_key_id, "AKIDEXAMPLE", "{name}");
        assert_eq!(verified.principal, "111122223333", "{name}");
        assert_eq!(verified.region, "us-east-1", "{name}");
        assert_eq!(verified.service, "service", "{name}");
        assert_eq!(
            verified.security_token.is_some(),
            name.contains("session-token") || name == "post-sts-header-before",
            "{name}"
        );
    }
}

#[test]
fn query_signed_vectors_verify_until_they_expire() {
    for (name, text) in vectors("query") {
        let request = SuiteRequest::parse(&text);
        for offset in [-300, 0, 3600] {
            request
                .verify_at(suite_time(offset))
                .unwrap_or_else(|e| panic!("{name} at {offset}: {} {e}", e.code()));
        }
        let expired = request.verify_at(suite_time(3601)).unwrap_err();
        assert!(
            matches!(&expired, AuthError::SignatureExpired(m) if m.starts_with("Signature expired: ")),
            "{name}: {expired:?}"
        );
        assert_eq!(expired.code(), "InvalidSignatureException");
        let early = request.verify_at(suite_time(-301)).unwrap_err();
        assert!(
            matches!(early, AuthError::SignatureNotYetCurrent(_)),
            "{name}"
        );
    }
}

#[test]
fn header_signed_vectors_expire_after_five_minutes() {
    for (name, text) in vectors("header") {
        let request = SuiteRequest::parse(&text);
        for offset in [-300, 300] {
            assert!(request.verify_at(suite_time(offset)).is_ok(), "{name}");
        }
        let early = request.verify_at(suite_time(-301)).unwrap_err();
        assert!(
            matches!(early, AuthError::SignatureNotYetCurrent(_)),
            "{name}"
        );
        let late = request.verify_at(suite_time(301)).unwrap_err();
        assert!(matches!(late, AuthError::SignatureExpired(_)), "{name}");
    }
}

/// Flips the last hex digit of the signature, wherever it is.
fn tamper_signature(text: &str) -> String {
    let marker = if text.contains("X-Amz-Signature=") {
        "X-Amz-Signature="
    } else {
        "Signature="
    };
    let start = text.rfind(marker).unwrap() + marker.len();
    let end = start + 64;
    let last = &text[end - 1..end];
    let flipped = if last == "0" { "1" } else { "0" };
    format!("{}{flipped}{}", &text[..end - 1], &text[end..])
}

#[test]
fn tampered_vectors_fail() {
    for kind in ["header", "query"] {
        for (name, text) in vectors(kind) {
            let tampered = SuiteRequest::parse(&tamper_signature(&text));
            assert_eq!(
                tampered.verify_at(suite_time(0)).unwrap_err(),
                AuthError::SignatureMismatch,
                "{kind} {name}"
            );
            let unknown = SuiteRequest::parse(&text.replace("AKIDEXAMPLE", "AKIDOTHER"));
            assert_eq!(
                unknown.verify_at(suite_time(0)).unwrap_err(),
                AuthError::UnrecognizedClient,
                "{kind} {name}"
            );
            // Another region in the scope: the derived key differs.
            let region = SuiteRequest::parse(&text.replace("us-east-1", "us-west-2"));
            assert_eq!(
                region.verify_at(suite_time(0)).unwrap_err(),
                AuthError::SignatureMismatch,
                "{kind} {name}"
            );
        }
    }
}

#[test]
fn tampered_expiry_fails() {
    for (name, text) in vectors("query") {
        let longer = SuiteRequest::parse(&text.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"));
        assert_eq!(
            longer.verify_at(suite_time(0)).unwrap_err(),
            AuthError::SignatureMismatch,
            "{name}"
        );
    }
}

#[test]
fn wrong_service_is_reported() {
    let (_, text) = vectors("header").swap_remove(0);
    let request = SuiteRequest::parse(&text);
    let req = Request {
        method: &request.method,
        path: &request.path,
        query: &request.query,
        headers: &request.headers,
        body: &request.body,
    };
    let error = verify(&req, &store(), suite_time(0), "payment-cryptography").unwrap_err();
    assert_eq!(
        error,
        AuthError::WrongService {
            expected: "payment-cryptography".into()
        }
    );
    assert_eq!(error.code(), "InvalidSignatureException");
    assert_eq!(
        error.to_string(),
        "Credential should be scoped to correct service: 'payment-cryptography'."
    );
}
