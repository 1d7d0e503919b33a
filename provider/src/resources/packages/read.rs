//! Read and import: each managed package as dpkg and apt-mark report it now.

use super::apt;
use super::model::{HostPackages, check_package_name, check_version};
use super::plan::id_for;
use crate::registry::Context;
use crate::ssh::resource_config::split_host;
use crate::tf::{Diagnostic, Diagnostics, Schema, Value};

pub(super) async fn read(context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
    let session = context.provider.ssh.session_for(state, &context.cancel)?;
    let names: Vec<String> = state
        .attr("packages")
        .as_entries()
        .map(|packages| packages.keys().cloned().collect())
        .unwrap_or_default();
    let host = apt::status(&session, &names).await.map_err(|e| {
        Diagnostics::from(
            e.to_diagnostic(&format!("reading packages on {}", session.target().host)),
        )
    })?;
    Ok(Some(state_from_host(state, &host)))
}

/// The state with every package as the host has it. A pinned version reads as the installed
/// one (so a hand upgrade shows as a diff); an unpinned one stays unpinned. A package that is
/// not installed reads as `absent`, keeping its pin.
pub(super) fn state_from_host(state: &Value, host: &HostPackages) -> Value {
    let mut new = state.clone();
    if let Some(Value::Map(packages)) = new.attr_mut("packages") {
        for (name, package) in packages.iter_mut() {
            let installed = host.installed.get(name);
            let version = match (package.attr("version"), installed) {
                (Value::String(_), Some(installed)) => installed.version.clone().into(),
                (kept, _) => kept.clone(),
            };
            let mut read = Value::object([
                ("version", version),
                ("hold", host.held.contains(name).into()),
                (
                    "state",
                    if installed.is_some() {
                        "present"
                    } else {
                        "absent"
                    }
                    .into(),
                ),
                (
                    "installed_version",
                    installed.map(|i| i.version.clone()).into(),
                ),
            ]);
            std::mem::swap(package, &mut read);
        }
    }
    if let Some(id) = id_for(&new) {
        new.set_attr("id", id.into());
    }
    new
}

/// `HOST:NAME[=VERSION],…`: the packages to manage, with the pins the configuration has.
pub(super) fn import(schema: &Schema, id: &str) -> Result<Value, Diagnostics> {
    let invalid = |why: String| {
        Diagnostics::from(Diagnostic::error(
            "Invalid import ID",
            format!(
                "{id:?} is not HOST:NAME[=VERSION],… (e.g. 10.4.0.10:kubelet=1.30.2-1.1,jq): {why}"
            ),
        ))
    };
    let (host, list) = split_host(id).ok_or_else(|| invalid("no HOST: part".to_owned()))?;
    let mut packages = std::collections::BTreeMap::new();
    for item in list.split(',') {
        let (name, version) = match item.split_once('=') {
            Some((name, version)) => (name, Some(version)),
            None => (item, None),
        };
        check_package_name(name).map_err(|why| invalid(format!("{name:?}: {why}")))?;
        if let Some(version) = version {
            check_version(version).map_err(|why| invalid(format!("{version:?}: {why}")))?;
        }
        let package = Value::object([
            ("version", version.map(str::to_owned).into()),
            ("hold", Value::Null),
            ("state", Value::Null),
            ("installed_version", Value::Null),
        ]);
        packages.insert(name.to_owned(), package);
    }
    let mut state = schema.block.null_value();
    state.set_attr("host", host.into());
    state.set_attr("packages", Value::Map(packages));
    let id = id_for(&state);
    state.set_attr("id", id.into());
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::super::model::Installed;
    use super::*;

    fn package(version: Option<&str>) -> Value {
        Value::object([
            ("version", version.map(str::to_owned).into()),
            ("hold", false.into()),
            ("state", "present".into()),
            ("installed_version", Value::Null),
        ])
    }

    #[test]
    fn the_host_decides_everything_but_an_unpinned_version() {
        let state = Value::object([
            ("host", Value::from("h")),
            (
                "packages",
                Value::Map(
                    [
                        ("a".to_owned(), package(Some("1.0"))),
                        ("b".to_owned(), package(None)),
                        ("c".to_owned(), package(Some("3"))),
                    ]
                    .into(),
                ),
            ),
        ]);
        let host = HostPackages {
            installed: [
                (
                    "a".to_owned(),
                    Installed {
                        version: "1.1".into(),
                    },
                ),
                (
                    "b".to_owned(),
                    Installed {
                        version: "2".into(),
                    },
                ),
            ]
            .into(),
            held: ["b".to_owned()].into(),
        };
        let new = state_from_host(&state, &host);
        let packages = new.attr("packages").as_entries().unwrap();
        assert_eq!(packages["a"].attr("version").as_str(), Some("1.1"));
        assert_eq!(packages["b"].attr("version"), &Value::Null);
        assert_eq!(packages["b"].attr("hold").as_bool(), Some(true));
        assert_eq!(packages["c"].attr("state").as_str(), Some("absent"));
        assert_eq!(packages["c"].attr("version").as_str(), Some("3"));
        assert_eq!(new.attr("id").as_str(), Some("h:a,b,c"));
    }

    #[test]
    fn import_ids_carry_names_and_pins() {
        let schema = super::super::schema::schema();
        let state = import(&schema, "10.4.0.10:kubelet=1.30.2-1.1,jq").unwrap();
        let packages = state.attr("packages").as_entries().unwrap();
        assert_eq!(
            packages["kubelet"].attr("version").as_str(),
            Some("1.30.2-1.1")
        );
        assert!(packages["jq"].attr("version").is_null());
        assert_eq!(state.attr("id").as_str(), Some("10.4.0.10:jq,kubelet"));
        for bad in ["nohost", "h:", "h:$(id)", "h:a=v1", "h:ok,,x"] {
            assert!(import(&schema, bad).is_err(), "{bad}");
        }
    }
}
