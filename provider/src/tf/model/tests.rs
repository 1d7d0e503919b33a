//! Round trips, nulls, unknowns, nested blocks, sets, maps, numbers, error paths and the
//! schema check.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::*;
use crate::tf::{Attribute, Block, NestedBlock, NestingMode, Number, Refinements};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Server {
    host: String,
    port: Option<u16>,
    weight: Option<f64>,
    tags: Option<BTreeSet<String>>,
    labels: Option<BTreeMap<String, String>>,
    backend: Vec<Backend>,
    tls: Option<Tls>,
    mode: Option<Mode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Backend {
    address: String,
    check: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tls {
    certificate: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Tcp,
    Http,
}

/// The plan-time view of the same schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ServerPlan {
    host: Planned<String>,
    port: Planned<Option<u16>>,
    weight: Planned<Option<f64>>,
    tags: Planned<Option<BTreeSet<String>>>,
    labels: Planned<Option<BTreeMap<String, String>>>,
    backend: Vec<BackendPlan>,
    tls: Option<Tls>,
    mode: Planned<Option<Mode>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BackendPlan {
    address: Planned<String>,
    check: Planned<Option<bool>>,
}

fn block() -> Block {
    Block::new(
        "",
        vec![
            Attribute::required("host", Type::String),
            Attribute::optional("port", Type::Number),
            Attribute::optional("weight", Type::Number),
            Attribute::optional("tags", Type::set(Type::String)),
            Attribute::optional("labels", Type::map(Type::String)),
            Attribute::optional("mode", Type::String),
        ],
    )
    .with_block(NestedBlock::list(
        "backend",
        Block::new(
            "",
            vec![
                Attribute::required("address", Type::String),
                Attribute::optional("check", Type::Bool),
            ],
        ),
    ))
    .with_block(NestedBlock::single(
        "tls",
        Block::new("", vec![Attribute::required("certificate", Type::String)]),
    ))
}

fn value() -> Value {
    Value::object([
        ("host", Value::from("lb1")),
        ("port", Value::int(6443)),
        ("weight", Value::Number(Number::Float(0.5))),
        ("tags", Value::Set(vec!["b".into(), "a".into()])),
        (
            "labels",
            Value::Map(BTreeMap::from([("role".to_owned(), Value::from("api"))])),
        ),
        ("mode", "tcp".into()),
        (
            "backend",
            Value::List(vec![
                Value::object([("address", "10.4.0.11".into()), ("check", true.into())]),
                Value::object([("address", "10.4.0.12".into()), ("check", Value::Null)]),
            ]),
        ),
        ("tls", Value::Null),
    ])
}

#[test]
fn a_value_round_trips_through_its_model() {
    let server: Server = from_value(&value()).unwrap();
    assert_eq!(server.host, "lb1");
    assert_eq!(server.port, Some(6443));
    assert_eq!(server.weight, Some(0.5));
    assert_eq!(server.tags, Some(BTreeSet::from(["a".into(), "b".into()])));
    assert_eq!(server.labels.as_ref().unwrap()["role"], "api");
    assert_eq!(server.mode, Some(Mode::Tcp));
    assert_eq!(server.backend[1].check, None);
    assert_eq!(server.tls, None);
    let back = to_value(&server, &block().value_type()).unwrap();
    assert!(back.semantically_equal(&value()), "{back:#?}");
    assert!(
        matches!(back.attr("tags"), Value::Set(_)),
        "a set stays a set"
    );
    assert!(
        matches!(back.attr("labels"), Value::Map(_)),
        "a map stays a map"
    );
}

#[test]
fn nulls_read_as_none_and_missing_attributes_as_null() {
    let sparse = Value::object([
        ("host", Value::from("lb1")),
        ("backend", Value::List(vec![])),
    ]);
    let server: Server = from_value(&sparse).unwrap();
    assert_eq!(
        (&server.port, &server.tags, &server.tls),
        (&None, &None, &None)
    );
    let back = to_value(&server, &block().value_type()).unwrap();
    assert_eq!(
        back.as_entries().unwrap().len(),
        8,
        "every attribute is written"
    );
    assert!(back.attr("port").is_null() && back.attr("tls").is_null());

    let error = from_value::<Server>(&Value::object([("host", Value::Null)])).unwrap_err();
    assert_eq!(error.path().to_string(), "host");
    assert!(error.to_string().contains("null"), "{error}");
}

#[test]
fn unknowns_read_only_into_planned() {
    let mut planned = value();
    planned.set_attr("port", Value::unknown());
    let backend = Value::List(vec![Value::object([
        ("address", Value::unknown()),
        ("check", Value::Null),
    ])]);
    planned.set_attr("backend", backend);

    let plan: ServerPlan = from_value(&planned).unwrap();
    assert_eq!(plan.port, Planned::Unknown);
    assert_eq!(plan.host, Planned::Known("lb1".into()));
    assert_eq!(plan.backend[0].address, Planned::Unknown);
    assert!(plan.backend[0].check.is_null());

    let error = from_value::<Server>(&planned).unwrap_err();
    assert!(error.is_unknown());
    assert_eq!(error.path().to_string(), "port");
    let diagnostic = error.to_diagnostic();
    assert_eq!(diagnostic.summary, "port not known");
    assert_eq!(diagnostic.attribute.unwrap().to_string(), "port");

    let back = to_value(&plan, &block().value_type()).unwrap();
    assert!(!back.attr("port").is_known());
    assert!(
        !back.attr("backend").as_elements().unwrap()[0]
            .attr("address")
            .is_known()
    );
}

#[test]
fn at_apply_computed_unknowns_read_as_none_but_required_ones_still_fail() {
    let mut planned = value();
    planned.set_attr("port", Value::unknown());
    let server: Server = from_planned_value(&planned).unwrap();
    assert_eq!(server.port, None);
    planned.set_attr("host", Value::unknown());
    let error = from_planned_value::<Server>(&planned).unwrap_err();
    assert_eq!(error.path().to_string(), "host");
}

#[test]
fn a_plan_written_back_keeps_terraforms_refinements() {
    let refined = Value::Unknown(Refinements {
        not_null: Some(true),
        ..Refinements::default()
    });
    let mut proposed = value();
    proposed.set_attr("host", refined.clone());
    let plan: ServerPlan = from_value(&proposed).unwrap();
    let back = to_planned_value(&plan, &block().value_type(), &proposed).unwrap();
    assert_eq!(back.attr("host"), &refined);
}

#[test]
fn errors_name_the_nested_attribute_path() {
    let mut bad = value();
    bad.set_attr(
        "backend",
        Value::List(vec![
            Value::object([("address", "a".into())]),
            Value::object([("address", Value::int(7))]),
        ]),
    );
    let error = from_value::<Server>(&bad).unwrap_err();
    assert_eq!(error.path().to_string(), "backend[1].address");
    assert!(
        error.to_string().starts_with("backend[1].address: "),
        "{error}"
    );

    let mut bad = value();
    bad.set_attr(
        "labels",
        Value::Map(BTreeMap::from([("role".to_owned(), Value::int(1))])),
    );
    let error = from_value::<Server>(&bad).unwrap_err();
    assert_eq!(error.path().to_string(), "labels[\"role\"]");

    let mut bad = value();
    bad.set_attr("mode", "udp".into());
    let error = from_value::<Server>(&bad).unwrap_err();
    assert_eq!(error.path().to_string(), "mode");
    assert!(error.to_string().contains("udp"), "{error}");

    let error =
        from_value::<Server>(&Value::object([("backend", Value::List(vec![]))])).unwrap_err();
    assert_eq!(
        error.path().to_string(),
        "host",
        "a missing required attribute is named"
    );
}

#[test]
fn numbers_keep_their_width_and_refuse_what_does_not_fit() {
    let mut v = value();
    v.set_attr("port", Value::int(70000));
    let error = from_value::<Server>(&v).unwrap_err();
    assert_eq!(error.path().to_string(), "port");
    assert!(error.to_string().contains("70000"), "{error}");

    v.set_attr("port", Value::Number(Number::Float(8080.0)));
    assert_eq!(from_value::<Server>(&v).unwrap().port, Some(8080));
    v.set_attr("port", Value::Number(Number::Float(80.5)));
    assert!(
        from_value::<Server>(&v).is_err(),
        "a fraction is not a port"
    );

    #[derive(Debug, Serialize, Deserialize)]
    struct Wide {
        big: u64,
        float: f64,
        negative: i32,
    }
    let wide = Value::object([
        (
            "big",
            Value::Number(Number::Big("18446744073709551615".into())),
        ),
        ("float", Value::Number(Number::Big("1e400".into()))),
        ("negative", Value::int(-5)),
    ]);
    let read: Wide = from_value(&wide).unwrap();
    assert_eq!(read.big, u64::MAX);
    assert!(read.float.is_infinite());
    let t = Type::object([
        ("big", Type::Number),
        ("float", Type::Number),
        ("negative", Type::Number),
    ]);
    let back = to_value(&Wide { float: 2.0, ..read }, &t).unwrap();
    assert_eq!(
        back.attr("big"),
        &Value::Number(Number::Big(u64::MAX.to_string()))
    );
    assert_eq!(back.attr("float"), &Value::int(2));
    assert_eq!(back.attr("negative"), &Value::int(-5));
}

#[test]
fn writing_a_model_that_does_not_fit_its_type_names_the_field() {
    let server: Server = from_value(&value()).unwrap();
    let mut t = block().value_type();
    if let Type::Object(object) = &mut t {
        object.attributes.insert("port".into(), Type::String);
    }
    let error = to_value(&server, &t).unwrap_err();
    assert_eq!(error.path().to_string(), "port");
    let narrower = Type::object([("host", Type::String)]);
    let error = to_value(&server, &narrower).unwrap_err();
    assert!(error.to_string().contains("does not have"), "{error}");
}

#[test]
fn models_that_match_their_schema_pass_the_check() {
    for shape in [Shape::of::<Server>(), Shape::of::<ServerPlan>()] {
        let problems = shape.unwrap().check_against(&block());
        assert!(problems.is_empty(), "{problems:#?}");
    }
}

#[test]
fn the_check_finds_names_optionality_and_types_that_drifted() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Drifted {
        host: Option<String>,
        port: u16,
        weight: Option<String>,
        tags: Option<Vec<String>>,
        labels: Option<BTreeMap<String, String>>,
        backend: Vec<Backend>,
        tls: Option<Tls>,
        modes: Option<Mode>,
    }
    let problems = Shape::of::<Drifted>().unwrap().check_against(&block());
    let expected = [
        "modes: the model has this field",
        "host: the schema requires a value, but the model's field is an Option",
        "port: the schema allows null, but the model's field is not an Option",
        "weight: the schema's type is number, the model's string",
        "mode: the schema has this attribute, the model no field",
    ];
    for text in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(text)),
            "{text:?} not in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct WrongNesting {
        host: String,
        port: Option<u16>,
        weight: Option<f64>,
        tags: Option<Vec<String>>,
        labels: Option<BTreeMap<String, String>>,
        backend: Option<Backend>,
        tls: Option<Tls>,
        mode: Option<Mode>,
    }
    let problems = Shape::of::<WrongNesting>().unwrap().check_against(&block());
    assert_eq!(
        problems,
        ["backend: the schema nests List, the model has a struct"]
    );
}

