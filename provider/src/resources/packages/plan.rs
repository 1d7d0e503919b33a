//! Plan-time work: defaults filled in, `installed_version` known wherever it can be, and, with
//! the host reachable, every name and pinned version looked up and the whole transaction
//! simulated, so bad input fails here and never half-applies.

use std::collections::BTreeMap;

use super::apt::{self, AptError};
use super::model::{Desired, HostPackages, Transaction, Wanted};
use super::schema::{desired, package_path};
use crate::registry::Context;
use crate::ssh::Session;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Diagnostics {
    let planned = &mut change.planned;
    if planned.is_null() {
        return Diagnostics::new();
    }
    planned.set_attr(
        "id",
        id_for(config).map_or_else(Value::unknown, Value::from),
    );
    let mut diagnostics = context
        .provider
        .ssh
        .check_connection(prior, config, &context.cancel)
        .await;
    let Some(wanted) = desired(config) else {
        mark_unknown_versions(planned, config);
        return diagnostics;
    };
    let reachable = !diagnostics.has_errors()
        && config.attr("host").is_known()
        && config.attr("ssh").is_fully_known();
    let mut on_host = None;
    if reachable {
        let session = match context.provider.ssh.session_for(config, &context.cancel) {
            Ok(session) => session,
            Err(d) => return d,
        };
        let dropped = dropped_packages(prior, &wanted);
        match apt::status(&session, &names(&wanted, &dropped)).await {
            Ok(host) => {
                if config.attr("repositories").is_fully_known() {
                    let transaction = Transaction::between(&wanted, &dropped, &host);
                    diagnostics.extend(check_transaction(&session, &transaction, &wanted).await);
                }
                on_host = Some(host);
            }
            Err(e) => diagnostics
                .push(e.to_diagnostic(&format!("reading packages on {}", session.target().host))),
        }
    }
    fill_in_packages(planned, prior, &wanted, on_host.as_ref());
    diagnostics
}

/// `host:name,name,…`, names sorted (map keys already are).
pub(super) fn id_for(value: &Value) -> Option<String> {
    let host = value.attr("host").as_str()?;
    let names: Vec<&str> = value
        .attr("packages")
        .as_entries()?
        .keys()
        .map(String::as_str)
        .collect();
    Some(format!("{host}:{}", names.join(",")))
}

