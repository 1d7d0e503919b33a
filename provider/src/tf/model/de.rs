//! The serde `Deserializer` over a [`Value`], keeping the attribute path for errors.

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::error::ModelError;
use super::planned::PLANNED;
use crate::tf::path::AttributePath;
use crate::tf::value::{Number, Value};

static NULL: Value = Value::Null;

/// Plain (non-`Option`) targets refuse null with a message that says so, instead of serde's
/// "invalid type: Option value".
macro_rules! not_null {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
                if self.value.is_null() {
                    return Err(ModelError::new(
                        "the value is null, but the model has no Option here",
                    )
                    .at(&self.path));
                }
                self.deserialize_any(visitor)
            }
        )*
    };
}

/// Reads one value at one path.
pub(super) struct ValueDeserializer<'a> {
    value: &'a Value,
    path: AttributePath,
    /// An unknown value reads into an `Option` as `None` (the planned state at apply).
    unknown_as_null: bool,
}

impl<'a> ValueDeserializer<'a> {
    pub(super) fn new(value: &'a Value, path: AttributePath) -> ValueDeserializer<'a> {
        ValueDeserializer {
            value,
            path,
            unknown_as_null: false,
        }
    }

    pub(super) fn unknown_as_null(mut self) -> ValueDeserializer<'a> {
        self.unknown_as_null = true;
        self
    }

    fn unknown(&self) -> ModelError {
        ModelError::unknown_at(&self.path)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Tuple(_) => "a tuple",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = ModelError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        let path = self.path.clone();
        let result = match self.value {
            Value::Null => visitor.visit_none(),
            Value::Unknown(_) => return Err(self.unknown()),
            Value::Bool(b) => visitor.visit_bool(*b),
            // A whole number reads as an integer however it was written (`8080.0`).
            Value::Number(number) => match number.normalized() {
                Number::Int(i) => visitor.visit_i64(i),
                Number::Float(f) => visitor.visit_f64(f),
                Number::Big(text) => match text.parse::<u64>() {
                    Ok(u) => visitor.visit_u64(u),
                    Err(_) => match text.parse::<f64>() {
                        Ok(f) => visitor.visit_f64(f),
                        Err(_) => Err(ModelError::new(format!("{text} is not a number"))),
                    },
                },
            },
            Value::String(s) => visitor.visit_str(s),
            Value::List(elements) | Value::Set(elements) | Value::Tuple(elements) => visitor
                .visit_seq(Elements {
                    elements: elements.iter(),
                    index: 0,
                    path: self.path,
                    unknown_as_null: self.unknown_as_null,
                }),
            Value::Map(entries) => visitor.visit_map(Entries {
                entries: entries.iter().map(|(k, v)| (k.as_str(), v)).collect(),
                next: 0,
                path: self.path,
                keyed: true,
                unknown_as_null: self.unknown_as_null,
            }),
            Value::Object(attributes) => visitor.visit_map(Entries {
                entries: attributes.iter().map(|(k, v)| (k.as_str(), v)).collect(),
                next: 0,
                path: self.path,
                keyed: false,
                unknown_as_null: self.unknown_as_null,
            }),
        };
        result.map_err(|e| e.at(&path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            Value::Unknown(_) if self.unknown_as_null => visitor.visit_none(),
            Value::Unknown(_) => Err(self.unknown()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Unknown(_) => Err(self.unknown()),
            other => {
                Err(ModelError::new(format!("expected null, found {}", kind(other))).at(&self.path))
            }
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        if name == PLANNED {
            return match self.value {
                Value::Unknown(_) => visitor.visit_none(),
                _ => visitor.visit_some(self),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    /// A struct reads the attributes it names; one the value lacks reads as null, as
    /// [`Value::attr`] does.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        match self.value {
            Value::Object(attributes) | Value::Map(attributes) => {
                let entries = fields
                    .iter()
                    .map(|name| (*name, attributes.get(*name).unwrap_or(&NULL)))
                    .collect();
                let path = self.path.clone();
                visitor
                    .visit_map(Entries {
                        entries,
                        next: 0,
                        path: self.path,
                        keyed: false,
                        unknown_as_null: self.unknown_as_null,
                    })
                    .map_err(|e| e.at(&path))
            }
            Value::Unknown(_) => Err(self.unknown()),
            other => Err(
                ModelError::new(format!("expected an object, found {}", kind(other)))
                    .at(&self.path),
            ),
        }
    }

    /// Unit variants read from strings (`#[serde(rename_all = "lowercase")]` and so on).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        match self.value {
            Value::String(s) => {
                let variant: StrDeserializer<'_, ModelError> = s.as_str().into_deserializer();
                visitor.visit_enum(variant).map_err(|e| e.at(&self.path))
            }
            Value::Unknown(_) => Err(self.unknown()),
            other => Err(ModelError::new(format!(
                "expected a string naming a variant, found {}",
                kind(other)
            ))
            .at(&self.path)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        visitor.visit_unit()
    }

    not_null! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_seq
        deserialize_map deserialize_identifier
    }

    serde::forward_to_deserialize_any! { unit_struct tuple tuple_struct }
}

/// The elements of a list, set or tuple.
struct Elements<'a> {
    elements: std::slice::Iter<'a, Value>,
    index: i64,
    path: AttributePath,
    unknown_as_null: bool,
}

impl<'de> de::SeqAccess<'de> for Elements<'_> {
    type Error = ModelError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ModelError> {
        let Some(value) = self.elements.next() else {
            return Ok(None);
        };
        let path = self.path.clone().index(self.index);
        self.index += 1;
        seed.deserialize(ValueDeserializer {
            value,
            path: path.clone(),
            unknown_as_null: self.unknown_as_null,
        })
        .map(Some)
        .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.elements.len())
    }
}

/// The attributes of an object or the entries of a map.
struct Entries<'a> {
    entries: Vec<(&'a str, &'a Value)>,
    next: usize,
    path: AttributePath,
    /// Map entries are paths by key (`tags["a"]`), object attributes by name (`ssh.port`).
    keyed: bool,
    unknown_as_null: bool,
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = ModelError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ModelError> {
        let Some((key, _)) = self.entries.get(self.next) else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, ModelError> = key.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ModelError> {
        let (key, value) = self.entries[self.next];
        self.next += 1;
        let path = if self.keyed {
            self.path.clone().key(key)
        } else {
            self.path.clone().attr(key)
        };
        seed.deserialize(ValueDeserializer {
            value,
            path: path.clone(),
            unknown_as_null: self.unknown_as_null,
        })
        .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.next)
    }
}
