//! `homelab_nfs_mount`'s checks before anything reaches the host, and the values known at plan
//! time (unit name, id, the unit's planned state).

use super::capability;
use super::unit_file::{FS_TYPES, check_export, check_mount_point, check_option, check_server};
use crate::registry::Context;
use crate::ssh::resource_config;
use crate::systemd::unit_name;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = resource_config::validate_resource(config);
    let mut check = |name: &str, summary: &str, result: Result<(), String>| {
        if let Err(reason) = result {
            let value = config.attr(name).as_str().unwrap_or_default();
            diagnostics.push(
                Diagnostic::error(summary, format!("{:?}: {reason}", shown(value)))
                    .at(AttributePath::root(name)),
            );
        }
    };
    if let Some(path) = config.attr("mount_point").as_str() {
        check(
            "mount_point",
            "Invalid mount_point",
            check_mount_point(path),
        );
    }
    if let Some(server) = config.attr("server").as_str() {
        check("server", "Invalid server", check_server(server));
    }
    if let Some(export) = config.attr("export").as_str() {
        check("export", "Invalid export", check_export(export));
    }
    if let Some(fs_type) = config.attr("fs_type").as_str() {
        check(
            "fs_type",
            "Invalid fs_type",
            FS_TYPES
                .contains(&fs_type)
                .then_some(())
                .ok_or_else(|| format!("use {}", FS_TYPES.join(" or "))),
        );
    }
    if let Some(options) = config.attr("options").as_elements() {
        for (index, option) in options.iter().enumerate() {
            if let Some(text) = option.as_str()
                && let Err(reason) = check_option(text)
            {
                diagnostics.push(
                    Diagnostic::error(
                        "Invalid mount option",
                        format!("{:?}: {reason}", shown(text)),
                    )
                    .at(AttributePath::root("options").index(index as i64)),
                );
            }
        }
    }
    diagnostics
}

pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Diagnostics {
    let planned = &mut change.planned;
    if let Some(path) = config.attr("mount_point").as_str() {
        if let Some(host) = config.attr("host").as_str() {
            planned.set_attr("id", Value::from(format!("{host}:{path}")));
        }
        planned.set_attr("unit_name", unit_name(path, "mount").ok().into());
    } else {
        planned.set_attr("unit_name", Value::unknown());
    }
    planned.set_attr("enabled", true.into());
    planned.set_attr("active", true.into());
    if !capabilities_need_checking(prior, config, planned) {
        return context
            .provider
            .ssh
            .check_connection(prior, config, &context.cancel)
            .await;
    }
    // The probe connects too, so it also stands for the connection check.
    let session = match context.provider.ssh.session_for(config, &context.cancel) {
        Ok(session) => session,
        Err(diagnostics) => return diagnostics,
    };
    let fs_type = planned.attr("fs_type").as_str().unwrap_or("nfs").to_owned();
    let automount = planned.attr("automount").as_bool().unwrap_or(false);
    match capability::probe(&session, &fs_type).await {
        Ok(found) => found.diagnostics(&session.target().host, &fs_type, automount),
        Err(diagnostics) => diagnostics,
    }
}

/// Whether the plan should ask the host what it offers (autofs, the NFS filesystem): on create,
/// and when the host, its connection, the filesystem type or `automount` change, once all of
/// them are known. Plans that change nothing of that cost no round trip.
fn capabilities_need_checking(prior: &Value, config: &Value, planned: &Value) -> bool {
    let known = config.attr("host").is_known()
        && config.attr("ssh").is_fully_known()
        && planned.attr("fs_type").is_known()
        && planned.attr("automount").is_known();
    let changed =
        |value: &Value, name: &str| !value.attr(name).semantically_equal(prior.attr(name));
    known
        && (prior.is_null()
            || changed(config, "host")
            || changed(config, "ssh")
            || changed(planned, "fs_type")
            || changed(planned, "automount"))
}

/// A user value cut to a length a diagnostic can show.
fn shown(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let mut base = Value::object([
            ("host", Value::from("10.4.0.11")),
            ("server", "10.4.0.10".into()),
            ("export", "/mnt/usb1".into()),
            ("mount_point", "/mnt/nfs".into()),
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
    fn the_books_mount_is_valid() {
        let options = Value::List(vec!["rw".into(), "hard".into()]);
        assert!(
            validate(&config(vec![
                ("options", options),
                ("fs_type", "nfs".into())
            ]))
            .is_empty()
        );
    }

    #[test]
    fn bad_values_name_their_attribute() {
        let bad = config(vec![
            ("mount_point", "/mnt/../etc".into()),
            ("server", "nas;reboot".into()),
            ("export", "usb1".into()),
            ("fs_type", "cifs".into()),
            (
                "options",
                Value::List(vec!["rw".into(), "x\n[Service]".into()]),
            ),
        ]);
        assert_eq!(
            paths(&validate(&bad)),
            ["mount_point", "server", "export", "fs_type", "options[1]"]
        );
        assert!(validate(&config(vec![("mount_point", Value::unknown())])).is_empty());
    }
}
