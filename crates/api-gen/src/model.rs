//! The part of the botocore service-model JSON (`service-2.json`) that the generator reads.
//!
//! Objects whose key order matters (operations, shapes, structure members) are read into
//! [`Ordered`], which keeps document order without turning on serde_json's `preserve_order`
//! feature (a feature would be unified into every crate of the workspace).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

/// A JSON object as a list of entries in document order.
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OrderedVisitor<T> {
            type Value = Ordered<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }

        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

/// The whole model.
#[derive(Deserialize)]
pub struct Model {
    /// Protocol facts: target prefix, signing name.
    pub metadata: Metadata,
    /// The operations, in model order.
    pub operations: Ordered<OperationDef>,
    /// The shapes, in model order.
    pub shapes: Ordered<ShapeDef>,
}

/// The model's `metadata` object.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `X-Amz-Target` is `<targetPrefix>.<Operation>` (AWS JSON protocols only).
    #[serde(default)]
    pub target_prefix: Option<String>,
    /// The SigV4 service name.
    pub signing_name: String,
    /// `json` (AWS JSON, routed by `X-Amz-Target`) or `rest-json` (routed by HTTP binding).
    pub protocol: String,
}

/// One operation.
#[derive(Deserialize)]
pub struct OperationDef {
    /// The input structure.
    pub input: ShapeRef,
    /// The output structure.
    pub output: ShapeRef,
    /// The HTTP binding (rest-json protocols route by it).
    pub http: Option<HttpDef>,
    /// HTML documentation.
    #[serde(default)]
    pub documentation: String,
}

/// An operation's HTTP binding.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDef {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path template, with `{Member}` labels bound to input members.
    pub request_uri: String,
}

/// A reference to a shape, as a structure member, a list entry or a map key or value.
#[derive(Deserialize)]
pub struct ShapeRef {
    /// The name of the shape referred to.
    pub shape: String,
    /// HTML documentation of the member.
    #[serde(default)]
    pub documentation: String,
}

/// One shape.
#[derive(Deserialize)]
pub struct ShapeDef {
    /// `structure`, `string`, `integer`, `boolean`, `timestamp`, `list` or `map`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Members of a structure, in model order.
    #[serde(default)]
    pub members: Ordered<ShapeRef>,
    /// Names of the required members of a structure.
    #[serde(default)]
    pub required: Vec<String>,
    /// The entry shape of a list.
    pub member: Option<ShapeRef>,
    /// The key shape of a map.
    pub key: Option<ShapeRef>,
    /// The value shape of a map.
    pub value: Option<ShapeRef>,
    /// Smallest length (strings, lists, maps) or value (integers).
    pub min: Option<i64>,
    /// Largest length (strings, lists, maps) or value (integers).
    pub max: Option<i64>,
    /// The pattern of a string, with its outermost `^` and `$` removed by botocore.
    pub pattern: Option<String>,
    /// The values of an enumerated string.
    #[serde(rename = "enum", default)]
    pub values: Vec<String>,
    /// Values must never be logged or echoed.
    #[serde(default)]
    pub sensitive: bool,
    /// A structure of which exactly one member is set.
    #[serde(default)]
    pub union: bool,
    /// An error shape.
    #[serde(default)]
    pub exception: bool,
    /// A boolean or integer that may be absent; without it, absent means false or zero.
    #[serde(rename = "box", default)]
    pub boxed: bool,
    /// HTML documentation.
    #[serde(default)]
    pub documentation: String,
}
