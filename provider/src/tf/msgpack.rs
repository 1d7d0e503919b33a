//! Terraform's DynamicValue msgpack encoding of values, byte for byte as go-cty's `cty/msgpack` writes it.
//!
//! The type always comes from outside (a schema), because the encoding carries none except for
//! `dynamic`, where each value is a `[type JSON, value]` pair. Decoding is safe on hostile input:
//! every read is bounds-checked, declared lengths reserve little memory up front, and nesting is
//! limited to [`MAX_DEPTH`].

use std::collections::BTreeMap;
use std::fmt;
use std::iter;

use rmp::Marker;

use super::path::{AttributePath, PathStep};
use super::types::{ObjectType, Type};
use super::value::{Number, Refinements, Value};

/// Values nested deeper than this are refused, so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 256;

/// How cty writes a wholly unknown value: a fixext1 of type 0 whose one byte carries nothing.
const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];
/// The extension type cty gives an unknown value whose payload is a map of refinements.
const REFINED_UNKNOWN: i8 = 0x0c;
/// cty refuses larger refinement payloads to guard its memory, so they are neither read nor written.
const MAX_REFINEMENTS_LEN: usize = 1024;
/// Longer string prefix refinements are cut to 255 bytes, as cty does, to stay under that limit.
const MAX_PREFIX_LEN: usize = 256;
/// A declared length reserves at most this many slots; more grow only as elements really arrive.
const PREALLOCATION_LIMIT: usize = 1024;
/// The path of the value at hand; steps are prepended as an error travels up to the root.
pub(super) const HERE: AttributePath = AttributePath(Vec::new());

// The keys of cty's refinement map.
const NULLNESS: i64 = 1;
const STRING_PREFIX: i64 = 2;
const NUMBER_MIN: i64 = 3;
const NUMBER_MAX: i64 = 4;
const LENGTH_MIN: i64 = 5;
const LENGTH_MAX: i64 = 6;

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
    encode_value(&mut out, value, ty, 0)?;
    Ok(out)
}

/// Decodes a value of type `ty`, refusing anything after it.
///
/// Numbers are read from any msgpack integer, float or decimal string; strings from str or bin;
/// object attributes that are absent read as null. Set elements keep the order they came in.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
    let mut r = Reader { rest: bytes };
    let value = decode_value(&mut r, ty, 0)?;
    match r.rest.len() {
        0 => Ok(value),
        count => Err(MsgpackError::TrailingBytes { count }),
    }
}

