//! Writes the text of `generated.rs` from a parsed model.
//!
//! The output is laid out the way rustfmt (style edition 2024, default settings) lays it out, so
//! the file reads like the rest of the code. The api crate also declares the module
//! `#[rustfmt::skip]`, so a rustfmt release that formats differently cannot make `cargo fmt`
//! and the committed file disagree.

use std::collections::{BTreeSet, HashMap};

use crate::model::{Model, OperationDef, ShapeDef, ShapeRef};
use crate::naming::{field_name, is_identifier, summary, upper_snake, variant_name};
use crate::pattern::{anchored, to_regex};
use crate::{Error, Plane};

/// rustfmt's `max_width`.
const MAX_WIDTH: usize = 100;
/// rustfmt's `array_width`: wider array literals are written one item per line.
const ARRAY_WIDTH: usize = 60;
/// rustfmt's `fn_call_width`: wider argument lists are written one argument per line.
const FN_CALL_WIDTH: usize = 60;

/// Names the generated module defines besides the shapes' statics.
const RESERVED_STATICS: &[&str] = &["SHAPES", "TARGET_PREFIX", "SIGNING_NAME"];
/// Type names the generated module uses besides the shapes' types.
const RESERVED_TYPES: &[&str] = &[
    "BTreeMap",
    "Box",
    "Deserialize",
    "Input",
    "Length",
    "ListRules",
    "MapRules",
    "Member",
    "Operation",
    "Option",
    "Pattern",
    "Range",
    "Redacted",
    "Result",
    "Serialize",
    "Shape",
    "ShapeKind",
    "String",
    "StringRules",
    "Timestamp",
    "Value",
    "Vec",
];

/// Accumulates lines of Rust.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn line(&mut self, indent: usize, text: &str) {
        if !text.is_empty() {
            for _ in 0..indent {
                self.out.push_str("    ");
            }
            self.out.push_str(text);
        }
        self.out.push('\n');
    }

    fn blank(&mut self) {
        self.out.push('\n');
    }

    fn doc(&mut self, indent: usize, text: &str) {
        if text.is_empty() {
            self.line(indent, "///");
        } else {
            self.line(indent, &format!("/// {text}"));
        }
    }

    /// A method call with two arguments in a chain, its arguments one per line when they are
    /// wider than rustfmt's `fn_call_width`.
    fn call2(&mut self, indent: usize, method: &str, first: &str, second: &str) {
        let args = format!("{first}, {second}");
        let one_line = format!(".{method}({args})");
        if args.len() <= FN_CALL_WIDTH && indent * 4 + one_line.len() <= MAX_WIDTH {
            self.line(indent, &one_line);
        } else {
            self.line(indent, &format!(".{method}("));
            self.line(indent + 1, &format!("{first},"));
            self.line(indent + 1, &format!("{second},"));
            self.line(indent, ")");
        }
    }

    /// A match arm, wrapped in a block when it does not fit on one line.
    fn arm(&mut self, indent: usize, pattern: &str, expr: &str) {
        let one_line = format!("{pattern} => {expr},");
        if indent * 4 + one_line.len() <= MAX_WIDTH {
            self.line(indent, &one_line);
        } else {
            self.line(indent, &format!("{pattern} => {{"));
            self.line(indent + 1, expr);
            self.line(indent, "}");
        }
    }

    /// `head[items]tail`, on one line when it is narrow enough (after a break following the
    /// `=` of `head` if that helps), else one item per line.
    fn array(&mut self, indent: usize, head: &str, items: &[String], tail: &str) {
        let content = items.join(", ");
        let literal = format!("[{content}]");
        let fits = |indent: usize, text: &str| indent * 4 + text.len() <= MAX_WIDTH;
        let one_line = format!("{head}{literal}{tail}");
        let split = head
            .rfind(" = ")
            .map(|at| (&head[..at + 2], &head[at + 3..]));
        if content.len() <= ARRAY_WIDTH && fits(indent, &one_line) {
            self.line(indent, &one_line);
        } else if let Some((lhs, rhs)) = split.filter(|(_, rhs)| {
            content.len() <= ARRAY_WIDTH && fits(indent + 1, &format!("{rhs}{literal}{tail}"))
        }) {
            self.line(indent, lhs);
            self.line(indent + 1, &format!("{rhs}{literal}{tail}"));
        } else {
            self.line(indent, &format!("{head}["));
            for item in items {
                self.line(indent + 1, &format!("{item},"));
            }
            self.line(indent, &format!("]{tail}"));
        }
    }

    /// `header { signature { body } }`: a trait implementation of one method, then a blank line.
    fn one_method_impl(&mut self, header: &str, signature: &str, body: &str) {
        self.line(0, &format!("{header} {{"));
        self.line(1, &format!("{signature} {{"));
        self.line(2, body);
        self.line(1, "}");
        self.line(0, "}");
        self.blank();
    }

    /// `use prefix::{names};`, wrapped as rustfmt wraps a long import list.
    fn use_list(&mut self, prefix: &str, names: &[&str]) {
        let one_line = format!("use {prefix}::{{{}}};", names.join(", "));
        if one_line.len() <= MAX_WIDTH {
            self.line(0, &one_line);
            return;
        }
        self.line(0, &format!("use {prefix}::{{"));
        let mut current = String::new();
        for name in names {
            if !current.is_empty() && 4 + current.len() + 1 + name.len() + 1 > MAX_WIDTH {
                self.line(1, current.trim_end());
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(name);
            current.push(',');
        }
        self.line(1, &current);
        self.line(0, "};");
    }
}

