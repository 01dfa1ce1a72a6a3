//! Wire types of the AWS Payment Cryptography data plane (`payment-cryptography-data`, rest-json).
//!
//! Generated from `model/data/service-2.json` like the control plane's types (see the crate
//! doc): one serde type per shape, the [`Operation`] table with each operation's HTTP binding
//! ([`Operation::http_binding`]), the [`Input`] enum and the constraint table [`SHAPES`].
//!
//! A data-plane request carries its input in two places: the JSON body and, for the key
//! operations, a label of the path (`/keys/{KeyIdentifier}/encrypt`). [`decode_input`] takes the
//! body and the decoded labels, and checks them together against the model, so a label is
//! validated exactly like a body member (`Value '...' at 'keyIdentifier' failed to satisfy
//! constraint: ...`).

#[rustfmt::skip]
mod generated;

pub use generated::*;

use serde_json::Value;

use crate::ApiError;
use crate::decode::{check_against, input_mismatch, parse_body};

/// Decodes and validates a data-plane request for `op`: its JSON body and the members bound
/// to path labels, as `(member name, decoded value)` pairs.
///
/// Errors are those of [`crate::decode_input`]: `SerializationException` for a body that is not
/// a JSON object of the right member types, `ValidationException` for every broken constraint.
pub fn decode_input(
    op: Operation,
    body: &[u8],
    labels: &[(&str, String)],
) -> Result<Input, ApiError> {
    let mut value = parse_body(body)?;
    if let Value::Object(members) = &mut value {
        for (name, label) in labels {
            members.insert((*name).to_owned(), Value::String(label.clone()));
        }
    }
    let clean = check_against(op.input_shape(), value)?;
    Input::from_value(op, clean).map_err(|_| input_mismatch(op.name()))
}
