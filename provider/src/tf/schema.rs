//! Schemas: attributes, nested attributes and nested blocks, with the rules Terraform core checks.

use std::collections::BTreeSet;

use super::types::{ObjectType, Type};
use super::value::Value;

/// A versioned schema for a provider, resource, data source or ephemeral resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Bumped when stored state needs upgrading.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A block: attributes and nested blocks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Block {
    /// The block's attributes.
    pub attributes: Vec<Attribute>,
    /// The block's nested blocks.
    pub blocks: Vec<NestedBlock>,
    /// Markdown description; it is the documentation.
    pub description: String,
    /// Whether the whole block is deprecated.
    pub deprecated: bool,
}

/// How a nested block or nested attribute repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestingMode {
    /// At most one, null when absent.
    Single,
    /// Exactly one, all attributes null when absent.
    Group,
    /// An ordered list.
    List,
    /// An unordered set.
    Set,
    /// A map keyed by label.
    Map,
}

/// A nested block.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    /// The block's type name, as written in configuration.
    pub type_name: String,
    /// What the block contains.
    pub block: Block,
    /// How it repeats.
    pub nesting: NestingMode,
    /// The least number of blocks (list and set only).
    pub min_items: i64,
    /// The most blocks, 0 for no limit (list and set only).
    pub max_items: i64,
}

/// The shape of an attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeKind {
    /// A value of a cty type.
    Type(Type),
    /// Nested attributes with their own flags.
    Nested {
        /// How the nested object repeats.
        nesting: NestingMode,
        /// The nested attributes.
        attributes: Vec<Attribute>,
    },
}

/// One attribute and its flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute's name.
    pub name: String,
    /// Its type or nested attributes.
    pub kind: AttributeKind,
    /// Markdown description; it is the documentation.
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// The provider may set it.
    pub computed: bool,
    /// Hidden in plan output.
    pub sensitive: bool,
    /// Never stored in plan or state.
    pub write_only: bool,
    /// For a write-only attribute: what to use instead on a client without write-only
    /// attributes (one or two sentences), shown when such a client sets it.
    pub write_only_alternative: Option<String>,
    /// Deprecated.
    pub deprecated: bool,
    /// A change of this attribute replaces the object (plan rule, not sent to Terraform).
    pub requires_replace: bool,
    /// A computed value that only the provider changes keeps its prior value in plans
    /// instead of turning unknown (plan rule).
    pub use_state_for_unknown: bool,
    /// The value planned when configuration leaves the attribute unset (needs `computed`).
    pub default: Option<Value>,
}

impl Attribute {
    fn new(name: &str, kind: AttributeKind) -> Attribute {
        Attribute {
            name: name.to_owned(),
            kind,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            write_only_alternative: None,
            deprecated: false,
            requires_replace: false,
            use_state_for_unknown: false,
            default: None,
        }
    }

    /// A required attribute of type `t`.
    pub fn required(name: &str, t: Type) -> Attribute {
        Attribute {
            required: true,
            ..Attribute::new(name, AttributeKind::Type(t))
        }
    }

    /// An optional attribute of type `t`.
    pub fn optional(name: &str, t: Type) -> Attribute {
        Attribute {
            optional: true,
            ..Attribute::new(name, AttributeKind::Type(t))
        }
    }

    /// A computed-only attribute of type `t`.
    pub fn computed(name: &str, t: Type) -> Attribute {
        Attribute {
            computed: true,
            ..Attribute::new(name, AttributeKind::Type(t))
        }
    }

    /// An optional attribute the provider fills in when unset.
    pub fn optional_computed(name: &str, t: Type) -> Attribute {
        Attribute {
            optional: true,
            computed: true,
            ..Attribute::new(name, AttributeKind::Type(t))
        }
    }

    /// An attribute made of nested attributes.
    pub fn nested(name: &str, nesting: NestingMode, attributes: Vec<Attribute>) -> Attribute {
        Attribute::new(
            name,
            AttributeKind::Nested {
                nesting,
                attributes,
            },
        )
    }

    /// Sets the description.
    pub fn describe(mut self, description: &str) -> Attribute {
        self.description = description.to_owned();
        self
    }

