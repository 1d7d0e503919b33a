//! `homelab_load_balancer`'s typed models: [`LoadBalancerModel`] for apply and read,
//! [`PlannedLoadBalancer`] for validate and plan. Each RPC reads its values into one of these
//! once and writes the result back once; `convert.rs` turns either into the checked settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ssh::resource_config::{PlannedSshOverride, SshOverride};
use crate::tf::model::Planned;

/// The load balancer as state, or as the plan at apply (computed values still unknown read as
/// `None`). `frontend` is `None` only in an imported state, before its first read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct LoadBalancerModel {
    pub(super) host: String,
    pub(super) servers_up: Option<i64>,
    pub(super) server_status: Option<BTreeMap<String, ServerStatus>>,
    pub(super) config_in_sync: Option<bool>,
    pub(super) runtime_in_sync: Option<bool>,
    pub(super) enabled: Option<bool>,
    pub(super) active: Option<bool>,
    pub(super) id: Option<String>,
    pub(super) frontend: Option<Vec<FrontendModel>>,
    pub(super) stats: Option<StatsModel>,
    pub(super) prometheus: Option<PrometheusModel>,
    pub(super) ssh: Option<SshOverride>,
}

/// A `frontend` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct FrontendModel {
    pub(super) name: String,
    pub(super) bind: Vec<String>,
    pub(super) timeout_client: Option<String>,
    pub(super) timeout_connect: Option<String>,
    pub(super) timeout_server: Option<String>,
    pub(super) balance: Option<String>,
    pub(super) check: Option<String>,
    pub(super) check_path: Option<String>,
    pub(super) check_ca_file: Option<String>,
    pub(super) inter: Option<String>,
    pub(super) fall: Option<i64>,
    pub(super) rise: Option<i64>,
    pub(super) servers: BTreeMap<String, ServerModel>,
}

/// One of a front end's `servers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ServerModel {
    pub(super) address: String,
    pub(super) port: i64,
    pub(super) weight: Option<i64>,
    pub(super) backup: Option<bool>,
}

/// The `stats` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct StatsModel {
    pub(super) bind: String,
    pub(super) uri: Option<String>,
}

/// The `prometheus` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct PrometheusModel {
    pub(super) bind: String,
    pub(super) path: Option<String>,
}

/// One value of the computed `server_status` map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ServerStatus {
    pub(super) frontend: String,
    pub(super) server: String,
    pub(super) status: String,
    pub(super) last_check: String,
}

/// The load balancer as configuration or plan, where any value may still be unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedLoadBalancer {
    pub(super) host: Planned<String>,
    pub(super) servers_up: Planned<Option<i64>>,
    pub(super) server_status: Planned<Option<BTreeMap<String, ServerStatus>>>,
    pub(super) config_in_sync: Planned<Option<bool>>,
    pub(super) runtime_in_sync: Planned<Option<bool>>,
    pub(super) enabled: Planned<Option<bool>>,
    pub(super) active: Planned<Option<bool>>,
    pub(super) id: Planned<Option<String>>,
    pub(super) frontend: Planned<Option<Vec<PlannedFrontend>>>,
    pub(super) stats: Planned<Option<PlannedStats>>,
    pub(super) prometheus: Planned<Option<PlannedPrometheus>>,
    pub(super) ssh: Planned<Option<PlannedSshOverride>>,
}

/// A `frontend` block at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedFrontend {
    pub(super) name: Planned<String>,
    pub(super) bind: Planned<Vec<Planned<String>>>,
    pub(super) timeout_client: Planned<Option<String>>,
    pub(super) timeout_connect: Planned<Option<String>>,
    pub(super) timeout_server: Planned<Option<String>>,
    pub(super) balance: Planned<Option<String>>,
    pub(super) check: Planned<Option<String>>,
    pub(super) check_path: Planned<Option<String>>,
    pub(super) check_ca_file: Planned<Option<String>>,
    pub(super) inter: Planned<Option<String>>,
    pub(super) fall: Planned<Option<i64>>,
    pub(super) rise: Planned<Option<i64>>,
    /// A server's whole object may be unknown (`servers = { a = local.x }`).
    pub(super) servers: Planned<BTreeMap<String, Planned<PlannedServer>>>,
}

