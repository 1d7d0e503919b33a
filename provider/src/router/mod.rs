//! Routers' BGP configuration: what a back end does (read the running configuration and the
//! sessions, check a candidate, apply, save, roll back), and the one transaction every change
//! goes through, so a router is never left half configured.
//!
//! The resources speak in terms of [`model`] (instances, neighbors, [`Change`]s); a back end
//! turns them into its router's language. [`frr`] drives FRR with vtysh over SSH. A VyOS or
//! OPNsense back end is one more module implementing [`BgpBackend`]; the resources and the
//! transaction stay as they are.

pub mod frr;
pub mod model;
pub mod resource_values;

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::OwnedMutexGuard;

pub use model::{
    BgpConfig, Change, Instance, InstanceConfig, Ipv4UnicastPolicy, Neighbor, PasswordChange, Peer,
    Prefix, SessionState, Timers,
};

use crate::ssh::SshError;
use crate::tf::Diagnostic;

/// A router's running configuration at one moment: the back end's own text, which may hold
/// secrets and is therefore never shown, and what it means.
#[derive(Clone)]
pub struct Snapshot {
    /// The configuration in the router's own form.
    pub text: String,
    /// The BGP part of it.
    pub bgp: BgpConfig,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text holds neighbor passwords.
        f.debug_struct("Snapshot")
            .field("text_bytes", &self.text.len())
            .field("bgp", &self.bgp)
            .finish()
    }
}

/// What a BGP back end does. Every method but [`BgpBackend::lock`] talks to the router.
#[async_trait]
pub trait BgpBackend: Send + Sync {
    /// The router, for messages (e.g. `root@10.4.0.1:22`).
    fn router(&self) -> String;

    /// Holds off every other change to this router until the guard drops.
    async fn lock(&self) -> OwnedMutexGuard<()>;

    /// Makes sure the router runs its BGP daemon; returns whether it had to start it.
    async fn enable_bgp(&self) -> Result<bool, RouterError>;

    /// The running configuration now.
    async fn running_config(&self) -> Result<Snapshot, RouterError>;

    /// The sessions of the instance `asn` now.
    async fn sessions(&self, asn: u32) -> Result<Vec<SessionState>, RouterError>;

    /// Asks the router whether `running` with `change` applied is a valid configuration,
    /// without changing anything.
    async fn check(&self, running: &Snapshot, change: &Change) -> Result<(), RouterError>;

    /// Applies `change` to the running configuration, which was `running` just before.
    async fn apply(&self, running: &Snapshot, change: &Change) -> Result<(), RouterError>;

    /// Makes the running configuration (now `running`) the one the router boots with.
    async fn save(&self, running: &Snapshot) -> Result<(), RouterError>;

    /// Puts back what `change` touches as it was in `previous`, leaving everything else alone.
    async fn roll_back(&self, previous: &Snapshot, change: &Change) -> Result<(), RouterError>;
}

/// Waiting, after a change, for the session with a neighbor to come up.
#[derive(Debug, Clone, Copy)]
pub struct WaitForEstablished {
    /// The neighbor's address.
    pub address: std::net::IpAddr,
    /// How long to wait.
    pub timeout: Duration,
}

/// Applies `change` as one transaction: with the router locked, reads the running
/// configuration, checks the candidate with the router, applies it, reads it back, and saves
/// it; when `wait` is given, waits for the session afterwards. If any step after the check
/// fails, what the change touched is restored (and saved again when it had been saved), and the
/// error says so. Returns the BGP configuration after the change.
pub async fn apply_change(
    backend: &dyn BgpBackend,
    change: &Change,
    wait: Option<WaitForEstablished>,
) -> Result<BgpConfig, RouterError> {
    let guard = backend.lock().await;
    let before = backend.running_config().await?;
    precondition(backend, &before.bgp, change)?;
    if change.is_satisfied_by(&before.bgp) {
        drop(guard);
        if let Some(wait) = wait {
            wait_for_established(backend, change.asn(), wait).await?;
        }
        return Ok(before.bgp);
    }
    backend.check(&before, change).await?;
    let mut saved = false;
    let applied = async {
        backend.apply(&before, change).await?;
        let after = backend.running_config().await?;
        change
            .verify(&after.bgp)
            .map_err(|detail| RouterError::NotTaken {
                router: backend.router(),
                detail,
            })?;
        saved = true;
        backend.save(&after).await?;
        Ok(after)
    }
    .await;
    let after = match applied {
        Ok(after) => after,
        Err(cause) => return Err(restore(backend, &before, change, cause, saved).await),
    };
    drop(guard);
    if let Some(wait) = wait
        && let Err(cause) = wait_for_established(backend, change.asn(), wait).await
    {
        let _guard = backend.lock().await;
        return Err(restore(backend, &before, change, cause, true).await);
    }
    Ok(after.bgp)
}

/// What must hold before a change is tried; checked on the configuration read under the lock.
fn precondition(
    backend: &dyn BgpBackend,
    bgp: &BgpConfig,
    change: &Change,
) -> Result<(), RouterError> {
    let conflict = |message: String| RouterError::Conflict {
        router: backend.router(),
        message,
    };
    if let Change::SetNeighbor {
        asn,
        neighbor,
        create,
        ..
    } = change
    {
        let Some(instance) = bgp.instance(*asn) else {
            return Err(conflict(format!(
                "there is no BGP instance with AS {asn} on {}; create it first (homelab_bgp_router)",
                backend.router()
            )));
        };
        if *create && instance.neighbor(&neighbor.peer).is_some() {
            return Err(conflict(format!(
                "neighbor {} already exists in the BGP instance {asn} on {}; import it instead \
                 (terraform import ADDRESS HOST:{})",
                neighbor.peer,
                backend.router(),
                neighbor.peer
            )));
        }
    }
    Ok(())
}

