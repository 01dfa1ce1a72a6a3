//! Opaque pagination tokens. A token carries the position after which the next page starts (an
//! insertion sequence or a tag key), so a page costs what it returns, and keys added meanwhile
//! appear at the end rather than shifting pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use paycrypt_api::ApiError;

const PREFIX: &str = "pc1:";
pub const DEFAULT_PAGE_SIZE: i32 = 50;

/// The token that resumes a listing after `position`.
pub fn next_token(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{position}"))
}

/// The position a token resumes after.
pub fn position(token: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::validation("The NextToken is not valid.");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(PREFIX)
        .map(str::to_string)
        .ok_or_else(invalid)
}

/// The sequence position of a token, for listings ordered by insertion.
pub fn sequence(token: Option<&str>) -> Result<Option<i64>, ApiError> {
    token
        .map(|t| {
            position(t)?
                .parse::<i64>()
                .map_err(|_| ApiError::validation("The NextToken is not valid."))
        })
        .transpose()
}

/// The page size a request asks for (validated to 1..=100 by the model), or the default.
pub fn page_size(max_results: Option<i32>) -> u32 {
    u32::try_from(max_results.unwrap_or(DEFAULT_PAGE_SIZE)).unwrap_or(50)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        assert_eq!(sequence(Some(&next_token("42"))).unwrap(), Some(42));
        assert_eq!(position(&next_token("tag/key")).unwrap(), "tag/key");
        assert!(sequence(Some("42")).is_err());
        assert!(sequence(Some(&next_token("x"))).is_err());
        assert!(position(&URL_SAFE_NO_PAD.encode("other:1")).is_err());
    }
}