    /// Marks it sensitive.
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }

    /// Marks it write-only.
    pub fn write_only(mut self) -> Attribute {
        self.write_only = true;
        self
    }

    /// Says what to use instead of this write-only attribute on a client without write-only
    /// attributes (Terraform or OpenTofu before v1.11).
    pub fn write_only_alternative(mut self, instead: &str) -> Attribute {
        self.write_only_alternative = Some(instead.to_owned());
        self
    }

    /// Marks it deprecated.
    pub fn deprecated(mut self) -> Attribute {
        self.deprecated = true;
        self
    }

    /// A change replaces the object.
    pub fn requires_replace(mut self) -> Attribute {
        self.requires_replace = true;
        self
    }

    /// Keeps the prior value in plans until the provider itself changes it.
    pub fn use_state_for_unknown(mut self) -> Attribute {
        self.use_state_for_unknown = true;
        self
    }

    /// Plans this value when configuration leaves the attribute unset; makes the attribute
    /// optional and computed, as Terraform requires for a provider-set default.
    pub fn default_value(mut self, value: impl Into<Value>) -> Attribute {
        self.default = Some(value.into());
        self.optional = true;
        self.required = false;
        self.computed = true;
        self
    }

    /// Makes a nested attribute optional.
    pub fn make_optional(mut self) -> Attribute {
        self.optional = true;
        self
    }

    /// The value type the attribute has.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeKind::Type(t) => t.clone(),
            AttributeKind::Nested {
                nesting,
                attributes,
            } => {
                let object = Type::Object(ObjectType {
                    attributes: attributes
                        .iter()
                        .map(|a| (a.name.clone(), a.value_type()))
                        .collect(),
                    optional: attributes
                        .iter()
                        .filter(|a| !a.required)
                        .map(|a| a.name.clone())
                        .collect(),
                });
                wrap(object, *nesting)
            }
        }
    }
}

fn wrap(object: Type, nesting: NestingMode) -> Type {
    match nesting {
        NestingMode::Single | NestingMode::Group => object,
        NestingMode::List => Type::list(object),
        NestingMode::Set => Type::set(object),
        NestingMode::Map => Type::map(object),
    }
}

impl NestedBlock {
    /// A block that appears at most once.
    pub fn single(type_name: &str, block: Block) -> NestedBlock {
        NestedBlock {
            type_name: type_name.to_owned(),
            block,
            nesting: NestingMode::Single,
            min_items: 0,
            max_items: 0,
        }
    }

    /// A block that repeats as a list.
    pub fn list(type_name: &str, block: Block) -> NestedBlock {
        NestedBlock {
            nesting: NestingMode::List,
            ..NestedBlock::single(type_name, block)
        }
    }

    /// A block that repeats as a set.
    pub fn set(type_name: &str, block: Block) -> NestedBlock {
        NestedBlock {
            nesting: NestingMode::Set,
            ..NestedBlock::single(type_name, block)
        }
    }
}

impl Block {
    /// A block with these attributes and no nested blocks.
    pub fn new(description: &str, attributes: Vec<Attribute>) -> Block {
        Block {
            attributes,
            blocks: Vec::new(),
            description: description.to_owned(),
            deprecated: false,
        }
    }

    /// A value of this block with every attribute and nested block null: where an imported
    /// state starts before the resource fills in its identifying attributes.
    pub fn null_value(&self) -> Value {
        let attributes = self.attributes.iter().map(|a| a.name.clone());
        let blocks = self.blocks.iter().map(|b| b.type_name.clone());
        Value::object(attributes.chain(blocks).map(|name| (name, Value::Null)))
    }

    /// Adds a nested block.
    pub fn with_block(mut self, block: NestedBlock) -> Block {
        self.blocks.push(block);
        self
    }

    /// The object type a value of this block has.
    pub fn value_type(&self) -> Type {
        let mut attributes: std::collections::BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.value_type()))
            .collect();
        for b in &self.blocks {
            attributes.insert(b.type_name.clone(), wrap(b.block.value_type(), b.nesting));
        }
        Type::Object(ObjectType {
            attributes,
            optional: BTreeSet::new(),
        })
    }

    /// An attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// A nested block by type name.
    pub fn nested_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.type_name == name)
    }

    /// Checks the rules Terraform core applies to provider schemas (configschema's
    /// InternalValidate), returning one message per broken rule.
    pub fn validity_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        self.collect_validity_errors("", &mut errors);
        errors
    }

    fn collect_validity_errors(&self, prefix: &str, errors: &mut Vec<String>) {
        let mut names = BTreeSet::new();
        for a in &self.attributes {
            let name = format!("{prefix}{}", a.name);
            if !names.insert(a.name.clone()) {
                errors.push(format!("{name}: name defined more than once"));
            }
            check_attribute(a, &name, errors);
        }
        for b in &self.blocks {
            let name = format!("{prefix}{}", b.type_name);
            if !valid_name(&b.type_name) {
                errors.push(format!(
                    "{name}: name may contain only lowercase letters, digits and underscores"
                ));
            }
            if !names.insert(b.type_name.clone()) {
                errors.push(format!("{name}: name defined more than once"));
            }
            match b.nesting {
                NestingMode::Single => {
                    if b.min_items != b.max_items || !(0..=1).contains(&b.min_items) {
                        errors.push(format!("{name}: MinItems and MaxItems must both be 0 or both be 1 in NestingSingle mode"));
                    }
                }
                NestingMode::Group => {
                    if b.min_items != 0 || b.max_items != 0 {
                        errors.push(format!(
                            "{name}: MinItems and MaxItems cannot be used in NestingGroup mode"
                        ));
                    }
                }
                NestingMode::List | NestingMode::Set => {
                    if b.min_items < 0 || b.max_items < 0 {
                        errors.push(format!(
                            "{name}: MinItems and MaxItems must not be negative"
                        ));
                    }
                    if b.max_items != 0 && b.min_items > b.max_items {
                        errors.push(format!(
                            "{name}: MinItems must be less than or equal to MaxItems"
                        ));
                    }
                    if b.nesting == NestingMode::Set && has_dynamic(&b.block.value_type()) {
                        errors.push(format!(
                            "{name}: NestingSet blocks may not contain dynamic attributes"
                        ));
                    }
                }
                NestingMode::Map => {
                    if b.min_items != 0 || b.max_items != 0 {
                        errors.push(format!(
                            "{name}: MinItems and MaxItems must both be 0 in NestingMap mode"
                        ));
                    }
                }
            }
            b.block.collect_validity_errors(&format!("{name}."), errors);
        }
    }
}

