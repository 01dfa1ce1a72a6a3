//! Request bodies to typed inputs: parse, check against the model's constraints, deserialize.
//!
//! [`decode_input`] does what AWS does before an operation runs:
//!
//! 1. An empty body is `{}`. A body that is not JSON (or not UTF-8), or whose top level is not
//!    an object, is a `SerializationException`.
//! 2. The JSON is walked against the operation's input shape from the generated schema
//!    ([`crate::schema`]). A member of the wrong JSON type (a string where a structure is
//!    expected, a number where a string is, ...) is a `SerializationException` naming the member,
//!    and stops the walk. JSON `null` is the same as an absent member, and members the model does
//!    not know are ignored.
//! 3. Every constraint violation is collected into one `ValidationException` in AWS's wording:
//!    `2 validation errors detected: Value 'abc' at 'keyAttributes.keyUsage' failed to satisfy
//!    constraint: Member must satisfy enum value set: [...]; Value null at 'exportable' failed to
//!    satisfy constraint: Member must not be null`.
//! 4. The checked JSON (nulls and unknown members dropped) is deserialized into the operation's
//!    input type.
//!
//! Paths follow AWS: member names with a lower-case first letter, joined with `.`, and list
//! entries as `<list>.<N>.member` counting from 1 (`tags.1.member.key`). Constraints on the
//! entries of a list of strings are reported once for the whole list (`Member must satisfy
//! constraint: [...]`), and on the keys and values of a map once per aspect (`Map keys must
//! satisfy constraint: [...]`, `Map value must satisfy constraint: [...]`), as AWS does; the
//! brackets list every constraint of the entry shape. A union must have exactly one member
//! set. Values of sensitive shapes, and of collections or structures holding one, are never
//! echoed (`Value at 'x' ...`); other echoed values are cut to 256 characters. String lengths
//! count Unicode scalar values.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::schema::{
    Length, ListRules, MapRules, Member, Pattern, Range, Shape, ShapeKind, StringRules,
};
use crate::{ApiError, ErrorCode, Input, Operation, SHAPES};

/// The longest value echoed in a validation message, in characters.
const MAX_ECHO_CHARS: usize = 256;

/// How deep [`conceals`] looks into nested shapes before it plays safe.
const MAX_SHAPE_DEPTH: usize = 32;

/// A compiled pattern. The character-class patterns the data plane puts on its long hex
/// members (up to 8,192 characters a request), its hex members of fixed lengths and the key
/// identifiers are checked by a plain scan; the rest by a regex.
enum Matcher {
    /// `^[0-9a-fA-F]+$`
    Hex,
    /// `^(?:[0-9a-fA-F][0-9a-fA-F])+$`: hex of whole bytes.
    HexBytes,
    /// `^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$` and the like: hex of one of a few lengths
    /// (initialization vectors, KSNs, TDES keys).
    HexOfLength(&'static [usize]),
    /// `^[0-9]+$`
    Digits,
    /// The key identifier of most operations: a key ARN, an alias ARN or an alias name.
    KeyOrAlias,
    /// A key ARN alone.
    KeyArn,
    Regex(Regex),
}

/// A key ARN or an alias (ARN or name), as the models spell it.
const KEY_OR_ALIAS: &str = "^arn:aws:payment-cryptography:[a-z]{2}-[a-z]{1,16}-[0-9]+:[0-9]{12}:(key/[0-9a-zA-Z]{16,64}|alias/[a-zA-Z0-9/_-]+)$|^alias/[a-zA-Z0-9/_-]+$";
/// A key ARN, as the models spell it.
const KEY_ARN: &str =
    "^arn:aws:payment-cryptography:[a-z]{2}-[a-z]{1,16}-[0-9]+:[0-9]{12}:key/[0-9a-zA-Z]{16,64}$";

impl Matcher {
    fn compile(regex: &str) -> Self {
        match regex {
            "^[0-9a-fA-F]+$" => Self::Hex,
            "^(?:[0-9a-fA-F][0-9a-fA-F])+$" => Self::HexBytes,
            "^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$" => Self::HexOfLength(&[16, 32]),
            "^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{20}|[0-9a-fA-F]{24})$" => {
                Self::HexOfLength(&[16, 20, 24])
            }
            "^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32}|[0-9a-fA-F]{48})$" => {
                Self::HexOfLength(&[16, 32, 48])
            }
            "^[0-9]+$" => Self::Digits,
            KEY_OR_ALIAS => Self::KeyOrAlias,
            KEY_ARN => Self::KeyArn,
            other => Self::Regex(Regex::new(other).expect("every model pattern compiles (tested)")),
        }
    }

