//! The `host` argument and `ssh` block every host-side resource and data source takes, and the
//! one function that turns such a configuration into a connection [`Target`], so every
//! host-side type reaches hosts the same way.

use serde::{Deserialize, Serialize};

use super::config::SshDefaults;
use super::host_key::{HostKeyPolicy, parse_pinned};
use super::target::{Secret, Target, expand_home};
use crate::tf::model::{self, Planned};
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Type, Value,
};

/// The `host` argument every host-side resource takes; changing it replaces the object.
pub fn host_attribute() -> Attribute {
    Attribute::required("host", Type::String)
        .requires_replace()
        .describe("The host's name or address, as SSH connects to it.")
}

/// The optional `ssh` block of host-side resources, overriding the provider's settings.
pub fn resource_block() -> NestedBlock {
    NestedBlock::single(
        "ssh",
        Block::new(
            "Connection settings for this host, overriding the provider's `ssh` block.",
            vec![
                Attribute::optional("port", Type::Number).describe("SSH port."),
                Attribute::optional("user", Type::String).describe("Login user."),
                Attribute::optional("host_key", Type::String).describe(
                    "The host's public key, pinned: `\"ssh-ed25519 AAAA…\"` (a known_hosts \
                     line's key part; several lines allow several keys). When set, only this \
                     key is accepted and the known_hosts file is not consulted.",
                ),
                Attribute::optional("private_key", Type::String)
                    .sensitive()
                    .describe("A private key in OpenSSH or PEM form for this host."),
                Attribute::optional("private_key_path", Type::String)
                    .describe("A private key file for this host (`~/` expands)."),
                Attribute::optional("sudo", Type::Bool)
                    .describe("Run commands through `sudo -n` when the user is not root."),
            ],
        ),
    )
}

/// The `ssh` block as apply and read code see it: every value known. Its `Debug` leaves the
/// private key out.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshOverride {
    /// SSH port; checked to be 1-65535 at validate.
    pub port: Option<i64>,
    /// Login user.
    pub user: Option<String>,
    /// Pinned host keys, known_hosts key parts one per line.
    pub host_key: Option<String>,
    /// A private key (sensitive).
    pub private_key: Option<String>,
    /// A private key file.
    pub private_key_path: Option<String>,
    /// Commands through `sudo -n`.
    pub sudo: Option<bool>,
}

/// The `ssh` block at plan time, when any value may still be unknown. Its `Debug` leaves the
/// private key out.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSshOverride {
    /// SSH port.
    pub port: Planned<Option<i64>>,
    /// Login user.
    pub user: Planned<Option<String>>,
    /// Pinned host keys.
    pub host_key: Planned<Option<String>>,
    /// A private key (sensitive).
    pub private_key: Planned<Option<String>>,
    /// A private key file.
    pub private_key_path: Planned<Option<String>>,
    /// Commands through `sudo -n`.
    pub sudo: Planned<Option<bool>>,
}

impl std::fmt::Debug for SshOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshOverride")
            .field("port", &self.port)
            .field("user", &self.user)
            .field("host_key", &self.host_key)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "(sensitive)"),
            )
            .field("private_key_path", &self.private_key_path)
            .field("sudo", &self.sudo)
            .finish()
    }
}

impl std::fmt::Debug for PlannedSshOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let private_key = match &self.private_key {
            Planned::Known(Some(_)) => "(sensitive)",
            Planned::Known(None) => "None",
            Planned::Unknown => "Unknown",
        };
        f.debug_struct("PlannedSshOverride")
            .field("port", &self.port)
            .field("user", &self.user)
            .field("host_key", &self.host_key)
            .field("private_key", &private_key)
            .field("private_key_path", &self.private_key_path)
            .field("sudo", &self.sudo)
            .finish()
    }
}

impl PlannedSshOverride {
    /// The block with every value known, when it is.
    pub fn known(&self) -> Option<SshOverride> {
        Some(SshOverride {
            port: *self.port.known()?,
            user: self.user.known()?.clone(),
            host_key: self.host_key.known()?.clone(),
            private_key: self.private_key.known()?.clone(),
            private_key_path: self.private_key_path.known()?.clone(),
            sudo: *self.sudo.known()?,
        })
    }
}

