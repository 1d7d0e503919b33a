//! The `timeouts` block resources offer: how long each operation may take, written as
//! duration strings (`"10m"`, `"90s"`), with a default per operation.

use std::time::Duration;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::duration;
use super::path::AttributePath;
use super::schema::{Attribute, Block, NestedBlock};
use super::types::Type;
use super::value::Value;

/// The block's type name, as written in configuration.
pub const BLOCK_NAME: &str = "timeouts";

/// The `timeouts` block for these operations (e.g. `create`, `update`, `delete`) and their
/// defaults, which the descriptions state.
pub fn block(operations: &[(&str, Duration)]) -> NestedBlock {
    NestedBlock::single(
        BLOCK_NAME,
        Block::new(
            "How long each operation may take before the provider gives up on it.",
            operations
                .iter()
                .map(|(operation, default)| {
                    Attribute::optional(operation, Type::String).describe(&format!(
                        "How long {operation} may take, as a duration like `\"10m\"` or `\"90s\"`. \
                         Default: `\"{}\"`.",
                        format_duration(*default)
                    ))
                })
                .collect(),
        ),
    )
}

/// Checks every duration of the `timeouts` block in a resource's configuration.
pub fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if let Some(entries) = config.attr(BLOCK_NAME).as_entries() {
        for (operation, value) in entries {
            if let Some(text) = value.as_str()
                && let Err(e) = duration::parse(text)
            {
                diagnostics.push(
                    Diagnostic::error("Invalid timeout", e.to_string())
                        .at(AttributePath::root(BLOCK_NAME).attr(operation)),
                );
            }
        }
    }
    diagnostics
}

/// The timeout of `operation` in a resource's planned or prior state, else `default`.
/// Values were checked by [`validate`]; one that still does not parse counts as unset.
pub fn timeout(state: &Value, operation: &str, default: Duration) -> Duration {
    state
        .attr(BLOCK_NAME)
        .attr(operation)
        .as_str()
        .and_then(|text| duration::parse(text).ok())
        .unwrap_or(default)
}

/// Checks typed timeouts: each operation's configured duration text, when known.
pub fn validate_durations<'a>(
    configured: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    for (operation, text) in configured {
        if let Some(text) = text
            && let Err(e) = duration::parse(text)
        {
            diagnostics.push(
                Diagnostic::error("Invalid timeout", e.to_string())
                    .at(AttributePath::root(BLOCK_NAME).attr(operation)),
            );
        }
    }
    diagnostics
}

/// The duration a typed timeout asks for, else `default`; one that does not parse (validate
/// reported it) counts as unset.
pub fn duration_or(configured: Option<&str>, default: Duration) -> Duration {
    configured
        .and_then(|text| duration::parse(text).ok())
        .unwrap_or(default)
}

/// A duration as users write it: whole hours, minutes or seconds when it is one.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() != 0 {
        format!("{}ms", duration.as_millis())
    } else if seconds != 0 && seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds != 0 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(create: Value) -> Value {
        Value::object([(
            BLOCK_NAME,
            Value::object([("create", create), ("delete", Value::Null)]),
        )])
    }

    #[test]
    fn timeouts_come_from_the_block_or_the_default() {
        let default = Duration::from_secs(600);
        assert_eq!(
            timeout(&config("90s".into()), "create", default),
            Duration::from_secs(90)
        );
        assert_eq!(timeout(&config(Value::Null), "create", default), default);
        assert_eq!(timeout(&Value::Null, "delete", default), default);
    }

    #[test]
    fn bad_durations_name_the_operation() {
        let diagnostics = validate(&config("ten minutes".into()));
        assert_eq!(diagnostics.0.len(), 1);
        assert_eq!(
            diagnostics.0[0].attribute.as_ref().map(ToString::to_string),
            Some("timeouts.create".to_owned())
        );
        assert!(validate(&config(Value::unknown())).is_empty());
    }

    #[test]
    fn durations_print_in_the_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
