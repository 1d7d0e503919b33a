//! Type inference for values in a `dynamic` slot: the one type cty would give a value alone.

use super::{HERE, MAX_DEPTH, index_step};
use crate::tf::path::{AttributePath, PathStep};
use crate::tf::types::{ObjectType, Type};
use crate::tf::value::Value;

/// Why no type could be inferred for a dynamic value, and where.
pub(in crate::tf) struct InferenceError {
    pub(in crate::tf) path: AttributePath,
    pub(in crate::tf) reason: String,
}

impl InferenceError {
    fn within(mut self, step: PathStep) -> InferenceError {
        self.path.0.insert(0, step);
        self
    }
}

/// The type a value held in a dynamic attribute gets: what cty would infer from the value alone.
///
/// Null and unknown values tell nothing of their type, so they infer as `dynamic`; a list, set or
/// map gets the one element type all its elements agree on, `dynamic` when it is empty, which is
/// also what Terraform gives `tolist([])`.
pub(in crate::tf) fn infer_type(value: &Value, depth: usize) -> Result<Type, InferenceError> {
    if depth > MAX_DEPTH {
        return Err(InferenceError {
            path: HERE,
            reason: format!("nested deeper than {MAX_DEPTH} levels"),
        });
    }
    Ok(match value {
        Value::Null | Value::Unknown(_) => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(items) => Type::list(common_type(items.iter(), index_step, depth)?),
        Value::Set(items) => Type::set(common_type(items.iter(), index_step, depth)?),
        Value::Map(entries) => {
            let key = |i: usize| {
                PathStep::ElementKeyString(entries.keys().nth(i).cloned().unwrap_or_default())
            };
            Type::map(common_type(entries.values(), key, depth)?)
        }
        Value::Tuple(items) => Type::Tuple(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| infer_type(v, depth + 1).map_err(|e| e.within(index_step(i))))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(attributes) => Type::Object(ObjectType {
            attributes: attributes
                .iter()
                .map(|(k, v)| {
                    let t = infer_type(v, depth + 1)
                        .map_err(|e| e.within(PathStep::Attribute(k.clone())))?;
                    Ok((k.clone(), t))
                })
                .collect::<Result<_, InferenceError>>()?,
            optional: Default::default(),
        }),
    })
}

fn common_type<'v>(
    items: impl Iterator<Item = &'v Value>,
    step: impl Fn(usize) -> PathStep,
    depth: usize,
) -> Result<Type, InferenceError> {
    let mut common = Type::Dynamic;
    for (i, item) in items.enumerate() {
        let t = infer_type(item, depth + 1).map_err(|e| e.within(step(i)))?;
        common = unify(&common, &t).ok_or_else(|| InferenceError {
            path: AttributePath(vec![step(i)]),
            reason: format!(
                "elements differ: {} and {}",
                common.friendly_name(),
                t.friendly_name()
            ),
        })?;
    }
    Ok(common)
}

/// The one type two inferred types can both be, `dynamic` standing for "not known yet".
fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => Some(t.clone()),
        (Type::List(x), Type::List(y)) => unify(x, y).map(Type::list),
        (Type::Set(x), Type::Set(y)) => unify(x, y).map(Type::set),
        (Type::Map(x), Type::Map(y)) => unify(x, y).map(Type::map),
        (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => xs
            .iter()
            .zip(ys)
            .map(|(x, y)| unify(x, y))
            .collect::<Option<_>>()
            .map(Type::Tuple),
        (Type::Object(x), Type::Object(y)) if x.attributes.keys().eq(y.attributes.keys()) => {
            let attributes = x
                .attributes
                .iter()
                .zip(y.attributes.values())
                .map(|((name, xt), yt)| Some((name.clone(), unify(xt, yt)?)))
                .collect::<Option<_>>()?;
            Some(Type::Object(ObjectType {
                attributes,
                optional: Default::default(),
            }))
        }
        (x, y) => (x == y).then(|| x.clone()),
    }
}
