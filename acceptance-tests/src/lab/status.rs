//! What labs exist on the machine (`lab status`), taking down those left behind (`lab down`), and
//! the footprint a test checks after teardown.

use std::path::PathBuf;

use serde::Serialize;

use super::cgroup;
use super::error::{LabError, LabResult};
use super::exec::ProcessId;
use super::image::{cache_dir, cached_images, remove_interrupted_builds};
use super::network::{link_exists, netns_exists};
use super::nspawn::{nspawn_processes, processes_in_netns};
use super::qemu::qemu_processes;
use super::state::{self, RunRecord, records, run_dir};
use super::teardown::teardown;
use super::{Backend, Host};

/// One lab as `lab status` shows it.
#[derive(Debug, Serialize)]
pub struct RunStatus {
    /// Its id, `hl<n>`.
    pub run: String,
    /// Its bridge.
    pub bridge: String,
    /// The process that brought it up.
    pub owner_pid: u32,
    /// Whether that process still runs.
    pub owner_alive: bool,
    /// Whether it was left running on purpose by `lab up`.
    pub detached: bool,
    /// How its hosts run.
    pub backend: Backend,
    /// Its hosts.
    pub hosts: Vec<HostStatus>,
}

/// One host as `lab status` shows it.
#[derive(Debug, Serialize)]
pub struct HostStatus {
    /// The host as `lab up` printed it.
    #[serde(flatten)]
    pub host: Host,
    /// Whether its container or VM process runs.
    pub running: bool,
    /// Resident memory of its whole process tree, in KiB.
    pub rss_kib: u64,
}

/// What `lab status` prints.
#[derive(Debug, Serialize)]
pub struct LabStatus {
    /// Where the records of running labs live.
    pub run_dir: PathBuf,
    /// Where images are cached.
    pub cache_dir: PathBuf,
    /// Every recorded lab.
    pub runs: Vec<RunStatus>,
    /// Every cached image.
    pub images: Vec<CachedImage>,
}

/// A finished image in the cache.
#[derive(Debug, Serialize)]
pub struct CachedImage {
    /// Its cache key.
    pub key: String,
    /// The packages installed on top of the base tree.
    pub packages: Vec<String>,
}

/// Every lab recorded on the machine, plus the cached images.
pub fn status() -> LabResult<LabStatus> {
    let runs = records()?
        .into_iter()
        .map(|record| RunStatus {
            owner_pid: record.owner.pid,
            owner_alive: record.owner.is_alive(),
            detached: record.detached,
            backend: record.backend,
            hosts: record
                .hosts
                .iter()
                .zip(&record.machines)
                .map(|(host, machine)| HostStatus {
                    host: host.clone(),
                    running: machine.process.is_some_and(|p| p.is_alive()),
                    rss_kib: machine.process.map_or(0, |p| p.tree_rss_kib()),
                })
                .collect(),
            run: record.run,
            bridge: record.bridge,
        })
        .collect();
    let images = cached_images(&cache_dir())
        .into_iter()
        .map(|(key, packages)| CachedImage { key, packages })
        .collect();
    Ok(LabStatus {
        run_dir: run_dir(),
        cache_dir: cache_dir(),
        runs,
        images,
    })
}

/// Tears down every lab whose process is gone or that was detached (with `include_live`, also
/// labs of processes still running, e.g. a test binary), and removes interrupted image builds.
/// Returns the ids of the labs taken down.
pub fn down_all(include_live: bool) -> LabResult<Vec<String>> {
    down_where(|record| {
        if include_live || record.detached || !record.owner.is_alive() {
            return true;
        }
        eprintln!(
            "lab: leaving {} up: its process {} still runs (lab down --all takes it down)",
            record.run, record.owner.pid
        );
        false
    })
}

/// Tears down only labs whose process died without tearing them down (a killed test run), not
/// detached ones someone brought up on purpose; removes interrupted image builds. For a test
/// script on a machine where people also keep labs up by hand.
pub fn down_stale() -> LabResult<Vec<String>> {
    down_where(|record| {
        if record.detached {
            eprintln!(
                "lab: leaving {} up: it was brought up by `lab up` (lab down {} takes it down)",
                record.run, record.run
            );
        }
        record.is_stale()
    })
}

