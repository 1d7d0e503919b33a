//! The JSON form of Terraform values, as stored in state and handed to UpgradeResourceState, read and written by type.
//!
//! It is go-cty's `cty/json` encoding: objects and maps are JSON objects, lists, sets and tuples
//! are arrays, numbers are JSON numbers of any size, and a value in a `dynamic` slot is
//! `{"value": ..., "type": <type JSON>}`. Numbers keep every digit: serde_json's
//! `arbitrary_precision` hands over their text, which is parsed here rather than through `f64`.

use std::collections::BTreeMap;
use std::iter;

use serde_json::{Map, Value as Json};

use super::msgpack::{
    At, HERE, InferenceError, MAX_DEPTH, decimal_parts, index_step, infer_type, number_from_text,
    preview, value_kind,
};
use super::path::{AttributePath, PathStep};
use super::types::{ObjectType, Type};
use super::value::{Number, Value};

/// Why a value could not be read from or written as JSON, and where in it.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The bytes are not one JSON document (or nest deeper than serde_json's 128 levels).
    #[error("invalid json: {0}")]
    Syntax(#[from] serde_json::Error),
    /// A value is not of the kind its type calls for.
    #[error("{}expected {expected}, found {found}", At(.path))]
    Mismatch {
        /// Where the value sits.
        path: AttributePath,
        /// What the type calls for.
        expected: String,
        /// What was there: a JSON kind when decoding, a value kind when encoding.
        found: &'static str,
    },
    /// An object has an attribute its type does not ([`decode_lenient`] drops these instead).
    #[error("{}unsupported attribute {name:?}", At(.path))]
    UnsupportedAttribute {
        /// Where the object sits.
        path: AttributePath,
        /// The attribute's name.
        name: String,
    },
    /// A tuple has another number of elements than its type.
    #[error("{}expected a tuple of {expected} elements, found {found}", At(.path))]
    TupleLength {
        /// Where the tuple sits.
        path: AttributePath,
        /// How many elements the type has.
        expected: usize,
        /// How many there were.
        found: usize,
    },
    /// Text that is not a decimal number, or a number JSON cannot hold (infinity, NaN).
    #[error("{}invalid number: {reason}", At(.path))]
    InvalidNumber {
        /// Where the number sits.
        path: AttributePath,
        /// What is wrong with it.
        reason: String,
    },
    /// A dynamic value is not `{"value": ..., "type": ...}`, or its type is not understood.
    #[error("{}invalid dynamic value: {reason}", At(.path))]
    InvalidDynamic {
        /// Where the dynamic value sits.
        path: AttributePath,
        /// What is wrong with it.
        reason: String,
    },
    /// An unknown value, which JSON (and so state) cannot hold.
    #[error("{}unknown values cannot be written as json", At(.path))]
    Unknown {
        /// Where the unknown value sits.
        path: AttributePath,
    },
    /// No single type fits a dynamic value, such as a list mixing strings and numbers.
    #[error("{}cannot infer the type of a dynamic value: {reason}", At(.path))]
    CannotInferType {
        /// Where the part without a type sits.
        path: AttributePath,
        /// Which types clash.
        reason: String,
    },
    /// Values nest deeper than [`MAX_DEPTH`].
    #[error("{}nested deeper than {} levels", At(.path), MAX_DEPTH)]
    TooDeep {
        /// Where the limit was reached.
        path: AttributePath,
    },
}

/// The path of an error, if it has one; a macro so that `path` and `within` list the variants once.
macro_rules! path_of {
    ($error:expr) => {
        match $error {
            JsonError::Syntax(_) => None,
            JsonError::Mismatch { path, .. }
            | JsonError::UnsupportedAttribute { path, .. }
            | JsonError::TupleLength { path, .. }
            | JsonError::InvalidNumber { path, .. }
            | JsonError::InvalidDynamic { path, .. }
            | JsonError::Unknown { path }
            | JsonError::CannotInferType { path, .. }
            | JsonError::TooDeep { path } => Some(path),
        }
    };
}

impl JsonError {
    /// Where in the value the problem is (empty for the root); `None` for a syntax error.
    pub fn path(&self) -> Option<&AttributePath> {
        path_of!(self)
    }

    /// The same error seen from the parent value: `step` leads from the parent to where it was.
    fn within(mut self, step: PathStep) -> JsonError {
        if let Some(path) = path_of!(&mut self) {
            path.0.insert(0, step);
        }
        self
    }
}

impl From<InferenceError> for JsonError {
    fn from(e: InferenceError) -> JsonError {
        JsonError::CannotInferType {
            path: e.path,
            reason: e.reason,
        }
    }
}

/// Decodes the JSON form of a value of type `ty`; an attribute the type lacks is an error.
///
/// Absent object attributes read as null. Like cty, a bool may also be the string `"true"`,
/// `"false"`, `"1"` or `"0"`, a number a string holding one, and a string a number or bool.
/// Numbers that are not integers in i64 range become [`Number::Big`] with the text as written.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, JsonError> {
    Decoder { lenient: false }.value(&serde_json::from_slice(bytes)?, ty, 0)
}

