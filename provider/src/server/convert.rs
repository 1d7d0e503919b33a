//! Conversions between protocol messages and the typed values of `tf`: the only place that
//! knows both.

use tfplugin_proto::tfplugin6 as pb;

use crate::tf::schema::AttributeKind;
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, NestingMode, PathStep,
    Schema, Severity, Type, Value, json, msgpack,
};

/// A schema as the protocol carries it.
pub(crate) fn schema_to_proto(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(block_to_proto(&schema.block, schema.version)),
    }
}

fn block_to_proto(block: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: block.attributes.iter().map(attribute_to_proto).collect(),
        block_types: block.blocks.iter().map(nested_block_to_proto).collect(),
        description: block.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: block.deprecated,
        ..Default::default()
    }
}

fn attribute_to_proto(attribute: &Attribute) -> pb::schema::Attribute {
    let (r#type, nested_type) = match &attribute.kind {
        AttributeKind::Type(t) => (t.to_json_bytes(), None),
        AttributeKind::Nested {
            nesting,
            attributes,
        } => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: attributes.iter().map(attribute_to_proto).collect(),
                nesting: object_nesting(*nesting) as i32,
                ..Default::default()
            }),
        ),
    };
    pb::schema::Attribute {
        name: attribute.name.clone(),
        r#type,
        nested_type,
        description: attribute.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        required: attribute.required,
        optional: attribute.optional,
        computed: attribute.computed,
        sensitive: attribute.sensitive,
        deprecated: attribute.deprecated,
        write_only: attribute.write_only,
        ..Default::default()
    }
}

fn nested_block_to_proto(nested: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode as Mode;
    let nesting = match nested.nesting {
        NestingMode::Single => Mode::Single,
        NestingMode::Group => Mode::Group,
        NestingMode::List => Mode::List,
        NestingMode::Set => Mode::Set,
        NestingMode::Map => Mode::Map,
    };
    pb::schema::NestedBlock {
        type_name: nested.type_name.clone(),
        block: Some(block_to_proto(&nested.block, 0)),
        nesting: nesting as i32,
        min_items: nested.min_items,
        max_items: nested.max_items,
    }
}

fn object_nesting(nesting: NestingMode) -> pb::schema::object::NestingMode {
    use pb::schema::object::NestingMode as Mode;
    match nesting {
        NestingMode::Single | NestingMode::Group => Mode::Single,
        NestingMode::List => Mode::List,
        NestingMode::Set => Mode::Set,
        NestingMode::Map => Mode::Map,
    }
}

/// Diagnostics as the protocol carries them.
pub(crate) fn diagnostics_to_proto(diagnostics: &Diagnostics) -> Vec<pb::Diagnostic> {
    diagnostics.iter().map(diagnostic_to_proto).collect()
}

fn diagnostic_to_proto(diagnostic: &Diagnostic) -> pb::Diagnostic {
    let severity = match diagnostic.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    pb::Diagnostic {
        severity: severity as i32,
        summary: diagnostic.summary.clone(),
        detail: diagnostic.detail.clone(),
        attribute: diagnostic.attribute.as_ref().map(path_to_proto),
    }
}

/// An attribute path as the protocol carries it.
pub(crate) fn path_to_proto(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: path
            .0
            .iter()
            .map(|step| pb::attribute_path::Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                    PathStep::ElementKeyString(key) => Selector::ElementKeyString(key.clone()),
                    PathStep::ElementKeyInt(index) => Selector::ElementKeyInt(*index),
                }),
            })
            .collect(),
    }
}

/// Decodes a dynamic value against the type it must have. An absent value is null, which is
/// what Terraform means when it leaves the field out (prior state on create, for instance).
pub(crate) fn decode_value(
    value: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
) -> Result<Value, Diagnostics> {
    let Some(value) = value else {
        return Ok(Value::Null);
    };
    let decoded = if !value.msgpack.is_empty() {
        msgpack::decode(&value.msgpack, ty).map_err(|e| e.to_string())
    } else if !value.json.is_empty() {
        json::decode(&value.json, ty).map_err(|e| e.to_string())
    } else {
        Ok(Value::Null)
    };
    decoded.map_err(|e| {
        Diagnostic::error(
            "Malformed value from Terraform",
            format!("The provider could not decode the {what}: {e}"),
        )
        .into()
    })
}

/// Encodes a value for Terraform as msgpack.
pub(crate) fn encode_value(
    value: &Value,
    ty: &Type,
    what: &str,
) -> Result<pb::DynamicValue, Diagnostics> {
    msgpack::encode(value, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                "Provider bug: value does not match its schema",
                format!("The provider could not encode the {what}: {e}. Please report this."),
            )
            .into()
        })
}

/// Encodes a state for Terraform as JSON, the form of its state file. Used for ReadResource:
/// Terraform's refresh-only mode decides whether the refresh changed anything by comparing
/// the refreshed objects with those decoded from the state file using Go's `reflect.DeepEqual`
/// on cty values, which tells a msgpack integer (a 64-bit `big.Float`) from the same number
/// parsed from JSON (512 bits). With msgpack, every resource with a number attribute would
/// make `plan -refresh-only -detailed-exitcode` report changes after a refresh that found none.
/// States hold no unknown values, so JSON can carry them.
pub(crate) fn encode_state_as_json(
    value: &Value,
    ty: &Type,
    what: &str,
) -> Result<pb::DynamicValue, Diagnostics> {
    json::encode(value, ty)
        .map(|json| pb::DynamicValue {
            msgpack: Vec::new(),
            json,
        })
        .map_err(|e| {
            Diagnostic::error(
                "Provider bug: value does not match its schema",
                format!("The provider could not encode the {what}: {e}. Please report this."),
            )
            .into()
        })
}

/// The diagnostic for a type name this provider does not have.
pub(crate) fn unknown_type(kind: &str, type_name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type named {type_name:?}."),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_carry_flags_types_and_markdown_descriptions() {
        let schema = Schema {
            version: 2,
            block: Block::new(
                "d",
                vec![
                    Attribute::optional("secret", Type::String)
                        .sensitive()
                        .write_only()
                        .describe("s"),
                ],
            )
            .with_block(NestedBlock::list("rule", Block::new("r", vec![]))),
        };
        let proto = schema_to_proto(&schema);
        let block = proto.block.unwrap();
        assert_eq!(block.version, 2);
        let attribute = &block.attributes[0];
        assert!(attribute.sensitive && attribute.write_only && attribute.optional);
        assert_eq!(attribute.r#type, br#""string""#);
        assert_eq!(attribute.description_kind, pb::StringKind::Markdown as i32);
        assert_eq!(
            block.block_types[0].nesting,
            pb::schema::nested_block::NestingMode::List as i32
        );
    }

    #[test]
    fn paths_keep_every_step() {
        let proto = path_to_proto(&AttributePath::root("a").key("k").index(3));
        assert_eq!(proto.steps.len(), 3);
    }

    #[test]
    fn garbage_from_terraform_is_a_diagnostic_not_a_panic() {
        let garbage = pb::DynamicValue {
            msgpack: vec![0xc1, 0xff, 0x00],
            json: Vec::new(),
        };
        let error = decode_value(Some(&garbage), &Type::String, "config").unwrap_err();
        assert!(error.has_errors());
    }
}
