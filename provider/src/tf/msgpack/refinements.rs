//! Unknown values: reading and writing the refinements cty attaches to them in an extension.

use rmp::Marker;

use super::decode::{Reader, decode_number, utf8};
use super::encode::{Header, bool_byte, put, write_header, write_int, write_number, write_str};
use super::{HERE, MsgpackError};
use crate::tf::types::Type;
use crate::tf::value::{Number, Refinements, Value};

/// How cty writes a wholly unknown value: a fixext1 of type 0 whose one byte carries nothing.
pub(super) const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];
/// The extension type cty gives an unknown value whose payload is a map of refinements.
const REFINED_UNKNOWN: i8 = 0x0c;
/// cty refuses larger refinement payloads to guard its memory, so they are neither read nor written.
const MAX_REFINEMENTS_LEN: usize = 1024;
/// Longer string prefix refinements are cut to 255 bytes, as cty does, to stay under that limit.
const MAX_PREFIX_LEN: usize = 256;

// The keys of cty's refinement map.
const NULLNESS: i64 = 1;
const STRING_PREFIX: i64 = 2;
const NUMBER_MIN: i64 = 3;
const NUMBER_MAX: i64 = 4;
const LENGTH_MIN: i64 = 5;
const LENGTH_MAX: i64 = 6;

fn invalid_unknown(reason: impl Into<String>) -> MsgpackError {
    MsgpackError::InvalidUnknown {
        path: HERE,
        reason: reason.into(),
    }
}

/// An unknown value: an extension of at most one byte is plain, else a refinement map (code 12).
pub(super) fn decode_unknown(code: i8, payload: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
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

/// An unknown value, with the refinements cty writes for `ty` and no others.
pub(super) fn write_unknown(
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
