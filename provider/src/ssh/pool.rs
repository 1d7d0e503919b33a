//! The connection pool: one SSH connection per (host, port, user) shared by every resource and
//! RPC, channels bounded per host, a fresh connection after a drop, and per-host file locks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::{OwnedMutexGuard, Semaphore};
use tokio_util::sync::CancellationToken;

use super::channel::{ExecError, Run};
use super::command::{Command, Output};
use super::connection::{self, Connection};
use super::error::SshError;
use super::target::Target;

/// Channels open at once on one connection unless configured otherwise; OpenSSH's sshd allows
/// 10 (`MaxSessions`).
pub const DEFAULT_MAX_SESSIONS_PER_HOST: usize = 8;

/// How often a channel the server refused to open is tried again, and the delay before the
/// first retry (it grows linearly: 10 retries wait 0.55 s in all).
const REFUSED_OPEN_RETRIES: u32 = 10;
const REFUSED_OPEN_DELAY: std::time::Duration = std::time::Duration::from_millis(10);

/// Shared SSH connections for the whole provider process.
pub struct Pool {
    max_sessions_per_host: usize,
    slots: Mutex<HashMap<PoolKey, Arc<Slot>>>,
    file_locks: Mutex<HashMap<FileKey, Arc<tokio::sync::Mutex<()>>>>,
    connections_opened: AtomicU64,
    next_attempt: AtomicU64,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max_sessions_per_host", &self.max_sessions_per_host)
            .field("connections_opened", &self.connections_opened())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    host: String,
    port: u16,
    user: String,
}

/// (host, path): what a file lock guards.
type FileKey = (String, String);

type Attempt = Shared<BoxFuture<'static, Result<Arc<Connection>, SshError>>>;

/// One (host, port, user): its connection and the semaphore that bounds its channels.
struct Slot {
    sessions: Arc<Semaphore>,
    state: Mutex<SlotState>,
}

enum SlotState {
    Idle,
    Connecting { id: u64, attempt: Attempt },
    Connected(Arc<Connection>),
}

impl Pool {
    /// An empty pool allowing `max_sessions_per_host` channels at once per connection.
    pub fn new(max_sessions_per_host: usize) -> Pool {
        Pool {
            max_sessions_per_host: max_sessions_per_host.max(1),
            slots: Mutex::new(HashMap::new()),
            file_locks: Mutex::new(HashMap::new()),
            connections_opened: AtomicU64::new(0),
            next_attempt: AtomicU64::new(0),
        }
    }

    /// How many connections this pool has opened so far (reconnections included).
    pub fn connections_opened(&self) -> u64 {
        self.connections_opened.load(Ordering::Relaxed)
    }

    /// Runs `command` on `target` and returns its output whatever its exit status.
    ///
    /// Connects on first use and reconnects when the previous connection dropped. A command
    /// is never sent twice: only opening the channel is retried, once, on a fresh connection.
    pub async fn run(
        &self,
        target: &Target,
        command: &Command,
        cancel: &CancellationToken,
    ) -> Result<Output, SshError> {
        let describe = command.describe();
        let sudo = target.uses_sudo(command.sudo_override());
        let line = command
            .command_line(sudo)
            .map_err(|source| SshError::InvalidCommand {
                target: target.display(),
                command: describe.clone(),
                source,
            })?;
        let timeout = command.timeout_override().unwrap_or(target.command_timeout);
        let cancelled = || SshError::Cancelled {
            target: target.display(),
            command: describe.clone(),
        };
        let slot = self.slot(target);
        let _permit = tokio::select! {
            permit = slot.sessions.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = cancel.cancelled() => return Err(cancelled()),
        };
        crate::log::trace(
            "ssh command",
            &[("target", &target.display()), ("command", &describe)],
        );
        let mut retried = false;
        let mut refused_opens = 0;
        loop {
            let connection = self.connection(&slot, target, cancel).await?;
            let run = Run {
                line: &line,
                stdin: command.stdin_bytes(),
                describe: &describe,
                sudo,
                timeout,
                cancel,
            };
            match connection.exec(run).await {
                Ok(output) => return Ok(output),
                Err(ExecError::Open(e)) if !retried && connection.is_closed() => {
                    crate::log::debug(
                        "ssh connection dropped; reconnecting",
                        &[("target", &target.display()), ("error", &e)],
                    );
                    retried = true;
                    slot.forget(&connection);
                }
                Err(ExecError::Open(russh::Error::ChannelOpenFailure(reason)))
                    if refused_opens < REFUSED_OPEN_RETRIES && !connection.is_closed() =>
                {
                    // sshd counts a session against MaxSessions until its main loop has
                    // collected the closed channel, and russh sends our CLOSE just before the
                    // next OPEN: read in one batch, the OPEN is refused although this side
                    // never had more than max_sessions_per_host channels open. A moment later
                    // it succeeds; the command has not run, so trying again is safe.
                    refused_opens += 1;
                    crate::log::debug(
                        "ssh channel refused; retrying",
                        &[
                            ("target", &target.display()),
                            ("reason", &format!("{reason:?}")),
                        ],
                    );
                    tokio::select! {
                        () = tokio::time::sleep(REFUSED_OPEN_DELAY * refused_opens) => {}
                        _ = cancel.cancelled() => return Err(cancelled()),
                    }
                }
                Err(ExecError::Open(e)) => return Err(connection.open_error(e)),
                Err(ExecError::Failed(e)) => return Err(e),
            }
        }
    }

