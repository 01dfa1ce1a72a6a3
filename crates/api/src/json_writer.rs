//! JSON writing for the answers that carry kilobytes of hex (the data plane's outputs) and for
//! the audit log's lines: the same bytes `serde_json::to_writer` writes, a string copied whole
//! when none of its bytes needs an escape, which is checked on vectors. serde_json checks a
//! string a byte at a time through its escape table, which was the largest part of
//! what an EncryptData answer's 2 KiB `CipherText` cost the server (callgrind, bench/RESULTS.md).
//!
//! Strings that need an escape, numbers and byte arrays are written by serde_json itself, so
//! every value comes out as serde_json would write it. Not for values holding
//! `serde_json::value::RawValue`, whose text serde_json writes as it is and this would quote.

use serde::ser::{self, Serialize};
use serde_json::Error;

/// Writes `value` as JSON at the end of `out`.
pub fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut JsonWriter { out })
}

/// Whether JSON needs `byte` escaped: a control character, `"` or `\\`.
#[inline(always)]
fn needs_escape(byte: u8) -> bool {
    (byte < 0x20) | (byte == b'"') | (byte == b'\\')
}

/// How many bytes are checked together, without a branch: a run the compiler puts on vectors.
const RUN: usize = 32;

/// Whether any byte of `run` needs an escape.
fn run_needs_escape(run: &[u8; RUN]) -> bool {
    run.iter()
        .fold(false, |any, &byte| any | needs_escape(byte))
}

/// Whether any byte of `text` needs an escape, checked a run at a time; the last bytes (most
/// strings are shorter than a run) in a run padded with spaces.
fn any_needs_escape(text: &[u8]) -> bool {
    let mut runs = text.chunks_exact(RUN);
    if runs.any(|run| run_needs_escape(run.try_into().expect("a whole run"))) {
        return true;
    }
    let tail = runs.remainder();
    let mut padded = [b' '; RUN];
    padded[..tail.len()].copy_from_slice(tail);
    run_needs_escape(&padded)
}

/// A serde serializer that writes JSON at the end of `out`.
struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> JsonWriter<'a> {
    fn string(&mut self, text: &str) -> Result<(), Error> {
        if any_needs_escape(text.as_bytes()) {
            return serde_json::to_writer(&mut *self.out, text);
        }
        self.out.reserve(text.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(text.as_bytes());
        self.out.push(b'"');
        Ok(())
    }

    /// A scalar as serde_json writes it.
    fn by_serde_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, value)
    }

    /// Opens `{"variant":` around what a variant holds.
    fn variant(&mut self, variant: &str) -> Result<(), Error> {
        self.out.push(b'{');
        self.string(variant)?;
        self.out.push(b':');
        Ok(())
    }

    /// Opens `{"variant":` and in it an array or object.
    fn open_variant<'w>(
        &'w mut self,
        variant: &str,
        bracket: u8,
        closing: &'static [u8],
    ) -> Opened<'w, 'a> {
        self.variant(variant)?;
        Ok(self.open(bracket, closing))
    }

    fn open<'w>(&'w mut self, bracket: u8, closing: &'static [u8]) -> Compound<'w, 'a> {
        self.out.push(bracket);
        Compound {
            writer: self,
            first: true,
            closing,
        }
    }
}

/// An array or object opened, or the error that kept it from opening.
type Opened<'w, 'a> = Result<Compound<'w, 'a>, Error>;

/// An array, object or variant being written: whether the next element is the first, and what
/// closes it.
struct Compound<'w, 'a> {
    writer: &'w mut JsonWriter<'a>,
    first: bool,
    closing: &'static [u8],
}

impl Compound<'_, '_> {
    fn separate(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.writer.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.separate();
        value.serialize(&mut *self.writer)
    }

    fn member<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.separate();
        self.writer.string(key)?;
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> Result<(), Error> {
        self.writer.out.extend_from_slice(self.closing);
        Ok(())
    }
}

/// Numbers, written by serde_json.
macro_rules! numbers_by_serde_json {
    ($($method:ident: $type:ty),*) => {$(
        fn $method(self, v: $type) -> Result<(), Error> {
            self.by_serde_json(&v)
        }
    )*};
}

impl<'w, 'a> ser::Serializer for &'w mut JsonWriter<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    numbers_by_serde_json!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f32: f32,
        serialize_f64: f64
    );
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.by_serde_json(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.open(b'[', b"]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.open(b'[', b"]"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.open(b'[', b"]"))
    }
    fn serialize_tuple_variant(self, _: &str, _: u32, variant: &str, _: usize) -> Opened<'w, 'a> {
        self.open_variant(variant, b'[', b"]}")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.open(b'{', b"}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'w, 'a>, Error> {
        Ok(self.open(b'{', b"}"))
    }
    fn serialize_struct_variant(self, _: &str, _: u32, variant: &str, _: usize) -> Opened<'w, 'a> {
        self.open_variant(variant, b'{', b"}}")
    }
}

