//! Tests that malformed, hostile or mistyped input is refused with a clear error, never a panic.

use std::collections::BTreeMap;

use super::tests::{big, float, hex};
use super::{MsgpackError, decode, encode};
use crate::tf::types::Type;
use crate::tf::value::Value;

fn decode_err(h: &str, ty: &Type) -> String {
    decode(&hex(h), ty).unwrap_err().to_string()
}

#[test]
fn malformed_input_is_an_error_with_a_path() {
    let clients = Type::object([("clients", Type::list(Type::String))]);
    assert_eq!(
        decode_err("81a7636c69656e74739391a161a16205", &clients),
        "at clients[0]: expected string, found array"
    );
    assert_eq!(
        decode_err("81a7636c69656e747393a161a16205", &clients),
        "at clients[2]: expected string, found integer"
    );
    assert_eq!(
        decode_err("81a7636c69656e747393a161", &clients),
        "at clients[1]: unexpected end of input"
    );
    assert_eq!(
        decode_err("81a17a01", &clients),
        "unsupported attribute \"z\""
    );
    assert_eq!(
        decode_err("a161c0", &Type::String),
        "1 unexpected bytes after the value"
    );
    assert_eq!(decode_err("", &Type::String), "unexpected end of input");
    assert_eq!(
        decode_err("c1", &Type::Bool),
        "expected bool, found the reserved byte 0xc1"
    );
    assert_eq!(
        decode_err("a2c328", &Type::String),
        "string is not valid utf-8"
    );
    assert_eq!(
        decode_err("82a161c0a161c0", &Type::object([("a", Type::String)])),
        "duplicate key \"a\""
    );
    let nested = Type::map(Type::object([("a", Type::String)]));
    assert_eq!(
        decode_err("81a16b81a161c3", &nested),
        "at [\"k\"].a: expected string, found bool"
    );
    assert_eq!(
        decode_err("81a16b81a161c3", &Type::map(Type::map(Type::String))),
        "at [\"k\"][\"a\"]: expected string, found bool"
    );
    assert_eq!(
        decode_err("92a161a162", &Type::Tuple(vec![Type::String])),
        "expected a tuple of 1 elements, found 2"
    );
    assert_eq!(
        decode_err("cb7ff8000000000000", &Type::Number),
        "invalid number: NaN is not a number"
    );
    assert_eq!(
        decode_err("a3312e2e", &Type::Number),
        "invalid number: \"1..\" is not a decimal number"
    );
    assert_eq!(
        decode_err("c7030c8102c2", &Type::Bool),
        "invalid unknown value: string prefix refinement on a bool"
    );
    assert_eq!(
        decode_err("c703058101c2", &Type::Bool),
        "invalid unknown value: unsupported extension type 5 with 3 bytes"
    );
    assert_eq!(
        decode_err("93c40822737472696e6722a0a0", &Type::Dynamic),
        "invalid dynamic value: expected a [type, value] array, found 3 elements"
    );
    assert!(
        decode_err("92c405226e6f7422c0", &Type::Dynamic)
            .starts_with("invalid dynamic value: invalid type description")
    );
    let oversize = format!("c8040a0c{}", "00".repeat(0x40a));
    assert_eq!(
        decode_err(&oversize, &Type::String),
        "invalid unknown value: refinements over 1024 bytes"
    );
}

#[test]
fn absurd_lengths_fail_without_allocating() {
    for h in [
        "ddffffffff",
        "dbffffffff",
        "c6ffffffff",
        "dfffffffff",
        "c9ffffffff0c",
    ] {
        for ty in [
            Type::list(Type::String),
            Type::String,
            Type::map(Type::Bool),
            Type::Dynamic,
        ] {
            assert!(decode(&hex(h), &ty).is_err(), "{h} as {ty:?}");
        }
    }
    // An array claiming 2^32-1 elements of which only a few arrive.
    assert_eq!(
        decode_err("ddffffffffc3c2", &Type::list(Type::Bool)),
        "at [2]: unexpected end of input"
    );
}

