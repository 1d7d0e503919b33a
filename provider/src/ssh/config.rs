//! The provider's `ssh` block: its schema, validation, environment fallbacks and the
//! [`SshDefaults`] every host-side resource starts from (see `resource_config` for the
//! per-resource `host` and `ssh` override block).

use std::time::Duration;

use super::host_key::HostKeyPolicy;
// The per-resource side lives in `resource_config`; re-exported here so host-side types find
// the provider's and the resource's connection settings in one place.
use super::pool::DEFAULT_MAX_SESSIONS_PER_HOST;
pub use super::resource_config::{
    host_attribute, resource_block, target_for_resource, validate_resource,
};
use super::target::{
    Auth, ENV_KEY_PASSPHRASE, Secret, Target, agent_socket_from_env, default_known_hosts_path,
    expand_home,
};
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Type, Value, duration,
};

/// The provider's settings for every host, after the block, the environment and the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SshDefaults {
    /// Login user.
    pub user: String,
    /// Port.
    pub port: u16,
    /// Keys to offer.
    pub auth: Auth,
    /// Host key policy when a resource pins no `host_key`.
    pub host_key: HostKeyPolicy,
    /// Connect, handshake and authentication together.
    pub connect_timeout: Duration,
    /// One command.
    pub command_timeout: Duration,
    /// `sudo -n` for non-root users.
    pub sudo: bool,
    /// Channels open at once per connection.
    pub max_sessions_per_host: usize,
}

impl SshDefaults {
    /// The built-in defaults, ignoring the environment.
    pub fn builtin() -> SshDefaults {
        let target = Target::new("");
        SshDefaults {
            user: target.user,
            port: target.port,
            auth: Auth::default(),
            host_key: HostKeyPolicy::KnownHosts(default_known_hosts_path()),
            connect_timeout: target.connect_timeout,
            command_timeout: target.command_timeout,
            sudo: false,
            max_sessions_per_host: DEFAULT_MAX_SESSIONS_PER_HOST,
        }
    }

    /// A target on `host` with these settings.
    pub fn target(&self, host: &str) -> Target {
        Target {
            host: host.to_owned(),
            port: self.port,
            user: self.user.clone(),
            auth: self.auth.clone(),
            host_key: self.host_key.clone(),
            connect_timeout: self.connect_timeout,
            command_timeout: self.command_timeout,
            sudo: self.sudo,
        }
    }
}

/// One setting of the provider block: attribute name, environment variable, description.
struct Setting {
    name: &'static str,
    env: &'static str,
}

const USER: Setting = Setting {
    name: "user",
    env: "HOMELAB_SSH_USER",
};
const PORT: Setting = Setting {
    name: "port",
    env: "HOMELAB_SSH_PORT",
};
const PRIVATE_KEY: Setting = Setting {
    name: "private_key",
    env: "HOMELAB_SSH_PRIVATE_KEY",
};
const PRIVATE_KEY_PATH: Setting = Setting {
    name: "private_key_path",
    env: "HOMELAB_SSH_PRIVATE_KEY_PATH",
};
const AGENT: Setting = Setting {
    name: "agent",
    env: "HOMELAB_SSH_AGENT",
};
const KNOWN_HOSTS_PATH: Setting = Setting {
    name: "known_hosts_path",
    env: "HOMELAB_SSH_KNOWN_HOSTS",
};
const CONNECT_TIMEOUT: Setting = Setting {
    name: "connect_timeout",
    env: "HOMELAB_SSH_CONNECT_TIMEOUT",
};
const COMMAND_TIMEOUT: Setting = Setting {
    name: "command_timeout",
    env: "HOMELAB_SSH_COMMAND_TIMEOUT",
};
const SUDO: Setting = Setting {
    name: "sudo",
    env: "HOMELAB_SSH_SUDO",
};
const MAX_SESSIONS: Setting = Setting {
    name: "max_sessions_per_host",
    env: "HOMELAB_SSH_MAX_SESSIONS_PER_HOST",
};
const INSECURE: Setting = Setting {
    name: "insecure_ignore_host_key",
    env: "HOMELAB_SSH_INSECURE_IGNORE_HOST_KEY",
};