impl PlannedSshOverride {
    /// The block with values not known yet taken as unset.
    pub fn known_or_unset(&self) -> SshOverride {
        SshOverride {
            port: self.port.value().copied(),
            user: self.user.value().cloned(),
            host_key: self.host_key.value().cloned(),
            private_key: self.private_key.value().cloned(),
            private_key_path: self.private_key_path.value().cloned(),
            sudo: self.sudo.value().copied(),
        }
    }
}

impl From<&SshOverride> for PlannedSshOverride {
    fn from(ssh: &SshOverride) -> PlannedSshOverride {
        PlannedSshOverride {
            port: Planned::Known(ssh.port),
            user: Planned::Known(ssh.user.clone()),
            host_key: Planned::Known(ssh.host_key.clone()),
            private_key: Planned::Known(ssh.private_key.clone()),
            private_key_path: Planned::Known(ssh.private_key_path.clone()),
            sudo: Planned::Known(ssh.sudo),
        }
    }
}

/// The `host` argument and `ssh` block of a configuration, plan or state value; the models of
/// types not yet converted to their own go through it.
#[derive(Deserialize)]
struct PlannedHostAndSsh {
    host: Planned<Option<String>>,
    ssh: Planned<Option<PlannedSshOverride>>,
}

impl PlannedHostAndSsh {
    /// Reads them from any value; one that is not an object has neither.
    fn from_value(value: &Value) -> Result<PlannedHostAndSsh, Diagnostics> {
        if !matches!(value, Value::Object(_)) {
            return Ok(PlannedHostAndSsh {
                host: Planned::Known(None),
                ssh: Planned::Known(None),
            });
        }
        Ok(model::from_value(value)?)
    }
}

/// Checks `host` and the resource's `ssh` block; values may still be unknown.
pub fn validate_resource(config: &Value) -> Diagnostics {
    match PlannedHostAndSsh::from_value(config) {
        Ok(model) => validate_host_and_ssh(
            model
                .host
                .known()
                .map(|host| host.as_deref())
                .unwrap_or(None),
            model.ssh.known().and_then(Option::as_ref),
        ),
        Err(diagnostics) => diagnostics,
    }
}

/// Checks a typed `host` (when known) and `ssh` block (when present).
pub fn validate_host_and_ssh(host: Option<&str>, ssh: Option<&PlannedSshOverride>) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if let Some(host) = host
        && (host.trim().is_empty() || host.contains(char::is_whitespace) || host.starts_with('-'))
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid host",
                format!("{host:?} is not a host name or address"),
            )
            .at(AttributePath::root("host")),
        );
    }
    let Some(ssh) = ssh else {
        return diagnostics;
    };
    let at = |name: &str| AttributePath::root("ssh").attr(name);
    if let Some(port) = ssh.port.value()
        && !(1..=65535).contains(port)
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid port",
                format!("port must be from 1 to 65535, not {port}"),
            )
            .at(at("port")),
        );
    }
    if let Some(text) = ssh.host_key.as_str()
        && let Err(reason) = parse_pinned(text)
    {
        diagnostics.push(Diagnostic::error("Invalid host_key", reason).at(at("host_key")));
    }
    if !ssh.private_key.is_null() && !ssh.private_key_path.is_null() {
        diagnostics.push(
            Diagnostic::error(
                "Conflicting private keys",
                "Set private_key or private_key_path, not both.",
            )
            .at(at("private_key_path")),
        );
    }
    diagnostics
}

/// The connection target for a host-side resource's configuration or state: its `host`, its
/// `ssh` block, and the provider's settings for everything the block leaves unset.
pub fn target_for_resource(defaults: &SshDefaults, config: &Value) -> Result<Target, Diagnostics> {
    let model = PlannedHostAndSsh::from_value(config)?;
    let Planned::Known(Some(host)) = &model.host else {
        let diagnostics = validate_resource(config);
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        return Err(Diagnostic::error(
            "Host not known",
            "The host must be known before the provider can connect to it.",
        )
        .at(AttributePath::root("host"))
        .into());
    };
    // Values still unknown leave the provider's settings in place, as unset ones do.
    let ssh = model.ssh.value().map(PlannedSshOverride::known_or_unset);
    target(defaults, host, ssh.as_ref())
}

