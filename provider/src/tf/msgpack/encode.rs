//! Encoding: writing values in the smallest msgpack forms, as cty's encoder picks them.

use std::iter;

use rmp::Marker;

use super::decode::{number_from_text, preview};
use super::infer::infer_type;
use super::refinements::{PLAIN_UNKNOWN, write_unknown};
use super::{HERE, MAX_DEPTH, MsgpackError, index_step, mismatch, value_kind};
use crate::tf::path::PathStep;
use crate::tf::types::Type;
use crate::tf::value::{Number, Value};

pub(super) fn encode_value(
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

pub(super) fn bool_byte(b: bool) -> u8 {
    if b { Marker::True } else { Marker::False }.to_u8()
}

/// A number as cty writes it: an integer if it is one in i64 range, a float64 if it has a
/// fraction, and decimal text otherwise.
pub(super) fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), MsgpackError> {
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
pub(super) fn write_int(out: &mut Vec<u8>, n: i64) {
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

pub(super) fn put(out: &mut Vec<u8>, marker: Marker, bytes: &[u8]) {
    out.push(marker.to_u8());
    out.extend_from_slice(bytes);
}

pub(super) fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), MsgpackError> {
    write_header(out, Header::Str, s.len())?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The msgpack families whose header carries a length.
#[derive(Clone, Copy)]
pub(super) enum Header {
    Str,
    Bin,
    Array,
    Map,
}

/// A length header in its smallest form: the fix form below its limit, else 8, 16 or 32 bits.
pub(super) fn write_header(
    out: &mut Vec<u8>,
    header: Header,
    n: usize,
) -> Result<(), MsgpackError> {
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
