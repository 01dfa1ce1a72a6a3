//! The request pipeline of both planes: bounded body, SigV4, routing (`POST /` by
//! `X-Amz-Target` to the control plane, any other path by the data plane's HTTP bindings),
//! decoding, the service call, and the response with its request id.

use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use http_body_util::BodyExt;
use paycrypt_api::{
    AnyOperation, ApiError, ErrorCode, Operation, Timestamp, data, decode_input, is_region,
};
use paycrypt_service::{Caller, Context};

use crate::audit::{RequestFacts, RequestInput, is_audited, key_members};
use crate::data_routes::{self, DataRoute};
use crate::wire_error::{
    JSON_CONTENT_TYPE, REST_JSON_CONTENT_TYPE, auth_error_code, error_response,
};
use crate::{AppState, MAX_BODY_BYTES, PeerAddr};

const SERVICE: &str = "payment-cryptography";
const TARGET_PREFIX: &str = "PaymentCryptographyControlPlane.";

fn operation(headers: &HeaderMap) -> Result<Operation, ApiError> {
    let targets = headers.get_all("x-amz-target").iter().count();
    if targets > 1 {
        return Err(ApiError::new(
            ErrorCode::UnknownOperationException,
            format!("The request has {targets} X-Amz-Target headers; send exactly one."),
        ));
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    target
        .strip_prefix(TARGET_PREFIX)
        .and_then(Operation::from_name)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownOperationException,
                format!("Operation '{target}' is not known to PaymentCryptographyControlPlane."),
            )
        })
}

/// How much of an oversized body is still read (and thrown away) before the 413 is sent.
const DRAIN_LIMIT_BYTES: usize = 8 * MAX_BODY_BYTES;

/// Reads the whole body, at most [`MAX_BODY_BYTES`]. A larger body is still read to its end (up
/// to [`DRAIN_LIMIT_BYTES`], and discarded), so that a client still sending it receives the 413
/// instead of a connection reset.
async fn read_body(mut body: Body) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::new(
                ErrorCode::SerializationException,
                "The request body could not be read to its end.",
            ));
        };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= MAX_BODY_BYTES {
                bytes.extend_from_slice(&data);
            } else if seen > DRAIN_LIMIT_BYTES {
                break;
            }
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::RequestEntityTooLargeException,
            format!("The request body is larger than the {MAX_BODY_BYTES}-byte limit."),
        ));
    }
    Ok(bytes)
}

/// The media types a request body may be declared as, on either plane: AWS JSON 1.0 (what every
/// SDK sends to the control plane), 1.1, and plain JSON (what they send to the data plane), with
/// any parameters (`; charset=utf-8`). A request without a Content-Type is read as JSON too; any
/// other type, or more than one Content-Type header, is refused, naming the plane's own type.
fn check_content_type(headers: &HeaderMap, plane: Plane) -> Result<(), ApiError> {
    let expected = plane.content_type();
    let values: Vec<_> = headers.get_all("content-type").iter().collect();
    let refuse = |message: String| Err(ApiError::new(ErrorCode::SerializationException, message));
    match values.as_slice() {
        [] => Ok(()),
        [value] => {
            let media_type = value.to_str().ok().and_then(|v| v.split(';').next());
            let media_type = media_type.map(|v| v.trim().to_ascii_lowercase());
            match media_type.as_deref() {
                Some(
                    "application/x-amz-json-1.0"
                    | "application/x-amz-json-1.1"
                    | "application/json",
                ) => Ok(()),
                _ => {
                    let shown: String = String::from_utf8_lossy(value.as_bytes())
                        .chars()
                        .take(100)
                        .collect();
                    refuse(format!(
                        "Content-Type '{shown}' is not supported; send {expected}."
                    ))
                }
            }
        }
        many => refuse(format!(
            "The request has {} Content-Type headers; send one, {expected}.",
            many.len()
        )),
    }
}

/// Which plane a request was sent to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plane {
    /// `POST /`, routed by `X-Amz-Target`.
    Control,
    /// Any other path, routed by the data plane's HTTP bindings.
    Data,
}

impl Plane {
    /// The plane as the audit trail names it.
    fn audited(self) -> paycrypt_service::Plane {
        match self {
            Plane::Control => paycrypt_service::Plane::Control,
            Plane::Data => paycrypt_service::Plane::Data,
        }
    }

    /// The media type of the plane's responses, and the one its SDKs send.
    fn content_type(self) -> &'static str {
        match self {
            Plane::Control => JSON_CONTENT_TYPE,
            Plane::Data => REST_JSON_CONTENT_TYPE,
        }
    }
}

