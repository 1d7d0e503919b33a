//! The load balancer's settings as plain, checked Rust values: what `haproxy_cfg.rs` renders
//! and parses and read compares, free of Terraform's unknowns, nulls and defaults (see
//! `convert.rs` for the one conversion from the typed models into them).

use std::collections::BTreeMap;

/// Names the resource gives its own sections; a front end may not take them.
pub(crate) const RESERVED_NAMES: &[&str] = &["homelab_stats", "homelab_prometheus"];

/// The `balance` algorithms offered.
pub(crate) const BALANCE_ALGORITHMS: &[&str] =
    &["roundrobin", "static-rr", "leastconn", "first", "source"];

/// Defaults, as the book's file has them (`inter 2s fall 3 rise 2` is HAProxy's own).
pub(crate) const DEFAULT_TIMEOUT_CLIENT: &str = "1m";
pub(crate) const DEFAULT_TIMEOUT_SERVER: &str = "1m";
pub(crate) const DEFAULT_TIMEOUT_CONNECT: &str = "5s";
pub(crate) const DEFAULT_BALANCE: &str = "roundrobin";
pub(crate) const DEFAULT_CHECK: &str = "tcp";
pub(crate) const DEFAULT_INTER: &str = "2s";
pub(crate) const DEFAULT_FALL: i64 = 3;
pub(crate) const DEFAULT_RISE: i64 = 2;
pub(crate) const DEFAULT_STATS_URI: &str = "/stats";
pub(crate) const DEFAULT_PROMETHEUS_PATH: &str = "/metrics";

/// The whole configuration the resource writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadBalancer {
    /// TCP front ends, each with its own back end of the same name.
    pub(crate) frontends: Vec<Frontend>,
    /// The HTML stats page.
    pub(crate) stats: Option<Stats>,
    /// The Prometheus exporter.
    pub(crate) prometheus: Option<Prometheus>,
}

/// A TCP front end and its back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frontend {
    pub(crate) name: String,
    pub(crate) binds: Vec<Bind>,
    pub(crate) timeout_client: String,
    pub(crate) timeout_connect: String,
    pub(crate) timeout_server: String,
    pub(crate) balance: String,
    pub(crate) check: HealthCheck,
    pub(crate) servers: BTreeMap<String, Server>,
}

/// Where HAProxy listens: an IPv4 address or `*`, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bind {
    pub(crate) address: String,
    pub(crate) port: u16,
}

impl std::fmt::Display for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.address, self.port)
    }
}

/// How the back end's servers are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HealthCheck {
    pub(crate) kind: CheckKind,
    pub(crate) inter: String,
    pub(crate) fall: u32,
    pub(crate) rise: u32,
}

/// A TCP connect, or an HTTPS GET that must answer 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckKind {
    Tcp,
    Https {
        path: String,
        /// Verify the server's certificate against this CA file; `None`: no verification.
        ca_file: Option<String>,
    },
}

/// One back-end server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Server {
    pub(crate) address: String,
    pub(crate) port: u16,
    pub(crate) weight: u32,
    pub(crate) backup: bool,
}

/// The stats page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) bind: Bind,
    pub(crate) uri: String,
}

/// The Prometheus exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prometheus {
    pub(crate) bind: Bind,
    pub(crate) path: String,
}
