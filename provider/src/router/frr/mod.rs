//! The FRR back end: vtysh over SSH. Reads `show running-config` and `show bgp neighbors
//! json`, checks a candidate (the running configuration plus the change) with `vtysh -C -f`,
//! applies with `vtysh -c` (one argument per command; passwords on standard input, never on a
//! command line), verifies the result, saves with the configured command (`write memory`) and
//! checks the saved file, and rolls back what a failed change touched.

mod commands;
mod running_config;
mod sessions;
mod settings;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::OwnedMutexGuard;
use tokio_util::sync::CancellationToken;

use self::commands::{Line, Scope, change_lines, redact, rollback_lines};
use self::running_config::RunningConfig;
pub use self::settings::{
    DEFAULT_CONFIG_PATH, DEFAULT_DAEMONS_PATH, DEFAULT_SAVE_COMMAND, DEFAULT_SERVICE, FrrSettings,
    daemon_attributes, save_attributes, validate_settings,
};
use super::model::{Change, PasswordChange, SessionState};
use super::{BgpBackend, RouterError, Snapshot};
use crate::ssh::{Command, FileWrite, Output, Session, Ssh};
use crate::tf::{Diagnostics, Value};

/// How long bgpd gets to answer after the service was restarted to start it.
const BGPD_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Checks the running configuration plus the change, without applying anything. The candidate
/// arrives on standard input and lives in a private directory only while vtysh reads it.
const CHECK_SCRIPT: &str = r#"set -u
dir=$(mktemp -d) || exit 1
trap 'rm -rf -- "$dir"' EXIT
cat > "$dir/candidate.conf" || exit 1
vtysh -C -f "$dir/candidate.conf" 2>&1
rc=$?
exit $rc
"#;

/// FRR on one host, reached over SSH.
pub struct Frr<'a> {
    /// For reads and the check: stops when Terraform asks the provider to stop.
    session: Session<'a>,
    /// For everything after the check: a change, once started, runs to its end (each command
    /// still bounded by the SSH command timeout), so a stop never leaves it half done.
    steady: Session<'a>,
    settings: FrrSettings,
}

