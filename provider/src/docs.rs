//! Registry-style documentation pages rendered from the schemas and the examples, so nothing is written twice.
//!
//! The layout is the Terraform registry's: `index.md` for the provider, then
//! `resources/<stem>.md`, `data-sources/<stem>.md` and `ephemeral-resources/<stem>.md`, where
//! the stem is the type name without `homelab_`. Everything here is pure: examples come in
//! through a lookup function and pages go out as strings; the `docs_fresh` test reads the
//! examples, compares the pages with `docs/` and rewrites them on request.

mod schema_section;

use std::fmt::Write as _;

pub use schema_section::{render_schema, type_label};

use crate::registry::Registry;
use crate::tf::{Block, Schema};

/// The provider's name, as in `provider "homelab"` and in every page title.
pub const PROVIDER_NAME: &str = "homelab";

/// The provider example, relative to `examples/`.
pub const PROVIDER_EXAMPLE: &str = "provider/provider.tf";

/// Folders under `docs/` whose pages are all generated (`guides/` is hand-written and is not one).
pub const GENERATED_FOLDERS: [&str; 3] = ["resources", "data-sources", "ephemeral-resources"];

/// What a page documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A managed resource.
    Resource,
    /// A data source.
    DataSource,
    /// An ephemeral resource.
    EphemeralResource,
}

impl Kind {
    /// The words used in page titles, e.g. `Data Source`.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::EphemeralResource => "Ephemeral Resource",
        }
    }

    /// The folder of this kind under both `docs/` and `examples/`.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::EphemeralResource => "ephemeral-resources",
        }
    }

    fn example_file(self) -> &'static str {
        match self {
            Kind::Resource => "resource.tf",
            Kind::DataSource => "data-source.tf",
            Kind::EphemeralResource => "ephemeral-resource.tf",
        }
    }
}

/// One generated page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Path relative to `docs/`, with `/` separators, e.g. `resources/nfs_export.md`.
    pub path: String,
    /// The Markdown text, ending with one newline.
    pub content: String,
}

/// The stem shared by a type's source file, tests and page: the type name without `homelab_`.
pub fn stem(type_name: &str) -> &str {
    type_name
        .strip_prefix(PROVIDER_NAME)
        .and_then(|rest| rest.strip_prefix('_'))
        .unwrap_or(type_name)
}

/// A type's page, relative to `docs/`, e.g. `resources/nfs_export.md`.
pub fn page_path(kind: Kind, type_name: &str) -> String {
    format!("{}/{}.md", kind.folder(), stem(type_name))
}

/// A type's HCL example, relative to `examples/`, e.g. `resources/homelab_nfs_export/resource.tf`.
pub fn example_path(kind: Kind, type_name: &str) -> String {
    format!("{}/{type_name}/{}", kind.folder(), kind.example_file())
}

/// A resource's import example, relative to `examples/`.
pub fn import_path(type_name: &str) -> String {
    format!("{}/{type_name}/import.sh", Kind::Resource.folder())
}

/// The examples the registry's contract requires, relative to `examples/`: the provider
/// example, `resource.tf` and `import.sh` for every resource, `data-source.tf` for every data
/// source. Ephemeral resources may have an example but need not.
pub fn required_examples(registry: &Registry) -> Vec<String> {
    let mut paths = vec![PROVIDER_EXAMPLE.to_owned()];
    for resource in &registry.resources {
        paths.push(example_path(Kind::Resource, resource.type_name()));
        paths.push(import_path(resource.type_name()));
    }
    for data_source in &registry.data_sources {
        paths.push(example_path(Kind::DataSource, data_source.type_name()));
    }
    paths
}

/// Every generated page of the provider as it ships: `index.md`, then one page per resource,
/// data source and ephemeral resource, each group sorted by type name.
///
/// `examples` is given a path relative to the workspace's `examples/` folder (such as
/// `resources/homelab_file/resource.tf`) and returns the file's text, or `None` when it does not
/// exist; a page whose example is missing simply has no example section. Paths in the result are
/// relative to `docs/`.
pub fn render_all(examples: &dyn Fn(&str) -> Option<String>) -> Vec<Page> {
    render_registry(
        &crate::config::provider_schema(),
        &Registry::all(),
        examples,
    )
}

