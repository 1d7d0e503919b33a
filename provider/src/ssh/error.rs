//! What can go wrong between the provider and a host; turned into diagnostics in one place.

use std::sync::Arc;

use super::command::ExitStatus;
use super::escape::NulByteError;
use super::host_key::HostKeyError;
use crate::tf::{AttributePath, Diagnostic, Diagnostics};

/// An SSH operation failed. Cloneable, so every caller waiting on one connection attempt gets
/// the same error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SshError {
    /// A command line could not be built.
    #[error("cannot run {command} on {target}: {source}")]
    InvalidCommand {
        /// `user@host:port`.
        target: String,
        /// The program, or `shell script`.
        command: String,
        /// Why.
        #[source]
        source: NulByteError,
    },
    /// The TCP connection failed (refused, no route, unknown name).
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `user@host:port`.
        target: String,
        /// The socket error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// No authenticated session came up within `connect_timeout`.
    #[error("cannot connect to {target}: no SSH session within the connect_timeout of {timeout}")]
    ConnectTimeout {
        /// `user@host:port`.
        target: String,
        /// The timeout as configured, e.g. `30s`.
        timeout: String,
    },
    /// The SSH handshake failed.
    #[error("ssh handshake with {target} failed: {source}")]
    Handshake {
        /// `user@host:port`.
        target: String,
        /// russh's error.
        #[source]
        source: Arc<russh::Error>,
    },
    /// The host key was not accepted.
    #[error(transparent)]
    HostKey(Arc<HostKeyError>),
    /// A private key could not be read or decrypted.
    #[error("cannot load the ssh private key {what}: {reason}")]
    PrivateKey {
        /// `private_key`, or the file it came from.
        what: String,
        /// Why.
        reason: String,
    },
    /// The server accepted none of the keys tried.
    #[error("ssh authentication to {target} failed; tried: {tried}")]
    Authentication {
        /// `user@host:port`.
        target: String,
        /// Every key or agent tried, with fingerprints.
        tried: String,
    },
    /// A channel could not be opened or used.
    #[error("ssh channel to {target} failed: {source}")]
    Channel {
        /// `user@host:port`.
        target: String,
        /// russh's error.
        #[source]
        source: Arc<russh::Error>,
    },
    /// The command ran longer than its timeout and was stopped.
    #[error("{command} on {target} did not finish within {timeout} and was stopped")]
    CommandTimeout {
        /// `user@host:port`.
        target: String,
        /// The program, or `shell script`.
        command: String,
        /// The timeout, e.g. `5m0s`.
        timeout: String,
    },
    /// Terraform asked the provider to stop while the operation ran.
    #[error("{command} on {target} was cancelled")]
    Cancelled {
        /// `user@host:port`.
        target: String,
        /// The program, or `shell script`.
        command: String,
    },
    /// The command exited with a failure.
    #[error("{command} on {target} failed ({status}): {stderr}")]
    CommandFailed {
        /// `user@host:port`.
        target: String,
        /// What was run, in words.
        command: String,
        /// How it ended.
        status: ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// The host answered something this provider cannot read.
    #[error("unexpected answer from {target} to {command}: {detail}")]
    UnexpectedOutput {
        /// `user@host:port`.
        target: String,
        /// What was run, in words.
        command: String,
        /// What was wrong with it.
        detail: String,
    },
}

impl From<Box<HostKeyError>> for SshError {
    fn from(e: Box<HostKeyError>) -> SshError {
        SshError::HostKey(Arc::from(e))
    }
}

impl SshError {
    /// A one-line summary for a diagnostic.
    pub fn summary(&self) -> &'static str {
        match self {
            SshError::HostKey(_) => "SSH host key not trusted",
            SshError::Connect { .. } | SshError::ConnectTimeout { .. } => "Cannot reach host",
            SshError::Handshake { .. } | SshError::Channel { .. } => "SSH connection failed",
            SshError::PrivateKey { .. } => "Cannot load SSH private key",
            SshError::Authentication { .. } => "SSH authentication failed",
            SshError::CommandTimeout { .. } => "Command timed out",
            SshError::Cancelled { .. } => "Cancelled",
            SshError::InvalidCommand { .. } => "Invalid command",
            SshError::CommandFailed { .. } => "Command failed on host",
            SshError::UnexpectedOutput { .. } => "Unexpected answer from host",
        }
    }

    /// The diagnostic Terraform shows for this error, prefixed with what was being done.
    pub fn to_diagnostic(&self, doing: &str) -> Diagnostic {
        Diagnostic::error(self.summary(), format!("{doing}: {self}"))
    }

    /// Like [`SshError::to_diagnostic`], pointing at an attribute.
    pub fn to_diagnostics_at(&self, doing: &str, path: AttributePath) -> Diagnostics {
        self.to_diagnostic(doing).at(path).into()
    }
}

impl From<SshError> for Diagnostics {
    fn from(e: SshError) -> Diagnostics {
        Diagnostic::error(e.summary(), e.to_string()).into()
    }
}