    /// Connects (or reuses the connection) and checks the host key against `target`'s policy,
    /// without running anything: a plan-time check that the settings work.
    pub async fn verify(
        &self,
        target: &Target,
        cancel: &CancellationToken,
    ) -> Result<(), SshError> {
        let slot = self.slot(target);
        self.connection(&slot, target, cancel).await.map(|_| ())
    }

    /// Serializes edits of one file on one host across resources: hold the guard while
    /// reading, changing and writing it.
    pub async fn lock_file(&self, target: &Target, path: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.file_locks.lock().expect("file locks poisoned");
            locks
                .entry((target.host.to_ascii_lowercase(), path.to_owned()))
                .or_default()
                .clone()
        };
        lock.lock_owned().await
    }

    fn slot(&self, target: &Target) -> Arc<Slot> {
        let key = PoolKey {
            host: target.host.to_ascii_lowercase(),
            port: target.port,
            user: target.user.clone(),
        };
        let mut slots = self.slots.lock().expect("pool poisoned");
        slots
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Slot {
                    sessions: Arc::new(Semaphore::new(self.max_sessions_per_host)),
                    state: Mutex::new(SlotState::Idle),
                })
            })
            .clone()
    }

    /// The slot's live connection, or a new one; concurrent callers share one attempt and, if
    /// it fails, its error.
    async fn connection(
        &self,
        slot: &Slot,
        target: &Target,
        cancel: &CancellationToken,
    ) -> Result<Arc<Connection>, SshError> {
        let (id, attempt) = {
            let mut state = slot.state.lock().expect("slot poisoned");
            match &*state {
                SlotState::Connected(connection) if !connection.is_closed() => {
                    let connection = connection.clone();
                    drop(state);
                    return verified_for(connection, target);
                }
                SlotState::Connecting { id, attempt } => (*id, attempt.clone()),
                SlotState::Idle | SlotState::Connected(_) => {
                    let id = self.next_attempt.fetch_add(1, Ordering::Relaxed);
                    let owned = target.clone();
                    let attempt = async move { connection::connect(owned).await.map(Arc::new) }
                        .boxed()
                        .shared();
                    *state = SlotState::Connecting {
                        id,
                        attempt: attempt.clone(),
                    };
                    (id, attempt)
                }
            }
        };
        let result = tokio::select! {
            result = attempt => result,
            _ = cancel.cancelled() => return Err(SshError::Cancelled {
                target: target.display(),
                command: "connecting".into(),
            }),
        };
        {
            let mut state = slot.state.lock().expect("slot poisoned");
            if matches!(&*state, SlotState::Connecting { id: current, .. } if *current == id) {
                *state = match &result {
                    Ok(connection) => {
                        self.connections_opened.fetch_add(1, Ordering::Relaxed);
                        SlotState::Connected(connection.clone())
                    }
                    // The next caller tries again; the ones waiting on this attempt share its error.
                    Err(_) => SlotState::Idle,
                };
            }
        }
        verified_for(result?, target)
    }
}

impl Slot {
    /// Drops `connection` from the slot if it is still the current one.
    fn forget(&self, connection: &Arc<Connection>) {
        let mut state = self.state.lock().expect("slot poisoned");
        if matches!(&*state, SlotState::Connected(current) if Arc::ptr_eq(current, connection)) {
            *state = SlotState::Idle;
        }
    }
}

/// A connection opened for one target may be reused by another with a different host key
/// policy (another pin, another known_hosts file): the key the server proved is checked again
/// against the new policy, so sharing never skips verification.
fn verified_for(connection: Arc<Connection>, target: &Target) -> Result<Arc<Connection>, SshError> {
    if connection.accepted_by != target.host_key {
        target
            .host_key
            .verify(&target.host, target.port, &connection.server_key)?;
    }
    Ok(connection)
}
