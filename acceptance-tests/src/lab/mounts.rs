//! Removes directory trees that may still have file systems mounted or processes running inside
//! them (a killed build can leave `proc` mounted in its target and apt running in a chroot there)
//! without ever descending into another file system.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::error::{LabResult, io_error};
use super::exec::{ProcessId, run_to_completion};

/// Unmounts everything mounted at or below `path`, then deletes `path` without crossing into
/// any other file system. A missing `path` is fine.
pub(crate) fn remove_tree(path: &Path) -> LabResult<()> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    kill_processes_inside(path);
    unmount_beneath(path)?;
    run_to_completion(
        Command::new("rm")
            .arg("-rf")
            .arg("--one-file-system")
            .arg(path),
    )?;
    Ok(())
}

/// Kills processes whose root directory or working directory is inside `path` (a chrooted apt
/// or dpkg that outlived the build that started it), and waits briefly for them to go.
fn kill_processes_inside(path: &Path) {
    let Ok(root) = path.canonicalize() else {
        return;
    };
    let inside = |pid: u32, link: &str| {
        fs::read_link(format!("/proc/{pid}/{link}")).is_ok_and(|target| target.starts_with(&root))
    };
    let found: Vec<ProcessId> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|pid| inside(*pid, "root") || inside(*pid, "cwd"))
        .filter_map(ProcessId::of)
        .collect();
    for process in &found {
        eprintln!(
            "lab: killing process {} still inside {}",
            process.pid,
            root.display()
        );
        process.signal(Signal::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while found.iter().any(ProcessId::is_alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lazily unmounts every mount point at or below `path`, deepest first.
pub(crate) fn unmount_beneath(path: &Path) -> LabResult<()> {
    let root = path.canonicalize().map_err(io_error("resolve", path))?;
    let mut inside: Vec<PathBuf> = mount_points()?
        .into_iter()
        .filter(|point| point.starts_with(&root))
        .collect();
    inside.sort_by_key(|point| std::cmp::Reverse(point.as_os_str().len()));
    inside.dedup();
    for point in inside {
        run_to_completion(Command::new("umount").arg("-l").arg(&point))?;
    }
    Ok(())
}

/// Every mount point in this process's mount namespace.
fn mount_points() -> LabResult<Vec<PathBuf>> {
    let text = fs::read_to_string("/proc/self/mountinfo")
        .map_err(io_error("read", "/proc/self/mountinfo"))?;
    Ok(text
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .collect())
}

/// Undoes the octal escapes (`\040` for a space) the kernel writes in mountinfo.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes.get(index + 1..index + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[index], escaped) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                index += 4;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn unescape_decodes_spaces_and_backslashes() {
        assert_eq!(unescape(r"/tmp/a\040b\134c"), r"/tmp/a b\c");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
