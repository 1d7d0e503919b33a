//! Reading a mount back: both unit files and systemd's view of them in one round trip, and the
//! state they make.

use super::model::MountModel;
use super::unit_file::{MountSpec, parse_automount_where, parse_mount};
use crate::ssh::{Command, Session};
use crate::systemd::unit_name;
use crate::tf::{AttributePath, Diagnostic, Diagnostics};

/// Where the units are written.
pub(super) const UNIT_DIR: &str = "/etc/systemd/system";

/// For each unit: its file (size, then bytes) or `absent`, then what `systemctl is-enabled`
/// and `is-active` say. Never touches the mount point, which would trigger an automount.
const READ_SCRIPT: &str = r#"dir=$1
shift
for unit do
  f="$dir/$unit"
  if [ -f "$f" ]; then printf 'file %s\n' "$(wc -c < "$f" | tr -d ' ')"; cat -- "$f"; else echo absent; fi
  printf 'state %s\t%s\n' "$(systemctl is-enabled -- "$unit" 2>/dev/null)" "$(systemctl is-active -- "$unit" 2>/dev/null)"
done
exit 0
"#;

/// One unit as the host has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct UnitView {
    /// The unit file's text, when it exists.
    pub(super) file: Option<String>,
    /// `systemctl is-enabled` (`enabled`, `disabled`, `static`, empty when unknown).
    pub(super) enabled: String,
    /// `systemctl is-active` (`active`, `inactive`, `failed`, …).
    pub(super) active: String,
}

/// Both units of a mount.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct MountView {
    /// The `.mount` unit.
    pub(super) mount: UnitView,
    /// The `.automount` unit.
    pub(super) automount: UnitView,
}

impl MountView {
    /// The unit that is enabled and started: the automount when its file exists.
    pub(super) fn started(&self) -> &UnitView {
        if self.automount.file.is_some() {
            &self.automount
        } else {
            &self.mount
        }
    }
}

/// The names of a mount point's two units.
pub(super) fn unit_names(mount_point: &str) -> Result<(String, String), Diagnostics> {
    let invalid = |e: crate::systemd::UnitNameError| {
        Diagnostics::from(
            Diagnostic::error("Invalid mount_point", e.to_string())
                .at(AttributePath::root("mount_point")),
        )
    };
    Ok((
        unit_name(mount_point, "mount").map_err(invalid)?,
        unit_name(mount_point, "automount").map_err(invalid)?,
    ))
}

pub(super) async fn mount_view(
    session: &Session<'_>,
    mount_point: &str,
) -> Result<MountView, Diagnostics> {
    let (mount, automount) = unit_names(mount_point)?;
    let command = Command::shell_script(READ_SCRIPT).args([UNIT_DIR, &mount, &automount]);
    let host = &session.target().host;
    let output = session.run_checked(&command).await.map_err(|e| {
        Diagnostics::from(e.to_diagnostic(&format!("reading the units of {mount_point} on {host}")))
    })?;
    parse_read_output(&output.stdout).map_err(|detail| {
        Diagnostic::error(
            "Unexpected output",
            format!("Reading the units of {mount_point} on {host}: {detail}"),
        )
        .into()
    })
}

fn parse_read_output(stdout: &[u8]) -> Result<MountView, String> {
    let mut rest = stdout;
    let mut units = Vec::new();
    for _ in 0..2 {
        let mut unit = UnitView::default();
        let line = next_line(&mut rest)?;
        if let Some(size) = line.strip_prefix("file ") {
            let size: usize = size.parse().map_err(|_| format!("bad size {size:?}"))?;
            let content = rest.get(..size).ok_or("a unit file was cut short")?;
            unit.file = Some(String::from_utf8_lossy(content).into_owned());
            rest = &rest[size..];
        } else if line != "absent" {
            return Err(format!("unexpected line {line:?}"));
        }
        let state = next_line(&mut rest)?;
        let (enabled, active) = state
            .strip_prefix("state ")
            .and_then(|s| s.split_once('\t'))
            .ok_or_else(|| format!("unexpected line {state:?}"))?;
        unit.enabled = enabled.to_owned();
        unit.active = active.to_owned();
        units.push(unit);
    }
    let automount = units.pop().unwrap_or_default();
    let mount = units.pop().unwrap_or_default();
    Ok(MountView { mount, automount })
}

fn next_line(rest: &mut &[u8]) -> Result<String, String> {
    let newline = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("the output ended early")?;
    let line = String::from_utf8_lossy(&rest[..newline]).into_owned();
    *rest = &rest[newline + 1..];
    Ok(line)
}

