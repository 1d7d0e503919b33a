//! Runs the programs the lab drives (cancellably), and finds, measures and signals processes by PID.

use std::fs;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::error::{LabError, LabResult, io_error};

/// Set once Ctrl-C or SIGTERM asked the lab to stop; every wait and step checks it.
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Process groups of the commands running now, killed when cancellation is requested.
static RUNNING_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// How many lines of a failed command's output its error keeps.
const ERROR_TAIL_LINES: usize = 25;

/// Asks every lab operation in this process to stop: running commands (debootstrap, apt-get, ...)
/// are killed with their process groups, and waits return [`LabError::Cancelled`]. The caller's
/// normal error path then tears down whatever was created.
pub fn request_cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
    let groups = RUNNING_GROUPS.lock().unwrap_or_else(|e| e.into_inner());
    for group in groups.iter() {
        let _ = killpg(Pid::from_raw(*group), Signal::SIGKILL);
    }
}

/// Fails with [`LabError::Cancelled`] once [`request_cancel`] was called.
pub(crate) fn check_cancelled() -> LabResult<()> {
    if CANCELLED.load(Ordering::SeqCst) {
        Err(LabError::Cancelled)
    } else {
        Ok(())
    }
}

/// The command line as a reader would type it.
pub(crate) fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for argument in command.get_args() {
        text.push(' ');
        text.push_str(&argument.to_string_lossy());
    }
    text
}

/// Runs `command` to completion in its own process group (so cancellation can kill everything it
/// started) and returns its stdout; a non-zero exit is an error carrying the output's tail.
/// Fails with [`LabError::Cancelled`] once cancellation was requested.
pub(crate) fn run(command: &mut Command) -> LabResult<String> {
    check_cancelled()?;
    let output = run_registered(command, true);
    check_cancelled()?;
    output
}

/// Runs `command` to completion whether or not cancellation was requested: for teardown, which
/// must finish after Ctrl-C too.
pub(crate) fn run_to_completion(command: &mut Command) -> LabResult<String> {
    run_registered(command, false)
}

fn run_registered(command: &mut Command, cancellable: bool) -> LabResult<String> {
    use std::os::unix::process::CommandExt;

    let text = describe(command);
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => LabError::CommandFailed {
                command: text.clone(),
                status: "not found".to_owned(),
                stderr: format!("{source}"),
            },
            _ => io_error("start", text.clone())(source),
        })?;
    let group = child.id() as i32;
    if cancellable {
        RUNNING_GROUPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(group);
    }
    let output = child.wait_with_output();
    if cancellable {
        RUNNING_GROUPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|g| *g != group);
    }
    let output = output.map_err(io_error("wait for", text.clone()))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = if stderr.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        stderr.into_owned()
    };
    Err(LabError::CommandFailed {
        command: text,
        status: output.status.to_string(),
        stderr: tail(&shown, ERROR_TAIL_LINES),
    })
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Fails with [`LabError::MissingProgram`] unless `program` is on the PATH.
pub(crate) fn require_program(program: &'static str, package: &'static str) -> LabResult<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| dir.join(program).is_file());
    if found {
        Ok(())
    } else {
        Err(LabError::MissingProgram { program, package })
    }
}

/// Fails with [`LabError::NotRoot`] unless this process runs as root.
pub(crate) fn require_root() -> LabResult<()> {
    let status =
        fs::read_to_string("/proc/self/status").map_err(io_error("read", "/proc/self/status"))?;
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next());
    if uid == Some("0") {
        Ok(())
    } else {
        Err(LabError::NotRoot)
    }
}

/// A process named by PID and start time, so a recycled PID is never mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    /// The PID in the machine's PID namespace.
    pub pid: u32,
    /// Field 22 of `/proc/PID/stat`: clock ticks after boot when it started.
    pub start_time: u64,
}

/// The fields of `/proc/PID/stat` the lab uses.
struct ProcStat {
    state: char,
    parent: u32,
    start_time: u64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything; fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

impl ProcessId {
    /// The process with this PID now, if there is one.
    pub fn of(pid: u32) -> Option<ProcessId> {
        proc_stat(pid).map(|stat| ProcessId {
            pid,
            start_time: stat.start_time,
        })
    }

    /// This process.
    pub fn current() -> ProcessId {
        ProcessId::of(std::process::id()).expect("/proc/self/stat is readable")
    }

    /// Whether this very process still runs (not recycled, not a zombie).
    pub fn is_alive(&self) -> bool {
        proc_stat(self.pid).is_some_and(|stat| {
            stat.start_time == self.start_time && !matches!(stat.state, 'Z' | 'X')
        })
    }

    /// Sends `signal` if the process is still this one; true when it was sent.
    pub(crate) fn signal(&self, signal: Signal) -> bool {
        self.is_alive() && kill(Pid::from_raw(self.pid as i32), signal).is_ok()
    }

    /// The direct children of this process.
    pub(crate) fn children(&self) -> Vec<ProcessId> {
        if !self.is_alive() {
            return Vec::new();
        }
        all_pids()
            .filter_map(|pid| {
                let stat = proc_stat(pid)?;
                (stat.parent == self.pid).then_some(ProcessId {
                    pid,
                    start_time: stat.start_time,
                })
            })
            .collect()
    }

    /// Resident memory of this process and all its descendants, in KiB.
    pub fn tree_rss_kib(&self) -> u64 {
        if !self.is_alive() {
            return 0;
        }
        let parents: Vec<(u32, u32)> = all_pids()
            .filter_map(|pid| Some((pid, proc_stat(pid)?.parent)))
            .collect();
        let mut tree = vec![self.pid];
        let mut index = 0;
        while index < tree.len() {
            let parent = tree[index];
            tree.extend(
                parents
                    .iter()
                    .filter(|(_, p)| *p == parent)
                    .map(|(pid, _)| *pid),
            );
            index += 1;
        }
        tree.iter().map(|pid| rss_kib(*pid)).sum()
    }
}

fn all_pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
}

fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
