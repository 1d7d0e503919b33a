//! [`Shape`]: what a model type expects, traced through serde, and its check against a schema.
//!
//! The tracer is a `Deserializer` that answers every request with a placeholder (false, 0, "",
//! one element, one entry) and writes down what was asked for: a field's name, whether it is an
//! `Option`, a `Planned`, a sequence, a map or a struct. A type whose `Deserialize` refuses the
//! placeholders, or asks for "anything" (`deserialize_any`), cannot be traced and is reported.

use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use super::error::ModelError;
use super::planned::PLANNED;
use crate::tf::schema::{Attribute, AttributeKind, Block, NestedBlock, NestingMode};
use crate::tf::types::Type;

/// What a model type expects of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `bool`.
    Bool,
    /// Any integer or float type.
    Number,
    /// `String`, or an enum of unit variants read from strings.
    String,
    /// `Option<T>`: the value may be null.
    Option(Box<Shape>),
    /// `Planned<T>`: the value may be unknown.
    Planned(Box<Shape>),
    /// A sequence (`Vec`, `BTreeSet`): a list or set.
    Seq(Box<Shape>),
    /// A map keyed by strings.
    Map(Box<Shape>),
    /// A struct: its fields in declaration order.
    Object(Vec<(String, Shape)>),
}

impl Shape {
    /// Traces a model type.
    pub fn of<T: DeserializeOwned>() -> Result<Shape, String> {
        let mut shape = None;
        T::deserialize(Tracer { out: &mut shape })
            .map_err(|e| format!("cannot trace the model: {e}"))?;
        shape.ok_or_else(|| "cannot trace the model: it asked for nothing".to_owned())
    }

    /// The differences between this model (a struct) and a schema block: fields without an
    /// attribute, attributes without a field, optionality (`Option` exactly where the schema
    /// allows null) and types. Empty when they agree.
    pub fn check_against(&self, block: &Block) -> Vec<String> {
        let mut problems = Vec::new();
        check_block(self, block, "", &mut problems);
        problems
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Bool => f.write_str("bool"),
            Shape::Number => f.write_str("number"),
            Shape::String => f.write_str("string"),
            Shape::Option(inner) => write!(f, "Option<{inner}>"),
            Shape::Planned(inner) => write!(f, "Planned<{inner}>"),
            Shape::Seq(inner) => write!(f, "sequence of {inner}"),
            Shape::Map(inner) => write!(f, "map of {inner}"),
            Shape::Object(_) => f.write_str("struct"),
        }
    }
}

/// `Planned` says nothing about the type: it is looked through.
fn without_planned(shape: &Shape) -> &Shape {
    match shape {
        Shape::Planned(inner) => without_planned(inner),
        other => other,
    }
}

fn check_block(shape: &Shape, block: &Block, prefix: &str, problems: &mut Vec<String>) {
    let Shape::Object(fields) = without_planned(shape) else {
        problems.push(format!(
            "{prefix}: the model is a {shape}, the schema a block"
        ));
        return;
    };
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, s)| s);
    for (name, _) in fields {
        if block.attribute(name).is_none() && block.nested_block(name).is_none() {
            problems.push(format!(
                "{prefix}{name}: the model has this field, the schema no such attribute or block"
            ));
        }
    }
    for attribute in &block.attributes {
        let path = format!("{prefix}{}", attribute.name);
        match field(&attribute.name) {
            Some(shape) => check_attribute(shape, attribute, &path, problems),
            None => problems.push(format!(
                "{path}: the schema has this attribute, the model no field"
            )),
        }
    }
    for nested in &block.blocks {
        let path = format!("{prefix}{}", nested.type_name);
        match field(&nested.type_name) {
            Some(shape) => check_nested_block(shape, nested, &path, problems),
            None => problems.push(format!(
                "{path}: the schema has this block, the model no field"
            )),
        }
    }
}

