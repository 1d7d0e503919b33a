//! Changing HAProxy on the host: the candidate file checked with `haproxy -c -f`, moved into
//! place, activated with a reload (or a start) that is only trusted once a new worker answers
//! on the stats socket; the previous file and unit state put back on any failure, with
//! HAProxy's own words. Delete puts back what create found.

use super::convert::settings;
use super::haproxy_cfg::{SOCKET_PATH, render};
use super::model::LoadBalancerModel;
use super::read::{
    CONFIG_PATH, ORIGINAL_PATH, RECORD_PATH, SOCKET_FUNCTION, host_view, live_servers,
    set_live_state,
};
use crate::ssh::{Command, Session};
use crate::tf::{Diagnostic, Diagnostics};

/// `$1` config, `$2` new text, `$3` record, `$4` original copy, `$5` socket. Exit 10: no
/// haproxy; 3: a file could not be written; 4: `haproxy -c` refused the candidate (its output
/// on stderr); 5: HAProxy did not come up with the new file (the journal's alerts on stderr,
/// everything put back).
const INSTALL_SCRIPT: &str = r#"set -u
cfg=$1 text=$2 record=$3 original=$4 sock=$5
dir=${cfg%/*}
command -v haproxy >/dev/null 2>&1 || { echo "haproxy is not installed" >&2; exit 10; }
since=$(date +%s)
was_enabled=$(systemctl is-enabled haproxy.service 2>/dev/null)
was_active=$(systemctl is-active haproxy.service 2>/dev/null)
new_record=
if [ ! -f "$record" ]; then
  had=0
  if [ -f "$cfg" ]; then cp -p -- "$cfg" "$original" || exit 3; had=1; fi
  printf 'enabled=%s\nactive=%s\nhad=%s\n' "$was_enabled" "$was_active" "$had" > "$record.tmp" && mv -f -- "$record.tmp" "$record" || exit 3
  new_record=1
fi
forget() { if [ -n "$new_record" ]; then rm -f -- "$record" "$original"; fi; }
tmp=$(mktemp "$dir/.homelab-tmp.XXXXXXXXXX") || { forget; exit 3; }
if ! { printf '%s' "$text" > "$tmp" && chmod 0644 "$tmp"; }; then rm -f -- "$tmp"; forget; exit 3; fi
if ! msg=$(haproxy -c -f "$tmp" 2>&1); then
  rm -f -- "$tmp"
  forget
  printf '%s\n' "$msg" | sed "s#$tmp#$cfg (candidate)#g" >&2
  exit 4
fi
prev=
if [ -f "$cfg" ]; then
  prev=$(mktemp "$dir/.homelab-prev.XXXXXXXXXX") && cp -p -- "$cfg" "$prev" || { rm -f -- "$tmp" "$prev"; forget; exit 3; }
fi
mv -f -- "$tmp" "$cfg" || { rm -f -- "$tmp" "$prev"; forget; exit 3; }
old_pid=$(hactl 'show info' | sed -n 's/^Pid: //p')
systemctl enable haproxy.service >/dev/null 2>&1
if [ "$was_active" = active ]; then
  systemctl reload haproxy.service >/dev/null 2>&1
else
  systemctl reset-failed haproxy.service >/dev/null 2>&1
  systemctl start haproxy.service >/dev/null 2>&1
fi
i=0
while [ $i -lt 50 ]; do
  pid=$(hactl 'show info' | sed -n 's/^Pid: //p')
  if [ -n "$pid" ] && [ "$pid" != "$old_pid" ] && [ "$(systemctl is-active haproxy.service)" = active ]; then
    rm -f -- "$prev"
    exit 0
  fi
  sleep 0.2
  i=$((i + 1))
done
alerts=$(journalctl -u haproxy.service --since "@$since" -o cat --no-pager 2>/dev/null)
if printf '%s\n' "$alerts" | grep -q 'ALERT'; then
  printf '%s\n' "$alerts" | grep 'ALERT' | tail -n 8 >&2
else
  printf '%s\n' "$alerts" | tail -n 8 >&2
fi
if [ -n "$prev" ]; then mv -f -- "$prev" "$cfg"; else rm -f -- "$cfg"; fi
if [ "$was_active" = active ]; then
  systemctl reload haproxy.service >/dev/null 2>&1 || systemctl restart haproxy.service >/dev/null 2>&1
else
  systemctl stop haproxy.service >/dev/null 2>&1
  systemctl reset-failed haproxy.service >/dev/null 2>&1
fi
[ "$was_enabled" = enabled ] || systemctl disable haproxy.service >/dev/null 2>&1
forget
exit 5
"#;

/// `$1` config, `$2` record, `$3` original copy. Without a record (an imported HAProxy) nothing
/// is touched; with one, the file and the unit's enabled and active state go back to what
/// create found, and the record and copy are removed.
const DELETE_SCRIPT: &str = r#"set -u
cfg=$1 record=$2 original=$3
[ -f "$record" ] || exit 0
field() { sed -n "s/^$1=//p" "$record"; }
was_enabled=$(field enabled) was_active=$(field active) had=$(field had)
if [ "$had" = 1 ]; then
  mv -f -- "$original" "$cfg" || exit 3
else
  rm -f -- "$cfg" || exit 3
fi
if [ "$was_active" = active ]; then
  systemctl reload-or-restart haproxy.service >&2 || exit 4
else
  systemctl stop haproxy.service >/dev/null 2>&1
  systemctl reset-failed haproxy.service >/dev/null 2>&1
fi
if [ "$was_enabled" = enabled ]; then
  systemctl enable haproxy.service >/dev/null 2>&1
else
  systemctl disable haproxy.service >/dev/null 2>&1
fi
rm -f -- "$record" "$original"
exit 0
"#;

/// Writes, checks and activates the planned configuration; returns the new state.
pub(super) async fn install(
    session: &Session<'_>,
    planned: LoadBalancerModel,
) -> Result<LoadBalancerModel, Diagnostics> {
    let lb = settings(&planned)?;
    let text = render(&lb);
    let host = session.target().host.clone();
    let _guard = session.lock_file(CONFIG_PATH).await;
    let script = format!("{SOCKET_FUNCTION}{INSTALL_SCRIPT}");
    let command = Command::shell_script(script).args([
        CONFIG_PATH,
        text.as_str(),
        RECORD_PATH,
        ORIGINAL_PATH,
        SOCKET_PATH,
    ]);
    let output = session.run(&command).await.map_err(|e| {
        Diagnostics::from(e.to_diagnostic(&format!("installing HAProxy's configuration on {host}")))
    })?;
    if !output.success() {
        let stderr = output.stderr_text();
        let (summary, doing) = match output.status.code() {
            Some(10) => (
                format!("HAProxy is not installed on {host}"),
                "Install the `haproxy` package (e.g. with homelab_packages) first.".to_owned(),
            ),
            Some(4) => (
                "HAProxy refused the configuration".to_owned(),
                format!(
                    "`haproxy -c` on {host} rejected the new file; nothing was changed:\n{stderr}"
                ),
            ),
            Some(5) => (
                "HAProxy could not start the configuration".to_owned(),
                format!(
                    "HAProxy on {host} did not come up with the new file; the previous file \
                     and service state were put back and the old configuration still \
                     serves. HAProxy said:\n{stderr}"
                ),
            ),
            _ => (
                "Could not write HAProxy's configuration".to_owned(),
                format!(
                    "Writing {CONFIG_PATH} on {host} failed ({}):\n{stderr}",
                    output.status
                ),
            ),
        };
        return Err(Diagnostic::error(summary, doing).into());
    }
    // The first checks run right after the reload: the state returned is the one they
    // settle on (bounded), so the next refresh reads the same.
    let mut view = host_view(session).await?;
    for _ in 0..40 {
        if live_servers(&view).iter().all(|s| s.settled) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        view = host_view(session).await?;
    }
    let mut state = planned;
    state.config_in_sync = Some(true);
    state.enabled = Some(true);
    state.active = Some(true);
    state.runtime_in_sync = Some(true);
    set_live_state(&mut state, &live_servers(&view));
    state.id = Some(host);
    Ok(state)
}

/// Puts back what create found.
pub(super) async fn delete(session: &Session<'_>) -> Result<(), Diagnostics> {
    let host = session.target().host.clone();
    let _guard = session.lock_file(CONFIG_PATH).await;
    let command =
        Command::shell_script(DELETE_SCRIPT).args([CONFIG_PATH, RECORD_PATH, ORIGINAL_PATH]);
    session
        .run_checked(&command)
        .await
        .map(|_| ())
        .map_err(|e| {
            Diagnostics::from(e.to_diagnostic(&format!(
                "restoring HAProxy's previous configuration on {host}"
            )))
        })
}
