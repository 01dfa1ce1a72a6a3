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
//!
//! A well-formed request, the common case, is read straight from its body into its type and its
//! constraints checked there (by a walk of the typed value); anything else is walked as a JSON tree,
//! which finds and words every fault. A test holds the two to the same answers.

#[rustfmt::skip]
mod generated;

pub use generated::*;

use serde_json::Value;

use crate::ApiError;
use crate::decode::{check_against, input_mismatch, parse_body};
use crate::typed_check::satisfies;

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
    match decode_plain(op, body, labels) {
        Some(input) => Ok(input),
        None => decode_checked(op, body, labels),
    }
}

/// The common case, a well-formed request, the quick way: the body (with the labels) read
/// straight into the input type and its constraints checked there, without a JSON tree. None
/// when anything is off, for [`decode_checked`] to find and word: a broken constraint, a null,
/// an array, a member the model does not know (the types refuse them, so that nothing goes
/// unread: serde skims what it ignores, and would let pass a bad escape or number there).
fn decode_plain(op: Operation, body: &[u8], labels: &[(&str, String)]) -> Option<Input> {
    // The data plane has no lists; serde would read an array as a structure, AWS refuses it.
    // (memchr looks on vectors; bodies run to kilobytes.)
    if memchr::memchr(b'[', body).is_some() {
        return None;
    }
    let with_labels;
    let json = if labels.is_empty() {
        body
    } else {
        with_labels = labels_first(body, labels)?;
        &with_labels
    };
    let mut reader = serde_json::Deserializer::from_slice(json);
    let input = Input::from_json(op, &mut reader).ok()?;
    reader.end().ok()?;
    satisfies(op.input_shape(), &input).then_some(input)
}

/// `body`, a JSON object, with `labels` as its first members; every byte of the body kept as
/// it was, so that what is not JSON stays so. A label the body also names makes a duplicate
/// member, which the input type refuses, leaving the choice to [`decode_checked`].
fn labels_first(body: &[u8], labels: &[(&str, String)]) -> Option<Vec<u8>> {
    let brace = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = body[brace..].strip_prefix(b"{")?;
    let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    let mut json = Vec::with_capacity(body.len() + 160);
    json.extend_from_slice(&body[..=brace]);
    for (index, (name, value)) in labels.iter().enumerate() {
        if index > 0 {
            json.push(b',');
        }
        serde_json::to_writer(&mut json, name).ok()?;
        json.push(b':');
        serde_json::to_writer(&mut json, value).ok()?;
    }
    if !empty {
        json.push(b',');
    }
    json.extend_from_slice(rest);
    Some(json)
}

