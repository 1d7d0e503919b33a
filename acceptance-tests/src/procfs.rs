//! What `/proc` says about processes the harness started: their children, their executables and
//! their memory, for tests that kill a provider mid-apply and benchmarks that measure it.

use std::path::{Path, PathBuf};

/// The children of `pid`, from every thread's `/proc/PID/task/TID/children` (a multi-threaded
/// parent such as terraform forks from any thread); empty once `pid` is gone.
pub fn children(pid: u32) -> Vec<u32> {
    let tasks = Path::new("/proc").join(pid.to_string()).join("task");
    let Ok(entries) = std::fs::read_dir(&tasks) else {
        return Vec::new();
    };
    let mut children: Vec<u32> = entries
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    children.sort_unstable();
    children.dedup();
    children
}

/// The executable `pid` runs (`/proc/PID/exe`), once it has exec'd.
pub fn executable(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// A `kB` field of `/proc/PID/status`, e.g. `VmRSS` (resident now) or `VmHWM` (peak resident).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_size_and_an_executable() {
        let me = std::process::id();
        let rss = status_kib(me, "VmRSS").expect("VmRSS");
        let peak = status_kib(me, "VmHWM").expect("VmHWM");
        assert!(rss > 0 && peak >= rss, "rss {rss}, peak {peak}");
        assert_eq!(
            executable(me),
            Some(std::env::current_exe().expect("current exe"))
        );
        assert_eq!(status_kib(me, "NoSuchField"), None);
    }

    #[test]
    fn a_spawned_child_is_listed_under_its_parent() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let listed = children(std::process::id()).contains(&child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(listed, "sleep {} not among our children", child.id());
    }
}