impl<'a> Frr<'a> {
    /// FRR on the host of a resource's configuration, plan or state (`host`, `ssh` and the
    /// FRR settings).
    pub fn for_resource(
        ssh: &'a Ssh,
        resource: &Value,
        cancel: &CancellationToken,
    ) -> Result<Frr<'a>, Diagnostics> {
        Ok(Frr {
            session: ssh.session_for(resource, cancel)?,
            steady: ssh.session_for(resource, &CancellationToken::new())?,
            settings: FrrSettings::from_value(resource),
        })
    }

    async fn show(&self, session: &Session<'_>, command: &str) -> Result<String, RouterError> {
        let output = session
            .run(&Command::new("vtysh").arg("-c").arg(command))
            .await?;
        if !output.success() {
            return Err(self.refused(&format!("vtysh -c '{command}'"), &output, &[]));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    async fn read_running(&self, session: &Session<'_>) -> Result<RunningConfig, RouterError> {
        let text = self.show(session, "show running-config").await?;
        RunningConfig::parse(&text).map_err(|detail| self.unexpected("show running-config", detail))
    }

    /// Runs `lines`: public runs as `vtysh -c` arguments, which stop at the first command FRR
    /// refuses; secret runs as a file on standard input (`vtysh -f /dev/stdin`).
    async fn execute(
        &self,
        lines: &[Line],
        step: &str,
        secrets: &[&str],
    ) -> Result<(), RouterError> {
        for run in commands::runs(lines) {
            let command = if run[0].secret {
                Command::new("vtysh")
                    .args(["-f", "/dev/stdin"])
                    .stdin(commands::file_text(run))
            } else {
                commands::command_arguments(run)
                    .into_iter()
                    .fold(Command::new("vtysh"), |command, argument| {
                        command.arg("-c").arg(argument)
                    })
            };
            let output = self.steady.run(&command).await?;
            if !output.success() {
                return Err(self.refused(step, &output, secrets));
            }
        }
        Ok(())
    }

    fn refused(&self, step: &str, output: &Output, secrets: &[&str]) -> RouterError {
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let message = redact(&text, secrets);
        RouterError::Refused {
            router: self.router(),
            step: step.to_owned(),
            message: if message.is_empty() {
                format!("{} with no message", output.status)
            } else {
                format!("{message} ({})", output.status)
            },
        }
    }

    fn unexpected(&self, step: &str, detail: String) -> RouterError {
        RouterError::Unexpected {
            router: self.router(),
            step: step.to_owned(),
            detail,
        }
    }

    async fn wait_for_bgpd(&self) -> Result<(), RouterError> {
        let started = Instant::now();
        let probe = Command::new("vtysh").args(["-d", "bgpd", "-c", "show version"]);
        loop {
            let output = self.steady.run(&probe).await?;
            if output.success() {
                return Ok(());
            }
            if started.elapsed() > BGPD_START_TIMEOUT {
                return Err(self.refused("waiting for bgpd to start", &output, &[]));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Secrets a change carries, to scrub from anything FRR prints back.
fn secrets_of(change: &Change) -> Vec<&str> {
    match change {
        Change::SetNeighbor {
            password: PasswordChange::Set(secret),
            ..
        } => vec![secret.expose()],
        _ => Vec::new(),
    }
}

/// The daemons file with `bgpd=yes`; `None` when it already says so.
fn enable_bgpd(daemons: &str) -> Option<String> {
    let mut found = false;
    let mut changed = false;
    let mut lines: Vec<String> = daemons
        .lines()
        .map(|line| match line.trim().strip_prefix("bgpd=") {
            Some(value) => {
                found = true;
                if value.trim() == "yes" {
                    line.to_owned()
                } else {
                    changed = true;
                    "bgpd=yes".to_owned()
                }
            }
            None => line.to_owned(),
        })
        .collect();
    if !found {
        lines.push("bgpd=yes".to_owned());
        changed = true;
    }
    changed.then(|| lines.join("\n") + "\n")
}

#[async_trait]
impl BgpBackend for Frr<'_> {
    fn router(&self) -> String {
        self.session.target().display()
    }

    async fn lock(&self) -> OwnedMutexGuard<()> {
        self.session.lock_file(&self.settings.config_path).await
    }

    async fn enable_bgp(&self) -> Result<bool, RouterError> {
        let path = &self.settings.daemons_path;
        let _guard = self.steady.lock_file(path).await;
        let Some(file) = self.steady.read_file(path).await? else {
            return Err(RouterError::Conflict {
                router: self.router(),
                message: format!(
                    "FRR's daemons file {path} does not exist on {}; is FRR installed?",
                    self.router()
                ),
            });
        };
        let Some(text) = enable_bgpd(&String::from_utf8_lossy(&file.content)) else {
            return Ok(false);
        };
        crate::log::info(
            "enabling bgpd",
            &[("router", &self.router()), ("daemons", path)],
        );
        let metadata = &file.metadata;
        self.steady
            .write_file(
                path,
                &FileWrite {
                    content: text.as_bytes(),
                    mode: &metadata.mode_text(),
                    owner: Some(&metadata.owner),
                    group: Some(&metadata.group),
                    create_directories: false,
                },
            )
            .await?;
        let restart = Command::new("systemctl").args(["restart", &self.settings.service]);
        let output = self.steady.run(&restart).await?;
        if !output.success() {
            return Err(self.refused(
                &format!("restarting {} to start bgpd", self.settings.service),
                &output,
                &[],
            ));
        }
        self.wait_for_bgpd().await?;
        Ok(true)
    }

    async fn running_config(&self) -> Result<Snapshot, RouterError> {
        let running = self.read_running(&self.steady).await?;
        Ok(Snapshot {
            bgp: running.bgp(),
            text: running.body,
        })
    }

    async fn sessions(&self, asn: u32) -> Result<Vec<SessionState>, RouterError> {
        let running = self.read_running(&self.session).await?;
        if running.router(asn).is_none() {
            return Err(RouterError::Conflict {
                router: self.router(),
                message: format!(
                    "there is no BGP instance with AS {asn} on {}",
                    self.router()
                ),
            });
        }
        let text = self.show(&self.session, "show bgp neighbors json").await?;
        sessions::parse(&text).map_err(|detail| self.unexpected("show bgp neighbors json", detail))
    }

    async fn check(&self, running: &Snapshot, change: &Change) -> Result<(), RouterError> {
        if let Change::SetInstance(wanted) = change
            && let Some(other) = running
                .bgp
                .instances
                .iter()
                .find(|i| i.instance.asn != wanted.asn)
        {
            return Err(RouterError::Refused {
                router: self.router(),
                step: "checking the candidate".to_owned(),
                message: format!(
                    "FRR runs one BGP instance per VRF, and router bgp {} already runs; its AS \
                     cannot change in place. Import it, or remove it first. Nothing was changed.",
                    other.instance.asn
                ),
            });
        }
        let current = RunningConfig::parse(&running.text)
            .map_err(|detail| self.unexpected("reading the running configuration", detail))?;
        let candidate =
            current.body.clone() + &commands::file_text(&change_lines(change, &current));
        let output = self
            .session
            .run(&Command::shell_script(CHECK_SCRIPT).stdin(candidate))
            .await?;
        if !output.success() {
            let mut error = self.refused(
                "checking the candidate (vtysh -C)",
                &output,
                &secrets_of(change),
            );
            if let RouterError::Refused { message, .. } = &mut error {
                message.push_str("\nNothing was changed.");
            }
            return Err(error);
        }
        Ok(())
    }

    async fn apply(&self, running: &Snapshot, change: &Change) -> Result<(), RouterError> {
        let current = RunningConfig::parse(&running.text)
            .map_err(|detail| self.unexpected("reading the running configuration", detail))?;
        let lines = change_lines(change, &current);
        crate::log::debug(
            "applying bgp change",
            &[
                ("router", &self.router()),
                ("commands", &format!("{lines:?}")),
            ],
        );
        self.execute(&lines, "applying the change (vtysh)", &secrets_of(change))
            .await
    }

    async fn save(&self, running: &Snapshot) -> Result<(), RouterError> {
        let words = &self.settings.save_command;
        let command = Command::new(&words[0]).args(&words[1..]);
        let output = self.steady.run(&command).await?;
        let step = format!("saving ({})", words.join(" "));
        if !output.success() {
            return Err(self.refused(&step, &output, &[]));
        }
        let path = &self.settings.config_path;
        let saved = self
            .steady
            .read_file(path)
            .await?
            .map(|file| RunningConfig::parse(&String::from_utf8_lossy(&file.content)))
            .transpose()
            .map_err(|detail| self.unexpected(&format!("reading {path}"), detail))?;
        if saved.map(|s| s.bgp()) != Some(running.bgp.clone()) {
            return Err(RouterError::Refused {
                router: self.router(),
                step,
                message: format!(
                    "the command succeeded, but {path} does not hold the running BGP \
                     configuration; check save_command and config_path"
                ),
            });
        }
        Ok(())
    }

    async fn roll_back(&self, previous: &Snapshot, change: &Change) -> Result<(), RouterError> {
        let before = RunningConfig::parse(&previous.text)
            .map_err(|detail| self.unexpected("reading the earlier configuration", detail))?;
        let scope = Scope::of(change);
        let now = self.read_running(&self.steady).await?;
        let lines = rollback_lines(&before, &now, &scope);
        crate::log::warn(
            "rolling back bgp change",
            &[
                ("router", &self.router()),
                ("commands", &format!("{lines:?}")),
            ],
        );
        let secrets = secrets_of(change);
        self.execute(
            &lines,
            "restoring the previous configuration (vtysh)",
            &secrets,
        )
        .await?;
        let restored = self.read_running(&self.steady).await?;
        let asn = change.asn();
        if scope.lines(restored.router(asn)) != scope.lines(before.router(asn)) {
            return Err(RouterError::NotTaken {
                router: self.router(),
                detail: format!(
                    "after the rollback, router bgp {asn} reads {:?} instead of {:?}",
                    scope.lines(restored.router(asn)),
                    scope.lines(before.router(asn))
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgpd_is_switched_on_in_place_or_added() {
        let daemons = "# comment\nzebra=yes\nbgpd=no\nospfd=no\nvtysh_enable=yes\n";
        assert_eq!(
            enable_bgpd(daemons).as_deref(),
            Some("# comment\nzebra=yes\nbgpd=yes\nospfd=no\nvtysh_enable=yes\n")
        );
        assert_eq!(enable_bgpd("bgpd=yes\n"), None);
        assert_eq!(
            enable_bgpd("zebra=yes\n").as_deref(),
            Some("zebra=yes\nbgpd=yes\n")
        );
    }
}
