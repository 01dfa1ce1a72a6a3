//! Finding and parsing the signature parameters of a request: either the `Authorization`
//! header (with the date from `X-Amz-Date` or `Date`) or the `X-Amz-*` parameters of a
//! presigned query string.
//!
//! Only the form of the parameters is checked here; what they must match (the service,
//! the day of the scope, the clock, the secret) is checked by [`crate::verify`].

use http::header::{AUTHORIZATION, DATE};
use http::{HeaderMap, HeaderValue};

use crate::canonical::QueryParam;
use crate::signing::{ALGORITHM, TERMINATOR};
use crate::time::Timestamp;
use crate::{AuthError, excerpt};

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

const Q_ALGORITHM: &str = "X-Amz-Algorithm";
const Q_CREDENTIAL: &str = "X-Amz-Credential";
const Q_DATE: &str = "X-Amz-Date";
const Q_EXPIRES: &str = "X-Amz-Expires";
const Q_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const Q_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
/// The query parameter carrying a presigned request's signature; the one parameter left
/// out of the canonical query string.
pub(crate) const Q_SIGNATURE: &str = "X-Amz-Signature";

/// The longest validity a presigned request may ask for: 7 days.
const MAX_EXPIRES_SECONDS: u32 = 604_800;

/// Where the signature was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// The `Authorization` header.
    Header,
    /// The query string, valid for `expires` seconds from its `X-Amz-Date`.
    Query { expires: u32 },
}

/// The parsed credential `AKID/date/region/service/aws4_request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) access_key_id: String,
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service: String,
}

/// Everything a request says about its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuthParams {
    pub(crate) location: Location,
    pub(crate) scope: Scope,
    /// Lower-case header names in the order the client listed them.
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
    pub(crate) timestamp: Timestamp,
    pub(crate) security_token: Option<String>,
}

fn incomplete(message: impl Into<String>) -> AuthError {
    AuthError::IncompleteSignature(message.into())
}

/// Finds the signature parameters in the headers or in the (decoded) query parameters.
pub(crate) fn extract(headers: &HeaderMap, query: &[QueryParam]) -> Result<AuthParams, AuthError> {
    let mut authorization = headers.get_all(AUTHORIZATION).iter();
    let first = authorization.next();
    let more_than_one = authorization.next().is_some();
    let presigned = query.iter().any(|p| {
        [Q_ALGORITHM, Q_CREDENTIAL, Q_SIGNATURE]
            .iter()
            .any(|name| p.name == name.as_bytes())
    });
    match (first, presigned) {
        (None, false) => Err(AuthError::MissingAuthenticationToken),
        (None, true) => from_query(headers, query),
        (Some(_), true) => Err(incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or \
             the Authorization header should be specified.",
        )),
        (Some(_), false) if more_than_one => {
            Err(incomplete("Only one Authorization header is allowed."))
        }
        (Some(value), false) => from_header(headers, value),
    }
}

fn from_header(headers: &HeaderMap, value: &HeaderValue) -> Result<AuthParams, AuthError> {
    let text = value
        .to_str()
        .map_err(|_| incomplete("The Authorization header must be visible ASCII."))?
        .trim();
    let (algorithm, rest) = text
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((text, ""));
    check_algorithm(algorithm)?;

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|part| !part.is_empty())
    {
        let Some((key, value)) = part.split_once('=') else {
            return Err(incomplete(format!(
                "Invalid key=value pair (missing equal-sign) in Authorization header: '{}'.",
                excerpt(part)
            )));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(incomplete(format!(
                "Authorization header has more than one '{key}' parameter."
            )));
        }
    }
    let date = header_date(headers)?;

    let mut missing = Vec::new();
    for (present, name) in [
        (credential.is_some(), "Credential"),
        (signature.is_some(), "Signature"),
        (signed_headers.is_some(), "SignedHeaders"),
    ] {
        if !present {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    if date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .to_owned(),
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(timestamp)) =
        (credential, signed_headers, signature, date)
    else {
        return Err(incomplete(missing.join(" ")));
    };

    Ok(AuthParams {
        location: Location::Header,
        scope: parse_scope(credential)?,
        signed_headers: parse_signed_headers(signed_headers)?,
        signature: signature.to_owned(),
        timestamp,
        security_token: single_header(headers, X_AMZ_SECURITY_TOKEN)?,
    })
}