/// The provider's `ssh` block.
pub fn provider_block() -> NestedBlock {
    NestedBlock::single(
        "ssh",
        Block::new(
            "How the provider reaches hosts over SSH. One connection per host, port and user is \
             shared by every resource; host keys are always verified unless \
             `insecure_ignore_host_key` is set. Every setting also reads an environment variable \
             when the block leaves it unset.",
            vec![
                Attribute::optional(USER.name, Type::String)
                    .describe("Login user. Default: `HOMELAB_SSH_USER`, else `root`."),
                Attribute::optional(PORT.name, Type::Number)
                    .describe("SSH port. Default: `HOMELAB_SSH_PORT`, else 22."),
                Attribute::optional(PRIVATE_KEY.name, Type::String).sensitive().describe(
                    "A private key in OpenSSH or PEM form. Default: `HOMELAB_SSH_PRIVATE_KEY`. \
                     An encrypted key's passphrase is read from `HOMELAB_SSH_KEY_PASSPHRASE`.",
                ),
                Attribute::optional(PRIVATE_KEY_PATH.name, Type::String).describe(
                    "A private key file (`~/` expands). Default: \
                     `HOMELAB_SSH_PRIVATE_KEY_PATH`. When neither key setting is given, the \
                     agent and then `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` are tried.",
                ),
                Attribute::optional(AGENT.name, Type::Bool).describe(
                    "Offer the keys of the SSH agent at `SSH_AUTH_SOCK`. Default: \
                     `HOMELAB_SSH_AGENT`, else true when `SSH_AUTH_SOCK` is set.",
                ),
                Attribute::optional(KNOWN_HOSTS_PATH.name, Type::String).describe(
                    "The known_hosts file that host keys are checked against when a resource \
                     pins no `host_key` (hashed entries and `[host]:port` names included). \
                     Default: `HOMELAB_SSH_KNOWN_HOSTS`, else `~/.ssh/known_hosts`.",
                ),
                Attribute::optional(CONNECT_TIMEOUT.name, Type::String).describe(
                    "How long connecting, the handshake and authentication may take, as a \
                     duration like `\"10s\"`. Default: `HOMELAB_SSH_CONNECT_TIMEOUT`, else `\"30s\"`.",
                ),
                Attribute::optional(COMMAND_TIMEOUT.name, Type::String).describe(
                    "How long one remote command may run before it is stopped. Default: \
                     `HOMELAB_SSH_COMMAND_TIMEOUT`, else `\"5m\"`.",
                ),
                Attribute::optional(SUDO.name, Type::Bool).describe(
                    "Run commands through `sudo -n` when the user is not root (passwordless \
                     sudo is required). Default: `HOMELAB_SSH_SUDO`, else false.",
                ),
                Attribute::optional(MAX_SESSIONS.name, Type::Number).describe(
                    "How many commands may run at once on one connection (sshd allows 10 by \
                     default). Default: `HOMELAB_SSH_MAX_SESSIONS_PER_HOST`, else 8.",
                ),
                Attribute::optional(INSECURE.name, Type::Bool).describe(
                    "Accept any host key without checking it. Anyone on the network path can \
                     then impersonate your hosts; a warning is logged on every connection. For \
                     throwaway labs only. Default: `HOMELAB_SSH_INSECURE_IGNORE_HOST_KEY`, else \
                     false.",
                ),
            ],
        ),
    )
}

/// Checks the provider's `ssh` block; values may still be unknown.
pub fn validate_provider_block(config: &Value) -> Diagnostics {
    let block = config.attr("ssh");
    let at = |name: &str| AttributePath::root("ssh").attr(name);
    let mut diagnostics = Diagnostics::new();
    for setting in [CONNECT_TIMEOUT, COMMAND_TIMEOUT] {
        if let Some(text) = block.attr(setting.name).as_str()
            && let Err(e) = duration::parse(text)
        {
            diagnostics
                .push(Diagnostic::error("Invalid duration", e.to_string()).at(at(setting.name)));
        }
    }
    if let Err(d) = check_port(block.attr(PORT.name), at(PORT.name)) {
        diagnostics.push(d);
    }
    if let Some(n) = block.attr(MAX_SESSIONS.name).as_i64()
        && n < 1
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid max_sessions_per_host",
                format!("max_sessions_per_host must be 1 or more, not {n}"),
            )
            .at(at(MAX_SESSIONS.name)),
        );
    }
    diagnostics.extend(check_one_key(block, AttributePath::root("ssh")));
    diagnostics
}

