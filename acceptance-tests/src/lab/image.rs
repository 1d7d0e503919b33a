//! Builds and caches the Debian root file system the hosts boot from, with the lab's root key pair.
//!
//! Two layers, each built in a staging directory and renamed into place only when complete (a
//! killed build never leaves a half image): `base/<key>/` is the debootstrap tree, shared by every
//! package list; `images/<key>/` is a copy of it with the requested packages installed, the lab's
//! configuration applied, and the key pair whose public half root accepts. Images for QEMU VMs
//! (see [`super::vm_image`]) are keyed apart: they add a kernel, leave the NFS units alone, and
//! keep an ext4 disk image with the kernel and initrd beside it instead of the tree.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Backend;
use super::error::{LabError, LabResult, io_error};
use super::exec::run;
use super::mirror::debian_mirror;
use super::mounts::remove_tree;
use super::vm_image;

/// Bump when the recipe below changes, so cached images are rebuilt.
const RECIPE_VERSION: u32 = 1;

/// The Debian release the hosts run.
pub(crate) const SUITE: &str = "bookworm";

/// What debootstrap puts in the base tree besides `minbase`.
const DEBOOTSTRAP_INCLUDE: &str = "systemd-sysv,udev,openssh-server,iproute2,kmod,netbase,dbus";

/// Packages every image gets on top of the base tree; kept small, tests add their own.
pub const BASE_PACKAGES: &[&str] = &["iputils-ping"];

/// Units that fail without kernel NFS support (no modules on these machines); containers only:
/// VMs have a kernel of their own that serves NFS.
const MASKED_UNITS: &[&str] = &[
    "proc-fs-nfsd.mount",
    "run-rpc_pipefs.mount",
    "nfs-server.service",
];

/// Units every host runs.
const ENABLED_UNITS: &[&str] = &["systemd-networkd.service", "ssh.service"];

/// Where each host's own sshd host key is bind-mounted, read-only.
pub(crate) const HOST_KEY_DIR: &str = "/etc/ssh/lab_host_keys";

/// The sshd drop-in: the per-host key only (so no image key is ever shared), key-only root login.
const SSHD_DROP_IN: &str = "# Written by the homelab lab: each host's key is bind-mounted here.\n\
    HostKey /etc/ssh/lab_host_keys/ssh_host_ed25519_key\n\
    PermitRootLogin prohibit-password\n\
    PasswordAuthentication no\n\
    KbdInteractiveAuthentication no\n";

/// The marker written last into a finished build.
const MARKER: &str = "image.json";

/// A finished image in the cache.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    /// `images/<key>` in the cache, the key being a hash of the package list and the recipe.
    pub(crate) dir: PathBuf,
}

impl Image {
    /// The root file system the hosts share (read-only under their overlays).
    pub(crate) fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// The private key root's `authorized_keys` accepts.
    pub(crate) fn private_key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    /// A VM image's root file system as an ext4 disk image (VMs boot overlays of it).
    pub(crate) fn disk(&self) -> PathBuf {
        self.dir.join("rootfs.ext4")
    }

    /// A VM image's kernel, taken out of the tree for QEMU's `-kernel`.
    pub(crate) fn kernel(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }

    /// A VM image's initrd, for QEMU's `-initrd`.
    pub(crate) fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.img")
    }
}

/// What an image was built from, written as its marker.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    recipe: u32,
    suite: String,
    mirror: String,
    packages: Vec<String>,
    build_seconds: f64,
}

/// The cache directory: `HOMELAB_LAB_CACHE`, else `<workspace>/target/lab-cache`.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("HOMELAB_LAB_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the acceptance-tests crate lives inside the workspace")
            .join("target")
            .join("lab-cache"),
    }
}

