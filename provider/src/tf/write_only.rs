//! Write-only attributes on clients that do not know them: Terraform before v1.11 and OpenTofu
//! before v1.11 (Spacelift's Terraform 1.5.7 among them) treat a write-only attribute as an
//! ordinary one, so the provider nulling it in the plan fails with "Provider produced invalid
//! plan", and echoing it would store it in state. Such a value is refused up front instead,
//! with a diagnostic that names the attribute and what to use in its place.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::path::AttributePath;
use super::schema::{Block, NestingMode};
use super::value::Value;

/// When a configured write-only value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownValues {
    /// At validate, where a value may still be unknown and later turn out null: only known,
    /// non-null values are refused.
    Allowed,
    /// At plan, the last point before the value is used: an unknown value is refused too.
    Refused,
}

/// Errors for every write-only attribute `config` sets, for a client that said (through its
/// `ClientCapabilities`) it does not support write-only attributes, or said nothing.
pub fn refuse_write_only_values(
    block: &Block,
    config: &Value,
    unknown_values: UnknownValues,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    refuse_in_block(block, config, None, unknown_values, &mut diagnostics);
    diagnostics
}

fn refuse_in_block(
    block: &Block,
    config: &Value,
    path: Option<&AttributePath>,
    unknown_values: UnknownValues,
    diagnostics: &mut Diagnostics,
) {
    if config.is_null() || !config.is_known() {
        return;
    }
    let child = |name: &str| match path {
        Some(path) => path.clone().attr(name),
        None => AttributePath::root(name),
    };
    for attribute in block.attributes.iter().filter(|a| a.write_only) {
        let value = config.attr(&attribute.name);
        let set = match unknown_values {
            UnknownValues::Allowed => value.is_known() && !value.is_null(),
            UnknownValues::Refused => !value.is_null(),
        };
        if !set {
            continue;
        }
        let instead = attribute.write_only_alternative.as_deref().unwrap_or(
            "Leave it unset, or use Terraform v1.11 or later, or OpenTofu v1.11 or later.",
        );
        diagnostics.push(
            Diagnostic::error(
                "Write-only attribute not supported by this Terraform or OpenTofu",
                format!(
                    "{} is write-only, and this Terraform or OpenTofu does not support \
                     write-only attributes (they need Terraform v1.11 or OpenTofu v1.11 or \
                     later): it would store the value in state or fail the plan. {instead}",
                    attribute.name
                ),
            )
            .at(child(&attribute.name)),
        );
    }
    for nested in &block.blocks {
        let nested_config = config.attr(&nested.type_name);
        let nested_path = child(&nested.type_name);
        match nested.nesting {
            NestingMode::Single | NestingMode::Group => refuse_in_block(
                &nested.block,
                nested_config,
                Some(&nested_path),
                unknown_values,
                diagnostics,
            ),
            NestingMode::List | NestingMode::Set => {
                // A set element has no index Terraform would understand; its block is named.
                let indexed = nested.nesting == NestingMode::List;
                for (i, item) in nested_config
                    .as_elements()
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                {
                    let item_path = if indexed {
                        nested_path.clone().index(i as i64)
                    } else {
                        nested_path.clone()
                    };
                    refuse_in_block(
                        &nested.block,
                        item,
                        Some(&item_path),
                        unknown_values,
                        diagnostics,
                    );
                }
            }
            NestingMode::Map => {
                for (key, item) in nested_config.as_entries().into_iter().flatten() {
                    refuse_in_block(
                        &nested.block,
                        item,
                        Some(&nested_path.clone().key(key)),
                        unknown_values,
                        diagnostics,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::schema::{Attribute, NestedBlock};
    use crate::tf::types::Type;

    fn block() -> Block {
        Block::new(
            "test",
            vec![
                Attribute::optional("secret", Type::String)
                    .write_only()
                    .write_only_alternative("Use secret_sensitive instead."),
                Attribute::optional("flag", Type::Bool).write_only(),
                Attribute::optional("name", Type::String),
            ],
        )
        .with_block(NestedBlock::list(
            "item",
            Block::new(
                "item",
                vec![Attribute::optional("token", Type::String).write_only()],
            ),
        ))
    }

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .map(|d| format!("{:?}", d.attribute.as_ref().expect("a path")))
            .collect()
    }

    #[test]
    fn a_configured_write_only_value_is_refused_with_its_path_and_alternative() {
        let config = Value::object([
            ("secret", Value::from("s3cret")),
            ("flag", Value::Null),
            ("name", Value::from("n")),
            (
                "item",
                Value::List(vec![Value::object([("token", Value::from("t"))])]),
            ),
        ]);
        let diagnostics = refuse_write_only_values(&block(), &config, UnknownValues::Allowed);
        assert_eq!(diagnostics.iter().count(), 2, "{diagnostics:?}");
        let first = diagnostics.iter().next().unwrap();
        assert!(
            first.detail.contains("secret is write-only"),
            "{}",
            first.detail
        );
        assert!(first.detail.contains("Use secret_sensitive instead."));
        assert!(
            !first.detail.contains("s3cret"),
            "the value itself is never shown"
        );
        let shown = paths(&diagnostics);
        assert!(shown[0].contains("secret"), "{shown:?}");
        assert!(
            shown[1].contains("item") && shown[1].contains("token"),
            "{shown:?}"
        );
    }

    #[test]
    fn unset_write_only_values_pass() {
        let config = Value::object([
            ("secret", Value::Null),
            ("flag", Value::Null),
            ("name", Value::from("n")),
            ("item", Value::Null),
        ]);
        let diagnostics = refuse_write_only_values(&block(), &config, UnknownValues::Refused);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }

    #[test]
    fn an_unknown_value_passes_validate_and_is_refused_at_plan() {
        let config = Value::object([
            ("secret", Value::Unknown(Default::default())),
            ("flag", Value::Null),
            ("name", Value::Null),
            ("item", Value::Null),
        ]);
        let at_validate = refuse_write_only_values(&block(), &config, UnknownValues::Allowed);
        assert!(at_validate.is_empty(), "{at_validate:?}");
        let at_plan = refuse_write_only_values(&block(), &config, UnknownValues::Refused);
        assert_eq!(at_plan.iter().count(), 1, "{at_plan:?}");
    }
}