/// Splits off `Option` (looking through `Planned`), checking it is there exactly when null is
/// allowed.
fn nullable<'s>(
    shape: &'s Shape,
    may_be_null: bool,
    path: &str,
    problems: &mut Vec<String>,
) -> &'s Shape {
    match (without_planned(shape), may_be_null) {
        (Shape::Option(inner), true) => without_planned(inner),
        (Shape::Option(inner), false) => {
            problems.push(format!(
                "{path}: the schema requires a value, but the model's field is an Option"
            ));
            without_planned(inner)
        }
        (other, true) => {
            problems.push(format!(
                "{path}: the schema allows null, but the model's field is not an Option"
            ));
            other
        }
        (other, false) => other,
    }
}

fn check_attribute(shape: &Shape, attribute: &Attribute, path: &str, problems: &mut Vec<String>) {
    let inner = nullable(shape, !attribute.required, path, problems);
    match &attribute.kind {
        AttributeKind::Type(t) => check_type(inner, t, path, problems),
        AttributeKind::Nested {
            nesting,
            attributes,
        } => {
            let nested = Block {
                attributes: attributes.clone(),
                ..Block::default()
            };
            check_nesting(inner, *nesting, &nested, path, problems);
        }
    }
}

fn check_nested_block(shape: &Shape, nested: &NestedBlock, path: &str, problems: &mut Vec<String>) {
    // A single block is null when absent; a group never is; lists, sets and maps of blocks are
    // empty rather than null, but may still arrive null (an imported state), so both are fine.
    let inner = match nested.nesting {
        NestingMode::Single => nullable(shape, true, path, problems),
        NestingMode::Group => nullable(shape, false, path, problems),
        _ => match without_planned(shape) {
            Shape::Option(inner) => without_planned(inner),
            other => other,
        },
    };
    check_nesting(inner, nested.nesting, &nested.block, path, problems);
}

fn check_nesting(
    shape: &Shape,
    nesting: NestingMode,
    block: &Block,
    path: &str,
    problems: &mut Vec<String>,
) {
    let prefix = format!("{path}.");
    match (nesting, shape) {
        (NestingMode::Single | NestingMode::Group, object) => {
            check_block(object, block, &prefix, problems);
        }
        (NestingMode::List | NestingMode::Set, Shape::Seq(element)) => {
            check_block(element, block, &prefix, problems);
        }
        (NestingMode::Map, Shape::Map(element)) => check_block(element, block, &prefix, problems),
        (nesting, other) => problems.push(format!(
            "{path}: the schema nests {nesting:?}, the model has a {other}"
        )),
    }
}

fn check_type(shape: &Shape, t: &Type, path: &str, problems: &mut Vec<String>) {
    let shape = without_planned(shape);
    match (shape, t) {
        (Shape::Bool, Type::Bool)
        | (Shape::Number, Type::Number)
        | (Shape::String, Type::String) => {}
        (Shape::Seq(element), Type::List(e) | Type::Set(e)) => {
            check_type(element, e, &format!("{path}[*]"), problems);
        }
        (Shape::Map(element), Type::Map(e)) => {
            check_type(element, e, &format!("{path}[*]"), problems)
        }
        (Shape::Object(fields), Type::Object(object)) => {
            for (name, _) in fields {
                if !object.attributes.contains_key(name) {
                    problems.push(format!(
                        "{path}.{name}: the model has this field, the type no such attribute"
                    ));
                }
            }
            for (name, t) in &object.attributes {
                let field_path = format!("{path}.{name}");
                match fields.iter().find(|(n, _)| n == name) {
                    // An object type's attributes may be null whether or not they are optional.
                    Some((_, shape)) => {
                        let inner = match without_planned(shape) {
                            Shape::Option(inner) => inner,
                            other => other,
                        };
                        check_type(inner, t, &field_path, problems);
                    }
                    None => problems.push(format!(
                        "{field_path}: the type has this attribute, the model no field"
                    )),
                }
            }
        }
        (shape, t) => problems.push(format!(
            "{path}: the schema's type is {}, the model's {shape}",
            t.friendly_name()
        )),
    }
}

/// The deserializer that records what a type asks for.
struct Tracer<'a> {
    out: &'a mut Option<Shape>,
}