/// The pages for a given provider schema and registry; see [`render_all`].
pub fn render_registry(
    provider: &Schema,
    registry: &Registry,
    examples: &dyn Fn(&str) -> Option<String>,
) -> Vec<Page> {
    let mut pages = vec![Page {
        path: "index.md".to_owned(),
        content: render_provider_page(provider, examples(PROVIDER_EXAMPLE).as_deref()),
    }];
    let mut types: Vec<(Kind, &str, Schema)> = Vec::new();
    let mut add = |kind: Kind, mut group: Vec<(&'static str, Schema)>| {
        group.sort_by(|a, b| a.0.cmp(b.0));
        types.extend(group.into_iter().map(|(name, schema)| (kind, name, schema)));
    };
    add(
        Kind::Resource,
        registry
            .resources
            .iter()
            .map(|r| (r.type_name(), r.schema()))
            .collect(),
    );
    add(
        Kind::DataSource,
        registry
            .data_sources
            .iter()
            .map(|d| (d.type_name(), d.schema()))
            .collect(),
    );
    add(
        Kind::EphemeralResource,
        registry
            .ephemeral_resources
            .iter()
            .map(|e| (e.type_name(), e.schema()))
            .collect(),
    );
    for (kind, type_name, schema) in types {
        let example = examples(&example_path(kind, type_name));
        let import = match kind {
            Kind::Resource => examples(&import_path(type_name)),
            Kind::DataSource | Kind::EphemeralResource => None,
        };
        pages.push(Page {
            path: page_path(kind, type_name),
            content: render_type_page(
                kind,
                type_name,
                &schema,
                example.as_deref(),
                import.as_deref(),
            ),
        });
    }
    pages
}

/// The provider's `index.md`: description, example provider block and the block's schema.
pub fn render_provider_page(schema: &Schema, example: Option<&str>) -> String {
    let title = format!("{PROVIDER_NAME} Provider");
    render_page(&title, &title, &schema.block, example, None)
}

/// The page of one resource, data source or ephemeral resource; `import` is the shell text of
/// its `import.sh`, if any.
pub fn render_type_page(
    kind: Kind,
    type_name: &str,
    schema: &Schema,
    example: Option<&str>,
    import: Option<&str>,
) -> String {
    let page_title = format!("{type_name} {} - {PROVIDER_NAME}", kind.title());
    let heading = format!("{type_name} ({})", kind.title());
    render_page(&page_title, &heading, &schema.block, example, import)
}

fn render_page(
    page_title: &str,
    heading: &str,
    block: &Block,
    example: Option<&str>,
    import: Option<&str>,
) -> String {
    let description = block.description.trim();
    let mut out = String::new();
    // The comment sits inside the front matter, where the registry ignores it but a reader
    // about to edit the file sees it first.
    out.push_str(
        "---\n# Generated from the schema and examples by scripts/gen-docs; do not edit.\n",
    );
    let _ = writeln!(out, "page_title: \"{}\"", page_title.replace('"', "\\\""));
    out.push_str("subcategory: \"\"\ndescription: |-\n");
    for line in first_sentence(description).lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = write!(out, "---\n\n# {heading}\n\n");
    if block.deprecated {
        out.push_str("~> **Deprecated:** this will be removed in a future version.\n\n");
    }
    if !description.is_empty() {
        let _ = write!(out, "{description}\n\n");
    }
    if let Some(example) = example {
        let _ = write!(
            out,
            "## Example Usage\n\n```terraform\n{}\n```\n\n",
            example.trim_end()
        );
    }
    out.push_str(&render_schema(block));
    if let Some(import) = import {
        let _ = write!(
            out,
            "\n## Import\n\nExisting objects are imported by their natural key, for example:\n\n\
             ```shell\n{}\n```\n",
            import.trim_end()
        );
    }
    out
}

