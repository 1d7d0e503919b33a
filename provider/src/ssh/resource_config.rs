//! The `host` argument and `ssh` block every host-side resource and data source takes, and the
//! one function that turns such a configuration into a connection [`Target`], so every
//! host-side type reaches hosts the same way.

use super::config::{SshDefaults, check_one_key, check_port};
use super::host_key::{HostKeyPolicy, parse_pinned};
use super::target::{Secret, Target, expand_home};
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

/// Checks `host` and the resource's `ssh` block; values may still be unknown.
pub fn validate_resource(config: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if let Some(host) = config.attr("host").as_str()
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
    let block = config.attr("ssh");
    let at = |name: &str| AttributePath::root("ssh").attr(name);
    if let Err(d) = check_port(block.attr("port"), at("port")) {
        diagnostics.push(d);
    }
    if let Some(text) = block.attr("host_key").as_str()
        && let Err(reason) = parse_pinned(text)
    {
        diagnostics.push(Diagnostic::error("Invalid host_key", reason).at(at("host_key")));
    }
    diagnostics.extend(check_one_key(block, AttributePath::root("ssh")));
    diagnostics
}

/// The connection target for a host-side resource's configuration or state: its `host`, its
/// `ssh` block, and the provider's settings for everything the block leaves unset.
pub fn target_for_resource(defaults: &SshDefaults, config: &Value) -> Result<Target, Diagnostics> {
    let diagnostics = validate_resource(config);
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let Some(host) = config.attr("host").as_str() else {
        return Err(Diagnostic::error(
            "Host not known",
            "The host must be known before the provider can connect to it.",
        )
        .at(AttributePath::root("host"))
        .into());
    };
    let mut target = defaults.target(host);
    let block = config.attr("ssh");
    if let Some(port) = block
        .attr("port")
        .as_i64()
        .and_then(|p| u16::try_from(p).ok())
    {
        target.port = port;
    }
    if let Some(user) = block.attr("user").as_str() {
        target.user = user.to_owned();
    }
    if let Some(sudo) = block.attr("sudo").as_bool() {
        target.sudo = sudo;
    }
    let key = block.attr("private_key").as_str();
    let key_path = block.attr("private_key_path").as_str();
    if key.is_some() || key_path.is_some() {
        target.auth.private_key = key.map(Secret::new);
        target.auth.private_key_path = key_path.map(expand_home);
    }
    if let Some(text) = block.attr("host_key").as_str() {
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