/// The state as the host has it now; `None` when the `.mount` unit file is gone.
pub(super) fn state_from_host(
    state: &MountModel,
    host: &str,
    mount_point: &str,
    view: &MountView,
) -> Option<MountModel> {
    let text = view.mount.file.as_ref()?;
    let mut new = state.clone();
    let spec = parse_mount(text).unwrap_or(MountSpec {
        server: String::new(),
        export: String::new(),
        mount_point: String::new(),
        fs_type: String::new(),
        options: None,
    });
    new.server = spec.server;
    new.export = spec.export;
    new.fs_type = Some(spec.fs_type);
    new.options = spec.options;
    // A `Where=` edited by hand no longer matches the unit's name: systemd refuses the unit,
    // and the plan shows it as not active.
    let where_matches = spec.mount_point == mount_point
        && view
            .automount
            .file
            .as_ref()
            .is_none_or(|a| parse_automount_where(a).as_deref() == Some(mount_point));
    let started = view.started();
    new.automount = Some(view.automount.file.is_some());
    new.enabled = Some(started.enabled == "enabled");
    new.active = Some(where_matches && started.active == "active");
    new.unit_name = unit_name(mount_point, "mount").ok();
    new.id = Some(format!("{host}:{mount_point}"));
    Some(new)
}

/// Reads the mount back from its host.
pub(super) async fn read(
    session: &Session<'_>,
    state: &MountModel,
) -> Result<Option<MountModel>, Diagnostics> {
    let mount_point = &state.mount_point;
    let view = mount_view(session, mount_point).await?;
    Ok(state_from_host(
        state,
        session.target().host.as_str(),
        mount_point,
        &view,
    ))
}

/// The state an import starts from; the read that follows fills in the rest (`server` and
/// `export` stay empty until then).
pub(super) fn imported_state(id: &str) -> Result<MountModel, Diagnostics> {
    let parsed = id.find(":/").map(|split| (&id[..split], &id[split + 1..]));
    let Some((host, path)) = parsed.filter(|(host, path)| {
        !host.is_empty() && super::unit_file::check_mount_point(path).is_ok()
    }) else {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!(
                "{id:?} is not HOST:MOUNT_POINT with an absolute path, e.g. 10.4.0.11:/mnt/nfs"
            ),
        )
        .into());
    };
    Ok(MountModel {
        host: host.to_owned(),
        mount_point: path.to_owned(),
        id: Some(id.to_owned()),
        ..MountModel::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::nfs_mount::unit_file::{render_automount, render_mount};

    fn spec() -> MountSpec {
        MountSpec {
            server: "10.4.0.10".into(),
            export: "/mnt/usb1".into(),
            mount_point: "/mnt/nfs".into(),
            fs_type: "nfs".into(),
            options: None,
        }
    }

    fn output(mount: Option<&str>, automount: Option<&str>, states: [&str; 2]) -> Vec<u8> {
        let mut out = String::new();
        for (file, state) in [mount, automount].into_iter().zip(states) {
            match file {
                Some(text) => out.push_str(&format!("file {}\n{text}", text.len())),
                None => out.push_str("absent\n"),
            }
            out.push_str(&format!("state {state}\n"));
        }
        out.into_bytes()
    }

    #[test]
    fn an_enabled_active_automount_reads_as_planned() {
        let out = output(
            Some(&render_mount(&spec(), true)),
            Some(&render_automount(&spec())),
            ["static\tinactive", "enabled\tactive"],
        );
        let view = parse_read_output(&out).unwrap();
        let imported = imported_state("h:/mnt/nfs").unwrap();
        let state = state_from_host(&imported, "h", "/mnt/nfs", &view).unwrap();
        assert_eq!(state.server, "10.4.0.10");
        assert_eq!(state.automount, Some(true));
        assert_eq!(state.enabled, Some(true));
        assert_eq!(state.active, Some(true));
        assert_eq!(state.options, None);
        assert_eq!(state.unit_name.as_deref(), Some("mnt-nfs.mount"));
    }

    #[test]
    fn stopped_disabled_or_removed_units_show() {
        let out = output(
            Some(&render_mount(&spec(), true)),
            Some(&render_automount(&spec())),
            ["static\tinactive", "disabled\tinactive"],
        );
        let state = state_from_host(
            &MountModel {
                host: "h".into(),
                ..MountModel::default()
            },
            "h",
            "/mnt/nfs",
            &parse_read_output(&out).unwrap(),
        )
        .unwrap();
        assert_eq!(state.enabled, Some(false));
        assert_eq!(state.active, Some(false));
        let out = output(None, None, ["\t", "\t"]);
        assert!(
            state_from_host(
                &MountModel::default(),
                "h",
                "/mnt/nfs",
                &parse_read_output(&out).unwrap()
            )
            .is_none()
        );
    }
}