/// [`BASE_PACKAGES`] plus `extra`, sorted and deduplicated; rejects names apt would read as options.
pub(crate) fn package_list(extra: &[&str]) -> LabResult<Vec<String>> {
    let mut packages: Vec<String> = BASE_PACKAGES
        .iter()
        .chain(extra)
        .map(|name| name.to_string())
        .collect();
    for name in &packages {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:=~".contains(c));
        if !valid {
            return Err(LabError::InvalidSpec(format!(
                "bad Debian package name {name:?}"
            )));
        }
    }
    packages.sort();
    packages.dedup();
    Ok(packages)
}

/// The image for `packages` (from [`package_list`]) and `backend`, built now if the cache has
/// none. A QEMU image also gets [`vm_image::KERNEL_PACKAGES`].
pub(crate) fn ensure_image(
    cache: &Path,
    packages: &[String],
    backend: Backend,
) -> LabResult<Image> {
    let mut packages = packages.to_vec();
    let mut recipe = recipe_text();
    if backend == Backend::Qemu {
        packages.extend(vm_image::KERNEL_PACKAGES.iter().map(|p| p.to_string()));
        packages.sort();
        packages.dedup();
        // The container key stays exactly what it was, so cached container images stay valid.
        recipe.push_str(&format!("\nbackend qemu {}", vm_image::RECIPE_VERSION));
    }
    let key = cache_key(&format!("{recipe}\npackages {}", packages.join(" ")));
    let dir = build_atomically(&cache.join("images"), &key, |staging| {
        let started = Instant::now();
        let mirror = debian_mirror()?;
        let base = ensure_base(cache, &mirror)?;
        let rootfs = staging.join("rootfs");
        eprintln!("lab: building image {key} with {}", packages.join(" "));
        run(Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(base.join("rootfs"))
            .arg(&rootfs))?;
        install_packages(&rootfs, &packages)?;
        configure(&rootfs, backend)?;
        install_root_key(staging, &rootfs)?;
        if backend == Backend::Qemu {
            vm_image::make_disk(
                &rootfs,
                &Image {
                    dir: staging.to_path_buf(),
                },
            )?;
        }
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("lab: image {key} built in {seconds:.1} s");
        write_manifest(staging, &mirror, &packages, seconds)
    })?;
    Ok(Image { dir })
}

/// The debootstrap tree all images start from.
fn ensure_base(cache: &Path, mirror: &str) -> LabResult<PathBuf> {
    let key = cache_key(&recipe_text());
    build_atomically(&cache.join("base"), &key, |staging| {
        let started = Instant::now();
        eprintln!("lab: debootstrap {SUITE} from {mirror} (about 100 s, once)");
        run(Command::new("debootstrap")
            .arg("--variant=minbase")
            .arg(format!("--include={DEBOOTSTRAP_INCLUDE}"))
            .arg(SUITE)
            .arg(staging.join("rootfs"))
            .arg(mirror))?;
        // The downloaded .deb files are only needed once.
        run(chroot(&staging.join("rootfs")).args(["apt-get", "clean"]))?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("lab: base tree built in {seconds:.1} s");
        write_manifest(staging, mirror, &[], seconds)
    })
}

/// The recipe's identity, hashed into every cache key.
fn recipe_text() -> String {
    format!("recipe {RECIPE_VERSION}\nsuite {SUITE}\ninclude {DEBOOTSTRAP_INCLUDE}")
}

