//! Terraform (cty) types and their JSON encoding, as used in schemas and dynamic values.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

/// A cty type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `number`: arbitrary precision.
    Number,
    /// `string`: UTF-8 text.
    String,
    /// `dynamic`: the type is carried with the value.
    Dynamic,
    /// `list(T)`.
    List(Box<Type>),
    /// `set(T)`.
    Set(Box<Type>),
    /// `map(T)`.
    Map(Box<Type>),
    /// `object({...})`.
    Object(ObjectType),
    /// `tuple([...])`.
    Tuple(Vec<Type>),
}

/// The attribute types of an object type, and which of them are optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectType {
    /// Attribute name to type.
    pub attributes: BTreeMap<String, Type>,
    /// Attributes that may be omitted (object type constraints only).
    pub optional: BTreeSet<String>,
}

/// A type's JSON form could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("invalid type description: {0}")]
pub struct TypeError(pub String);

impl Type {
    /// `list(element)`.
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// `set(element)`.
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// `map(element)`.
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// `object({...})` from `(name, type)` pairs, none optional.
    pub fn object<I, S>(attributes: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(ObjectType {
            attributes: attributes.into_iter().map(|(n, t)| (n.into(), t)).collect(),
            optional: BTreeSet::new(),
        })
    }

    /// The type's JSON form, e.g. `["list","string"]`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::String => json!("string"),
            Type::Dynamic => json!("dynamic"),
            Type::List(e) => json!(["list", e.to_json()]),
            Type::Set(e) => json!(["set", e.to_json()]),
            Type::Map(e) => json!(["map", e.to_json()]),
            Type::Object(o) => {
                let attrs: serde_json::Map<String, Json> = o
                    .attributes
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                if o.optional.is_empty() {
                    json!(["object", attrs])
                } else {
                    let optional: Vec<&String> = o.optional.iter().collect();
                    json!(["object", attrs, optional])
                }
            }
            Type::Tuple(elements) => {
                json!([
                    "tuple",
                    elements.iter().map(Type::to_json).collect::<Vec<_>>()
                ])
            }
        }
    }

    /// The type's JSON form as bytes, as the protocol carries it.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).expect("a type always serializes")
    }

    /// Parses a type's JSON form.
    pub fn from_json(json: &Json) -> Result<Type, TypeError> {
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(TypeError(format!("unknown primitive type {other:?}"))),
            },
            Json::Array(parts) => {
                let kind = parts
                    .first()
                    .and_then(Json::as_str)
                    .ok_or_else(|| TypeError("a compound type must start with its kind".into()))?;
                let arg = parts
                    .get(1)
                    .ok_or_else(|| TypeError(format!("{kind} needs an argument")))?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    "object" => {
                        let map = arg.as_object().ok_or_else(|| {
                            TypeError("object attributes must be a JSON object".into())
                        })?;
                        let mut attributes = BTreeMap::new();
                        for (name, t) in map {
                            attributes.insert(name.clone(), Type::from_json(t)?);
                        }
                        let mut optional = BTreeSet::new();
                        if let Some(opt) = parts.get(2) {
                            for name in opt.as_array().into_iter().flatten() {
                                let name = name.as_str().ok_or_else(|| {
                                    TypeError("optional attribute names must be strings".into())
                                })?;
                                optional.insert(name.to_owned());
                            }
                        }
                        Ok(Type::Object(ObjectType {
                            attributes,
                            optional,
                        }))
                    }
                    "tuple" => {
                        let elements = arg.as_array().ok_or_else(|| {
                            TypeError("tuple elements must be a JSON array".into())
                        })?;
                        Ok(Type::Tuple(
                            elements
                                .iter()
                                .map(Type::from_json)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    other => Err(TypeError(format!("unknown type kind {other:?}"))),
                }
            }
            other => Err(TypeError(format!("unexpected JSON {other}"))),
        }
    }

    /// Parses a type's JSON form from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        let json: Json = serde_json::from_slice(bytes).map_err(|e| TypeError(e.to_string()))?;
        Type::from_json(&json)
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(e) | Type::Set(e) | Type::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The type written the way Terraform prints it, for diagnostics.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_of_nested_types() {
        let t = Type::object([
            ("name", Type::String),
            ("ports", Type::list(Type::Number)),
            ("tags", Type::map(Type::set(Type::Bool))),
            ("pair", Type::Tuple(vec![Type::String, Type::Dynamic])),
        ]);
        let bytes = t.to_json_bytes();
        assert_eq!(Type::from_json_bytes(&bytes).unwrap(), t);
    }

    #[test]
    fn optional_object_attributes_are_kept() {
        let parsed =
            Type::from_json_bytes(br#"["object",{"a":"string","b":"number"},["b"]]"#).unwrap();
        let Type::Object(o) = &parsed else {
            panic!("not an object")
        };
        assert!(o.optional.contains("b"));
        assert_eq!(
            parsed.to_json().to_string(),
            r#"["object",{"a":"string","b":"number"},["b"]]"#
        );
    }

    #[test]
    fn unknown_type_names_are_rejected() {
        assert!(Type::from_json_bytes(br#""float""#).is_err());
        assert!(Type::from_json_bytes(br#"["vector","string"]"#).is_err());
    }
}
