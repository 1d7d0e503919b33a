//! `homelab_load_balancer`'s checks before anything reaches the host, the values known at plan
//! time, the warning for a back end with no server up, and the check that HAProxy is installed.

use super::convert::check_configuration;
use super::model::{LoadBalancerModel, PlannedLoadBalancer, ServerStatus};
use super::schema::state_type;
use crate::registry::Context;
use crate::ssh::resource_config::{PlannedSshOverride, validate_host_and_ssh};
use crate::ssh::{Command, Session};
use crate::tf::model::{self as typed, Planned};
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

pub(super) fn validate(config: &PlannedLoadBalancer) -> Diagnostics {
    let mut diagnostics = validate_host_and_ssh(
        config.host.known().map(String::as_str),
        config.ssh.known().and_then(Option::as_ref),
    );
    diagnostics.extend(check_configuration(config));
    diagnostics
}

/// Servers' `weight` and `backup` are optional and computed inside a map of objects, where the
/// generic default rules do not reach: they are filled in here.
fn fill_server_defaults(planned: &mut PlannedLoadBalancer) {
    let Planned::Known(Some(frontends)) = &mut planned.frontend else {
        return;
    };
    for frontend in frontends {
        let Planned::Known(servers) = &mut frontend.servers else {
            continue;
        };
        for server in servers.values_mut() {
            let Planned::Known(server) = server else {
                continue;
            };
            if server.weight.is_null() {
                server.weight = Planned::Known(Some(1));
            }
            if server.backup.is_null() {
                server.backup = Planned::Known(Some(false));
            }
        }
    }
}

pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Result<Diagnostics, Diagnostics> {
    if change.planned.is_null() {
        return Ok(Diagnostics::new());
    }
    let config: PlannedLoadBalancer = typed::from_value(config)?;
    let prior: Option<LoadBalancerModel> = typed::from_value(prior)?;
    let mut planned: PlannedLoadBalancer = typed::from_value(&change.planned)?;
    fill_server_defaults(&mut planned);
    for value in [
        &mut planned.config_in_sync,
        &mut planned.runtime_in_sync,
        &mut planned.enabled,
        &mut planned.active,
    ] {
        *value = Planned::Known(Some(true));
    }
    if let Planned::Known(host) = &config.host {
        planned.id = Planned::Known(Some(host.clone()));
    }
    // Any change reloads HAProxy, and the servers' live state is read again after it.
    let prior_as_planned = prior.as_ref().map(PlannedLoadBalancer::from);
    if prior_as_planned.as_ref() != Some(&planned) {
        planned.servers_up = Planned::Unknown;
        planned.server_status = Planned::Unknown;
    }
    change.planned = typed::to_planned_value(&planned, &state_type(), &change.planned)?;
    let mut diagnostics = prior
        .as_ref()
        .map(no_server_up_warnings)
        .unwrap_or_default();
    // New or changed connection settings are tried at plan time, so a wrong pinned key, an
    // unknown host key or an unreachable host fails the plan instead of the apply. Unchanged
    // settings were just used by the refresh.
    let (Planned::Known(host), Ok(ssh)) = (&config.host, config.known_ssh()) else {
        return Ok(diagnostics);
    };
    if !connection_changed(prior.as_ref(), &config) {
        return Ok(diagnostics);
    }
    // The one session of this plan.
    let session = match context
        .provider
        .ssh
        .session_to(host, ssh.as_ref(), &context.cancel)
    {
        Ok(session) => session,
        Err(d) => {
            diagnostics.extend(d);
            return Ok(diagnostics);
        }
    };
    if let Err(e) = session.verify().await {
        diagnostics.push(e.to_diagnostic(&format!("connecting to {}", session.target().host)));
    }
    if prior.is_none() && !diagnostics.has_errors() {
        diagnostics.extend(check_installed(&session).await);
    }
    Ok(diagnostics)
}

/// Whether `host` or the `ssh` block differ from the prior state's (or there is none).
fn connection_changed(prior: Option<&LoadBalancerModel>, config: &PlannedLoadBalancer) -> bool {
    prior.is_none_or(|prior| {
        config.host != Planned::Known(prior.host.clone())
            || config.ssh != Planned::Known(prior.ssh.as_ref().map(PlannedSshOverride::from))
    })
}

/// One warning per back end whose servers are all down (or in maintenance) at refresh.
fn no_server_up_warnings(prior: &LoadBalancerModel) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    let Some(status) = &prior.server_status else {
        return diagnostics;
    };
    let Some(frontends) = &prior.frontend else {
        return diagnostics;
    };
    for (index, frontend) in frontends.iter().enumerate() {
        let name = &frontend.name;
        let servers: Vec<&ServerStatus> = status.values().filter(|s| s.frontend == *name).collect();
        let up = |s: &&ServerStatus| matches!(s.status.as_str(), "UP" | "no check");
        if !servers.is_empty() && !servers.iter().any(up) {
            let detail: Vec<String> = servers
                .iter()
                .map(|s| format!("{}: {} ({})", s.server, s.status, s.last_check))
                .collect();
            diagnostics.push(
                Diagnostic::warning(
                    format!("Back end {name} has no server up"),
                    format!(
                        "HAProxy reports no healthy server in back end {name}, so its front \
                         end refuses connections: {}.",
                        detail.join(", ")
                    ),
                )
                .at(AttributePath::root("frontend").index(index as i64)),
            );
        }
    }
    diagnostics
}

