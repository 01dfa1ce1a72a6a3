//! Server-side verification of AWS Signature Version 4 (`AWS4-HMAC-SHA256`).
//!
//! [`verify`] takes a request as the HTTP server received it (raw path and query, headers,
//! body), a [`CredentialStore`] that maps access key ids to secrets, the current time and
//! the service name the credential must be scoped to (`payment-cryptography`), and either
//! returns who signed it ([`Verified`]) or an [`AuthError`] carrying the AWS error code and
//! message to send back.
//!
//! Both ways of signing are accepted:
//! - the `Authorization` header (`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
//!   Signature=…`), dated by `X-Amz-Date` (or `Date`), at most 5 minutes away from `now`;
//! - presigned query parameters (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//!   `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`), valid until `X-Amz-Date`
//!   plus `X-Amz-Expires` (at most 7 days).
//!
//! The payload hash is `x-amz-content-sha256` when the client sent one (it must then be
//! `UNSIGNED-PAYLOAD` or the body's SHA-256), else the SHA-256 of the body: the AWS SDK for
//! Rust sends no such header. The crate does no I/O and reads no clock; it never panics on
//! any input, and compares signatures in constant time.

mod auth;
mod canonical;
mod error;
mod signing;
mod time;

pub use error::AuthError;

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::time::SystemTime;

use subtle::ConstantTimeEq;

use crate::auth::{AuthParams, Location};
use crate::canonical::{CanonicalRequest, QueryParam};
use crate::time::Timestamp;

/// How far the request time may be from the server's clock, either way: 5 minutes.
const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// A request as the server received it.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path as received, still percent-encoded, e.g. `/`.
    pub path: &'a str,
    /// The query string as received, without the `?` (empty when there is none).
    pub query: &'a str,
    /// The request headers. `host` must be among them (with HTTP/2, copy the `:authority`
    /// into a `host` header first).
    pub headers: &'a http::HeaderMap,
    /// The whole request body.
    pub body: &'a [u8],
}

/// The secret behind an access key id, and whom it belongs to.
#[derive(Clone)]
pub struct Credential {
    /// The secret access key. Never printed by `Debug`.
    pub secret_access_key: String,
    /// Opaque to this crate, e.g. the account id; handed back in [`Verified`].
    pub principal: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("secret_access_key", &"<redacted>")
            .field("principal", &self.principal)
            .finish()
    }
}

/// Where [`verify`] looks up the secret of an access key id.
pub trait CredentialStore {
    /// The credential of `access_key_id`, or `None` when it is unknown.
    fn lookup(&self, access_key_id: &str) -> Option<Credential>;
}

/// A map from access key id to credential is a store.
impl<S: BuildHasher> CredentialStore for HashMap<String, Credential, S> {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        self.get(access_key_id).cloned()
    }
}

/// Who signed a request that passed verification.
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id of the credential scope.
    pub access_key_id: String,
    /// The [`Credential::principal`] of that access key.
    pub principal: String,
    /// The region of the credential scope, e.g. `us-east-1`.
    pub region: String,
    /// The service of the credential scope (the one `verify` was asked to check).
    pub service: String,
    /// The session token (`X-Amz-Security-Token` header or query parameter), if any. It is
    /// returned as sent; checking it is up to the caller. Never printed by `Debug`.
    pub security_token: Option<String>,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("access_key_id", &self.access_key_id)
            .field("principal", &self.principal)
            .field("region", &self.region)
            .field("service", &self.service)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Verifies the SigV4 signature of `req` at time `now`, for credentials scoped to
/// `service`.
///
/// Checks, in order: that the request carries a signature at all, its form, the day of the
/// credential scope against the request date, the service of the scope, the clock (or the
/// presigned expiry), the presence of every signed header, the payload hash, the access key
/// id, and finally the signature itself.
pub fn verify(
    req: &Request<'_>,
    store: &dyn CredentialStore,
    now: SystemTime,
    service: &str,
) -> Result<Verified, AuthError> {
    let query = canonical::parse_query(req.query);
    let params = auth::extract(req.headers, &query)?;
    let scope = &params.scope;

    let request_day = params.timestamp.date_stamp();
    if scope.date != request_day {
        return Err(AuthError::IncompleteSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{request_day}', from '{}'.",
            excerpt(&scope.date),
            params.timestamp
        )));
    }
    if scope.service != service {
        return Err(AuthError::WrongService {
            expected: service.to_owned(),
        });
    }
    check_time(
        params.timestamp,
        params.location,
        Timestamp::from_system_time(now),
    )?;

    let canonical_request = canonical_request(req, &query, &params)?;

    let credential = store
        .lookup(&scope.access_key_id)
        .ok_or(AuthError::UnrecognizedClient)?;
    let string_to_sign = signing::string_to_sign(
        params.timestamp,
        &signing::scope(&scope.date, &scope.region, &scope.service),
        &canonical::sha256_hex(&canonical_request.to_bytes()),
    );
    let expected = signing::signature(
        &credential.secret_access_key,
        &scope.date,
        &scope.region,
        &scope.service,
        &string_to_sign,
    );
    if !bool::from(expected.as_bytes().ct_eq(params.signature.as_bytes())) {
        return Err(AuthError::SignatureMismatch);
    }
    Ok(Verified {
        access_key_id: params.scope.access_key_id,
        principal: credential.principal,
        region: params.scope.region,
        service: params.scope.service,
        security_token: params.security_token,
    })
}

