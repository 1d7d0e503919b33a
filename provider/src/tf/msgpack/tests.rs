//! Tests of the msgpack encoding, with byte vectors from cty's behaviour.

use std::collections::BTreeMap;

use super::{decode, encode};
use crate::tf::types::Type;
use crate::tf::value::{Number, Refinements, Value};

pub(super) fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn big(s: &str) -> Value {
    Value::Number(Number::Big(s.into()))
}

pub(super) fn float(f: f64) -> Value {
    Value::Number(Number::Float(f))
}

fn refined(r: Refinements) -> Value {
    Value::Unknown(r)
}

fn not_null() -> Refinements {
    Refinements {
        not_null: Some(true),
        ..Refinements::default()
    }
}

/// Encodes to exactly `expected` and decodes back to `value`.
fn assert_vector(expected: &str, value: &Value, ty: &Type) {
    let bytes = encode(value, ty).unwrap_or_else(|e| panic!("encoding {value:?}: {e}"));
    assert_eq!(to_hex(&bytes), expected, "encoding {value:?} as {ty:?}");
    let decoded = decode(&hex(expected), ty).unwrap_or_else(|e| panic!("decoding {expected}: {e}"));
    assert_eq!(&decoded, value, "decoding {expected}");
}

fn assert_round_trip(value: &Value, ty: &Type) {
    let bytes = encode(value, ty).unwrap_or_else(|e| panic!("encoding {value:?}: {e}"));
    let decoded = decode(&bytes, ty).unwrap_or_else(|e| panic!("decoding {value:?}: {e}"));
    assert_eq!(&decoded, value, "round trip as {ty:?}");
    assert_eq!(
        encode(&decoded, ty).unwrap(),
        bytes,
        "re-encoding {value:?}"
    );
}

#[test]
fn primitives_match_cty_bytes() {
    // Vectors from hashicorp/terraform-plugin-go's tftypes/value_msgpack_test.go, which checks
    // them against what cty writes.
    assert_vector("a568656c6c6f", &"hello".into(), &Type::String);
    assert_vector("a0", &"".into(), &Type::String);
    assert_vector("c0", &Value::Null, &Type::String);
    assert_vector("d40000", &Value::unknown(), &Type::String);
    assert_vector("c3", &true.into(), &Type::Bool);
    assert_vector("c2", &false.into(), &Type::Bool);
    assert_vector("d40000", &Value::unknown(), &Type::Bool);
    assert_vector("01", &Value::int(1), &Type::Number);
    assert_vector("cf7fffffffffffffff", &Value::int(i64::MAX), &Type::Number);
    assert_vector("d38000000000000000", &Value::int(i64::MIN), &Type::Number);
    assert_vector(
        "b43138343436373434303733373039353531363135",
        &big("18446744073709551615"),
        &Type::Number,
    );
    assert_vector(
        "b339323233333732303336383534373735383038",
        &big("9223372036854775808"),
        &Type::Number,
    );
    assert_vector("cb3ff8000000000000", &float(1.5), &Type::Number);
    assert_vector(
        "cb0000000000000001",
        &float(f64::from_bits(1)),
        &Type::Number,
    );
    assert_vector("a3302e38", &big("0.8"), &Type::Number);
    assert_vector("cb7ff0000000000000", &float(f64::INFINITY), &Type::Number);
    assert_vector(
        "cbfff0000000000000",
        &float(f64::NEG_INFINITY),
        &Type::Number,
    );
    assert_vector(
        &format!("d964{}", "39".repeat(100)),
        &big(&"9".repeat(100)),
        &Type::Number,
    );
}

