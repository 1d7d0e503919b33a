//! Tests of the JSON form of values, as cty's `cty/json` writes and reads it.

use std::collections::BTreeMap;

use super::*;
use crate::tf::value::Refinements;

fn big(s: &str) -> Value {
    Value::Number(Number::Big(s.into()))
}

fn encoded(value: &Value, ty: &Type) -> String {
    String::from_utf8(encode(value, ty).unwrap_or_else(|e| panic!("encoding {value:?}: {e}")))
        .unwrap()
}

fn decode_err(json: &str, ty: &Type) -> String {
    decode(json.as_bytes(), ty).unwrap_err().to_string()
}

/// Encodes to exactly `expected` and decodes back to `value`.
fn assert_form(expected: &str, value: &Value, ty: &Type) {
    assert_eq!(encoded(value, ty), expected, "encoding {value:?}");
    let decoded =
        decode(expected.as_bytes(), ty).unwrap_or_else(|e| panic!("decoding {expected}: {e}"));
    assert_eq!(&decoded, value, "decoding {expected}");
}

#[test]
fn values_take_cty_json_form() {
    assert_form("\"hello\"", &"hello".into(), &Type::String);
    assert_form(
        "\"a\\\"b\\\\c\\n\\u0001é\"",
        &"a\"b\\c\n\u{1}é".into(),
        &Type::String,
    );
    assert_form("true", &true.into(), &Type::Bool);
    assert_form("null", &Value::Null, &Type::Bool);
    assert_form("-12", &Value::int(-12), &Type::Number);
    assert_form(
        "[\"a\",null]",
        &Value::List(vec!["a".into(), Value::Null]),
        &Type::list(Type::String),
    );
    assert_form(
        "[\"b\",\"a\"]",
        &Value::Set(vec!["b".into(), "a".into()]),
        &Type::set(Type::String),
    );
    assert_form(
        "[\"a\",1]",
        &Value::Tuple(vec!["a".into(), Value::int(1)]),
        &Type::Tuple(vec![Type::String, Type::Number]),
    );
    let map = Value::Map(BTreeMap::from([
        ("x".into(), Value::int(1)),
        ("y".into(), Value::int(2)),
    ]));
    assert_form("{\"x\":1,\"y\":2}", &map, &Type::map(Type::Number));
    assert_form("{}", &Value::Map(BTreeMap::new()), &Type::map(Type::Number));
    assert_form(
        "{\"a\":\"b\"}",
        &Value::object([("a", "b".into())]),
        &Type::object([("a", Type::String)]),
    );
}

#[test]
fn dynamic_values_carry_their_type() {
    // cty writes the value before the type.
    assert_form(
        "{\"value\":\"hello\",\"type\":\"string\"}",
        &"hello".into(),
        &Type::Dynamic,
    );
    assert_form("null", &Value::Null, &Type::Dynamic);
    let list = Value::List(vec![Value::int(1), Value::int(2)]);
    assert_form(
        "{\"value\":[1,2],\"type\":[\"list\",\"number\"]}",
        &list,
        &Type::Dynamic,
    );
    let object = Value::object([("a", Value::Tuple(vec![true.into()]))]);
    assert_form(
        "{\"value\":{\"a\":[true]},\"type\":[\"object\",{\"a\":[\"tuple\",[\"bool\"]]}]}",
        &object,
        &Type::Dynamic,
    );
    // Key order does not matter when reading.
    let reversed = decode(
        br#"{"type":["set","string"],"value":["x"]}"#,
        &Type::Dynamic,
    )
    .unwrap();
    assert_eq!(reversed, Value::Set(vec!["x".into()]));
}

