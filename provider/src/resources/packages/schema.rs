//! `homelab_packages`' schema and the checks that name the package and attribute of any bad
//! value before anything reaches the host.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::{Desired, Wanted, check_package_name, check_version};
use crate::ssh::resource_config;
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestingMode, Schema, Type, Value,
    timeouts,
};

/// How long one apt transaction may take by default.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

pub(super) fn schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new(
            "Debian packages on a host, installed, pinned, held or kept absent with apt in one \
             transaction. At plan, every name and pinned version is looked up with `apt-cache \
             madison` and the whole transaction is simulated (`apt-get -s`), so an unknown \
             package, a version no repository offers or an unsatisfiable dependency fails the \
             plan, and nothing is installed unless everything can be. Refresh reads \
             `dpkg-query` and `apt-mark showhold`, so a package removed, upgraded or unheld by \
             hand shows as a diff. Changes on one host are serialized with every other apt \
             change this provider makes there.",
            vec![
                resource_config::host_attribute(),
                Attribute {
                    required: true,
                    ..Attribute::nested(
                        "packages",
                        NestingMode::Map,
                        vec![
                            Attribute::optional("version", Type::String).describe(
                                "An exact version to install (as `apt-cache madison` lists it, \
                                 e.g. `1.30.2-1.1`), upgrading or downgrading to it. Unset, any \
                                 installed version is kept and a missing package gets apt's \
                                 candidate version.",
                            ),
                            Attribute::optional_computed("hold", Type::Bool).describe(
                                "Hold the package at its version (`apt-mark hold`), as kubeadm's \
                                 install guide does for kubelet, kubeadm and kubectl. Default: \
                                 false.",
                            ),
                            Attribute::optional_computed("state", Type::String).describe(
                                "`present` (default) or `absent`: an absent package is removed \
                                 if installed (not purged) and reads as `absent` when it is not.",
                            ),
                            Attribute::computed("installed_version", Type::String).describe(
                                "The version dpkg has installed; null when the package is not \
                                 installed.",
                            ),
                        ],
                    )
                    .describe(
                        "The packages, by Debian package name (without architecture \
                         qualifier). A package taken out of this map is removed from the host, \
                         like a deleted resource; apt's automatic removal of packages nobody \
                         needs anymore is left to the operator.",
                    )
                },
                Attribute::optional("repositories", Type::list(Type::String)).describe(
                    "What the packages come from, normally \
                     `[homelab_apt_repository.NAME.index_sha256]`. While one of these values is \
                     unknown at plan (the repository is created or changed in the same run), \
                     the availability check and simulation happen at apply instead, still \
                     before anything is installed. Stored only; changing it changes nothing on \
                     the host.",
                ),
                Attribute::computed("id", Type::String)
                    .describe("`host:name,name,…` (names sorted), the import ID without pins."),
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

/// The path of one package's attribute, e.g. `packages["kubelet"].version`.
pub(super) fn package_path(name: &str, attribute: Option<&str>) -> AttributePath {
    let path = AttributePath::root("packages").key(name);
    match attribute {
        Some(attribute) => path.attr(attribute),
        None => path,
    }
}

pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = resource_config::validate_resource(config);
    diagnostics.extend(timeouts::validate(config));
    let Some(packages) = config.attr("packages").as_entries() else {
        return diagnostics;
    };
    if packages.is_empty() {
        diagnostics.push(
            Diagnostic::error("No packages", "Name at least one package.")
                .at(AttributePath::root("packages")),
        );
    }
    for (name, package) in packages {
        if let Err(reason) = check_package_name(name) {
            diagnostics.push(
                Diagnostic::error("Invalid package name", format!("{name:?}: {reason}"))
                    .at(package_path(name, None)),
            );
        }
        if let Some(version) = package.attr("version").as_str()
            && let Err(reason) = check_version(version)
        {
            diagnostics.push(
                Diagnostic::error("Invalid version", format!("{version:?}: {reason}"))
                    .at(package_path(name, Some("version"))),
            );
        }
        let state = package.attr("state");
        if let Some(text) = state.as_str()
            && Wanted::parse(text).is_none()
        {
            diagnostics.push(
                Diagnostic::error(
                    "Invalid state",
                    format!("{text:?}: the state is \"present\" or \"absent\""),
                )
                .at(package_path(name, Some("state"))),
            );
        }
        if state.as_str() == Some("absent") {
            let at = |attribute: &str| package_path(name, Some(attribute));
            if !package.attr("version").is_null() {
                diagnostics.push(
                    Diagnostic::error(
                        "Version of an absent package",
                        format!("{name} is to be absent, so it has no version to pin."),
                    )
                    .at(at("version")),
                );
            }
            if package.attr("hold").as_bool() == Some(true) {
                diagnostics.push(
                    Diagnostic::error(
                        "Hold of an absent package",
                        format!("{name} is to be absent; only an installed package is held."),
                    )
                    .at(at("hold")),
                );
            }
        }
    }
    diagnostics
}

/// The packages a configuration or plan asks for, when everything about them is known.
pub(super) fn desired(value: &Value) -> Option<BTreeMap<String, Desired>> {
    value
        .attr("packages")
        .as_entries()?
        .iter()
        .map(|(name, package)| {
            let state = match package.attr("state") {
                Value::Null => Wanted::Present,
                Value::String(text) => Wanted::parse(text)?,
                _ => return None,
            };
            let version = match package.attr("version") {
                Value::Null => None,
                Value::String(text) => Some(text.clone()),
                _ => return None,
            };
            let hold = match package.attr("hold") {
                Value::Null => false,
                Value::Bool(hold) => *hold,
                _ => return None,
            };
            Some((
                name.clone(),
                Desired {
                    state,
                    version,
                    hold,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    fn config(packages: Vec<(&str, Value)>) -> Value {
        Value::object([
            ("host", Value::from("10.4.0.10")),
            (
                "packages",
                Value::Map(
                    packages
                        .into_iter()
                        .map(|(n, v)| (n.to_owned(), v))
                        .collect(),
                ),
            ),
        ])
    }

    #[test]
    fn bad_packages_name_the_package_and_attribute() {
        let bad = config(vec![
            ("$(touch /tmp/x)", package(vec![])),
            ("kubelet", package(vec![("version", "v1.30".into())])),
            ("snapd", package(vec![("state", "gone".into())])),
            (
                "telnet",
                package(vec![
                    ("state", "absent".into()),
                    ("version", "1.0".into()),
                    ("hold", true.into()),
                ]),
            ),
        ]);
        let paths: Vec<String> = validate(&bad)
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(
            paths,
            [
                "packages[\"$(touch /tmp/x)\"]",
                "packages[\"kubelet\"].version",
                "packages[\"snapd\"].state",
                "packages[\"telnet\"].version",
                "packages[\"telnet\"].hold",
            ]
        );
        assert!(validate(&config(vec![])).has_errors());
    }

    #[test]
    fn defaults_are_present_unpinned_and_not_held() {
        let good = config(vec![
            (
                "kubelet",
                package(vec![
                    ("version", "1.30.2-1.1".into()),
                    ("hold", true.into()),
                ]),
            ),
            ("jq", package(vec![])),
        ]);
        assert!(validate(&good).is_empty());
        let wanted = desired(&good).unwrap();
        assert_eq!(
            wanted["jq"],
            Desired {
                state: Wanted::Present,
                version: None,
                hold: false
            }
        );
        assert!(wanted["kubelet"].hold);
        assert!(
            desired(&config(vec![(
                "jq",
                package(vec![("hold", Value::unknown())])
            )]))
            .is_none()
        );
    }
}
