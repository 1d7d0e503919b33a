//! Decoding: a bounds-checked reader, each kind of value read with it, and decimal number text.

use std::collections::BTreeMap;

use rmp::Marker;

use super::refinements::decode_unknown;
use super::{HERE, MAX_DEPTH, MsgpackError, index_step, mismatch};
use crate::tf::path::PathStep;
use crate::tf::types::Type;
use crate::tf::value::{Number, Value};

/// A declared length reserves at most this many slots; more grow only as elements really arrive.
const PREALLOCATION_LIMIT: usize = 1024;

/// A cursor over the input; every read checks the length first, so short input is an error.
pub(super) struct Reader<'a> {
    pub(super) rest: &'a [u8],
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

    pub(super) fn marker(&mut self) -> Result<Marker, MsgpackError> {
        Ok(Marker::from_u8(self.be(1)? as u8))
    }

    pub(super) fn array_len(&mut self, m: Marker) -> Result<Option<usize>, MsgpackError> {
        Ok(Some(match m {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => self.be(2)? as usize,
            Marker::Array32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }

    pub(super) fn map_len(&mut self, m: Marker) -> Result<Option<usize>, MsgpackError> {
        Ok(Some(match m {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => self.be(2)? as usize,
            Marker::Map32 => self.be(4)? as usize,
            _ => return Ok(None),
        }))
    }

    /// The bytes of a str or a bin: cty reads strings and type JSON from either.
    pub(super) fn text(&mut self, m: Marker) -> Result<Option<&'a [u8]>, MsgpackError> {
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
    pub(super) fn int(&mut self, m: Marker) -> Result<Option<i128>, MsgpackError> {
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
    pub(super) fn skip(&mut self, depth: usize) -> Result<(), MsgpackError> {
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

pub(super) fn utf8(bytes: &[u8]) -> Result<&str, MsgpackError> {
    std::str::from_utf8(bytes).map_err(|_| MsgpackError::InvalidUtf8 { path: HERE })
}

pub(super) fn decode_value(
    r: &mut Reader<'_>,
    ty: &Type,
    depth: usize,
) -> Result<Value, MsgpackError> {
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
pub(super) fn decode_number(r: &mut Reader<'_>, m: Marker) -> Result<Option<Number>, MsgpackError> {
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
pub(in crate::tf) fn preview(text: &str) -> &str {
    text.char_indices()
        .nth(64)
        .map_or(text, |(end, _)| &text[..end])
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
pub(in crate::tf) fn number_from_text(text: &str) -> Option<Number> {
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
pub(in crate::tf) struct Decimal<'a> {
    pub(in crate::tf) negative: bool,
    pub(in crate::tf) integer: &'a str,
    pub(in crate::tf) fraction: &'a str,
    pub(in crate::tf) exponent: Option<&'a str>,
}

/// Splits decimal text up, or `None` when it is not a finite decimal number.
pub(in crate::tf) fn decimal_parts(text: &str) -> Option<Decimal<'_>> {
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