fn down_where(mut take_down: impl FnMut(&RunRecord) -> bool) -> LabResult<Vec<String>> {
    let _lock = state::lock()?;
    let mut taken_down = Vec::new();
    let mut problems = Vec::new();
    for record in records()? {
        if !take_down(&record) {
            continue;
        }
        match teardown(&record, &mut []) {
            Ok(()) => taken_down.push(record.run),
            Err(error) => problems.push(format!("{}: {error}", record.run)),
        }
    }
    if let Err(error) = remove_interrupted_builds(&cache_dir()) {
        problems.push(error.to_string());
    }
    if problems.is_empty() {
        Ok(taken_down)
    } else {
        Err(LabError::Teardown(problems))
    }
}

/// Tears down the lab `run` (`hl<n>`), whoever brought it up; `Ok(false)` when no such lab is
/// recorded. For scripts that brought a lab up with `lab up` and must take down exactly that one,
/// not every detached lab on the machine.
pub fn down_run(run: &str) -> LabResult<bool> {
    let _lock = state::lock()?;
    let Some(record) = records()?.into_iter().find(|record| record.run == run) else {
        return Ok(false);
    };
    teardown(&record, &mut [])?;
    Ok(true)
}

/// Everything a lab has on the machine: names, processes, files.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// The lab's id.
    pub run: String,
    /// Its bridge.
    pub bridge: String,
    /// The machine-side ends of its veth pairs.
    pub veths: Vec<String>,
    /// Its network namespaces.
    pub netns: Vec<String>,
    /// The host processes (nspawn or QEMU) and every process inside the containers when the
    /// footprint was taken.
    pub processes: Vec<ProcessId>,
    /// Its cgroups, run directory (VM disks included) and record file.
    pub files: Vec<PathBuf>,
}

impl Footprint {
    pub(crate) fn of(record: &RunRecord) -> Footprint {
        let mut processes: Vec<ProcessId> = record
            .machines
            .iter()
            .flat_map(|m| m.process.into_iter().chain(m.init))
            .collect();
        for machine in &record.machines {
            processes.extend(processes_in_netns(&machine.netns));
        }
        processes.sort_by_key(|p| p.pid);
        processes.dedup();
        Footprint {
            run: record.run.clone(),
            bridge: record.bridge.clone(),
            veths: record.machines.iter().map(|m| m.veth.clone()).collect(),
            netns: record.machines.iter().map(|m| m.netns.clone()).collect(),
            processes,
            files: record
                .machines
                .iter()
                .flat_map(|m| cgroup::existing(&m.name))
                .chain([
                    record.dir.clone(),
                    run_dir().join(format!("{}.json", record.run)),
                ])
                .collect(),
        }
    }

    /// What of the footprint still exists, described; empty after a clean teardown.
    pub fn remaining(&self) -> Vec<String> {
        let mut left = Vec::new();
        if link_exists(&self.bridge) {
            left.push(format!("bridge {}", self.bridge));
        }
        left.extend(
            self.veths
                .iter()
                .filter(|v| link_exists(v))
                .map(|v| format!("veth {v}")),
        );
        left.extend(
            self.netns
                .iter()
                .filter(|n| netns_exists(n))
                .map(|n| format!("netns {n}")),
        );
        left.extend(
            self.processes
                .iter()
                .filter(|p| p.is_alive())
                .map(|p| format!("process {}", p.pid)),
        );
        left.extend(
            nspawn_processes(&self.run)
                .iter()
                .map(|p| format!("systemd-nspawn process {}", p.pid)),
        );
        left.extend(
            qemu_processes(&self.run)
                .iter()
                .map(|p| format!("QEMU process {}", p.pid)),
        );
        left.extend(
            self.files
                .iter()
                .filter(|f| f.exists())
                .map(|f| format!("file {}", f.display())),
        );
        left
    }
}
