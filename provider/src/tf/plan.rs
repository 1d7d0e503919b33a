//! The plan rules Terraform expects of a provider: defaults, write-only values nulled, computed
//! values unknown only when something changes, and replacement when an immutable attribute moves.

use super::path::AttributePath;
use super::schema::{Attribute, Block, NestingMode};
use super::value::Value;

/// What the generic rules planned; a resource may refine it further.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedChange {
    /// The planned new state.
    pub planned: Value,
    /// Attributes whose change replaces the object.
    pub requires_replace: Vec<AttributePath>,
    /// Opaque bytes kept with the plan: apply receives them, and they are stored with the new
    /// state. They start as the prior state's private bytes; a resource may replace them.
    pub private: Vec<u8>,
    /// The `private` bytes this provider planned for the same change the first time, which a
    /// client that stores them (Terraform v1.16 on, protocol 6.11) sends back when it plans the
    /// change again just before applying; empty on a first plan and with older clients. A value
    /// chosen at plan time from the outside world (the home's public IP) is planned again from
    /// here, so the apply-time plan matches the one the user approved.
    pub earlier_private: Vec<u8>,
}

/// Applies the plan rules to Terraform's proposed new state.
///
/// `prior` is null on create, `proposed` is null on destroy. The proposed state already holds
/// the prior value of every computed attribute that configuration leaves unset, so keeping an
/// attribute means leaving it alone and "changing" it means marking it unknown.
pub fn plan_resource_change(
    block: &Block,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> PlannedChange {
    if proposed.is_null() {
        return PlannedChange {
            planned: Value::Null,
            requires_replace: Vec::new(),
            private: Vec::new(),
            earlier_private: Vec::new(),
        };
    }
    let mut planned = proposed.clone();
    apply_defaults_and_write_only(block, config, &mut planned);
    let creating = prior.is_null();
    let changed = creating || configured_values_differ(block, prior, &planned, config);
    if changed {
        mark_computed_unknown(block, prior, config, &mut planned, creating);
    }
    let requires_replace = if creating {
        Vec::new()
    } else {
        replaced_attributes(block, prior, &planned)
    };
    PlannedChange {
        planned,
        requires_replace,
        private: Vec::new(),
        earlier_private: Vec::new(),
    }
}

/// Fills in defaults for unset attributes and nulls write-only values, in nested blocks too.
fn apply_defaults_and_write_only(block: &Block, config: &Value, planned: &mut Value) {
    if !planned.is_known() || planned.is_null() {
        return;
    }
    for attribute in &block.attributes {
        let configured = config.attr(&attribute.name);
        if attribute.write_only {
            planned.set_attr(&attribute.name, Value::Null);
        } else if let Some(default) = &attribute.default
            && configured.is_null()
        {
            planned.set_attr(&attribute.name, default.clone());
        }
    }
    for nested in &block.blocks {
        let config_nested = config.attr(&nested.type_name);
        let Some(planned_nested) = planned.attr_mut(&nested.type_name) else {
            continue;
        };
        match nested.nesting {
            NestingMode::Single | NestingMode::Group => {
                apply_defaults_and_write_only(&nested.block, config_nested, planned_nested);
            }
            NestingMode::List | NestingMode::Set => {
                if let Value::List(items) | Value::Set(items) = planned_nested {
                    let config_items = config_nested.as_elements().unwrap_or(&[]);
                    for (i, item) in items.iter_mut().enumerate() {
                        let item_config = if nested.nesting == NestingMode::List {
                            config_items.get(i).unwrap_or(&Value::Null)
                        } else {
                            &Value::Null
                        };
                        apply_defaults_and_write_only(&nested.block, item_config, item);
                    }
                }
            }
            NestingMode::Map => {
                if let Value::Map(items) = planned_nested {
                    for (key, item) in items.iter_mut() {
                        let item_config = config_nested
                            .as_entries()
                            .and_then(|m| m.get(key))
                            .unwrap_or(&Value::Null);
                        apply_defaults_and_write_only(&nested.block, item_config, item);
                    }
                }
            }
        }
    }
}

/// Whether an attribute's value comes from the provider rather than from configuration.
fn provider_owned(attribute: &Attribute, config: &Value) -> bool {
    attribute.computed && config.attr(&attribute.name).is_null() && attribute.default.is_none()
}

/// Whether anything the user controls differs between prior and planned state.
fn configured_values_differ(block: &Block, prior: &Value, planned: &Value, config: &Value) -> bool {
    let attributes_differ = block.attributes.iter().any(|a| {
        !provider_owned(a, config)
            && !a.write_only
            && !planned
                .attr(&a.name)
                .semantically_equal(prior.attr(&a.name))
    });
    let blocks_differ = block.blocks.iter().any(|b| {
        !planned
            .attr(&b.type_name)
            .semantically_equal(prior.attr(&b.type_name))
    });
    attributes_differ || blocks_differ
}

/// Marks provider-owned attributes unknown, except those that keep their state.
fn mark_computed_unknown(
    block: &Block,
    prior: &Value,
    config: &Value,
    planned: &mut Value,
    creating: bool,
) {
    for attribute in &block.attributes {
        if !provider_owned(attribute, config) {
            continue;
        }
        let keep =
            attribute.use_state_for_unknown && !creating && !prior.attr(&attribute.name).is_null();
        if !keep {
            planned.set_attr(&attribute.name, Value::unknown());
        }
    }
    for nested in &block.blocks {
        let config_nested = config.attr(&nested.type_name);
        let prior_nested = prior.attr(&nested.type_name);
        let Some(planned_nested) = planned.attr_mut(&nested.type_name) else {
            continue;
        };
        match (nested.nesting, planned_nested) {
            (NestingMode::Single | NestingMode::Group, item)
                if item.is_known() && !item.is_null() =>
            {
                let item_creating = creating || prior_nested.is_null();
                mark_computed_unknown(
                    &nested.block,
                    prior_nested,
                    config_nested,
                    item,
                    item_creating,
                );
            }
            (NestingMode::List, Value::List(items)) => {
                let priors = prior_nested.as_elements().unwrap_or(&[]);
                let configs = config_nested.as_elements().unwrap_or(&[]);
                for (i, item) in items.iter_mut().enumerate() {
                    let item_prior = priors.get(i).unwrap_or(&Value::Null);
                    let item_config = configs.get(i).unwrap_or(&Value::Null);
                    mark_computed_unknown(
                        &nested.block,
                        item_prior,
                        item_config,
                        item,
                        item_prior.is_null(),
                    );
                }
            }
            _ => {}
        }
    }
}

/// The attributes marked `requires_replace` whose planned value differs from the prior one.
fn replaced_attributes(block: &Block, prior: &Value, planned: &Value) -> Vec<AttributePath> {
    block
        .attributes
        .iter()
        .filter(|a| a.requires_replace)
        .filter(|a| {
            !planned
                .attr(&a.name)
                .semantically_equal(prior.attr(&a.name))
        })
        .map(|a| AttributePath::root(&a.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::{Attribute, Type};

    fn block() -> Block {
        Block::new(
            "",
            vec![
                Attribute::required("path", Type::String).requires_replace(),
                Attribute::optional("content", Type::String),
                Attribute::optional("mode", Type::String).default_value("0644"),
                Attribute::optional("password", Type::String)
                    .sensitive()
                    .write_only(),
                Attribute::computed("id", Type::String).use_state_for_unknown(),
                Attribute::computed("sha256", Type::String),
            ],
        )
    }

    fn state(path: &str, content: &str) -> Value {
        Value::object([
            ("path", Value::from(path)),
            ("content", Value::from(content)),
            ("mode", Value::from("0644")),
            ("password", Value::Null),
            ("id", Value::from(format!("h:{path}"))),
            ("sha256", Value::from("abc")),
        ])
    }

    fn config(path: &str, content: &str) -> Value {
        Value::object([
            ("path", Value::from(path)),
            ("content", Value::from(content)),
            ("mode", Value::Null),
            ("password", Value::from("secret")),
            ("id", Value::Null),
            ("sha256", Value::Null),
        ])
    }

    #[test]
    fn create_marks_computed_unknown_fills_defaults_and_drops_write_only() {
        let cfg = config("/a", "x");
        let change = plan_resource_change(&block(), &Value::Null, &cfg, &cfg);
        let p = &change.planned;
        assert_eq!(p.attr("mode").as_str(), Some("0644"));
        assert!(p.attr("password").is_null());
        assert!(!p.attr("id").is_known());
        assert!(!p.attr("sha256").is_known());
        assert!(change.requires_replace.is_empty());
    }

    #[test]
    fn no_change_keeps_every_computed_value() {
        let prior = state("/a", "x");
        let mut proposed = prior.clone();
        proposed.set_attr("mode", Value::Null);
        let change = plan_resource_change(&block(), &prior, &proposed, &config("/a", "x"));
        assert_eq!(change.planned, prior);
    }

    #[test]
    fn an_update_marks_only_volatile_computed_values_unknown() {
        let prior = state("/a", "x");
        let mut proposed = prior.clone();
        proposed.set_attr("content", "y".into());
        let change = plan_resource_change(&block(), &prior, &proposed, &config("/a", "y"));
        assert!(!change.planned.attr("sha256").is_known());
        assert_eq!(change.planned.attr("id").as_str(), Some("h:/a"));
        assert!(change.requires_replace.is_empty());
    }

    #[test]
    fn changing_an_immutable_attribute_requires_replacement() {
        let prior = state("/a", "x");
        let mut proposed = prior.clone();
        proposed.set_attr("path", "/b".into());
        let change = plan_resource_change(&block(), &prior, &proposed, &config("/b", "x"));
        assert_eq!(change.requires_replace, vec![AttributePath::root("path")]);
    }

    #[test]
    fn destroy_plans_null() {
        let change = plan_resource_change(&block(), &state("/a", "x"), &Value::Null, &Value::Null);
        assert!(change.planned.is_null());
    }
}
