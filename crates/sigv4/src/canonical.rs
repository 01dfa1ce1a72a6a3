//! The canonical request of Signature Version 4, rebuilt from a request as the server
//! received it.
//!
//! Rules (AWS General Reference, "Create a canonical request for Signature Version 4"):
//! - The canonical URI is the path with dot segments and empty segments removed, each
//!   segment URI-encoded. The server sees the path as it was sent, already percent-encoded
//!   once, so encoding it again gives the double encoding that every service except S3
//!   expects (a `%` becomes `%25`).
//! - The canonical query string has every parameter's name and value percent-decoded and
//!   then URI-encoded (only `A-Z a-z 0-9 - _ . ~` stay as they are; `+` is a literal plus),
//!   sorted by encoded name and then by encoded value, joined with `&`; a name without
//!   a value gets `=`.
//! - Each signed header is written as `name:value`, where the value is every value the
//!   request carries under that name, each trimmed with inner runs of spaces collapsed to
//!   one, joined with `,` in the order received.
//!
//! Everything is built as bytes: header values need not be UTF-8.

use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::AuthError;

/// The literal payload hash a client sends to say the body is not signed.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// One query parameter, percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueryParam {
    pub(crate) name: Vec<u8>,
    pub(crate) value: Vec<u8>,
}

/// Appends `bytes` URI-encoded as SigV4 wants: unreserved characters as they are,
/// every other byte as `%XX` with upper-case hex digits.
fn uri_encode_into(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
    // Runs of unreserved characters copied whole (a key ARN is mostly one).
    let mut rest = bytes;
    loop {
        let run = rest
            .iter()
            .position(|&b| !unreserved(b))
            .unwrap_or(rest.len());
        let (plain, escaped) = rest.split_at(run);
        out.push_str(std::str::from_utf8(plain).expect("unreserved bytes are ASCII"));
        let Some((&b, after)) = escaped.split_first() else {
            break;
        };
        for c in [b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]] {
            out.push(char::from(c));
        }
        rest = after;
    }
}

fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    uri_encode_into(bytes, &mut out);
    out
}

