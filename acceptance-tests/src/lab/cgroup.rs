//! A cgroup of its own for every host.
//!
//! Without systemd on the machine, `systemd-nspawn --keep-unit` stays in the cgroup it was started
//! in and puts the container under `<that cgroup>/payload`. Containers started from one process
//! would then share `payload/system.slice/ssh.service` and every other unit's cgroup: a unit in
//! one host sees the other hosts' processes, fails with 219/CGROUP when another host removes "its"
//! cgroup, and stopping a service waits for processes of other hosts. So each nspawn is started
//! inside `homelab-lab/<machine>` in every hierarchy systemd uses, and that tree is removed after.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::{LabResult, io_error};

/// The cgroup under which every host's own cgroup is created.
const PARENT: &str = "homelab-lab";

/// The hierarchies systemd manages on this machine: `name=systemd` (legacy or hybrid setups),
/// the unified one of a hybrid setup, or the root of a pure cgroup v2 setup.
fn hierarchies() -> Vec<PathBuf> {
    [
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|root| root.join("cgroup.procs").is_file())
    .collect()
}

/// The host's cgroup in each hierarchy.
fn paths(machine: &str) -> Vec<PathBuf> {
    hierarchies()
        .into_iter()
        .map(|root| root.join(PARENT).join(machine))
        .collect()
}

/// Creates the host's cgroups and returns their `cgroup.procs` files, which the process that
/// becomes nspawn writes its PID to before it starts nspawn.
pub(crate) fn create(machine: &str) -> LabResult<Vec<PathBuf>> {
    let mut procs = Vec::new();
    for path in paths(machine) {
        fs::create_dir_all(&path).map_err(io_error("create cgroup", &path))?;
        procs.push(path.join("cgroup.procs"));
    }
    Ok(procs)
}

/// Kills every process left in the host's cgroups (`cgroup.kill`, cgroup v2 only): the last
/// resort after nspawn and the container's init were signalled directly.
pub(crate) fn kill(machine: &str) {
    for path in paths(machine) {
        let kill_file = path.join("cgroup.kill");
        if kill_file.is_file() {
            let _ = fs::write(&kill_file, "1");
        }
    }
}

/// Whether any process is still in the host's cgroups.
pub(crate) fn is_populated(machine: &str) -> bool {
    paths(machine).iter().any(|path| has_processes(path))
}

fn has_processes(dir: &Path) -> bool {
    let own =
        fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|text| !text.trim().is_empty());
    own || subdirectories(dir).iter().any(|sub| has_processes(sub))
}

/// The host's cgroups that still exist.
pub(crate) fn existing(machine: &str) -> Vec<PathBuf> {
    paths(machine).into_iter().filter(|p| p.exists()).collect()
}

/// Removes the host's cgroups, deepest first (cgroups are removed with rmdir, one by one), and
/// the shared parent once it is empty.
pub(crate) fn remove(machine: &str) -> LabResult<()> {
    for path in paths(machine) {
        remove_directories(&path)?;
        if let Some(parent) = path.parent() {
            // Another lab may still use the parent; then it is not empty and stays.
            let _ = fs::remove_dir(parent);
        }
    }
    Ok(())
}

fn remove_directories(dir: &Path) -> LabResult<()> {
    if !dir.exists() {
        return Ok(());
    }
    for sub in subdirectories(dir) {
        remove_directories(&sub)?;
    }
    fs::remove_dir(dir).map_err(io_error("remove cgroup", dir))
}

fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.path())
        .collect()
}
