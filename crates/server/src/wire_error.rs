//! Errors on the wire: the status from the error code, `x-amzn-ErrorType`, and the JSON body
//! `{"__type": ..., "message": ...}`, as the AWS JSON 1.0 of the control plane or the rest-json
//! of the data plane (the same body under its own media type).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use paycrypt_api::{ApiError, ErrorCode};

/// The media type of the control plane (AWS JSON 1.0).
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The media type of the data plane (rest-json).
pub const REST_JSON_CONTENT_TYPE: &str = "application/json";

/// The error code of a SigV4 failure.
pub fn auth_error_code(code: &str) -> ErrorCode {
    match code {
        "MissingAuthenticationTokenException" => ErrorCode::MissingAuthenticationTokenException,
        "IncompleteSignatureException" => ErrorCode::IncompleteSignatureException,
        "UnrecognizedClientException" => ErrorCode::UnrecognizedClientException,
        _ => ErrorCode::InvalidSignatureException,
    }
}

/// The response of `error`, with `content_type` (one of the two above).
pub fn error_response(error: &ApiError, content_type: &'static str) -> Response {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, error.to_json()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert(
        "x-amzn-errortype",
        HeaderValue::from_static(error.code.as_str()),
    );
    response
}