/// Decodes like [`decode`] but drops object attributes the type lacks, as state written under an
/// older schema may hold attributes since removed.
pub fn decode_lenient(bytes: &[u8], ty: &Type) -> Result<Value, JsonError> {
    Decoder { lenient: true }.value(&serde_json::from_slice(bytes)?, ty, 0)
}

/// Encodes a value of type `ty` in its JSON form, as cty would; unknown values are an error.
///
/// As in [`super::msgpack::encode`], the type decides the form, an object attribute missing from
/// the value is written as null, and a dynamic value's type is inferred from the value.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, JsonError> {
    let mut out = String::new();
    write_value(&mut out, value, ty, 0)?;
    Ok(out.into_bytes())
}

/// How a JSON value is named in error messages.
fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn mismatch(ty: &Type, found: &'static str) -> JsonError {
    JsonError::Mismatch {
        path: HERE,
        expected: ty.friendly_name(),
        found,
    }
}

fn invalid_number(text: &str) -> JsonError {
    let reason = format!("{:?} is not a decimal number", preview(text));
    JsonError::InvalidNumber { path: HERE, reason }
}

struct Decoder {
    /// Whether object attributes the type lacks are dropped rather than refused.
    lenient: bool,
}

impl Decoder {
    fn value(&self, json: &Json, ty: &Type, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep { path: HERE });
        }
        let number = |text: &str| {
            number_from_text(text)
                .map(Value::Number)
                .ok_or_else(|| invalid_number(text))
        };
        match (ty, json) {
            (_, Json::Null) => Ok(Value::Null),
            (Type::Dynamic, Json::Object(fields)) => self.dynamic(fields, depth),
            (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
            // cty converts these strings to bools, and state written long ago may hold them.
            (Type::Bool, Json::String(s)) if s == "true" || s == "1" => Ok(Value::Bool(true)),
            (Type::Bool, Json::String(s)) if s == "false" || s == "0" => Ok(Value::Bool(false)),
            (Type::Number, Json::Number(n)) => number(n.as_str()),
            (Type::Number, Json::String(s)) => number(s),
            (Type::String, Json::String(s)) => Ok(Value::String(s.clone())),
            (Type::String, Json::Number(n)) => Ok(Value::String(n.as_str().to_owned())),
            (Type::String, Json::Bool(b)) => Ok(Value::String(b.to_string())),
            (Type::List(element) | Type::Set(element), Json::Array(items)) => {
                let items = self.elements(items, iter::repeat_n(&**element, items.len()), depth)?;
                Ok(match ty {
                    Type::List(_) => Value::List(items),
                    _ => Value::Set(items),
                })
            }
            (Type::Tuple(types), Json::Array(items)) => {
                if items.len() != types.len() {
                    return Err(JsonError::TupleLength {
                        path: HERE,
                        expected: types.len(),
                        found: items.len(),
                    });
                }
                Ok(Value::Tuple(self.elements(items, types.iter(), depth)?))
            }
            (Type::Map(element), Json::Object(fields)) => {
                let mut entries = BTreeMap::new();
                for (key, item) in fields {
                    let value = self
                        .value(item, element, depth + 1)
                        .map_err(|e| e.within(PathStep::ElementKeyString(key.clone())))?;
                    entries.insert(key.clone(), value);
                }
                Ok(Value::Map(entries))
            }
            (Type::Object(object), Json::Object(fields)) => self.object(object, fields, depth),
            _ => Err(mismatch(ty, json_kind(json))),
        }
    }

    fn elements<'t>(
        &self,
        items: &[Json],
        types: impl Iterator<Item = &'t Type>,
        depth: usize,
    ) -> Result<Vec<Value>, JsonError> {
        items
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (item, t))| {
                self.value(item, t, depth + 1)
                    .map_err(|e| e.within(index_step(i)))
            })
            .collect()
    }

    fn object(
        &self,
        object: &ObjectType,
        fields: &Map<String, Json>,
        depth: usize,
    ) -> Result<Value, JsonError> {
        let mut attributes = BTreeMap::new();
        for (name, item) in fields {
            let Some(t) = object.attributes.get(name) else {
                if self.lenient {
                    continue;
                }
                return Err(JsonError::UnsupportedAttribute {
                    path: HERE,
                    name: name.clone(),
                });
            };
            let value = self
                .value(item, t, depth + 1)
                .map_err(|e| e.within(PathStep::Attribute(name.clone())))?;
            attributes.insert(name.clone(), value);
        }
        // State omits nothing in practice, but cty reads an absent attribute as null, and so do we.
        for name in object.attributes.keys() {
            attributes.entry(name.clone()).or_insert(Value::Null);
        }
        Ok(Value::Object(attributes))
    }

    /// `{"value": ..., "type": ...}`: the value is read with the type it names.
    fn dynamic(&self, fields: &Map<String, Json>, depth: usize) -> Result<Value, JsonError> {
        let invalid = |reason: String| JsonError::InvalidDynamic { path: HERE, reason };
        if let Some(key) = fields.keys().find(|k| *k != "value" && *k != "type") {
            return Err(invalid(format!(
                "unexpected key {key:?} beside \"value\" and \"type\""
            )));
        }
        let ty = fields
            .get("type")
            .ok_or_else(|| invalid("missing \"type\"".into()))?;
        let ty = Type::from_json(ty).map_err(|e| invalid(e.to_string()))?;
        let value = fields
            .get("value")
            .ok_or_else(|| invalid("missing \"value\"".into()))?;
        self.value(value, &ty, depth + 1)
    }
}