/// A cursor over the input; every read checks the length first, so short input is an error.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MsgpackError> {
        if n > self.rest.len() {
            return Err(MsgpackError::Truncated { path: HERE });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// A big-endian unsigned integer of `n` bytes (at most 8).
    fn be(&mut self, n: usize) -> Result<u64, MsgpackError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn marker(&mut self) -> Result<Marker, MsgpackError> {
        Ok(Marker::from_u8(self.be(1)? as u8))
    }

    fn array_len(&mut self, m: Marker) -> Result<Option<usize>, MsgpackError> {
        Ok(Some(match m {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => self.be(2)? as usize,
            Marker::Array32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }

    fn map_len(&mut self, m: Marker) -> Result<Option<usize>, MsgpackError> {
        Ok(Some(match m {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => self.be(2)? as usize,
            Marker::Map32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }

    /// The bytes of a str or a bin: cty reads strings and type JSON from either.
    fn text(&mut self, m: Marker) -> Result<Option<&'a [u8]>, MsgpackError> {
        let n = match m {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 => self.be(1)? as usize,
            Marker::Str16 | Marker::Bin16 => self.be(2)? as usize,
            Marker::Str32 | Marker::Bin32 => self.be(4)? as usize,
            _ => return Ok(None),
        };
        self.take(n).map(Some)
    }

    /// Any msgpack integer; i128 holds both the signed and the unsigned 64-bit ranges.
    fn int(&mut self, m: Marker) -> Result<Option<i128>, MsgpackError> {
        Ok(Some(match m {
            Marker::FixPos(n) => i128::from(n),
            Marker::FixNeg(n) => i128::from(n),
            Marker::U8 => i128::from(self.be(1)?),
            Marker::U16 => i128::from(self.be(2)?),
            Marker::U32 => i128::from(self.be(4)?),
            Marker::U64 => i128::from(self.be(8)?),
            Marker::I8 => i128::from(self.be(1)? as u8 as i8),
            Marker::I16 => i128::from(self.be(2)? as u16 as i16),
            Marker::I32 => i128::from(self.be(4)? as u32 as i32),
            Marker::I64 => i128::from(self.be(8)? as i64),
            _ => return Ok(None),
        }))
    }

    fn float(&mut self, m: Marker) -> Result<Option<f64>, MsgpackError> {
        Ok(Some(match m {
            Marker::F32 => f64::from(f32::from_bits(self.be(4)? as u32)),
            Marker::F64 => f64::from_bits(self.be(8)?),
            _ => return Ok(None),
        }))
    }

    /// An extension's type code and payload.
    fn ext(&mut self, m: Marker) -> Result<Option<(i8, &'a [u8])>, MsgpackError> {
        let n = match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.be(1)? as usize,
            Marker::Ext16 => self.be(2)? as usize,
            Marker::Ext32 => self.be(4)? as usize,
            _ => return Ok(None),
        };
        let code = self.be(1)? as u8 as i8;
        Ok(Some((code, self.take(n)?)))
    }

    /// Steps over one value of any kind; refinements cty may add later are skipped this way.
    fn skip(&mut self, depth: usize) -> Result<(), MsgpackError> {
        if depth > MAX_DEPTH {
            return Err(MsgpackError::TooDeep { path: HERE });
        }
        let m = self.marker()?;
        let children = if let Some(n) = self.array_len(m)? {
            n as u64
        } else if let Some(n) = self.map_len(m)? {
            2 * n as u64
        } else if matches!(m, Marker::Null | Marker::True | Marker::False)
            || self.int(m)?.is_some()
            || self.float(m)?.is_some()
            || self.text(m)?.is_some()
            || self.ext(m)?.is_some()
        {
            0
        } else {
            return Err(mismatch("a msgpack value", kind(m)));
        };
        // Each child takes at least one byte, so the input's length bounds this loop.
        for _ in 0..children {
            self.skip(depth + 1)?;
        }
        Ok(())
    }
}

/// How a msgpack value is named in error messages.
fn kind(m: Marker) -> &'static str {
    match m {
        Marker::Null => "nil",
        Marker::True | Marker::False => "bool",
        Marker::FixPos(_) | Marker::FixNeg(_) => "integer",
        Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => "integer",
        Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => "integer",
        Marker::F32 | Marker::F64 => "float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map",
        Marker::Reserved => "the reserved byte 0xc1",
        _ => "extension",
    }
}

fn mismatch(expected: &str, found: &'static str) -> MsgpackError {
    MsgpackError::Mismatch {
        path: HERE,
        expected: expected.to_owned(),
        found,
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, MsgpackError> {
    std::str::from_utf8(bytes).map_err(|_| MsgpackError::InvalidUtf8 { path: HERE })
}

fn decode_value(r: &mut Reader<'_>, ty: &Type, depth: usize) -> Result<Value, MsgpackError> {
    if depth > MAX_DEPTH {
        return Err(MsgpackError::TooDeep { path: HERE });
    }
    let m = r.marker()?;
    // cty reads every extension as an unknown value, whatever the type, before anything else.
    if let Some((code, payload)) = r.ext(m)? {
        return decode_unknown(code, payload, ty);
    }
    // Each kind has its own function so that this one, on every level of recursion, stays small.
    match (m, ty) {
        (Marker::Null, _) => Ok(Value::Null),
        (_, Type::Dynamic) => decode_dynamic(r, m, depth),
        (_, Type::List(_) | Type::Set(_) | Type::Tuple(_)) => decode_sequence(r, m, ty, depth),
        (_, Type::Map(_) | Type::Object(_)) => decode_mapping(r, m, ty, depth),
        _ => decode_primitive(r, m, ty),
    }
}

fn wrong_kind(ty: &Type, m: Marker) -> MsgpackError {
    mismatch(&ty.friendly_name(), kind(m))
}

fn decode_primitive(r: &mut Reader<'_>, m: Marker, ty: &Type) -> Result<Value, MsgpackError> {
    match (ty, m) {
        (Type::Bool, Marker::True) => Ok(Value::Bool(true)),
        (Type::Bool, Marker::False) => Ok(Value::Bool(false)),
        (Type::Number, _) => decode_number(r, m)?
            .map(Value::Number)
            .ok_or_else(|| wrong_kind(ty, m)),
        (Type::String, _) => match r.text(m)? {
            Some(bytes) => Ok(Value::String(utf8(bytes)?.to_owned())),
            None => Err(wrong_kind(ty, m)),
        },
        _ => Err(wrong_kind(ty, m)),
    }
}

/// A list, set or tuple: an array.
fn decode_sequence(
    r: &mut Reader<'_>,
    m: Marker,
    ty: &Type,
    depth: usize,
) -> Result<Value, MsgpackError> {
    let n = r.array_len(m)?.ok_or_else(|| wrong_kind(ty, m))?;
    if let Type::Tuple(types) = ty
        && types.len() != n
    {
        return Err(MsgpackError::TupleLength {
            path: HERE,
            expected: types.len(),
            found: n,
        });
    }
    // Each element takes at least a byte, so what is left of the input bounds a truthful length.
    let mut items = Vec::with_capacity(n.min(r.rest.len()).min(PREALLOCATION_LIMIT));
    for i in 0..n {
        let t = match ty {
            Type::Tuple(types) => types.get(i),
            _ => ty.element_type(),
        };
        let item = decode_value(r, t.unwrap_or(&Type::Dynamic), depth + 1);
        items.push(item.map_err(|e| e.within(index_step(i)))?);
    }
    Ok(match ty {
        Type::List(_) => Value::List(items),
        Type::Set(_) => Value::Set(items),
        _ => Value::Tuple(items),
    })
}

/// A map or object: a msgpack map with string keys.
fn decode_mapping(
    r: &mut Reader<'_>,
    m: Marker,
    ty: &Type,
    depth: usize,
) -> Result<Value, MsgpackError> {
    let n = r.map_len(m)?.ok_or_else(|| wrong_kind(ty, m))?;
    let mut entries = BTreeMap::new();
    for _ in 0..n {
        let key = decode_key(r, &entries)?;
        let (t, step): (&Type, fn(String) -> PathStep) = match ty {
            Type::Object(object) => match object.attributes.get(&key) {
                Some(t) => (t, PathStep::Attribute),
                None => {
                    return Err(MsgpackError::UnsupportedAttribute {
                        path: HERE,
                        name: key,
                    });
                }
            },
            _ => (
                ty.element_type().unwrap_or(&Type::Dynamic),
                PathStep::ElementKeyString,
            ),
        };
        let value = decode_value(r, t, depth + 1).map_err(|e| e.within(step(key.clone())))?;
        entries.insert(key, value);
    }
    let Type::Object(object) = ty else {
        return Ok(Value::Map(entries));
    };
    // cty insists on every attribute; reading an absent one as null loses nothing.
    for name in object.attributes.keys() {
        entries.entry(name.clone()).or_insert(Value::Null);
    }
    Ok(Value::Object(entries))
}

/// A map key or attribute name, refused when it repeats one already read.
fn decode_key(r: &mut Reader<'_>, seen: &BTreeMap<String, Value>) -> Result<String, MsgpackError> {
    let m = r.marker()?;
    let key = utf8(r.text(m)?.ok_or_else(|| mismatch("string key", kind(m)))?)?;
    if seen.contains_key(key) {
        return Err(MsgpackError::DuplicateKey {
            path: HERE,
            key: key.to_owned(),
        });
    }
    Ok(key.to_owned())
}

/// A number in any of the forms cty reads: integer, float, or decimal text for what fits neither.
fn decode_number(r: &mut Reader<'_>, m: Marker) -> Result<Option<Number>, MsgpackError> {
    if let Some(i) = r.int(m)? {
        return Ok(Some(
            i64::try_from(i).map_or_else(|_| Number::Big(i.to_string()), Number::Int),
        ));
    }
    if let Some(f) = r.float(m)? {
        if f.is_nan() {
            return Err(MsgpackError::InvalidNumber {
                path: HERE,
                reason: "NaN is not a number".into(),
            });
        }
        return Ok(Some(Number::Float(f)));
    }
    match r.text(m)? {
        Some(bytes) => {
            let text = utf8(bytes)?;
            number_from_text(text)
                .map(Some)
                .ok_or_else(|| MsgpackError::InvalidNumber {
                    path: HERE,
                    reason: format!("{:?} is not a decimal number", preview(text)),
                })
        }
        None => Ok(None),
    }
}

/// At most the first 64 characters, so error messages stay short whatever the input.
pub(super) fn preview(text: &str) -> &str {
    text.char_indices()
        .nth(64)
        .map_or(text, |(end, _)| &text[..end])
}

fn invalid_unknown(reason: impl Into<String>) -> MsgpackError {
    MsgpackError::InvalidUnknown {
        path: HERE,
        reason: reason.into(),
    }
}

/// An unknown value: an extension of at most one byte is plain, else a refinement map (code 12).
fn decode_unknown(code: i8, payload: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
    if payload.len() <= 1 {
        return Ok(Value::unknown());
    }
    if code != REFINED_UNKNOWN {
        return Err(invalid_unknown(format!(
            "unsupported extension type {code} with {} bytes",
            payload.len()
        )));
    }
    if payload.len() > MAX_REFINEMENTS_LEN {
        return Err(invalid_unknown(format!(
            "refinements over {MAX_REFINEMENTS_LEN} bytes"
        )));
    }
    let mut r = Reader { rest: payload };
    let m = r.marker()?;
    let count = r
        .map_len(m)?
        .ok_or_else(|| invalid_unknown("refinements are not a map"))?;
    if *ty == Type::Dynamic {
        // A value of unknown type cannot be refined; cty ignores such refinements for now.
        return Ok(Value::unknown());
    }
    let wrong_type =
        |what: &str| invalid_unknown(format!("{what} refinement on a {}", ty.friendly_name()));
    let mut refinements = Refinements::default();
    let mut null = false;
    for _ in 0..count {
        let m = r.marker()?;
        let key = r
            .int(m)?
            .ok_or_else(|| invalid_unknown("refinement key is not an integer"))?;
        match i64::try_from(key).unwrap_or(0) {
            // The key records "is null": false is the common "not null"; true makes a known null.
            NULLNESS => match r.marker()? {
                Marker::True => null = true,
                Marker::False => refinements.not_null = Some(true),
                _ => return Err(invalid_unknown("nullness refinement is not a bool")),
            },
            STRING_PREFIX => {
                if *ty != Type::String {
                    return Err(wrong_type("string prefix"));
                }
                let m = r.marker()?;
                let bytes = r
                    .text(m)?
                    .ok_or_else(|| invalid_unknown("string prefix is not a string"))?;
                refinements.string_prefix = Some(utf8(bytes)?.to_owned());
            }
            key @ (NUMBER_MIN | NUMBER_MAX) => {
                if *ty != Type::Number {
                    return Err(wrong_type("number bound"));
                }
                let bound = Some(decode_bound(&mut r)?);
                if key == NUMBER_MIN {
                    refinements.number_lower_bound = bound;
                } else {
                    refinements.number_upper_bound = bound;
                }
            }
            key @ (LENGTH_MIN | LENGTH_MAX) => {
                if !matches!(ty, Type::List(_) | Type::Set(_) | Type::Map(_)) {
                    return Err(wrong_type("collection length"));
                }
                let m = r.marker()?;
                let bound = r.int(m)?.and_then(|n| u64::try_from(n).ok());
                let bound =
                    Some(bound.ok_or_else(|| invalid_unknown("length bound is not a count"))?);
                if key == LENGTH_MIN {
                    refinements.collection_length_lower_bound = bound;
                } else {
                    refinements.collection_length_upper_bound = bound;
                }
            }
            // Keys from a later cty are skipped, as cty promises to tolerate them.
            _ => r.skip(0)?,
        }
    }
    // Bytes after the map are ignored on purpose: cty reserves them for later use.
    Ok(if null {
        Value::Null
    } else {
        Value::Unknown(refinements)
    })
}

/// A number bound: `[number, inclusive]`.
fn decode_bound(r: &mut Reader<'_>) -> Result<(Number, bool), MsgpackError> {
    let bad = || invalid_unknown("number bound is not a [number, bool] array");
    let m = r.marker()?;
    if r.array_len(m)? != Some(2) {
        return Err(bad());
    }
    let m = r.marker()?;
    let number = decode_number(r, m)?.ok_or_else(bad)?;
    match r.marker()? {
        Marker::True => Ok((number, true)),
        Marker::False => Ok((number, false)),
        _ => Err(bad()),
    }
}

/// A dynamic value: `[type JSON, value]`, the JSON in a bin (cty writes) or str (cty also reads).
fn decode_dynamic(r: &mut Reader<'_>, m: Marker, depth: usize) -> Result<Value, MsgpackError> {
    let invalid = |reason: String| MsgpackError::InvalidDynamic { path: HERE, reason };
    match r.array_len(m)? {
        Some(2) => {}
        Some(n) => {
            return Err(invalid(format!(
                "expected a [type, value] array, found {n} elements"
            )));
        }
        None => {
            return Err(invalid(format!(
                "expected a [type, value] array, found {}",
                kind(m)
            )));
        }
    }
    let m = r.marker()?;
    let json = r
        .text(m)?
        .ok_or_else(|| invalid(format!("type JSON is a {}", kind(m))))?;
    let ty = Type::from_json_bytes(json).map_err(|e| invalid(e.to_string()))?;
    decode_value(r, &ty, depth + 1)
}

/// Reads a decimal number as cty's `ParseNumberVal` accepts it, keeping every digit.
///
/// Integers that fit become `Int` and infinities `Float`; anything else stays `Big`, as written,
/// so that writing it back hands Terraform the very number it sent.
pub(super) fn number_from_text(text: &str) -> Option<Number> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned == "inf" || unsigned == "Inf" {
        let negative = text.starts_with('-');
        return Some(Number::Float(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
    }
    decimal_parts(text)?;
    Some(
        text.parse()
            .map_or_else(|_| Number::Big(text.to_owned()), Number::Int),
    )
}

/// A decimal number split up: `[-]integer[.fraction][e exponent]`, the exponent keeping its sign.
pub(super) struct Decimal<'a> {
    pub(super) negative: bool,
    pub(super) integer: &'a str,
    pub(super) fraction: &'a str,
    pub(super) exponent: Option<&'a str>,
}

/// Splits decimal text up, or `None` when it is not a finite decimal number.
pub(super) fn decimal_parts(text: &str) -> Option<Decimal<'_>> {
    let negative = text.starts_with('-');
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let d = e.strip_prefix(['+', '-']).unwrap_or(e);
        !d.is_empty() && digits(d)
    });
    let ok = digits(integer) && digits(fraction) && !(integer.is_empty() && fraction.is_empty());
    (ok && exponent_ok).then_some(Decimal {
        negative,
        integer,
        fraction,
        exponent,
    })
}

/// Why no type could be inferred for a dynamic value, and where.
pub(super) struct InferenceError {
    pub(super) path: AttributePath,
    pub(super) reason: String,
}

impl InferenceError {
    fn within(mut self, step: PathStep) -> InferenceError {
        self.path.0.insert(0, step);
        self
    }
}

/// The type a value held in a dynamic attribute gets: what cty would infer from the value alone.
///
/// Null and unknown values tell nothing of their type, so they infer as `dynamic`; a list, set or
/// map gets the one element type all its elements agree on, `dynamic` when it is empty, which is
/// also what Terraform gives `tolist([])`.
pub(super) fn infer_type(value: &Value, depth: usize) -> Result<Type, InferenceError> {
    if depth > MAX_DEPTH {
        return Err(InferenceError {
            path: HERE,
            reason: format!("nested deeper than {MAX_DEPTH} levels"),
        });
    }
    Ok(match value {
        Value::Null | Value::Unknown(_) => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(items) => Type::list(common_type(items.iter(), index_step, depth)?),
        Value::Set(items) => Type::set(common_type(items.iter(), index_step, depth)?),
        Value::Map(entries) => {
            let key = |i: usize| {
                PathStep::ElementKeyString(entries.keys().nth(i).cloned().unwrap_or_default())
            };
            Type::map(common_type(entries.values(), key, depth)?)
        }
        Value::Tuple(items) => Type::Tuple(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| infer_type(v, depth + 1).map_err(|e| e.within(index_step(i))))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(attributes) => Type::Object(ObjectType {
            attributes: attributes
                .iter()
                .map(|(k, v)| {
                    let t = infer_type(v, depth + 1)
                        .map_err(|e| e.within(PathStep::Attribute(k.clone())))?;
                    Ok((k.clone(), t))
                })
                .collect::<Result<_, InferenceError>>()?,
            optional: Default::default(),
        }),
    })
}

fn common_type<'v>(
    items: impl Iterator<Item = &'v Value>,
    step: impl Fn(usize) -> PathStep,
    depth: usize,
) -> Result<Type, InferenceError> {
    let mut common = Type::Dynamic;
    for (i, item) in items.enumerate() {
        let t = infer_type(item, depth + 1).map_err(|e| e.within(step(i)))?;
        common = unify(&common, &t).ok_or_else(|| InferenceError {
            path: AttributePath(vec![step(i)]),
            reason: format!(
                "elements differ: {} and {}",
                common.friendly_name(),
                t.friendly_name()
            ),
        })?;
    }
    Ok(common)
}

/// The one type two inferred types can both be, `dynamic` standing for "not known yet".
fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => Some(t.clone()),
        (Type::List(x), Type::List(y)) => unify(x, y).map(Type::list),
        (Type::Set(x), Type::Set(y)) => unify(x, y).map(Type::set),
        (Type::Map(x), Type::Map(y)) => unify(x, y).map(Type::map),
        (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => xs
            .iter()
            .zip(ys)
            .map(|(x, y)| unify(x, y))
            .collect::<Option<_>>()
            .map(Type::Tuple),
        (Type::Object(x), Type::Object(y)) if x.attributes.keys().eq(y.attributes.keys()) => {
            let attributes = x
                .attributes
                .iter()
                .zip(y.attributes.values())
                .map(|((name, xt), yt)| Some((name.clone(), unify(xt, yt)?)))
                .collect::<Option<_>>()?;
            Some(Type::Object(ObjectType {
                attributes,
                optional: Default::default(),
            }))
        }
        (x, y) => (x == y).then(|| x.clone()),
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

fn encode_value(
    out: &mut Vec<u8>,
    value: &Value,
    ty: &Type,
    depth: usize,
) -> Result<(), MsgpackError> {
    if depth > MAX_DEPTH {
        return Err(MsgpackError::TooDeep { path: HERE });
    }
    match (ty, value) {
        (Type::Dynamic, _) => encode_dynamic(out, value, depth),
        (_, Value::Null) => {
            out.push(Marker::Null.to_u8());
            Ok(())
        }
        (_, Value::Unknown(refinements)) => write_unknown(out, refinements, ty),
        (Type::Bool, Value::Bool(b)) => {
            out.push(bool_byte(*b));
            Ok(())
        }
        (Type::Number, Value::Number(n)) => write_number(out, n),
        (Type::String, Value::String(s)) => write_str(out, s),
        (
            Type::List(element) | Type::Set(element),
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
        ) => encode_elements(out, items, iter::repeat_n(&**element, items.len()), depth),
        (Type::Tuple(types), Value::List(items) | Value::Set(items) | Value::Tuple(items)) => {
            if items.len() != types.len() {
                return Err(MsgpackError::TupleLength {
                    path: HERE,
                    expected: types.len(),
                    found: items.len(),
                });
            }
            encode_elements(out, items, types.iter(), depth)
        }
        (Type::Map(element), Value::Map(entries) | Value::Object(entries)) => {
            write_header(out, Header::Map, entries.len())?;
            for (key, item) in entries {
                write_str(out, key)?;
                encode_value(out, item, element, depth + 1)
                    .map_err(|e| e.within(PathStep::ElementKeyString(key.clone())))?;
            }
            Ok(())
        }
        (Type::Object(object), Value::Object(attributes) | Value::Map(attributes)) => {
            if let Some(name) = attributes
                .keys()
                .find(|k| !object.attributes.contains_key(*k))
            {
                return Err(MsgpackError::UnsupportedAttribute {
                    path: HERE,
                    name: name.clone(),
                });
            }
            // Every attribute of the type is written, in byte order of the names as Go sorts them.
            write_header(out, Header::Map, object.attributes.len())?;
            for (name, t) in &object.attributes {
                write_str(out, name)?;
                match attributes.get(name) {
                    Some(item) => encode_value(out, item, t, depth + 1)
                        .map_err(|e| e.within(PathStep::Attribute(name.clone())))?,
                    None => out.push(Marker::Null.to_u8()),
                }
            }
            Ok(())
        }
        _ => Err(mismatch(&ty.friendly_name(), value_kind(value))),
    }
}

fn encode_elements<'t>(
    out: &mut Vec<u8>,
    items: &[Value],
    types: impl Iterator<Item = &'t Type>,
    depth: usize,
) -> Result<(), MsgpackError> {
    write_header(out, Header::Array, items.len())?;
    for (i, (item, t)) in items.iter().zip(types).enumerate() {
        encode_value(out, item, t, depth + 1).map_err(|e| e.within(index_step(i)))?;
    }
    Ok(())
}

/// A value in a dynamic slot carries its type: `[type JSON as bin, value]`.
fn encode_dynamic(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), MsgpackError> {
    match value {
        Value::Null => out.push(Marker::Null.to_u8()),
        // A value whose type is unknown too cannot be refined, so cty writes the plain form.
        Value::Unknown(_) => out.extend_from_slice(&PLAIN_UNKNOWN),
        _ => {
            let ty = infer_type(value, depth).map_err(|e| MsgpackError::CannotInferType {
                path: e.path,
                reason: e.reason,
            })?;
            write_header(out, Header::Array, 2)?;
            let json = ty.to_json_bytes();
            write_header(out, Header::Bin, json.len())?;
            out.extend_from_slice(&json);
            encode_value(out, value, &ty, depth + 1)?;
        }
    }
    Ok(())
}

/// An unknown value, with the refinements cty writes for `ty` and no others.
fn write_unknown(
    out: &mut Vec<u8>,
    refinements: &Refinements,
    ty: &Type,
) -> Result<(), MsgpackError> {
    let mut body = Vec::new();
    let mut count = 0;
    // cty only ever writes "is null: false"; an unknown known to be null would be a known null.
    if refinements.not_null == Some(true) {
        write_int(&mut body, NULLNESS);
        body.push(bool_byte(false));
        count += 1;
    }
    match ty {
        Type::Number => {
            // Infinite bounds tell nothing, so cty leaves them out.
            if let Some((n, inclusive)) = &refinements.number_lower_bound
                && !matches!(n, Number::Float(f) if *f == f64::NEG_INFINITY)
            {
                write_bound(&mut body, NUMBER_MIN, n, *inclusive)?;
                count += 1;
            }
            if let Some((n, inclusive)) = &refinements.number_upper_bound
                && !matches!(n, Number::Float(f) if *f == f64::INFINITY)
            {
                write_bound(&mut body, NUMBER_MAX, n, *inclusive)?;
                count += 1;
            }
        }
        Type::String => {
            if let Some(prefix) = refinements.string_prefix.as_deref()
                && !prefix.is_empty()
            {
                write_int(&mut body, STRING_PREFIX);
                write_str(&mut body, shortened_prefix(prefix))?;
                count += 1;
            }
        }
        Type::List(_) | Type::Set(_) | Type::Map(_) => {
            // cty's "no bound" is 0 below and i64::MAX above; a lower bound is clamped, which keeps it true.
            if let Some(min) = refinements.collection_length_lower_bound
                && min != 0
            {
                write_int(&mut body, LENGTH_MIN);
                write_int(&mut body, i64::try_from(min).unwrap_or(i64::MAX));
                count += 1;
            }
            if let Some(max) = refinements.collection_length_upper_bound
                && let Ok(max) = i64::try_from(max)
                && max != i64::MAX
            {
                write_int(&mut body, LENGTH_MAX);
                write_int(&mut body, max);
                count += 1;
            }
        }
        _ => {}
    }
    if count == 0 {
        out.extend_from_slice(&PLAIN_UNKNOWN);
        return Ok(());
    }
    let mut payload = Vec::with_capacity(body.len() + 1);
    write_header(&mut payload, Header::Map, count)?;
    payload.extend_from_slice(&body);
    if payload.len() > MAX_REFINEMENTS_LEN {
        return Err(invalid_unknown(format!(
            "refinements over {MAX_REFINEMENTS_LEN} bytes"
        )));
    }
    write_ext_header(out, payload.len(), REFINED_UNKNOWN);
    out.extend_from_slice(&payload);
    Ok(())
}

/// The first 255 bytes of a prefix over 256 bytes, cut at a character boundary, as cty cuts it.
fn shortened_prefix(prefix: &str) -> &str {
    if prefix.len() <= MAX_PREFIX_LEN {
        return prefix;
    }
    let mut end = MAX_PREFIX_LEN - 1;
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    &prefix[..end]
}

fn write_bound(
    out: &mut Vec<u8>,
    key: i64,
    n: &Number,
    inclusive: bool,
) -> Result<(), MsgpackError> {
    write_int(out, key);
    write_header(out, Header::Array, 2)?;
    write_number(out, n)?;
    out.push(bool_byte(inclusive));
    Ok(())
}

fn bool_byte(b: bool) -> u8 {
    if b { Marker::True } else { Marker::False }.to_u8()
}

/// A number as cty writes it: an integer if it is one in i64 range, a float64 if it has a
/// fraction, and decimal text otherwise.
fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), MsgpackError> {
    match n {
        Number::Int(i) => write_int(out, *i),
        Number::Float(f) => write_float(out, *f)?,
        Number::Big(text) => match number_from_text(text) {
            Some(Number::Int(i)) => write_int(out, i),
            Some(Number::Float(f)) => write_float(out, f)?,
            // Kept as written, so a number Terraform sent as text goes back unchanged.
            Some(Number::Big(_)) => write_str(out, text)?,
            None => {
                let reason = format!("{:?} is not a decimal number", preview(text));
                return Err(MsgpackError::InvalidNumber { path: HERE, reason });
            }
        },
    }
    Ok(())
}