/// A plan for a new load balancer fails, naming the host, when `haproxy` is missing there.
async fn check_installed(session: &Session<'_>) -> Diagnostics {
    let host = session.target().host.clone();
    let command = Command::shell_script(
        "command -v haproxy >/dev/null 2>&1 && command -v perl >/dev/null 2>&1",
    );
    match session.run(&command).await {
        Ok(output) if output.success() => Diagnostics::new(),
        Ok(_) => Diagnostic::error(
            format!("HAProxy is not installed on {host}"),
            format!(
                "homelab_load_balancer needs the `haproxy` package (and perl, which Debian \
                 always has) on {host}; it does not install packages itself. Install it with \
                 homelab_packages and let this resource depend on that."
            ),
        )
        .at(AttributePath::root("host"))
        .into(),
        Err(e) => e
            .to_diagnostic(&format!("checking for HAProxy on {host}"))
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::LoadBalancer;
    use super::*;
    use crate::registry::Resource;

    fn validate(config: &Value) -> Diagnostics {
        LoadBalancer.validate(config)
    }

    fn no_server_up_warnings(prior: &Value) -> Diagnostics {
        super::no_server_up_warnings(&typed::from_value(prior).unwrap())
    }

    fn server(address: &str, port: i64) -> Value {
        Value::object([
            ("address", Value::from(address)),
            ("port", Value::int(port)),
        ])
    }

    fn frontend(pairs: Vec<(&str, Value)>) -> Value {
        let mut base = Value::object([
            ("name", Value::from("k8s_api")),
            ("bind", Value::List(vec!["0.0.0.0:6443".into()])),
            (
                "servers",
                Value::Map(
                    [
                        ("a".to_owned(), server("10.4.0.11", 6443)),
                        ("b".to_owned(), server("10.4.0.12", 6443)),
                    ]
                    .into(),
                ),
            ),
        ]);
        for (name, value) in pairs {
            base.set_attr(name, value);
        }
        base
    }

    fn config(frontends: Vec<Value>) -> Value {
        Value::object([
            ("host", Value::from("10.4.0.10")),
            ("frontend", Value::List(frontends)),
        ])
    }

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn the_books_load_balancer_is_valid() {
        let diagnostics = validate(&config(vec![frontend(vec![])]));
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let https = frontend(vec![
            ("check", "https".into()),
            ("check_path", "/healthz".into()),
        ]);
        assert!(validate(&config(vec![https])).is_empty());
    }

    #[test]
    fn unknown_values_are_not_errors() {
        let unknown = frontend(vec![
            ("bind", Value::unknown()),
            ("servers", Value::unknown()),
        ]);
        assert!(validate(&config(vec![unknown])).is_empty());
    }

    #[test]
    fn bad_values_name_their_attribute() {
        let bad_servers = Value::Map(
            [
                ("a\nlisten x".to_owned(), server("10.4.0.11", 6443)),
                ("b".to_owned(), server("$(reboot)", 70000)),
            ]
            .into(),
        );
        let bad = frontend(vec![
            ("name", "api;rm".into()),
            (
                "bind",
                Value::List(vec!["10.4.0.300:6443".into(), "0.0.0.0:0".into()]),
            ),
            ("servers", bad_servers),
            ("inter", "2 s".into()),
            ("check", "https".into()),
            ("check_path", "healthz".into()),
            ("balance", "random'".into()),
        ]);
        let mut found = paths(&validate(&config(vec![bad])));
        found.sort();
        let mut expected = vec![
            "frontend[0].name",
            "frontend[0].bind[0]",
            "frontend[0].bind[1]",
            "frontend[0].servers[\"a\\nlisten x\"]",
            "frontend[0].servers[\"b\"].address",
            "frontend[0].servers[\"b\"].port",
            "frontend[0].inter",
            "frontend[0].check_path",
            "frontend[0].balance",
        ];
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn duplicates_and_missing_pieces_are_refused() {
        let twice = config(vec![frontend(vec![]), frontend(vec![])]);
        let found = paths(&validate(&twice));
        assert!(found.contains(&"frontend[1].name".to_owned()), "{found:?}");
        assert!(
            found.contains(&"frontend[1].bind[0]".to_owned()),
            "{found:?}"
        );
        let no_path = frontend(vec![("check", "https".into())]);
        assert_eq!(
            paths(&validate(&config(vec![no_path]))),
            ["frontend[0].check_path"]
        );
        let stray = frontend(vec![("check_path", "/healthz".into())]);
        assert_eq!(
            paths(&validate(&config(vec![stray]))),
            ["frontend[0].check_path"]
        );
        assert_eq!(paths(&validate(&config(vec![]))), ["frontend"]);
    }

    #[test]
    fn a_back_end_with_no_server_up_warns() {
        let status = |server: &str, status: &str| {
            Value::object([
                ("frontend", Value::from("k8s_api")),
                ("server", server.into()),
                ("status", status.into()),
                ("last_check", "L4CON".into()),
            ])
        };
        let mut prior = config(vec![frontend(vec![])]);
        prior.set_attr(
            "server_status",
            Value::Map(
                [
                    ("k8s_api/a".to_owned(), status("a", "DOWN")),
                    ("k8s_api/b".to_owned(), status("b", "MAINT")),
                ]
                .into(),
            ),
        );
        let warnings = no_server_up_warnings(&prior);
        assert_eq!(paths(&warnings), ["frontend[0]"]);
        assert!(!warnings.has_errors());
        prior.set_attr(
            "server_status",
            Value::Map([("k8s_api/a".to_owned(), status("a", "UP"))].into()),
        );
        assert!(no_server_up_warnings(&prior).is_empty());
    }
}