    fn is_match(&self, text: &str) -> bool {
        // A fold without an early exit, so that the compiler runs it on vectors: these members
        // run to kilobytes and are almost always valid.
        let all = |check: fn(u8) -> bool| {
            !text.is_empty() && text.bytes().fold(true, |all, byte| all & check(byte))
        };
        match self {
            Self::Hex => all(is_hex_digit),
            Self::HexBytes => text.len().is_multiple_of(2) && all(is_hex_digit),
            Self::HexOfLength(lengths) => lengths.contains(&text.len()) && all(is_hex_digit),
            Self::Digits => all(is_digit),
            Self::KeyOrAlias => match text.strip_prefix("alias/") {
                Some(name) => is_alias_name(name),
                None => is_arn(text, true),
            },
            Self::KeyArn => is_arn(text, false),
            Self::Regex(regex) => regex.is_match(text),
        }
    }
}

/// `arn:aws:payment-cryptography:[a-z]{2}-[a-z]{1,16}-[0-9]+:[0-9]{12}:` followed by
/// `key/[0-9a-zA-Z]{16,64}` or, when `alias` allows it, `alias/[a-zA-Z0-9/_-]+`.
fn is_arn(text: &str, alias: bool) -> bool {
    let Some(rest) = text.strip_prefix("arn:aws:payment-cryptography:") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(region), Some(account), Some(resource)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let resource_ok = match (
        resource.strip_prefix("key/"),
        resource.strip_prefix("alias/"),
    ) {
        (Some(id), _) => {
            (16..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        (_, Some(name)) => alias && is_alias_name(name),
        _ => false,
    };
    crate::is_region(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource_ok
}

/// `[a-zA-Z0-9/_-]+`.
fn is_alias_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
}

/// `[0-9]`, branch-free.
fn is_digit(byte: u8) -> bool {
    byte.wrapping_sub(b'0') < 10
}

/// `[0-9a-fA-F]`, branch-free (setting bit 5 maps `A-F` onto `a-f` and no other byte there).
fn is_hex_digit(byte: u8) -> bool {
    is_digit(byte) | ((byte | 0x20).wrapping_sub(b'a') < 6)
}

/// Every pattern of the schema, compiled once.
static REGEXES: LazyLock<HashMap<&'static str, Matcher>> = LazyLock::new(|| {
    SHAPES
        .iter()
        .chain(crate::data::SHAPES)
        .filter_map(|shape| match &shape.kind {
            ShapeKind::String(rules) => rules.pattern.as_ref(),
            _ => None,
        })
        .map(|pattern| (pattern.regex, Matcher::compile(pattern.regex)))
        .collect()
});

/// Decodes and validates the body of a request for `op`.
///
/// Errors are `SerializationException` (not JSON, not an object, a member of the wrong JSON
/// type) or `ValidationException` (every violated constraint, in one message).
pub fn decode_input(op: Operation, body: &[u8]) -> Result<Input, ApiError> {
    let clean = check_against(op.input_shape(), parse_body(body)?)?;
    Input::from_json(op, clean).map_err(|_| input_mismatch(op.name()))
}

/// Checks a request's JSON against the input shape `shape`: the value with nulls and unknown
/// members dropped, or the `SerializationException` or `ValidationException` it deserves. The
/// value is consumed, so its strings move into the result rather than being copied.
pub(crate) fn check_against(shape: &'static Shape, value: Value) -> Result<Value, ApiError> {
    let mut checker = Checker::default();
    let clean = checker.check(shape, value, &Path::Root)?;
    match checker.message() {
        Some(message) => Err(ApiError::validation(message)),
        None => Ok(clean),
    }
}

/// The error for checked JSON that still does not deserialize into the operation's input.
pub(crate) fn input_mismatch(operation: &str) -> ApiError {
    serialization(format!(
        "The request body does not match the input of {operation}"
    ))
}

/// The request body as a JSON object (an empty body is `{}`).
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| serialization(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(serialization(format!(
            "The request body must be a JSON object, found {}",
            json_kind(&value)
        )));
    }
    Ok(value)
}