/// A Rust string literal for `text`: raw where that reads better.
fn string_literal(text: &str) -> String {
    if text.contains('\\') && !text.contains('"') {
        format!("r\"{text}\"")
    } else {
        format!("{text:?}")
    }
}

/// The model, indexed, and the output being written.
struct Generator<'m> {
    model: &'m Model,
    plane: Plane,
    shapes: HashMap<&'m str, &'m ShapeDef>,
    w: Writer,
}

/// Generates the text of `generated.rs`.
pub fn generate(model: &Model, plane: Plane) -> Result<String, Error> {
    let mut generator = Generator {
        model,
        plane,
        shapes: model
            .shapes
            .0
            .iter()
            .map(|(name, shape)| (name.as_str(), shape))
            .collect(),
        w: Writer::default(),
    };
    generator.check()?;
    generator.header()?;
    generator.operations()?;
    for (name, shape) in &model.shapes.0 {
        if shape.exception {
            continue;
        }
        match shape.kind.as_str() {
            "structure" if shape.union => generator.union(name, shape)?,
            "structure" => generator.structure(name, shape)?,
            "string" if !shape.values.is_empty() => generator.string_enum(name, shape)?,
            _ => {}
        }
    }
    generator.schema()?;
    let mut out = generator.w.out;
    // The last item ends with a blank line separating it from the next one.
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
}

