//! The record of every lab on the machine, kept in a machine-wide run directory so that a run that
//! crashed or was killed is found and torn down by `lab down` or by the next `Lab::up`.
//!
//! Layout: `<run dir>/.lock` serializes slot allocation and teardown of others' runs;
//! `<run dir>/hl<n>.json` is the record of the lab in slot n, written before anything it names is
//! created; `<run dir>/hl<n>/` holds that lab's host keys, network files, consoles, known_hosts,
//! and the VMs' overlays and identity disks.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{LabError, LabResult, io_error};
use super::exec::ProcessId;
use super::network::{SLOTS, Slot, slot_is_free};
use super::{Backend, Host};

/// One lab, as written to its record file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    /// `hl<slot>`: the prefix of every name the lab creates.
    pub(crate) run: String,
    /// The slot, which fixes the subnet and the names.
    pub(crate) slot: u8,
    /// The lab's bridge.
    pub(crate) bridge: String,
    /// The process that brought the lab up; the lab is stale once it is gone (unless detached).
    pub(crate) owner: ProcessId,
    /// Brought up by `lab up` to outlive it; only `lab down` takes it down.
    pub(crate) detached: bool,
    /// How the hosts run.
    pub(crate) backend: Backend,
    /// The image's root file system: a directory for containers, an ext4 disk image for VMs
    /// (with the kernel and initrd beside it).
    pub(crate) rootfs: PathBuf,
    /// `<run dir>/hl<n>`.
    pub(crate) dir: PathBuf,
    /// The hosts as reported to users.
    pub(crate) hosts: Vec<Host>,
    /// What runs each host, in the order of `hosts`.
    pub(crate) machines: Vec<Machine>,
}

/// The machine-side names and processes of one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Machine {
    /// The machine name, `hl<n>-host<i>` (nspawn's `--machine`, QEMU's `-name`).
    pub(crate) name: String,
    /// The host's network namespace (containers only; VMs have their own kernel).
    pub(crate) netns: String,
    /// The host end of its veth pair, or a VM's tap.
    pub(crate) veth: String,
    /// The process running the host (systemd-nspawn or QEMU), once started.
    pub(crate) process: Option<ProcessId>,
    /// A container's PID 1 as seen from the machine, once booted (none for VMs).
    pub(crate) init: Option<ProcessId>,
}

impl RunRecord {
    /// The lab's slot.
    pub(crate) fn slot(&self) -> Slot {
        Slot(self.slot)
    }

    /// A run whose owner died without tearing it down.
    pub(crate) fn is_stale(&self) -> bool {
        !self.detached && !self.owner.is_alive()
    }

    fn path(&self) -> PathBuf {
        record_path(&self.run)
    }
}

/// `HOMELAB_LAB_RUN_DIR`, else `/run/homelab-lab`: machine-wide, because bridges, namespaces
/// and subnets are machine-wide and labs of several checkouts must not collide.
pub fn run_dir() -> PathBuf {
    match std::env::var_os("HOMELAB_LAB_RUN_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("/run/homelab-lab"),
    }
}

fn record_path(run: &str) -> PathBuf {
    run_dir().join(format!("{run}.json"))
}

/// Holds the run directory's lock for as long as it lives.
pub(crate) struct RunLock {
    _file: File,
}

/// Takes the run directory's lock, creating the directory (mode 0700) if needed.
pub(crate) fn lock() -> LabResult<RunLock> {
    let dir = run_dir();
    fs::create_dir_all(&dir).map_err(io_error("create directory", &dir))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .map_err(io_error("chmod", &dir))?;
    let path = dir.join(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error("open lock file", &path))?;
    file.lock().map_err(io_error("lock", &path))?;
    Ok(RunLock { _file: file })
}

/// Every record in the run directory.
pub(crate) fn records() -> LabResult<Vec<RunRecord>> {
    let dir = run_dir();
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = fs::read_to_string(&path).map_err(io_error("read", &path))?;
        let record: RunRecord =
            serde_json::from_str(&text).map_err(|source| LabError::State { path, source })?;
        records.push(record);
    }
    records.sort_by_key(|r| r.slot);
    Ok(records)
}

/// Writes `record` atomically (temporary file, then rename).
pub(crate) fn save(record: &RunRecord) -> LabResult<()> {
    let path = record.path();
    let temporary = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(record).expect("a run record serializes");
    fs::write(&temporary, text).map_err(io_error("write", &temporary))?;
    fs::rename(&temporary, &path).map_err(io_error("rename into place", &temporary))
}

/// Removes `record`'s file once everything it names is gone.
pub(crate) fn forget(record: &RunRecord) -> LabResult<()> {
    match fs::remove_file(record.path()) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(io_error("remove", record.path())(error))
        }
        _ => Ok(()),
    }
}

/// Under the lock: tears down stale runs, picks a free slot, and saves the record `make` builds
/// for it before returning, so that from here on a crash leaves a record to clean up after.
pub(crate) fn claim_slot(make: impl FnOnce(Slot, &Path) -> RunRecord) -> LabResult<RunRecord> {
    let _lock = lock()?;
    for stale in records()?.into_iter().filter(RunRecord::is_stale) {
        eprintln!(
            "lab: tearing down {} left by process {} that is gone",
            stale.run, stale.owner.pid
        );
        if let Err(error) = super::teardown::teardown(&stale, &mut []) {
            eprintln!("lab: could not tear down {}: {error}", stale.run);
        }
    }
    let taken: Vec<u8> = records()?.iter().map(|r| r.slot).collect();
    // Round robin from the slot after the last one handed out, so a slot just freed is not reused
    // at once (a test checking that its torn-down lab left nothing must not see a new lab's names).
    let next_path = run_dir().join(".next");
    let first = fs::read_to_string(&next_path)
        .ok()
        .and_then(|text| text.trim().parse::<u8>().ok())
        .unwrap_or(0);
    for offset in 0..SLOTS {
        let number = (first % SLOTS + offset) % SLOTS;
        let slot = Slot(number);
        if taken.contains(&number) || !slot_is_free(slot)? {
            continue;
        }
        let record = make(slot, &run_dir().join(slot.run_id()));
        save(&record)?;
        fs::write(&next_path, format!("{}\n", (number + 1) % SLOTS))
            .map_err(io_error("write", &next_path))?;
        return Ok(record);
    }
    Err(LabError::NoFreeSlot { count: SLOTS })
}

/// Whether this path is the run directory of `record` (a guard before removing it).
pub(crate) fn is_own_dir(record: &RunRecord) -> bool {
    record.dir == run_dir().join(&record.run) && record.run.starts_with("hl")
}