/// Where a value sits in the request, written out (`tags.1.member.key`) only when a message
/// names it: a valid request never pays for its paths.
enum Path<'a> {
    Root,
    /// A member of a structure, by its wire name.
    Member(&'a Path<'a>, &'static Member),
    /// The entry of a list, counting from 1.
    Entry(&'a Path<'a>, usize),
    /// The value of a map under a key the message may show.
    Key(&'a Path<'a>, &'a str),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        let mut segment = |parent: &Path, text: &dyn std::fmt::Display| {
            parent.write(out);
            if !out.is_empty() {
                out.push('.');
            }
            let _ = write!(out, "{text}");
        };
        match self {
            Self::Root => {}
            Self::Member(parent, member) => segment(parent, &member.path_name()),
            Self::Entry(parent, index) => segment(parent, &format_args!("{index}.member")),
            Self::Key(parent, key) => segment(parent, key),
        }
    }
}

/// Walks a JSON value against a shape, collecting constraint violations.
#[derive(Default)]
struct Checker {
    violations: Vec<String>,
}

impl Checker {
    /// The `ValidationException` message, if anything was violated.
    fn message(&self) -> Option<String> {
        match self.violations.len() {
            0 => None,
            1 => Some(format!(
                "1 validation error detected: {}",
                self.violations[0]
            )),
            n => Some(format!(
                "{n} validation errors detected: {}",
                self.violations.join("; ")
            )),
        }
    }

    /// Checks `value` against `shape` at `path`; returns the value with nulls and unknown
    /// members dropped, or the `SerializationException` of a JSON type mismatch.
    fn check(
        &mut self,
        shape: &'static Shape,
        value: Value,
        path: &Path,
    ) -> Result<Value, ApiError> {
        match &shape.kind {
            ShapeKind::Structure(members) => self.structure(members, false, value, path),
            ShapeKind::Union(members) => self.structure(members, true, value, path),
            ShapeKind::List(rules) => self.list(shape, rules, value, path),
            ShapeKind::Map(rules) => self.map(shape, rules, value, path),
            _ => {
                let (clean, broken) = scalar(shape, value, path)?;
                for rule in broken {
                    self.violate(shape, Some(&clean), path, &rule);
                }
                Ok(clean)
            }
        }
    }

    fn structure(
        &mut self,
        members: &'static [Member],
        union: bool,
        value: Value,
        path: &Path,
    ) -> Result<Value, ApiError> {
        let Value::Object(mut object) = value else {
            return Err(type_error(path, "an object", &value));
        };
        let mut clean = Map::new();
        for member in members {
            let child = Path::Member(path, member);
            match object.remove(member.name) {
                None | Some(Value::Null) => {
                    if member.required {
                        self.violate(member.shape, None, &child, "Member must not be null");
                    }
                }
                Some(value) => {
                    let value = self.check(member.shape, value, &child)?;
                    clean.insert(member.name.to_owned(), value);
                }
            }
        }
        if union && clean.len() != 1 {
            self.violations.push(format!(
                "Value at '{}' failed to satisfy constraint: Union must have exactly one \
                 member set, found {}",
                path.render(),
                clean.len()
            ));
        }
        Ok(Value::Object(clean))
    }

    fn list(
        &mut self,
        shape: &'static Shape,
        rules: &ListRules,
        value: Value,
        path: &Path,
    ) -> Result<Value, ApiError> {
        let Some(items) = value.as_array() else {
            return Err(type_error(path, "an array", &value));
        };
        self.length(shape, &rules.length, items.len(), &value, path);
        let mut clean = Vec::with_capacity(items.len());
        let mut entries_broken = false;
        for (index, item) in items.iter().enumerate() {
            let child = Path::Entry(path, index + 1);
            if item.is_null() {
                self.violate(rules.member, None, &child, "Member must not be null");
            } else if is_scalar(rules.member) {
                let (item, broken) = scalar(rules.member, item.clone(), &child)?;
                entries_broken |= !broken.is_empty();
                clean.push(item);
            } else {
                clean.push(self.check(rules.member, item.clone(), &child)?);
            }
        }
        if entries_broken {
            let rule = format!(
                "Member must satisfy constraint: [{}]",
                all_rules(rules.member)
            );
            self.violate(shape, Some(&value), path, &rule);
        }
        Ok(Value::Array(clean))
    }

