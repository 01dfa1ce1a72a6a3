//! STS `GetCallerIdentity` on the same listener, so that a client which asks STS who it is before
//! anything else (the AWS samples, Terraform's provider) works with one endpoint URL.
//!
//! The AWS Query protocol: `POST /` with `Content-Type: application/x-www-form-urlencoded` and the
//! body `Action=GetCallerIdentity&Version=2011-06-15`, signed with SigV4 for the service `sts`.
//! The answer is STS's XML: the account of the access key and, for an account's root credential,
//! `arn:aws:iam::ACCOUNT:root` with the account id as `UserId` (what AWS answers for root
//! credentials); for a user's, `arn:aws:iam::ACCOUNT:user/NAME` with a stable `AIDA...` user id.
//! Any other action is STS's `InvalidAction` error. Nothing else of
//! STS or IAM is served.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::{AppState, MAX_BODY_BYTES};

/// The signing name of STS.
const SERVICE: &str = "sts";
const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Whether a `POST /` is an AWS Query request, which this module answers: form-encoded, and
/// without the `X-Amz-Target` of the JSON protocol (a control-plane call declared form-encoded
/// stays the control plane's SerializationException).
pub fn is_query_request(headers: &HeaderMap) -> bool {
    !headers.contains_key("x-amz-target")
        && headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| {
                media
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
}

/// An STS error: its HTTP status, `Type` (`Sender` or `Receiver`), `Code` and `Message`.
struct StsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StsError {
    fn sender(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

/// STS's names for the SigV4 failures.
fn auth_error(error: paycrypt_sigv4::AuthError) -> StsError {
    let (status, code) = match error.code() {
        "MissingAuthenticationTokenException" => {
            (StatusCode::FORBIDDEN, "MissingAuthenticationToken")
        }
        "IncompleteSignatureException" => (StatusCode::BAD_REQUEST, "IncompleteSignature"),
        "UnrecognizedClientException" => (StatusCode::FORBIDDEN, "InvalidClientTokenId"),
        _ => (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
    };
    StsError::sender(status, code, error.to_string())
}

/// Escapes text for an XML element.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}

fn error_response(error: &StsError, request_id: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        error.code,
        xml_text(&error.message)
    );
    xml_response(error.status, body, request_id)
}

/// Who signed a GetCallerIdentity request: its account and user; any other action is
/// `InvalidAction`.
async fn caller(
    state: &AppState,
    request: Request<Body>,
) -> Result<(String, Option<String>), StsError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            StsError::sender(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("The request body is larger than the {MAX_BODY_BYTES}-byte limit."),
            )
        })?;
    let now = crate::dispatch::system_time(state.clock.now());
    let signer = state
        .credentials
        .verify(&parts, &body, now, SERVICE)
        .map_err(auth_error)?;
    let action = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "Action")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if action != "GetCallerIdentity" {
        let shown: String = action.chars().take(100).collect();
        return Err(StsError::sender(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!("Could not find operation {shown} for version 2011-06-15"),
        ));
    }
    Ok((signer.verified.principal, signer.user))
}

/// `POST /` with a form-encoded body: STS GetCallerIdentity.
pub async fn handle(state: &AppState, request: Request<Body>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    match caller(state, request).await {
        Ok((account, user)) => {
            tracing::debug!(request_id, operation = "GetCallerIdentity", "request");
            let arn = xml_text(&paycrypt_service::principal_arn(&account, user.as_deref()));
            let user_id = xml_text(&match &user {
                Some(name) => paycrypt_service::user_id(&account, name),
                None => account.clone(),
            });
            let account = xml_text(&account);
            let body = format!(
                "<GetCallerIdentityResponse xmlns=\"{XMLNS}\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    <UserId>{user_id}</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n"
            );
            xml_response(StatusCode::OK, body, &request_id)
        }
        Err(error) => {
            tracing::info!(request_id, error = error.code, "STS request refused");
            error_response(&error, &request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    axum::http::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn only_form_encoded_requests_without_a_target_are_sts() {
        let form = "application/x-www-form-urlencoded; charset=utf-8";
        assert!(is_query_request(&headers(&[("content-type", form)])));
        assert!(is_query_request(&headers(&[(
            "content-type",
            "Application/X-WWW-Form-Urlencoded"
        )])));
        assert!(!is_query_request(&headers(&[
            ("content-type", form),
            ("x-amz-target", "PaymentCryptographyControlPlane.ListKeys"),
        ])));
        assert!(!is_query_request(&headers(&[(
            "content-type",
            "application/x-amz-json-1.0"
        )])));
        assert!(!is_query_request(&headers(&[])));
    }

    #[test]
    fn xml_text_escapes_markup() {
        assert_eq!(xml_text("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
