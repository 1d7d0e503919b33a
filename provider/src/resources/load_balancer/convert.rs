//! The one conversion from the typed models into the checked settings: every attribute goes
//! through the checks of `values.rs` here, with its attribute path, so apply and read work on
//! plain values.

use std::collections::BTreeMap;

use super::model::{
    LoadBalancerModel, PlannedFrontend, PlannedLoadBalancer, PlannedServer, optional, required,
};
use super::settings::{
    BALANCE_ALGORITHMS, Bind, CheckKind, DEFAULT_BALANCE, DEFAULT_CHECK, DEFAULT_FALL,
    DEFAULT_INTER, DEFAULT_PROMETHEUS_PATH, DEFAULT_RISE, DEFAULT_STATS_URI,
    DEFAULT_TIMEOUT_CLIENT, DEFAULT_TIMEOUT_CONNECT, DEFAULT_TIMEOUT_SERVER, Frontend, HealthCheck,
    LoadBalancer, Prometheus, Server, Stats,
};
use super::values::{
    check_duration, check_file_path, check_name, check_server_address, check_url_path, one_of,
    parse_bind, shown,
};
use crate::tf::model::Planned;
use crate::tf::{AttributePath, Diagnostic, Diagnostics};

/// Collects diagnostics and notes whether anything was still unknown.
struct Reader {
    diagnostics: Diagnostics,
    complete: bool,
}

impl Reader {
    fn error(&mut self, path: &AttributePath, summary: &str, detail: String) {
        self.diagnostics
            .push(Diagnostic::error(summary, detail).at(path.clone()));
    }

    /// A known value, `default` when null; `None` (and incomplete) when unknown.
    fn known<T: Clone>(&mut self, value: Planned<Option<&T>>, default: Option<T>) -> Option<T> {
        match value {
            Planned::Known(Some(value)) => Some(value.clone()),
            Planned::Known(None) => default,
            Planned::Unknown => {
                self.complete = false;
                None
            }
        }
    }

    /// A checked string: the check's error is reported at `path`.
    fn checked(
        &mut self,
        value: Planned<Option<&String>>,
        default: Option<&str>,
        path: &AttributePath,
        summary: &str,
        check: fn(&str) -> Result<(), String>,
    ) -> Option<String> {
        let text = self.known(value, default.map(str::to_owned))?;
        match check(&text) {
            Ok(()) => Some(text),
            Err(reason) => {
                self.error(path, summary, format!("{:?}: {reason}", shown(&text)));
                None
            }
        }
    }

