//! `homelab_nfs_mount`'s checks before anything reaches the host, and the values known at plan
//! time (unit name, id, the unit's planned state).

use super::capability;
use super::model::{MountModel, PlannedMount};
use super::schema::state_type;
use super::unit_file::{FS_TYPES, check_export, check_mount_point, check_option, check_server};
use crate::registry::Context;
use crate::ssh::resource_config::{PlannedSshOverride, validate_host_and_ssh};
use crate::systemd::unit_name;
use crate::tf::model::{self as typed, Planned};
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

pub(super) fn validate(config: &PlannedMount) -> Diagnostics {
    let mut diagnostics = validate_host_and_ssh(
        config.host.known().map(String::as_str),
        config.ssh.known().and_then(Option::as_ref),
    );
    let mut check = |name: &str, summary: &str, value: &str, result: Result<(), String>| {
        if let Err(reason) = result {
            diagnostics.push(
                Diagnostic::error(summary, format!("{:?}: {reason}", shown(value)))
                    .at(AttributePath::root(name)),
            );
        }
    };
    if let Planned::Known(path) = &config.mount_point {
        check(
            "mount_point",
            "Invalid mount_point",
            path,
            check_mount_point(path),
        );
    }
    if let Planned::Known(server) = &config.server {
        check("server", "Invalid server", server, check_server(server));
    }
    if let Planned::Known(export) = &config.export {
        check("export", "Invalid export", export, check_export(export));
    }
    if let Some(fs_type) = config.fs_type.as_str() {
        check(
            "fs_type",
            "Invalid fs_type",
            fs_type,
            FS_TYPES
                .contains(&fs_type)
                .then_some(())
                .ok_or_else(|| format!("use {}", FS_TYPES.join(" or "))),
        );
    }
    if let Some(options) = config.options.value() {
        for (index, option) in options.iter().enumerate() {
            if let Planned::Known(text) = option
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
) -> Result<Diagnostics, Diagnostics> {
    let config: PlannedMount = typed::from_value(config)?;
    let prior: Option<MountModel> = typed::from_value(prior)?;
    let mut planned: PlannedMount = typed::from_value(&change.planned)?;
    if let Planned::Known(path) = &config.mount_point {
        if let Planned::Known(host) = &config.host {
            planned.id = Planned::Known(Some(format!("{host}:{path}")));
        }
        planned.unit_name = Planned::Known(unit_name(path, "mount").ok());
    } else {
        planned.unit_name = Planned::Unknown;
    }
    planned.enabled = Planned::Known(Some(true));
    planned.active = Planned::Known(Some(true));
    change.planned = typed::to_planned_value(&planned, &state_type(), &change.planned)?;
    // Nothing to try while the host or its connection settings are not known.
    let (Planned::Known(host), Ok(ssh)) = (&config.host, config.known_ssh()) else {
        return Ok(Diagnostics::new());
    };
    let probe = capabilities_need_checking(prior.as_ref(), &config, &planned);
    // New or changed connection settings are tried at plan time, so a wrong host key or an
    // unreachable host fails the plan, not the apply; the probe connects too, so it also
    // stands for the connection check.
    if !probe && !connection_changed(prior.as_ref(), &config) {
        return Ok(Diagnostics::new());
    }
    // The one session of this plan.
    let session = context
        .provider
        .ssh
        .session_to(host, ssh.as_ref(), &context.cancel)?;
    if !probe {
        return Ok(match session.verify().await {
            Ok(()) => Diagnostics::new(),
            Err(e) => e
                .to_diagnostic(&format!("connecting to {}", session.target().host))
                .into(),
        });
    }
    let fs_type = planned.fs_type.as_str().unwrap_or("nfs").to_owned();
    let automount = planned.automount.value().copied().unwrap_or(false);
    Ok(match capability::probe(&session, &fs_type).await {
        Ok(found) => found.diagnostics(&session.target().host, &fs_type, automount),
        Err(diagnostics) => diagnostics,
    })
}

/// Whether `host` or the `ssh` block differ from the prior state's (or there is none).
fn connection_changed(prior: Option<&MountModel>, config: &PlannedMount) -> bool {
    prior.is_none_or(|prior| {
        config.host != Planned::Known(prior.host.clone())
            || config.ssh != Planned::Known(prior.ssh.as_ref().map(PlannedSshOverride::from))
    })
}

/// Whether the plan should ask the host what it offers (autofs, the NFS filesystem): on create,
/// and when the host, its connection, the filesystem type or `automount` change, once all of
/// them are known. Plans that change nothing of that cost no round trip.
fn capabilities_need_checking(
    prior: Option<&MountModel>,
    config: &PlannedMount,
    planned: &PlannedMount,
) -> bool {
    let known = planned.fs_type.is_known() && planned.automount.is_known();
    known
        && (connection_changed(prior, config)
            || prior.is_some_and(|prior| {
                planned.fs_type != Planned::Known(prior.fs_type.clone())
                    || planned.automount != Planned::Known(prior.automount)
            }))
}

/// A user value cut to a length a diagnostic can show.
fn shown(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::super::NfsMount;
    use super::*;
    use crate::registry::Resource;

    fn validate(config: &Value) -> Diagnostics {
        NfsMount.validate(config)
    }

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
