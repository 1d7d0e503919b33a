//! Test hosts for the acceptance tests: N Debian hosts with systemd, sshd, root key login and
//! their own host keys, on a private bridge, torn down without a trace.
//!
//! ```no_run
//! use acceptance_tests::lab::{Lab, LabSpec};
//!
//! let lab = Lab::up(LabSpec { hosts: 2, packages: &["haproxy"], ..LabSpec::default() }).unwrap();
//! for host in lab.hosts() {
//!     let output = lab.ssh(host).arg("hostname").output().unwrap();
//!     assert!(output.status.success());
//! }
//! lab.down().unwrap(); // or just drop it
//! ```
//!
//! The image is built once with debootstrap and cached (`HOMELAB_LAB_CACHE`, default
//! `<workspace>/target/lab-cache`), keyed by its package list. Each lab takes a slot: bridge
//! `br-hl<n>`, subnet 10.231.(77+n).0/24 (the machine's side is `.1`, host i is `.10+i`), and
//! records itself under [`run_dir`] before creating anything, so a lab whose process died is torn
//! down by the next [`Lab::up`] or by `lab down`. Labs in parallel threads or processes each get
//! their own slot.
//!
//! Containers are prepared to behave like real nodes where a node resource can tell: their
//! `/proc/sys/net` is writable (their network namespace is their own) and modprobe knows the
//! modules the kernel has built in (`modules.builtin` + depmod, when the image has kmod). They
//! are, on every machine, hosts without autofs and without an NFS client (no `/dev/autofs`, no
//! `nfs` in `/proc/filesystems`), so no test depends on what the machine's kernel offers;
//! automounts and NFS mounts run on the VMs.
//!
//! Hosts are systemd-nspawn containers by default; `backend: Backend::Qemu` makes them QEMU VMs
//! with a kernel of their own (for NFS), from the same image recipe, on the same bridge, described
//! by the same [`Host`] JSON:
//!
//! ```no_run
//! use acceptance_tests::lab::{Backend, Lab, LabSpec};
//!
//! let lab = Lab::up(LabSpec {
//!     hosts: 2,
//!     packages: &["nfs-kernel-server"],
//!     backend: Backend::Qemu,
//!     boot_timeout: Backend::Qemu.default_boot_timeout(),
//! })
//! .unwrap();
//! ```

mod boot;
mod cgroup;
mod error;
mod exec;
mod image;
mod mirror;
mod mounts;
mod network;
mod nspawn;
mod qemu;
mod state;
mod status;
mod teardown;
mod vm_image;

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::{LabError, LabResult};
pub use exec::{ProcessId, request_cancel};
pub use image::{BASE_PACKAGES, cache_dir};
pub use state::run_dir;
pub use status::{
    CachedImage, Footprint, HostStatus, LabStatus, RunStatus, down_all, down_run, down_stale,
    status,
};

use exec::{check_cancelled, require_program, require_root};
use image::{ensure_image, package_list};
use network::{MAX_HOSTS, Slot, check_route, create_bridge, create_host_link, create_tap};
use nspawn::HostFiles;
use state::{Machine, RunRecord, claim_slot, save};

/// How the hosts run. The JSON description of hosts is the same for every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// systemd-nspawn containers sharing one image under volatile overlays: real systemd, ~2 s to
    /// boot, about 25 MB of memory each (PSS plus tmpfs; 64 MB summed RSS); no kernel of their own
    /// (no NFS serving or mounting).
    #[default]
    Nspawn,
    /// QEMU VMs (TCG) booting Debian's cloud kernel from qcow2 overlays of one disk image: a real
    /// kernel (NFS serving and mounting, modules, reboots that keep the disk), about 30 s to boot
    /// alone and 1 to 2 minutes for several at once on two cores, about 460 MB resident each.
    Qemu,
}

impl Backend {
    /// How long hosts of this backend get to boot unless the spec says otherwise: VMs boot under
    /// emulation, and several at once share the machine's cores.
    pub fn default_boot_timeout(self) -> Duration {
        match self {
            Backend::Nspawn => Duration::from_secs(90),
            // Four VMs booting at once on two cores busy with other work took 200 s (measured).
            Backend::Qemu => Duration::from_secs(600),
        }
    }
}

