//! The settings that say where FRR keeps its configuration, how it is saved and how bgpd is
//! started, as resource attributes with Debian's defaults.

use crate::tf::{Attribute, AttributePath, Diagnostic, Diagnostics, Type, Value};

/// Where Debian's FRR keeps its integrated configuration.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/frr/frr.conf";
/// Which daemons Debian's FRR service starts.
pub const DEFAULT_DAEMONS_PATH: &str = "/etc/frr/daemons";
/// Debian's FRR service.
pub const DEFAULT_SERVICE: &str = "frr";
/// How FRR saves its running configuration.
pub const DEFAULT_SAVE_COMMAND: [&str; 3] = ["vtysh", "-c", "write memory"];

/// The settings that say where FRR keeps its configuration and how it is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrrSettings {
    /// The file FRR boots from, which the save command writes.
    pub config_path: String,
    /// The command that saves the running configuration.
    pub save_command: Vec<String>,
    /// The file that says which FRR daemons run.
    pub daemons_path: String,
    /// The service that runs FRR.
    pub service: String,
}

impl FrrSettings {
    /// The settings of a resource's configuration or state; defaults where unset.
    pub fn from_value(resource: &Value) -> FrrSettings {
        let text =
            |name: &str, default: &str| resource.attr(name).as_str().unwrap_or(default).to_owned();
        let save_command = resource
            .attr("save_command")
            .as_elements()
            .map(|words| {
                words
                    .iter()
                    .filter_map(|w| w.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .filter(|words| !words.is_empty())
            .unwrap_or_else(|| DEFAULT_SAVE_COMMAND.map(str::to_owned).to_vec());
        FrrSettings {
            config_path: text("config_path", DEFAULT_CONFIG_PATH),
            save_command,
            daemons_path: text("daemons_path", DEFAULT_DAEMONS_PATH),
            service: text("service", DEFAULT_SERVICE),
        }
    }
}

/// The `config_path` and `save_command` attributes every FRR resource takes.
pub fn save_attributes() -> Vec<Attribute> {
    vec![
        Attribute::optional("config_path", Type::String)
            .default_value(DEFAULT_CONFIG_PATH)
            .describe(
                "The configuration file FRR boots from. After every change the provider checks \
                 that the save command wrote the running BGP configuration there.",
            ),
        Attribute::optional("save_command", Type::list(Type::String))
            .default_value(Value::List(
                DEFAULT_SAVE_COMMAND
                    .iter()
                    .map(|w| Value::from(*w))
                    .collect(),
            ))
            .describe(
                "The command (program and arguments, run without a shell) that saves FRR's \
                 running configuration to `config_path`.",
            ),
    ]
}

/// The `daemons_path` and `service` attributes of `homelab_bgp_router`.
pub fn daemon_attributes() -> Vec<Attribute> {
    vec![
        Attribute::optional("daemons_path", Type::String)
            .default_value(DEFAULT_DAEMONS_PATH)
            .describe(
                "FRR's daemons file. When it does not enable bgpd (`bgpd=yes`), the provider \
                 enables it and restarts `service`.",
            ),
        Attribute::optional("service", Type::String)
            .default_value(DEFAULT_SERVICE)
            .describe("The systemd service that runs FRR, restarted when bgpd is enabled."),
    ]
}

/// Checks the FRR settings of a resource's configuration; values may still be unknown.
pub fn validate_settings(config: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    for name in ["config_path", "daemons_path"] {
        if let Some(path) = config.attr(name).as_str()
            && (!path.starts_with('/') || path.contains(['\n', '\0']))
        {
            diagnostics.push(
                Diagnostic::error("Invalid path", format!("{path:?} is not an absolute path"))
                    .at(AttributePath::root(name)),
            );
        }
    }
    if let Some(words) = config.attr("save_command").as_elements()
        && (words.is_empty() || words[0].as_str() == Some(""))
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid save_command",
                "save_command needs at least the program to run.",
            )
            .at(AttributePath::root("save_command")),
        );
    }
    if let Some(service) = config.attr("service").as_str()
        && (service.is_empty() || service.starts_with('-') || service.contains(char::is_whitespace))
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid service",
                format!("{service:?} is not a service name"),
            )
            .at(AttributePath::root("service")),
        );
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_fall_back_to_debian_defaults() {
        let settings = FrrSettings::from_value(&Value::Null);
        assert_eq!(settings.config_path, "/etc/frr/frr.conf");
        assert_eq!(settings.save_command, ["vtysh", "-c", "write memory"]);
        let custom = FrrSettings::from_value(&Value::object([
            ("config_path", Value::from("/srv/frr/frr.conf")),
            (
                "save_command",
                Value::List(vec!["/usr/local/bin/save".into()]),
            ),
        ]));
        assert_eq!(custom.config_path, "/srv/frr/frr.conf");
        assert_eq!(custom.save_command, ["/usr/local/bin/save"]);
        let paths: Vec<String> = validate_settings(&Value::object([
            ("config_path", Value::from("frr.conf")),
            ("save_command", Value::List(vec![])),
            ("service", Value::from("-x")),
        ]))
        .iter()
        .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
        .collect();
        assert_eq!(paths, ["config_path", "save_command", "service"]);
    }
}