/// The provider's SSH settings from its `ssh` block, the environment and the defaults.
pub fn settings_from_config(config: &Value) -> Result<SshDefaults, Diagnostics> {
    let diagnostics = validate_provider_block(config);
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let block = config.attr("ssh");
    if !block.is_fully_known() {
        return Err(Diagnostic::error(
            "Value not known when configuring the provider",
            "The provider's ssh settings must be known before any resource is planned; do not \
             derive them from resources of this configuration.",
        )
        .at(AttributePath::root("ssh"))
        .into());
    }
    let mut errors = Diagnostics::new();
    let text = |setting: &Setting| -> Option<String> {
        block
            .attr(setting.name)
            .as_str()
            .map(str::to_owned)
            .or_else(|| std::env::var(setting.env).ok().filter(|v| !v.is_empty()))
    };
    let user = text(&USER);
    let port = text(&PORT);
    let private_key = text(&PRIVATE_KEY);
    let private_key_path = text(&PRIVATE_KEY_PATH);
    let agent = text(&AGENT);
    let known_hosts = text(&KNOWN_HOSTS_PATH);
    let connect_timeout = text(&CONNECT_TIMEOUT);
    let command_timeout = text(&COMMAND_TIMEOUT);
    let sudo = text(&SUDO);
    let max_sessions = text(&MAX_SESSIONS);
    let insecure = text(&INSECURE);

    let mut defaults = SshDefaults::builtin();
    if let Some(user) = user {
        defaults.user = user;
    }
    let number = |setting: &Setting, text: Option<String>, errors: &mut Diagnostics| {
        block.attr(setting.name).as_i64().or_else(|| {
            let text = text?;
            match text.trim().parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(env_error(setting, &text, "a whole number"));
                    None
                }
            }
        })
    };
    if let Some(port) = number(&PORT, port, &mut errors) {
        match u16::try_from(port) {
            Ok(p) if p > 0 => defaults.port = p,
            _ => errors.push(env_error(
                &PORT,
                &port.to_string(),
                "a port from 1 to 65535",
            )),
        }
    }
    if let Some(n) = number(&MAX_SESSIONS, max_sessions, &mut errors) {
        match usize::try_from(n) {
            Ok(n) if n > 0 => defaults.max_sessions_per_host = n,
            _ => errors.push(env_error(&MAX_SESSIONS, &n.to_string(), "1 or more")),
        }
    }
    let flag = |setting: &Setting, text: Option<String>, errors: &mut Diagnostics| {
        block.attr(setting.name).as_bool().or_else(|| {
            let text = text?;
            match text.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => Some(true),
                "0" | "false" | "no" => Some(false),
                _ => {
                    errors.push(env_error(setting, &text, "true or false"));
                    None
                }
            }
        })
    };
    defaults.sudo = flag(&SUDO, sudo, &mut errors).unwrap_or(false);
    // Asking for the agent without SSH_AUTH_SOCK leaves nothing to ask; authentication then
    // says so among the methods it tried.
    let use_agent = flag(&AGENT, agent, &mut errors).unwrap_or(true);
    defaults.auth.agent_socket = agent_socket_from_env().filter(|_| use_agent);
    let insecure = flag(&INSECURE, insecure, &mut errors).unwrap_or(false);
    for (setting, text, slot) in [
        (
            &CONNECT_TIMEOUT,
            connect_timeout,
            &mut defaults.connect_timeout,
        ),
        (
            &COMMAND_TIMEOUT,
            command_timeout,
            &mut defaults.command_timeout,
        ),
    ] {
        if let Some(text) = text {
            match duration::parse(&text) {
                Ok(d) => *slot = d,
                Err(e) => errors.push(env_error(setting, &text, &e.to_string())),
            }
        }
    }
    defaults.auth.private_key = private_key.map(Secret::new);
    defaults.auth.private_key_path = private_key_path.as_deref().map(expand_home);
    if defaults.auth.private_key.is_some() && defaults.auth.private_key_path.is_some() {
        // Both from the environment, or one from each source: the block's choice wins.
        if block.attr(PRIVATE_KEY_PATH.name).is_null() {
            defaults.auth.private_key_path = None;
        } else {
            defaults.auth.private_key = None;
        }
    }
    defaults.auth.passphrase = std::env::var(ENV_KEY_PASSPHRASE).ok().map(Secret::new);
    defaults.host_key = if insecure {
        HostKeyPolicy::InsecureIgnore
    } else {
        HostKeyPolicy::KnownHosts(
            known_hosts
                .as_deref()
                .map(expand_home)
                .unwrap_or_else(default_known_hosts_path),
        )
    };
    if errors.has_errors() {
        return Err(errors);
    }
    Ok(defaults)
}