    fn map(
        &mut self,
        shape: &'static Shape,
        rules: &MapRules,
        value: Value,
        path: &Path,
    ) -> Result<Value, ApiError> {
        let Some(entries) = value.as_object() else {
            return Err(type_error(path, "an object", &value));
        };
        self.length(shape, &rules.length, entries.len(), &value, path);
        let mut clean = Map::new();
        let (mut keys_broken, mut values_broken) = (false, false);
        let concealed = conceals(rules.key, 0);
        for (key, item) in entries {
            let keyed = Path::Key(path, key);
            let child = if concealed { path } else { &keyed };
            let (_, broken) = scalar(rules.key, Value::String(key.clone()), child)?;
            keys_broken |= !broken.is_empty();
            if item.is_null() {
                values_broken = true;
            } else if is_scalar(rules.value) {
                let (item, broken) = scalar(rules.value, item.clone(), child)?;
                values_broken |= !broken.is_empty();
                clean.insert(key.clone(), item);
            } else {
                clean.insert(key.clone(), self.check(rules.value, item.clone(), child)?);
            }
        }
        if keys_broken {
            let rule = format!(
                "Map keys must satisfy constraint: [{}]",
                all_rules(rules.key)
            );
            self.violate(shape, Some(&value), path, &rule);
        }
        if values_broken {
            let rule = format!(
                "Map value must satisfy constraint: [{}]",
                all_rules(rules.value)
            );
            self.violate(shape, Some(&value), path, &rule);
        }
        Ok(Value::Object(clean))
    }

    /// Checks the number of entries of a list or map.
    fn length(&mut self, shape: &Shape, length: &Length, len: usize, value: &Value, path: &Path) {
        for rule in length_rules(length, Some(len as u64)) {
            self.violate(shape, Some(value), path, &rule);
        }
    }

    /// Records that `value` (None: null) of `shape` at `path` breaks `rule`.
    fn violate(&mut self, shape: &Shape, value: Option<&Value>, path: &Path, rule: &str) {
        let subject = match value {
            None => "Value null".to_owned(),
            Some(_) if conceals(shape, 0) => "Value".to_owned(),
            Some(value) => format!("Value '{}'", echo(value)),
        };
        self.violations.push(format!(
            "{subject} at '{}' failed to satisfy constraint: {rule}",
            path.render()
        ));
    }
}

/// Whether `shape` is a string, number, boolean or timestamp.
fn is_scalar(shape: &Shape) -> bool {
    !matches!(
        shape.kind,
        ShapeKind::Structure(_) | ShapeKind::Union(_) | ShapeKind::List(_) | ShapeKind::Map(_)
    )
}

/// Checks the JSON type of a scalar value and returns it (integers normalized) with the
/// constraints it breaks.
fn scalar(shape: &Shape, value: Value, path: &Path) -> Result<(Value, Vec<String>), ApiError> {
    match &shape.kind {
        ShapeKind::String(rules) => {
            let Some(text) = value.as_str() else {
                return Err(type_error(path, "a string", &value));
            };
            let mut broken = length_rules(&rules.length, Some(text.chars().count() as u64));
            if let Some(pattern) = &rules.pattern
                && !matches(pattern, text)
            {
                broken.push(pattern_rule(pattern));
            }
            if !rules.values.is_empty() && !rules.values.contains(&text) {
                broken.push(enum_rule(rules.values));
            }
            Ok((value, broken))
        }
        ShapeKind::Integer(range) => {
            let Some(number) = integer(&value) else {
                return Err(type_error(path, "an integer", &value));
            };
            let broken = range_rules(range.min, range.max, Some(number));
            if broken.is_empty() && i32::try_from(number).is_err() {
                return Err(type_error(path, "a 32-bit integer", &value));
            }
            Ok((Value::from(number), broken))
        }
        ShapeKind::Boolean if value.is_boolean() => Ok((value, Vec::new())),
        ShapeKind::Boolean => Err(type_error(path, "a boolean", &value)),
        ShapeKind::Timestamp if value.is_number() => Ok((value, Vec::new())),
        ShapeKind::Timestamp => Err(type_error(path, "a number of epoch seconds", &value)),
        ShapeKind::Structure(_) | ShapeKind::Union(_) | ShapeKind::List(_) | ShapeKind::Map(_) => {
            Err(type_error(path, "a scalar", &value))
        }
    }
}

/// Every constraint of a scalar shape, as listed in the brackets of an aggregated message.
fn all_rules(shape: &Shape) -> String {
    let rules = match &shape.kind {
        ShapeKind::String(rules) => {
            let mut all = length_rules(&rules.length, None);
            all.extend(rules.pattern.as_ref().map(pattern_rule));
            if !rules.values.is_empty() {
                all.push(enum_rule(rules.values));
            }
            all
        }
        ShapeKind::Integer(range) => range_rules(range.min, range.max, None),
        _ => Vec::new(),
    };
    rules.join(", ")
}