/// What a request asks for, once routed.
enum Routed {
    Control(Operation),
    Data(DataRoute),
}

impl Routed {
    fn operation(&self) -> AnyOperation {
        match self {
            Self::Control(op) => AnyOperation::Control(*op),
            Self::Data(route) => AnyOperation::Data(route.operation),
        }
    }
}

fn route(plane: Plane, parts: &axum::http::request::Parts) -> Result<Routed, ApiError> {
    match plane {
        Plane::Control => operation(&parts.headers).map(Routed::Control),
        Plane::Data => {
            let (method, path) = (parts.method.as_str(), parts.uri.path());
            data_routes::route(method, path)?
                .map(Routed::Data)
                .ok_or_else(|| data_routes::unknown_path(method, path))
        }
    }
}

async fn process(
    state: &AppState,
    plane: Plane,
    request: Request<Body>,
    request_id: &str,
    facts: &mut RequestFacts,
) -> Result<(AnyOperation, Vec<u8>), ApiError> {
    let (parts, body) = request.into_parts();
    // Routed before authentication so the audit line can name the operation; a routing error is
    // answered only after authentication, like every other refusal.
    let routed = route(plane, &parts);
    facts.operation = routed.as_ref().ok().map(Routed::operation);
    let body = read_body(body).await?;
    let now = state.clock.now();
    let system_now = system_time(now);
    let signer = state
        .credentials
        .verify(&parts, &body, system_now, SERVICE)
        .map_err(|e| ApiError::new(auth_error_code(e.code()), e.to_string()))?;
    let verified = signer.verified;
    if !is_region(&verified.region) {
        return Err(ApiError::new(
            ErrorCode::InvalidSignatureException,
            format!(
                "Credential should be scoped to a valid region, not '{}'.",
                verified.region
            ),
        ));
    }
    let routed = routed?;
    let op = routed.operation();
    let ctx = Context {
        account: verified.principal,
        caller: Caller {
            access_key_id: Some(verified.access_key_id),
            user: signer.user,
            identity_policy: signer.identity_policy,
            source_ip: facts.source_ip,
            user_agent: facts.user_agent.clone(),
            plane: facts.plane,
        },
        region: verified.region,
        operation: op,
        request_id: request_id.to_string(),
        now,
    };
    facts.context = Some(ctx.clone());
    if !state.rate_limiter.admit(&ctx.account, now) {
        return Err(ApiError::new(
            ErrorCode::ThrottlingException,
            "Rate exceeded: this account sends more requests per second than allowed.",
        ));
    }
    check_content_type(&parts.headers, plane)?;
    let output = match routed {
        Routed::Control(op) => {
            let input = decode_input(op, &body)?;
            let output = state.service.handle(&ctx, input).await;
            // A refused Get* or List* is audited too, with the key it named.
            let refused = matches!(&output, Err(e) if e.code == ErrorCode::AccessDeniedException);
            if state.audit.is_some() && (is_audited(ctx.operation) || refused) {
                facts.input = Some(RequestInput::Body(body));
            }
            output?
        }
        Routed::Data(route) => {
            let input = data::decode_input(route.operation, &body, &route.labels)?;
            // A success's audit line names the key the operation used; a refusal's, the key
            // members of the request.
            match state.service.handle_data(&ctx, input).await {
                Ok(answer) => {
                    facts.used_key_arn = answer.key_arn;
                    answer.body
                }
                Err(error) => {
                    if state.audit.is_some() {
                        facts.input = Some(RequestInput::Value(key_members(&body, &route.labels)));
                    }
                    return Err(error);
                }
            }
        }
    };
    Ok((op, output))
}

/// The address the connection came from (known when the server was started with connection
/// info, as [`crate::serve`] does).
pub(crate) fn source_ip(parts: &axum::http::request::Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<PeerAddr>>()
        .map(|info| info.0.0.ip())
}

/// The `User-Agent` header, as sent (bounded, and only when it is text).
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    const MAX_CHARS: usize = 256;
    let agent = headers.get("user-agent")?.to_str().ok()?;
    Some(agent.chars().take(MAX_CHARS).collect())
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// The `Date` header from the service clock, which SDKs use to correct their clock skew.
fn with_date(mut response: Response, now: Timestamp) -> Response {
    let date = httpdate::fmt_http_date(system_time(now));
    if let Ok(value) = HeaderValue::from_str(&date) {
        response.headers_mut().insert("date", value);
    }
    response
}

pub(crate) fn system_time(now: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(now.as_millis()).unwrap_or(0))
}

