//! A minimal AWS JSON 1.0 client for the Payment Cryptography control plane: one keep-alive
//! HTTP/1.1 connection pool (hyper), every request signed with SigV4 by the `aws-sigv4` crate,
//! so the same load runs against paycrypt, moto or the real service.

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

/// What came back: the HTTP status and the body as received. The body is parsed only when it is
/// needed (an output the caller uses, an error code), so measuring a call costs the client a JSON
/// syntax check rather than building a tree of the whole answer.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when there is none or it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The AWS error code of a failed call (`__type` without its namespace), or the status.
    pub fn error_code(&self) -> String {
        match self.json().get("__type").and_then(Value::as_str) {
            Some(t) => t.rsplit('#').next().unwrap_or(t).to_string(),
            None => format!("HTTP{}", self.status),
        }
    }

    /// Whether the call succeeded: status 200 with a well-formed JSON body.
    pub fn ok(&self) -> bool {
        self.status == 200 && serde_json::from_slice::<serde::de::IgnoredAny>(&self.body).is_ok()
    }
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

    /// Calls `operation` with the JSON `input`.
    pub async fn call(&self, operation: &str, input: &Value) -> anyhow::Result<Answer> {
        let body = serde_json::to_vec(input)?;
        let target = format!("{TARGET_PREFIX}{operation}");
        let mut request = http::Request::builder()
            .method("POST")
            .uri(self.endpoint.clone())
            .header("host", &self.host)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", &target)
            .body(())?;
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
            self.endpoint.to_string(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let request = request.map(|()| Full::new(Bytes::from(body)));
        let response = self.http.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer { status, body })
    }

    /// Calls `operation` and returns its output, or an error naming the AWS error code.
    pub async fn expect(&self, operation: &str, input: &Value) -> anyhow::Result<Value> {
        let answer = self.call(operation, input).await?;
        let body = answer.json();
        if answer.ok() {
            Ok(body)
        } else {
            Err(anyhow!(
                "{operation} failed: {} {}",
                answer.error_code(),
                body.get("message")
                    .or_else(|| body.get("Message"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ))
        }
    }
}
