//! The schema's constraints checked on an input already deserialized into its type.
//!
//! A request whose body deserializes straight into its input type has the right JSON types and
//! every required member; what is left to check is the constraints (lengths, patterns, enum
//! values, ranges). [`satisfies`] walks the typed value with serde, shape by shape, the way
//! [`crate::decode`] walks a JSON tree, and answers only yes or no: on any doubt (a broken
//! constraint, a value of a form the schema does not expect, a list or map, which this walk
//! leaves to the tree) it answers no, and the caller decodes the body the slow way, which
//! finds and words the error.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeStruct};

use crate::decode::{integer_satisfies, string_satisfies};
use crate::schema::{Member, Shape, ShapeKind};

/// Whether `value`, an input of `shape`, keeps every constraint of the schema.
pub(crate) fn satisfies(shape: &'static Shape, value: &impl Serialize) -> bool {
    value.serialize(Walk(shape)).is_ok()
}

/// The walk stopped: something is wrong or unexpected.
#[derive(Debug)]
struct Doubt;

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value does not plainly satisfy its shape")
    }
}

impl std::error::Error for Doubt {}

impl ser::Error for Doubt {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Doubt
    }
}

/// A value of the shape it holds, being walked.
struct Walk(&'static Shape);

impl Walk {
    fn string(&self, text: &str) -> Result<(), Doubt> {
        match &self.0.kind {
            ShapeKind::String(rules) if string_satisfies(rules, text) => Ok(()),
            _ => Err(Doubt),
        }
    }

    fn integer(&self, number: i64) -> Result<(), Doubt> {
        match &self.0.kind {
            ShapeKind::Integer(range) if integer_satisfies(range, number) => Ok(()),
            _ => Err(Doubt),
        }
    }
}

/// The members of a structure being walked, and how many required ones were seen.
struct Members {
    members: &'static [Member],
    required_seen: usize,
}

impl SerializeStruct for Members {
    type Ok = ();
    type Error = Doubt;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Doubt> {
        let member = self
            .members
            .iter()
            .find(|member| member.name == name)
            .ok_or(Doubt)?;
        self.required_seen += usize::from(member.required);
        value.serialize(Walk(member.shape))
    }

    fn end(self) -> Result<(), Doubt> {
        let required = self.members.iter().filter(|member| member.required).count();
        if self.required_seen == required {
            Ok(())
        } else {
            Err(Doubt)
        }
    }
}

/// Every form the schema's data-plane shapes do not take.
macro_rules! doubted {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Doubt> {
            Err(Doubt)
        })*
    };
}

impl ser::Serializer for Walk {
    type Ok = ();
    type Error = Doubt;
    type SerializeSeq = Impossible<(), Doubt>;
    type SerializeTuple = Impossible<(), Doubt>;
    type SerializeTupleStruct = Impossible<(), Doubt>;
    type SerializeTupleVariant = Impossible<(), Doubt>;
    type SerializeMap = Impossible<(), Doubt>;
    type SerializeStruct = Members;
    type SerializeStructVariant = Impossible<(), Doubt>;

    fn serialize_bool(self, _: bool) -> Result<(), Doubt> {
        match self.0.kind {
            ShapeKind::Boolean => Ok(()),
            _ => Err(Doubt),
        }
    }

    fn serialize_i32(self, number: i32) -> Result<(), Doubt> {
        self.integer(number.into())
    }

    fn serialize_i64(self, number: i64) -> Result<(), Doubt> {
        self.integer(number)
    }

    fn serialize_str(self, text: &str) -> Result<(), Doubt> {
        self.string(text)
    }

    /// A value of an enumerated string, spelt as on the wire.
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        value: &'static str,
    ) -> Result<(), Doubt> {
        self.string(value)
    }

    /// The one member set of a union.
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        member: &'static str,
        value: &T,
    ) -> Result<(), Doubt> {
        let ShapeKind::Union(members) = &self.0.kind else {
            return Err(Doubt);
        };
        let member = members.iter().find(|m| m.name == member).ok_or(Doubt)?;
        value.serialize(Walk(member.shape))
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Doubt> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Doubt> {
        value.serialize(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Members, Doubt> {
        match &self.0.kind {
            ShapeKind::Structure(members) => Ok(Members {
                members,
                required_seen: 0,
            }),
            _ => Err(Doubt),
        }
    }

    doubted!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Doubt> {
        Err(Doubt)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Doubt> {
        Err(Doubt)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Doubt> {
        Err(Doubt)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Doubt> {
        Err(Doubt)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Doubt> {
        Err(Doubt)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Doubt> {
        Err(Doubt)
    }
}
