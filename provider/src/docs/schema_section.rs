//! The `## Schema` section of a page: arguments grouped as the registry shows them, with anchored nested sections.

use std::fmt::Write as _;

use crate::tf::schema::AttributeKind;
use crate::tf::{Attribute, Block, NestedBlock, NestingMode, ObjectType, Type};

/// A type written the way the registry pages show it: `String`, `List of String`, `Map of Bool`.
pub fn type_label(t: &Type) -> String {
    match t {
        Type::Bool => "Bool".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_label(e)),
        Type::Set(e) => format!("Set of {}", type_label(e)),
        Type::Map(e) => format!("Map of {}", type_label(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

/// The `## Schema` section of a block: its arguments grouped as Required, Optional and
/// Read-Only, then one anchored `Nested Schema` section per nested block, nested attribute or
/// object type, each placed right after the section that links to it.
pub fn render_schema(block: &Block) -> String {
    let mut out = String::from("## Schema\n");
    write_section(&mut out, block_entries(block), &[]);
    out
}

/// Where an argument sits in the schema lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Required,
    Optional,
    ReadOnly,
}

impl Group {
    const ALL: [Group; 3] = [Group::Required, Group::Optional, Group::ReadOnly];

    fn heading(self) -> &'static str {
        match self {
            Group::Required => "Required",
            Group::Optional => "Optional",
            Group::ReadOnly => "Read-Only",
        }
    }

    fn of(attribute: &Attribute) -> Group {
        if attribute.required {
            Group::Required
        } else if attribute.optional {
            Group::Optional
        } else {
            Group::ReadOnly
        }
    }
}

/// One line of a schema list, and what its nested section (if any) lists.
struct Entry<'a> {
    name: &'a str,
    group: Group,
    label: String,
    description: &'a str,
    nested: Option<Nested<'a>>,
}

/// The contents of a nested section.
enum Nested<'a> {
    Block(&'a Block),
    Attributes(&'a [Attribute]),
    /// An object type's attributes; in a read-only attribute they are all read-only.
    Object {
        object: &'a ObjectType,
        read_only: bool,
    },
}

impl<'a> Nested<'a> {
    fn anchor_kind(&self) -> &'static str {
        match self {
            Nested::Block(_) => "nestedblock",
            Nested::Attributes(_) | Nested::Object { .. } => "nestedatt",
        }
    }

    fn entries(&self) -> Vec<Entry<'a>> {
        match *self {
            Nested::Block(block) => block_entries(block),
            Nested::Attributes(attributes) => {
                sorted(attributes.iter().map(attribute_entry).collect())
            }
            Nested::Object { object, read_only } => object_entries(object, read_only),
        }
    }
}

