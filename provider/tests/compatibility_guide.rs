//! Fails when `docs/guides/compatibility.md` no longer says what the provider offers: the
//! resources importable by identity, every write-only attribute with what a CLI without
//! write-only attributes uses instead, the ephemeral resources and the functions, all read from
//! the registry, so the table cannot go stale without this test noticing.

use std::fs;
use std::path::Path;

use terraform_provider_homelab::registry::Registry;
use terraform_provider_homelab::tf::Block;

const PAGE: &str = "docs/guides/compatibility.md";

/// `none` or the names in backquotes, comma-separated.
fn listed(names: Vec<String>) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `- `type.path`: alternative` for every write-only attribute, nested blocks included.
fn write_only_lines(type_name: &str, prefix: &str, block: &Block, lines: &mut Vec<String>) {
    for attribute in block.attributes.iter().filter(|a| a.write_only) {
        let instead = attribute
            .write_only_alternative
            .as_deref()
            .unwrap_or_else(|| {
                panic!(
                    "{type_name}.{prefix}{} has no write_only_alternative",
                    attribute.name
                )
            });
        lines.push(format!(
            "- `{type_name}.{prefix}{}`: {instead}",
            attribute.name
        ));
    }
    for nested in &block.blocks {
        let prefix = format!("{prefix}{}.", nested.type_name);
        write_only_lines(type_name, &prefix, &nested.block, lines);
    }
}

/// The lines the page must hold, in order within each group.
fn expected_lines() -> (Vec<String>, Vec<String>) {
    let registry = Registry::all();
    let mut identity: Vec<String> = registry
        .resources
        .iter()
        .filter(|r| r.identity_schema().is_some())
        .map(|r| r.type_name().to_owned())
        .collect();
    identity.sort();
    let mut ephemeral: Vec<String> = registry
        .ephemeral_resources
        .iter()
        .map(|e| e.type_name().to_owned())
        .collect();
    ephemeral.sort();
    let mut functions: Vec<String> = registry
        .functions
        .iter()
        .map(|f| f.name().to_owned())
        .collect();
    functions.sort();
    let summary = vec![
        format!("Resources importable by identity: {}.", listed(identity)),
        format!("Ephemeral resources: {}.", listed(ephemeral)),
        format!("Provider functions: {}.", listed(functions)),
    ];
    let mut write_only = Vec::new();
    let mut resources: Vec<_> = registry.resources.iter().collect();
    resources.sort_by_key(|r| r.type_name());
    for resource in resources {
        write_only_lines(
            resource.type_name(),
            "",
            &resource.schema().block,
            &mut write_only,
        );
    }
    (summary, write_only)
}

#[test]
fn the_compatibility_guide_lists_what_the_schema_offers() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the provider crate sits inside the workspace");
    let page = fs::read_to_string(workspace.join(PAGE)).unwrap_or_default();
    let (summary, write_only) = expected_lines();
    let page_lines: Vec<&str> = page.lines().collect();
    let missing: Vec<&String> = summary
        .iter()
        .chain(&write_only)
        .filter(|line| !page_lines.contains(&line.as_str()))
        .collect();
    // A write-only line for an attribute that is gone, or whose alternative changed.
    let stale: Vec<&str> = page_lines
        .iter()
        .filter(|line| line.starts_with("- `homelab_") && !write_only.contains(&line.to_string()))
        .copied()
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "{PAGE} is stale.\nmissing lines:\n{}\nlines to remove:\n{}\n\nthe checked lines now:\n{}\n\n{}",
        missing
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        stale.join("\n"),
        summary.join("\n\n"),
        write_only.join("\n")
    );
}