/// The request time of header auth: `X-Amz-Date`, else `Date`; either may be in ISO 8601
/// basic format or in the HTTP date format.
fn header_date(headers: &HeaderMap) -> Result<Option<Timestamp>, AuthError> {
    let (name, value) = match single_header(headers, X_AMZ_DATE)? {
        Some(value) => ("X-Amz-Date", value),
        None => match single_header(headers, DATE.as_str())? {
            Some(value) => ("Date", value),
            None => return Ok(None),
        },
    };
    Timestamp::parse_any(&value).map(Some).ok_or_else(|| {
        incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}' from the '{name}' header.",
            excerpt(&value)
        ))
    })
}

/// The value of a header that may appear at most once, as text.
fn single_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(incomplete(format!(
            "The '{name}' header must not appear more than once."
        )));
    }
    value
        .to_str()
        .map(|text| Some(text.trim().to_owned()))
        .map_err(|_| incomplete(format!("The '{name}' header must be visible ASCII.")))
}

fn from_query(headers: &HeaderMap, query: &[QueryParam]) -> Result<AuthParams, AuthError> {
    let get = |name: &str| -> Result<Option<String>, AuthError> {
        let mut values = query.iter().filter(|p| p.name == name.as_bytes());
        let Some(param) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(incomplete(format!(
                "The query-string parameter '{name}' must not appear more than once."
            )));
        }
        String::from_utf8(param.value.clone())
            .map(Some)
            .map_err(|_| {
                incomplete(format!(
                    "The query-string parameter '{name}' must be UTF-8."
                ))
            })
    };
    let algorithm = get(Q_ALGORITHM)?;
    let credential = get(Q_CREDENTIAL)?;
    let date = get(Q_DATE)?;
    let expires = get(Q_EXPIRES)?;
    let signed_headers = get(Q_SIGNED_HEADERS)?;
    let signature = get(Q_SIGNATURE)?;

    let missing: Vec<String> = [
        (algorithm.is_some(), Q_ALGORITHM),
        (credential.is_some(), Q_CREDENTIAL),
        (signature.is_some(), Q_SIGNATURE),
        (signed_headers.is_some(), Q_SIGNED_HEADERS),
        (date.is_some(), Q_DATE),
        (expires.is_some(), Q_EXPIRES),
    ]
    .into_iter()
    .filter(|(present, _)| !present)
    .map(|(_, name)| {
        format!(
            "AWS query-string parameters must include '{name}'. Re-examine the query-string \
             parameters."
        )
    })
    .collect();
    let (
        Some(algorithm),
        Some(credential),
        Some(date),
        Some(expires),
        Some(signed_headers),
        Some(signature),
    ) = (
        algorithm,
        credential,
        date,
        expires,
        signed_headers,
        signature,
    )
    else {
        return Err(incomplete(missing.join(" ")));
    };

    check_algorithm(&algorithm)?;
    let timestamp = Timestamp::parse_iso_basic(&date).ok_or_else(|| {
        incomplete(format!(
            "X-Amz-Date must be in the ISO-8601 'basic format' (yyyyMMdd'T'HHmmss'Z'). Got '{}'.",
            excerpt(&date)
        ))
    })?;
    let expires = parse_expires(&expires)?;
    let security_token = match get(Q_SECURITY_TOKEN)? {
        Some(token) => Some(token),
        None => single_header(headers, X_AMZ_SECURITY_TOKEN)?,
    };
    Ok(AuthParams {
        location: Location::Query { expires },
        scope: parse_scope(&credential)?,
        signed_headers: parse_signed_headers(&signed_headers)?,
        signature,
        timestamp,
        security_token,
    })
}

fn check_algorithm(algorithm: &str) -> Result<(), AuthError> {
    if algorithm == ALGORITHM {
        Ok(())
    } else {
        Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'. The only supported algorithm is '{ALGORITHM}'.",
            excerpt(algorithm)
        )))
    }
}