impl<'m> Generator<'m> {
    fn shape(&self, name: &str) -> Result<&'m ShapeDef, Error> {
        self.shapes
            .get(name)
            .copied()
            .ok_or_else(|| Error::new(format!("the model refers to a missing shape {name}")))
    }

    /// The shapes that get Rust items and schema entries: all but the errors.
    fn emitted(&self) -> impl Iterator<Item = (&'m str, &'m ShapeDef)> + use<'m> {
        self.model
            .shapes
            .0
            .iter()
            .filter(|(_, shape)| !shape.exception)
            .map(|(name, shape)| (name.as_str(), shape))
    }

    /// Rejects models this generator cannot render faithfully.
    fn check(&self) -> Result<(), Error> {
        let mut statics: BTreeSet<String> =
            RESERVED_STATICS.iter().map(|s| (*s).to_owned()).collect();
        for (name, shape) in self.emitted() {
            let kind = shape.kind.as_str();
            if !matches!(
                kind,
                "structure" | "string" | "integer" | "boolean" | "timestamp" | "list" | "map"
            ) {
                return Err(Error::new(format!("{name}: unsupported shape type {kind}")));
            }
            let static_name = upper_snake(name);
            for taken in [static_name.clone(), format!("{static_name}_MEMBERS")] {
                if !statics.insert(taken.clone()) {
                    return Err(Error::new(format!("{name}: static {taken} is taken")));
                }
            }
            let has_type = kind == "structure" || !shape.values.is_empty();
            if has_type && (!is_identifier(name) || RESERVED_TYPES.contains(&name)) {
                return Err(Error::new(format!("{name}: not usable as a type name")));
            }
            for (member, target) in &shape.members.0 {
                self.shape(&target.shape)?;
                if shape.union && !is_identifier(member) {
                    return Err(Error::new(format!("{name}.{member}: not a variant name")));
                }
            }
            for required in &shape.required {
                if !shape.members.0.iter().any(|(member, _)| member == required) {
                    return Err(Error::new(format!("{name}: no member {required}")));
                }
            }
            if kind == "map" {
                let key = shape
                    .key
                    .as_ref()
                    .map(|key| key.shape.as_str())
                    .unwrap_or("");
                if self.shape(key)?.kind != "string" {
                    return Err(Error::new(format!("{name}: map keys must be strings")));
                }
            }
            let variants: BTreeSet<String> = shape.values.iter().map(|v| variant_name(v)).collect();
            if variants.len() != shape.values.len() || variants.iter().any(|v| !is_identifier(v)) {
                return Err(Error::new(format!(
                    "{name}: enum values collide as variants"
                )));
            }
        }
        for (name, operation) in &self.model.operations.0 {
            if !is_identifier(name) {
                return Err(Error::new(format!("operation {name}: not a variant name")));
            }
            for shape in [&operation.input.shape, &operation.output.shape] {
                if self.shape(shape)?.kind != "structure" {
                    return Err(Error::new(format!(
                        "operation {name}: {shape} is no structure"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The Rust type of values of shape `name`.
    fn rust_type(&self, name: &str) -> Result<String, Error> {
        let shape = self.shape(name)?;
        Ok(match shape.kind.as_str() {
            "structure" => name.to_owned(),
            "string" if !shape.values.is_empty() => name.to_owned(),
            "string" => "String".to_owned(),
            "integer" => "i32".to_owned(),
            "boolean" => "bool".to_owned(),
            "timestamp" => "Timestamp".to_owned(),
            "list" => format!(
                "Vec<{}>",
                self.rust_type(&entry(name, &shape.member)?.shape)?
            ),
            "map" => format!(
                "BTreeMap<String, {}>",
                self.rust_type(&entry(name, &shape.value)?.shape)?
            ),
            other => {
                return Err(Error::new(format!(
                    "{name}: unsupported shape type {other}"
                )));
            }
        })
    }

    /// Whether `Debug` must hide values of shape `name`: it is sensitive, or a list or map
    /// of sensitive values.
    fn redacted(&self, name: &str) -> Result<bool, Error> {
        let shape = self.shape(name)?;
        if shape.sensitive {
            return Ok(true);
        }
        Ok(match shape.kind.as_str() {
            "list" => self.redacted(&entry(name, &shape.member)?.shape)?,
            "map" => {
                self.redacted(&entry(name, &shape.key)?.shape)?
                    || self.redacted(&entry(name, &shape.value)?.shape)?
            }
            _ => false,
        })
    }

    /// Whether an absent member of shape `name` reads as its default (a boolean or integer
    /// without `box`) rather than as `None`.
    fn defaulted(&self, name: &str) -> Result<bool, Error> {
        let shape = self.shape(name)?;
        Ok(matches!(shape.kind.as_str(), "boolean" | "integer") && !shape.boxed)
    }

    fn uses_kind(&self, kind: &str) -> bool {
        self.emitted().any(|(_, shape)| shape.kind == kind)
    }

    fn needs_redaction(&self) -> Result<bool, Error> {
        for (_, shape) in self.emitted() {
            if shape.kind == "structure" {
                for (_, target) in &shape.members.0 {
                    if self.redacted(&target.shape)? {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    fn header(&mut self) -> Result<(), Error> {
        let redaction = self.needs_redaction()?;
        let enums = self.emitted().any(|(_, shape)| !shape.values.is_empty());
        let w = &mut self.w;
        w.line(
            0,
            "//! Wire types, operations and constraint schema of the AWS Payment Cryptography",
        );
        w.line(0, &format!("//! {}.", self.plane.title()));
        w.line(0, "//!");
        w.line(
            0,
            &format!(
                "//! Generated by `paycrypt-api-gen` from `{}`: do not edit, run",
                self.plane.model_name()
            ),
        );
        w.line(0, "//! `cargo run -p paycrypt-api-gen` instead.");
        w.blank();
        let mut std_uses = Vec::new();
        if self
            .model
            .shapes
            .0
            .iter()
            .any(|(_, shape)| shape.kind == "map")
        {
            std_uses.push("use std::collections::BTreeMap;");
        }
        if redaction || enums {
            std_uses.push("use std::fmt;");
        }
        for line in &std_uses {
            self.w.line(0, line);
        }
        if !std_uses.is_empty() {
            self.w.blank();
        }
        self.w
            .line(0, "use serde::{Deserialize, Deserializer, Serialize};");
        self.w.blank();
        let mut schema = vec![
            "Length",
            "Member",
            "Pattern",
            "Range",
            "Shape",
            "ShapeKind",
            "StringRules",
        ];
        if self.uses_kind("list") {
            schema.push("ListRules");
        }
        if self.uses_kind("map") {
            schema.push("MapRules");
        }
        schema.sort_unstable();
        self.w.use_list("crate::schema", &schema);
        let mut crate_uses = Vec::new();
        if redaction {
            crate_uses.push("Redacted");
        }
        if self.uses_kind("timestamp") {
            crate_uses.push("Timestamp");
        }
        match crate_uses.as_slice() {
            [] => {}
            [one] => self.w.line(0, &format!("use crate::{one};")),
            many => self.w.use_list("crate", many),
        }
        self.w.blank();
        let metadata = &self.model.metadata;
        if let Some(prefix) = &metadata.target_prefix {
            self.w.doc(
                0,
                "The `X-Amz-Target` header is this prefix, a dot and the operation name.",
            );
            self.w
                .line(0, &format!("pub const TARGET_PREFIX: &str = {prefix:?};"));
            self.w.blank();
        }
        self.w
            .doc(0, "The service name in SigV4 credential scopes.");
        self.w.line(
            0,
            &format!(
                "pub const SIGNING_NAME: &str = {:?};",
                metadata.signing_name
            ),
        );
        self.w.blank();
        Ok(())
    }

    fn operations(&mut self) -> Result<(), Error> {
        let operations: Vec<(&str, &OperationDef)> = self
            .model
            .operations
            .0
            .iter()
            .map(|(name, op)| (name.as_str(), op))
            .collect();
        let w = &mut self.w;
        w.doc(0, "An operation of the service.");
        w.line(
            0,
            "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]",
        );
        w.line(0, "pub enum Operation {");
        for (name, op) in &operations {
            w.doc(
                1,
                &summary(&op.documentation).unwrap_or_else(|| format!("The `{name}` operation.")),
            );
            w.line(1, &format!("{name},"));
        }
        w.line(0, "}");
        w.blank();
        w.line(0, "impl Operation {");
        w.doc(1, "Every operation, in model order.");
        let all: Vec<String> = operations
            .iter()
            .map(|(name, _)| format!("Self::{name}"))
            .collect();
        w.array(1, "pub const ALL: &'static [Self] = &", &all, ";");
        w.blank();
        w.doc(
            1,
            "The operation called `name` (the part of `X-Amz-Target` after the dot).",
        );
        w.line(1, "pub fn from_name(name: &str) -> Option<Self> {");
        w.line(2, "Self::ALL.iter().copied().find(|op| op.name() == name)");
        w.line(1, "}");
        w.blank();
        w.doc(1, "The operation's name.");
        w.line(1, "pub fn name(&self) -> &'static str {");
        w.line(2, "match self {");
        for (name, _) in &operations {
            w.arm(3, &format!("Self::{name}"), &format!("{name:?}"));
        }
        w.line(2, "}");
        w.line(1, "}");
        if self.model.metadata.protocol == "rest-json" {
            w.blank();
            w.doc(
                1,
                "The operation's HTTP method and path template (`{Member}` labels name input members).",
            );
            w.line(
                1,
                "pub fn http_binding(&self) -> (&'static str, &'static str) {",
            );
            w.line(2, "match self {");
            for (name, op) in &operations {
                let Some(http) = &op.http else {
                    return Err(Error::new(format!("operation {name}: no HTTP binding")));
                };
                w.arm(
                    3,
                    &format!("Self::{name}"),
                    &format!("({:?}, {:?})", http.method, http.request_uri),
                );
            }
            w.line(2, "}");
            w.line(1, "}");
        }
        for (which, doc) in [("input", "input"), ("output", "output")] {
            w.blank();
            w.doc(1, &format!("The schema of the operation's {doc}."));
            w.line(
                1,
                &format!("pub fn {which}_shape(&self) -> &'static Shape {{"),
            );
            w.line(2, "match self {");
            for (name, op) in &operations {
                let shape = if which == "input" {
                    &op.input.shape
                } else {
                    &op.output.shape
                };
                w.arm(
                    3,
                    &format!("Self::{name}"),
                    &format!("&{}", upper_snake(shape)),
                );
            }
            w.line(2, "}");
            w.line(1, "}");
        }
        w.line(0, "}");
        w.blank();

        w.doc(0, "A decoded request: the input of one operation.");
        w.doc(0, "");
        w.doc(
            0,
            "Serializes as the operation's input JSON (without the operation's name).",
        );
        w.line(0, "#[derive(Clone, Debug, PartialEq, Eq, Serialize)]");
        w.line(0, "#[serde(untagged)]");
        w.line(0, "pub enum Input {");
        for (name, op) in &operations {
            w.doc(1, &format!("The input of [`Operation::{name}`]."));
            w.line(1, &format!("{name}({}),", op.input.shape));
        }
        w.line(0, "}");
        w.blank();
        w.line(0, "impl Input {");
        w.doc(1, "The operation this is the input of.");
        w.line(1, "pub fn operation(&self) -> Operation {");
        w.line(2, "match self {");
        for (name, _) in &operations {
            w.arm(
                3,
                &format!("Self::{name}(_)"),
                &format!("Operation::{name}"),
            );
        }
        w.line(2, "}");
        w.line(1, "}");
        w.blank();
        w.doc(
            1,
            "Deserializes the input of `operation` from `json`: a checked JSON value, or a body read \
             as it comes.",
        );
        w.line(
            1,
            "pub(crate) fn from_json<'de, D: Deserializer<'de>>(operation: Operation, json: D) -> Result<Self, D::Error> {",
        );
        w.line(2, "Ok(match operation {");
        for (name, op) in &operations {
            w.arm(
                3,
                &format!("Operation::{name}"),
                &format!("Self::{name}({}::deserialize(json)?)", op.input.shape),
            );
        }
        w.line(2, "})");
        w.line(1, "}");
        w.line(0, "}");
        w.blank();
        Ok(())
    }

    /// The documentation line of shape `name`.
    fn shape_doc(&self, name: &str, shape: &ShapeDef) -> String {
        if let Some(text) = summary(&shape.documentation) {
            return text;
        }
        for (op_name, op) in &self.model.operations.0 {
            if op.input.shape == name {
                return format!("The input of [`Operation::{op_name}`].");
            }
            if op.output.shape == name {
                return format!("The output of [`Operation::{op_name}`].");
            }
        }
        format!("The `{name}` structure of the service model.")
    }

    fn structure(&mut self, name: &str, shape: &ShapeDef) -> Result<(), Error> {
        struct Field {
            wire: String,
            rust: String,
            ty: String,
            doc: String,
            required: bool,
            defaulted: bool,
            redacted: bool,
        }
        let mut fields = Vec::new();
        for (member, target) in &shape.members.0 {
            fields.push(Field {
                wire: member.clone(),
                rust: field_name(member),
                ty: self.rust_type(&target.shape)?,
                doc: summary(&target.documentation)
                    .unwrap_or_else(|| format!("The `{member}` member.")),
                required: shape.required.contains(member),
                defaulted: self.defaulted(&target.shape)?,
                redacted: self.redacted(&target.shape)?,
            });
        }
        let custom_debug = fields.iter().any(|field| field.redacted);
        let all_optional = fields.iter().all(|field| !field.required);
        let mut derives = vec!["Clone"];
        if !custom_debug {
            derives.push("Debug");
        }
        if all_optional {
            derives.push("Default");
        }
        derives.extend(["PartialEq", "Eq", "Serialize", "Deserialize"]);

        let doc = self.shape_doc(name, shape);
        let w = &mut self.w;
        w.doc(0, &doc);
        w.line(0, &format!("#[derive({})]", derives.join(", ")));
        if self.plane == Plane::Data {
            // A member the model does not know fails the data plane's quick decoding path
            // (crates/api/src/data.rs), leaving it to the JSON tree that checks and drops it.
            w.line(0, "#[serde(deny_unknown_fields)]");
        }
        if fields.is_empty() {
            w.line(0, &format!("pub struct {name} {{}}"));
        } else {
            w.line(0, &format!("pub struct {name} {{"));
            for field in &fields {
                w.doc(1, &field.doc);
                w.line(1, &format!("#[serde(rename = {:?})]", field.wire));
                let ty = if field.required || field.defaulted {
                    if !field.required {
                        w.line(1, "#[serde(default)]");
                    }
                    field.ty.clone()
                } else {
                    w.line(
                        1,
                        "#[serde(default, skip_serializing_if = \"Option::is_none\")]",
                    );
                    format!("Option<{}>", field.ty)
                };
                w.line(1, &format!("pub {}: {ty},", field.rust));
            }
            w.line(0, "}");
        }
        w.blank();
        if custom_debug {
            w.line(0, &format!("impl fmt::Debug for {name} {{"));
            w.line(
                1,
                "fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {",
            );
            w.line(2, &format!("f.debug_struct({name:?})"));
            for field in &fields {
                let debug_name = field.rust.trim_start_matches("r#");
                let value = match (field.redacted, field.required || field.defaulted) {
                    (false, _) => format!("&self.{}", field.rust),
                    (true, true) => "&Redacted".to_owned(),
                    (true, false) => format!("&self.{}.as_ref().map(|_| Redacted)", field.rust),
                };
                w.call2(3, "field", &format!("{debug_name:?}"), &value);
            }
            w.line(3, ".finish()");
            w.line(1, "}");
            w.line(0, "}");
            w.blank();
        }
        Ok(())
    }

    fn union(&mut self, name: &str, shape: &ShapeDef) -> Result<(), Error> {
        let mut variants = Vec::new();
        for (member, target) in &shape.members.0 {
            let doc =
                summary(&target.documentation).unwrap_or_else(|| format!("The `{member}` member."));
            variants.push((member, self.rust_type(&target.shape)?, doc));
        }
        let mut redacted = Vec::new();
        for (_, target) in &shape.members.0 {
            redacted.push(self.redacted(&target.shape)?);
        }
        let any_redacted = redacted.contains(&true);
        let doc = self.shape_doc(name, shape);
        let w = &mut self.w;
        w.doc(0, &doc);
        w.doc(0, "");
        w.doc(
            0,
            "On the wire, an object with exactly one member: `{\"<Variant>\": ...}`.",
        );
        let derives = if any_redacted {
            "#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]"
        } else {
            "#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]"
        };
        w.line(0, derives);
        w.line(0, &format!("pub enum {name} {{"));
        for (member, ty, doc) in &variants {
            w.doc(1, doc);
            w.line(1, &format!("{member}({ty}),"));
        }
        w.line(0, "}");
        w.blank();
        if any_redacted {
            w.line(0, &format!("impl fmt::Debug for {name} {{"));
            w.line(
                1,
                "fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {",
            );
            w.line(2, "match self {");
            for ((member, _, _), hidden) in variants.iter().zip(&redacted) {
                let (binding, value) = if *hidden {
                    ("_", "&Redacted")
                } else {
                    ("value", "value")
                };
                w.arm(
                    3,
                    &format!("Self::{member}({binding})"),
                    &format!("f.debug_tuple({member:?}).field({value}).finish()"),
                );
            }
            w.line(2, "}");
            w.line(1, "}");
            w.line(0, "}");
            w.blank();
        }
        Ok(())
    }

    fn string_enum(&mut self, name: &str, shape: &ShapeDef) -> Result<(), Error> {
        let doc = summary(&shape.documentation)
            .unwrap_or_else(|| format!("The values of the `{name}` enumeration."));
        let w = &mut self.w;
        w.doc(0, &doc);
        w.line(
            0,
            "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]",
        );
        w.line(0, &format!("pub enum {name} {{"));
        for value in &shape.values {
            w.doc(1, &format!("`{value}`"));
            w.line(1, &format!("#[serde(rename = {value:?})]"));
            w.line(1, &format!("{},", variant_name(value)));
        }
        w.line(0, "}");
        w.blank();
        w.line(0, &format!("impl {name} {{"));
        w.doc(1, "Every value, in model order.");
        let all: Vec<String> = shape
            .values
            .iter()
            .map(|v| format!("Self::{}", variant_name(v)))
            .collect();
        w.array(1, "pub const ALL: &'static [Self] = &", &all, ";");
        w.blank();
        w.doc(1, "The value as it appears on the wire.");
        w.line(1, "pub fn as_str(&self) -> &'static str {");
        w.line(2, "match self {");
        for value in &shape.values {
            w.arm(
                3,
                &format!("Self::{}", variant_name(value)),
                &format!("{value:?}"),
            );
        }
        w.line(2, "}");
        w.line(1, "}");
        w.blank();
        w.doc(1, "The value whose wire form is `value`.");
        w.line(1, "pub fn parse(value: &str) -> Option<Self> {");
        w.line(2, "Self::ALL.iter().copied().find(|v| v.as_str() == value)");
        w.line(1, "}");
        w.line(0, "}");
        w.blank();
        w.one_method_impl(
            &format!("impl fmt::Display for {name}"),
            "fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result",
            "f.write_str(self.as_str())",
        );
        w.doc(
            0,
            "Read from a JSON string of one of the values, and from nothing else.",
        );
        w.one_method_impl(
            &format!("impl<'de> Deserialize<'de> for {name}"),
            "fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>",
            "crate::string_enum(deserializer, Self::parse)",
        );
        Ok(())
    }

    fn schema(&mut self) -> Result<(), Error> {
        let names: Vec<String> = self
            .emitted()
            .map(|(name, _)| format!("&{}", upper_snake(name)))
            .collect();
        self.w.doc(
            0,
            "The schema of every shape of the model except the errors, in model order.",
        );
        self.w
            .array(0, "pub static SHAPES: &[&Shape] = &", &names, ";");
        self.w.blank();
        let shapes: Vec<(&str, &ShapeDef)> = self.emitted().collect();
        for (name, shape) in shapes {
            self.shape_static(name, shape)?;
        }
        Ok(())
    }

    fn shape_static(&mut self, name: &str, shape: &ShapeDef) -> Result<(), Error> {
        let static_name = upper_snake(name);
        let w = &mut self.w;
        w.line(0, &format!("static {static_name}: Shape = Shape {{"));
        w.line(1, &format!("name: {name:?},"));
        w.line(1, &format!("sensitive: {},", shape.sensitive));
        match shape.kind.as_str() {
            "structure" => {
                let kind = if shape.union { "Union" } else { "Structure" };
                if shape.members.0.is_empty() {
                    w.line(1, &format!("kind: ShapeKind::{kind}(&[]),"));
                } else {
                    w.line(
                        1,
                        &format!("kind: ShapeKind::{kind}(&{static_name}_MEMBERS),"),
                    );
                }
            }
            "string" => {
                w.line(1, "kind: ShapeKind::String(StringRules {");
                length(w, 2, shape);
                match &shape.pattern {
                    None => w.line(2, "pattern: None,"),
                    Some(pattern) => {
                        let source = anchored(pattern);
                        w.line(2, "pattern: Some(Pattern {");
                        w.line(3, &format!("source: {},", string_literal(&source)));
                        w.line(
                            3,
                            &format!("regex: {},", string_literal(&to_regex(&source))),
                        );
                        w.line(2, "}),");
                    }
                }
                let values: Vec<String> = shape.values.iter().map(|v| format!("{v:?}")).collect();
                w.array(2, "values: &", &values, ",");
                w.line(1, "}),");
            }
            "integer" => {
                w.line(1, "kind: ShapeKind::Integer(Range {");
                w.line(2, &format!("min: {},", option(shape.min)));
                w.line(2, &format!("max: {},", option(shape.max)));
                w.line(1, "}),");
            }
            "boolean" => w.line(1, "kind: ShapeKind::Boolean,"),
            "timestamp" => w.line(1, "kind: ShapeKind::Timestamp,"),
            "list" => {
                let member = entry(name, &shape.member)?;
                w.line(1, "kind: ShapeKind::List(ListRules {");
                w.line(2, &format!("member: &{},", upper_snake(&member.shape)));
                length(w, 2, shape);
                w.line(1, "}),");
            }
            "map" => {
                let key = entry(name, &shape.key)?;
                let value = entry(name, &shape.value)?;
                w.line(1, "kind: ShapeKind::Map(MapRules {");
                w.line(2, &format!("key: &{},", upper_snake(&key.shape)));
                w.line(2, &format!("value: &{},", upper_snake(&value.shape)));
                length(w, 2, shape);
                w.line(1, "}),");
            }
            other => {
                return Err(Error::new(format!(
                    "{name}: unsupported shape type {other}"
                )));
            }
        }
        w.line(0, "};");
        w.blank();
        if shape.kind == "structure" && !shape.members.0.is_empty() {
            let count = shape.members.0.len();
            let head = format!("static {static_name}_MEMBERS: [Member; {count}] = [");
            // A lone struct literal overflows onto the line of the brackets, as rustfmt does.
            let lone = count == 1;
            let indent = if lone { 1 } else { 2 };
            w.line(
                0,
                &if lone {
                    format!("{head}Member {{")
                } else {
                    head
                },
            );
            for (member, target) in &shape.members.0 {
                if !lone {
                    w.line(1, "Member {");
                }
                w.line(indent, &format!("name: {member:?},"));
                w.line(indent, &format!("shape: &{},", upper_snake(&target.shape)));
                w.line(
                    indent,
                    &format!("required: {},", shape.required.contains(member)),
                );
                if !lone {
                    w.line(1, "},");
                }
            }
            w.line(0, if lone { "}];" } else { "];" });
            w.blank();
        }
        Ok(())
    }
}

/// The `length: Length { .. },` field of a string, list or map.
fn length(w: &mut Writer, indent: usize, shape: &ShapeDef) {
    w.line(indent, "length: Length {");
    w.line(indent + 1, &format!("min: {},", option(shape.min)));
    w.line(indent + 1, &format!("max: {},", option(shape.max)));
    w.line(indent, "},");
}

fn option(value: Option<i64>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| format!("Some({v})"))
}

/// The entry reference of a list or map (`member`, `key` or `value`).
fn entry<'a>(name: &str, entry: &'a Option<ShapeRef>) -> Result<&'a ShapeRef, Error> {
    entry
        .as_ref()
        .ok_or_else(|| Error::new(format!("{name}: a list or map without its entry shape")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_wrap_past_the_width() {
        let mut w = Writer::default();
        w.arm(3, "Self::A", "\"A\"");
        w.arm(
            3,
            &format!("Self::{}", "B".repeat(50)),
            &format!("{:?}", "B".repeat(40)),
        );
        let lines: Vec<&str> = w.out.lines().collect();
        assert_eq!(lines[0], "            Self::A => \"A\",");
        assert!(lines[1].ends_with("=> {"));
        assert_eq!(lines[3], "            }");
    }

    #[test]
    fn arrays_go_vertical_past_the_array_width() {
        let mut w = Writer::default();
        let short = vec!["\"A\"".to_owned(), "\"B\"".to_owned()];
        w.array(2, "values: &", &short, ",");
        assert_eq!(w.out, "        values: &[\"A\", \"B\"],\n");
        let mut w = Writer::default();
        let long: Vec<String> = (0..10).map(|i| format!("\"VALUE_{i}\"")).collect();
        w.array(2, "values: &", &long, ",");
        assert_eq!(w.out.lines().count(), 12);
    }

    #[test]
    fn long_use_lists_wrap() {
        let mut w = Writer::default();
        let names: Vec<String> = (0..12).map(|i| format!("NameNumber{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        w.use_list("crate::schema", &names);
        assert!(w.out.starts_with("use crate::schema::{\n    NameNumber0, "));
        assert!(w.out.lines().all(|line| line.len() <= MAX_WIDTH));
        assert!(w.out.ends_with(",\n};\n"));
    }
}