#[test]
fn nesting_is_limited() {
    let mut ty = Type::String;
    for _ in 0..300 {
        ty = Type::list(ty);
    }
    let bytes = vec![0x91; 300];
    assert!(matches!(
        decode(&bytes, &ty),
        Err(MsgpackError::TooDeep { .. })
    ));
    // Dynamic values nest through their type JSON too.
    let mut nested = vec![];
    for _ in 0..300 {
        nested.extend_from_slice(&hex("92c4092264796e616d696322"));
    }
    assert!(decode(&nested, &Type::Dynamic).is_err());
    let mut value = Value::Null;
    for _ in 0..300 {
        value = Value::List(vec![value]);
    }
    assert!(matches!(
        encode(&value, &ty),
        Err(MsgpackError::TooDeep { .. })
    ));
    assert!(encode(&value, &Type::Dynamic).is_err());
}

#[test]
fn encoding_checks_values_against_types() {
    let ty = Type::object([("ssh", Type::object([("port", Type::Number)]))]);
    let wrong = Value::object([("ssh", Value::object([("port", "22".into())]))]);
    assert_eq!(
        encode(&wrong, &ty).unwrap_err().to_string(),
        "at ssh.port: expected number, found string"
    );
    let extra = Value::object([("ssh", Value::object([("user", "root".into())]))]);
    assert_eq!(
        encode(&extra, &ty).unwrap_err().to_string(),
        "at ssh: unsupported attribute \"user\""
    );
    let nan = Value::object([("ssh", Value::object([("port", float(f64::NAN))]))]);
    assert!(matches!(
        encode(&nan, &ty),
        Err(MsgpackError::InvalidNumber { .. })
    ));
    let pair = Type::Tuple(vec![Type::String]);
    assert!(matches!(
        encode(&Value::Tuple(vec![]), &pair),
        Err(MsgpackError::TupleLength { .. })
    ));
    assert!(matches!(
        encode(&big("12abc"), &Type::Number),
        Err(MsgpackError::InvalidNumber { .. })
    ));
    assert_eq!(
        encode(&wrong, &ty).unwrap_err().path().unwrap().to_string(),
        "ssh.port"
    );
}

/// A small deterministic generator, so the "never panics" tests need no extra crate.
fn lcg(seed: &mut u64) -> u8 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*seed >> 33) as u8
}

#[test]
fn hostile_bytes_never_panic() {
    let types = [
        Type::Dynamic,
        Type::object([
            ("a", Type::list(Type::Number)),
            ("b", Type::map(Type::Dynamic)),
        ]),
        Type::Tuple(vec![Type::String, Type::set(Type::Bool)]),
        Type::Number,
    ];
    let sample = Value::object([
        (
            "a",
            Value::List(vec![Value::int(300), float(0.5), big("1e400")]),
        ),
        (
            "b",
            Value::Map(BTreeMap::from([(
                "x".into(),
                Value::Tuple(vec!["s".into(), Value::unknown()]),
            )])),
        ),
    ]);
    let valid = encode(&sample, &types[1]).unwrap();
    // Every truncation of a valid encoding fails cleanly.
    for end in 0..valid.len() {
        assert!(
            decode(&valid[..end], &types[1]).is_err(),
            "prefix of {end} bytes"
        );
    }
    // Every single-byte change of it, and random bytes, decode or fail but never panic.
    let mut seed = 7;
    for i in 0..valid.len() {
        let mut mutated = valid.clone();
        mutated[i] = lcg(&mut seed);
        for ty in &types {
            let _ = decode(&mutated, ty);
        }
    }
    for _ in 0..2000 {
        let len = usize::from(lcg(&mut seed) % 24);
        let bytes: Vec<u8> = (0..len).map(|_| lcg(&mut seed)).collect();
        for ty in &types {
            let _ = decode(&bytes, ty);
        }
    }
}
