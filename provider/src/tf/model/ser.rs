//! The serde `Serializer` that writes a model as a [`Value`], and [`conform`], which gives that
//! value the schema's type (sets, maps, every attribute present).

use std::collections::BTreeMap;

use serde::ser::{self, Serialize};

use super::error::ModelError;
use super::planned::PLANNED;
use crate::tf::path::AttributePath;
use crate::tf::types::Type;
use crate::tf::value::{Number, Value};

/// Writes a model as an untyped value: sequences as lists, maps and structs as maps.
pub(super) struct ValueSerializer;

type Result<T> = std::result::Result<T, ModelError>;

fn unsupported(what: &str) -> ModelError {
    ModelError::new(format!(
        "a model cannot hold {what}: Terraform values have no such form"
    ))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ModelError;
    type SerializeSeq = Sequence;
    type SerializeTuple = Sequence;
    type SerializeTupleStruct = Sequence;
    type SerializeTupleVariant = ser::Impossible<Value, ModelError>;
    type SerializeMap = Entries;
    type SerializeStruct = Entries;
    type SerializeStructVariant = ser::Impossible<Value, ModelError>;

    fn serialize_bool(self, v: bool) -> Result<Value> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value> {
        Ok(Value::int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value> {
        Ok(Value::int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value> {
        Ok(Value::int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value> {
        Ok(Value::int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value> {
        Ok(Value::int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value> {
        Ok(Value::int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value> {
        Ok(Value::int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value> {
        Ok(Value::Number(match i64::try_from(v) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Big(v.to_string()),
        }))
    }
    fn serialize_f32(self, v: f32) -> Result<Value> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Value> {
        if !v.is_finite() {
            return Err(ModelError::new(format!(
                "{v} is not a number Terraform can hold"
            )));
        }
        Ok(Value::Number(Number::Float(v).normalized()))
    }
    fn serialize_char(self, v: char) -> Result<Value> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value> {
        Ok(Value::string(v))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Value> {
        Err(unsupported("raw bytes (use a base64 String)"))
    }
    fn serialize_none(self) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value> {
        Ok(Value::string(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Value> {
        if name == PLANNED {
            return Ok(Value::unknown());
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Value> {
        Err(unsupported("an enum variant with data"))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Sequence> {
        Ok(Sequence(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Sequence> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Sequence> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(unsupported("an enum variant with data"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Entries> {
        Ok(Entries::default())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Entries> {
        Ok(Entries::default())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(unsupported("an enum variant with data"))
    }
}

/// A sequence being written.
pub(super) struct Sequence(Vec<Value>);

impl ser::SerializeSeq for Sequence {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.0.push(value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for Sequence {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Sequence {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value> {
        ser::SerializeSeq::end(self)
    }
}

/// A map or struct being written.
#[derive(Default)]
pub(super) struct Entries {
    entries: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for Entries {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        match key.serialize(ValueSerializer)? {
            Value::String(key) => {
                self.key = Some(key);
                Ok(())
            }
            _ => Err(unsupported("a map key that is not a string")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self.key.take().unwrap_or_default();
        let value = value
            .serialize(ValueSerializer)
            .map_err(|e| e.under(AttributePath::default().key(&key)))?;
        self.entries.insert(key, value);
        Ok(())
    }
    fn end(self) -> Result<Value> {
        Ok(Value::Map(self.entries))
    }
}

impl ser::SerializeStruct for Entries {
    type Ok = Value;
    type Error = ModelError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<()> {
        let value = value
            .serialize(ValueSerializer)
            .map_err(|e| e.under(AttributePath::root(name)))?;
        self.entries.insert(name.to_owned(), value);
        Ok(())
    }
    fn end(self) -> Result<Value> {
        Ok(Value::Object(self.entries))
    }
}

/// Gives an untyped value the schema's type: lists become sets where the type is a set, maps
/// and structs become maps or objects as the type says, and an object gets every attribute of
/// its type (null where the model had none). A value of another kind than the type is an error.
pub(super) fn conform(value: Value, value_type: &Type, path: &AttributePath) -> Result<Value> {
    let mismatch = |found: &str| {
        ModelError::new(format!(
            "the model wrote {found} where the schema has {}",
            value_type.friendly_name()
        ))
        .at(path)
    };
    match (value, value_type) {
        (value @ (Value::Null | Value::Unknown(_)), _) | (value, Type::Dynamic) => Ok(value),
        (value @ Value::Bool(_), Type::Bool)
        | (value @ Value::Number(_), Type::Number)
        | (value @ Value::String(_), Type::String) => Ok(value),
        (Value::List(elements), Type::List(element)) => {
            conform_elements(elements, element, path).map(Value::List)
        }
        (Value::List(elements), Type::Set(element)) => {
            conform_elements(elements, element, path).map(Value::Set)
        }
        (Value::List(elements), Type::Tuple(types)) if elements.len() == types.len() => {
            let mut out = Vec::with_capacity(elements.len());
            for (index, (element, t)) in elements.into_iter().zip(types).enumerate() {
                out.push(conform(element, t, &path.clone().index(index as i64))?);
            }
            Ok(Value::Tuple(out))
        }
        (Value::Map(entries) | Value::Object(entries), Type::Map(element)) => {
            let mut out = BTreeMap::new();
            for (key, value) in entries {
                let value = conform(value, element, &path.clone().key(&key))?;
                out.insert(key, value);
            }
            Ok(Value::Map(out))
        }
        (Value::Map(mut entries) | Value::Object(mut entries), Type::Object(object)) => {
            let mut out = BTreeMap::new();
            for (name, t) in &object.attributes {
                let value = entries.remove(name).unwrap_or(Value::Null);
                out.insert(name.clone(), conform(value, t, &path.clone().attr(name))?);
            }
            if let Some(extra) = entries.keys().next() {
                return Err(ModelError::new(format!(
                    "the model has a field {extra:?} that the schema does not have"
                ))
                .at(path));
            }
            Ok(Value::Object(out))
        }
        (other, _) => Err(mismatch(match other {
            Value::Bool(_) => "a bool",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) | Value::Set(_) | Value::Tuple(_) => "a sequence",
            _ => "a map or struct",
        })),
    }
}

fn conform_elements(
    elements: Vec<Value>,
    element: &Type,
    path: &AttributePath,
) -> Result<Vec<Value>> {
    elements
        .into_iter()
        .enumerate()
        .map(|(index, value)| conform(value, element, &path.clone().index(index as i64)))
        .collect()
}
