//! Errors on the wire: the status from the error code, `x-amzn-ErrorType`, and the JSON body
//! `{"__type": ..., "message": ...}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use paycrypt_api::{ApiError, ErrorCode};

pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The error code of a SigV4 failure.
pub fn auth_error_code(code: &str) -> ErrorCode {
    match code {
        "MissingAuthenticationTokenException" => ErrorCode::MissingAuthenticationTokenException,
        "IncompleteSignatureException" => ErrorCode::IncompleteSignatureException,
        "UnrecognizedClientException" => ErrorCode::UnrecognizedClientException,
        _ => ErrorCode::InvalidSignatureException,
    }
}

pub fn error_response(error: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, error.to_json()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(JSON_CONTENT_TYPE));
    headers.insert(
        "x-amzn-errortype",
        HeaderValue::from_static(error.code.as_str()),
    );
    response
}
