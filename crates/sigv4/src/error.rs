//! Why a request failed authentication, with the error code an AWS JSON service returns
//! for it and an AWS-like message.

/// A request that did not pass SigV4 verification.
///
/// [`AuthError::code`] is the AWS error code (the `__type` of the JSON error body and the
/// `x-amzn-ErrorType` header); `Display` is the message. Messages quote at most a short
/// excerpt of what the client sent and never any secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Neither an `Authorization` header nor presigned query parameters.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// The signature is malformed or incomplete: a missing or malformed part of the
    /// `Authorization` header or of the presigned query, a missing or malformed date, a
    /// credential scope that does not end in `aws4_request` or whose day is not the
    /// request's, an unsupported algorithm, `host` not signed, a signed header absent.
    #[error("{0}")]
    IncompleteSignature(String),
    /// The access key id is not known to the credential store.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// The credential scope names another service than the one verifying.
    #[error("Credential should be scoped to correct service: '{expected}'.")]
    WrongService {
        /// The service the credential must be scoped to.
        expected: String,
    },
    /// The signature does not match the one computed with the stored secret.
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method."
    )]
    SignatureMismatch,
    /// The request time is more than 5 minutes before the server's clock (a replayed or
    /// late request), or a presigned request is past its `X-Amz-Expires`. The message starts
    /// with `Signature expired: `.
    #[error("{0}")]
    SignatureExpired(String),
    /// The request time is more than 5 minutes after the server's clock: the client's clock
    /// runs ahead. The message starts with `Signature not yet current: ` and says so.
    #[error("{0}")]
    SignatureNotYetCurrent(String),
    /// `x-amz-content-sha256` is neither `UNSIGNED-PAYLOAD` nor the body's SHA-256.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentHashMismatch,
}

impl AuthError {
    /// The AWS error code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthError::IncompleteSignature(_) => "IncompleteSignatureException",
            AuthError::UnrecognizedClient => "UnrecognizedClientException",
            AuthError::WrongService { .. }
            | AuthError::SignatureMismatch
            | AuthError::SignatureExpired(_)
            | AuthError::SignatureNotYetCurrent(_)
            | AuthError::ContentHashMismatch => "InvalidSignatureException",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let cases = [
            (
                AuthError::MissingAuthenticationToken,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
            (
                AuthError::UnrecognizedClient,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            (
                AuthError::WrongService {
                    expected: "payment-cryptography".into(),
                },
                "InvalidSignatureException",
                "Credential should be scoped to correct service: 'payment-cryptography'.",
            ),
            (
                AuthError::SignatureMismatch,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you \
                 provided. Check your AWS Secret Access Key and signing method.",
            ),
            (
                AuthError::IncompleteSignature("x".into()),
                "IncompleteSignatureException",
                "x",
            ),
            (
                AuthError::SignatureExpired("Signature expired: y".into()),
                "InvalidSignatureException",
                "Signature expired: y",
            ),
            (
                AuthError::SignatureNotYetCurrent("Signature not yet current: z".into()),
                "InvalidSignatureException",
                "Signature not yet current: z",
            ),
            (
                AuthError::ContentHashMismatch,
                "InvalidSignatureException",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ),
        ];
        for (error, code, message) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.to_string(), message);
        }
    }
}
