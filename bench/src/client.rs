//! A minimal client for AWS Payment Cryptography: the control plane (AWS JSON 1.0, `POST /` with
//! the operation in `X-Amz-Target`) and the data plane (rest-json, `POST` to the operation's
//! path with a JSON body). One keep-alive HTTP/1.1 connection pool (hyper), every request signed
//! with SigV4 by the `aws-sigv4` crate, so the same load runs against paycrypt, moto or the real
//! service.
//!
//! A key identifier in a data-plane path is one segment percent-encoded as botocore does it
//! ([`path_segment`]); `aws-sigv4`'s default settings then encode the path once more for the
//! canonical request, as every service but S3 expects (and as paycrypt verifies).

use std::time::SystemTime;

use anyhow::{Context as _, anyhow};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The signing name of the service.
const SERVICE: &str = "payment-cryptography";
const TARGET_PREFIX: &str = "PaymentCryptographyControlPlane.";

/// Where to send requests and as whom.
#[derive(Clone)]
pub struct Client {
    http: HyperClient<HttpConnector, Full<Bytes>>,
    endpoint: http::Uri,
    host: String,
    region: String,
    identity: Identity,
}

/// What came back: the HTTP status, the `x-amzn-ErrorType` header of a failed call and the body
/// as received. The body is parsed only when it is
/// needed (an output the caller uses, an error code), so measuring a call costs the client a JSON
/// syntax check rather than building a tree of the whole answer.
pub struct Answer {
    pub status: u16,
    /// The `x-amzn-ErrorType` header, where the rest-json protocol names the error.
    error_type: Option<String>,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when there is none or it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The AWS error code of a failed call, as botocore reads it: the `x-amzn-ErrorType` header
    /// up to any `:`, else the body's `__type`, either without its namespace; else the status.
    pub fn error_code(&self) -> String {
        let body = self.json();
        let named = match &self.error_type {
            Some(header) => header.split(':').next(),
            None => body.get("__type").and_then(Value::as_str),
        };
        match named.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.rsplit('#').next().unwrap_or(t).to_string(),
            None => format!("HTTP{}", self.status),
        }
    }

    /// Whether the call succeeded: status 200 with a well-formed JSON body.
    pub fn ok(&self) -> bool {
        self.status == 200 && serde_json::from_slice::<serde::de::IgnoredAny>(&self.body).is_ok()
    }

    /// The output of a successful call, or an error naming `what` was called and the AWS error.
    fn output(self, what: &str) -> anyhow::Result<Value> {
        let body = self.json();
        if self.ok() {
            return Ok(body);
        }
        Err(anyhow!(
            "{what} failed: {} {}",
            self.error_code(),
            body.get("message")
                .or_else(|| body.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or("")
        ))
    }
}

/// A JSON request body, serialized and hashed (SHA-256, for the signature) once. A data-plane
/// call is sent the same many times, so the load generator then spends neither again per
/// request; the server still hashes what it receives to check the signature.
#[derive(Clone)]
pub struct Body {
    bytes: Bytes,
    sha256_hex: String,
}

impl Body {
    pub fn new(input: &Value) -> anyhow::Result<Self> {
        let bytes = Bytes::from(serde_json::to_vec(input)?);
        let sha256_hex = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self { bytes, sha256_hex })
    }
}

