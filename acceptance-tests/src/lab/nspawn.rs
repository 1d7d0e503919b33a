//! The systemd-nspawn backend: each host is a container booting the shared image under a volatile
//! overlay, in its own network namespace, with its own sshd host key and network file bind-mounted.
//!
//! No container gets the machine's `/dev/autofs`, whatever the machine's kernel offers: a
//! container is always a host without autofs (systemd refuses `.automount` units there), so no
//! test's outcome depends on the machine it runs on; automounts are tested on the QEMU VMs. What
//! makes a container behave like a node is done over SSH once it answers
//! (`boot::prepare_container`).

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::cgroup;
use super::error::{LabResult, io_error};
use super::exec::ProcessId;
use super::image::HOST_KEY_DIR;
use super::mounts::remove_tree;
use super::state::{Machine, RunRecord};

/// How long containers get to exit after their processes were killed, before nspawn is killed too.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// The per-host files a container is started with, under the run directory.
pub(crate) struct HostFiles {
    /// `<run dir>/<host>`.
    pub(crate) dir: PathBuf,
}

impl HostFiles {
    /// The directory bind-mounted read-only at [`HOST_KEY_DIR`].
    pub(crate) fn keys(&self) -> PathBuf {
        self.dir.join("keys")
    }

    /// The directory bind-mounted read-only at `/etc/systemd/network`.
    pub(crate) fn network(&self) -> PathBuf {
        self.dir.join("network")
    }

    /// Everything the container printed on its console.
    pub(crate) fn console(&self) -> PathBuf {
        self.dir.join("console.log")
    }
}

/// Starts `machine` booting from `rootfs`; its console goes to [`HostFiles::console`].
///
/// The process gets its own process group, so a Ctrl-C meant for the caller reaches the caller
/// alone, which then tears the lab down in order.
pub(crate) fn spawn(
    rootfs: &Path,
    machine: &Machine,
    hostname: &str,
    files: &HostFiles,
) -> LabResult<Child> {
    let console = File::create(files.console()).map_err(io_error("create", files.console()))?;
    let console_err = console
        .try_clone()
        .map_err(io_error("duplicate", files.console()))?;
    let cgroup_procs = cgroup::create(&machine.name)?;
    let joined: Vec<String> = cgroup_procs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    // A shell joins the host's cgroups and becomes nspawn (exec keeps the PID); the paths and
    // nspawn's arguments travel as data, never as shell text.
    let mut command = Command::new("sh");
    command
        .args(["-c", JOIN_CGROUPS_AND_EXEC, "lab-nspawn", "systemd-nspawn"])
        .env(CGROUPS_VARIABLE, joined.join(":"))
        .arg("--directory")
        .arg(rootfs)
        .args([
            "--boot",
            "--volatile=overlay",
            "--register=no",
            "--keep-unit",
            "--console=read-only",
            "--capability=CAP_NET_ADMIN,CAP_NET_RAW",
        ])
        .arg(format!(
            "--network-namespace-path=/run/netns/{}",
            machine.netns
        ))
        .arg(bind_ro(&files.network(), "/etc/systemd/network"))
        .arg(bind_ro(&files.keys(), HOST_KEY_DIR))
        .arg(format!("--hostname={hostname}"))
        .arg(format!("--machine={}", machine.name))
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(console_err)
        .process_group(0);
    command
        .spawn()
        .map_err(io_error("start systemd-nspawn for", rootfs))
}

/// Names the `cgroup.procs` files, colon-separated, for [`JOIN_CGROUPS_AND_EXEC`].
const CGROUPS_VARIABLE: &str = "HOMELAB_LAB_CGROUP_PROCS";

/// Writes the shell's PID to every file in `$HOMELAB_LAB_CGROUP_PROCS`, then execs its arguments.
const JOIN_CGROUPS_AND_EXEC: &str = r#"set -eu
IFS=:
for procs in $HOMELAB_LAB_CGROUP_PROCS; do echo $$ > "$procs"; done
unset IFS HOMELAB_LAB_CGROUP_PROCS
exec "$@""#;

fn bind_ro(source: &Path, target: &str) -> String {
    format!("--bind-ro={}:{target}", source.display())
}

/// The container's init (its PID 1, seen from the machine), once nspawn has started it.
pub(crate) fn find_init(container: ProcessId) -> Option<ProcessId> {
    container.children().into_iter().find(|child| {
        fs::read_to_string(format!("/proc/{}/comm", child.pid))
            .is_ok_and(|comm| comm.trim() == "systemd")
    })
}