/// The length constraints that `len` breaks, or all of them when `len` is None.
fn length_rules(length: &Length, len: Option<u64>) -> Vec<String> {
    let mut rules = Vec::new();
    if let Some(max) = length.max
        && len.is_none_or(|len| len > max)
    {
        rules.push(format!(
            "Member must have length less than or equal to {max}"
        ));
    }
    if let Some(min) = length.min
        && len.is_none_or(|len| len < min)
    {
        rules.push(format!(
            "Member must have length greater than or equal to {min}"
        ));
    }
    rules
}

/// The range constraints that `number` breaks, or all of them when `number` is None.
fn range_rules(min: Option<i64>, max: Option<i64>, number: Option<i64>) -> Vec<String> {
    let mut rules = Vec::new();
    if let Some(max) = max
        && number.is_none_or(|n| n > max)
    {
        rules.push(format!(
            "Member must have value less than or equal to {max}"
        ));
    }
    if let Some(min) = min
        && number.is_none_or(|n| n < min)
    {
        rules.push(format!(
            "Member must have value greater than or equal to {min}"
        ));
    }
    rules
}

fn pattern_rule(pattern: &Pattern) -> String {
    format!(
        "Member must satisfy regular expression pattern: {}",
        pattern.source
    )
}

fn enum_rule(values: &[&str]) -> String {
    format!(
        "Member must satisfy enum value set: [{}]",
        values.join(", ")
    )
}

/// Whether `text` keeps every constraint of `rules` (what [`scalar`] would find nothing wrong
/// with).
pub(crate) fn string_satisfies(rules: &StringRules, text: &str) -> bool {
    // A character takes one to four bytes: the byte length alone often settles the bounds,
    // without counting the characters of a long value.
    let bytes = text.len() as u64;
    let (min, max) = (
        rules.length.min.unwrap_or(0),
        rules.length.max.unwrap_or(u64::MAX),
    );
    let length_ok = (bytes.div_ceil(4) >= min && bytes <= max)
        || (min..=max).contains(&(text.chars().count() as u64));
    length_ok
        && rules
            .pattern
            .as_ref()
            .is_none_or(|pattern| matches(pattern, text))
        && (rules.values.is_empty() || rules.values.contains(&text))
}

/// Whether `number` keeps every constraint of `range` and fits an `i32`, as [`scalar`] asks.
pub(crate) fn integer_satisfies(range: &Range, number: i64) -> bool {
    range_rules(range.min, range.max, Some(number)).is_empty() && i32::try_from(number).is_ok()
}

fn matches(pattern: &Pattern, text: &str) -> bool {
    REGEXES
        .get(pattern.regex)
        .is_some_and(|matcher| matcher.is_match(text))
}

/// A JSON number without a fraction, as i64.
fn integer(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
            .map(|f| f as i64)
    })
}

/// Whether values of `shape` must never be echoed: the shape is sensitive, or holds a
/// sensitive shape.
fn conceals(shape: &Shape, depth: usize) -> bool {
    if shape.sensitive || depth > MAX_SHAPE_DEPTH {
        return true;
    }
    match &shape.kind {
        ShapeKind::Structure(members) | ShapeKind::Union(members) => members
            .iter()
            .any(|member| conceals(member.shape, depth + 1)),
        ShapeKind::List(rules) => conceals(rules.member, depth + 1),
        ShapeKind::Map(rules) => conceals(rules.key, depth + 1) || conceals(rules.value, depth + 1),
        _ => false,
    }
}

/// A value as validation messages show it (strings bare, lists `[a, b]`, objects `{k=v}`), cut
/// to [`MAX_ECHO_CHARS`].
fn echo(value: &Value) -> String {
    let mut text = String::new();
    render(value, &mut text);
    if text.chars().count() > MAX_ECHO_CHARS {
        text = text.chars().take(MAX_ECHO_CHARS - 3).collect();
        text.push_str("...");
    }
    text
}

