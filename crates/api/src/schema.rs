//! The constraint schema of the service model, as data.
//!
//! `paycrypt-api-gen` writes one [`Shape`] per shape of the model (exceptions aside) into the
//! generated [`SHAPES`](crate::SHAPES) table, with the constraints the model states: required
//! members, lengths, patterns, enum values, numeric ranges and collection sizes.
//! [`decode_input`](crate::decode_input) walks request bodies against it;
//! [`Operation::input_shape`](crate::Operation::input_shape) is where a walk starts.

/// One shape of the service model and its constraints.
#[derive(Debug)]
pub struct Shape {
    /// The shape's name in the model (`AliasName`, `CreateKeyInput`, ...).
    pub name: &'static str,
    /// Whether the model marks the shape `sensitive`: its values are never echoed or logged.
    pub sensitive: bool,
    /// What the shape is, with its constraints.
    pub kind: ShapeKind,
}

/// The type of a shape, with the constraints that apply to that type.
#[derive(Debug)]
pub enum ShapeKind {
    /// A JSON object with the given members, in model order.
    Structure(&'static [Member]),
    /// A JSON object of which exactly one of the given members must be set.
    Union(&'static [Member]),
    /// A JSON string.
    String(StringRules),
    /// A JSON number without a fraction, held as `i32`.
    Integer(Range),
    /// A JSON `true` or `false`.
    Boolean,
    /// A JSON number of seconds since the Unix epoch.
    Timestamp,
    /// A JSON array.
    List(ListRules),
    /// A JSON object with arbitrary string keys.
    Map(MapRules),
}

/// A member of a structure or union.
#[derive(Debug)]
pub struct Member {
    /// The member's name on the wire (`KeyAttributes`).
    pub name: &'static str,
    /// The member's shape.
    pub shape: &'static Shape,
    /// Whether the member must be present and not null.
    pub required: bool,
}

impl Member {
    /// The member's name as AWS writes it in validation messages: the wire name with its first
    /// letter in lower case (`keyAttributes`).
    pub fn path_name(&self) -> String {
        let mut chars = self.name.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

/// Constraints on a string.
#[derive(Debug)]
pub struct StringRules {
    /// Bounds on the length in characters.
    pub length: Length,
    /// A regular expression the whole value must match.
    pub pattern: Option<Pattern>,
    /// The allowed values of an enumerated string; empty when any value is allowed.
    pub values: &'static [&'static str],
}

/// Bounds on the length of a string (in characters) or a collection (in entries).
#[derive(Debug)]
pub struct Length {
    /// The smallest allowed length.
    pub min: Option<u64>,
    /// The largest allowed length.
    pub max: Option<u64>,
}

/// Bounds on an integer.
#[derive(Debug)]
pub struct Range {
    /// The smallest allowed value.
    pub min: Option<i64>,
    /// The largest allowed value.
    pub max: Option<i64>,
}

/// A pattern constraint.
#[derive(Debug)]
pub struct Pattern {
    /// The pattern as AWS states it (and as validation messages quote it), anchored with `^`
    /// and `$`.
    pub source: &'static str,
    /// The same pattern in the syntax of the `regex` crate.
    pub regex: &'static str,
}

/// Constraints on a list.
#[derive(Debug)]
pub struct ListRules {
    /// The shape of each entry.
    pub member: &'static Shape,
    /// Bounds on the number of entries.
    pub length: Length,
}

/// Constraints on a map.
#[derive(Debug)]
pub struct MapRules {
    /// The shape of each key (always a string shape).
    pub key: &'static Shape,
    /// The shape of each value.
    pub value: &'static Shape,
    /// Bounds on the number of entries.
    pub length: Length,
}

impl Shape {
    /// The shape named `name` in the model, if the schema has it.
    pub fn find(name: &str) -> Option<&'static Shape> {
        crate::SHAPES
            .iter()
            .copied()
            .find(|shape| shape.name == name)
    }
}