/// The first sentence of a description, for the front matter: up to the first `.`, `!` or `?`
/// followed by a space and a capital letter, or by a line break (so `e.g. `x`` does not end it).
pub fn first_sentence(text: &str) -> &str {
    let text = text.trim();
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let rest = &text[i + 1..];
        let after_space = rest.trim_start_matches([' ', '\t']);
        let ends = rest.starts_with('\n')
            || (after_space.len() < rest.len()
                && after_space.chars().next().is_some_and(char::is_uppercase));
        if ends {
            return &text[..=i];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::{Attribute, Type};

    fn no_examples(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn one_stem_per_type_in_pages_and_examples() {
        assert_eq!(stem("homelab_nfs_export"), "nfs_export");
        assert_eq!(
            page_path(Kind::Resource, "homelab_nfs_export"),
            "resources/nfs_export.md"
        );
        assert_eq!(
            page_path(Kind::DataSource, "homelab_public_ip"),
            "data-sources/public_ip.md"
        );
        assert_eq!(
            page_path(Kind::EphemeralResource, "homelab_kubeadm_join_token"),
            "ephemeral-resources/kubeadm_join_token.md"
        );
        assert_eq!(
            example_path(Kind::Resource, "homelab_nfs_export"),
            "resources/homelab_nfs_export/resource.tf"
        );
        assert_eq!(
            example_path(Kind::DataSource, "homelab_public_ip"),
            "data-sources/homelab_public_ip/data-source.tf"
        );
        assert_eq!(
            import_path("homelab_nfs_export"),
            "resources/homelab_nfs_export/import.sh"
        );
    }

    #[test]
    fn first_sentence_stops_at_a_sentence_end_only() {
        assert_eq!(first_sentence("One thing. Another thing."), "One thing.");
        assert_eq!(
            first_sentence("Uses e.g. `x` and i.e. y. Then more."),
            "Uses e.g. `x` and i.e. y."
        );
        assert_eq!(first_sentence("Ends here.\nnext line"), "Ends here.");
        assert_eq!(first_sentence("  No full stop  "), "No full stop");
        assert_eq!(first_sentence(""), "");
    }

    #[test]
    fn a_resource_page_has_front_matter_example_schema_and_import() {
        let schema = Schema {
            version: 0,
            block: Block::new(
                "An NFS export. It is validated before it is activated.",
                vec![Attribute::required("path", Type::String).describe("The exported path.")],
            ),
        };
        let page = render_type_page(
            Kind::Resource,
            "homelab_nfs_export",
            &schema,
            Some("resource \"homelab_nfs_export\" \"usb\" {}\n\n"),
            Some("tofu import homelab_nfs_export.usb 10.4.0.10:/mnt/usb1\n"),
        );
        assert_eq!(
            page,
            "---\n\
             # Generated from the schema and examples by scripts/gen-docs; do not edit.\n\
             page_title: \"homelab_nfs_export Resource - homelab\"\n\
             subcategory: \"\"\n\
             description: |-\n  An NFS export.\n\
             ---\n\n\
             # homelab_nfs_export (Resource)\n\n\
             An NFS export. It is validated before it is activated.\n\n\
             ## Example Usage\n\n\
             ```terraform\nresource \"homelab_nfs_export\" \"usb\" {}\n```\n\n\
             ## Schema\n\n### Required\n\n- `path` (String) The exported path.\n\n\
             ## Import\n\n\
             Existing objects are imported by their natural key, for example:\n\n\
             ```shell\ntofu import homelab_nfs_export.usb 10.4.0.10:/mnt/usb1\n```\n"
        );
    }

    #[test]
    fn sections_without_a_source_file_are_left_out() {
        let schema = Schema {
            version: 0,
            block: Block::new("Facts.", vec![Attribute::computed("id", Type::String)]),
        };
        let page = render_type_page(Kind::DataSource, "homelab_node", &schema, None, None);
        assert!(
            page.contains("page_title: \"homelab_node Data Source - homelab\"\n"),
            "{page}"
        );
        assert!(page.contains("# homelab_node (Data Source)\n"), "{page}");
        assert!(!page.contains("## Example Usage"), "{page}");
        assert!(!page.contains("## Import"), "{page}");
    }

    #[test]
    fn the_shipped_provider_renders_an_index_and_a_page_per_type() {
        let examples = |path: &str| {
            (path == "data-sources/homelab_public_ip/data-source.tf")
                .then(|| "data \"homelab_public_ip\" \"home\" {}\n".to_owned())
        };
        let pages = render_all(&examples);
        let registry = Registry::all();
        let expected = 1
            + registry.resources.len()
            + registry.data_sources.len()
            + registry.ephemeral_resources.len();
        assert_eq!(pages.len(), expected);
        assert_eq!(pages[0].path, "index.md");
        assert!(pages[0].content.contains("# homelab Provider\n"));
        assert!(pages[0].content.contains("- `public_ip` (Block, Optional)"));
        let public_ip = pages
            .iter()
            .find(|p| p.path == "data-sources/public_ip.md")
            .unwrap();
        assert!(
            public_ip
                .content
                .contains("```terraform\ndata \"homelab_public_ip\" \"home\" {}\n```")
        );
        assert!(
            public_ip
                .content
                .contains("### Read-Only\n\n- `id` (String)")
        );
        assert!(
            pages
                .iter()
                .all(|p| p.content.ends_with('\n') && !p.content.ends_with("\n\n"))
        );
        assert_eq!(
            render_all(&no_examples),
            render_all(&no_examples),
            "rendering is deterministic"
        );
    }

    #[test]
    fn required_examples_follow_the_registry_layout() {
        let paths = required_examples(&Registry::all());
        assert_eq!(paths[0], "provider/provider.tf");
        assert!(paths.contains(&"data-sources/homelab_public_ip/data-source.tf".to_owned()));
        let resources = Registry::all().resources.len();
        assert_eq!(
            paths.iter().filter(|p| p.ends_with("/import.sh")).count(),
            resources
        );
    }
}