/// The serde traits of arrays (and of variants holding one), all the same here: each takes an
/// element by `$method`.
macro_rules! elements {
    ($($trait:ident by $method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

elements!(
    SerializeSeq by serialize_element,
    SerializeTuple by serialize_element,
    SerializeTupleStruct by serialize_field,
    SerializeTupleVariant by serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.separate();
        // The key as serde_json writes one (a string, or a number or bool quoted; anything
        // else refused): its text from a one-member object, `{KEY:null}`.
        let mut object = Vec::new();
        let mut serializer = serde_json::Serializer::new(&mut object);
        let mut map = ser::Serializer::serialize_map(&mut serializer, Some(1))?;
        ser::SerializeMap::serialize_entry(&mut map, key, &())?;
        ser::SerializeMap::end(map)?;
        let text = &object[1..object.len() - b":null}".len()];
        self.writer.out.extend_from_slice(text);
        self.writer.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// The serde traits of objects with named members (and of variants holding one).
macro_rules! members {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.member(key, value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        }
    )*};
}

members!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    fn same_as_serde_json<T: Serialize + ?Sized>(value: &T) {
        let mut ours = Vec::new();
        write_json(&mut ours, value).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(value).unwrap()
        );
    }

    #[test]
    fn strings_with_and_without_escapes() {
        // Every byte that needs an escape, at every offset within a word and in the tail.
        let plain = "0123456789ABCDEFabcdef ~\u{7f}é€😀";
        same_as_serde_json(plain);
        for special in ['"', '\\', '\n', '\t', '\u{0}', '\u{1f}', '\u{8}', '/'] {
            for at in 0..=plain.len() {
                if plain.is_char_boundary(at) {
                    let mut text = plain.to_string();
                    text.insert(at, special);
                    same_as_serde_json(&text);
                }
            }
        }
        // Each ASCII byte at each place of a short string, of a run and of the tail, among
        // bytes that need no escape, some of them not ASCII (é is C3 A9).
        for (byte, length) in (0u8..0x80).flat_map(|byte| [20, 32, 40].map(|n| (byte, n))) {
            for at in 0..length {
                let mut text = "aé~éééé éééé0123456789ABCDEF~~~~~~~~~~~"
                    .as_bytes()
                    .to_vec();
                text.truncate(length);
                text[at] = byte;
                let text = String::from_utf8_lossy(&text);
                assert_eq!(
                    any_needs_escape(text.as_bytes()),
                    needs_escape(byte),
                    "{text:?}"
                );
                same_as_serde_json(&*text);
            }
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(String),
        Tuple(u8, i64),
        Struct { a: Option<f64>, b: bool },
    }

    #[derive(Serialize)]
    struct UnitStruct;

    #[derive(Serialize)]
    struct NewtypeStruct(String);

    #[derive(Serialize)]
    struct TupleStruct(i8, u16);

    /// Serialized by `serialize_bytes`, which derived types never call.
    struct Bytes;

    impl Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(&[0, 34, 255])
        }
    }

    #[derive(Serialize)]
    struct Output {
        #[serde(rename = "KeyArn")]
        key_arn: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<String>,
        none: Option<String>,
        shapes: Vec<Shape>,
        number: u64,
        negative: i32,
        float: f64,
        nan: f64,
        bytes: Vec<u8>,
        tuple: (char, ()),
        unit_struct: UnitStruct,
        newtype_struct: NewtypeStruct,
        tuple_struct: TupleStruct,
        raw_bytes: Bytes,
        map: std::collections::BTreeMap<String, u8>,
    }

    #[test]
    fn every_kind_of_value_as_serde_json_writes_it() {
        same_as_serde_json(&Output {
            key_arn: "arn:aws:payment-cryptography:us-east-1:111122223333:key/abc".into(),
            skipped: None,
            none: None,
            shapes: vec![
                Shape::Unit,
                Shape::Newtype("A\"B".into()),
                Shape::Tuple(7, -9),
                Shape::Struct {
                    a: Some(1.5e300),
                    b: true,
                },
                Shape::Struct { a: None, b: false },
            ],
            number: u64::MAX,
            negative: i32::MIN,
            float: 1_700_000_000.123,
            nan: f64::NAN,
            bytes: vec![0, 1, 255],
            tuple: ('"', ()),
            unit_struct: UnitStruct,
            newtype_struct: NewtypeStruct("a\\b".into()),
            tuple_struct: TupleStruct(-1, 65535),
            raw_bytes: Bytes,
            map: [("x\ny".to_string(), 1), ("z".to_string(), 2)].into(),
        });
        same_as_serde_json(&json!({"a": [1, "b", null, {"c": 2.5}], "d": {}}));
        same_as_serde_json(&Vec::<u8>::new());
    }

    #[test]
    fn map_keys_as_serde_json_takes_them() {
        same_as_serde_json(&std::collections::BTreeMap::from([(-3i32, 1), (4, 2)]));
        same_as_serde_json(&std::collections::BTreeMap::from([(true, "t")]));
        let refused: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(write_json(&mut Vec::new(), &refused).is_err());
        assert!(serde_json::to_vec(&refused).is_err());
    }
}