/// 16 hex digits of SHA-256: short enough for paths, long enough never to collide here.
fn cache_key(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Returns `parent/key`, first running `build` in a staging directory and renaming it there
/// unless a finished one exists. Builders of the same key serialize on `parent/key.lock`; staging
/// directories left by killed builds are removed (safely, mounts included) by the next builder.
fn build_atomically(
    parent: &Path,
    key: &str,
    build: impl FnOnce(&Path) -> LabResult<()>,
) -> LabResult<PathBuf> {
    let dir = parent.join(key);
    if dir.join(MARKER).is_file() {
        return Ok(dir);
    }
    fs::create_dir_all(parent).map_err(io_error("create directory", parent))?;
    let lock = open_lock(&parent.join(format!("{key}.lock")))?;
    if lock.try_lock().is_err() {
        eprintln!(
            "lab: waiting for another process building {}",
            dir.display()
        );
        lock.lock()
            .map_err(io_error("lock", parent.join(format!("{key}.lock"))))?;
    }
    if dir.join(MARKER).is_file() {
        return Ok(dir);
    }
    remove_staging(parent, key)?;
    // A directory without its marker was not made by this code; start over.
    remove_tree(&dir)?;
    let staging = parent.join(format!(".build-{key}-{}", std::process::id()));
    fs::create_dir(&staging).map_err(io_error("create directory", &staging))?;
    let built = build(&staging)
        .and_then(|()| fs::rename(&staging, &dir).map_err(io_error("rename into place", &staging)));
    if let Err(error) = built {
        let _ = remove_tree(&staging);
        return Err(error);
    }
    drop(lock);
    Ok(dir)
}

/// Removes staging directories of killed builds whose lock nobody holds (for `lab down`).
pub(crate) fn remove_interrupted_builds(cache: &Path) -> LabResult<()> {
    for layer in ["base", "images"] {
        let parent = cache.join(layer);
        let Ok(entries) = fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".lock") else {
                continue;
            };
            let lock = open_lock(&entry.path())?;
            if lock.try_lock().is_ok() {
                remove_staging(&parent, key)?;
            }
        }
    }
    Ok(())
}

fn remove_staging(parent: &Path, key: &str) -> LabResult<()> {
    let prefix = format!(".build-{key}-");
    for entry in fs::read_dir(parent)
        .map_err(io_error("list", parent))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            eprintln!("lab: removing interrupted build {}", entry.path().display());
            remove_tree(&entry.path())?;
        }
    }
    Ok(())
}

fn open_lock(path: &Path) -> LabResult<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_error("open lock file", path))
}

/// `chroot ROOTFS` with a clean, predictable environment for apt and systemctl.
pub(crate) fn chroot(rootfs: &Path) -> Command {
    let mut command = Command::new("chroot");
    command
        .arg(rootfs)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive");
    command
}

/// Installs `packages` with services kept from starting (policy-rc.d exits 101).
fn install_packages(rootfs: &Path, packages: &[String]) -> LabResult<()> {
    let policy = rootfs.join("usr/sbin/policy-rc.d");
    write_file(&policy, "#!/bin/sh\nexit 101\n", 0o755)?;
    run(chroot(rootfs).args(["apt-get", "-q", "update"]))?;
    run(chroot(rootfs)
        .args([
            "apt-get",
            "-q",
            "-y",
            "install",
            "--no-install-recommends",
            "--",
        ])
        .args(packages))?;
    run(chroot(rootfs).args(["apt-get", "clean"]))?;
    fs::remove_file(&policy).map_err(io_error("remove", &policy))
}