fn parse_expires(text: &str) -> Result<u32, AuthError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "X-Amz-Expires should be a number of seconds. Got '{}'.",
            excerpt(text)
        )));
    }
    match text.parse::<u32>() {
        Ok(seconds) if seconds <= MAX_EXPIRES_SECONDS => Ok(seconds),
        _ => Err(incomplete(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_SECONDS}."
        ))),
    }
}

/// Parses `AKID/YYYYMMDD/region/service/aws4_request`.
fn parse_scope(credential: &str) -> Result<Scope, AuthError> {
    let parts: Vec<&str> = credential.splitn(6, '/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(incomplete(format!(
            "Credential must have the form '<access key id>/<YYYYMMDD>/<region>/<service>/\
             {TERMINATOR}'. Got '{}'.",
            excerpt(credential)
        )));
    };
    if *terminator != TERMINATOR {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'.",
            excerpt(terminator)
        )));
    }
    if region.is_empty() {
        return Err(incomplete(
            "Credential should be scoped to a valid region, not ''.",
        ));
    }
    Ok(Scope {
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

/// Parses `a;b;c` into lower-case names; each must be an HTTP token, none repeated, and
/// `host` must be among them.
fn parse_signed_headers(list: &str) -> Result<Vec<String>, AuthError> {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let mut names: Vec<String> = Vec::new();
    for name in list.split(';') {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(incomplete(format!(
                "SignedHeaders must be header names separated by ';'. Got '{}'.",
                excerpt(list)
            )));
        }
        let name = name.to_ascii_lowercase();
        if names.contains(&name) {
            return Err(incomplete(format!(
                "SignedHeaders lists '{}' more than once.",
                excerpt(&name)
            )));
        }
        names.push(name);
    }
    if !names.iter().any(|name| name == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::parse_query;

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/\
                        aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn incomplete_message(result: Result<AuthParams, AuthError>) -> String {
        match result {
            Err(AuthError::IncompleteSignature(message)) => message,
            other => panic!("expected IncompleteSignature, got {other:?}"),
        }
    }

    #[test]
    fn parses_an_authorization_header() {
        let h = headers(&[
            ("authorization", AUTH),
            ("x-amz-date", "20150830T123600Z"),
            ("x-amz-security-token", "tok"),
        ]);
        let params = extract(&h, &[]).unwrap();
        assert_eq!(params.location, Location::Header);
        assert_eq!(
            params.scope,
            Scope {
                access_key_id: "AKIDEXAMPLE".into(),
                date: "20150830".into(),
                region: "us-east-1".into(),
                service: "service".into(),
            }
        );
        assert_eq!(params.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(params.signature, "abc");
        assert_eq!(params.timestamp.to_string(), "20150830T123600Z");
        assert_eq!(params.security_token.as_deref(), Some("tok"));
    }

    #[test]
    fn takes_the_date_header_when_x_amz_date_is_absent() {
        let h = headers(&[
            ("authorization", AUTH),
            ("date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        ]);
        assert_eq!(
            extract(&h, &[]).unwrap().timestamp.to_string(),
            "20150830T123600Z"
        );
    }

    #[test]
    fn tolerates_spacing_variants() {
        let h = headers(&[
            (
                "authorization",
                "  AWS4-HMAC-SHA256   Credential=A/20150830/r/s/aws4_request,SignedHeaders=HOST,\
                 Signature=00 ,Extra=ignored ",
            ),
            ("x-amz-date", "20150830T123600Z"),
        ]);
        let params = extract(&h, &[]).unwrap();
        assert_eq!(params.signed_headers, ["host"]);
        assert_eq!(params.signature, "00");
    }

    #[test]
    fn reports_every_missing_part() {
        let h = headers(&[("authorization", "AWS4-HMAC-SHA256 ")]);
        let message = incomplete_message(extract(&h, &[]));
        for part in [
            "'Credential'",
            "'Signature'",
            "'SignedHeaders'",
            "'X-Amz-Date'",
        ] {
            assert!(message.contains(part), "{message}");
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        let date = ("x-amz-date", "20150830T123600Z");
        for (authorization, needle) in [
            (
                "AWS4-HMAC-SHA512 Credential=x",
                "Unsupported AWS 'algorithm'",
            ),
            ("Bearer abc", "Unsupported AWS 'algorithm'"),
            ("", "Unsupported AWS 'algorithm'"),
            ("AWS4-HMAC-SHA256 Credential", "missing equal-sign"),
            (
                "AWS4-HMAC-SHA256 Signature=a, Signature=b, Credential=x, SignedHeaders=host",
                "more than one 'Signature'",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=A/20150830/r/s, SignedHeaders=host, Signature=a",
                "Credential must have the form",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request/x, SignedHeaders=host, \
                 Signature=a",
                "Credential must have the form",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws5_request, SignedHeaders=host, \
                 Signature=a",
                "valid terminator: 'aws4_request', not 'aws5_request'",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=A/20150830//s/aws4_request, SignedHeaders=host, \
                 Signature=a",
                "valid region",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, \
                 SignedHeaders=x-amz-date, Signature=a",
                "'Host' or ':authority' must be a 'SignedHeader'",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, \
                 SignedHeaders=host;;x-amz-date, Signature=a",
                "SignedHeaders must be header names",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, \
                 SignedHeaders=host;Host, Signature=a",
                "more than once",
            ),
        ] {
            let h = headers(&[("authorization", authorization), date]);
            let message = incomplete_message(extract(&h, &[]));
            assert!(message.contains(needle), "{authorization:?}: {message}");
        }
        let h = headers(&[
            ("authorization", AUTH),
            ("x-amz-date", "2015-08-30T12:36:00Z"),
        ]);
        assert!(incomplete_message(extract(&h, &[])).contains("ISO-8601"));
        let h = headers(&[("authorization", AUTH), ("authorization", AUTH), date]);
        assert!(incomplete_message(extract(&h, &[])).contains("Only one"));
    }

    #[test]
    fn no_authentication_at_all() {
        assert_eq!(
            extract(&HeaderMap::new(), &parse_query("a=b")),
            Err(AuthError::MissingAuthenticationToken)
        );
    }

    const PRESIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F\
                             20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=\
                             20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&\
                             X-Amz-Signature=abc&X-Amz-Security-Token=t%2Bk";

    #[test]
    fn parses_presigned_parameters() {
        let params = extract(&HeaderMap::new(), &parse_query(PRESIGNED)).unwrap();
        assert_eq!(params.location, Location::Query { expires: 3600 });
        assert_eq!(params.scope.access_key_id, "AKIDEXAMPLE");
        assert_eq!(params.scope.service, "service");
        assert_eq!(params.signed_headers, ["host"]);
        assert_eq!(params.signature, "abc");
        assert_eq!(params.security_token.as_deref(), Some("t+k"));
    }

    #[test]
    fn rejects_malformed_presigned_parameters() {
        let cases = [
            (
                PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=604801"),
                "less than a week",
            ),
            (
                PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=-1"),
                "should be a number",
            ),
            (
                PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=99999999999999999999"),
                "less than a week",
            ),
            (
                PRESIGNED.replace("X-Amz-Expires=3600&", ""),
                "must include 'X-Amz-Expires'",
            ),
            (
                PRESIGNED.replace("X-Amz-Date=20150830T123600Z&", ""),
                "must include 'X-Amz-Date'",
            ),
            (
                PRESIGNED.replace("20150830T123600Z", "Sun, 30 Aug 2015 12:36:00 GMT"),
                "ISO-8601",
            ),
            (PRESIGNED.replace("HMAC-SHA256", "HMAC-SHA1"), "Unsupported"),
            (format!("{PRESIGNED}&X-Amz-Signature=def"), "more than once"),
            (
                PRESIGNED.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=%FF"),
                "must be UTF-8",
            ),
            (
                "X-Amz-Signature=abc".to_owned(),
                "must include 'X-Amz-Algorithm'",
            ),
        ];
        for (query, needle) in cases {
            let message = incomplete_message(extract(&HeaderMap::new(), &parse_query(&query)));
            assert!(message.contains(needle), "{query}: {message}");
        }
        let h = headers(&[("authorization", AUTH)]);
        assert!(incomplete_message(extract(&h, &parse_query(PRESIGNED))).contains("Only one"));
    }
}
