//! Where and how to connect: host, port, user, keys, host key policy, timeouts and sudo.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::host_key::HostKeyPolicy;

/// Environment variable holding the passphrase of an encrypted private key.
pub const ENV_KEY_PASSPHRASE: &str = "HOMELAB_SSH_KEY_PASSPHRASE";

/// A secret string (private key text, passphrase): never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which keys to offer, in order: the configured key, the agent, then (only when no key is
/// configured) the default identity files `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Auth {
    /// A private key given as text (OpenSSH or PEM).
    pub private_key: Option<Secret>,
    /// A private key file.
    pub private_key_path: Option<PathBuf>,
    /// The SSH agent's socket to ask for keys (`SSH_AUTH_SOCK` when the agent is enabled).
    pub agent_socket: Option<PathBuf>,
    /// The passphrase of an encrypted key (from `HOMELAB_SSH_KEY_PASSPHRASE`).
    pub passphrase: Option<Secret>,
}

impl Auth {
    /// Whether a key is configured explicitly (text or file).
    pub fn has_explicit_key(&self) -> bool {
        self.private_key.is_some() || self.private_key_path.is_some()
    }
}

/// Everything needed to run commands on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The login user.
    pub user: String,
    /// Keys to offer.
    pub auth: Auth,
    /// How the host key is checked.
    pub host_key: HostKeyPolicy,
    /// How long connecting, the handshake and authentication may take together.
    pub connect_timeout: Duration,
    /// How long one command may run unless it says otherwise.
    pub command_timeout: Duration,
    /// Whether commands run through `sudo -n` when `user` is not root.
    pub sudo: bool,
}

impl Target {
    /// A target with the provider's defaults: root on port 22, known_hosts checked, agent on
    /// when `SSH_AUTH_SOCK` is set.
    pub fn new(host: impl Into<String>) -> Target {
        Target {
            host: host.into(),
            port: 22,
            user: "root".to_owned(),
            auth: Auth {
                agent_socket: agent_socket_from_env(),
                ..Auth::default()
            },
            host_key: HostKeyPolicy::KnownHosts(default_known_hosts_path()),
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(300),
            sudo: false,
        }
    }

    /// Whether commands go through `sudo -n`: asked for, and not already root.
    pub fn uses_sudo(&self, command_override: Option<bool>) -> bool {
        command_override.unwrap_or(self.sudo) && self.user != "root"
    }

    /// `user@host:port`, for messages.
    pub fn display(&self) -> String {
        format!("{}@{}", self.user, host_port(&self.host, self.port))
    }
}

/// `host:port`, with brackets around IPv6 addresses.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A duration the way users write them: `30s`, `5m0s`, `1h0m0s`, `250ms`.
pub(super) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !millis.is_multiple_of(1000) {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// The agent socket named by `SSH_AUTH_SOCK`, if set.
pub(super) fn agent_socket_from_env() -> Option<PathBuf> {
    std::env::var_os("SSH_AUTH_SOCK")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

/// The caller's home directory, from `HOME`.
pub(super) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `~/.ssh/known_hosts`.
pub(super) fn default_known_hosts_path() -> PathBuf {
    expand_home("~/.ssh/known_hosts")
}

/// A path with a leading `~/` replaced by the home directory.
pub(super) fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let auth = Auth {
            private_key: Some(Secret::new("-----BEGIN OPENSSH PRIVATE KEY----- secret")),
            passphrase: Some(Secret::new("hunter2")),
            ..Auth::default()
        };
        let shown = format!("{auth:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn sudo_is_used_only_for_non_root_users_who_ask() {
        let mut target = Target::new("10.4.0.10");
        target.sudo = true;
        assert!(!target.uses_sudo(None), "root needs no sudo");
        target.user = "pi".into();
        assert!(target.uses_sudo(None));
        assert!(!target.uses_sudo(Some(false)));
        assert_eq!(target.display(), "pi@10.4.0.10:22");
        assert_eq!(host_port("fe80::1", 2222), "[fe80::1]:2222");
    }

    #[test]
    fn durations_print_as_users_write_them() {
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h2m0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