/// `segment` percent-encoded as one path segment, as botocore's `quote(value, safe='')` does:
/// every byte but `A-Z a-z 0-9 - _ . ~` becomes `%XX`, so the `:` and `/` of a key ARN or alias
/// stay inside the segment.
pub fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() * 3);
    for &b in segment.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    pub fn new(
        endpoint: &str,
        region: &str,
        access_key: &str,
        secret_key: &str,
        session_token: Option<String>,
        connections: usize,
    ) -> anyhow::Result<Self> {
        let endpoint: http::Uri = endpoint
            .parse()
            .with_context(|| format!("endpoint {endpoint:?} is not a URL"))?;
        let host = endpoint
            .authority()
            .ok_or_else(|| anyhow!("endpoint {endpoint} has no host"))?
            .to_string();
        if endpoint.scheme_str() != Some("http") {
            return Err(anyhow!(
                "only http:// endpoints are supported (run a TLS terminator in front for https)"
            ));
        }
        if !matches!(endpoint.path(), "" | "/") {
            return Err(anyhow!(
                "endpoint {endpoint} has a path: the service's paths start at the root"
            ));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(connections)
            .build(connector);
        let identity = Credentials::new(
            access_key,
            secret_key,
            session_token,
            None,
            "paycrypt-bench",
        )
        .into();
        Ok(Self {
            http,
            endpoint,
            host,
            region: region.to_string(),
            identity,
        })
    }

    /// Calls the control-plane `operation` with the JSON `input`.
    pub async fn call(&self, operation: &str, input: &Value) -> anyhow::Result<Answer> {
        let target = format!("{TARGET_PREFIX}{operation}");
        let request = self.signed_request("/", Some(&target), &Body::new(input)?)?;
        self.send(request).await
    }

    /// Calls the data-plane operation at `path` (already percent-encoded, e.g.
    /// `/mac/generate`) with `body`.
    pub async fn call_data(&self, path: &str, body: &Body) -> anyhow::Result<Answer> {
        let request = self.signed_request(path, None, body)?;
        self.send(request).await
    }

    /// Calls the control-plane `operation` and returns its output, or an error naming the AWS
    /// error code.
    pub async fn expect(&self, operation: &str, input: &Value) -> anyhow::Result<Value> {
        self.call(operation, input).await?.output(operation)
    }

    /// Calls the data-plane operation at `path` and returns its output, or an error naming the
    /// AWS error code.
    pub async fn expect_data(&self, path: &str, body: &Body) -> anyhow::Result<Value> {
        self.call_data(path, body).await?.output(path)
    }

    /// A `POST` of `body` to `path` on the endpoint, signed: with `target`, an AWS JSON 1.0
    /// control-plane call; without, a rest-json data-plane call.
    fn signed_request(
        &self,
        path: &str,
        target: Option<&str>,
        body: &Body,
    ) -> anyhow::Result<http::Request<Full<Bytes>>> {
        let mut uri = http::uri::Parts::default();
        uri.scheme = self.endpoint.scheme().cloned();
        uri.authority = self.endpoint.authority().cloned();
        uri.path_and_query = Some(path.parse()?);
        let uri = http::Uri::from_parts(uri)?;
        let mut request = http::Request::builder()
            .method("POST")
            .uri(&uri)
            .header("host", &self.host);
        request = match target {
            Some(target) => request
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", target),
            None => request.header("content-type", "application/json"),
        };
        let mut request = request.body(())?;
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(n, v)| Ok((n.as_str().to_owned(), v.to_str()?.to_owned())))
            .collect::<anyhow::Result<_>>()?;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let signable = SignableRequest::new(
            "POST",
            uri.to_string(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Precomputed(body.sha256_hex.clone()),
        )?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(request.map(|()| Full::new(body.bytes.clone())))
    }

    async fn send(&self, request: http::Request<Full<Bytes>>) -> anyhow::Result<Answer> {
        let response = self.http.request(request).await?;
        let status = response.status().as_u16();
        let error_type = (status != 200)
            .then(|| response.headers().get("x-amzn-errortype"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            error_type,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use paycrypt_sigv4::{AuthError, Credential, Request};
    use serde_json::json;

    use super::*;

    const ARN: &str = "arn:aws:payment-cryptography:us-east-1:111122223333:key/abcd1234efgh5678";

    fn client() -> Client {
        Client::new(
            "http://127.0.0.1:9120",
            "us-east-1",
            "AKIDBENCH",
            "s3cr3t",
            None,
            1,
        )
        .unwrap()
    }

    /// Verifies `request` as paycrypt's server does, with `path` as the path it received.
    fn verify(request: &http::Request<Full<Bytes>>, path: &str) -> Result<(), AuthError> {
        let store = HashMap::from([(
            "AKIDBENCH".to_owned(),
            Credential {
                secret_access_key: "s3cr3t".to_owned(),
                principal: "111122223333".to_owned(),
            },
        )]);
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(request.body().clone().collect())
            .unwrap()
            .to_bytes();
        let received = Request {
            method: "POST",
            path,
            query: "",
            headers: request.headers(),
            body: &body,
        };
        paycrypt_sigv4::verify(&received, &store, SystemTime::now(), SERVICE).map(|_| ())
    }

    #[test]
    fn path_segments_are_encoded_as_botocore_quotes_them() {
        // Expected values from Python: urllib.parse.quote(value, safe='').
        assert_eq!(
            path_segment(ARN),
            "arn%3Aaws%3Apayment-cryptography%3Aus-east-1%3A111122223333%3Akey%2Fabcd1234efgh5678"
        );
        assert_eq!(path_segment("alias/my-key_1.x~y"), "alias%2Fmy-key_1.x~y");
    }

    #[test]
    fn data_plane_requests_verify_as_paycrypt_checks_them() {
        let path = format!("/keys/{}/encrypt", path_segment(ARN));
        let request = client()
            .signed_request(
                &path,
                None,
                &Body::new(&json!({"PlainText": "00"})).unwrap(),
            )
            .unwrap();
        assert_eq!(request.uri().path(), path);
        assert_eq!(request.headers()["content-type"], "application/json");
        assert!(request.headers().get("x-amz-target").is_none());
        verify(&request, &path).unwrap();
        // The signature covers the path as sent, encoded once more: the same request read
        // with the identifier decoded does not verify.
        let decoded = format!("/keys/{ARN}/encrypt");
        assert!(matches!(
            verify(&request, &decoded),
            Err(AuthError::SignatureMismatch)
        ));
    }

    #[test]
    fn control_plane_requests_verify_as_paycrypt_checks_them() {
        let request = client()
            .signed_request(
                "/",
                Some("PaymentCryptographyControlPlane.GetKey"),
                &Body::new(&json!({})).unwrap(),
            )
            .unwrap();
        assert_eq!(
            request.headers()["content-type"],
            "application/x-amz-json-1.0"
        );
        verify(&request, "/").unwrap();
    }

    #[test]
    fn error_codes_come_from_the_header_then_the_body() {
        let answer = |error_type: Option<&str>, body: &str| Answer {
            status: 400,
            error_type: error_type.map(str::to_owned),
            body: Bytes::from(body.to_owned()),
        };
        let header = "VerificationFailedException:http://internal.amazon.com/coral/";
        assert_eq!(
            answer(Some(header), "{}").error_code(),
            "VerificationFailedException"
        );
        assert_eq!(
            answer(None, r#"{"__type":"com.amazonaws#ValidationException"}"#).error_code(),
            "ValidationException"
        );
        assert_eq!(answer(None, "not json").error_code(), "HTTP400");
    }
}
