//! Wire types of the AWS Payment Cryptography control plane (AWS JSON 1.0 protocol).
//!
//! Everything the service model describes is generated from it by `paycrypt-api-gen` (into
//! `src/generated.rs`, which is committed) and re-exported at the crate root:
//! - one serde struct per structure shape (`CreateKeyInput`, `Key`, `KeyAttributes`, ...), with
//!   snake_case fields renamed to the model's PascalCase members. Required members are plain
//!   values, optional ones `Option`s left out of the JSON when `None`; the model's unboxed
//!   booleans (`KeyModesOfUse`) are plain `bool`s defaulting to false and always written;
//! - one enum per enumerated string shape (`KeyUsage`, `KeyState`, ...), with `as_str`, `parse`
//!   and `ALL`, read from a JSON string only;
//! - externally tagged enums for the model's unions (`ImportKeyMaterial`, `ExportKeyMaterial`,
//!   `DiffieHellmanDerivationData`);
//! - the [`Operation`] table, the [`Input`] enum holding one decoded request, and the
//!   constraint table ([`SHAPES`], see [`schema`]).
//!
//! The model's error shapes are not generated as types: [`ErrorCode`] and [`ApiError`] stand
//! for them. The hand-written parts are:
//! - [`decode_input`]: request body bytes to a validated, typed [`Input`], with AWS-style
//!   `SerializationException` and `ValidationException` messages;
//! - [`ApiError`] and [`ErrorCode`]: every error the service returns, with its HTTP status and
//!   its JSON body;
//! - [`Timestamp`]: the wire timestamp (epoch seconds with a fraction).
//!
//! Members the model marks `sensitive` (key material, wrapped key blocks and cryptograms,
//! optional block contents, requester comments) print as `<redacted>` in `Debug` output and are
//! never echoed in error messages.

pub mod data;
mod decode;
mod error;
#[rustfmt::skip]
mod generated;
mod json_writer;
pub mod schema;
mod typed_check;

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use decode::decode_input;
pub use error::{ApiError, ErrorCode};
pub use generated::*;
pub use json_writer::write_json;

/// Whether `region` has the shape of an AWS region in an ARN (`us-east-1`, `ap-southeast-2`):
/// `[a-z]{2}-[a-z]{1,16}-[0-9]+`, as the models' ARN patterns spell it.
pub fn is_region(region: &str) -> bool {
    let lower = |part: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_lowercase())
    };
    let mut parts = region.split('-');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(area), Some(place), Some(number), None) => {
            lower(area, 2..=2)
                && lower(place, 1..=16)
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// An operation of either plane: what a request asks for, and the action
/// (`payment-cryptography:<name>`) that policies are asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnyOperation {
    /// A control-plane operation (`POST /` with `X-Amz-Target`).
    Control(Operation),
    /// A data-plane operation (routed by method and path).
    Data(data::Operation),
}

impl AnyOperation {
    /// The operation's name, as the model spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Control(op) => op.name(),
            Self::Data(op) => op.name(),
        }
    }
}

/// A point in time as the service sends it: milliseconds since the Unix epoch.
///
/// On the wire it is a JSON number of seconds with a fraction (`1698245002.065`); whole seconds
/// print as `1698245002.0`. Deserialization accepts any JSON number and keeps millisecond
/// precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Exact for |millis| < 2^53 (about 285,000 years), and the shortest decimal that
        // round-trips is then the millisecond value itself.
        serializer.serialize_f64(self.0 as f64 / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl TimestampVisitor {
    fn from_seconds<E: de::Error>(seconds: f64) -> Result<Timestamp, E> {
        let millis = (seconds * 1000.0).round();
        // i64::MAX as f64 rounds up to 2^63, so the upper bound is exclusive.
        if millis.is_finite() && millis >= i64::MIN as f64 && millis < i64::MAX as f64 {
            Ok(Timestamp(millis as i64))
        } else {
            Err(E::custom("timestamp out of range"))
        }
    }
}

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of seconds since the Unix epoch")
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Timestamp, E> {
        seconds
            .checked_mul(1000)
            .map(Timestamp)
            .ok_or_else(|| E::custom("timestamp out of range"))
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Timestamp, E> {
        i64::try_from(seconds)
            .map_err(|_| E::custom("timestamp out of range"))
            .and_then(|s| self.visit_i64(s))
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Timestamp, E> {
        Self::from_seconds(seconds)
    }
}

/// Stands in for a sensitive value in generated `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Reads a value of an enumerated string through `parse`, from a JSON string only: not from
/// the `{"VALUE": null}` that serde would otherwise take for a unit variant, which AWS refuses.
fn string_enum<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: fn(&str) -> Option<T>,
) -> Result<T, D::Error> {
    deserializer.deserialize_str(EnumValue(parse))
}

struct EnumValue<T>(fn(&str) -> Option<T>);

impl<T> Visitor<'_> for EnumValue<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value of the enumeration")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}
