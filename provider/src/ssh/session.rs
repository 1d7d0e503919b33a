//! A `Session`: one target and one operation's stop signal, over the shared pool.

use tokio::sync::OwnedMutexGuard;
use tokio_util::sync::CancellationToken;

use super::command::{Command, Output};
use super::error::SshError;
use super::pool::Pool;
use super::target::Target;

/// Commands and files on one host for one operation. Cheap to make: nothing connects until the
/// first command, and the connection is the pool's, shared with every other session to the host.
pub struct Session<'a> {
    pool: &'a Pool,
    target: Target,
    cancel: CancellationToken,
}

impl<'a> Session<'a> {
    /// A session on `target` that stops when `cancel` fires.
    pub fn new(pool: &'a Pool, target: Target, cancel: CancellationToken) -> Session<'a> {
        Session {
            pool,
            target,
            cancel,
        }
    }

    /// Where the commands run.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Runs a command; a non-zero exit is not an error here (see [`Session::run_checked`]).
    pub async fn run(&self, command: &Command) -> Result<Output, SshError> {
        self.pool.run(&self.target, command, &self.cancel).await
    }

    /// Runs a command and fails, with its stderr, unless it exits with 0.
    pub async fn run_checked(&self, command: &Command) -> Result<Output, SshError> {
        let output = self.run(command).await?;
        if output.success() {
            Ok(output)
        } else {
            Err(SshError::CommandFailed {
                target: self.target.display(),
                command: command.describe(),
                status: output.status.clone(),
                stderr: output.stderr_text(),
            })
        }
    }

    /// Connects and verifies the host key without running a command (see [`Pool::verify`]).
    pub async fn verify(&self) -> Result<(), SshError> {
        self.pool.verify(&self.target, &self.cancel).await
    }

    /// Holds off every other session's edit of `path` on this host until the guard drops.
    pub async fn lock_file(&self, path: &str) -> OwnedMutexGuard<()> {
        self.pool.lock_file(&self.target, path).await
    }
}
