//! Typed models: a resource's values read from a [`Value`] into its own struct once, at the
//! start of an RPC, and written back once at the end, through serde.
//!
//! - [`from_value`] reads a `Value` into any `Deserialize` type: objects into structs (an
//!   attribute the value lacks reads as null), lists, sets and tuples into sequences, maps into
//!   maps, null into `Option::None`, strings into unit enum variants. An unknown value reads only
//!   into [`Planned`]; anywhere else it is an error naming the attribute's path, so apply and
//!   read code, whose models have no `Planned` fields, can never see one. At apply, the planned
//!   state's computed attributes may still be unknown: [`from_planned_value`] reads them as
//!   `None` (the provider fills them in).
//! - [`to_value`] writes a `Serialize` type back as a `Value` of the schema's type: sequences
//!   become sets where the type says set, `None` becomes null, [`Planned::Unknown`] unknown, and
//!   attributes the model leaves out become null.
//! - [`Shape`] traces what a model type expects and [`Shape::check_against`] compares it with
//!   a schema block, so a model and its schema cannot drift apart silently.
//!
//! Numbers: whole numbers read into any integer type that holds them (a value out of range is
//! an error, never wrapped), any number into `f32`/`f64`; numbers beyond 64 bits read only into
//! `f64` as the nearest float. Integers up to `u64` and floats write back exactly. A field of
//! type [`Number`](crate::tf::Number) keeps the number as Terraform sent it.

mod de;
mod error;
mod number;
mod planned;
mod ser;
mod shape;

#[cfg(test)]
mod tests;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::path::AttributePath;
use super::types::Type;
use super::value::Value;

pub use error::ModelError;
pub use planned::Planned;
pub use shape::Shape;

/// A model type of a resource or data source, traced: what the registry's test checks against
/// the type's schema.
#[derive(Debug)]
pub struct ModelShape {
    /// The Rust type's name, for messages.
    pub name: &'static str,
    /// Its shape, or why it could not be traced.
    pub shape: Result<Shape, String>,
}

impl ModelShape {
    /// Traces `T`.
    pub fn of<T: DeserializeOwned>() -> ModelShape {
        ModelShape {
            name: std::any::type_name::<T>(),
            shape: Shape::of::<T>(),
        }
    }
}

/// Reads a value into a model; the error names the attribute's path.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ModelError> {
    T::deserialize(de::ValueDeserializer::new(value, AttributePath::default()))
        .map_err(ModelError::finish)
}

/// Reads the planned state at apply into a model of plain values: a computed attribute that is
/// still unknown (the provider decides it now) reads as `None`, as an unset one does. An
/// unknown value anywhere a model has no `Option` is still an error.
pub fn from_planned_value<T: DeserializeOwned>(value: &Value) -> Result<T, ModelError> {
    T::deserialize(de::ValueDeserializer::new(value, AttributePath::default()).unknown_as_null())
        .map_err(ModelError::finish)
}

/// Writes a model back as a value of `value_type` (a schema block's `value_type()`).
pub fn to_value<T: Serialize>(model: &T, value_type: &Type) -> Result<Value, ModelError> {
    let untyped = model.serialize(ser::ValueSerializer)?;
    ser::conform(untyped, value_type, &AttributePath::default()).map_err(ModelError::finish)
}

/// Writes a plan model back over the planned value it was read from: like [`to_value`], but an
/// attribute that stays unknown keeps what Terraform knew of it (its refinements), so a plan
/// never claims to know less than the proposed state did.
pub fn to_planned_value<T: Serialize>(
    model: &T,
    value_type: &Type,
    proposed: &Value,
) -> Result<Value, ModelError> {
    let mut planned = to_value(model, value_type)?;
    keep_refinements(&mut planned, proposed);
    Ok(planned)
}

fn keep_refinements(planned: &mut Value, proposed: &Value) {
    match (planned, proposed) {
        (planned @ Value::Unknown(_), Value::Unknown(refinements)) => {
            *planned = Value::Unknown(refinements.clone());
        }
        (Value::Object(new), Value::Object(old)) | (Value::Map(new), Value::Map(old)) => {
            for (name, value) in new.iter_mut() {
                if let Some(old) = old.get(name) {
                    keep_refinements(value, old);
                }
            }
        }
        (Value::List(new), Value::List(old)) | (Value::Tuple(new), Value::Tuple(old)) => {
            for (value, old) in new.iter_mut().zip(old) {
                keep_refinements(value, old);
            }
        }
        _ => {}
    }
}