#[test]
fn whole_floats_are_written_as_integers_or_digits() {
    // cty never writes a whole number as a float: f64::MAX goes out as its 309 decimal digits.
    let max = format!("da0135{}{}", to_hex(b"17976931348623157"), "30".repeat(292));
    assert_eq!(
        to_hex(&encode(&float(f64::MAX), &Type::Number).unwrap()),
        max
    );
    assert_eq!(to_hex(&encode(&float(3.0), &Type::Number).unwrap()), "03");
    assert_eq!(to_hex(&encode(&float(-0.0), &Type::Number).unwrap()), "00");
    assert_eq!(
        to_hex(&encode(&float(-40.0), &Type::Number).unwrap()),
        "d0d8"
    );
    assert_eq!(
        encode(&float(1e20), &Type::Number).unwrap(),
        [&[0xb5][..], b"100000000000000000000"].concat()
    );
    assert_eq!(
        to_hex(&encode(&float(0.5), &Type::Number).unwrap()),
        "cb3fe0000000000000"
    );
}

#[test]
fn integers_take_their_smallest_form() {
    for (n, expected) in [
        (0, "00"),
        (127, "7f"),
        (128, "cc80"),
        (255, "ccff"),
        (256, "cd0100"),
        (65_536, "ce00010000"),
        (4_294_967_296, "cf0000000100000000"),
        (-1, "ff"),
        (-32, "e0"),
        (-33, "d0df"),
        (-129, "d1ff7f"),
        (-32_769, "d2ffff7fff"),
        (-2_147_483_649, "d3ffffffff7fffffff"),
    ] {
        assert_vector(expected, &Value::int(n), &Type::Number);
    }
}

#[test]
fn numbers_decode_from_every_msgpack_form() {
    let n = |h: &str| decode(&hex(h), &Type::Number).unwrap();
    assert_eq!(n("cfffffffffffffffff"), big("18446744073709551615"));
    assert_eq!(n("d0df"), Value::int(-33));
    assert_eq!(n("ca3fc00000"), float(1.5));
    assert_eq!(n("c4023432"), Value::int(42), "bin holding decimal text");
    let text = "123456789012345678901234567890";
    let bytes = [&[0xbe][..], text.as_bytes()].concat();
    assert_eq!(decode(&bytes, &Type::Number).unwrap(), big(text));
    assert_eq!(
        encode(&big(text), &Type::Number).unwrap(),
        bytes,
        "big text goes back unchanged"
    );
    // A uint64 beyond i64 is kept exactly and written back as cty writes it: as text.
    let from_uint = n("cfffffffffffffffff");
    assert_eq!(
        to_hex(&encode(&from_uint, &Type::Number).unwrap()),
        "b43138343436373434303733373039353531363135"
    );
}

#[test]
fn collections_and_objects_match_cty_bytes() {
    let list = Type::list(Type::String);
    assert_vector("91a568656c6c6f", &Value::List(vec!["hello".into()]), &list);
    assert_vector("91d40000", &Value::List(vec![Value::unknown()]), &list);
    assert_vector("91c0", &Value::List(vec![Value::Null]), &list);
    assert_vector("90", &Value::List(vec![]), &list);
    assert_vector(
        "91a568656c6c6f",
        &Value::Set(vec!["hello".into()]),
        &Type::set(Type::String),
    );
    let map = Value::Map(BTreeMap::from([("greeting".into(), "hello".into())]));
    assert_vector(
        "81a86772656574696e67a568656c6c6f",
        &map,
        &Type::map(Type::String),
    );
    assert_vector("80", &Value::Map(BTreeMap::new()), &Type::map(Type::String));
    assert_vector(
        "91a568656c6c6f",
        &Value::Tuple(vec!["hello".into()]),
        &Type::Tuple(vec![Type::String]),
    );
    assert_vector("90", &Value::Tuple(vec![]), &Type::Tuple(vec![]));
    // {"a": "b"}: a one-entry fixmap of two fixstrs.
    let ab = Type::object([("a", Type::String)]);
    assert_vector("81a161a162", &Value::object([("a", "b".into())]), &ab);
    let two = Type::object([("a", Type::String), ("b", Type::String)]);
    assert_vector(
        "82a161c0a162c0",
        &Value::object([("a", Value::Null), ("b", Value::Null)]),
        &two,
    );
    assert_vector(
        "82a161d40000a162d40000",
        &Value::object([("a", Value::unknown()), ("b", Value::unknown())]),
        &two,
    );
    assert_vector(
        "80",
        &Value::object::<_, String>([]),
        &Type::object::<_, String>([]),
    );
}

