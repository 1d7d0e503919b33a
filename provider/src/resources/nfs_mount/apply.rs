//! Changing a mount on the host: write the unit files atomically, `daemon-reload`, enable and
//! (re)start the unit; when systemd cannot start it, put the previous unit files (or none)
//! back and report systemd's and mount's own messages. Delete stops, disables and removes.

use super::capability;
use super::model::MountModel;
use super::read::{MountView, UNIT_DIR, mount_view, unit_names};
use super::unit_file::{render_automount, render_mount};
use crate::ssh::{Command, Session};
use crate::tf::{AttributePath, Diagnostic, Diagnostics};

/// Writes the units (`$3`, `$5`: texts; an empty automount text removes that unit), reloads,
/// enables and restarts the started unit. Exit 3: a file could not be written; 4: systemd
/// refused to reload or enable; 5: the unit did not start, with its journal on standard error.
const INSTALL_SCRIPT: &str = r#"set -u
dir=$1 mount=$2 mount_text=$3 auto=$4 auto_text=$5
write() {
  tmp=$(mktemp "$dir/.homelab-tmp.XXXXXXXXXX") || return 1
  if printf '%s' "$2" > "$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$dir/$1"; then return 0; fi
  rm -f -- "$tmp"
  return 1
}
write "$mount" "$mount_text" || exit 3
if [ -n "$auto_text" ]; then
  write "$auto" "$auto_text" || exit 3
  started=$auto
else
  if [ -e "$dir/$auto" ]; then
    systemctl disable --now -- "$auto" >/dev/null 2>&1
    rm -f -- "$dir/$auto"
  fi
  started=$mount
fi
systemctl daemon-reload || exit 4
if [ -n "$auto_text" ]; then
  systemctl disable -- "$mount" >/dev/null 2>&1
  systemctl stop -- "$mount" >/dev/null 2>&1
fi
systemctl enable -- "$started" || exit 4
if ! systemctl restart -- "$started"; then
  journalctl --no-pager -o cat -n 6 -u "$started" >&2
  exit 5
fi
exit 0
"#;

/// Puts the previous units back: `$3`/`$5` are their texts, `$6` says which existed, `$7`
/// which was enabled and `$8` which was active (`mount`, `automount` or empty).
const ROLLBACK_SCRIPT: &str = r#"set -u
dir=$1 mount=$2 mount_text=$3 auto=$4 auto_text=$5 had=$6 enabled=$7 active=$8
systemctl stop -- "$auto" "$mount" >/dev/null 2>&1
systemctl disable -- "$auto" "$mount" >/dev/null 2>&1
for pair in "mount:$mount" "automount:$auto"; do
  kind=${pair%%:*} unit=${pair#*:} tmp=
  case " $had " in
    *" $kind "*)
      if [ "$kind" = mount ]; then text=$mount_text; else text=$auto_text; fi
      tmp=$(mktemp "$dir/.homelab-tmp.XXXXXXXXXX") && printf '%s' "$text" > "$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$dir/$unit" || rm -f -- "$tmp" ;;
    *) rm -f -- "$dir/$unit" ;;
  esac
done
systemctl daemon-reload
systemctl reset-failed -- "$mount" "$auto" >/dev/null 2>&1
case $enabled in mount) systemctl enable -- "$mount" ;; automount) systemctl enable -- "$auto" ;; esac >/dev/null 2>&1
case $active in mount) systemctl start -- "$mount" ;; automount) systemctl start -- "$auto" ;; esac >/dev/null 2>&1
exit 0
"#;

/// Stops, disables and removes both units. A mount that will not stop (busy) fails the delete
/// with systemd's message and keeps its unit files, so nothing is left mounted without a unit.
const DELETE_SCRIPT: &str = r#"set -u
dir=$1 mount=$2 auto=$3
systemctl disable --now -- "$auto" >/dev/null 2>&1
systemctl disable --now -- "$mount" >/dev/null 2>&1
systemctl stop -- "$mount" >/dev/null 2>&1
if [ "$(systemctl is-active -- "$mount" 2>/dev/null)" = active ]; then
  echo "$mount is still mounted and would not stop: $(systemctl status --no-pager -n 3 -- "$mount" 2>&1 | tail -n 3)" >&2
  exit 5
