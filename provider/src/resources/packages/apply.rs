//! Create, update and delete: one apt transaction computed from the host as it is now (so an
//! apply that was interrupted converges when run again), checked and simulated first, then run,
//! then the holds moved and the result read back.

use std::collections::BTreeMap;

use super::apt::{self, AptError};
use super::model::{Desired, Transaction, Wanted};
use super::plan::{check_transaction, dropped_packages, names};
use super::read::state_from_host;
use super::schema::{self, desired};
use crate::registry::Context;
use crate::ssh::APT_LOCK;
use crate::ssh::Session;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value, timeouts};

/// Brings the host to `planned`, also removing what `prior` had installed and `planned` no
/// longer names; returns the new state.
pub(super) async fn converge(
    context: &Context,
    prior: &Value,
    planned: &Value,
    operation: &str,
) -> Result<Value, Diagnostics> {
    let session = context.provider.ssh.session_for(planned, &context.cancel)?;
    let wanted = desired(planned).ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            "Packages not known",
            "Every package's values must be known at apply.",
        ))
    })?;
    let dropped = dropped_packages(prior, &wanted);
    let timeout = timeouts::timeout(planned, operation, schema::DEFAULT_TIMEOUT);
    let _guard = session.lock_file(APT_LOCK).await;
    run(&session, &wanted, &dropped, timeout).await?;
    let host = apt::status(&session, &names(&wanted, &[]))
        .await
        .map_err(|e| failed(&session, "reading packages", e.to_string()))?;
    let state = state_from_host(planned, &host);
    check_result(&state, &wanted)?;
    Ok(state)
}

/// Removes every package the resource has installed (held ones included).
pub(super) async fn delete(context: &Context, prior: &Value) -> Result<(), Diagnostics> {
    let session = context.provider.ssh.session_for(prior, &context.cancel)?;
    let wanted: BTreeMap<String, Desired> = desired(prior)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, want)| want.state == Wanted::Present)
        .map(|(name, _)| {
            let absent = Desired {
                state: Wanted::Absent,
                version: None,
                hold: false,
            };
            (name, absent)
        })
        .collect();
    let timeout = timeouts::timeout(prior, "delete", schema::DEFAULT_TIMEOUT);
    let _guard = session.lock_file(APT_LOCK).await;
    run(&session, &wanted, &[], timeout).await
}

/// Computes the transaction from the host's current status, checks and simulates it, runs it.
async fn run(
    session: &Session<'_>,
    wanted: &BTreeMap<String, Desired>,
    dropped: &[String],
    timeout: std::time::Duration,
) -> Result<(), Diagnostics> {
    let host = apt::status(session, &names(wanted, dropped))
        .await
        .map_err(|e| failed(session, "reading packages", e.to_string()))?;
    let transaction = Transaction::between(wanted, dropped, &host);
    let problems = check_transaction(session, &transaction, wanted).await;
    if problems.has_errors() {
        return Err(problems);
    }
    apt::apply(session, &transaction, timeout)
        .await
        .map_err(|e| match e {
            AptError::Refused(message) => Diagnostics::from(
                Diagnostic::error(
                    "apt failed",
                    format!(
                        "apt-get install {} on {} failed:\n{message}",
                        transaction.apt_arguments().join(" "),
                        session.target().host
                    ),
                )
                .at(AttributePath::root("packages")),
            ),
            AptError::Ssh(e) => failed(session, "changing packages", e.to_string()),
        })
}

/// After a successful transaction the host must have what was asked; say so if not.
fn check_result(state: &Value, wanted: &BTreeMap<String, Desired>) -> Result<(), Diagnostics> {
    let packages = state.attr("packages");
    let mut diagnostics = Diagnostics::new();
    for (name, want) in wanted {
        let got = packages.as_entries().and_then(|p| p.get(name));
        let got_state = got.map(|p| p.attr("state").as_str()).unwrap_or_default();
        let got_version = got.and_then(|p| p.attr("installed_version").as_str());
        let version_ok = want.version.is_none() || want.version.as_deref() == got_version;
        if got_state != Some(want.state.as_str()) || !version_ok {
            diagnostics.push(
                Diagnostic::error(
                    "Package not as planned",
                    format!(
                        "apt succeeded, but {name} reads as {} {} afterwards.",
                        got_state.unwrap_or("unknown"),
                        got_version.unwrap_or("(no version)")
                    ),
                )
                .at(schema::package_path(name, None)),
            );
        }
    }
    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok(())
    }
}

fn failed(session: &Session<'_>, doing: &str, error: String) -> Diagnostics {
    Diagnostic::error(
        "Package change failed",
        format!("{doing} on {}: {error}", session.target().host),
    )
    .into()
}