fn render(value: &Value, out: &mut String) {
    // Stop early on huge values: only the first MAX_ECHO_CHARS characters are kept anyway.
    if out.len() > MAX_ECHO_CHARS * 4 {
        return;
    }
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{key}=");
                render(item, out);
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn type_error(path: &Path, expected: &str, found: &Value) -> ApiError {
    serialization(format!(
        "Expected {expected} at '{}', found {}",
        path.render(),
        json_kind(found)
    ))
}

fn serialization(message: String) -> ApiError {
    ApiError::new(ErrorCode::SerializationException, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The branch-free digit tests answer what the standard library's do, for every byte.
    #[test]
    fn digit_tests_agree_with_the_standard_library() {
        for byte in 0..=u8::MAX {
            assert_eq!(is_digit(byte), byte.is_ascii_digit(), "{byte:#04x}");
            assert_eq!(is_hex_digit(byte), byte.is_ascii_hexdigit(), "{byte:#04x}");
        }
    }

    /// The identifier checks answer what the models' regexes answer, for valid identifiers and
    /// for every one-character change, deletion and insertion of them.
    #[test]
    fn identifier_checks_agree_with_their_regexes() {
        let valid = [
            "arn:aws:payment-cryptography:us-east-1:111122223333:key/abcdefgh12345678",
            "arn:aws:payment-cryptography:ap-southeast-22:000000000000:key/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789AB",
            "arn:aws:payment-cryptography:eu-west-1:111122223333:alias/my/key_name-1",
            "alias/a",
            "alias/x/y-z_0",
        ];
        let alphabet = [
            "", "a", "Z", "0", "9", ":", "/", "-", "_", "é", " ", "\n", "$", "key/", "alias/",
        ];
        let mut samples: Vec<String> = vec![
            String::new(),
            "alias/".into(),
            "arn:aws:payment-cryptography:".into(),
        ];
        for text in valid {
            samples.push(text.to_string());
            let chars: Vec<char> = text.chars().collect();
            for at in 0..=chars.len() {
                for piece in alphabet {
                    let (before, after): (String, String) =
                        (chars[..at].iter().collect(), chars[at..].iter().collect());
                    samples.push(format!("{before}{piece}{after}"));
                    if at < chars.len() {
                        let rest: String = chars[at + 1..].iter().collect();
                        samples.push(format!("{before}{piece}{rest}"));
                    }
                }
            }
        }
        // Both are the models' own patterns, not look-alikes.
        assert!(REGEXES.contains_key(KEY_OR_ALIAS) && REGEXES.contains_key(KEY_ARN));
        for (pattern, expected) in [(KEY_OR_ALIAS, "KeyOrAlias"), (KEY_ARN, "KeyArn")] {
            let scan = Matcher::compile(pattern);
            assert!(!matches!(scan, Matcher::Regex(_)), "{expected} is scanned");
            let reference = Regex::new(pattern).unwrap();
            for sample in &samples {
                assert_eq!(
                    scan.is_match(sample),
                    reference.is_match(sample),
                    "{expected} {sample:?}"
                );
            }
        }
    }

    /// The scans answer exactly what the regexes they stand for answer.
    #[test]
    fn scans_agree_with_their_regexes() {
        let samples = [
            "",
            "0",
            "00",
            "0a",
            "0A",
            "0g",
            "abcdef",
            "ABCDEF0123",
            "12345",
            "123\n",
            "\n12",
            "1 2",
            "٣",
            "ff ",
            "ＡＢ",
            "deadbeef",
            "0123456789abcdefABCDEF",
            "0123456789abcdef",
            "0123456789abcdeg",
            "0123456789ABCDEF0123",
            "0123456789ABCDEF012345",
            "0123456789ABCDEF01234567",
            "0123456789ABCDEF0123456789abcdef",
            "0123456789ABCDEF0123456789abcdef\n",
            "0123456789ABCDEF0123456789abcdef0123456789ABCDEF",
            "0123456789ABCDEF0123456789abcdef0123456789ABCDEF0",
        ];
        for regex in [
            "^[0-9a-fA-F]+$",
            "^(?:[0-9a-fA-F][0-9a-fA-F])+$",
            "^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$",
            "^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{20}|[0-9a-fA-F]{24})$",
            "^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32}|[0-9a-fA-F]{48})$",
            "^[0-9]+$",
        ] {
            let scan = Matcher::compile(regex);
            assert!(!matches!(scan, Matcher::Regex(_)), "{regex} is scanned");
            let reference = Regex::new(regex).unwrap();
            for sample in samples {
                assert_eq!(
                    scan.is_match(sample),
                    reference.is_match(sample),
                    "{regex} {sample:?}"
                );
            }
        }
    }
}