impl Tracer<'_> {
    fn nested<'de, V: Visitor<'de>>(
        self,
        wrap: fn(Box<Shape>) -> Shape,
        visit: impl FnOnce(Tracer<'_>) -> Result<V::Value, ModelError>,
    ) -> Result<V::Value, ModelError> {
        let mut inner = None;
        let value = visit(Tracer { out: &mut inner })?;
        let inner = inner.ok_or_else(|| ModelError::new("an inner type asked for nothing"))?;
        *self.out = Some(wrap(Box::new(inner)));
        Ok(value)
    }
}

macro_rules! trace_number {
    ($($method:ident $visit:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
                *self.out = Some(Shape::Number);
                visitor.$visit(Default::default())
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Tracer<'_> {
    type Error = ModelError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ModelError> {
        Err(ModelError::new(
            "a field takes any kind of value; models need fixed types",
        ))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        *self.out = Some(Shape::Bool);
        visitor.visit_bool(false)
    }

    trace_number! {
        deserialize_i8 visit_i8 deserialize_i16 visit_i16 deserialize_i32 visit_i32
        deserialize_i64 visit_i64 deserialize_i128 visit_i128 deserialize_u8 visit_u8
        deserialize_u16 visit_u16 deserialize_u32 visit_u32 deserialize_u64 visit_u64
        deserialize_u128 visit_u128 deserialize_f32 visit_f32 deserialize_f64 visit_f64
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        *self.out = Some(Shape::String);
        visitor.visit_str("")
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        *self.out = Some(Shape::String);
        visitor.visit_char(' ')
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        self.nested::<V>(Shape::Option, |inner| visitor.visit_some(inner))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        if name == PLANNED {
            return self.nested::<V>(Shape::Planned, |inner| visitor.visit_some(inner));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        self.nested::<V>(Shape::Seq, |inner| {
            visitor.visit_seq(OneElement {
                tracer: Some(inner),
            })
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        self.nested::<V>(Shape::Map, |inner| {
            visitor.visit_map(OneEntry {
                tracer: Some(inner),
                key_given: false,
            })
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        let mut access = Fields {
            fields,
            next: 0,
            shapes: Vec::new(),
        };
        let value = visitor.visit_map(&mut access)?;
        *self.out = Some(Shape::Object(access.shapes));
        Ok(value)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        *self.out = Some(Shape::String);
        let first = variants.first().copied().unwrap_or_default();
        let variant: StrDeserializer<'_, ModelError> = first.into_deserializer();
        visitor.visit_enum(variant)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

/// A sequence of one traced element.
struct OneElement<'a> {
    tracer: Option<Tracer<'a>>,
}

impl<'de> de::SeqAccess<'de> for OneElement<'_> {
    type Error = ModelError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ModelError> {
        match self.tracer.take() {
            Some(tracer) => seed.deserialize(tracer).map(Some),
            None => Ok(None),
        }
    }
}

/// A map of one entry with a traced value.
struct OneEntry<'a> {
    tracer: Option<Tracer<'a>>,
    key_given: bool,
}

impl<'de> de::MapAccess<'de> for OneEntry<'_> {
    type Error = ModelError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ModelError> {
        if self.key_given || self.tracer.is_none() {
            return Ok(None);
        }
        self.key_given = true;
        let key: StrDeserializer<'_, ModelError> = "key".into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ModelError> {
        let tracer = self
            .tracer
            .take()
            .ok_or_else(|| ModelError::new("a map value was asked for twice"))?;
        seed.deserialize(tracer)
    }
}

/// A struct's fields, each traced.
struct Fields {
    fields: &'static [&'static str],
    next: usize,
    shapes: Vec<(String, Shape)>,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = ModelError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ModelError> {
        let Some(name) = self.fields.get(self.next) else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, ModelError> = name.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ModelError> {
        let name = self.fields[self.next];
        self.next += 1;
        let mut shape = None;
        let value = seed
            .deserialize(Tracer { out: &mut shape })
            .map_err(|e| e.under(crate::tf::AttributePath::root(name)))?;
        let shape =
            shape.ok_or_else(|| ModelError::new(format!("field {name} asked for nothing")))?;
        self.shapes.push((name.to_owned(), shape));
        Ok(value)
    }
}