/// Any request, the thorough way: the body as a JSON tree with the labels set in it (over a
/// body member of the same name), walked against the schema for every fault, then deserialized.
///
/// What [`decode_input`] falls back to, and what it must always agree with: public so that the
/// fuzz target can hold the two to the same answers.
pub fn decode_checked(
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
    Input::from_json(op, clean).map_err(|_| input_mismatch(op.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Shape, ShapeKind};
    use serde_json::{Map, json};

    const KEY_ARN: &str =
        "arn:aws:payment-cryptography:us-east-1:111122223333:key/abcdefghijklmnop";

    /// A small deterministic generator (xorshift64*), so that a failure repeats.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
        }

        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }

        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())].clone()
        }
    }

    /// Strings of the forms the data plane's members take, and of forms they refuse.
    fn any_string(rng: &mut Rng) -> String {
        let hex = |n: usize| {
            "0123456789ABCDEF"
                .chars()
                .cycle()
                .take(n)
                .collect::<String>()
        };
        match rng.below(12) {
            0 => hex(rng.pick(&[1, 2, 4, 6, 8, 15, 16, 32, 48, 64, 2048])),
            1 => "4111111111111111"
                .chars()
                .take(rng.pick(&[2, 3, 4, 12, 16]))
                .collect(),
            2 => KEY_ARN.to_owned(),
            3 => "alias/payments".to_owned(),
            4 => String::new(),
            5 => "é".repeat(rng.pick(&[1, 4, 40])),
            6 => "ZZ".to_owned(),
            7 => "0000000000000000000".to_owned(),
            8 => "1229".to_owned(),
            9 => "00".to_owned(),
            10 => "12".repeat(rng.pick(&[1, 2, 8, 9, 4096])),
            _ => hex(16).to_lowercase(),
        }
    }

    /// A JSON value for `shape`: mostly of the right type and often within its constraints,
    /// sometimes of the wrong type, null, or missing members.
    fn value_for(shape: &'static Shape, rng: &mut Rng, depth: usize) -> Value {
        if rng.chance(2) {
            return rng.pick(&[json!(null), json!(7), json!("text"), json!([]), json!({})]);
        }
        match &shape.kind {
            ShapeKind::Structure(members) | ShapeKind::Union(members) => {
                let union = matches!(shape.kind, ShapeKind::Union(_));
                let mut object = Map::new();
                let chosen = rng.below(members.len().max(1));
                for (index, member) in members.iter().enumerate() {
                    let wanted = if union {
                        index == chosen || rng.chance(3)
                    } else {
                        member.required || rng.chance(50)
                    };
                    if wanted && depth < 8 {
                        object.insert(member.name.into(), value_for(member.shape, rng, depth + 1));
                    } else if rng.chance(5) {
                        object.insert(member.name.into(), Value::Null);
                    }
                }
                if rng.chance(5) {
                    let unknown = rng.pick(&[json!({"x": [1, "y"]}), json!({"x": "y"}), json!(1)]);
                    object.insert("NotInTheModel".into(), unknown);
                }
                Value::Object(object)
            }
            ShapeKind::String(rules) if !rules.values.is_empty() && rng.chance(90) => {
                json!(rng.pick(rules.values))
            }
            ShapeKind::String(rules) => {
                // Mostly a value that keeps the constraints, when a few tries find one.
                let tries = if rng.chance(85) { 40 } else { 1 };
                let mut text = any_string(rng);
                for _ in 1..tries {
                    if crate::decode::string_satisfies(rules, &text) {
                        break;
                    }
                    text = any_string(rng);
                }
                json!(text)
            }
            ShapeKind::Integer(_) => rng.pick(&[
                json!(-1),
                json!(0),
                json!(1),
                json!(3),
                json!(4),
                json!(5),
                json!(8),
                json!(12),
                json!(16),
                json!(2_147_483_648_i64),
                json!(4.0),
                json!(2.5),
            ]),
            ShapeKind::Boolean => rng.pick(&[json!(true), json!(false)]),
            _ => json!(1_700_000_000),
        }
    }

    /// The quick path's refusal of arrays is no loss: no data-plane shape is a list or a map.
    #[test]
    fn the_data_plane_has_no_lists_or_maps() {
        let mut shapes: Vec<&Shape> = Operation::ALL.iter().map(|op| op.input_shape()).collect();
        let mut seen = 0;
        while let Some(shape) = shapes.pop() {
            seen += 1;
            match &shape.kind {
                ShapeKind::Structure(members) | ShapeKind::Union(members) => {
                    shapes.extend(members.iter().map(|member| member.shape));
                }
                ShapeKind::List(_) | ShapeKind::Map(_) => panic!("{} is a collection", shape.name),
                _ => {}
            }
        }
        assert!(seen > 100, "the walk reached {seen} shapes");
    }

    /// Whatever the quick path accepts, the thorough path accepts as the same input; and the
    /// quick path does accept well-formed requests of every operation.
    #[test]
    fn the_quick_path_agrees_with_the_thorough_one() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for op in Operation::ALL {
            let label = op
                .http_binding()
                .1
                .split('{')
                .nth(1)
                .and_then(|rest| rest.split('}').next());
            let (mut quick, mut cases) = (0, 0);
            while cases < 3000 || quick < 50 {
                assert!(cases < 300_000, "{op:?}: the quick path never accepted");
                cases += 1;
                let mut body = value_for(op.input_shape(), &mut rng, 0);
                let mut labels = Vec::new();
                if let (Some(name), Value::Object(members)) = (label, &mut body) {
                    let from_body = members
                        .remove(name)
                        .and_then(|v| v.as_str().map(str::to_owned));
                    if rng.chance(10) {
                        members.insert(name.into(), json!(any_string(&mut rng)));
                    }
                    let value = from_body.unwrap_or_else(|| any_string(&mut rng));
                    labels.push((name, value));
                }
                let mut text = serde_json::to_vec(&body).unwrap();
                if rng.chance(3) {
                    text.insert(0, b' ');
                    text.push(b'\n');
                }
                let thorough = decode_checked(*op, &text, &labels);
                if let Some(input) = decode_plain(*op, &text, &labels) {
                    quick += 1;
                    assert_eq!(
                        thorough.as_ref().ok(),
                        Some(&input),
                        "{op:?} {} {labels:?}: {thorough:?}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
    }

    /// Bodies the thorough path refuses or reads differently, which the quick path leaves to it.
    #[test]
    fn the_quick_path_passes_over_what_needs_the_thorough_one() {
        let labels = [("KeyIdentifier", KEY_ARN.to_owned())];
        let attributes = r#""EncryptionAttributes":{"Symmetric":{"Mode":"ECB"}}"#;
        for body in [
            String::new(),
            "[]".to_owned(),
            format!(r#"{{"PlainText":"ZZ",{attributes}}}"#),
            format!(r#"{{"PlainText":"00",{attributes},"KeyIdentifier":"alias/x"}}"#),
            format!(r#"{{"PlainText":"00",{attributes}}} x"#),
            format!(r#"{{"PlainText":"00","PlainText":"11",{attributes}}}"#),
            r#"{"PlainText":"00","EncryptionAttributes":{"Symmetric":{"Mode":"ECB"},"Emv":null}}"#
                .to_owned(),
            r#"{"PlainText":"00","EncryptionAttributes":{"Symmetric":{"Mode":{"ECB":null}}}}"#
                .to_owned(),
            r#"{"PlainText":"00","EncryptionAttributes":{"Asymmetric":[]}}"#.to_owned(),
            format!(r#"{{"PlainText":"00",{attributes},"Other":"\ud800"}}"#),
            format!(r#"{{"PlainText":"00",{attributes},"Other":1e400}}"#),
            format!(r#"{{"PlainText":"00",{attributes},"Other":1}}"#),
            // A form feed is ASCII white space but not JSON's.
            format!("\x0c{{\"PlainText\":\"00\",{attributes}}}"),
            format!("{{\"PlainText\":\"00\",{attributes}\x0c}}"),
        ] {
            assert_eq!(
                decode_plain(Operation::EncryptData, body.as_bytes(), &labels),
                None,
                "{body}"
            );
        }
        // The label wins over a body member of its name, as the thorough path decides.
        let body = format!(r#"{{"PlainText":"00",{attributes},"KeyIdentifier":"alias/x"}}"#);
        let Ok(Input::EncryptData(input)) =
            decode_input(Operation::EncryptData, body.as_bytes(), &labels)
        else {
            panic!("a well-formed EncryptData is refused");
        };
        assert_eq!(input.key_identifier, KEY_ARN);
    }
}
