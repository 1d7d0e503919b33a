//! Terraform values: known, null, unknown (with refinements), primitives and collections.

use std::collections::BTreeMap;
use std::fmt;

/// A number as Terraform carries it: integers and floats exactly, anything larger as decimal text.
#[derive(Debug, Clone)]
pub enum Number {
    /// Fits in a signed 64-bit integer.
    Int(i64),
    /// A float that is not an integer in range.
    Float(f64),
    /// A decimal number too large or precise for the other forms, kept as written.
    Big(String),
}

impl Number {
    /// The number as an `i64`, when it is a whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Number::Float(_) => None,
            Number::Big(s) => s.parse().ok(),
        }
    }

    /// The number as an `f64` (lossy for big numbers).
    pub fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }

    /// The number in its shortest exact form: an integer where it is one.
    pub fn normalized(&self) -> Number {
        match self {
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Number::Int(*f as i64),
            Number::Big(s) => match s.parse::<i64>() {
                Ok(i) => Number::Int(i),
                Err(_) => Number::Big(s.clone()),
            },
            other => other.clone(),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (self.normalized(), other.normalized()) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Big(a), Number::Big(b)) => a == b,
            (a, b) => a.as_f64() == b.as_f64(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Big(s) => f.write_str(s),
        }
    }
}

/// What is already known about a value that is not yet known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refinements {
    /// `Some(true)` when the value will certainly not be null.
    pub not_null: Option<bool>,
    /// A prefix the final string will certainly have.
    pub string_prefix: Option<String>,
    /// A lower bound of a number, and whether it is inclusive.
    pub number_lower_bound: Option<(Number, bool)>,
    /// An upper bound of a number, and whether it is inclusive.
    pub number_upper_bound: Option<(Number, bool)>,
    /// The least length the final collection will have.
    pub collection_length_lower_bound: Option<u64>,
    /// The greatest length the final collection will have.
    pub collection_length_upper_bound: Option<u64>,
}

impl Refinements {
    /// No refinement at all: a plain unknown.
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// A Terraform value. Its type comes from the schema that decoded it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Null of any type.
    #[default]
    Null,
    /// Not known until apply, possibly with refinements.
    Unknown(Refinements),
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Value>),
    /// A set: order carries no meaning.
    Set(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A map.
    Map(BTreeMap<String, Value>),
    /// An object.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// A plain unknown value.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// An unknown value that will certainly not be null.
    pub fn unknown_not_null() -> Value {
        Value::Unknown(Refinements {
            not_null: Some(true),
            ..Refinements::default()
        })
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A whole number value.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }

    /// An object from `(name, value)` pairs.
    pub fn object<I, S>(attributes: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether the value itself is known (its elements may not be).
    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown(_))
    }

    /// Whether the value and everything inside it is known.
    pub fn is_fully_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_fully_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_fully_known),
            _ => true,
        }
    }

    /// An attribute of an object; null when absent or when `self` is not an object.
    pub fn attr(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Mutable access to an object's attribute, inserting null when absent.
    /// Does nothing useful on a non-object (returns a detached null).
    pub fn attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) => Some(m.entry(name.to_owned()).or_insert(Value::Null)),
            _ => None,
        }
    }

    /// Sets an object's attribute; no effect on a non-object.
    pub fn set_attr(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = self {
            m.insert(name.to_owned(), value);
        }
    }

    /// The string, when the value is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, when the value is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as `i64`, when it is a known whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The elements of a known list, set or tuple.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// The entries of a known map or object.
    pub fn as_entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Equality that treats sets as unordered and numbers by value.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Set(a), Value::Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.semantically_equal(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.semantically_equal(y)))
            }
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, x)| b.get(k).is_some_and(|y| x.semantically_equal(y)))
            }
            (a, b) => a == b,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::int(i)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(Number::Int(3), Number::Float(3.0));
        assert_eq!(Number::Big("12".into()), Number::Int(12));
        assert_ne!(Number::Float(0.5), Number::Int(0));
    }

    #[test]
    fn sets_compare_without_order() {
        let a = Value::Set(vec!["x".into(), "y".into()]);
        let b = Value::Set(vec!["y".into(), "x".into()]);
        assert!(a.semantically_equal(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn missing_attributes_read_as_null() {
        let v = Value::object([("a", Value::from("b"))]);
        assert_eq!(v.attr("a").as_str(), Some("b"));
        assert!(v.attr("zzz").is_null());
    }
}
