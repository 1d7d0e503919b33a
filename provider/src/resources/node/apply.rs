//! Create, update and delete: read the host, work out the changes, then one fixed script that
//! checks first (time zone exists, modules load, the new sysctl file applies) and only then
//! writes files and changes live settings; a failed check restores what it touched. With
//! `reboot = "if_needed"`, a change that needs a reboot is followed by one and a wait for SSH.

use std::time::{Duration, Instant};

use super::changes::{Changes, FileAction, changes};
use super::read::read_host;
use super::schema::DEFAULT_TIMEOUT;
use super::settings::Settings;
use super::sysctl::key_in_message;
use crate::registry::Context;
use crate::ssh::{Command, Output, Session};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value, timeouts};

/// The fixed apply script. `$1` time zone to check, `$2` modules to load, `$3` the new sysctl
/// file (empty: none), `$4` its keys, `$5` host name to set live, `$6` `1` for swapoff, `$7`
/// `VERB UNIT` lines for systemctl; then file edits as `ACTION OWNER PATH CONTENT` quadruples.
/// Exit codes 10-12 are failed checks (nothing written), 20-23 failed changes.
const APPLY_SCRIPT: &str = r#"LC_ALL=C
export LC_ALL
zone=$1 modules=$2 sysctl_text=$3 sysctl_keys=$4 new_hostname=$5 swapoff=$6 units=$7
shift 7
valid() { case $1 in ''|-*|*..*|*[!A-Za-z0-9_./-]*) return 1 ;; esac; }
if [ -n "$zone" ] && [ ! -f "/usr/share/zoneinfo/$zone" ]; then
  echo "unknown time zone: /usr/share/zoneinfo/$zone does not exist" >&2; exit 10
fi
loaded_now=
unload_new() { for m in $loaded_now; do modprobe -r -q -- "$m" 2>/dev/null; done; }
for m in $modules; do
  valid "$m" || continue
  if ! out=$(modprobe -- "$m" 2>&1); then unload_new; printf '%s\n' "$out" >&2; exit 11; fi
  loaded_now="$loaded_now $m"
done
sysctl_tmp=
if [ -n "$sysctl_text" ]; then
  mkdir -p /etc/sysctl.d
  sysctl_tmp=/etc/sysctl.d/.99-homelab.conf.new
  saved=/etc/sysctl.d/.99-homelab.conf.saved
  printf '%s' "$sysctl_text" > "$sysctl_tmp" || exit 20
  : > "$saved"
  for k in $sysctl_keys; do
    valid "$k" || continue
    p=/proc/sys/$(printf '%s' "$k" | tr './' '/.')
    [ -r "$p" ] && v=$(cat "$p" 2>/dev/null) && printf '%s = %s\n' "$k" "$v" >> "$saved"
  done
  if ! out=$(sysctl -q -p "$sysctl_tmp" 2>&1 >/dev/null) || [ -n "$out" ]; then
    sysctl -q -p "$saved" >/dev/null 2>&1
    rm -f "$sysctl_tmp" "$saved"
    unload_new
    printf '%s\n' "$out" >&2; exit 12
  fi
  rm -f "$saved"