fn check_attribute(a: &Attribute, name: &str, errors: &mut Vec<String>) {
    if !valid_name(&a.name) {
        errors.push(format!(
            "{name}: name may contain only lowercase letters, digits and underscores"
        ));
    }
    if !a.optional && !a.required && !a.computed {
        errors.push(format!("{name}: must set Optional, Required or Computed"));
    }
    if a.optional && a.required {
        errors.push(format!("{name}: cannot set both Optional and Required"));
    }
    if a.computed && a.required {
        errors.push(format!("{name}: cannot set both Computed and Required"));
    }
    if a.default.is_some() && !a.computed {
        errors.push(format!(
            "{name}: an attribute with a default must be computed"
        ));
    }
    if a.write_only && a.computed {
        errors.push(format!("{name}: write-only attributes cannot be computed"));
    }
    if let AttributeKind::Nested {
        nesting,
        attributes,
    } = &a.kind
    {
        if *nesting == NestingMode::Group {
            errors.push(format!("{name}: nested attributes cannot use NestingGroup"));
        }
        for inner in attributes {
            check_attribute(inner, &format!("{name}.{}", inner.name), errors);
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn has_dynamic(t: &Type) -> bool {
    match t {
        Type::Dynamic => true,
        Type::List(e) | Type::Set(e) | Type::Map(e) => has_dynamic(e),
        Type::Object(o) => o.attributes.values().any(has_dynamic),
        Type::Tuple(v) => v.iter().any(has_dynamic),
        _ => false,
    }
}

/// A resource type's identity: the few attributes that name one object, which Terraform
/// (v1.12 on) stores beside the state and can import by instead of an ID string.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentitySchema {
    /// Bumped when stored identities need upgrading.
    pub version: i64,
    /// The identity's attributes.
    pub attributes: Vec<IdentityAttribute>,
}

/// One attribute of a resource identity.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityAttribute {
    /// The attribute's name.
    pub name: String,
    /// Its type.
    pub value_type: Type,
    /// Whether an import by identity must set it.
    pub required_for_import: bool,
    /// Markdown description.
    pub description: String,
}

impl IdentityAttribute {
    /// An attribute an import by identity must set.
    pub fn required(name: &str, value_type: Type, description: &str) -> IdentityAttribute {
        IdentityAttribute {
            name: name.to_owned(),
            value_type,
            required_for_import: true,
            description: description.to_owned(),
        }
    }
}

impl IdentitySchema {
    /// The object type an identity value has.
    pub fn value_type(&self) -> Type {
        Type::Object(ObjectType {
            attributes: self
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.value_type.clone()))
                .collect(),
            optional: BTreeSet::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_value_type_includes_nested_blocks() {
        let b = Block::new("", vec![Attribute::required("host", Type::String)]).with_block(
            NestedBlock::list(
                "rule",
                Block::new("", vec![Attribute::optional("x", Type::Number)]),
            ),
        );
        assert_eq!(
            b.value_type(),
            Type::object([
                ("host", Type::String),
                ("rule", Type::list(Type::object([("x", Type::Number)]))),
            ])
        );
    }

    #[test]
    fn validity_rules_catch_bad_flags_and_names() {
        let mut both = Attribute::required("a", Type::String);
        both.optional = true;
        let none = Attribute {
            required: false,
            ..Attribute::required("Bad-Name", Type::String)
        };
        let b = Block::new("", vec![both, none, Attribute::computed("a", Type::String)]);
        let errors = b.validity_errors();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("both Optional and Required")),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.contains("lowercase")), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("Optional, Required or Computed")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("more than once")),
            "{errors:?}"
        );
    }
}