/// What lab to bring up.
#[derive(Debug, Clone)]
pub struct LabSpec<'a> {
    /// How many hosts (1 to 200), named `host1`, `host2`, ...
    pub hosts: usize,
    /// Debian packages installed on top of [`BASE_PACKAGES`]; each distinct list is its own
    /// cached image, so tests should share lists.
    pub packages: &'a [&'a str],
    /// How the hosts run.
    pub backend: Backend,
    /// How long every host gets until its sshd answers; see [`Backend::default_boot_timeout`]
    /// (the default here is the containers').
    pub boot_timeout: Duration,
}

impl Default for LabSpec<'static> {
    fn default() -> Self {
        LabSpec {
            hosts: 1,
            packages: &[],
            backend: Backend::Nspawn,
            boot_timeout: Backend::Nspawn.default_boot_timeout(),
        }
    }
}

/// One test host, as printed by `lab up` and handed to tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The host name (`host1`, ...), also what `hostname` prints on it.
    pub name: String,
    /// Its address on the lab bridge.
    pub address: Ipv4Addr,
    /// sshd's port.
    pub port: u16,
    /// Its sshd host key in known_hosts form, `ssh-ed25519 AAAA...`; unique per host and lab.
    pub host_key: String,
    /// The user the key logs in as.
    pub user: String,
    /// The private key that user accepts.
    pub private_key_path: PathBuf,
}

/// A running lab; dropping it tears it down (errors are printed), [`Lab::down`] reports them.
#[derive(Debug)]
pub struct Lab {
    record: RunRecord,
    children: Vec<Option<Child>>,
    torn_down: bool,
}

impl Lab {
    /// Builds or reuses the image, claims a slot, creates the network and boots every host, and
    /// returns once each host's sshd answers. On any failure everything created is torn down.
    pub fn up(spec: LabSpec<'_>) -> LabResult<Lab> {
        require_root()?;
        let backend_programs = match spec.backend {
            Backend::Nspawn => NSPAWN_PROGRAMS,
            Backend::Qemu => QEMU_PROGRAMS,
        };
        for (program, package) in REQUIRED_PROGRAMS.iter().chain(backend_programs) {
            require_program(program, package)?;
        }
        if spec.hosts == 0 || spec.hosts > MAX_HOSTS {
            return Err(LabError::InvalidSpec(format!(
                "hosts must be 1 to {MAX_HOSTS}, not {}",
                spec.hosts
            )));
        }
        let packages = package_list(spec.packages)?;
        let image = ensure_image(&cache_dir(), &packages, spec.backend)?;
        check_cancelled()?;
        let record = claim_slot(|slot, dir| planned_record(slot, dir, &spec, &image))?;
        // From here on, dropping `lab` tears down whatever exists.
        let mut lab = Lab {
            record,
            children: Vec::new(),
            torn_down: false,
        };
        lab.start(spec.boot_timeout)?;
        Ok(lab)
    }

    /// The hosts, in order.
    pub fn hosts(&self) -> &[Host] {
        &self.record.hosts
    }

    /// The lab's id (`hl<n>`), the prefix of every name it creates.
    pub fn run_id(&self) -> &str {
        &self.record.run
    }

    /// The bridge the hosts hang off.
    pub fn bridge(&self) -> &str {
        &self.record.bridge
    }

    /// The machine's own address on the lab network.
    pub fn gateway(&self) -> Ipv4Addr {
        self.record.slot().gateway()
    }

    /// An address on the lab network that no host answers: connections to it time out.
    pub fn unreachable_address(&self) -> Ipv4Addr {
        self.record.slot().unreachable_address()
    }

    /// The private key root accepts on every host.
    pub fn private_key_path(&self) -> &Path {
        &self.record.hosts[0].private_key_path
    }

    /// A known_hosts file listing every host's address and key.
    pub fn known_hosts_path(&self) -> PathBuf {
        self.record.dir.join("known_hosts")
    }