fi
rm -f -- "$dir/$auto" "$dir/$mount" || exit 3
systemctl daemon-reload || exit 4
systemctl reset-failed -- "$mount" "$auto" >/dev/null 2>&1
exit 0
"#;

/// Writes and starts the planned mount; returns the new state.
pub(super) async fn install(
    session: &Session<'_>,
    planned: MountModel,
) -> Result<MountModel, Diagnostics> {
    let spec = planned.spec();
    let automount = planned.automount();
    let (mount, auto) = unit_names(&spec.mount_point)?;
    let host = session.target().host.clone();
    // What plan checked may not have been known then (a host from another resource): check
    // again before anything is written.
    let missing = capability::probe(session, &spec.fs_type)
        .await?
        .diagnostics(&host, &spec.fs_type, automount);
    if missing.has_errors() {
        return Err(missing);
    }
    // One unit change at a time per host: daemon-reload sees every unit file.
    let _guard = session.lock_file(UNIT_DIR).await;
    let previous = mount_view(session, &spec.mount_point).await?;
    let mount_text = render_mount(&spec, automount);
    let auto_text = if automount {
        render_automount(&spec)
    } else {
        String::new()
    };
    let command = Command::shell_script(INSTALL_SCRIPT).args([
        UNIT_DIR,
        mount.as_str(),
        mount_text.as_str(),
        auto.as_str(),
        auto_text.as_str(),
    ]);
    let output = session.run(&command).await.map_err(|e| {
        Diagnostics::from(e.to_diagnostic(&format!("installing {mount} on {host}")))
    })?;
    if output.success() {
        let mut state = planned;
        state.unit_name = Some(mount);
        state.enabled = Some(true);
        state.active = Some(true);
        state.id = Some(format!("{host}:{}", spec.mount_point));
        return Ok(state);
    }
    rollback(session, &mount, &auto, &previous).await;
    let started = if automount { &auto } else { &mount };
    let doing = match output.status.code() {
        Some(3) => format!("writing the unit files of {started}"),
        Some(4) => format!("reloading systemd and enabling {started}"),
        Some(5) => format!("starting {started}"),
        _ => format!("installing {started}"),
    };
    let error = Diagnostic::error(
        format!("systemd could not start {started}"),
        format!(
            "{doing} on {host} failed ({}):\n{}\nThe previous unit files were put back and \
             reloaded; nothing was changed.",
            output.status,
            output.stderr_text()
        ),
    );
    // A unit that did not start is about the whole mount (server, export, options); the other
    // failures are about the files its mount point names.
    Err(if output.status.code() == Some(5) {
        error.into()
    } else {
        error.at(AttributePath::root("mount_point")).into()
    })
}

/// Restores the units as `previous` saw them. Best effort: the apply fails either way, and the
/// next refresh shows whatever the host has.
async fn rollback(session: &Session<'_>, mount: &str, auto: &str, previous: &MountView) {
    let mut had = Vec::new();
    if previous.mount.file.is_some() {
        had.push("mount");
    }
    if previous.automount.file.is_some() {
        had.push("automount");
    }
    let which = |test: &dyn Fn(&super::read::UnitView) -> bool| {
        if previous.automount.file.is_some() && test(&previous.automount) {
            "automount"
        } else if previous.mount.file.is_some() && test(&previous.mount) {
            "mount"
        } else {
            ""
        }
    };
    let enabled = which(&|u| u.enabled == "enabled");
    let active = which(&|u| u.active == "active");
    let command = Command::shell_script(ROLLBACK_SCRIPT).args([
        UNIT_DIR,
        mount,
        previous.mount.file.as_deref().unwrap_or_default(),
        auto,
        previous.automount.file.as_deref().unwrap_or_default(),
        &had.join(" "),
        enabled,
        active,
    ]);
    let _ = session.run(&command).await;
}

/// Stops, disables and removes the mount's units.
pub(super) async fn delete(session: &Session<'_>, prior: &MountModel) -> Result<(), Diagnostics> {
    let (mount, auto) = unit_names(&prior.mount_point)?;
    let host = session.target().host.clone();
    let _guard = session.lock_file(UNIT_DIR).await;
    session
        .run_checked(&Command::shell_script(DELETE_SCRIPT).args([UNIT_DIR, &mount, &auto]))
        .await
        .map(|_| ())
        .map_err(|e| Diagnostics::from(e.to_diagnostic(&format!("removing {mount} on {host}"))))
}
