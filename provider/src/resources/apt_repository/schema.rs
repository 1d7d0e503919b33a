//! `homelab_apt_repository`'s schema and the checks that name the attribute of any bad value
//! before anything reaches the host.

use std::time::Duration;

use super::sources::{check_name, check_signing_key, check_uri, check_word};
use crate::ssh::resource_config;
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value, timeouts,
};

/// How long writing the files and refreshing this repository's lists may take by default.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The list attributes and what each is in deb822.
pub(super) const LIST_ATTRIBUTES: [&str; 4] = ["uris", "suites", "components", "architectures"];

pub(super) fn schema() -> Schema {
    let list = Type::list(Type::String);
    Schema {
        version: 0,
        block: Block::new(
            "An apt repository on a host, the way pkgs.k8s.io and most vendors publish theirs: \
             a deb822 file `/etc/apt/sources.list.d/NAME.sources` whose `Signed-By` names the \
             repository's own key in `/etc/apt/keyrings/NAME.asc`, so the key is trusted for \
             this repository only. When either file changes, only this repository's package \
             lists are refreshed (`apt-get update` restricted to its file), so hosts without a \
             route to other mirrors work; if apt cannot fetch or verify the repository, the \
             previous files are put back and apt's own message is shown. Refresh reads both \
             files back, so a hand edit shows as a diff.",
            vec![
                resource_config::host_attribute(),
                Attribute::required("name", Type::String)
                    .requires_replace()
                    .describe(
                        "The file stem: lowercase letters, digits, `.`, `_` and `-`, starting \
                         with a letter or digit (e.g. `kubernetes`).",
                    ),
                Attribute::required("uris", list.clone()).describe(
                    "The repository's base URIs (deb822 `URIs`), e.g. \
                     `[\"https://pkgs.k8s.io/core:/stable:/v1.30/deb/\"]`.",
                ),
                Attribute::required("suites", list.clone()).describe(
                    "Suites or codenames (`[\"bookworm\"]`), or a path ending in `/` for a flat \
                     repository (`[\"/\"]`, as pkgs.k8s.io uses).",
                ),
                Attribute::optional("components", list.clone()).describe(
                    "Components such as `[\"main\"]`; required unless the suite is a flat path \
                     ending in `/`, where it must be unset.",
                ),
                Attribute::optional("architectures", list).describe(
                    "Architectures to fetch (`[\"arm64\"]`); unset, apt's defaults for the host.",
                ),
                Attribute::required("signing_key", Type::String).describe(
                    "The repository's ASCII-armored OpenPGP public key (`-----BEGIN PGP PUBLIC \
                     KEY BLOCK-----` …), e.g. `file(\"kubernetes-release.key\")` or the body of \
                     a `data \"http\"`. Written byte for byte to the key file.",
                ),
                Attribute::optional("enabled", Type::Bool)
                    .default_value(true)
                    .describe("False keeps the files but writes `Enabled: no`. Default: true."),
                Attribute::computed("sources_path", Type::String)
                    .describe("The `.sources` file's path."),
                Attribute::computed("key_path", Type::String)
                    .describe("The key file's path (the `Signed-By` value)."),
                Attribute::computed("sources_sha256", Type::String).describe(
                    "SHA-256 of the `.sources` file as this resource writes it, read back from \
                     the host, so any hand edit of the file shows in the plan.",
                ),
                Attribute::computed("index_sha256", Type::String).describe(
                    "SHA-256 over the package index files apt downloaded for this repository \
                     (read from the host). Unknown in a plan that changes the repository, so \
                     `homelab_packages.repositories = [homelab_apt_repository.NAME.index_sha256]` \
                     defers that resource's availability check to apply, after the lists are \
                     refreshed.",
                ),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("`host:name`, the import ID."),
            ],
        )
        .with_block(resource_config::resource_block())
        .with_block(timeouts::block(&[
            ("create", DEFAULT_TIMEOUT),
            ("update", DEFAULT_TIMEOUT),
            ("delete", DEFAULT_TIMEOUT),
        ])),
    }
}

pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = resource_config::validate_resource(config);
    diagnostics.extend(timeouts::validate(config));
    if let Some(name) = config.attr("name").as_str()
        && let Err(reason) = check_name(name)
    {
        diagnostics.push(
            Diagnostic::error("Invalid name", format!("{name:?}: {reason}"))
                .at(AttributePath::root("name")),
        );
    }
    for attribute in LIST_ATTRIBUTES {
        let value = config.attr(attribute);
        let Some(items) = value.as_elements() else {
            continue;
        };
        let at = AttributePath::root(attribute);
        if items.is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    format!("Empty {attribute}"),
                    format!(
                        "Give at least one value, or leave {attribute} unset where it is optional."
                    ),
                )
                .at(at.clone()),
            );
        }
        for (index, item) in items.iter().enumerate() {
            let Some(text) = item.as_str() else {
                continue;
            };
            let checked = if attribute == "uris" {
                check_uri(text)
            } else {
                check_word(text)
            };
            if let Err(reason) = checked {
                diagnostics.push(
                    Diagnostic::error(
                        format!("Invalid {attribute}"),
                        format!("{text:?}: {reason}"),
                    )
                    .at(at.clone().index(index as i64)),
                );
            }
        }
    }
    check_components(config, &mut diagnostics);
    if let Some(key) = config.attr("signing_key").as_str()
        && let Err(reason) = check_signing_key(key)
    {
        diagnostics.push(
            Diagnostic::error("Invalid signing_key", reason).at(AttributePath::root("signing_key")),
        );
    }
    diagnostics
}

/// Flat suites (`/`, `./`, `dists/x/`) take no components; distribution suites need some.
fn check_components(config: &Value, diagnostics: &mut Diagnostics) {
    let Some(suites) = config.attr("suites").as_elements() else {
        return;
    };
    let texts: Vec<&str> = suites.iter().filter_map(Value::as_str).collect();
    if texts.len() != suites.len() || !config.attr("components").is_known() {
        return;
    }
    let flat = texts.iter().filter(|s| s.ends_with('/')).count();
    let components = !config.attr("components").is_null();
    let problem = if flat > 0 && flat < texts.len() {
        Some(
            "Mix of flat and distribution suites: a suite ending in / is a flat repository path; put flat and distribution suites in separate repositories.",
        )
    } else if flat > 0 && components {
        Some("A flat repository (suite ending in /) has no components; leave components unset.")
    } else if flat == 0 && !texts.is_empty() && !components {
        Some(
            "Set components (e.g. [\"main\"]); only a flat repository (suite ending in /) has none.",
        )
    } else {
        None
    };
    if let Some(detail) = problem {
        diagnostics.push(
            Diagnostic::error("Invalid components", detail).at(AttributePath::root("components")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Value {
        Value::List(values.iter().map(|v| Value::from(*v)).collect())
    }

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let mut base = Value::object([
            ("host", Value::from("10.4.0.10")),
            ("name", "kubernetes".into()),
            (
                "uris",
                strings(&["https://pkgs.k8s.io/core:/stable:/v1.30/deb/"]),
            ),
            ("suites", strings(&["/"])),
            (
                "signing_key",
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ0VjYRYJKwYBBAHaRw8BAQdAabcdef\n\
                 -----END PGP PUBLIC KEY BLOCK-----\n"
                    .into(),
            ),
        ]);
        for (name, value) in pairs {
            base.set_attr(name, value);
        }
        base
    }

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn the_pkgs_k8s_io_shape_is_valid() {
        assert!(validate(&config(vec![])).is_empty());
        let debian = config(vec![
            ("suites", strings(&["bookworm", "bookworm-updates"])),
            ("components", strings(&["main"])),
        ]);
        assert!(validate(&debian).is_empty());
        assert!(validate(&config(vec![("uris", Value::unknown())])).is_empty());
    }

    #[test]
    fn bad_values_name_their_attribute() {
        let bad = config(vec![
            ("name", "../etc/passwd".into()),
            ("uris", strings(&["pkgs.k8s.io"])),
            ("suites", strings(&["stable\nTrusted: yes"])),
            ("architectures", strings(&[])),
            ("signing_key", "5D89A43E3736F4CE".into()),
        ]);
        let found = paths(&validate(&bad));
        assert_eq!(
            found,
            [
                "name",
                "uris[0]",
                "suites[0]",
                "architectures",
                "components",
                "signing_key"
            ]
        );
        let flat_with_components = config(vec![("components", strings(&["main"]))]);
        assert_eq!(paths(&validate(&flat_with_components)), ["components"]);
    }
}