/// Stops every container of `record`: kills everything inside each host's network namespace
/// (the container's PID 1 first, which takes its whole PID namespace along), waits for nspawn to
/// notice and clean up its mounts, kills nspawn if it does not, then removes what nspawn keeps in
/// /run. Finds the processes by the record and independently by namespace and command line, so a
/// run killed before it saved a PID is still stopped. Problems are appended to `problems`.
pub(crate) fn stop(record: &RunRecord, children: &mut [Option<Child>], problems: &mut Vec<String>) {
    for machine in &record.machines {
        if let Some(init) = machine.init {
            init.signal(Signal::SIGKILL);
        }
        for process in processes_in_netns(&machine.netns) {
            process.signal(Signal::SIGKILL);
        }
    }
    let mut containers: Vec<ProcessId> = record.machines.iter().filter_map(|m| m.process).collect();
    for found in nspawn_processes(&record.run) {
        if !containers.contains(&found) {
            containers.push(found);
        }
    }
    // A container still booting may not have a PID 1 in its namespace yet: SIGTERM makes nspawn stop it.
    for container in &containers {
        if find_init(*container).is_none() {
            container.signal(Signal::SIGTERM);
        }
    }
    if !wait_for_exit(&containers, EXIT_GRACE) {
        for container in &containers {
            container.signal(Signal::SIGKILL);
        }
        if !wait_for_exit(&containers, Duration::from_secs(5)) {
            problems.push(format!(
                "systemd-nspawn processes of {} still running",
                record.run
            ));
        }
    }
    for child in children.iter_mut().flatten() {
        let _ = child.try_wait();
    }
    for machine in &record.machines {
        if let Err(problem) = empty_cgroups(&machine.name) {
            problems.push(problem);
        }
        if let Err(error) = cgroup::remove(&machine.name) {
            problems.push(error.to_string());
        }
        let propagate = Path::new("/run/systemd/nspawn/propagate").join(&machine.name);
        if let Err(error) = remove_tree(&propagate) {
            problems.push(error.to_string());
        }
    }
    release_image_lock(&record.rootfs);
}

/// Kills whatever is still in the host's cgroups (a process that left the container's namespaces)
/// and waits until they are empty.
fn empty_cgroups(machine: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while cgroup::is_populated(machine) {
        if Instant::now() >= deadline {
            return Err(format!("processes remain in the cgroups of {machine}"));
        }
        cgroup::kill(machine);
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn wait_for_exit(processes: &[ProcessId], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if processes.iter().all(|p| !p.is_alive()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every process whose network namespace is the named one.
pub(crate) fn processes_in_netns(netns: &str) -> Vec<ProcessId> {
    let Ok(metadata) = fs::metadata(Path::new("/run/netns").join(netns)) else {
        return Vec::new();
    };
    let wanted = format!("net:[{}]", metadata.ino());
    all_processes()
        .filter(|process| {
            fs::read_link(format!("/proc/{}/ns/net", process.pid))
                .is_ok_and(|link| link.as_os_str() == wanted.as_str())
        })
        .collect()
}

/// systemd-nspawn processes started for a machine of run `run` (their `--machine=<run>-...`).
pub(crate) fn nspawn_processes(run: &str) -> Vec<ProcessId> {
    let wanted = format!("--machine={run}-");
    all_processes()
        .filter(|process| {
            let Ok(cmdline) = fs::read(format!("/proc/{}/cmdline", process.pid)) else {
                return false;
            };
            let mut arguments = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy);
            let is_nspawn = arguments
                .next()
                .is_some_and(|a| a.ends_with("systemd-nspawn"));
            is_nspawn && arguments.any(|a| a.starts_with(&wanted))
        })
        .collect()
}

fn all_processes() -> impl Iterator<Item = ProcessId> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(ProcessId::of)
}

/// Removes nspawn's lock file for the image when no container uses the image any more.
///
/// nspawn locks the image through `/run/systemd/nspawn/locks/inode-<dev>:<ino>` and deletes the
/// file when it exits normally; one killed with SIGKILL leaves it. Like nspawn, take the lock
/// exclusively before unlinking, so a container still using the image keeps it.
fn release_image_lock(rootfs: &Path) {
    let Ok(metadata) = fs::metadata(rootfs) else {
        return;
    };
    let lock = Path::new("/run/systemd/nspawn/locks").join(format!(
        "inode-{}:{}",
        metadata.dev(),
        metadata.ino()
    ));
    if let Ok(file) = File::open(&lock)
        && file.try_lock().is_ok()
    {
        let _ = fs::remove_file(&lock);
    }
}

/// The last `lines` lines of a console log, without terminal colour codes.
pub(crate) fn console_tail(path: &Path, lines: usize) -> String {
    let raw = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&raw);
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences: ESC [ parameters final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                for next in chars.by_ref() {
                    if next.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            plain.push(c);
        }
    }
    super::exec::tail(&plain, lines)
}