fn env_error(setting: &Setting, value: &str, expected: &str) -> Diagnostic {
    // Environment values may be secrets (a key); only short, non-secret settings are shown.
    let shown = if setting.name == PRIVATE_KEY.name {
        "(hidden)".to_owned()
    } else {
        format!("{value:?}")
    };
    Diagnostic::error(
        format!("Invalid ssh {}", setting.name),
        format!(
            "ssh.{} (or {}) is {shown}; expected {expected}",
            setting.name, setting.env
        ),
    )
    .at(AttributePath::root("ssh").attr(setting.name))
}

pub(super) fn check_port(value: &Value, path: AttributePath) -> Result<(), Diagnostic> {
    match value.as_i64() {
        Some(port) if !(1..=65535).contains(&port) => Err(Diagnostic::error(
            "Invalid port",
            format!("port must be from 1 to 65535, not {port}"),
        )
        .at(path)),
        _ => Ok(()),
    }
}

pub(super) fn check_one_key(block: &Value, path: AttributePath) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if !block.attr("private_key").is_null() && !block.attr("private_key_path").is_null() {
        diagnostics.push(
            Diagnostic::error(
                "Conflicting private keys",
                "Set private_key or private_key_path, not both.",
            )
            .at(path.attr("private_key_path")),
        );
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn provider(ssh: Vec<(&str, Value)>) -> Value {
        Value::object([("ssh", Value::object(ssh))])
    }

    #[test]
    fn block_values_win_and_defaults_fill_the_rest() {
        let defaults = settings_from_config(&provider(vec![
            ("user", "pi".into()),
            ("port", Value::int(2222)),
            ("private_key_path", "/keys/id".into()),
            ("known_hosts_path", "/etc/lab/known_hosts".into()),
            ("connect_timeout", "2s".into()),
            ("max_sessions_per_host", Value::int(3)),
            ("sudo", true.into()),
        ]))
        .unwrap();
        assert_eq!(defaults.user, "pi");
        assert_eq!(defaults.port, 2222);
        assert_eq!(
            defaults.auth.private_key_path,
            Some(PathBuf::from("/keys/id"))
        );
        assert_eq!(
            defaults.host_key,
            HostKeyPolicy::KnownHosts("/etc/lab/known_hosts".into())
        );
        assert_eq!(defaults.connect_timeout, Duration::from_secs(2));
        assert_eq!(defaults.command_timeout, Duration::from_secs(300));
        assert_eq!(defaults.max_sessions_per_host, 3);
        assert!(defaults.sudo);

        let insecure =
            settings_from_config(&provider(vec![("insecure_ignore_host_key", true.into())]))
                .unwrap();
        assert_eq!(insecure.host_key, HostKeyPolicy::InsecureIgnore);
    }

    #[test]
    fn bad_settings_name_their_attribute() {
        let diagnostics = validate_provider_block(&provider(vec![
            ("port", Value::int(70000)),
            ("command_timeout", "soon".into()),
            ("private_key", "x".into()),
            ("private_key_path", "y".into()),
            ("max_sessions_per_host", Value::int(0)),
        ]));
        let mut paths: Vec<String> = diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            [
                "ssh.command_timeout",
                "ssh.max_sessions_per_host",
                "ssh.port",
                "ssh.private_key_path"
            ]
        );
        assert!(settings_from_config(&provider(vec![("user", Value::unknown())])).is_err());
    }
}