#[test]
fn missing_attributes_are_written_and_read_as_null() {
    let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
    let bytes = encode(&Value::object([("a", "x".into())]), &ty).unwrap();
    assert_eq!(to_hex(&bytes), "82a161a178a162c0");
    let decoded = decode(&hex("81a161a178"), &ty).unwrap();
    assert_eq!(
        decoded,
        Value::object([("a", "x".into()), ("b", Value::Null)])
    );
}

#[test]
fn dynamic_values_carry_their_type_json() {
    let d = Type::Dynamic;
    assert_vector("92c40622626f6f6c22c3", &true.into(), &d);
    assert_vector("92c408226e756d6265722201", &Value::int(1), &d);
    assert_vector("92c40822737472696e6722a568656c6c6f", &"hello".into(), &d);
    let list = Value::List(vec!["hello".into()]);
    assert_vector(
        "92c4115b226c697374222c22737472696e67225d91a568656c6c6f",
        &list,
        &d,
    );
    let set = Value::Set(vec!["hello".into()]);
    assert_vector(
        "92c4105b22736574222c22737472696e67225d91a568656c6c6f",
        &set,
        &d,
    );
    let map = Value::Map(BTreeMap::from([("hello".into(), "hello".into())]));
    assert_vector(
        "92c4105b226d6170222c22737472696e67225d81a568656c6c6fa568656c6c6f",
        &map,
        &d,
    );
    assert_vector("c0", &Value::Null, &d);
    assert_vector("d40000", &Value::unknown(), &d);
    let greeting = Type::object([("greeting", Type::Dynamic)]);
    assert_vector(
        "81a86772656574696e6792c40822737472696e6722a568656c6c6f",
        &Value::object([("greeting", "hello".into())]),
        &greeting,
    );
    assert_vector(
        "81a86772656574696e67c0",
        &Value::object([("greeting", Value::Null)]),
        &greeting,
    );
    assert_vector(
        "9192c40822737472696e6722a568656c6c6f",
        &list,
        &Type::list(Type::Dynamic),
    );
    assert_vector(
        "9292c40822737472696e6722a568656c6c6f92c40822737472696e6722a5776f726c64",
        &Value::Tuple(vec!["hello".into(), "world".into()]),
        &Type::Tuple(vec![Type::Dynamic, Type::Dynamic]),
    );
    // cty can read the type JSON from a str as well as from the bin it writes.
    assert_eq!(
        decode(&hex("92a822737472696e6722a0"), &d).unwrap(),
        "".into()
    );
}

#[test]
fn dynamic_types_are_inferred_from_values() {
    let value = Value::object([
        ("name", "web".into()),
        (
            "ports",
            Value::List(vec![Value::int(22), Value::Null, Value::int(80)]),
        ),
        ("pair", Value::Tuple(vec!["x".into(), true.into()])),
        ("empty", Value::List(vec![])),
        (
            "rules",
            Value::Map(BTreeMap::from([
                ("a".into(), Value::object([("to", Value::Null)])),
                ("b".into(), Value::object([("to", "z".into())])),
            ])),
        ),
    ]);
    let bytes = encode(&value, &Type::Dynamic).unwrap();
    let expected = Type::object([
        ("name", Type::String),
        ("ports", Type::list(Type::Number)),
        ("pair", Type::Tuple(vec![Type::String, Type::Bool])),
        ("empty", Type::list(Type::Dynamic)),
        ("rules", Type::map(Type::object([("to", Type::String)]))),
    ]);
    let json = expected.to_json_bytes();
    assert_eq!(bytes[..3], [0x92, 0xc4, json.len() as u8]);
    assert_eq!(&bytes[3..3 + json.len()], &json[..]);
    assert_eq!(
        &bytes[3 + json.len()..],
        &encode(&value, &expected).unwrap()[..]
    );
    assert_round_trip(&value, &Type::Dynamic);
}

#[test]
fn mixed_lists_have_no_dynamic_type() {
    let value = Value::object([("xs", Value::List(vec![Value::int(1), "a".into()]))]);
    let err = encode(&value, &Type::Dynamic).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at xs[1]: cannot infer the type of a dynamic value: elements differ: number and string"
    );
}