/// The canonical request of `req` for the signature described by `params`; a presigned
/// request's `X-Amz-Signature` is left out of the query.
fn canonical_request<'a>(
    req: &Request<'a>,
    query: &[QueryParam],
    params: &AuthParams,
) -> Result<CanonicalRequest<'a>, AuthError> {
    let excluded = match params.location {
        Location::Header => None,
        Location::Query { .. } => Some(auth::Q_SIGNATURE),
    };
    Ok(CanonicalRequest {
        method: req.method,
        uri: canonical::canonical_uri(req.path),
        query: canonical::canonical_query(query, excluded),
        headers: canonical::canonical_headers(req.headers, &params.signed_headers)?,
        signed_headers: params.signed_headers.join(";"),
        payload_hash: canonical::payload_hash(req.headers, req.body)?,
    })
}

/// Refuses a request dated more than 5 minutes after `now` (not yet current), a header-signed
/// request dated more than 5 minutes before it and a presigned request past its expiry
/// (expired).
fn check_time(request: Timestamp, location: Location, now: Timestamp) -> Result<(), AuthError> {
    let latest = now.offset(MAX_CLOCK_SKEW_SECONDS);
    if request > latest {
        return Err(AuthError::SignatureNotYetCurrent(format!(
            "Signature not yet current: {request} is still later than {latest} ({now} + 5 min.): \
             the request time is too far in the future; check the client's clock."
        )));
    }
    let (window, window_text) = match location {
        Location::Header => (MAX_CLOCK_SKEW_SECONDS, "5 min.".to_owned()),
        Location::Query { expires } if expires % 60 == 0 => {
            (i64::from(expires), format!("{} min.", expires / 60))
        }
        Location::Query { expires } => (i64::from(expires), format!("{expires} sec.")),
    };
    let earliest = now.offset(-window);
    if request < earliest {
        return Err(AuthError::SignatureExpired(format!(
            "Signature expired: {request} is now earlier than {earliest} ({now} - {window_text})"
        )));
    }
    Ok(())
}