#[test]
fn nested_attributes_are_checked_like_blocks() {
    let block = Block::new(
        "",
        vec![
            Attribute::nested(
                "peers",
                NestingMode::Map,
                vec![Attribute::required("asn", Type::Number)],
            )
            .make_optional(),
        ],
    );
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Peer {
        asn: u32,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Good {
        peers: Option<BTreeMap<String, Peer>>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Bad {
        peers: Option<BTreeMap<String, String>>,
    }
    assert!(
        Shape::of::<Good>()
            .unwrap()
            .check_against(&block)
            .is_empty()
    );
    assert!(!Shape::of::<Bad>().unwrap().check_against(&block).is_empty());
}

#[test]
fn untraceable_models_are_reported() {
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Loose {
        anything: serde_json::Value,
    }
    let error = Shape::of::<Loose>().unwrap_err();
    assert!(error.contains("anything"), "{error}");
}

#[test]
fn a_number_field_keeps_the_number_as_written() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Ttl {
        ttl: Option<Number>,
    }
    let read: Ttl = from_value(&Value::object([(
        "ttl",
        Value::Number(Number::Float(60.5)),
    )]))
    .unwrap();
    assert_eq!(
        read.ttl.as_ref().map(ToString::to_string).as_deref(),
        Some("60.5")
    );
    let t = Type::object([("ttl", Type::Number)]);
    assert_eq!(
        to_value(&read, &t).unwrap().attr("ttl"),
        &Value::Number(Number::Float(60.5))
    );
    let block = Block::new("", vec![Attribute::optional("ttl", Type::Number)]);
    assert!(Shape::of::<Ttl>().unwrap().check_against(&block).is_empty());
}