/// The connection target for a typed `host` and `ssh` block, with the provider's settings for
/// everything the block leaves unset. Checks them as validate does first.
pub fn target(
    defaults: &SshDefaults,
    host: &str,
    ssh: Option<&SshOverride>,
) -> Result<Target, Diagnostics> {
    let planned = ssh.map(PlannedSshOverride::from);
    let diagnostics = validate_host_and_ssh(Some(host), planned.as_ref());
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let mut target = defaults.target(host);
    let Some(ssh) = ssh else {
        return Ok(target);
    };
    if let Some(port) = ssh.port.and_then(|p| u16::try_from(p).ok()) {
        target.port = port;
    }
    if let Some(user) = &ssh.user {
        target.user = user.clone();
    }
    if let Some(sudo) = ssh.sudo {
        target.sudo = sudo;
    }
    let key = ssh.private_key.as_deref();
    let key_path = ssh.private_key_path.as_deref();
    if key.is_some() || key_path.is_some() {
        target.auth.private_key = key.map(Secret::new);
        target.auth.private_key_path = key_path.map(expand_home);
    }
    if let Some(text) = &ssh.host_key {
        // Validated above, so this parses.
        let keys = parse_pinned(text).map_err(|reason| {
            Diagnostics::from(
                Diagnostic::error("Invalid host_key", reason)
                    .at(AttributePath::root("ssh").attr("host_key")),
            )
        })?;
        target.host_key = HostKeyPolicy::Pinned(keys);
    }
    Ok(target)
}

/// Splits `HOST:REST`; an IPv6 host is written in brackets (`[fd00::1]:64500`).
pub fn split_host(id: &str) -> Option<(&str, &str)> {
    let (host, rest) = match id.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed.split_once(']')?;
            (host, rest.strip_prefix(':')?)
        }
        None => id.split_once(':')?,
    };
    (!host.is_empty() && !rest.is_empty()).then_some((host, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5";

    #[test]
    fn a_resource_block_overrides_the_provider_settings() {
        let mut defaults = SshDefaults::builtin();
        defaults.auth.private_key = Some(Secret::new("provider key"));
        let config = Value::object([
            ("host", "10.4.0.10".into()),
            (
                "ssh",
                Value::object([
                    ("port", Value::int(2200)),
                    ("user", "pi".into()),
                    ("host_key", KEY.into()),
                    ("private_key", Value::Null),
                    ("private_key_path", "/k".into()),
                    ("sudo", true.into()),
                ]),
            ),
        ]);
        let target = target_for_resource(&defaults, &config).unwrap();
        assert_eq!(target.display(), "pi@10.4.0.10:2200");
        assert!(target.uses_sudo(None));
        assert_eq!(
            target.auth.private_key, None,
            "the resource's key choice wins"
        );
        assert_eq!(target.auth.private_key_path, Some(PathBuf::from("/k")));
        assert!(matches!(target.host_key, HostKeyPolicy::Pinned(ref k) if k.len() == 1));

        let plain =
            target_for_resource(&defaults, &Value::object([("host", "n1".into())])).unwrap();
        assert_eq!(plain.display(), "root@n1:22");
        assert_eq!(plain.auth.private_key, Some(Secret::new("provider key")));
    }

    #[test]
    fn the_private_key_stays_out_of_debug_output() {
        let ssh = SshOverride {
            private_key: Some("-----BEGIN OPENSSH PRIVATE KEY----- secret".into()),
            ..SshOverride::default()
        };
        let planned = PlannedSshOverride::from(&ssh);
        for text in [format!("{ssh:?}"), format!("{planned:?}")] {
            assert!(!text.contains("secret"), "{text}");
            assert!(text.contains("(sensitive)"), "{text}");
        }
    }

    #[test]
    fn a_bad_pin_or_host_is_reported_at_validate() {
        let config = Value::object([
            ("host", "bad host".into()),
            (
                "ssh",
                Value::object([("host_key", "ssh-ed25519 nope".into())]),
            ),
        ]);
        let paths: Vec<String> = validate_resource(&config)
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(paths, ["host", "ssh.host_key"]);
        assert!(validate_resource(&Value::object([("host", Value::unknown())])).is_empty());
    }
}