/// One of a front end's `servers` at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedServer {
    pub(super) address: Planned<String>,
    pub(super) port: Planned<i64>,
    pub(super) weight: Planned<Option<i64>>,
    pub(super) backup: Planned<Option<bool>>,
}

/// The `stats` block at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedStats {
    pub(super) bind: Planned<String>,
    pub(super) uri: Planned<Option<String>>,
}

/// The `prometheus` block at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedPrometheus {
    pub(super) bind: Planned<String>,
    pub(super) path: Planned<Option<String>>,
}

/// A required value as an optional one that is set.
pub(super) fn required<T>(value: &Planned<T>) -> Planned<Option<&T>> {
    match value {
        Planned::Known(value) => Planned::Known(Some(value)),
        Planned::Unknown => Planned::Unknown,
    }
}

/// An optional value, borrowed.
pub(super) fn optional<T>(value: &Planned<Option<T>>) -> Planned<Option<&T>> {
    match value {
        Planned::Known(value) => Planned::Known(value.as_ref()),
        Planned::Unknown => Planned::Unknown,
    }
}

impl PlannedLoadBalancer {
    /// The `ssh` block with every value known, or `None` when absent; `Err` while any part is
    /// unknown.
    pub(super) fn known_ssh(&self) -> Result<Option<SshOverride>, ()> {
        match &self.ssh {
            Planned::Known(None) => Ok(None),
            Planned::Known(Some(ssh)) => ssh.known().map(Some).ok_or(()),
            Planned::Unknown => Err(()),
        }
    }
}

/// A state is a plan with every value known: plan compares the two, and validate's checks
/// read a state the same way as a configuration.
impl From<&LoadBalancerModel> for PlannedLoadBalancer {
    fn from(lb: &LoadBalancerModel) -> PlannedLoadBalancer {
        PlannedLoadBalancer {
            host: lb.host.clone().into(),
            servers_up: lb.servers_up.into(),
            server_status: lb.server_status.clone().into(),
            config_in_sync: lb.config_in_sync.into(),
            runtime_in_sync: lb.runtime_in_sync.into(),
            enabled: lb.enabled.into(),
            active: lb.active.into(),
            id: lb.id.clone().into(),
            frontend: lb
                .frontend
                .as_ref()
                .map(|frontends| frontends.iter().map(PlannedFrontend::from).collect())
                .into(),
            stats: lb
                .stats
                .as_ref()
                .map(|stats| PlannedStats {
                    bind: stats.bind.clone().into(),
                    uri: stats.uri.clone().into(),
                })
                .into(),
            prometheus: lb
                .prometheus
                .as_ref()
                .map(|prometheus| PlannedPrometheus {
                    bind: prometheus.bind.clone().into(),
                    path: prometheus.path.clone().into(),
                })
                .into(),
            ssh: lb.ssh.as_ref().map(PlannedSshOverride::from).into(),
        }
    }
}

impl From<&FrontendModel> for PlannedFrontend {
    fn from(frontend: &FrontendModel) -> PlannedFrontend {
        PlannedFrontend {
            name: frontend.name.clone().into(),
            bind: frontend
                .bind
                .iter()
                .map(|bind| Planned::Known(bind.clone()))
                .collect::<Vec<_>>()
                .into(),
            timeout_client: frontend.timeout_client.clone().into(),
            timeout_connect: frontend.timeout_connect.clone().into(),
            timeout_server: frontend.timeout_server.clone().into(),
            balance: frontend.balance.clone().into(),
            check: frontend.check.clone().into(),
            check_path: frontend.check_path.clone().into(),
            check_ca_file: frontend.check_ca_file.clone().into(),
            inter: frontend.inter.clone().into(),
            fall: frontend.fall.into(),
            rise: frontend.rise.into(),
            servers: frontend
                .servers
                .iter()
                .map(|(name, server)| {
                    let server = PlannedServer {
                        address: server.address.clone().into(),
                        port: server.port.into(),
                        weight: server.weight.into(),
                        backup: server.backup.into(),
                    };
                    (name.clone(), Planned::Known(server))
                })
                .collect::<BTreeMap<_, _>>()
                .into(),
        }
    }
}
