//! One command on one channel of a connection: stdin in, stdout, stderr and exit status out,
//! and on timeout or cancellation the remote process group stopped, not just abandoned.

use std::sync::Arc;
use std::time::Duration;

use russh::{ChannelMsg, Sig};
use tokio_util::sync::CancellationToken;

use super::command::{Command, ExitStatus, Output};
use super::connection::Connection;
use super::error::SshError;
use super::target::format_duration;

/// Printed on stderr by the login shell before it runs the command; sshd starts every session
/// in a new session and process group, so `$$` is the group to stop on timeout. OpenSSH does
/// not honour the protocol's signal request for root sessions, so this is the reliable way.
const PGID_PREFIX: &[u8] = b"homelab-pgid ";

/// Stops a process group: TERM, up to a second's grace, then KILL.
const KILL_SCRIPT: &str = r#"kill -s TERM -- "-$1" 2>/dev/null || exit 0
for i in 1 2 3 4 5; do
  kill -s 0 -- "-$1" 2>/dev/null || exit 0
  sleep 0.2
done
kill -s KILL -- "-$1" 2>/dev/null
exit 0
"#;

/// How long stopping a timed-out command may take.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// One command to run on a channel.
pub(crate) struct Run<'a> {
    /// The command line as built by [`Command::command_line`].
    pub(crate) line: &'a [u8],
    /// Bytes for standard input.
    pub(crate) stdin: Option<&'a [u8]>,
    /// The program, or `shell script`, for errors.
    pub(crate) describe: &'a str,
    /// Whether the line runs through `sudo` (so stopping it needs sudo too).
    pub(crate) sudo: bool,
    /// How long it may run.
    pub(crate) timeout: Duration,
    /// Stops it early.
    pub(crate) cancel: &'a CancellationToken,
}

/// Why [`Connection::exec`] failed: before the command started (safe to retry on a new
/// connection) or after.
pub(crate) enum ExecError {
    /// The channel could not be opened; the command never ran.
    Open(russh::Error),
    /// The command may have run.
    Failed(SshError),
}

enum Interrupted {
    Timeout,
    Cancelled,
}

impl Connection {
    /// Runs one command on a new channel.
    pub(crate) async fn exec(&self, run: Run<'_>) -> Result<Output, ExecError> {
        let channel = self
            .handle
            .channel_open_session()
            .await
            .map_err(ExecError::Open)?;
        let mut line = b"echo \"homelab-pgid $$\" >&2; exec ".to_vec();
        line.extend_from_slice(run.line);
        channel
            .exec(true, line)
            .await
            .map_err(|e| ExecError::Failed(self.channel_error(e)))?;
        let (mut reader, writer) = channel.split();
        let mut output = Output {
            status: ExitStatus::Unknown,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        let sending = async {
            if let Some(bytes) = run.stdin {
                writer.data(bytes).await?;
            }
            writer.eof().await
        };
        let receiving = async {
            while let Some(message) = reader.wait().await {
                match message {
                    ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        output.stderr.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => {
                        output.status = ExitStatus::Code(exit_status)
                    }
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        output.status = ExitStatus::Signal(signal_text(&signal_name))
                    }
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
        };
        let finished = async {
            tokio::pin!(sending, receiving);
            let mut sent = false;
            loop {
                tokio::select! {
                    result = &mut sending, if !sent => {
                        sent = true;
                        // A command that exits without reading its input closes the channel
                        // under the sender; its exit status says what happened.
                        if let Err(e) = result {
                            crate::log::trace("ssh stdin not fully sent", &[("error", &e)]);
                        }
                    }
                    () = &mut receiving => break,
                }
            }
        };
        let interrupted = tokio::select! {
            () = finished => None,
            _ = tokio::time::sleep(run.timeout) => Some(Interrupted::Timeout),
            _ = run.cancel.cancelled() => Some(Interrupted::Cancelled),
        };
        let process_group = take_process_group(&mut output.stderr);
        let Some(interrupted) = interrupted else {
            return Ok(output);
        };
        if let Some(group) = process_group {
            self.stop_process_group(group, run.sudo).await;
        }
        let _ = writer.close().await;
        Err(ExecError::Failed(match interrupted {
            Interrupted::Timeout => SshError::CommandTimeout {
                target: self.target_name.clone(),
                command: run.describe.to_owned(),
                timeout: format_duration(run.timeout),
            },
            Interrupted::Cancelled => SshError::Cancelled {
                target: self.target_name.clone(),
                command: run.describe.to_owned(),
            },
        }))
    }

    /// Best effort: a failure to stop it is logged, and the caller reports the timeout anyway.
    async fn stop_process_group(&self, group: u32, sudo: bool) {
        let command = Command::shell_script(KILL_SCRIPT).arg(group.to_string());
        let Ok(line) = command.command_line(sudo) else {
            return;
        };
        let stop = async {
            let channel = self.handle.channel_open_session().await?;
            channel.exec(true, line).await?;
            let mut channel = channel;
            while let Some(message) = channel.wait().await {
                if matches!(message, ChannelMsg::Close) {
                    break;
                }
            }
            Ok::<(), russh::Error>(())
        };
        match tokio::time::timeout(KILL_TIMEOUT, stop).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => crate::log::warn(
                "could not stop a remote command",
                &[("target", &self.target_name), ("error", &Arc::new(e))],
            ),
            Err(_) => crate::log::warn(
                "stopping a remote command timed out",
                &[("target", &self.target_name)],
            ),
        }
    }
}

/// Removes the login shell's `homelab-pgid N` line from the start of stderr; returns N.
fn take_process_group(stderr: &mut Vec<u8>) -> Option<u32> {
    if !stderr.starts_with(PGID_PREFIX) {
        return None;
    }
    let end = stderr.iter().position(|&b| b == b'\n')?;
    let group = std::str::from_utf8(&stderr[PGID_PREFIX.len()..end])
        .ok()
        .and_then(|text| text.trim().parse().ok());
    stderr.drain(..=end);
    group.filter(|&g| g > 1)
}

fn signal_text(signal: &Sig) -> String {
    match signal {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_group_line_is_taken_off_stderr() {
        let mut stderr = b"homelab-pgid 4242\nreal error\n".to_vec();
        assert_eq!(take_process_group(&mut stderr), Some(4242));
        assert_eq!(stderr, b"real error\n");
        let mut other = b"no marker\n".to_vec();
        assert_eq!(take_process_group(&mut other), None);
        assert_eq!(other, b"no marker\n");
        let mut partial = b"homelab-pgid 12".to_vec();
        assert_eq!(take_process_group(&mut partial), None);
    }
}
