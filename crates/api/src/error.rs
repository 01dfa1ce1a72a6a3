//! Errors as the service returns them: a code (the `__type` of the JSON body and the
//! `x-amzn-ErrorType` header), an HTTP status, and a message.
//!
//! The service-level codes and their statuses come from the service model's error shapes (the
//! Smithy `httpError` traits); the protocol-level ones are those every AWS JSON service returns
//! before an operation runs.

use std::fmt;

use serde::Serialize;

use crate::data::VerificationFailedReason;

/// Every error code the service returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request fails the constraints of the model or of the service (400).
    ValidationException,
    /// The caller may not perform the operation (403).
    AccessDeniedException,
    /// The key or alias does not exist (404); the error carries `ResourceId`.
    ResourceNotFoundException,
    /// The request conflicts with the state of a resource (409).
    ConflictException,
    /// A quota would be exceeded (402).
    ServiceQuotaExceededException,
    /// Too many requests (429).
    ThrottlingException,
    /// An unexpected failure inside the service (500).
    InternalServerException,
    /// The service cannot serve the request now (503).
    ServiceUnavailableException,
    /// A resource policy would grant public access (400).
    PublicPolicyException,
    /// The `X-Amz-Target` names no operation of the service (400).
    UnknownOperationException,
    /// The body is not the JSON the operation's input shape wants (400).
    SerializationException,
    /// The access key is unknown (403).
    UnrecognizedClientException,
    /// The signature does not match, or the request time is too far from now (403).
    InvalidSignatureException,
    /// The `Authorization` header is malformed or incomplete (403).
    IncompleteSignatureException,
    /// The request carries no credentials (403).
    MissingAuthenticationTokenException,
    /// The request body is over the server's size limit (413).
    RequestEntityTooLargeException,
    /// A data-plane verification (MAC, PIN, card data, cryptogram) failed (400); the error
    /// carries a `Reason`.
    VerificationFailedException,
    /// No data-plane operation is bound to the request's method and path (404).
    UnknownOperationPath,
}

impl ErrorCode {
    /// Every error code.
    pub const ALL: &'static [Self] = &[
        Self::ValidationException,
        Self::AccessDeniedException,
        Self::ResourceNotFoundException,
        Self::ConflictException,
        Self::ServiceQuotaExceededException,
        Self::ThrottlingException,
        Self::InternalServerException,
        Self::ServiceUnavailableException,
        Self::PublicPolicyException,
        Self::UnknownOperationException,
        Self::SerializationException,
        Self::UnrecognizedClientException,
        Self::InvalidSignatureException,
        Self::IncompleteSignatureException,
        Self::MissingAuthenticationTokenException,
        Self::RequestEntityTooLargeException,
        Self::VerificationFailedException,
        Self::UnknownOperationPath,
    ];

    /// The code as it appears in `__type` and `x-amzn-ErrorType`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ValidationException => "ValidationException",
            Self::AccessDeniedException => "AccessDeniedException",
            Self::ResourceNotFoundException => "ResourceNotFoundException",
            Self::ConflictException => "ConflictException",
            Self::ServiceQuotaExceededException => "ServiceQuotaExceededException",
            Self::ThrottlingException => "ThrottlingException",
            Self::InternalServerException => "InternalServerException",
            Self::ServiceUnavailableException => "ServiceUnavailableException",
            Self::PublicPolicyException => "PublicPolicyException",
            Self::UnknownOperationException => "UnknownOperationException",
            Self::SerializationException => "SerializationException",
            Self::UnrecognizedClientException => "UnrecognizedClientException",
            Self::InvalidSignatureException => "InvalidSignatureException",
            Self::IncompleteSignatureException => "IncompleteSignatureException",
            Self::MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            Self::RequestEntityTooLargeException => "RequestEntityTooLargeException",
            Self::VerificationFailedException => "VerificationFailedException",
            Self::UnknownOperationPath => "UnknownOperationException",
        }
    }

    /// The HTTP status code of a response carrying this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::ValidationException
            | Self::VerificationFailedException
            | Self::PublicPolicyException
            | Self::UnknownOperationException
            | Self::SerializationException => 400,
            Self::ServiceQuotaExceededException => 402,
            Self::AccessDeniedException
            | Self::UnrecognizedClientException
            | Self::InvalidSignatureException
            | Self::IncompleteSignatureException
            | Self::MissingAuthenticationTokenException => 403,
            Self::ResourceNotFoundException | Self::UnknownOperationPath => 404,
            Self::ConflictException => 409,
            Self::RequestEntityTooLargeException => 413,
            Self::ThrottlingException => 429,
            Self::InternalServerException => 500,
            Self::ServiceUnavailableException => 503,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error response: the code, a message for the caller and, for
/// `ResourceNotFoundException`, the identifier that was not found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// What went wrong, in the protocol's terms.
    pub code: ErrorCode,
    /// The message for the caller. It never holds sensitive values.
    pub message: String,
    /// The `ResourceId` member of the error body, when there is one.
    pub resource_id: Option<String>,
    /// The `Reason` of a `VerificationFailedException`.
    pub reason: Option<VerificationFailedReason>,
}

impl ApiError {
    /// An error with `code` and `message` and no resource id.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            resource_id: None,
            reason: None,
        }
    }

    /// A `VerificationFailedException` for `reason`.
    pub fn verification_failed(
        reason: VerificationFailedReason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            reason: Some(reason),
            ..Self::new(ErrorCode::VerificationFailedException, message)
        }
    }

    /// A `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationException, message)
    }

    /// A `ResourceNotFoundException` naming the resource that was not found.
    pub fn not_found(message: impl Into<String>, resource_id: impl Into<String>) -> Self {
        Self {
            resource_id: Some(resource_id.into()),
            ..Self::new(ErrorCode::ResourceNotFoundException, message)
        }
    }

    /// A `ConflictException`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ConflictException, message)
    }

    /// A `ServiceQuotaExceededException`.
    pub fn quota(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceQuotaExceededException, message)
    }

    /// An `AccessDeniedException`.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::AccessDeniedException, message)
    }

    /// An `InternalServerException`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalServerException, message)
    }

    /// The JSON body of the error response:
    /// `{"__type":"<Code>","message":"...","ResourceId":"..."}`, `ResourceId` only when present;
    /// a `VerificationFailedException` is `{"__type":...,"Reason":"...","Message":"..."}`, the
    /// members its model shape requires.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "__type")]
            code: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            message: Option<&'a str>,
            #[serde(rename = "ResourceId", skip_serializing_if = "Option::is_none")]
            resource_id: Option<&'a str>,
            #[serde(rename = "Reason", skip_serializing_if = "Option::is_none")]
            reason: Option<&'static str>,
            #[serde(rename = "Message", skip_serializing_if = "Option::is_none")]
            capital_message: Option<&'a str>,
        }
        let reason = self.reason.map(|r| r.as_str());
        let body = Body {
            code: self.code.as_str(),
            message: reason.is_none().then_some(self.message.as_str()),
            resource_id: self.resource_id.as_deref(),
            reason,
            capital_message: reason.is_some().then_some(self.message.as_str()),
        };
        serde_json::to_vec(&body).expect("a struct of strings always serializes")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