/// Rolls back after `cause`; saves again when the failed change had reached the save step.
async fn restore(
    backend: &dyn BgpBackend,
    before: &Snapshot,
    change: &Change,
    cause: RouterError,
    save_again: bool,
) -> RouterError {
    let router = backend.router();
    let restored = async {
        backend.roll_back(before, change).await?;
        if save_again {
            let now = backend.running_config().await?;
            backend.save(&now).await?;
        }
        Ok::<(), RouterError>(())
    }
    .await;
    match restored {
        Ok(()) => RouterError::RolledBack {
            router,
            cause: Box::new(cause),
        },
        Err(rollback) => RouterError::RollbackFailed {
            router,
            cause: Box::new(cause),
            rollback: Box::new(rollback),
        },
    }
}

/// Polls the sessions until the one with `wait.address` is Established.
pub async fn wait_for_established(
    backend: &dyn BgpBackend,
    asn: u32,
    wait: WaitForEstablished,
) -> Result<Duration, RouterError> {
    let started = Instant::now();
    let address = wait.address.to_string();
    loop {
        let sessions = backend.sessions(asn).await?;
        let session = sessions.iter().find(|s| s.address == address);
        if session.is_some_and(SessionState::is_established) {
            let took = started.elapsed();
            crate::log::debug(
                "bgp session established",
                &[
                    ("router", &backend.router()),
                    ("neighbor", &address),
                    ("seconds", &format!("{:.1}", took.as_secs_f64())),
                ],
            );
            return Ok(took);
        }
        if started.elapsed() >= wait.timeout {
            return Err(RouterError::NotEstablished {
                router: backend.router(),
                neighbor: address,
                timeout: crate::tf::timeouts::format_duration(wait.timeout),
                state: session.map_or_else(|| "no session".to_owned(), describe_session),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn describe_session(session: &SessionState) -> String {
    match &session.last_reset {
        Some(reason) => format!("{}; last reset: {reason}", session.state),
        None => session.state.clone(),
    }
}

/// Something went wrong between a BGP resource and its router; turned into a diagnostic in
/// one place ([`RouterError::to_diagnostic`]).
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// Reaching the router failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// The router refused a step; `message` is its own, with secrets hidden.
    #[error("{step} on {router} failed: {message}")]
    Refused {
        /// The router.
        router: String,
        /// What was being done, e.g. `checking the candidate (vtysh -C)`.
        step: String,
        /// The router's own words.
        message: String,
    },
    /// The router answered something this provider cannot read.
    #[error("unexpected answer from {router} to {step}: {detail}")]
    Unexpected {
        /// The router.
        router: String,
        /// What was being done.
        step: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// The change cannot be made in the router's current state.
    #[error("{message}")]
    Conflict {
        /// The router.
        router: String,
        /// Why, and what to do.
        message: String,
    },
    /// The router accepted every command, but reads back something else.
    #[error("{router} did not take the change: {detail}")]
    NotTaken {
        /// The router.
        router: String,
        /// What differs.
        detail: String,
    },
    /// The session did not come up in time.
    #[error(
        "the BGP session with {neighbor} on {router} was not Established within {timeout} (state: {state})"
    )]
    NotEstablished {
        /// The router.
        router: String,
        /// The neighbor's address.
        neighbor: String,
        /// The wait, e.g. `30s`.
        timeout: String,
        /// The session's last state and why it last went down.
        state: String,
    },
    /// A step failed after the check, and what the change touched was restored.
    #[error("{cause}\nThe change was rolled back: {router} has its previous configuration.")]
    RolledBack {
        /// The router.
        router: String,
        /// The failure.
        #[source]
        cause: Box<RouterError>,
    },
    /// A step failed, and restoring the previous configuration failed too.
    #[error("{cause}\nRestoring the previous configuration of {router} failed too: {rollback}")]
    RollbackFailed {
        /// The router.
        router: String,
        /// The first failure.
        #[source]
        cause: Box<RouterError>,
        /// Why the rollback failed.
        rollback: Box<RouterError>,
    },
}

impl RouterError {
    /// A one-line summary for a diagnostic.
    pub fn summary(&self) -> &'static str {
        match self {
            RouterError::Ssh(e) => e.summary(),
            RouterError::Refused { .. } => "Router refused the change",
            RouterError::Unexpected { .. } => "Unexpected answer from router",
            RouterError::Conflict { .. } => "Router not ready for this change",
            RouterError::NotTaken { .. } => "Router did not take the change",
            RouterError::NotEstablished { .. } => "BGP session not established",
            RouterError::RolledBack { cause, .. } => cause.summary(),
            RouterError::RollbackFailed { .. } => "Router change failed and was not rolled back",
        }
    }

    /// The diagnostic Terraform shows, prefixed with what was being done.
    pub fn to_diagnostic(&self, doing: &str) -> Diagnostic {
        Diagnostic::error(self.summary(), format!("{doing}: {self}"))
    }
}

#[cfg(test)]
mod tests;
