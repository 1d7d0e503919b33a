//! `homelab_load_balancer`'s schema: the attributes and their documentation.

use super::settings::{
    DEFAULT_BALANCE, DEFAULT_CHECK, DEFAULT_FALL, DEFAULT_INTER, DEFAULT_PROMETHEUS_PATH,
    DEFAULT_RISE, DEFAULT_STATS_URI, DEFAULT_TIMEOUT_CLIENT, DEFAULT_TIMEOUT_CONNECT,
    DEFAULT_TIMEOUT_SERVER,
};
use crate::ssh::resource_config;
use crate::tf::{Attribute, Block, NestedBlock, NestingMode, Schema, Type};

/// The type of `server_status`'s values.
pub(super) fn server_status_type() -> Type {
    Type::object([
        ("frontend", Type::String),
        ("server", Type::String),
        ("status", Type::String),
        ("last_check", Type::String),
    ])
}

pub(super) fn schema() -> Schema {
    let servers = Attribute {
        required: true,
        ..Attribute::nested(
            "servers",
            NestingMode::Map,
            vec![
                Attribute::required("address", Type::String).describe(
                    "The server's IPv4 address or host name (resolved by HAProxy when it starts).",
                ),
                Attribute::required("port", Type::Number).describe("The server's port, 1-65535."),
                Attribute::optional_computed("weight", Type::Number)
                    .describe("Load-balancing weight, 0-256. Default: `1`."),
                Attribute::optional_computed("backup", Type::Bool)
                    .describe("Only used when every non-backup server is down. Default: `false`."),
            ],
        )
    }
    .describe(
        "The back end's servers by name (letters, digits, `_`, `-`, `.`), each checked with \
         the front end's health check.",
    );
    let frontend = Block::new(
        "A TCP front end and its back end (both named `name`). At least one.",
        vec![
            Attribute::required("name", Type::String).describe(
                "Names the front end and its back end: 1-64 letters, digits, `_`, `-`, `.`; \
                 unique; `homelab_stats` and `homelab_prometheus` are the resource's own.",
            ),
            Attribute::required("bind", Type::list(Type::String)).describe(
                "Where to listen: `ADDRESS:PORT` with an IPv4 address or `*`, e.g. \
                 `[\"0.0.0.0:6443\"]`. Each address and port once across the resource.",
            ),
            Attribute::optional("timeout_client", Type::String)
                .default_value(DEFAULT_TIMEOUT_CLIENT)
                .describe("Client inactivity timeout (HAProxy time: `1m`, `30s`, `500ms`). Default: `\"1m\"`."),
            Attribute::optional("timeout_connect", Type::String)
                .default_value(DEFAULT_TIMEOUT_CONNECT)
                .describe("Time to connect to a server. Default: `\"5s\"`."),
            Attribute::optional("timeout_server", Type::String)
                .default_value(DEFAULT_TIMEOUT_SERVER)
                .describe("Server inactivity timeout. Default: `\"1m\"`."),
            Attribute::optional("balance", Type::String)
                .default_value(DEFAULT_BALANCE)
                .describe(
                    "`roundrobin`, `static-rr`, `leastconn`, `first` or `source`. Default: \
                     `\"roundrobin\"`.",
                ),
            Attribute::optional("check", Type::String)
                .default_value(DEFAULT_CHECK)
                .describe(
                    "Health check: `tcp` (a connect) or `https` (a GET of `check_path` over \
                     TLS that must answer 200, as the API server's `/healthz`). Default: \
                     `\"tcp\"`.",
                ),
            Attribute::optional("check_path", Type::String).describe(
                "The path an `https` check GETs; starts with `/`, printable ASCII without \
                 spaces, quotes, `#`, `\\`, `$`, `` ` `` or `;`. Required with `https`.",
            ),
            Attribute::optional("check_ca_file", Type::String).describe(
                "A CA file on the host to verify the servers' certificates in `https` checks \
                 (e.g. `/etc/kubernetes/pki/ca.crt`). Unset: not verified (`verify none`).",
            ),
            Attribute::optional("inter", Type::String)
                .default_value(DEFAULT_INTER)
                .describe("Time between checks. Default: `\"2s\"`."),
            Attribute::optional("fall", Type::Number)
                .default_value(crate::tf::Value::int(DEFAULT_FALL))
                .describe("Failed checks before a server is DOWN, 1-100. Default: `3`."),
            Attribute::optional("rise", Type::Number)
                .default_value(crate::tf::Value::int(DEFAULT_RISE))
                .describe("Passed checks before a server is UP again, 1-100. Default: `2`."),
            servers,
        ],
    );
    let stats = Block::new(
        "HAProxy's HTML stats page.",
        vec![
            Attribute::required("bind", Type::String)
                .describe("`ADDRESS:PORT` to serve it on, e.g. `\"*:8404\"`."),
            Attribute::optional("uri", Type::String)
                .default_value(DEFAULT_STATS_URI)
                .describe("Its path. Default: `\"/stats\"`."),
        ],
    );
    let prometheus = Block::new(
        "HAProxy's built-in Prometheus exporter.",
        vec![
            Attribute::required("bind", Type::String)
                .describe("`ADDRESS:PORT` to serve it on, e.g. `\"*:8405\"`."),
            Attribute::optional("path", Type::String)
                .default_value(DEFAULT_PROMETHEUS_PATH)
                .describe("Its path. Default: `\"/metrics\"`."),
        ],
    );
    Schema {
        version: 0,
        block: Block::new(
            "HAProxy on one host as the TCP load balancer in front of the Kubernetes API \
             servers (the book's HAProxy on the first node). The resource owns \
             `/etc/haproxy/haproxy.cfg`, the file Debian's `haproxy.service` reads, so \
             the unit, its reload and `haproxy -c` work as the package ships them and nothing \
             else has to be overridden; the file the package installed is kept aside on \
             create and put back on destroy. A candidate is written next to it and checked \
             with `haproxy -c -f` before it replaces anything; it is activated with \
             `systemctl reload` (master-worker: the old worker keeps its established \
             connections while the new one takes new ones) or a start when HAProxy is not \
             running, and the apply waits until a new worker answers on the stats socket. \
             When the check, the reload or the start fails, the previous file is put back, \
             HAProxy is brought back to its previous state, and the apply fails with \
             HAProxy's own message (e.g. `cannot bind socket`). HAProxy must already be \
             installed: packages belong to `homelab_packages` (one owner for versions and \
             holds), and plan fails naming the host when `haproxy` is missing. The stats \
             socket `/run/haproxy/homelab.sock` (root only, read with the host's perl) is the \
             resource's own: every refresh reads the file, the unit's state and `show stat`, \
             so a hand edit of the file, a server disabled at runtime, HAProxy stopped or not \
             enabled show in the plan, and apply repairs them (a reload brings every server \
             back into service). A back end with no server up is a plan warning. Destroy \
             puts back the previous file and the unit's enabled and running state as they \
             were before create; after an import (no such record on the host) it leaves \
             HAProxy and its file alone. Import with the host.",
            vec![
                resource_config::host_attribute()
                    .describe("The host HAProxy runs on, as SSH reaches it."),
                Attribute::computed("servers_up", Type::Number)
                    .describe("How many back-end servers are UP now, read from the stats socket."),
                Attribute::computed("server_status", Type::map(server_status_type())).describe(
                    "Every back-end server's live state by `FRONTEND/SERVER`: `status` (`UP`, \
                     `DOWN`, `MAINT`, `DRAIN`, `NOLB` or `no check`) and `last_check` (HAProxy's \
                     check code and description, e.g. `L4CON: Connection refused`).",
                ),
                Attribute::computed("config_in_sync", Type::Bool).describe(
                    "Whether the file on the host is exactly what the resource writes. \
                     Always planned as true, so an edit by hand shows in the plan.",
                ),
                Attribute::computed("runtime_in_sync", Type::Bool).describe(
                    "Whether no server was put into maintenance or drain at runtime (e.g. \
                     `disable server` on a stats socket). Always planned as true, so such a \
                     server shows in the plan; apply's reload puts it back into service.",
                ),
                Attribute::computed("enabled", Type::Bool).describe(
                    "Whether `haproxy.service` is enabled at boot. Always planned as true.",
                ),
                Attribute::computed("active", Type::Bool).describe(
                    "Whether HAProxy runs this file's configuration: the unit is active and \
                     the resource's stats socket answers. Always planned as true.",
                ),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("The host, the import ID."),
            ],
        )
        .with_block(NestedBlock {
            min_items: 1,
            ..NestedBlock::list("frontend", frontend)
        })
        .with_block(NestedBlock::single("stats", stats))
        .with_block(NestedBlock::single("prometheus", prometheus))
        .with_block(resource_config::resource_block()),
    }
}

/// The object type of `homelab_load_balancer`'s values.
pub(super) fn state_type() -> Type {
    schema().block.value_type()
}
