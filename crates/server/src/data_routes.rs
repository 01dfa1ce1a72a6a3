//! Routing of the data plane (rest-json): a request's method and path to the operation whose
//! HTTP binding in the model matches, with the path labels (`{KeyIdentifier}`) decoded.
//!
//! A label is one path segment, percent-decoded once (botocore sends `alias%2Fmy-key` for
//! `alias/my-key`); its value is then checked against the model like any body member.

use std::sync::LazyLock;

use paycrypt_api::data::Operation;
use paycrypt_api::{ApiError, ErrorCode};

/// A data-plane request's operation and its labels as `(member, decoded value)` pairs.
pub(crate) struct DataRoute {
    pub operation: Operation,
    pub labels: Vec<(&'static str, String)>,
}

/// The operation bound to `method` and the raw (still percent-encoded) `path`, if any.
///
/// A template matches on its literal segments first; only then are its labels decoded, so that
/// a malformed label is reported for the operation the path names (and a path no template
/// matches is unknown, whatever its labels hold).
pub(crate) fn route(method: &str, path: &str) -> Result<Option<DataRoute>, ApiError> {
    let Some(path) = path.strip_prefix('/') else {
        return Ok(None);
    };
    let segments: Vec<&str> = path.split('/').collect();
    let bound = BINDINGS.iter().find(|binding| {
        binding.method == method
            && binding.pattern.len() == segments.len()
            && binding
                .pattern
                .iter()
                .zip(&segments)
                .all(|(expected, actual)| label_name(expected).is_some() || expected == actual)
    });
    let Some(Binding {
        operation, pattern, ..
    }) = bound
    else {
        return Ok(None);
    };
    let operation = *operation;
    let mut labels = Vec::new();
    for (expected, actual) in pattern.iter().copied().zip(&segments) {
        if let Some(member) = label_name(expected) {
            labels.push((member, decode_label(member, actual)?));
        }
    }
    Ok(Some(DataRoute { operation, labels }))
}

/// An operation's HTTP binding, its path template split into segments.
struct Binding {
    operation: Operation,
    method: &'static str,
    pattern: Vec<&'static str>,
}

/// Every operation's binding, split once.
static BINDINGS: LazyLock<Vec<Binding>> = LazyLock::new(|| {
    Operation::ALL
        .iter()
        .map(|&operation| {
            let (method, template) = operation.http_binding();
            Binding {
                operation,
                method,
                pattern: template.trim_start_matches('/').split('/').collect(),
            }
        })
        .collect()
});

/// The member a template segment binds (`{KeyIdentifier}`), if it is a label.
fn label_name(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

/// The refusal of a request whose method and path name no operation.
pub(crate) fn unknown_path(method: &str, path: &str) -> ApiError {
    let shown: String = path.chars().take(200).collect();
    ApiError::new(
        ErrorCode::UnknownOperationPath,
        format!(
            "No operation is bound to {method} {shown}: the data plane's paths are those of the \
             payment-cryptography-data model (e.g. POST /keys/{{KeyIdentifier}}/encrypt), and the \
             control plane is POST / with X-Amz-Target."
        ),
    )
}

/// One path segment, percent-decoded once, as UTF-8.
fn decode_label(member: &str, segment: &str) -> Result<String, ApiError> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = bytes.get(i + 1..i + 3).and_then(|hex| {
                std::str::from_utf8(hex)
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            });
            match pair {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                None => return Err(bad_label(member, "has a malformed percent-escape")),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad_label(member, "is not UTF-8 once percent-decoded"))
}

fn bad_label(member: &str, what: &str) -> ApiError {
    ApiError::validation(format!("The path segment for {member} {what}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_routes_from_its_own_binding() {
        for &operation in Operation::ALL {
            let (method, template) = operation.http_binding();
            let path = template
                .replace("{KeyIdentifier}", "k")
                .replace("{IncomingKeyIdentifier}", "k");
            let routed = route(method, &path).unwrap().expect("routed");
            assert_eq!(routed.operation, operation, "{path}");
        }
    }

    #[test]
    fn labels_are_percent_decoded_once() {
        let routed = route("POST", "/keys/arn%3Aaws%3Apayment-cryptography%3Aus-east-1%3A111122223333%3Aalias%2Fa%2525/encrypt")
            .unwrap()
            .unwrap();
        assert_eq!(routed.operation, Operation::EncryptData);
        assert_eq!(
            routed.labels,
            vec![(
                "KeyIdentifier",
                "arn:aws:payment-cryptography:us-east-1:111122223333:alias/a%25".to_string()
            )]
        );
    }

    #[test]
    fn unknown_paths_and_methods_route_nowhere() {
        assert!(route("POST", "/keys/k/sign").unwrap().is_none());
        assert!(route("GET", "/mac/generate").unwrap().is_none());
        assert!(route("POST", "/mac/generate/extra").unwrap().is_none());
        assert!(route("POST", "/keys/a/b/encrypt").unwrap().is_none());
        assert!(route("POST", "//mac/generate").unwrap().is_none());
        assert!(route("POST", "mac/generate").unwrap().is_none());
    }

    #[test]
    fn labels_are_decoded_only_for_the_operation_the_path_names() {
        // A malformed label on a path no operation is bound to is an unknown path, and on a bound
        // one it is reported for that operation's label, not for the first template with a label.
        assert!(route("POST", "/keys/%zz/sign").unwrap().is_none());
        let error = route("POST", "/keys/%zz/reencrypt").err().expect("refused");
        assert!(
            error.message.contains("IncomingKeyIdentifier"),
            "{}",
            error.message
        );
    }

    #[test]
    fn malformed_labels_are_validation_errors() {
        for path in ["/keys/%zz/encrypt", "/keys/%/encrypt", "/keys/%ff/encrypt"] {
            let error = route("POST", path).err().expect("refused");
            assert_eq!(error.code, ErrorCode::ValidationException, "{path}");
        }
    }
}