/// A short, printable excerpt of client input for error messages: at most 64 characters,
/// control characters replaced by `?`.
fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out: String = text
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse_iso_basic(text).unwrap()
    }

    fn expired_message(result: Result<(), AuthError>) -> String {
        match result {
            Err(AuthError::SignatureExpired(message)) => message,
            other => panic!("expected SignatureExpired, got {other:?}"),
        }
    }

    #[test]
    fn clock_skew_messages() {
        let now = ts("20231025T122000Z");
        assert_eq!(
            expired_message(check_time(ts("20231025T120000Z"), Location::Header, now)),
            "Signature expired: 20231025T120000Z is now earlier than 20231025T121500Z \
             (20231025T122000Z - 5 min.)"
        );
        assert_eq!(
            check_time(ts("20231025T123000Z"), Location::Header, now),
            Err(AuthError::SignatureNotYetCurrent(
                "Signature not yet current: 20231025T123000Z is still later than \
                 20231025T122500Z (20231025T122000Z + 5 min.): the request time is too far in \
                 the future; check the client's clock."
                    .into()
            ))
        );
        // Exactly 5 minutes either way is still accepted.
        assert!(check_time(ts("20231025T121500Z"), Location::Header, now).is_ok());
        assert!(check_time(ts("20231025T122500Z"), Location::Header, now).is_ok());
    }

    #[test]
    fn presigned_expiry() {
        let signed = ts("20231025T120000Z");
        let query = |expires| Location::Query { expires };
        assert!(check_time(signed, query(900), ts("20231025T121500Z")).is_ok());
        assert_eq!(
            expired_message(check_time(signed, query(900), ts("20231025T121501Z"))),
            "Signature expired: 20231025T120000Z is now earlier than 20231025T120001Z \
             (20231025T121501Z - 15 min.)"
        );
        assert!(
            expired_message(check_time(signed, query(90), ts("20231025T121501Z")))
                .ends_with("(20231025T121501Z - 90 sec.)")
        );
        assert!(check_time(signed, query(604_800), ts("20231101T120000Z")).is_ok());
        assert!(check_time(signed, query(604_800), ts("20231101T120001Z")).is_err());
        assert!(check_time(signed, query(3600), ts("20231025T114000Z")).is_err());
    }

    /// A file of the test suite copy in tests/aws-signing-test-suite/v4.
    fn suite_file(name: &str) -> String {
        let path = format!(
            "{}/tests/aws-signing-test-suite/v4/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap()
    }

    /// Rebuilds the canonical request and string to sign of a request and compares them
    /// with the test suite's files (see tests/aws-signing-test-suite/README.md).
    fn assert_matches_suite(
        method: &str,
        path_and_query: &str,
        headers: &[(&'static str, &str)],
        body: &[u8],
        expected_canonical_request: &str,
        expected_string_to_sign: &str,
    ) {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, http::HeaderValue::from_str(value).unwrap());
        }
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let req = Request {
            method,
            path,
            query,
            headers: &map,
            body,
        };
        let params_query = canonical::parse_query(query);
        let params = auth::extract(&map, &params_query).unwrap();
        let canonical_request = canonical_request(&req, &params_query, &params)
            .unwrap()
            .to_bytes();
        assert_eq!(
            String::from_utf8(canonical_request.clone()).unwrap(),
            expected_canonical_request.trim_end_matches('\n')
        );
        let string_to_sign = signing::string_to_sign(
            params.timestamp,
            &signing::scope("20150830", "us-east-1", "service"),
            &canonical::sha256_hex(&canonical_request),
        );
        assert_eq!(string_to_sign, expected_string_to_sign);
    }

    #[test]
    fn canonical_requests_match_the_suite() {
        let date = ("x-amz-date", "20150830T123600Z");
        let host = ("host", "example.amazonaws.com");
        let scope = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
        let header_auth = format!(
            "AWS4-HMAC-SHA256 {scope}, SignedHeaders=content-length;host;x-amz-content-sha256;\
             x-amz-date, Signature=9fb60e8938d2178a7d63b49e055d1e65d8f6226f38846e8e0293bf43ce29050c"
        );
        assert_matches_suite(
            "POST",
            "/",
            &[
                host,
                ("content-length", "13"),
                date,
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                ("authorization", &header_auth),
            ],
            b"Param1=value1\n",
            &suite_file("post-unsigned-payload/header-canonical-request.txt"),
            &suite_file("post-unsigned-payload/header-string-to-sign.txt"),
        );
        assert_matches_suite(
            "POST",
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2F\
             us-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=\
             content-length%3Bhost%3Bx-amz-content-sha256&X-Amz-Expires=3600&X-Amz-Signature=\
             d5b951b200c7f96f239466b3e1978083ccd08678d4aea2b0bebaa6b2cf3d8c13",
            &[
                host,
                ("content-length", "13"),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
            b"Param1=value1\n",
            &suite_file("post-unsigned-payload/query-canonical-request.txt"),
            &suite_file("post-unsigned-payload/query-string-to-sign.txt"),
        );
        let plus_auth = format!(
            "AWS4-HMAC-SHA256 {scope}, SignedHeaders=host;x-amz-date, \
             Signature=ae684ce3aadc299e3ac7d9216fcc039c7edf40dea57cf5b3005821dd2f176654"
        );
        assert_matches_suite(
            "GET",
            "/?c+d",
            &[host, date, ("authorization", &plus_auth)],
            b"",
            &suite_file("get-query-plus/header-canonical-request.txt"),
            &suite_file("get-query-plus/header-string-to-sign.txt"),
        );
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(excerpt("abc"), "abc");
        assert_eq!(excerpt("a\nb"), "a?b");
        let long = "ሴ".repeat(100);
        assert_eq!(excerpt(&long), format!("{}...", "ሴ".repeat(64)));
    }

    #[test]
    fn debug_redacts_secrets() {
        let credential = Credential {
            secret_access_key: "SECRETSECRET".into(),
            principal: "111122223333".into(),
        };
        let printed = format!("{credential:?}");
        assert!(!printed.contains("SECRETSECRET") && printed.contains("111122223333"));
        let verified = Verified {
            access_key_id: "AKID".into(),
            principal: "111122223333".into(),
            region: "us-east-1".into(),
            service: "payment-cryptography".into(),
            security_token: Some("TOKENTOKEN".into()),
        };
        let printed = format!("{verified:?}");
        assert!(!printed.contains("TOKENTOKEN") && printed.contains("AKID"));
    }
}