/// Makes the tree a lab host: fresh identity per boot, per-host sshd key, networkd and sshd on;
/// for containers the NFS units masked, for VMs the identity disk mounted.
fn configure(rootfs: &Path, backend: Backend) -> LabResult<()> {
    // An empty machine-id makes systemd take the random UUID nspawn passes (a new one per host).
    write_file(&rootfs.join("etc/machine-id"), "", 0o444)?;
    let dbus_id = rootfs.join("var/lib/dbus/machine-id");
    let _ = fs::remove_file(&dbus_id);
    std::os::unix::fs::symlink("/etc/machine-id", &dbus_id).map_err(io_error("link", &dbus_id))?;
    // Without /etc/hostname the host keeps the name nspawn gives it (debootstrap copies ours).
    let hostname = rootfs.join("etc/hostname");
    if hostname.exists() {
        fs::remove_file(&hostname).map_err(io_error("remove", &hostname))?;
    }
    let ssh_dir = rootfs.join("etc/ssh");
    for entry in fs::read_dir(&ssh_dir)
        .map_err(io_error("list", &ssh_dir))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            fs::remove_file(entry.path()).map_err(io_error("remove", entry.path()))?;
        }
    }
    write_file(&ssh_dir.join("sshd_config.d/lab.conf"), SSHD_DROP_IN, 0o644)?;
    let key_dir = rootfs.join(HOST_KEY_DIR.trim_start_matches('/'));
    fs::create_dir_all(&key_dir).map_err(io_error("create directory", &key_dir))?;
    match backend {
        Backend::Nspawn => {
            run(chroot(rootfs)
                .args(["systemctl", "mask"])
                .args(MASKED_UNITS))?;
        }
        Backend::Qemu => vm_image::configure(rootfs)?,
    }
    run(chroot(rootfs)
        .args(["systemctl", "enable"])
        .args(ENABLED_UNITS))?;
    Ok(())
}

/// Generates the lab key pair next to the tree and authorizes it for root.
fn install_root_key(staging: &Path, rootfs: &Path) -> LabResult<()> {
    let private_key = staging.join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "homelab-lab-root",
            "-f",
        ])
        .arg(&private_key))?;
    let public_key = fs::read_to_string(private_key.with_extension("pub"))
        .map_err(io_error("read", private_key.with_extension("pub")))?;
    let ssh_dir = rootfs.join("root/.ssh");
    fs::create_dir_all(&ssh_dir).map_err(io_error("create directory", &ssh_dir))?;
    set_mode(&ssh_dir, 0o700)?;
    write_file(&ssh_dir.join("authorized_keys"), &public_key, 0o600)
}

fn write_manifest(
    staging: &Path,
    mirror: &str,
    packages: &[String],
    seconds: f64,
) -> LabResult<()> {
    let manifest = Manifest {
        recipe: RECIPE_VERSION,
        suite: SUITE.to_owned(),
        mirror: mirror.to_owned(),
        packages: packages.to_vec(),
        build_seconds: (seconds * 10.0).round() / 10.0,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
    write_file(&staging.join(MARKER), &text, 0o644)
}

pub(crate) fn write_file(path: &Path, content: &str, mode: u32) -> LabResult<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_error("create directory", parent))?;
    }
    let _ = fs::remove_file(path);
    fs::write(path, content).map_err(io_error("write", path))?;
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> LabResult<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_error("chmod", path))
}

/// The cached images, with the packages each was built with (for `lab status`).
pub(crate) fn cached_images(cache: &Path) -> Vec<(String, Vec<String>)> {
    let Ok(entries) = fs::read_dir(cache.join("images")) else {
        return Vec::new();
    };
    let mut images: Vec<(String, Vec<String>)> = entries
        .flatten()
        .filter_map(|entry| {
            let text = fs::read_to_string(entry.path().join(MARKER)).ok()?;
            let manifest: Manifest = serde_json::from_str(&text).ok()?;
            Some((
                entry.file_name().to_string_lossy().into_owned(),
                manifest.packages,
            ))
        })
        .collect();
    images.sort();
    images
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_list_adds_the_base_set_sorts_and_deduplicates() {
        let packages = package_list(&["haproxy", "frr", "haproxy"]).unwrap();
        assert_eq!(packages, ["frr", "haproxy", "iputils-ping"]);
    }

    #[test]
    fn package_list_rejects_what_apt_would_read_as_an_option() {
        assert!(package_list(&["--allow-unauthenticated"]).is_err());
        assert!(package_list(&["a b"]).is_err());
        assert!(package_list(&["libc6=2.36-9"]).is_ok());
    }

    #[test]
    fn cache_keys_differ_by_package_list() {
        assert_ne!(cache_key("a"), cache_key("b"));
        assert_eq!(cache_key("a").len(), 16);
    }
}