/// Percent-decodes leniently: a `%` not followed by two hex digits stays a literal `%`.
fn percent_decode(text: &str) -> Vec<u8> {
    fn hex_value(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex_value(*hi).zip(hex_value(*lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// The canonical URI of a raw request path: dot segments resolved, empty segments dropped,
/// a trailing slash kept, each segment URI-encoded (again).
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(raw_path.len() + 1);
    for segment in &segments {
        out.push('/');
        uri_encode_into(segment.as_bytes(), &mut out);
    }
    if out.is_empty() || raw_path.ends_with('/') {
        out.push('/');
    }
    out
}

/// Splits a raw query string (without `?`) into decoded parameters; empty pieces between
/// `&`s are skipped.
pub(crate) fn parse_query(raw_query: &str) -> Vec<QueryParam> {
    raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            QueryParam {
                name: percent_decode(name),
                value: percent_decode(value),
            }
        })
        .collect()
}

/// The canonical query string of `params`, leaving out parameters named `exclude`.
pub(crate) fn canonical_query(params: &[QueryParam], exclude: Option<&str>) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .filter(|p| exclude.is_none_or(|name| p.name != name.as_bytes()))
        .map(|p| (uri_encode(&p.name), uri_encode(&p.value)))
        .collect();
    encoded.sort_unstable();
    let mut out = String::new();
    for (i, (name, value)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Appends `value` trimmed of surrounding spaces and tabs, inner runs of them written as
/// one space.
fn push_trimmed(value: &[u8], out: &mut Vec<u8>) {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let mut words = value.split(is_space).filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        out.extend_from_slice(first);
        for word in words {
            out.push(b' ');
            out.extend_from_slice(word);
        }
    }
}

/// The canonical headers block (`name:value\n` for each signed header, in the order of
/// `signed_headers`, which are lower-case). Every signed header must be present.
pub(crate) fn canonical_headers(
    headers: &HeaderMap,
    signed_headers: &[String],
) -> Result<Vec<u8>, AuthError> {
    let mut out = Vec::new();
    for name in signed_headers {
        let mut values = headers.get_all(name.as_str()).iter().peekable();
        if values.peek().is_none() {
            return Err(AuthError::IncompleteSignature(format!(
                "The header '{}' is listed in SignedHeaders but is not present in the request.",
                crate::excerpt(name)
            )));
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed(value.as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    crate::signing::digest_hex(Sha256::digest(data).into())
}

/// The payload hash line: `x-amz-content-sha256` when the client sent it (it must be
/// `UNSIGNED-PAYLOAD` or the body's real hash), else the SHA-256 of the body.
pub(crate) fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<String, AuthError> {
    match headers.get("x-amz-content-sha256") {
        None => Ok(sha256_hex(body)),
        Some(claimed) if claimed.as_bytes() == UNSIGNED_PAYLOAD.as_bytes() => {
            Ok(UNSIGNED_PAYLOAD.to_owned())
        }
        Some(claimed) => {
            let actual = sha256_hex(body);
            if claimed.as_bytes() == actual.as_bytes() {
                Ok(actual)
            } else {
                Err(AuthError::ContentHashMismatch)
            }
        }
    }
}

/// The parts of a canonical request, each already canonical.
pub(crate) struct CanonicalRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) uri: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<u8>,
    pub(crate) signed_headers: String,
    pub(crate) payload_hash: String,
}

impl CanonicalRequest<'_> {
    /// The six parts joined with newlines (the headers block ends with its own newline).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.method.len()
                + self.uri.len()
                + self.query.len()
                + self.headers.len()
                + self.signed_headers.len()
                + self.payload_hash.len()
                + 5,
        );
        for part in [
            self.method.as_bytes(),
            self.uri.as_bytes(),
            self.query.as_bytes(),
        ] {
            out.extend_from_slice(part);
            out.push(b'\n');
        }
        out.extend_from_slice(&self.headers);
        out.push(b'\n');
        out.extend_from_slice(self.signed_headers.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.payload_hash.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn uri_encoding_keeps_only_unreserved() {
        assert_eq!(
            uri_encode(b"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
            "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        );
        assert_eq!(uri_encode(b"a b+c/d=e%"), "a%20b%2Bc%2Fd%3De%25");
        assert_eq!(uri_encode("ሴ".as_bytes()), "%E1%88%B4");
        assert_eq!(uri_encode(&[0x00, 0xff]), "%00%FF");
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("%E1%88%b4"), "ሴ".as_bytes());
        assert_eq!(percent_decode("a+b"), b"a+b");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%%41"), b"%A");
    }

    // Expected canonical URIs follow the aws-c-auth signing test suite
    // (github.com/awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/get-*-normalized,
    // get-utf8, get-space-normalized, get-unreserved).
    #[test]
    fn canonical_uri_normalizes_and_encodes() {
        for (raw, canonical) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/../../a", "/a"),
            ("/example space/", "/example%20space/"),
            ("/ሴ", "/%E1%88%B4"),
            // Already percent-encoded on the wire: encoded a second time.
            ("/%E1%88%B4", "/%25E1%2588%25B4"),
            ("/a%20b/c", "/a%2520b/c"),
        ] {
            assert_eq!(canonical_uri(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn canonical_query_sorts_encoded_pairs() {
        let q = |raw: &str| canonical_query(&parse_query(raw), None);
        assert_eq!(q(""), "");
        assert_eq!(
            q("Param2=value2&Param1=value1"),
            "Param1=value1&Param2=value2"
        );
        assert_eq!(
            q("Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(q("ሴ=bar"), "%E1%88%B4=bar");
        assert_eq!(q("c+d"), "c%2Bd=");
        assert_eq!(q("b=2&a&&b=1"), "a=&b=1&b=2");
        assert_eq!(q("k=a%20b&k=a+b"), "k=a%20b&k=a%2Bb");
        let excluded = canonical_query(
            &parse_query("X-Amz-Signature=ab&a=1"),
            Some("X-Amz-Signature"),
        );
        assert_eq!(excluded, "a=1");
    }

    #[test]
    fn canonical_headers_trim_and_join() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.append("my-header1", HeaderValue::from_static("value4"));
        headers.append("my-header1", HeaderValue::from_static("  value1  "));
        headers.append("my-header1", HeaderValue::from_static("a   b \t c"));
        headers.insert("x-ignored", HeaderValue::from_static("x"));
        let signed = vec!["host".to_owned(), "my-header1".to_owned()];
        assert_eq!(
            canonical_headers(&headers, &signed).unwrap(),
            b"host:example.amazonaws.com\nmy-header1:value4,value1,a b c\n"
        );
        let missing = vec!["host".to_owned(), "x-amz-date".to_owned()];
        assert!(matches!(
            canonical_headers(&headers, &missing),
            Err(AuthError::IncompleteSignature(_))
        ));
    }

    #[test]
    fn payload_hash_checks_the_claimed_hash() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let mut headers = HeaderMap::new();
        assert_eq!(payload_hash(&headers, b"").unwrap(), empty);
        headers.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static(UNSIGNED_PAYLOAD),
        );
        assert_eq!(
            payload_hash(&headers, b"anything").unwrap(),
            UNSIGNED_PAYLOAD
        );
        headers.insert("x-amz-content-sha256", HeaderValue::from_static(empty));
        assert_eq!(payload_hash(&headers, b"").unwrap(), empty);
        assert_eq!(
            payload_hash(&headers, b"x"),
            Err(AuthError::ContentHashMismatch)
        );
    }
}