/// `POST /`: one control-plane call (a form-encoded one is STS's, see [`crate::sts`]).
pub async fn handle(State(state): State<AppState>, request: Request<Body>) -> Response {
    if crate::sts::is_query_request(request.headers()) {
        return crate::sts::handle(&state, request).await;
    }
    serve(state, Plane::Control, request).await
}

/// Any other path: one data-plane call, routed by method and path once authenticated (a method
/// and path bound to no operation is a 404, like any unknown path).
pub async fn handle_data(State(state): State<AppState>, request: Request<Body>) -> Response {
    serve(state, Plane::Data, request).await
}

async fn serve(state: AppState, plane: Plane, request: Request<Body>) -> Response {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let mut facts = RequestFacts::new(
        plane.audited(),
        source_ip(&parts),
        user_agent(&parts.headers),
    );
    let request = Request::from_parts(parts, body);
    let handling = process(&state, plane, request, &request_id, &mut facts);
    let result = unless_panicked(&request_id, handling).await;
    let outcome = result.as_ref().map(|(_, body)| body.as_slice());
    record(&state, &facts, outcome, &request_id, started).await;
    let response = match result {
        Ok((op, body)) => {
            tracing::debug!(request_id, operation = op.name(), status = 200, "request");
            let mut response = (StatusCode::OK, body).into_response();
            response.headers_mut().insert(
                "content-type",
                HeaderValue::from_static(plane.content_type()),
            );
            response
        }
        Err(error) => {
            if error.code == ErrorCode::InternalServerException {
                tracing::error!(request_id, "internal error: {}", error.message);
            } else {
                tracing::info!(request_id, error = error.code.as_str(), "request refused");
            }
            error_response(&error, plane.content_type())
        }
    };
    with_date(with_request_id(response, &request_id), state.clock.now())
}

/// The outcome of `handling`, or, when it panics, an InternalServerException: the client gets an
/// answer (and the audit line and metrics their outcome) instead of a connection closed without
/// one. The panic itself is a defect; the log names the request so it can be found.
///
/// Not an `async fn`: one that takes a future by value keeps it twice in its own state, which
/// made every request's future 15 KB instead of 8 KB (and axum copies it into a box per request).
fn unless_panicked<T>(
    request_id: &str,
    handling: impl Future<Output = Result<T, ApiError>>,
) -> impl Future<Output = Result<T, ApiError>> {
    AssertUnwindSafe(handling)
        .catch_unwind()
        .map(move |outcome| match outcome {
            Ok(result) => result,
            Err(_) => {
                tracing::error!(request_id, "the request's handling panicked");
                Err(ApiError::internal(
                    "The request could not be completed because of an internal error.",
                ))
            }
        })
}

/// Records an answered request: its audit line (on disk before the response leaves, when its
/// operation is audited) and its metrics.
pub(crate) async fn record(
    state: &AppState,
    facts: &RequestFacts,
    result: Result<&[u8], &ApiError>,
    request_id: &str,
    started: std::time::Instant,
) {
    if let Some(audit) = &state.audit {
        audit
            .record(&state.service, facts, result, request_id, state.clock.now())
            .await;
    }
    crate::metrics::record_request(
        facts.plane,
        facts.operation.map_or("unknown", |op| op.name()),
        result.map_or_else(|e| e.code.as_str(), |_| "success"),
        started.elapsed(),
    );
}

/// Any method but `POST` on `/` (the control plane's path; other paths are the data plane's).
pub async fn not_routed(method: Method) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let error = ApiError::new(
        ErrorCode::UnknownOperationException,
        format!(
            "{method} requests are not part of this API; send POST / with X-Amz-Target, or POST to \
             a data-plane path."
        ),
    );
    with_request_id(error_response(&error, JSON_CONTENT_TYPE), &request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_while_handling_is_answered_as_an_internal_error() {
        let answered = unless_panicked("id", async { Ok::<_, ApiError>(7) }).await;
        assert_eq!(answered.ok(), Some(7));
        let refused = unless_panicked("id", async {
            Err::<u8, _>(ApiError::validation("a client mistake"))
        })
        .await;
        assert_eq!(
            refused.err().map(|e| e.code),
            Some(ErrorCode::ValidationException)
        );
        let panicked = unless_panicked("id", async {
            let lengths: Vec<usize> = Vec::new();
            Ok::<_, ApiError>(lengths[3])
        })
        .await;
        let error = panicked.expect_err("a panic is an error");
        assert_eq!(error.code, ErrorCode::InternalServerException);
        assert!(
            error.message.contains("internal error"),
            "{}",
            error.message
        );
    }
}
