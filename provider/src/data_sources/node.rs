//! `homelab_node` (data source): facts about a host, gathered over SSH in one round trip.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::registry::{Context, DataSource};
use crate::ssh::resource_config::{PlannedSshOverride, SshOverride, validate_host_and_ssh};
use crate::ssh::{self, Command};
use crate::tf::model::{self as typed, ModelShape, Planned};
use crate::tf::{Attribute, Block, Diagnostic, Diagnostics, Schema, Type, Value};

/// The `homelab_node` data source.
pub struct Node;

/// The configuration at read, and the facts read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct NodeModel {
    host: String,
    hostname: Option<String>,
    os_id: Option<String>,
    os_version: Option<String>,
    kernel: Option<String>,
    architecture: Option<String>,
    default_ipv4: Option<String>,
    machine_id: Option<String>,
    cpu_count: Option<i64>,
    memory_bytes: Option<i64>,
    id: Option<String>,
    ssh: Option<SshOverride>,
}

/// The configuration at validate, where any value may still be unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PlannedNode {
    host: Planned<String>,
    hostname: Planned<Option<String>>,
    os_id: Planned<Option<String>>,
    os_version: Planned<Option<String>>,
    kernel: Planned<Option<String>>,
    architecture: Planned<Option<String>>,
    default_ipv4: Planned<Option<String>>,
    machine_id: Planned<Option<String>>,
    cpu_count: Planned<Option<i64>>,
    memory_bytes: Planned<Option<i64>>,
    id: Planned<Option<String>>,
    ssh: Planned<Option<PlannedSshOverride>>,
}

/// Prints one `key=value` line per fact. A fixed script: the host name reaches it only as the
/// SSH destination, never as text. `ip route get` looks a route up without sending anything.
const FACTS_SCRIPT: &str = r#"LC_ALL=C
export LC_ALL
os_value() { sed -n "s/^$1=//p" /etc/os-release 2>/dev/null | head -n 1 | tr -d "\"'"; }
printf 'hostname=%s\n' "$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)"
printf 'os_id=%s\n' "$(os_value ID)"
printf 'os_version=%s\n' "$(os_value VERSION_ID)"
printf 'kernel=%s\n' "$(uname -r)"
printf 'architecture=%s\n' "$(uname -m)"
printf 'cpu_count=%s\n' "$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
printf 'memory_kib=%s\n' "$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)"
printf 'default_ipv4=%s\n' "$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1)"
printf 'machine_id=%s\n' "$(cat /etc/machine-id 2>/dev/null)"
"#;

/// The text facts, in schema order.
const TEXT_FACTS: [(&str, &str); 7] = [
    ("hostname", "The kernel's host name."),
    ("os_id", "`ID` from `/etc/os-release`, e.g. `debian`."),
    (
        "os_version",
        "`VERSION_ID` from `/etc/os-release`, e.g. `12`.",
    ),
    ("kernel", "The running kernel's release (`uname -r`)."),
    (
        "architecture",
        "The machine architecture (`uname -m`), e.g. `aarch64`.",
    ),
    (
        "default_ipv4",
        "The source address of the default IPv4 route, or null when there is none.",
    ),
    (
        "machine_id",
        "`/etc/machine-id`, or null when the host has none.",
    ),
];

