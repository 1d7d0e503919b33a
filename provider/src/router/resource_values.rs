//! What the router resources and data source share on top of the router model: the AS number
//! attribute and its checks, FRR's settings defaults in imported states, and router errors as
//! diagnostics.

use super::RouterError;
use super::frr;
use crate::tf::{Attribute, AttributePath, Diagnostic, Diagnostics, Type, Value};

/// The required `asn` attribute shared by the BGP resources; a change replaces the object.
pub fn asn_attribute() -> Attribute {
    Attribute::required("asn", Type::Number).requires_replace()
}

/// An AS number attribute as `u32`, when it is known and in range.
pub fn asn_of(value: &Value, name: &str) -> Option<u32> {
    value
        .attr(name)
        .as_i64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
}

/// An AS number attribute that must be known (state and plans at apply).
pub fn required_asn(value: &Value, name: &str) -> Result<u32, Diagnostics> {
    asn_of(value, name).ok_or_else(|| {
        Diagnostic::error(
            format!("{name} not known"),
            format!("{name} must be a known AS number here."),
        )
        .at(AttributePath::root(name))
        .into()
    })
}

/// Reports an AS number outside 1 to 4294967295.
pub fn validate_asn(config: &Value, name: &str, diagnostics: &mut Diagnostics) {
    let value = config.attr(name);
    if value.is_known() && !value.is_null() && asn_of(config, name).is_none() {
        diagnostics.push(
            Diagnostic::error(
                format!("Invalid {name}"),
                "An AS number is a whole number from 1 to 4294967295.",
            )
            .at(AttributePath::root(name)),
        );
    }
}

/// Fills unset FRR settings with their defaults (imported states have none).
pub fn with_settings_defaults(mut state: Value) -> Value {
    let defaults = frr::save_attributes()
        .into_iter()
        .chain(frr::daemon_attributes());
    for attribute in defaults {
        if let Value::Object(map) = &state
            && map.contains_key(&attribute.name)
            && state.attr(&attribute.name).is_null()
            && let Some(default) = attribute.default
        {
            state.set_attr(&attribute.name, default);
        }
    }
    state
}

/// A router error as Terraform shows it; the error itself names the router.
pub fn failed(doing: &str, error: RouterError) -> Diagnostics {
    error.to_diagnostic(doing).into()
}
