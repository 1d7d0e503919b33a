//! The settings a plan or state asks for, parsed once from Terraform values into plain Rust
//! values (`None`: the setting is not managed).

use std::collections::BTreeMap;

use crate::tf::Value;

/// The Raspberry Pi boot settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RaspberryPi {
    /// Lines of the managed block of `config.txt`.
    pub(super) config_txt: Option<Vec<String>>,
    /// Flags that must be on the kernel command line.
    pub(super) cmdline_flags: Option<Vec<String>>,
}

/// Every setting of a `homelab_node`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Settings {
    /// The host name.
    pub(super) hostname: Option<String>,
    /// The time zone.
    pub(super) timezone: Option<String>,
    /// `Some(false)`: swap off.
    pub(super) swap: Option<bool>,
    /// Kernel modules, sorted.
    pub(super) kernel_modules: Option<Vec<String>>,
    /// Kernel parameters.
    pub(super) sysctl: Option<BTreeMap<String, String>>,
    /// `/etc/hosts` entries.
    pub(super) hosts_entries: Option<BTreeMap<String, Vec<String>>>,
    /// Authorized keys per user.
    pub(super) authorized_keys: Option<BTreeMap<String, Vec<String>>>,
    /// Raspberry Pi boot settings.
    pub(super) raspberry_pi: Option<RaspberryPi>,
    /// Whether to reboot when a change needs it.
    pub(super) reboot_if_needed: bool,
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value.as_elements().map(|items| {
        items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
}

fn string_map(value: &Value) -> Option<BTreeMap<String, String>> {
    value.as_entries().map(|entries| {
        entries
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect()
    })
}

fn list_map(value: &Value) -> Option<BTreeMap<String, Vec<String>>> {
    value.as_entries().map(|entries| {
        entries
            .iter()
            .map(|(k, v)| (k.clone(), strings(v).unwrap_or_default()))
            .collect()
    })
}

impl Settings {
    /// The settings of a planned (fully known) value or a state.
    pub(super) fn from_value(value: &Value) -> Settings {
        let text = |name: &str| value.attr(name).as_str().map(str::to_owned);
        let pi = value.attr("raspberry_pi");
        Settings {
            hostname: text("hostname"),
            timezone: text("timezone"),
            swap: value.attr("swap").as_bool(),
            kernel_modules: strings(value.attr("kernel_modules")).map(|mut modules| {
                modules.sort();
                modules.dedup();
                modules
            }),
            sysctl: string_map(value.attr("sysctl")),
            hosts_entries: list_map(value.attr("hosts_entries")),
            authorized_keys: list_map(value.attr("authorized_keys")),
            raspberry_pi: (!pi.is_null() && pi.is_known()).then(|| RaspberryPi {
                config_txt: strings(pi.attr("config_txt")),
                cmdline_flags: strings(pi.attr("cmdline_flags")),
            }),
            reboot_if_needed: value.attr("reboot").as_str() == Some("if_needed"),
        }
    }
}

/// A list of strings as a Terraform list.
pub(super) fn list_value(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_str())).collect())
}

/// A map of string lists as a Terraform map.
pub(super) fn list_map_value(map: &BTreeMap<String, Vec<String>>) -> Value {
    Value::Map(
        map.iter()
            .map(|(k, v)| (k.clone(), list_value(v)))
            .collect(),
    )
}
