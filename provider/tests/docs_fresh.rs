//! Fails when the generated pages under `docs/` are not what the schemas and examples render now, or when a type lacks its examples.
//!
//! With `HOMELAB_UPDATE_DOCS=1` it rewrites the pages instead (this is what `scripts/gen-docs`
//! runs), and removes pages of types that no longer exist from the generated folders only.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use terraform_provider_homelab::docs::{self, GENERATED_FOLDERS, Page};
use terraform_provider_homelab::registry::Registry;

const UPDATE_VARIABLE: &str = "HOMELAB_UPDATE_DOCS";
const UPDATE_COMMAND: &str =
    "HOMELAB_UPDATE_DOCS=1 cargo test -p terraform-provider-homelab --test docs_fresh";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the provider crate sits inside the workspace")
        .to_path_buf()
}

fn rendered_pages(workspace: &Path) -> Vec<Page> {
    let examples = workspace.join("examples");
    docs::render_all(&|relative| fs::read_to_string(examples.join(relative)).ok())
}

/// Markdown files in the generated folders that no current type renders: pages of removed or
/// renamed types, which would otherwise linger in the registry.
fn orphaned_pages(docs_dir: &Path, pages: &[Page]) -> Vec<String> {
    let current: BTreeSet<&str> = pages.iter().map(|p| p.path.as_str()).collect();
    let mut orphans = Vec::new();
    for folder in GENERATED_FOLDERS {
        let Ok(entries) = fs::read_dir(docs_dir.join(folder)) else {
            continue;
        };
        for entry in entries {
            let name = entry.expect("a readable docs folder").file_name();
            let relative = format!("{folder}/{}", name.to_string_lossy());
            if relative.ends_with(".md") && !current.contains(relative.as_str()) {
                orphans.push(relative);
            }
        }
    }
    orphans.sort();
    orphans
}

fn first_differing_line(old: &str, new: &str) -> usize {
    old.lines()
        .zip(new.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| old.lines().count().min(new.lines().count()))
        + 1
}

fn update(docs_dir: &Path, pages: &[Page], orphans: &[String]) {
    for page in pages {
        let path = docs_dir.join(&page.path);
        if fs::read_to_string(&path).ok().as_deref() == Some(page.content.as_str()) {
            continue;
        }
        let folder = path.parent().expect("a page lives in a folder");
        fs::create_dir_all(folder).unwrap_or_else(|e| panic!("creating {}: {e}", folder.display()));
        fs::write(&path, &page.content)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("wrote docs/{}", page.path);
    }
    for orphan in orphans {
        let path = docs_dir.join(orphan);
        fs::remove_file(&path).unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
        eprintln!("removed docs/{orphan}");
    }
}

#[test]
fn generated_docs_match_the_schemas_and_examples() {
    let workspace = workspace();
    let docs_dir = workspace.join("docs");
    let pages = rendered_pages(&workspace);
    let orphans = orphaned_pages(&docs_dir, &pages);
    if std::env::var(UPDATE_VARIABLE).as_deref() == Ok("1") {
        update(&docs_dir, &pages, &orphans);
        return;
    }
    let mut problems = Vec::new();
    for page in &pages {
        match fs::read_to_string(docs_dir.join(&page.path)) {
            Err(_) => problems.push(format!("docs/{} is missing", page.path)),
            Ok(text) if text != page.content => problems.push(format!(
                "docs/{} is stale (first difference at line {})",
                page.path,
                first_differing_line(&text, &page.content)
            )),
            Ok(_) => {}
        }
    }
    problems.extend(
        orphans
            .iter()
            .map(|orphan| format!("docs/{orphan} documents a type that no longer exists")),
    );
    assert!(
        problems.is_empty(),
        "generated docs are out of date:\n  {}\nrun: {UPDATE_COMMAND}",
        problems.join("\n  ")
    );
}

#[test]
fn every_type_has_its_examples() {
    let examples = workspace().join("examples");
    let missing: Vec<String> = docs::required_examples(&Registry::all())
        .into_iter()
        .filter(|relative| !examples.join(relative).is_file())
        .map(|relative| format!("examples/{relative}"))
        .collect();
    assert!(
        missing.is_empty(),
        "every type needs its examples in the registry layout; missing:\n  {}",
        missing.join("\n  ")
    );
}