    fn ranged(
        &mut self,
        value: Planned<Option<&i64>>,
        default: Option<i64>,
        path: &AttributePath,
        summary: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let number = self.known(value, default)?;
        if range.contains(&number) {
            Some(number)
        } else {
            self.error(
                path,
                summary,
                format!(
                    "{number} is out of range ({}..={})",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }

    fn bind(&mut self, value: &Planned<String>, path: &AttributePath) -> Option<Bind> {
        let text = self.known(required(value), None)?;
        match parse_bind(&text) {
            Ok(bind) => Some(bind),
            Err(reason) => {
                self.error(
                    path,
                    "Invalid bind",
                    format!("{:?}: {reason}", shown(&text)),
                );
                None
            }
        }
    }
}

/// The settings of a state or of the plan at apply, checked; `Err` holds every problem with
/// its attribute path.
pub(super) fn settings(lb: &LoadBalancerModel) -> Result<LoadBalancer, Diagnostics> {
    settings_from_plan(&PlannedLoadBalancer::from(lb))
}

/// The configuration, checked; `Err` holds every problem with its attribute path, or nothing
/// but the note that a value is not known yet.
fn settings_from_plan(lb: &PlannedLoadBalancer) -> Result<LoadBalancer, Diagnostics> {
    let mut reader = Reader {
        diagnostics: Diagnostics::new(),
        complete: true,
    };
    let parsed = read_load_balancer(&mut reader, lb);
    match parsed {
        Some(lb) if reader.complete && !reader.diagnostics.has_errors() => Ok(lb),
        _ => {
            if reader.diagnostics.is_empty() {
                reader.diagnostics.push(Diagnostic::error(
                    "Configuration not known",
                    "The load balancer's configuration must be known here.",
                ));
            }
            Err(reader.diagnostics)
        }
    }
}

/// Only the problems: unknown values are fine at validate and plan time.
pub(super) fn check_configuration(lb: &PlannedLoadBalancer) -> Diagnostics {
    let mut reader = Reader {
        diagnostics: Diagnostics::new(),
        complete: true,
    };
    let _ = read_load_balancer(&mut reader, lb);
    reader.diagnostics
}

fn read_load_balancer(reader: &mut Reader, value: &PlannedLoadBalancer) -> Option<LoadBalancer> {
    let mut frontends = Vec::new();
    let mut all_ok = true;
    match &value.frontend {
        Planned::Known(Some(items)) => {
            if items.is_empty() {
                reader.error(
                    &AttributePath::root("frontend"),
                    "No frontend",
                    "A load balancer needs at least one `frontend` block.".into(),
                );
            }
            for (index, item) in items.iter().enumerate() {
                let path = AttributePath::root("frontend").index(index as i64);
                match read_frontend(reader, item, &path) {
                    Some(frontend) => frontends.push(frontend),
                    None => all_ok = false,
                }
            }
        }
        Planned::Known(None) => reader.error(
            &AttributePath::root("frontend"),
            "No frontend",
            "A load balancer needs at least one `frontend` block.".into(),
        ),
        Planned::Unknown => {
            reader.complete = false;
            all_ok = false;
        }
    }
    check_unique_frontends(reader, &frontends);
    let stats = optional_block(reader, &value.stats, |reader, block| {
        let path = AttributePath::root("stats");
        let bind = reader.bind(&block.bind, &path.clone().attr("bind"));
        let uri = reader.checked(
            optional(&block.uri),
            Some(DEFAULT_STATS_URI),
            &path.attr("uri"),
            "Invalid uri",
            check_url_path,
        );
        Some(Stats {
            bind: bind?,
            uri: uri?,
        })
    });
    let prometheus = optional_block(reader, &value.prometheus, |reader, block| {
        let path = AttributePath::root("prometheus");
        let bind = reader.bind(&block.bind, &path.clone().attr("bind"));
        let url = reader.checked(
            optional(&block.path),
            Some(DEFAULT_PROMETHEUS_PATH),
            &path.attr("path"),
            "Invalid path",
            check_url_path,
        );
        Some(Prometheus {
            bind: bind?,
            path: url?,
        })
    });
    let lb = LoadBalancer {
        frontends,
        stats: stats?,
        prometheus: prometheus?,
    };
    check_unique_binds(reader, &lb);
    all_ok.then_some(lb)
}

/// `Some(None)` when the block is absent, `Some(Some(_))` when read, `None` when broken.
fn optional_block<B, T>(
    reader: &mut Reader,
    block: &Planned<Option<B>>,
    read: impl FnOnce(&mut Reader, &B) -> Option<T>,
) -> Option<Option<T>> {
    match block {
        Planned::Known(None) => Some(None),
        Planned::Known(Some(block)) => read(reader, block).map(Some),
        Planned::Unknown => {
            reader.complete = false;
            None
        }
    }
}

fn read_frontend(
    reader: &mut Reader,
    item: &PlannedFrontend,
    path: &AttributePath,
) -> Option<Frontend> {
    let at = |name: &str| path.clone().attr(name);
    let name = reader.checked(
        required(&item.name),
        None,
        &at("name"),
        "Invalid name",
        check_name,
    );
    let mut binds = Some(Vec::new());
    match &item.bind {
        Planned::Known(values) => {
            if values.is_empty() {
                reader.error(
                    &at("bind"),
                    "No bind",
                    "Give at least one ADDRESS:PORT.".into(),
                );
            }
            for (index, value) in values.iter().enumerate() {
                let bind = reader.bind(value, &at("bind").index(index as i64));
                match (bind, binds.as_mut()) {
                    (Some(bind), Some(list)) => list.push(bind),
                    _ => binds = None,
                }
            }
        }
        Planned::Unknown => {
            reader.complete = false;
            binds = None;
        }
    }
    let mut duration = |value: &Planned<Option<String>>, name: &str, default: &str| {
        reader.checked(
            optional(value),
            Some(default),
            &at(name),
            "Invalid duration",
            check_duration,
        )
    };
    let timeout_client = duration(
        &item.timeout_client,
        "timeout_client",
        DEFAULT_TIMEOUT_CLIENT,
    );
    let timeout_connect = duration(
        &item.timeout_connect,
        "timeout_connect",
        DEFAULT_TIMEOUT_CONNECT,
    );
    let timeout_server = duration(
        &item.timeout_server,
        "timeout_server",
        DEFAULT_TIMEOUT_SERVER,
    );
    let inter = duration(&item.inter, "inter", DEFAULT_INTER);
    let balance = reader.checked(
        optional(&item.balance),
        Some(DEFAULT_BALANCE),
        &at("balance"),
        "Invalid balance",
        |text| one_of(text, BALANCE_ALGORITHMS),
    );
    let fall = reader.ranged(
        optional(&item.fall),
        Some(DEFAULT_FALL),
        &at("fall"),
        "Invalid fall",
        1..=100,
    );
    let rise = reader.ranged(
        optional(&item.rise),
        Some(DEFAULT_RISE),
        &at("rise"),
        "Invalid rise",
        1..=100,
    );
    let kind = read_check_kind(reader, item, path);
    let servers = read_servers(reader, &item.servers, &at("servers"));
    Some(Frontend {
        name: name?,
        binds: binds?,
        timeout_client: timeout_client?,
        timeout_connect: timeout_connect?,
        timeout_server: timeout_server?,
        balance: balance?,
        check: HealthCheck {
            kind: kind?,
            inter: inter?,
            fall: fall? as u32,
            rise: rise? as u32,
        },
        servers: servers?,
    })
}

fn read_check_kind(
    reader: &mut Reader,
    item: &PlannedFrontend,
    path: &AttributePath,
) -> Option<CheckKind> {
    let at = |name: &str| path.clone().attr(name);
    let check = reader.checked(
        optional(&item.check),
        Some(DEFAULT_CHECK),
        &at("check"),
        "Invalid check",
        |text| one_of(text, &["tcp", "https"]),
    );
    let check_path = reader.checked(
        optional(&item.check_path),
        None,
        &at("check_path"),
        "Invalid check_path",
        check_url_path,
    );
    let ca_file = reader.checked(
        optional(&item.check_ca_file),
        None,
        &at("check_ca_file"),
        "Invalid check_ca_file",
        check_file_path,
    );
    match check?.as_str() {
        "https" => match check_path {
            Some(path) => Some(CheckKind::Https { path, ca_file }),
            None => {
                if item.check_path.is_null() {
                    reader.error(
                        &at("check_path"),
                        "Missing check_path",
                        "An `https` check needs the path it GETs, e.g. \"/healthz\".".into(),
                    );
                }
                None
            }
        },
        _ => {
            for (name, value) in [
                ("check_path", &item.check_path),
                ("check_ca_file", &item.check_ca_file),
            ] {
                if !value.is_null() {
                    reader.error(
                        &at(name),
                        &format!("{name} without an https check"),
                        format!("{name} only applies to `check = \"https\"`."),
                    );
                    return None;
                }
            }
            Some(CheckKind::Tcp)
        }
    }
}

fn read_servers(
    reader: &mut Reader,
    value: &Planned<BTreeMap<String, Planned<PlannedServer>>>,
    path: &AttributePath,
) -> Option<BTreeMap<String, Server>> {
    let Planned::Known(entries) = value else {
        reader.complete = false;
        return None;
    };
    if entries.is_empty() {
        reader.error(
            path,
            "No servers",
            "Give the back end at least one server.".into(),
        );
    }
    let mut servers = Some(BTreeMap::new());
    for (name, server) in entries {
        let at = |attribute: &str| path.clone().key(name).attr(attribute);
        if let Err(reason) = check_name(name) {
            reader.error(
                &path.clone().key(name),
                "Invalid server name",
                format!("{:?}: {reason}", shown(name)),
            );
            servers = None;
        }
        let Planned::Known(server) = server else {
            reader.complete = false;
            servers = None;
            continue;
        };
        let address = reader.checked(
            required(&server.address),
            None,
            &at("address"),
            "Invalid address",
            check_server_address,
        );
        let port = reader.ranged(
            required(&server.port),
            None,
            &at("port"),
            "Invalid port",
            1..=65535,
        );
        let weight = reader.ranged(
            optional(&server.weight),
            Some(1),
            &at("weight"),
            "Invalid weight",
            0..=256,
        );
        let backup = reader.known(optional(&server.backup), Some(false));
        match (address, port, weight, backup, servers.as_mut()) {
            (Some(address), Some(port), Some(weight), Some(backup), Some(map)) => {
                map.insert(
                    name.clone(),
                    Server {
                        address,
                        port: port as u16,
                        weight: weight as u32,
                        backup,
                    },
                );
            }
            _ => servers = None,
        }
    }
    servers
}

fn check_unique_frontends(reader: &mut Reader, frontends: &[Frontend]) {
    for (index, frontend) in frontends.iter().enumerate() {
        if frontends[..index].iter().any(|f| f.name == frontend.name) {
            reader.error(
                &AttributePath::root("frontend")
                    .index(index as i64)
                    .attr("name"),
                "Duplicate frontend name",
                format!(
                    "{:?} names two frontends; names must be unique.",
                    frontend.name
                ),
            );
        }
    }
}

/// Two listeners on one address and port would both bind it (SO_REUSEPORT) and share its
/// connections at random: refused.
fn check_unique_binds(reader: &mut Reader, lb: &LoadBalancer) {
    let mut seen: Vec<(String, AttributePath)> = Vec::new();
    let mut all: Vec<(String, AttributePath)> = Vec::new();
    for (index, frontend) in lb.frontends.iter().enumerate() {
        for (bind_index, bind) in frontend.binds.iter().enumerate() {
            let path = AttributePath::root("frontend")
                .index(index as i64)
                .attr("bind")
                .index(bind_index as i64);
            all.push((bind.to_string(), path));
        }
    }
    if let Some(stats) = &lb.stats {
        all.push((
            stats.bind.to_string(),
            AttributePath::root("stats").attr("bind"),
        ));
    }
    if let Some(prometheus) = &lb.prometheus {
        all.push((
            prometheus.bind.to_string(),
            AttributePath::root("prometheus").attr("bind"),
        ));
    }
    for (bind, path) in all {
        if seen.iter().any(|(other, _)| *other == bind) {
            reader.error(
                &path,
                "Duplicate bind",
                format!("{bind} is bound twice; each listener needs its own address and port."),
            );
        }
        seen.push((bind, path));
    }
}