/// Packages the prior state had installed that the configuration no longer names.
pub(super) fn dropped_packages(prior: &Value, wanted: &BTreeMap<String, Desired>) -> Vec<String> {
    prior
        .attr("packages")
        .as_entries()
        .into_iter()
        .flatten()
        .filter(|(name, package)| {
            !wanted.contains_key(*name) && package.attr("state").as_str() != Some("absent")
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Every package name involved, for one status query.
pub(super) fn names(wanted: &BTreeMap<String, Desired>, dropped: &[String]) -> Vec<String> {
    wanted.keys().chain(dropped).cloned().collect()
}

/// Looks up every package the transaction installs (and its pinned version) with `apt-cache
/// madison`, then simulates the transaction; each problem names its package and attribute.
pub(super) async fn check_transaction(
    session: &Session<'_>,
    transaction: &Transaction,
    wanted: &BTreeMap<String, Desired>,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if !transaction.changes_packages() {
        return diagnostics;
    }
    let host = session.target().host.clone();
    let installing: Vec<String> = transaction
        .install
        .iter()
        .map(|argument| argument.split('=').next().unwrap_or(argument).to_owned())
        .collect();
    let available = match apt::available(session, &installing).await {
        Ok(available) => available,
        Err(e) => {
            return e
                .to_diagnostic(&format!("apt-cache madison on {host}"))
                .into();
        }
    };
    for name in &installing {
        let versions = available.get(name).map(Vec::as_slice).unwrap_or_default();
        let pinned = wanted.get(name).and_then(|w| w.version.as_deref());
        if versions.is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    "Package not available",
                    format!(
                        "No repository configured on {host} offers {name} (apt-cache madison \
                         lists no version). Check the name, or add its homelab_apt_repository \
                         and list it in repositories."
                    ),
                )
                .at(package_path(name, None)),
            );
        } else if let Some(version) = pinned
            && !versions.iter().any(|v| v == version)
        {
            diagnostics.push(
                Diagnostic::error(
                    "Version not available",
                    format!(
                        "{name} {version} is not offered by any repository on {host}; apt-cache \
                         madison lists: {}.",
                        versions.join(", ")
                    ),
                )
                .at(package_path(name, Some("version"))),
            );
        }
    }
    if diagnostics.has_errors() {
        return diagnostics;
    }
    match apt::simulate(session, transaction).await {
        Ok(removals) => {
            let unexpected = transaction.unexpected_removals(&removals);
            if !unexpected.is_empty() {
                diagnostics.push(
                    Diagnostic::error(
                        "Transaction would remove other packages",
                        format!(
                            "apt would also remove {} on {host} (they depend on a package \
                             removed here, or conflict with one installed here). Nothing was \
                             changed; add them to this resource as absent if that is meant.",
                            unexpected.join(", ")
                        ),
                    )
                    .at(AttributePath::root("packages")),
                );
            }
        }
        Err(AptError::Refused(message)) => diagnostics.push(
            Diagnostic::error(
                "apt refuses the transaction",
                format!(
                    "apt-get install -s {} on {host} failed; nothing was changed:\n{message}",
                    transaction.apt_arguments().join(" ")
                ),
            )
            .at(AttributePath::root("packages")),
        ),
        Err(AptError::Ssh(e)) => {
            diagnostics.push(e.to_diagnostic(&format!("simulating apt-get on {host}")));
        }
    }
    diagnostics
}

/// Sets `hold` and `state` to their defaults where unset, and `installed_version` to what the
/// apply will leave: the pin, the version already there, null for absent packages, else unknown.
fn fill_in_packages(
    planned: &mut Value,
    prior: &Value,
    wanted: &BTreeMap<String, Desired>,
    on_host: Option<&HostPackages>,
) {
    let Some(Value::Map(packages)) = planned.attr_mut("packages") else {
        return;
    };
    for (name, package) in packages.iter_mut() {
        let Some(want) = wanted.get(name) else {
            continue;
        };
        package.set_attr("hold", want.hold.into());
        package.set_attr("state", want.state.as_str().into());
        let installed_version = match (want.state, &want.version) {
            (Wanted::Absent, _) => Value::Null,
            (Wanted::Present, Some(version)) => version.clone().into(),
            (Wanted::Present, None) => match on_host {
                Some(host) => host
                    .installed
                    .get(name)
                    .map_or_else(Value::unknown, |i| i.version.clone().into()),
                None => {
                    let before = prior.attr("packages").attr_in_map(name);
                    match before.attr("installed_version") {
                        Value::String(version) => version.clone().into(),
                        _ => Value::unknown(),
                    }
                }
            },
        };
        package.set_attr("installed_version", installed_version);
    }
}

/// When the packages are not all known yet, what the provider fills in is not known either.
fn mark_unknown_versions(planned: &mut Value, config: &Value) {
    let configured = config.attr("packages");
    if let Some(Value::Map(packages)) = planned.attr_mut("packages") {
        for (name, package) in packages.iter_mut() {
            if !package.is_known() || package.is_null() {
                continue;
            }
            let element = configured.attr_in_map(name);
            for attribute in ["hold", "state"] {
                if element.attr(attribute).is_null() {
                    package.set_attr(attribute, Value::unknown());
                }
            }
            package.set_attr("installed_version", Value::unknown());
        }
    }
}

/// Looking up a map element by key.
trait MapElement {
    fn attr_in_map(&self, key: &str) -> &Value;
}

impl MapElement for Value {
    fn attr_in_map(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.as_entries()
            .and_then(|entries| entries.get(key))
            .unwrap_or(&NULL)
    }
}
