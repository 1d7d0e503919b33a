//! Reading the load balancer back in one round trip: whether HAProxy is installed, the unit's
//! enabled and active state, the configuration file, and `show stat` from the resource's own
//! stats socket; and the state those make.

use std::collections::BTreeMap;

use super::convert::settings;
use super::haproxy_cfg::{self, SOCKET_PATH};
use super::model::{
    FrontendModel, LoadBalancerModel, PrometheusModel, ServerModel, ServerStatus, StatsModel,
};
use super::settings::{CheckKind, Frontend, LoadBalancer};
use super::stats::{ServerState, parse_show_stat};
use crate::ssh::{Command, Session};
use crate::tf::{Diagnostic, Diagnostics};

/// The file the resource owns: the one Debian's `haproxy.service` reads.
pub(super) const CONFIG_PATH: &str = "/etc/haproxy/haproxy.cfg";

/// What create found before it wrote anything (`enabled active had_file`), for destroy.
pub(super) const RECORD_PATH: &str = "/etc/haproxy/.homelab-load-balancer.record";

/// The file the package installed (or the one there before create), kept for destroy.
pub(super) const ORIGINAL_PATH: &str = "/etc/haproxy/.homelab-load-balancer.original";

/// `hactl COMMAND`: one command on the stats socket through the host's perl (perl-base is
/// essential on Debian, so no socat is needed); fails when nothing answers.
pub(super) const SOCKET_FUNCTION: &str = r#"hactl() {
  perl -MIO::Socket::UNIX -e 'my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1; print $s "$ARGV[1]\n"; my $n = 0; while (<$s>) { print; $n++ } exit($n ? 0 : 1)' "$sock" "$1" 2>/dev/null
}
"#;

/// `$1` config file, `$2` socket, `$3` record. Prints `installed`/`missing`, the unit's
/// state, `recorded`/`unrecorded`, the file (size, bytes) or `absent`, then `show stat`
/// (size, bytes) or `nostat`.
const READ_SCRIPT: &str = r#"cfg=$1 sock=$2 record=$3
if command -v haproxy >/dev/null 2>&1; then echo installed; else echo missing; fi
printf 'unit %s\t%s\n' "$(systemctl is-enabled haproxy.service 2>/dev/null)" "$(systemctl is-active haproxy.service 2>/dev/null)"
if [ -f "$record" ]; then echo recorded; else echo unrecorded; fi
if [ -f "$cfg" ]; then printf 'file %s\n' "$(wc -c < "$cfg" | tr -d ' ')"; cat -- "$cfg"; else echo absent; fi
if out=$(hactl 'show stat'); then
  printf 'stat %s\n' "$(printf '%s' "$out" | wc -c | tr -d ' ')"
  printf '%s' "$out"
else
  echo nostat
fi
exit 0
"#;

/// HAProxy on the host as one read saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct HostView {
    /// `haproxy` is on the PATH.
    pub(super) installed: bool,
    /// `systemctl is-enabled haproxy.service`.
    pub(super) enabled: String,
    /// `systemctl is-active haproxy.service`.
    pub(super) active: String,
    /// The resource's record of what was there before create exists.
    pub(super) recorded: bool,
    /// The configuration file's text.
    pub(super) file: Option<String>,
    /// `show stat` from the resource's socket, when it answered.
    pub(super) stat: Option<String>,
}

/// Reads the host in one round trip.
pub(super) async fn host_view(session: &Session<'_>) -> Result<HostView, Diagnostics> {
    let script = format!("{SOCKET_FUNCTION}{READ_SCRIPT}");
    let command = Command::shell_script(script).args([CONFIG_PATH, SOCKET_PATH, RECORD_PATH]);
    let host = &session.target().host;
    let output = session
        .run_checked(&command)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic(&format!("reading HAProxy on {host}"))))?;
    parse_read_output(&output.stdout).map_err(|detail| {
        Diagnostic::error(
            "Unexpected output",
            format!("Reading HAProxy on {host}: {detail}"),
        )
        .into()
    })
}