#[test]
fn every_type_round_trips() {
    let ty = Type::object([
        ("flag", Type::Bool),
        ("names", Type::list(Type::String)),
        ("tags", Type::set(Type::String)),
        ("labels", Type::map(Type::String)),
        ("pair", Type::Tuple(vec![Type::String, Type::Number])),
        (
            "servers",
            Type::list(Type::object([
                ("host", Type::String),
                ("port", Type::Number),
            ])),
        ),
        ("extra", Type::Dynamic),
        ("gone", Type::String),
    ]);
    let value = Value::object([
        ("flag", false.into()),
        ("names", Value::List(vec!["a".into()])),
        ("tags", Value::Set(vec![])),
        (
            "labels",
            Value::Map(BTreeMap::from([("k".into(), "v".into())])),
        ),
        ("pair", Value::Tuple(vec!["p".into(), big("0.1")])),
        (
            "servers",
            Value::List(vec![Value::object([
                ("host", "h".into()),
                ("port", Value::int(22)),
            ])]),
        ),
        (
            "extra",
            Value::Map(BTreeMap::from([("n".into(), big("1.5"))])),
        ),
        ("gone", Value::Null),
    ]);
    let bytes = encode(&value, &ty).unwrap();
    assert_eq!(decode(&bytes, &ty).unwrap(), value);
    assert_eq!(encode(&decode(&bytes, &ty).unwrap(), &ty).unwrap(), bytes);
}

#[test]
fn big_numbers_keep_every_digit() {
    let n = Type::Number;
    assert_form(
        "123456789012345678901234567890",
        &big("123456789012345678901234567890"),
        &n,
    );
    assert_form("18446744073709551615", &big("18446744073709551615"), &n);
    assert_form("-9223372036854775808", &Value::int(i64::MIN), &n);
    assert_form("0.1", &big("0.1"), &n);
    assert_form("1e+400", &big("1e+400"), &n);
    // serde_json spells exponents "e+" and "e-", which changes no digit.
    assert_eq!(decode(b"1E400", &n).unwrap(), big("1e+400"));
    assert_form(
        "0.30000000000000000000000000000000000001",
        &big("0.30000000000000000000000000000000000001"),
        &n,
    );
    // Floats print their shortest exact digits, never an exponent, as cty does.
    assert_eq!(encoded(&Value::Number(Number::Float(2.5)), &n), "2.5");
    assert_eq!(
        encoded(&Value::Number(Number::Float(1e21)), &n),
        "1000000000000000000000"
    );
    assert_eq!(
        encoded(&Value::Number(Number::Float(1e-7)), &n),
        "0.0000001"
    );
    // Text cty accepts but JSON does not is written the JSON way.
    assert_eq!(encoded(&big("+007.50e3"), &n), "7.50e3");
    assert_eq!(encoded(&big(".5"), &n), "0.5");
    assert_eq!(encoded(&big("-5."), &n), "-5");
}

#[test]
fn conversions_cty_applies_are_accepted() {
    assert_eq!(decode(b"\"true\"", &Type::Bool).unwrap(), true.into());
    assert_eq!(decode(b"\"0\"", &Type::Bool).unwrap(), false.into());
    assert_eq!(decode(b"\"42\"", &Type::Number).unwrap(), Value::int(42));
    assert_eq!(
        decode(b"\"99999999999999999999\"", &Type::Number).unwrap(),
        big("99999999999999999999")
    );
    assert_eq!(decode(b"1.50", &Type::String).unwrap(), "1.50".into());
    assert_eq!(decode(b"false", &Type::String).unwrap(), "false".into());
}

