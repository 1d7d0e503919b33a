//! Terraform's DynamicValue msgpack encoding of values, byte for byte as go-cty's `cty/msgpack` writes it.
//!
//! The type always comes from outside (a schema), because the encoding carries none except for
//! `dynamic`, where each value is a `[type JSON, value]` pair. Decoding is safe on hostile input:
//! every read is bounds-checked, declared lengths reserve little memory up front, and nesting is
//! limited to [`MAX_DEPTH`].

mod decode;
mod encode;
mod infer;
mod refinements;

use std::fmt;

use super::path::{AttributePath, PathStep};
use super::types::Type;
use super::value::Value;

pub(super) use decode::{decimal_parts, number_from_text, preview};
pub(super) use infer::{InferenceError, infer_type};

/// Values nested deeper than this are refused, so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 256;

/// The path of the value at hand; steps are prepended as an error travels up to the root.
pub(super) const HERE: AttributePath = AttributePath(Vec::new());

/// Why a value could not be encoded to or decoded from msgpack, and where in it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MsgpackError {
    /// The input ended in the middle of a value.
    #[error("{}unexpected end of input", At(.path))]
    Truncated {
        /// Where the unfinished value sits.
        path: AttributePath,
    },
    /// A value is not of the kind its type calls for.
    #[error("{}expected {expected}, found {found}", At(.path))]
    Mismatch {
        /// Where the value sits.
        path: AttributePath,
        /// What the type calls for.
        expected: String,
        /// What was there: a msgpack kind when decoding, a value kind when encoding.
        found: &'static str,
    },
    /// Bytes follow the value.
    #[error("{count} unexpected bytes after the value")]
    TrailingBytes {
        /// How many bytes are left over.
        count: usize,
    },
    /// An object has an attribute its type does not.
    #[error("{}unsupported attribute {name:?}", At(.path))]
    UnsupportedAttribute {
        /// Where the object sits.
        path: AttributePath,
        /// The attribute's name.
        name: String,
    },
    /// An object attribute or a map key appears twice.
    #[error("{}duplicate key {key:?}", At(.path))]
    DuplicateKey {
        /// Where the object or map sits.
        path: AttributePath,
        /// The repeated key.
        key: String,
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
    /// A string is not valid UTF-8.
    #[error("{}string is not valid utf-8", At(.path))]
    InvalidUtf8 {
        /// Where the string sits.
        path: AttributePath,
    },
    /// A number Terraform cannot hold (NaN), or text that is not a decimal number.
    #[error("{}invalid number: {reason}", At(.path))]
    InvalidNumber {
        /// Where the number sits.
        path: AttributePath,
        /// What is wrong with it.
        reason: String,
    },
    /// An unknown value's extension or refinements are malformed.
    #[error("{}invalid unknown value: {reason}", At(.path))]
    InvalidUnknown {
        /// Where the unknown value sits.
        path: AttributePath,
        /// What is wrong with it.
        reason: String,
    },
    /// A dynamic value is not a `[type JSON, value]` pair, or its type JSON is not understood.
    #[error("{}invalid dynamic value: {reason}", At(.path))]
    InvalidDynamic {
        /// Where the dynamic value sits.
        path: AttributePath,
        /// What is wrong with it.
        reason: String,
    },
    /// No single type fits a dynamic value, such as a list mixing strings and numbers.
    #[error("{}cannot infer the type of a dynamic value: {reason}", At(.path))]
    CannotInferType {
        /// Where the part without a type sits.
        path: AttributePath,
        /// Which types clash.
        reason: String,
    },
    /// A string or collection too long for msgpack's 32-bit lengths.
    #[error("{}too long for msgpack", At(.path))]
    TooLong {
        /// Where the value sits.
        path: AttributePath,
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
            MsgpackError::TrailingBytes { .. } => None,
            MsgpackError::Truncated { path }
            | MsgpackError::Mismatch { path, .. }
            | MsgpackError::UnsupportedAttribute { path, .. }
            | MsgpackError::DuplicateKey { path, .. }
            | MsgpackError::TupleLength { path, .. }
            | MsgpackError::InvalidUtf8 { path }
            | MsgpackError::InvalidNumber { path, .. }
            | MsgpackError::InvalidUnknown { path, .. }
            | MsgpackError::InvalidDynamic { path, .. }
            | MsgpackError::CannotInferType { path, .. }
            | MsgpackError::TooLong { path }
            | MsgpackError::TooDeep { path } => Some(path),
        }
    };
}

impl MsgpackError {
    /// Where in the value the problem is (empty for the root); `None` for trailing bytes.
    pub fn path(&self) -> Option<&AttributePath> {
        path_of!(self)
    }

    /// The same error seen from the parent value: `step` leads from the parent to where it was.
    fn within(mut self, step: PathStep) -> MsgpackError {
        if let Some(path) = path_of!(&mut self) {
            path.0.insert(0, step);
        }
        self
    }
}

/// Prints "at PATH: " before a message, or nothing at the root, so messages read the same everywhere.
pub(super) struct At<'a>(pub(super) &'a AttributePath);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.0.is_empty() {
            Ok(())
        } else {
            write!(f, "at {}: ", self.0)
        }
    }
}

/// The path step of a list, set or tuple element.
pub(super) fn index_step(index: usize) -> PathStep {
    PathStep::ElementKeyInt(i64::try_from(index).unwrap_or(i64::MAX))
}

/// Encodes `value` as a value of type `ty`, as cty would.
///
/// The type decides the wire form, so a list type takes a `List`, `Set` or `Tuple` value alike,
/// and an object type an `Object` or `Map`. An object attribute missing from the value is written
/// as null; one the type lacks is an error. Refinements of unknown values are written only where
/// cty writes them for that type. A value in a `dynamic` slot gets the type its contents imply:
/// collections take the element type their elements share (`dynamic` when empty).
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, MsgpackError> {
    let mut out = Vec::new();
    encode::encode_value(&mut out, value, ty, 0)?;
    Ok(out)
}

/// Decodes a value of type `ty`, refusing anything after it.
///
/// Numbers are read from any msgpack integer, float or decimal string; strings from str or bin;
/// object attributes that are absent read as null. Set elements keep the order they came in.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
    let mut r = decode::Reader { rest: bytes };
    let value = decode::decode_value(&mut r, ty, 0)?;
    match r.rest.len() {
        0 => Ok(value),
        count => Err(MsgpackError::TrailingBytes { count }),
    }
}

fn mismatch(expected: &str, found: &'static str) -> MsgpackError {
    MsgpackError::Mismatch {
        path: HERE,
        expected: expected.to_owned(),
        found,
    }
}

/// How a value is named in error messages.
pub(super) fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unknown(_) => "unknown value",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Tuple(_) => "tuple",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod tests;