    /// The system `ssh` client set up for `host` (lab key, the lab's known_hosts, strict host key
    /// checking, no agent, no config files); append the remote command with `.arg(...)`. Like any
    /// ssh, the remote side joins the arguments with spaces and runs them through the shell.
    pub fn ssh(&self, host: &Host) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(["-F", "/dev/null", "-i"])
            .arg(&host.private_key_path)
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts_path().display()
            ))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "LogLevel=ERROR",
                "-p",
            ])
            .arg(host.port.to_string())
            .arg(format!("{}@{}", host.user, host.address));
        command
    }

    /// How many logins `host`'s sshd has accepted (`Accepted publickey` lines of `journalctl -u
    /// ssh`), not counting the login this query makes (recognized by its source port); later
    /// queries do count it. One login is one SSH connection.
    pub fn accepted_ssh_logins(&self, host: &Host) -> LabResult<usize> {
        // --sync: journald has stored every message sshd sent before this command started.
        let script = "journalctl --sync; set -- $SSH_CLIENT; \
                      journalctl -u ssh -o cat --no-pager | grep 'Accepted publickey' \
                      | grep -vc \" port $2 ssh2\" || true";
        let stdout = exec::run(self.ssh(host).arg(script))?;
        stdout
            .trim()
            .parse()
            .map_err(|_| LabError::UnexpectedOutput {
                command: format!("journalctl -u ssh on {}", host.name),
                output: stdout.clone(),
                expected: "a count of accepted logins",
            })
    }

    /// The hosts as `lab up` prints them: a JSON array of [`Host`].
    pub fn hosts_json(&self) -> String {
        serde_json::to_string_pretty(&self.record.hosts).expect("hosts serialize")
    }

    /// Resident memory of each host's process tree (nspawn and everything in the container, or
    /// the VM's QEMU process), in KiB.
    pub fn host_rss_kib(&self) -> Vec<u64> {
        let tree = |m: &Machine| m.process.map_or(0, |p| p.tree_rss_kib());
        self.record.machines.iter().map(tree).collect()
    }

    /// Everything of the lab on the machine, to check afterwards that teardown removed it.
    pub fn footprint(&self) -> Footprint {
        Footprint::of(&self.record)
    }

    /// Reboots `host` (`systemctl reboot` over ssh) and waits until it answers again from a new
    /// boot. Only VMs reboot: a container's nspawn exits when its system reboots.
    pub fn reboot(&self, host: &Host, timeout: Duration) -> LabResult<()> {
        if self.record.backend != Backend::Qemu {
            return Err(LabError::InvalidSpec(
                "only QEMU hosts can reboot; a container's systemd-nspawn exits instead".to_owned(),
            ));
        }
        let index = self
            .record
            .hosts
            .iter()
            .position(|h| h == host)
            .ok_or_else(|| {
                LabError::InvalidSpec(format!("{} is not a host of this lab", host.name))
            })?;
        let boot_id = || {
            let output = self
                .ssh(host)
                .arg("cat /proc/sys/kernel/random/boot_id")
                .output()
                .ok()?;
            let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            (output.status.success() && !id.is_empty()).then_some(id)
        };
        let old_boot_id = boot_id().ok_or_else(|| LabError::UnexpectedOutput {
            command: format!("cat /proc/sys/kernel/random/boot_id on {}", host.name),
            output: String::new(),
            expected: "the current boot id",
        })?;
        // The connection may drop before ssh sees the exit status: what counts is the new boot.
        let _ = self.ssh(host).arg("systemctl reboot").output();
        boot::wait_for_new_boot(&self.record, index, &old_boot_id, boot_id, timeout)
    }

    /// Leaves the lab running after this process exits; `lab down` takes it down later.
    pub fn detach(mut self) -> Vec<Host> {
        self.record.detached = true;
        if let Err(error) = save(&self.record) {
            eprintln!("lab: could not mark {} detached: {error}", self.record.run);
        }
        self.torn_down = true;
        std::mem::take(&mut self.record.hosts)
    }

    /// Tears the lab down now and reports anything left behind.
    pub fn down(mut self) -> LabResult<()> {
        self.torn_down = true;
        teardown::teardown(&self.record, &mut self.children)
    }

    /// Creates the network and the per-host files, boots every host, waits for sshd.
    fn start(&mut self, boot_timeout: Duration) -> LabResult<()> {
        let slot = self.record.slot();
        let dir = self.record.dir.clone();
        fs::create_dir_all(&dir).map_err(error::io_error("create directory", &dir))?;
        check_cancelled()?;
        create_bridge(slot)?;
        let backend = self.record.backend;
        for index in 1..=self.record.hosts.len() {
            check_cancelled()?;
            match backend {
                Backend::Nspawn => create_host_link(slot, index)?,
                Backend::Qemu => create_tap(slot, index)?,
            }
            let host = &mut self.record.hosts[index - 1];
            let files = HostFiles {
                dir: dir.join(&host.name),
            };
            host.host_key = boot::write_host_key(&files, host)?;
            if backend == Backend::Nspawn {
                boot::write_network_file(&files, host)?;
            }
        }
        save(&self.record)?;
        for host in &self.record.hosts {
            check_route(host.address, &self.record.bridge)?;
        }
        boot::write_known_hosts(&self.known_hosts_path(), &self.record.hosts)?;
        for index in 0..self.record.hosts.len() {
            check_cancelled()?;
            let files = HostFiles {
                dir: dir.join(&self.record.hosts[index].name),
            };
            let machine = &self.record.machines[index];
            let child = match backend {
                Backend::Nspawn => nspawn::spawn(
                    &self.record.rootfs,
                    machine,
                    &self.record.hosts[index].name,
                    &files,
                )?,
                Backend::Qemu => qemu::spawn(&self.record, index, &files)?,
            };
            self.record.machines[index].process = ProcessId::of(child.id());
            self.children.push(Some(child));
            save(&self.record)?;
        }
        boot::wait_for_sshd(&self.record, &mut self.children, boot_timeout)?;
        if backend == Backend::Nspawn {
            for machine in &mut self.record.machines {
                machine.init = machine.process.and_then(nspawn::find_init);
            }
            save(&self.record)?;
            for host in &self.record.hosts {
                boot::prepare_container(&mut self.ssh(host))?;
            }
        }
        save(&self.record)?;
        check_cancelled()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.torn_down {
            return;
        }
        if let Err(error) = teardown::teardown(&self.record, &mut self.children) {
            eprintln!("lab: teardown of {} failed: {error}", self.record.run);
        }
    }
}