#[test]
fn every_type_round_trips() {
    let inner = Type::object([("host", Type::String), ("port", Type::Number)]);
    let ty = Type::object([
        ("flag", Type::Bool),
        ("names", Type::list(Type::String)),
        ("tags", Type::set(Type::String)),
        ("labels", Type::map(Type::String)),
        ("pair", Type::Tuple(vec![Type::String, Type::Number])),
        ("servers", Type::list(inner.clone())),
        ("extra", Type::Dynamic),
        ("ratio", Type::Number),
    ]);
    let value = Value::object([
        ("flag", true.into()),
        ("names", Value::List(vec!["a".into(), "b".into()])),
        ("tags", Value::Set(vec!["z".into(), "y".into()])),
        (
            "labels",
            Value::Map(BTreeMap::from([("k".into(), "v".into())])),
        ),
        ("pair", Value::Tuple(vec!["p".into(), big("0.1")])),
        (
            "servers",
            Value::List(vec![
                Value::object([("host", "h1".into()), ("port", Value::int(22))]),
                Value::object([("host", Value::unknown()), ("port", Value::Null)]),
            ]),
        ),
        (
            "extra",
            Value::object([("deep", Value::List(vec![float(2.5)]))]),
        ),
        ("ratio", float(0.25)),
    ]);
    assert_round_trip(&value, &ty);
    assert_round_trip(&"x".repeat(40).into(), &Type::String);
    assert_round_trip(&"x".repeat(300).into(), &Type::String);
    assert_round_trip(&"x".repeat(70_000).into(), &Type::String);
    assert_round_trip(
        &Value::List((0..20).map(Value::int).collect()),
        &Type::list(Type::Number),
    );
    assert_round_trip(
        &Value::List((0..70_000).map(Value::int).collect()),
        &Type::list(Type::Number),
    );
    let wide: BTreeMap<String, Value> = (0..20).map(|i| (format!("k{i}"), Value::int(i))).collect();
    assert_round_trip(&Value::Map(wide), &Type::map(Type::Number));
    let unknowns = Value::object([
        ("flag", Value::unknown_not_null()),
        ("names", Value::List(vec![Value::unknown(), "b".into()])),
        ("tags", Value::unknown()),
        (
            "labels",
            Value::Map(BTreeMap::from([("k".into(), Value::unknown())])),
        ),
        (
            "pair",
            Value::Tuple(vec![Value::unknown(), Value::unknown_not_null()]),
        ),
        (
            "servers",
            Value::List(vec![Value::object([
                ("host", Value::unknown_not_null()),
                ("port", Value::Null),
            ])]),
        ),
        ("extra", Value::unknown()),
        ("ratio", Value::Null),
    ]);
    assert_round_trip(&unknowns, &ty);
}

#[test]
fn set_elements_keep_their_order() {
    let ty = Type::set(Type::String);
    let decoded = decode(&hex("92a162a161"), &ty).unwrap();
    assert_eq!(decoded, Value::Set(vec!["b".into(), "a".into()]));
}