#[async_trait]
impl DataSource for Node {
    fn type_name(&self) -> &'static str {
        "homelab_node"
    }

    fn schema(&self) -> Schema {
        let mut attributes = vec![
            Attribute::required("host", Type::String)
                .describe("The host's name or address, as SSH connects to it."),
        ];
        attributes.extend(TEXT_FACTS.iter().map(|(name, description)| {
            Attribute::computed(name, Type::String).describe(description)
        }));
        attributes.extend([
            Attribute::computed("cpu_count", Type::Number).describe("Online CPUs."),
            Attribute::computed("memory_bytes", Type::Number)
                .describe("Total memory (`MemTotal` in `/proc/meminfo`), in bytes."),
            Attribute::computed("id", Type::String).describe("The host, as given."),
        ]);
        Schema {
            version: 0,
            block: Block::new(
                "Facts about a host: host name, OS, kernel, architecture, CPUs, memory, default \
                 IPv4 address and machine ID, gathered over SSH in one command. Read on every \
                 plan.",
                attributes,
            )
            .with_block(ssh::resource_config::resource_block()),
        }
    }

    fn models(&self) -> Vec<ModelShape> {
        vec![
            ModelShape::of::<NodeModel>(),
            ModelShape::of::<PlannedNode>(),
        ]
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        match typed::from_value::<PlannedNode>(config) {
            Ok(config) => validate_host_and_ssh(
                config.host.known().map(String::as_str),
                config.ssh.known().and_then(Option::as_ref),
            ),
            Err(e) => e.into(),
        }
    }

    async fn read(&self, context: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let config: NodeModel = typed::from_value(config)?;
        let session =
            context
                .provider
                .ssh
                .session_to(&config.host, config.ssh.as_ref(), &context.cancel)?;
        let host = session.target().host.clone();
        let output = session
            .run_checked(&Command::shell_script(FACTS_SCRIPT))
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic(&format!("reading facts of {host}"))))?;
        let facts = parse_facts(&String::from_utf8_lossy(&output.stdout)).map_err(|detail| {
            Diagnostics::from(Diagnostic::error(
                "Unexpected answer from host",
                format!("reading facts of {host}: {detail}"),
            ))
        })?;
        let state = NodeModel {
            hostname: facts.text("hostname"),
            os_id: facts.text("os_id"),
            os_version: facts.text("os_version"),
            kernel: facts.text("kernel"),
            architecture: facts.text("architecture"),
            default_ipv4: facts.text("default_ipv4"),
            machine_id: facts.text("machine_id"),
            cpu_count: facts.number("cpu_count"),
            memory_bytes: facts.number("memory_kib").map(|kib| kib * 1024),
            id: Some(host),
            ..config
        };
        Ok(typed::to_value(&state, &self.schema().block.value_type())?)
    }
}

/// The script's `key=value` lines.
struct Facts(Vec<(String, String)>);

impl Facts {
    /// A fact's text; null when the host printed nothing for it.
    fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn number(&self, name: &str) -> Option<i64> {
        self.text(name).and_then(|text| text.parse().ok())
    }
}

fn parse_facts(text: &str) -> Result<Facts, String> {
    let facts = Facts(
        text.lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
    );
    if facts.text("hostname").is_none() || facts.text("kernel").is_none() {
        return Err(format!("no host name or kernel in {text:?}"));
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_parse_with_empty_values_as_null() {
        let facts = parse_facts(
            "hostname=node1\nos_id=debian\nos_version=12\nkernel=6.1.0\narchitecture=aarch64\n\
             cpu_count=4\nmemory_kib=8000000\ndefault_ipv4=\nmachine_id=abc=def\n",
        )
        .unwrap();
        assert_eq!(facts.text("hostname").as_deref(), Some("node1"));
        assert_eq!(facts.text("default_ipv4"), None);
        assert_eq!(facts.text("machine_id").as_deref(), Some("abc=def"));
        assert_eq!(facts.number("cpu_count"), Some(4));
        assert!(parse_facts("garbage").is_err());
    }

    /// The fixed script runs on this machine and reports what this machine is.
    #[test]
    fn the_script_reports_this_machine() {
        let output = std::process::Command::new("sh")
            .args(["-c", FACTS_SCRIPT])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let facts = parse_facts(&String::from_utf8_lossy(&output.stdout)).unwrap();
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(facts.text("hostname").as_deref(), Some(hostname.trim()));
        assert!(facts.number("cpu_count").unwrap() >= 1);
        assert!(facts.number("memory_kib").unwrap() > 1024);
        assert_eq!(
            facts.text("architecture").as_deref(),
            Some(std::env::consts::ARCH)
        );
    }
}
