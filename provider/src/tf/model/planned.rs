//! [`Planned`]: a value that plan code may not know yet.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

/// The newtype name through which the value serializer and deserializer recognize `Planned`.
pub(super) const PLANNED: &str = "$homelab::tf::Planned";

/// A value in plan code: known, or not known until apply. Only plan-time models (validate,
/// plan) have `Planned` fields; apply and read models hold plain values, and reading an
/// unknown value into them is an error.
///
/// `Planned<Option<T>>` is the usual field type of an optional attribute: unknown, known null
/// (`Known(None)`), or known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned<T> {
    /// Known at plan time.
    Known(T),
    /// Not known until apply.
    Unknown,
}

impl<T> Planned<T> {
    /// The value, when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Planned::Known(value) => Some(value),
            Planned::Unknown => None,
        }
    }

    /// Whether it is known.
    pub fn is_known(&self) -> bool {
        matches!(self, Planned::Known(_))
    }

    /// Applies `f` to a known value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Planned<U> {
        match self {
            Planned::Known(value) => Planned::Known(f(value)),
            Planned::Unknown => Planned::Unknown,
        }
    }
}

impl<T> Planned<Option<T>> {
    /// The value, when known and not null.
    pub fn value(&self) -> Option<&T> {
        self.known().and_then(Option::as_ref)
    }

    /// Whether it is known to be null (unset in configuration).
    pub fn is_null(&self) -> bool {
        matches!(self, Planned::Known(None))
    }
}

/// An optional attribute starts unset.
impl<T> Default for Planned<Option<T>> {
    fn default() -> Self {
        Planned::Known(None)
    }
}

impl Planned<Option<String>> {
    /// The text, when known and not null.
    pub fn as_str(&self) -> Option<&str> {
        self.value().map(String::as_str)
    }
}

impl<T> From<T> for Planned<T> {
    fn from(value: T) -> Planned<T> {
        Planned::Known(value)
    }
}

impl<T: Serialize> Serialize for Planned<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Planned::Known(value) => value.serialize(serializer),
            Planned::Unknown => serializer.serialize_newtype_struct(PLANNED, &()),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Planned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Planned<T>, D::Error> {
        deserializer.deserialize_newtype_struct(PLANNED, PlannedVisitor(PhantomData))
    }
}

/// The value deserializer calls `visit_none` for an unknown value and `visit_some` otherwise;
/// any other deserializer's newtype reads as known.
struct PlannedVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for PlannedVisitor<T> {
    type Value = Planned<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value that may be unknown")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Planned<T>, E> {
        Ok(Planned::Unknown)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Planned<T>, D::Error> {
        T::deserialize(deserializer).map(Planned::Known)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Planned<T>, D::Error> {
        T::deserialize(deserializer).map(Planned::Known)
    }
}