fn write_section(out: &mut String, entries: Vec<Entry<'_>>, path: &[&str]) {
    let mut children = Vec::new();
    for group in Group::ALL {
        let mut members = entries.iter().filter(|e| e.group == group).peekable();
        if members.peek().is_none() {
            continue;
        }
        // The top level uses headings, nested sections plain labels, as the registry does.
        if path.is_empty() {
            let _ = write!(out, "\n### {}\n\n", group.heading());
        } else {
            let _ = write!(out, "\n{}:\n\n", group.heading());
        }
        for entry in members {
            let _ = write!(out, "- `{}` ({})", entry.name, entry.label);
            let description = entry.description.trim();
            if !description.is_empty() {
                let _ = write!(out, " {description}");
            }
            if let Some(nested) = &entry.nested {
                let mut child_path = path.to_vec();
                child_path.push(entry.name);
                let anchor = format!("{}--{}", nested.anchor_kind(), child_path.join("--"));
                let _ = write!(out, " (see [below for nested schema](#{anchor}))");
                children.push((anchor, child_path, nested));
            }
            out.push('\n');
        }
    }
    for (anchor, child_path, nested) in children {
        let _ = write!(
            out,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{}`\n",
            child_path.join(".")
        );
        write_section(out, nested.entries(), &child_path);
    }
}

fn sorted(mut entries: Vec<Entry<'_>>) -> Vec<Entry<'_>> {
    entries.sort_by(|a, b| a.name.cmp(b.name));
    entries
}

fn block_entries(block: &Block) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry<'_>> = block.attributes.iter().map(attribute_entry).collect();
    entries.extend(block.blocks.iter().map(block_entry));
    sorted(entries)
}

fn attribute_entry(attribute: &Attribute) -> Entry<'_> {
    let group = Group::of(attribute);
    let (mut label, nested) = match &attribute.kind {
        AttributeKind::Type(t) => (
            type_label(t),
            object_inside(t).map(|object| Nested::Object {
                object,
                read_only: group == Group::ReadOnly,
            }),
        ),
        AttributeKind::Nested {
            nesting,
            attributes,
        } => {
            let label = match nesting {
                NestingMode::Single | NestingMode::Group => "Attributes",
                NestingMode::List => "Attributes List",
                NestingMode::Set => "Attributes Set",
                NestingMode::Map => "Attributes Map",
            };
            (label.to_owned(), Some(Nested::Attributes(attributes)))
        }
    };
    for (flag, word) in [
        (attribute.sensitive, "Sensitive"),
        (attribute.write_only, "Write-only"),
        (attribute.deprecated, "Deprecated"),
    ] {
        if flag {
            let _ = write!(label, ", {word}");
        }
    }
    Entry {
        name: &attribute.name,
        group,
        label,
        description: &attribute.description,
        nested,
    }
}

fn block_entry(nested: &NestedBlock) -> Entry<'_> {
    let group = if nested.min_items > 0 {
        Group::Required
    } else if only_computed(&nested.block) {
        Group::ReadOnly
    } else {
        Group::Optional
    };
    let mut label = match nested.nesting {
        // A single block has no item counts to show, so it says whether it may be left out.
        NestingMode::Single | NestingMode::Group => match group {
            Group::Required => "Block, Required".to_owned(),
            Group::Optional => "Block, Optional".to_owned(),
            Group::ReadOnly => "Block, Read-only".to_owned(),
        },
        NestingMode::List => "Block List".to_owned(),
        NestingMode::Set => "Block Set".to_owned(),
        NestingMode::Map => "Block Map".to_owned(),
    };
    if !matches!(nested.nesting, NestingMode::Single | NestingMode::Group) {
        if nested.min_items > 0 {
            let _ = write!(label, ", Min: {}", nested.min_items);
        }
        if nested.max_items > 0 {
            let _ = write!(label, ", Max: {}", nested.max_items);
        }
    }
    if nested.block.deprecated {
        label.push_str(", Deprecated");
    }
    Entry {
        name: &nested.type_name,
        group,
        label,
        description: &nested.block.description,
        nested: Some(Nested::Block(&nested.block)),
    }
}

/// Whether a block holds only values the provider sets (and holds something).
fn only_computed(block: &Block) -> bool {
    (!block.attributes.is_empty() || !block.blocks.is_empty())
        && block
            .attributes
            .iter()
            .all(|a| Group::of(a) == Group::ReadOnly)
        && block
            .blocks
            .iter()
            .all(|b| b.min_items == 0 && only_computed(&b.block))
}

fn object_entries(object: &ObjectType, read_only: bool) -> Vec<Entry<'_>> {
    // A BTreeMap, so already sorted by name.
    object
        .attributes
        .iter()
        .map(|(name, t)| Entry {
            name,
            group: if read_only {
                Group::ReadOnly
            } else if object.optional.contains(name) {
                Group::Optional
            } else {
                Group::Required
            },
            label: type_label(t),
            description: "",
            nested: object_inside(t).map(|inner| Nested::Object {
                object: inner,
                read_only,
            }),
        })
        .collect()
}

/// The object type a type is or holds, whose attributes then get a nested section.
fn object_inside(t: &Type) -> Option<&ObjectType> {
    match t {
        Type::Object(object) => Some(object),
        Type::List(e) | Type::Set(e) | Type::Map(e) => object_inside(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_print_as_terraform_users_write_them() {
        assert_eq!(type_label(&Type::String), "String");
        assert_eq!(type_label(&Type::Number), "Number");
        assert_eq!(type_label(&Type::Bool), "Bool");
        assert_eq!(type_label(&Type::list(Type::String)), "List of String");
        assert_eq!(type_label(&Type::map(Type::String)), "Map of String");
        assert_eq!(
            type_label(&Type::set(Type::object([("a", Type::Bool)]))),
            "Set of Object"
        );
        assert_eq!(
            type_label(&Type::list(Type::list(Type::Number))),
            "List of List of Number"
        );
    }

    #[test]
    fn arguments_are_grouped_then_sorted_and_empty_groups_left_out() {
        let block = Block::new(
            "",
            vec![
                Attribute::computed("id", Type::String).describe("The ID."),
                Attribute::required("path", Type::String).describe("The path."),
                Attribute::required("host", Type::String).describe("The host."),
                Attribute::optional_computed("mode", Type::String).describe("The mode."),
            ],
        );
        assert_eq!(
            render_schema(&block),
            "## Schema\n\n\
             ### Required\n\n\
             - `host` (String) The host.\n\
             - `path` (String) The path.\n\n\
             ### Optional\n\n\
             - `mode` (String) The mode.\n\n\
             ### Read-Only\n\n\
             - `id` (String) The ID.\n"
        );
        let only_computed = Block::new("", vec![Attribute::computed("ip", Type::String)]);
        assert_eq!(
            render_schema(&only_computed),
            "## Schema\n\n### Read-Only\n\n- `ip` (String)\n"
        );
    }

    #[test]
    fn sensitive_write_only_and_deprecated_flags_are_shown() {
        let block = Block::new(
            "",
            vec![
                Attribute::optional("password", Type::String)
                    .sensitive()
                    .write_only()
                    .describe("The MD5 password."),
                Attribute::optional("key", Type::String)
                    .sensitive()
                    .describe("A key."),
                Attribute::optional("old", Type::Bool)
                    .deprecated()
                    .describe("Use `new`."),
            ],
        );
        let text = render_schema(&block);
        assert!(
            text.contains("- `password` (String, Sensitive, Write-only) The MD5 password.\n"),
            "{text}"
        );
        assert!(
            text.contains("- `key` (String, Sensitive) A key.\n"),
            "{text}"
        );
        assert!(
            text.contains("- `old` (Bool, Deprecated) Use `new`.\n"),
            "{text}"
        );
    }

    #[test]
    fn nested_blocks_get_anchored_sections_right_after_their_parent() {
        let peer = Block::new(
            "A peer.",
            vec![Attribute::required("address", Type::String)],
        )
        .with_block(NestedBlock::single(
            "timers",
            Block::new(
                "BGP timers.",
                vec![Attribute::optional("hold", Type::Number)],
            ),
        ));
        let mut peers = NestedBlock::list("peer", peer);
        peers.min_items = 1;
        peers.max_items = 4;
        let block = Block::new("", vec![Attribute::required("host", Type::String)])
            .with_block(peers)
            .with_block(NestedBlock::single(
                "ssh",
                Block::new(
                    "SSH overrides.",
                    vec![Attribute::optional("user", Type::String)],
                ),
            ));
        assert_eq!(
            render_schema(&block),
            "## Schema\n\n\
             ### Required\n\n\
             - `host` (String)\n\
             - `peer` (Block List, Min: 1, Max: 4) A peer. (see [below for nested schema](#nestedblock--peer))\n\n\
             ### Optional\n\n\
             - `ssh` (Block, Optional) SSH overrides. (see [below for nested schema](#nestedblock--ssh))\n\n\
             <a id=\"nestedblock--peer\"></a>\n\
             ### Nested Schema for `peer`\n\n\
             Required:\n\n\
             - `address` (String)\n\n\
             Optional:\n\n\
             - `timers` (Block, Optional) BGP timers. (see [below for nested schema](#nestedblock--peer--timers))\n\n\
             <a id=\"nestedblock--peer--timers\"></a>\n\
             ### Nested Schema for `peer.timers`\n\n\
             Optional:\n\n\
             - `hold` (Number)\n\n\
             <a id=\"nestedblock--ssh\"></a>\n\
             ### Nested Schema for `ssh`\n\n\
             Optional:\n\n\
             - `user` (String)\n"
        );
    }

    #[test]
    fn nested_attributes_and_object_types_list_their_members() {
        let block = Block::new(
            "",
            vec![
                Attribute::nested(
                    "rules",
                    NestingMode::Set,
                    vec![
                        Attribute::required("client", Type::String).describe("Who may mount."),
                        Attribute::optional("options", Type::list(Type::String)),
                    ],
                )
                .make_optional()
                .describe("Export rules."),
                Attribute::computed(
                    "sessions",
                    Type::list(Type::object([("peer", Type::String), ("up", Type::Bool)])),
                )
                .describe("Live sessions."),
            ],
        );
        let text = render_schema(&block);
        assert!(
            text.contains(
                "- `rules` (Attributes Set) Export rules. (see [below for nested schema](#nestedatt--rules))\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("<a id=\"nestedatt--rules\"></a>\n### Nested Schema for `rules`\n\nRequired:\n\n- `client` (String) Who may mount.\n\nOptional:\n\n- `options` (List of String)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "- `sessions` (List of Object) Live sessions. (see [below for nested schema](#nestedatt--sessions))\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("### Nested Schema for `sessions`\n\nRead-Only:\n\n- `peer` (String)\n- `up` (Bool)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_block_of_provider_set_values_is_read_only() {
        let block = Block::new("", vec![]).with_block(NestedBlock::list(
            "status",
            Block::new(
                "What the host reports.",
                vec![Attribute::computed("state", Type::String)],
            ),
        ));
        let text = render_schema(&block);
        assert!(
            text.contains("### Read-Only\n\n- `status` (Block List) What the host reports."),
            "{text}"
        );
    }
}