fn write_value(out: &mut String, value: &Value, ty: &Type, depth: usize) -> Result<(), JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError::TooDeep { path: HERE });
    }
    match (ty, value) {
        (_, Value::Unknown(_)) => return Err(JsonError::Unknown { path: HERE }),
        (Type::Dynamic, Value::Null) => out.push_str("null"),
        (Type::Dynamic, _) => {
            let ty = infer_type(value, depth)?;
            out.push_str("{\"value\":");
            write_value(out, value, &ty, depth + 1)?;
            out.push_str(",\"type\":");
            out.push_str(&ty.to_json().to_string());
            out.push('}');
        }
        (_, Value::Null) => out.push_str("null"),
        (Type::Bool, Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        (Type::Number, Value::Number(n)) => write_number(out, n)?,
        (Type::String, Value::String(s)) => write_string(out, s),
        (
            Type::List(element) | Type::Set(element),
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
        ) => {
            write_elements(out, items, iter::repeat_n(&**element, items.len()), depth)?;
        }
        (Type::Tuple(types), Value::List(items) | Value::Set(items) | Value::Tuple(items)) => {
            if items.len() != types.len() {
                return Err(JsonError::TupleLength {
                    path: HERE,
                    expected: types.len(),
                    found: items.len(),
                });
            }
            write_elements(out, items, types.iter(), depth)?;
        }
        (Type::Map(element), Value::Map(entries) | Value::Object(entries)) => {
            let fields = entries.iter().map(|(k, v)| (k, Some(v), &**element));
            write_fields(out, fields, PathStep::ElementKeyString, depth)?;
        }
        (Type::Object(object), Value::Object(attributes) | Value::Map(attributes)) => {
            if let Some(name) = attributes
                .keys()
                .find(|k| !object.attributes.contains_key(*k))
            {
                return Err(JsonError::UnsupportedAttribute {
                    path: HERE,
                    name: name.clone(),
                });
            }
            let fields = object
                .attributes
                .iter()
                .map(|(k, t)| (k, attributes.get(k), t));
            write_fields(out, fields, PathStep::Attribute, depth)?;
        }
        _ => return Err(mismatch(ty, value_kind(value))),
    }
    Ok(())
}

fn write_elements<'t>(
    out: &mut String,
    items: &[Value],
    types: impl Iterator<Item = &'t Type>,
    depth: usize,
) -> Result<(), JsonError> {
    out.push('[');
    for (i, (item, t)) in items.iter().zip(types).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_value(out, item, t, depth + 1).map_err(|e| e.within(index_step(i)))?;
    }
    out.push(']');
    Ok(())
}

/// A JSON object from `(key, value, type)`; an absent value is written as null.
fn write_fields<'v>(
    out: &mut String,
    fields: impl Iterator<Item = (&'v String, Option<&'v Value>, &'v Type)>,
    step: fn(String) -> PathStep,
    depth: usize,
) -> Result<(), JsonError> {
    out.push('{');
    for (i, (key, value, t)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        match value {
            Some(value) => {
                write_value(out, value, t, depth + 1).map_err(|e| e.within(step(key.clone())))?
            }
            None => out.push_str("null"),
        }
    }
    out.push('}');
    Ok(())
}

/// A number as cty writes one: plain decimal digits, never an exponent for floats.
fn write_number(out: &mut String, n: &Number) -> Result<(), JsonError> {
    match n {
        Number::Int(i) => out.push_str(&i.to_string()),
        // Display prints the shortest digits that read back the same, without an exponent.
        Number::Float(f) if f.is_finite() => out.push_str(&f.to_string()),
        Number::Float(f) => {
            let reason = format!("{f} cannot be written as json");
            return Err(JsonError::InvalidNumber { path: HERE, reason });
        }
        Number::Big(text) => {
            let Some(Number::Int(_) | Number::Big(_)) = number_from_text(text) else {
                return Err(invalid_number(text));
            };
            let Some(d) = decimal_parts(text) else {
                return Err(invalid_number(text));
            };
            // cty accepts forms JSON does not ("+1", ".5", "007", "1."), so write the JSON spelling.
            if d.negative {
                out.push('-');
            }
            let integer = d.integer.trim_start_matches('0');
            out.push_str(if integer.is_empty() { "0" } else { integer });
            if !d.fraction.is_empty() {
                out.push('.');
                out.push_str(d.fraction);
            }
            if let Some(exponent) = d.exponent {
                out.push('e');
                out.push_str(exponent);
            }
        }
    }
    Ok(())
}

/// A JSON string literal; only what JSON requires is escaped.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
