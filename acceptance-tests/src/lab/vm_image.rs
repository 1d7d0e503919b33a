//! What turns a lab image into one QEMU boots: a Debian kernel installed in the tree, the NFS
//! units left alone (a VM has a kernel that serves and mounts NFS), the per-VM identity disk
//! mounted, and the tree made into an ext4 disk image with the kernel and initrd beside it.
//!
//! Per-VM identity without touching the shared disk image: the host name and the address come on
//! the kernel command line (`systemd.hostname=`, `ip=` read by systemd-network-generator), and the
//! sshd host key comes on a second, read-only disk of a few KiB that `mkfs.ext4 -d` makes from the
//! same key directory nspawn hosts get bind-mounted, mounted by label at the same place. Nothing
//! is written into a VM's overlay from outside (that would need qemu-nbd or libguestfs), and no
//! private key ever appears on a command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::{LabError, LabResult, io_error};
use super::exec::run;
use super::image::{HOST_KEY_DIR, Image, write_file};
use super::mounts::remove_tree;

/// Bump when this recipe changes, so cached VM images are rebuilt.
pub(crate) const RECIPE_VERSION: u32 = 3;

/// Debian's kernel for virtual machines: virtio drivers, small, modules for nfsd and nfs.
pub(crate) const KERNEL_PACKAGES: &[&str] = &["linux-image-cloud-amd64"];

/// The file system label of a VM's identity disk.
pub(crate) const IDENTITY_LABEL: &str = "lab-identity";

/// Free space the root file system gets on top of what the tree uses. The disk image is sparse
/// and every VM writes to its own qcow2 overlay, so unused space costs nothing.
const FREE_SPACE_MIB: u64 = 1024;

/// The VM-only parts of the tree's configuration: the identity disk in `/etc/fstab`.
pub(crate) fn configure(rootfs: &Path) -> LabResult<()> {
    // Not `nofail`: a VM without its host key must not come up looking healthy. No device
    // timeout (0: wait as long as it takes): udev's coldplug alone took over 30 s with four VMs
    // booting at once on two busy cores (measured), so any fixed bound is a race; the lab's own
    // boot timeout bounds the wait, and a missing disk shows on the console tail as a start job
    // still waiting for it.
    let fstab = format!(
        "# Written by the homelab lab: the root file system is /dev/vda, from the kernel command line.\n\
         LABEL={IDENTITY_LABEL} {HOST_KEY_DIR} ext4 ro,x-systemd.device-timeout=0 0 0\n"
    );
    write_file(&rootfs.join("etc/fstab"), &fstab, 0o644)
}

/// Copies the kernel and initrd out of `rootfs` into `image`'s directory, makes the tree into
/// [`Image::disk`], and removes the tree (the disk holds all of it).
pub(crate) fn make_disk(rootfs: &Path, image: &Image) -> LabResult<()> {
    let boot = rootfs.join("boot");
    let kernel = only_file_starting_with(&boot, "vmlinuz-")?;
    let initrd = only_file_starting_with(&boot, "initrd.img-")?;
    fs::copy(&kernel, image.kernel()).map_err(io_error("copy", &kernel))?;
    fs::copy(&initrd, image.initrd()).map_err(io_error("copy", &initrd))?;
    let used_mib = tree_size_mib(rootfs)?;
    let size_mib = used_mib + used_mib / 5 + FREE_SPACE_MIB;
    let disk = image.disk();
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "lab-root", "-d"])
        .arg(rootfs)
        .arg(&disk)
        .arg(format!("{size_mib}M")))?;
    remove_tree(rootfs)
}

/// Makes a VM's identity disk at `disk` from the directory `keys` (its sshd host key pair).
pub(crate) fn make_identity_disk(keys: &Path, disk: &Path) -> LabResult<()> {
    // No journal: the disk is attached read-only and never changes after this.
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", IDENTITY_LABEL, "-O", "^has_journal", "-d"])
        .arg(keys)
        .arg(disk)
        .arg("1M"))?;
    Ok(())
}

/// The one entry of `dir` whose name starts with `prefix` (one kernel in the tree, so one match).
fn only_file_starting_with(dir: &Path, prefix: &str) -> LabResult<PathBuf> {
    let matches: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_error("list", dir))?
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .map(|entry| entry.path())
        .collect();
    match matches.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(LabError::UnexpectedOutput {
            command: format!("ls {}", dir.display()),
            output: format!("{matches:?}"),
            expected: "exactly one kernel and one initrd",
        }),
    }
}

/// What the tree takes on disk, in MiB (`du`, staying on its file system).
fn tree_size_mib(rootfs: &Path) -> LabResult<u64> {
    let output = run(Command::new("du").args(["-s", "-x", "-m"]).arg(rootfs))?;
    output
        .split_whitespace()
        .next()
        .and_then(|size| size.parse().ok())
        .ok_or_else(|| LabError::UnexpectedOutput {
            command: format!("du -s -x -m {}", rootfs.display()),
            output: output.clone(),
            expected: "a size in MiB",
        })
}