fi
write_file() {
  tmp="${1%/*}/.${1##*/}.homelab-new"
  printf '%s' "$2" > "$tmp" || return 1
  if [ -e "$1" ]; then
    chmod --reference="$1" "$tmp" 2>/dev/null; chown --reference="$1" "$tmp" 2>/dev/null
  else
    chmod "$3" "$tmp" && { [ -z "$4" ] || chown "$4:" "$tmp"; } || return 1
  fi
  mv -f "$tmp" "$1" 2>/dev/null || { cat "$tmp" > "$1" && rm -f "$tmp"; }
}
if [ -n "$sysctl_tmp" ]; then mv -f "$sysctl_tmp" /etc/sysctl.d/99-homelab.conf || exit 20; fi
while [ $# -ge 4 ]; do
  action=$1 owner=$2 path=$3 content=$4
  shift 4
  case $action in
    write) mkdir -p "${path%/*}" && write_file "$path" "$content" 644 "" ;;
    user)
      # Written as the user, never as root: the user owns ~/.ssh and could plant links there.
      printf '%s' "$content" | runuser -u "$owner" -- sh -c '
        umask 077; f=$1; d=${f%/*}
        [ -d "$d" ] || mkdir -p "$d" || exit 1
        t=$(mktemp "$d/.authorized_keys.XXXXXX") || exit 1
        cat > "$t" && chmod 600 "$t" && mv -f "$t" "$f" || { rm -f "$t"; exit 1; }' sh "$path" ;;
    link) ln -sfn "$content" "$path.homelab-new" && mv -fT "$path.homelab-new" "$path" ;;
    remove) rm -f "$path" ;;
  esac || { echo "cannot write $path" >&2; exit 20; }
done
if [ -n "$new_hostname" ]; then
  out=$(hostname "$new_hostname" 2>&1) || out=$(hostnamectl set-hostname "$new_hostname" 2>&1) ||
    { printf '%s\n' "$out" >&2; exit 21; }
fi
if [ "$swapoff" = 1 ]; then out=$(swapoff -a 2>&1) || { printf '%s\n' "$out" >&2; exit 22; }; fi
printf '%s\n' "$units" | while read -r verb unit; do
  [ -n "$unit" ] || continue
  case $verb in disable|mask) now=--now ;; *) now= ;; esac
  out=$(systemctl "$verb" $now -- "$unit" 2>&1) || { printf '%s\n' "$out" >&2; exit 23; }
done || exit 23
exit 0
"#;

/// Creates or updates: takes the host to the planned settings; returns the new state.
pub(super) async fn apply(
    context: &Context,
    planned: &Value,
    operation: &str,
) -> Result<Value, Diagnostics> {
    let wanted = Settings::from_value(planned);
    let session = context.provider.ssh.session_for(planned, &context.cancel)?;
    let (changes, boot_id) = converge(&session, &wanted).await?;
    let mut state = planned.clone();
    let mut reboot_required = changes.record.reboot_pending.as_deref() == Some(boot_id.as_str());
    if reboot_required && wanted.reboot_if_needed {
        let timeout = timeouts::timeout(planned, operation, DEFAULT_TIMEOUT);
        reboot_and_wait(&session, &boot_id, timeout, operation).await?;
        reboot_required = false;
    }
    state.set_attr("reboot_required", Value::from(reboot_required));
    state.set_attr("id", Value::from(session.target().host.clone()));
    Ok(state)
}

/// Deletes: takes back everything the record says the resource added.
pub(super) async fn delete(context: &Context, prior: &Value) -> Result<(), Diagnostics> {
    let session = context.provider.ssh.session_for(prior, &context.cancel)?;
    converge(&session, &Settings::default()).await.map(|_| ())
}

/// Reads the host, works out the changes and makes them; returns them with the boot ID.
async fn converge(
    session: &Session<'_>,
    wanted: &Settings,
) -> Result<(Changes, String), Diagnostics> {
    // Other resources (homelab_file) may edit /etc/hosts: hold its lock from read to write.
    let _guard = session.lock_file("/etc/hosts").await;
    let host = read_host(session, wanted).await?;
    let changes = changes(wanted, &host).map_err(Diagnostics::from)?;
    if !changes.is_empty() {
        let output = session
            .run(&apply_command(&changes))
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic(&target_text(session, "changing"))))?;
        if !output.success() {
            return Err(failure(session, &output).into());
        }
    }
    Ok((changes, host.boot_id))
}

fn apply_command(changes: &Changes) -> Command {
    let (sysctl_text, sysctl_keys) = changes
        .sysctl_file
        .clone()
        .map(|(text, keys)| (text, keys.join("\n")))
        .unwrap_or_default();
    let units: Vec<String> = changes
        .unit_actions
        .iter()
        .map(|(verb, unit)| format!("{verb} {unit}"))
        .collect();
    let mut command = Command::shell_script(APPLY_SCRIPT)
        .arg(changes.timezone_check.clone().unwrap_or_default())
        .arg(changes.modules_to_load.join("\n"))
        .arg(sysctl_text)
        .arg(sysctl_keys)
        .arg(changes.hostname_live.clone().unwrap_or_default())
        .arg(if changes.swapoff { "1" } else { "" })
        .arg(units.join("\n"));
    for edit in &changes.files {
        let (action, owner) = match &edit.action {
            FileAction::Write => ("write", ""),
            FileAction::WriteForUser(user) => ("user", user.as_str()),
            FileAction::Link => ("link", ""),
            FileAction::Remove => ("remove", ""),
        };
        command = command
            .arg(action)
            .arg(owner)
            .arg(&edit.path)
            .arg(&edit.content);
    }
    command
}

fn target_text(session: &Session<'_>, doing: &str) -> String {
    format!("{doing} {}", session.target().host)
}

/// The diagnostic for a failed apply script, naming the attribute and quoting the tool.
fn failure(session: &Session<'_>, output: &Output) -> Diagnostic {
    let host = &session.target().host;
    let message = output.stderr_text();
    let nothing_changed = "Nothing was changed on the host.";
    let (summary, detail, path) = match output.status.code() {
        Some(10) => (
            "Unknown time zone",
            format!("{host}: {message}. {nothing_changed}"),
            AttributePath::root("timezone"),
        ),
        Some(11) => (
            "Kernel module cannot be loaded",
            format!("modprobe on {host} failed:\n{message}\n{nothing_changed}"),
            AttributePath::root("kernel_modules"),
        ),
        Some(12) => (
            "sysctl refused the settings",
            format!(
                "sysctl -p on {host} failed:\n{message}\nEvery value was restored and no file \
                 was written. {nothing_changed}"
            ),
            key_in_message(&message).map_or(AttributePath::root("sysctl"), |key| {
                AttributePath::root("sysctl").key(&key)
            }),
        ),
        Some(21) => (
            "Cannot set the host name",
            format!("{host}: {message}"),
            AttributePath::root("hostname"),
        ),
        Some(22 | 23) => (
            "Cannot turn swap off",
            format!("{host}: {message}"),
            AttributePath::root("swap"),
        ),
        _ => (
            "Cannot change the node",
            format!("{host}: {message} ({})", output.status),
            AttributePath::default(),
        ),
    };
    let diagnostic = Diagnostic::error(summary, detail);
    if path.0.is_empty() {
        diagnostic
    } else {
        diagnostic.at(path)
    }
}

/// Reboots the host and waits until SSH answers with a new boot ID, within `timeout`.
async fn reboot_and_wait(
    session: &Session<'_>,
    old_boot_id: &str,
    timeout: Duration,
    operation: &str,
) -> Result<(), Diagnostics> {
    let started = Instant::now();
    // Detached and a moment later, so this command returns before the connection drops.
    let reboot = Command::shell_script(
        "setsid sh -c 'sleep 1; systemctl reboot || reboot' >/dev/null 2>&1 </dev/null &",
    );
    session
        .run_checked(&reboot)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic(&target_text(session, "rebooting"))))?;
    let probe = Command::new("cat")
        .arg("/proc/sys/kernel/random/boot_id")
        .timeout(Duration::from_secs(15));
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        if let Ok(output) = session.run(&probe).await {
            let boot_id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if output.success() && !boot_id.is_empty() && boot_id != old_boot_id {
                return Ok(());
            }
        }
        if started.elapsed() >= timeout {
            return Err(Diagnostic::error(
                "Node did not come back",
                format!(
                    "{} was rebooted but SSH did not answer with a new boot ID within the {} \
                     timeout of {}.",
                    session.target().host,
                    operation,
                    timeouts::format_duration(timeout)
                ),
            )
            .into());
        }
    }
}