fn write_float(out: &mut Vec<u8>, f: f64) -> Result<(), MsgpackError> {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Err(MsgpackError::InvalidNumber {
            path: HERE,
            reason: "NaN is not a number".into(),
        });
    }
    if f.is_finite() && f.fract() == 0.0 {
        if (-TWO_TO_63..TWO_TO_63).contains(&f) {
            write_int(out, f as i64);
            return Ok(());
        }
        // cty never writes a whole number as a float; `{}` prints all its digits and no exponent.
        return write_str(out, &format!("{f}"));
    }
    out.push(Marker::F64.to_u8());
    out.extend_from_slice(&f.to_bits().to_be_bytes());
    Ok(())
}

/// An integer in its smallest msgpack form, the way cty's encoder picks it.
fn write_int(out: &mut Vec<u8>, n: i64) {
    match n {
        0..=0x7f => out.push(n as u8),
        -32..=-1 => out.push(n as i8 as u8),
        0x80..=0xff => out.extend_from_slice(&[Marker::U8.to_u8(), n as u8]),
        0x100..=0xffff => put(out, Marker::U16, &(n as u16).to_be_bytes()),
        0x1_0000..=0xffff_ffff => put(out, Marker::U32, &(n as u32).to_be_bytes()),
        0x1_0000_0000.. => put(out, Marker::U64, &(n as u64).to_be_bytes()),
        -0x80..=-33 => out.extend_from_slice(&[Marker::I8.to_u8(), n as i8 as u8]),
        -0x8000..=-0x81 => put(out, Marker::I16, &(n as i16).to_be_bytes()),
        -0x8000_0000..=-0x8001 => put(out, Marker::I32, &(n as i32).to_be_bytes()),
        _ => put(out, Marker::I64, &n.to_be_bytes()),
    }
}