/// Programs the lab runs, with the Debian package of each.
const REQUIRED_PROGRAMS: &[(&str, &str)] = &[
    ("debootstrap", "debootstrap"),
    ("ip", "iproute2"),
    ("ssh-keygen", "openssh-client"),
    ("chroot", "coreutils"),
    ("umount", "mount"),
    ("ssh", "openssh-client"),
];

/// What the container backend runs besides [`REQUIRED_PROGRAMS`].
const NSPAWN_PROGRAMS: &[(&str, &str)] = &[("systemd-nspawn", "systemd-container")];

/// What the VM backend runs besides [`REQUIRED_PROGRAMS`].
const QEMU_PROGRAMS: &[(&str, &str)] = &[
    (qemu::QEMU, "qemu-system-x86"),
    ("qemu-img", "qemu-utils"),
    ("mkfs.ext4", "e2fsprogs"),
];

/// The record of a lab in `slot` before anything exists: every name it will create.
fn planned_record(slot: Slot, dir: &Path, spec: &LabSpec<'_>, image: &image::Image) -> RunRecord {
    let hosts = (1..=spec.hosts)
        .map(|index| Host {
            name: format!("host{index}"),
            address: slot.host_address(index),
            port: 22,
            host_key: String::new(),
            user: "root".to_owned(),
            private_key_path: image.private_key(),
        })
        .collect();
    let machines = (1..=spec.hosts)
        .map(|index| Machine {
            name: slot.netns(index),
            netns: slot.netns(index),
            veth: slot.veth(index),
            process: None,
            init: None,
        })
        .collect();
    RunRecord {
        run: slot.run_id(),
        slot: slot.0,
        bridge: slot.bridge(),
        owner: ProcessId::current(),
        detached: false,
        backend: spec.backend,
        rootfs: match spec.backend {
            Backend::Nspawn => image.rootfs(),
            Backend::Qemu => image.disk(),
        },
        dir: dir.to_path_buf(),
        hosts,
        machines,
    }
}
