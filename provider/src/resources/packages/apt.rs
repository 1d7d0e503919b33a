//! apt and dpkg on the host: the status of some packages, the versions apt offers, a simulated
//! and a real transaction, and holds. Package names and versions were checked against Debian
//! policy before they get here, and reach the host only as quoted arguments after `--`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::model::{HostPackages, Transaction, parse_madison, simulated_removals};
use crate::ssh::{Command, Output, Session, SshError};

/// dpkg's status and apt's holds of the packages given as arguments, separated by
/// [`super::model::HOLDS_MARKER`].
const STATUS_SCRIPT: &str = r#"dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n' -- "$@" 2>/dev/null
echo '--homelab-holds--'
exec apt-mark showhold
"#;

/// How long apt waits for another apt or dpkg (unattended-upgrades, a user) to finish.
const LOCK_WAIT_SECONDS: &str = "120";

/// Why apt could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub(super) enum AptError {
    /// apt refused or failed; its own message.
    #[error("{0}")]
    Refused(String),
    /// The connection failed, or a command printed what it never prints.
    #[error(transparent)]
    Ssh(#[from] SshError),
}

/// The status and holds of `names`.
pub(super) async fn status(
    session: &Session<'_>,
    names: &[String],
) -> Result<HostPackages, SshError> {
    let command = Command::shell_script(STATUS_SCRIPT).args(names);
    let output = session.run_checked(&command).await?;
    HostPackages::parse(&String::from_utf8_lossy(&output.stdout)).map_err(|detail| {
        SshError::UnexpectedOutput {
            target: session.target().display(),
            command: "dpkg-query".to_owned(),
            detail,
        }
    })
}

/// The versions apt can install of each of `names` (absent from the map: none).
pub(super) async fn available(
    session: &Session<'_>,
    names: &[String],
) -> Result<BTreeMap<String, Vec<String>>, SshError> {
    let command = Command::new("apt-cache")
        .args(["madison", "--"])
        .args(names);
    let output = session.run_checked(&command).await?;
    Ok(parse_madison(&String::from_utf8_lossy(&output.stdout)))
}

/// Runs the transaction with `apt-get -s`: returns the packages apt would remove, or apt's
/// reason for refusing it. Changes nothing.
pub(super) async fn simulate(
    session: &Session<'_>,
    transaction: &Transaction,
) -> Result<BTreeSet<String>, AptError> {
    let output = session.run(&apt_get(transaction, true)).await?;
    if !output.success() {
        return Err(AptError::Refused(apt_message(&output)));
    }
    Ok(simulated_removals(&String::from_utf8_lossy(&output.stdout)))
}

/// Runs the transaction for real, then moves the holds.
pub(super) async fn apply(
    session: &Session<'_>,
    transaction: &Transaction,
    timeout: Duration,
) -> Result<(), AptError> {
    if transaction.changes_packages() {
        let output = session
            .run(&apt_get(transaction, false).timeout(timeout))
            .await?;
        if !output.success() {
            return Err(AptError::Refused(apt_message(&output)));
        }
    }
    for (verb, names) in [("hold", &transaction.hold), ("unhold", &transaction.unhold)] {
        if names.is_empty() {
            continue;
        }
        let command = Command::new("apt-mark").args([verb, "--"]).args(names);
        let output = session.run(&command).await?;
        if !output.success() {
            return Err(AptError::Refused(apt_message(&output)));
        }
    }
    Ok(())
}

/// `apt-get install` for the transaction, never asking, keeping changed configuration files,
/// without recommends; `-s` when `simulate`.
fn apt_get(transaction: &Transaction, simulate: bool) -> Command {
    let mut command = Command::new("env").args([
        "DEBIAN_FRONTEND=noninteractive",
        "LC_ALL=C",
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "--allow-downgrades",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        "Dpkg::Options::=--force-confold",
        "-o",
    ]);
    command = command.arg(format!("DPkg::Lock::Timeout={LOCK_WAIT_SECONDS}"));
    if transaction.touches_held {
        command = command.arg("--allow-change-held-packages");
    }
    if simulate {
        command = command.arg("-s");
    }
    command.arg("--").args(transaction.apt_arguments())
}

/// apt's own words: the unmet dependencies it lists and its `E:` and `W:` lines, or everything
/// it printed.
fn apt_message(output: &Output) -> String {
    let stderr = output.stderr_text();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines: Vec<&str> = Vec::new();
    let mut in_unmet = false;
    for line in stdout.lines().chain(stderr.lines()) {
        if line.starts_with("The following packages have unmet dependencies") {
            in_unmet = true;
            lines.push(line);
        } else if in_unmet && line.starts_with(' ') {
            lines.push(line);
        } else {
            in_unmet = false;
            if line.starts_with("E:") || line.starts_with("W:") {
                lines.push(line);
            }
        }
    }
    if lines.is_empty() {
        format!("{} {stderr}", stdout.trim()).trim().to_owned()
    } else {
        lines.join("\n")
    }
}