fn parse_read_output(stdout: &[u8]) -> Result<HostView, String> {
    let mut rest = stdout;
    let mut view = HostView {
        installed: next_line(&mut rest)? == "installed",
        ..HostView::default()
    };
    let unit = next_line(&mut rest)?;
    let (enabled, active) = unit
        .strip_prefix("unit ")
        .and_then(|s| s.split_once('\t'))
        .ok_or_else(|| format!("unexpected line {unit:?}"))?;
    view.enabled = enabled.to_owned();
    view.active = active.to_owned();
    view.recorded = next_line(&mut rest)? == "recorded";
    view.file = sized_block(&mut rest, "file ", "absent")?;
    view.stat = sized_block(&mut rest, "stat ", "nostat")?;
    Ok(view)
}

/// `PREFIX SIZE` then SIZE bytes, or the `absent` word.
fn sized_block(rest: &mut &[u8], prefix: &str, absent: &str) -> Result<Option<String>, String> {
    let line = next_line(rest)?;
    if line == absent {
        return Ok(None);
    }
    let size = line
        .strip_prefix(prefix)
        .ok_or_else(|| format!("unexpected line {line:?}"))?;
    let size: usize = size.parse().map_err(|_| format!("bad size {size:?}"))?;
    let content = rest.get(..size).ok_or("the output was cut short")?;
    *rest = &rest[size..];
    Ok(Some(String::from_utf8_lossy(content).into_owned()))
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

/// The live servers of a view (none when the socket did not answer).
pub(super) fn live_servers(view: &HostView) -> Vec<ServerState> {
    view.stat
        .as_deref()
        .and_then(|text| parse_show_stat(text).ok())
        .unwrap_or_default()
}

/// The state as the host has it now; `None` when the configuration file is gone.
pub(super) fn state_from_host(
    state: &LoadBalancerModel,
    host: &str,
    view: &HostView,
) -> Option<LoadBalancerModel> {
    let text = view.file.as_ref()?;
    let mut new = state.clone();
    let parsed = haproxy_cfg::parse(text);
    let in_sync = parsed
        .as_ref()
        .is_ok_and(|lb| haproxy_cfg::render(lb) == *text);
    // The user's spelling stays in state when the file means the same; otherwise the file's
    // values replace it, so the plan shows what changed.
    if let Ok(on_host) = &parsed
        && settings(state).ok().as_ref() != Some(on_host)
    {
        write_settings(&mut new, on_host);
    }
    let servers = live_servers(view);
    let answered = view.stat.is_some();
    new.config_in_sync = Some(in_sync);
    new.enabled = Some(view.enabled == "enabled");
    new.active = Some(view.active == "active" && answered);
    new.runtime_in_sync = Some(
        !servers
            .iter()
            .any(|s| s.status == "MAINT" || s.status == "DRAIN"),
    );
    set_live_state(&mut new, &servers);
    new.id = Some(host.to_owned());
    Some(new)
}

/// `servers_up` and `server_status` from the live servers.
pub(super) fn set_live_state(state: &mut LoadBalancerModel, servers: &[ServerState]) {
    let up = servers.iter().filter(|s| s.is_up()).count() as i64;
    let status: BTreeMap<String, ServerStatus> = servers
        .iter()
        .map(|s| {
            (
                format!("{}/{}", s.backend, s.server),
                ServerStatus {
                    frontend: s.backend.clone(),
                    server: s.server.clone(),
                    status: s.status.clone(),
                    last_check: s.last_check.clone(),
                },
            )
        })
        .collect();
    state.servers_up = Some(up);
    state.server_status = Some(status);
}

/// Writes the settings into a state's configuration attributes, as the host has them.
pub(super) fn write_settings(state: &mut LoadBalancerModel, lb: &LoadBalancer) {
    state.frontend = Some(lb.frontends.iter().map(frontend_model).collect());
    state.stats = lb.stats.as_ref().map(|stats| StatsModel {
        bind: stats.bind.to_string(),
        uri: Some(stats.uri.clone()),
    });
    state.prometheus = lb.prometheus.as_ref().map(|prometheus| PrometheusModel {
        bind: prometheus.bind.to_string(),
        path: Some(prometheus.path.clone()),
    });
}

fn frontend_model(frontend: &Frontend) -> FrontendModel {
    let (check, check_path, check_ca_file) = match &frontend.check.kind {
        CheckKind::Tcp => ("tcp", None, None),
        CheckKind::Https { path, ca_file } => ("https", Some(path.clone()), ca_file.clone()),
    };
    let servers = frontend
        .servers
        .iter()
        .map(|(name, server)| {
            let server = ServerModel {
                address: server.address.clone(),
                port: i64::from(server.port),
                weight: Some(i64::from(server.weight)),
                backup: Some(server.backup),
            };
            (name.clone(), server)
        })
        .collect();
    FrontendModel {
        name: frontend.name.clone(),
        bind: frontend.binds.iter().map(ToString::to_string).collect(),
        timeout_client: Some(frontend.timeout_client.clone()),
        timeout_connect: Some(frontend.timeout_connect.clone()),
        timeout_server: Some(frontend.timeout_server.clone()),
        balance: Some(frontend.balance.clone()),
        check: Some(check.to_owned()),
        check_path,
        check_ca_file,
        inter: Some(frontend.check.inter.clone()),
        fall: Some(i64::from(frontend.check.fall)),
        rise: Some(i64::from(frontend.check.rise)),
        servers,
    }
}

/// Reads the load balancer back from its host.
pub(super) async fn read(
    session: &Session<'_>,
    state: &LoadBalancerModel,
) -> Result<Option<LoadBalancerModel>, Diagnostics> {
    let view = host_view(session).await?;
    Ok(state_from_host(
        state,
        session.target().host.as_str(),
        &view,
    ))
}

/// The state an import starts from; the read that follows fills in the rest.
pub(super) fn imported_state(id: &str) -> Result<LoadBalancerModel, Diagnostics> {
    if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == '/') || id.starts_with('-')
    {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!("{id:?} is not a host name or address, e.g. 10.4.0.10"),
        )
        .into());
    }
    Ok(LoadBalancerModel {
        host: id.to_owned(),
        id: Some(id.to_owned()),
        ..LoadBalancerModel::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(file: Option<&str>, stat: Option<&str>, unit: &str) -> Vec<u8> {
        let mut out = format!("installed\nunit {unit}\nrecorded\n");
        match file {
            Some(text) => out.push_str(&format!("file {}\n{text}", text.len())),
            None => out.push_str("absent\n"),
        }
        match stat {
            Some(text) => out.push_str(&format!("stat {}\n{text}", text.len())),
            None => out.push_str("nostat\n"),
        }
        out.into_bytes()
    }

    fn book_file() -> String {
        let text = "frontend api\n    bind 0.0.0.0:6443\n    timeout client 1m\n    default_backend api\n\
             backend api\n    balance roundrobin\n    timeout connect 5s\n    timeout server 1m\n    \
             default-server inter 2s fall 3 rise 2\n    server a 10.4.0.11:6443 check weight 1\n";
        haproxy_cfg::render(&haproxy_cfg::parse(text).unwrap())
    }

    const STAT: &str =
        "# pxname,svname,status,check_status,last_chk,\napi,FRONTEND,OPEN,,,\napi,a,MAINT,L4OK,,\n";

    #[test]
    fn an_import_reads_the_whole_configuration() {
        let view =
            parse_read_output(&output(Some(&book_file()), Some(STAT), "enabled\tactive")).unwrap();
        let imported = imported_state("10.4.0.10").unwrap();
        let state = state_from_host(&imported, "10.4.0.10", &view).unwrap();
        let frontend = &state.frontend.as_ref().unwrap()[0];
        assert_eq!(frontend.name, "api");
        assert_eq!(frontend.servers["a"].port, 6443);
        assert_eq!(state.config_in_sync, Some(true));
        assert_eq!(state.active, Some(true));
        assert_eq!(state.servers_up, Some(0));
        let status = &state.server_status.as_ref().unwrap()["api/a"];
        assert_eq!(status.status, "MAINT");
        // Reading its own state again changes nothing.
        assert_eq!(state_from_host(&state, "10.4.0.10", &view).unwrap(), state);
    }

    #[test]
    fn edits_stopped_units_and_a_silent_socket_show() {
        let edited = book_file().replace(
            "    balance roundrobin\n",
            "    balance roundrobin\n    maxconn 1\n",
        );
        let view = parse_read_output(&output(Some(&edited), None, "disabled\tinactive")).unwrap();
        let imported = imported_state("h").unwrap();
        let state = state_from_host(&imported, "h", &view).unwrap();
        assert_eq!(state.config_in_sync, Some(false));
        assert_eq!(state.enabled, Some(false));
        assert_eq!(state.active, Some(false));
        let gone = parse_read_output(&output(None, None, "enabled\tactive")).unwrap();
        assert!(state_from_host(&state, "h", &gone).is_none());
        assert!(imported_state("a b").is_err());
    }
}