fn put(out: &mut Vec<u8>, marker: Marker, bytes: &[u8]) {
    out.push(marker.to_u8());
    out.extend_from_slice(bytes);
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), MsgpackError> {
    write_header(out, Header::Str, s.len())?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The msgpack families whose header carries a length.
#[derive(Clone, Copy)]
enum Header {
    Str,
    Bin,
    Array,
    Map,
}

/// A length header in its smallest form: the fix form below its limit, else 8, 16 or 32 bits.
fn write_header(out: &mut Vec<u8>, header: Header, n: usize) -> Result<(), MsgpackError> {
    let (fix, m8, m16, m32) = match header {
        Header::Str => (
            Some((0xa0, 32)),
            Some(Marker::Str8),
            Marker::Str16,
            Marker::Str32,
        ),
        Header::Bin => (None, Some(Marker::Bin8), Marker::Bin16, Marker::Bin32),
        Header::Array => (Some((0x90, 16)), None, Marker::Array16, Marker::Array32),
        Header::Map => (Some((0x80, 16)), None, Marker::Map16, Marker::Map32),
    };
    match (fix, m8) {
        (Some((base, limit)), _) if n < limit => out.push(base | n as u8),
        (_, Some(m8)) if n <= 0xff => out.extend_from_slice(&[m8.to_u8(), n as u8]),
        _ if n <= 0xffff => put(out, m16, &(n as u16).to_be_bytes()),
        _ => {
            let n = u32::try_from(n).map_err(|_| MsgpackError::TooLong { path: HERE })?;
            put(out, m32, &n.to_be_bytes());
        }
    }
    Ok(())
}

/// An extension header; the payload is at most [`MAX_REFINEMENTS_LEN`] bytes, so 16 bits suffice.
fn write_ext_header(out: &mut Vec<u8>, n: usize, code: i8) {
    match n {
        1 => out.push(Marker::FixExt1.to_u8()),
        2 => out.push(Marker::FixExt2.to_u8()),
        4 => out.push(Marker::FixExt4.to_u8()),
        8 => out.push(Marker::FixExt8.to_u8()),
        16 => out.push(Marker::FixExt16.to_u8()),
        0..=0xff => out.extend_from_slice(&[Marker::Ext8.to_u8(), n as u8]),
        _ => put(out, Marker::Ext16, &(n as u16).to_be_bytes()),
    }
    out.push(code as u8);
}

#[cfg(test)]
#[path = "msgpack_tests.rs"]
mod tests;
