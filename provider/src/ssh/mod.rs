//! SSH to the hosts: pooled connections on russh, verified host keys, escaped commands and
//! atomic file operations.
//!
//! A resource turns its `host` and `ssh` block into a [`Session`] with
//! [`Ssh::session_for`], then runs [`Command`]s or file operations on it. Every session to the
//! same (host, port, user) shares one connection from the provider's [`Pool`].
//!
//! Commands are built like `std::process::Command`: each argument is single-quoted, so no
//! value ever reaches the remote shell as code. The one way to send shell code is
//! [`Command::shell_script`], for fixed scripts written in this crate; user values go to them
//! as quoted positional arguments.
//!
//! The remote login shell must be a POSIX shell (bash, dash, ash, zsh): sshd hands it every
//! command line, and the line starts by reporting the shell's process group so that a command
//! that times out or is cancelled can be stopped (OpenSSH ignores the protocol's signal
//! request for root sessions).

mod channel;
mod command;
pub mod config;
mod connection;
mod error;
pub mod escape;
mod files;
mod host_key;
pub mod known_hosts;
mod locks;
mod pool;
pub mod resource_config;
mod session;
mod target;

use tokio_util::sync::CancellationToken;

pub use command::{Command, ExitStatus, Output};
pub use config::SshDefaults;
pub use error::SshError;
pub use files::{FileMetadata, FileWrite, RemoteFile};
pub use host_key::{HostKeyError, HostKeyPolicy, fingerprint, parse_pinned, pin_line};
pub use locks::APT_LOCK;
pub use pool::{DEFAULT_MAX_SESSIONS_PER_HOST, Pool};
pub use session::Session;
pub use target::{Auth, ENV_KEY_PASSPHRASE, Secret, Target, host_port};

use crate::tf::{Diagnostics, Value};

/// The provider's SSH settings and its connection pool; one per configured provider.
#[derive(Debug)]
pub struct Ssh {
    /// The provider block's settings, the defaults of every target.
    pub defaults: SshDefaults,
    /// The connections, shared by every resource and RPC.
    pub pool: Pool,
}

impl Ssh {
    /// A pool sized by `defaults.max_sessions_per_host`.
    pub fn new(defaults: SshDefaults) -> Ssh {
        let pool = Pool::new(defaults.max_sessions_per_host);
        Ssh { defaults, pool }
    }

    /// A session for a host-side resource, from its `host` and `ssh` block (configuration,
    /// plan or state: they have the same shape).
    pub fn session_for(
        &self,
        resource: &Value,
        cancel: &CancellationToken,
    ) -> Result<Session<'_>, Diagnostics> {
        let target = resource_config::target_for_resource(&self.defaults, resource)?;
        Ok(self.session(target, cancel))
    }

    /// New or changed connection settings are tried at plan time, so a wrong host key or an
    /// unreachable host fails the plan, not the apply: when `config`'s `host` or `ssh` block
    /// differs from `prior`'s (or there is no prior) and both are known, connect and verify.
    pub async fn check_connection(
        &self,
        prior: &Value,
        config: &Value,
        cancel: &CancellationToken,
    ) -> Diagnostics {
        let changed = prior.is_null()
            || !config.attr("host").semantically_equal(prior.attr("host"))
            || !config.attr("ssh").semantically_equal(prior.attr("ssh"));
        if !changed || !config.attr("host").is_known() || !config.attr("ssh").is_fully_known() {
            return Diagnostics::new();
        }
        let session = match self.session_for(config, cancel) {
            Ok(session) => session,
            Err(d) => return d,
        };
        match session.verify().await {
            Ok(()) => Diagnostics::new(),
            Err(e) => e
                .to_diagnostic(&format!("connecting to {}", session.target().host))
                .into(),
        }
    }

    /// A session for a host-side resource's typed model: its `host` and `ssh` block.
    pub fn session_to(
        &self,
        host: &str,
        ssh: Option<&resource_config::SshOverride>,
        cancel: &CancellationToken,
    ) -> Result<Session<'_>, Diagnostics> {
        let target = resource_config::target(&self.defaults, host, ssh)?;
        Ok(self.session(target, cancel))
    }

    /// A session on any target.
    pub fn session(&self, target: Target, cancel: &CancellationToken) -> Session<'_> {
        Session::new(&self.pool, target, cancel.clone())
    }
}