#[test]
fn missing_attributes_read_as_null() {
    let ty = Type::object([("a", Type::String), ("b", Type::list(Type::Number))]);
    let decoded = decode(br#"{"a":"x"}"#, &ty).unwrap();
    assert_eq!(
        decoded,
        Value::object([("a", "x".into()), ("b", Value::Null)])
    );
    assert_eq!(
        encoded(&Value::object([("a", "x".into())]), &ty),
        "{\"a\":\"x\",\"b\":null}"
    );
}

#[test]
fn unknown_attributes_are_refused_or_dropped() {
    let ty = Type::object([("ssh", Type::list(Type::object([("port", Type::Number)])))]);
    let old = br#"{"ssh":[{"port":22,"legacy_user":"root"}],"removed":true}"#;
    assert_eq!(
        decode(old, &ty).unwrap_err().to_string(),
        "unsupported attribute \"removed\""
    );
    let inner_only = br#"{"ssh":[{"port":22,"legacy_user":"root"}]}"#;
    assert_eq!(
        decode(inner_only, &ty).unwrap_err().to_string(),
        "at ssh[0]: unsupported attribute \"legacy_user\""
    );
    let lenient = decode_lenient(old, &ty).unwrap();
    let expected = Value::object([(
        "ssh",
        Value::List(vec![Value::object([("port", Value::int(22))])]),
    )]);
    assert_eq!(lenient, expected);
}

#[test]
fn malformed_json_is_an_error_with_a_path() {
    let clients = Type::object([("clients", Type::list(Type::String))]);
    assert_eq!(
        decode_err(r#"{"clients":["a","b",[]]}"#, &clients),
        "at clients[2]: expected string, found array"
    );
    assert!(
        decode_err(r#"{"clients":[]} x"#, &clients)
            .starts_with("invalid json: trailing characters")
    );
    assert!(decode_err(r#"{"clients":["#, &clients).starts_with("invalid json: "));
    assert_eq!(
        decode_err("[1,2]", &Type::Tuple(vec![Type::Number])),
        "expected a tuple of 1 elements, found 2"
    );
    assert_eq!(
        decode_err("\"yes\"", &Type::Bool),
        "expected bool, found string"
    );
    assert_eq!(
        decode_err("\"1..2\"", &Type::Number),
        "invalid number: \"1..2\" is not a decimal number"
    );
    assert_eq!(
        decode_err(
            r#"{"m":{"k":1}}"#,
            &Type::object([("m", Type::map(Type::Bool))])
        ),
        "at m[\"k\"]: expected bool, found number"
    );
    assert_eq!(
        decode_err(r#"{"value":1}"#, &Type::Dynamic),
        "invalid dynamic value: missing \"type\""
    );
    assert_eq!(
        decode_err(r#"{"type":"number"}"#, &Type::Dynamic),
        "invalid dynamic value: missing \"value\""
    );
    assert_eq!(
        decode_err(r#"{"type":"number","value":1,"extra":2}"#, &Type::Dynamic),
        "invalid dynamic value: unexpected key \"extra\" beside \"value\" and \"type\""
    );
    assert!(
        decode_err(r#"{"type":"float","value":1}"#, &Type::Dynamic)
            .starts_with("invalid dynamic value: invalid type description")
    );
    assert!(
        decode_err(&"[".repeat(200), &Type::Dynamic)
            .starts_with("invalid json: recursion limit exceeded")
    );
    let error = decode(br#"{"clients":[1,{}]}"#, &clients).unwrap_err();
    assert_eq!(error.path().unwrap().to_string(), "clients[1]");
}

#[test]
fn unknowns_and_impossible_numbers_cannot_be_written() {
    let ty = Type::object([("a", Type::list(Type::String))]);
    let value = Value::object([("a", Value::List(vec!["x".into(), Value::unknown()]))]);
    assert_eq!(
        encode(&value, &ty).unwrap_err().to_string(),
        "at a[1]: unknown values cannot be written as json"
    );
    let refined = Value::Unknown(Refinements {
        not_null: Some(true),
        ..Refinements::default()
    });
    assert!(matches!(
        encode(&refined, &Type::Dynamic),
        Err(JsonError::Unknown { .. })
    ));
    for bad in [f64::NAN, f64::INFINITY] {
        assert!(matches!(
            encode(&Value::Number(Number::Float(bad)), &Type::Number),
            Err(JsonError::InvalidNumber { .. })
        ));
    }
    assert!(matches!(
        encode(&big("inf"), &Type::Number),
        Err(JsonError::InvalidNumber { .. })
    ));
    assert!(matches!(
        encode(&big("twelve"), &Type::Number),
        Err(JsonError::InvalidNumber { .. })
    ));
    let extra = Value::object([("a", Value::Null), ("b", Value::Null)]);
    assert_eq!(
        encode(&extra, &ty).unwrap_err().to_string(),
        "unsupported attribute \"b\""
    );
    assert_eq!(
        encode(&Value::int(1), &Type::String)
            .unwrap_err()
            .to_string(),
        "expected string, found number"
    );
}