#[test]
fn refined_unknowns_match_cty_bytes() {
    let nn = refined(not_null());
    assert_vector("c7030c8101c2", &nn, &Type::Bool);
    assert_vector("c7030c8101c2", &nn, &Type::Number);
    assert_vector("c7030c8101c2", &nn, &Type::String);
    assert_vector("c7030c8101c2", &nn, &Type::list(Type::String));
    assert_vector("c7030c8101c2", &nn, &Type::object([("attr", Type::String)]));
    let prefix = refined(Refinements {
        string_prefix: Some("prefix://".into()),
        ..not_null()
    });
    assert_vector("c70e0c8201c202a97072656669783a2f2f", &prefix, &Type::String);
    let bounds = |lo: Number, hi: Number, inclusive| {
        refined(Refinements {
            number_lower_bound: Some((lo, inclusive)),
            number_upper_bound: Some((hi, inclusive)),
            ..not_null()
        })
    };
    assert_vector(
        "c70b0c8301c2039201c3049205c3",
        &bounds(Number::Int(1), Number::Int(5), true),
        &Type::Number,
    );
    assert_vector(
        "c70b0c8301c2039201c2049205c2",
        &bounds(Number::Int(1), Number::Int(5), false),
        &Type::Number,
    );
    assert_vector(
        "c71b0c8301c20392cb3ff3ae147ae147aec30492cb4016ae147ae147aec3",
        &bounds(Number::Float(1.23), Number::Float(5.67), true),
        &Type::Number,
    );
    let lengths = |lo, hi| {
        refined(Refinements {
            collection_length_lower_bound: Some(lo),
            collection_length_upper_bound: Some(hi),
            ..not_null()
        })
    };
    assert_vector(
        "c7070c8301c205010605",
        &lengths(1, 5),
        &Type::list(Type::String),
    );
    assert_vector(
        "c7070c8301c205020606",
        &lengths(2, 6),
        &Type::set(Type::Bool),
    );
    // A lower length bound of 0 says nothing, so cty leaves it out; it still reads back.
    let zero = decode(&hex("c7070c8301c205000604"), &Type::map(Type::Number)).unwrap();
    assert_eq!(zero, lengths(0, 4));
    assert_eq!(
        to_hex(&encode(&zero, &Type::map(Type::Number)).unwrap()),
        "c7050c8201c20604"
    );
}

#[test]
fn refinements_are_written_only_where_the_type_allows() {
    let prefix = refined(Refinements {
        string_prefix: Some("ignored".into()),
        ..Refinements::default()
    });
    assert_eq!(to_hex(&encode(&prefix, &Type::Bool).unwrap()), "d40000");
    assert_eq!(
        to_hex(&encode(&refined(not_null()), &Type::Dynamic).unwrap()),
        "d40000"
    );
    let empty = refined(Refinements {
        string_prefix: Some(String::new()),
        ..not_null()
    });
    assert_eq!(
        to_hex(&encode(&empty, &Type::String).unwrap()),
        "c7030c8101c2"
    );
    let infinite = refined(Refinements {
        number_lower_bound: Some((Number::Float(f64::NEG_INFINITY), true)),
        number_upper_bound: Some((Number::Float(f64::INFINITY), true)),
        ..Refinements::default()
    });
    assert_eq!(to_hex(&encode(&infinite, &Type::Number).unwrap()), "d40000");
    // Refinements on a dynamic value are read and ignored, as cty does.
    assert_eq!(
        decode(&hex("c7030c8101c2"), &Type::Dynamic).unwrap(),
        Value::unknown()
    );
    // "Is null: true" makes a known null.
    assert_eq!(
        decode(&hex("c7030c8101c3"), &Type::String).unwrap(),
        Value::Null
    );
}

#[test]
fn long_string_prefixes_are_cut_as_cty_cuts_them() {
    let group = "0123456789-";
    let long = format!("prefix://{}thiswillbecutoff1", group.repeat(23));
    let value = refined(Refinements {
        string_prefix: Some(long),
        ..not_null()
    });
    let kept = format!("prefix://{}0123", group.repeat(22));
    assert_eq!(kept.len(), 255);
    let expected = format!("c801050c8201c202d9ff{}", to_hex(kept.as_bytes()));
    assert_eq!(to_hex(&encode(&value, &Type::String).unwrap()), expected);
    // A cut never splits a character.
    let wide = refined(Refinements {
        string_prefix: Some("é".repeat(200)),
        ..Refinements::default()
    });
    let decoded = decode(&encode(&wide, &Type::String).unwrap(), &Type::String).unwrap();
    let Value::Unknown(Refinements {
        string_prefix: Some(p),
        ..
    }) = decoded
    else {
        panic!("{decoded:?}")
    };
    assert_eq!(p, "é".repeat(127));
}

#[test]
fn unknown_refinement_keys_are_skipped() {
    // Key 9 with a nested array value, then "not null".
    let decoded = decode(&hex("c7080c82099201a17801c2"), &Type::String).unwrap();
    assert_eq!(decoded, refined(not_null()));
}
