//! Per-host files written before boot (sshd host key, network file, known_hosts), the wait
//! until every host's sshd answers, the container's preparation once it does, and the wait for a
//! host to come back from a reboot.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::Host;
use super::error::{LabError, LabResult, io_error};
use super::exec::{check_cancelled, run};
use super::nspawn::{HostFiles, console_tail};
use super::state::RunRecord;

/// How many console lines a boot error shows.
const CONSOLE_TAIL_LINES: usize = 40;

/// Writes `host`'s own sshd key pair; returns the public key in known_hosts form
/// (`ssh-ed25519 AAAA...`, without the comment).
pub(crate) fn write_host_key(files: &HostFiles, host: &Host) -> LabResult<String> {
    let keys = files.keys();
    fs::create_dir_all(&keys).map_err(io_error("create directory", &keys))?;
    fs::set_permissions(&keys, fs::Permissions::from_mode(0o700))
        .map_err(io_error("chmod", &keys))?;
    let private_key = keys.join("ssh_host_ed25519_key");
    let _ = fs::remove_file(&private_key);
    let _ = fs::remove_file(private_key.with_extension("pub"));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", &host.name, "-f"])
        .arg(&private_key))?;
    let public_key = private_key.with_extension("pub");
    let line = fs::read_to_string(&public_key).map_err(io_error("read", &public_key))?;
    let host_key = line
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    Ok(host_key)
}

/// Writes a container's systemd-networkd file (VMs get theirs from the kernel command line).
pub(crate) fn write_network_file(files: &HostFiles, host: &Host) -> LabResult<()> {
    let network = files.network();
    fs::create_dir_all(&network).map_err(io_error("create directory", &network))?;
    let network_file = network.join("10-lab.network");
    fs::write(&network_file, network_file_text(host.address))
        .map_err(io_error("write", &network_file))
}

/// A static address on the container's end of the veth pair, nothing else (no IPv6 chatter).
fn network_file_text(address: Ipv4Addr) -> String {
    format!(
        "[Match]\nName=eth0\n\n[Network]\nAddress={address}/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    )
}

/// Writes `ADDRESS KEY` for every host.
pub(crate) fn write_known_hosts(path: &Path, hosts: &[Host]) -> LabResult<()> {
    let text: String = hosts
        .iter()
        .map(|host| match host.port {
            22 => format!("{} {}\n", host.address, host.host_key),
            port => format!("[{}]:{port} {}\n", host.address, host.host_key),
        })
        .collect();
    fs::write(path, text).map_err(io_error("write", path))
}

/// Waits until every host's sshd sends its banner; fails early when a host's process exits, and
/// with the console's tail when `timeout` passes.
pub(crate) fn wait_for_sshd(
    record: &RunRecord,
    children: &mut [Option<Child>],
    timeout: Duration,
) -> LabResult<()> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<usize> = (0..record.hosts.len()).collect();
    while !pending.is_empty() {
        check_cancelled()?;
        let mut still_pending = Vec::new();
        for index in pending {
            let host = &record.hosts[index];
            let console = HostFiles {
                dir: record.dir.join(&host.name),
            }
            .console();
            if let Some(Some(child)) = children.get_mut(index)
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(LabError::HostExited {
                    host: host.name.clone(),
                    status: status.to_string(),
                    console_tail: console_tail(&console, CONSOLE_TAIL_LINES),
                });
            }
            if !sshd_answers(SocketAddr::from((host.address, host.port))) {
                still_pending.push(index);
            }
        }
        pending = still_pending;
        if let Some(&index) = pending.first()
            && Instant::now() >= deadline
        {
            let host = &record.hosts[index];
            return Err(LabError::BootTimeout {
                host: host.name.clone(),
                address: host.address,
                seconds: timeout.as_secs(),
                console_tail: console_tail(
                    &HostFiles {
                        dir: record.dir.join(&host.name),
                    }
                    .console(),
                    CONSOLE_TAIL_LINES,
                ),
            });
        }
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// Makes a container behave like a Debian node where a node resource can tell, once its sshd
/// answers (`ssh` is the lab's client for the host; the script is appended):
/// - `/proc/sys/net` writable: the container's network namespace is its own, but nspawn makes
///   its network sysctls writable only when it creates the namespace itself
///   (`--private-network`), and the environment switch that does so for ours also hides the
///   real `/sys`. Everything else in `/proc/sys` stays read-only, so a `vm.*` value is really
///   refused.
/// - modprobe knowing a kernel: the image has no module files; like a Debian kernel package,
///   `/lib/modules/$(uname -r)/modules.builtin` lists overlay, bridge and br_netfilter as built
///   in (the kernels of these machines have them built in, but the list is fixed rather than
///   read from the machine, so a container answers the same on every machine) and depmod runs
///   when the image has kmod. Those modules then "load", an unknown one fails, as on a real
///   host; loading and unloading for real is the VMs' job.
/// - no NFS client, on every machine: a machine kernel with NFS built in would list `nfs` in
///   the `/proc/filesystems` its containers share; a filtered copy is bound over it, so a
///   container answers "no NFS client" the same way everywhere (NFS is tested on the QEMU VMs).
pub(crate) fn prepare_container(ssh: &mut Command) -> LabResult<()> {
    run(ssh.arg(PREPARE_CONTAINER)).map(drop)
}

/// The script of [`prepare_container`]; it takes no input.
const PREPARE_CONTAINER: &str = "set -e
mount --bind /proc/sys/net /proc/sys/net; mount -o remount,bind,rw /proc/sys/net
d=/lib/modules/$(uname -r); mkdir -p \"$d\"
printf '%s\\n' kernel/fs/overlayfs/overlay.ko kernel/net/bridge/bridge.ko \\
  kernel/net/bridge/br_netfilter.ko > \"$d/modules.builtin\"
if command -v depmod >/dev/null; then depmod 2>/dev/null; fi
if grep -qwE 'nfs4?' /proc/filesystems; then
  grep -vwE 'nfs4?' /proc/filesystems > /run/homelab-filesystems
  mount --bind /run/homelab-filesystems /proc/filesystems
fi";

/// After a reboot was requested on host `index`: waits until `boot_id` (run on the host, e.g.
/// over ssh) returns something other than `old_boot_id`, failing early when the host's process
/// is gone and with the console's tail after `timeout`.
pub(crate) fn wait_for_new_boot(
    record: &RunRecord,
    index: usize,
    old_boot_id: &str,
    boot_id: impl Fn() -> Option<String>,
    timeout: Duration,
) -> LabResult<()> {
    let deadline = Instant::now() + timeout;
    let host = &record.hosts[index];
    let console = HostFiles {
        dir: record.dir.join(&host.name),
    }
    .console();
    loop {
        check_cancelled()?;
        if !record.machines[index].process.is_some_and(|p| p.is_alive()) {
            return Err(LabError::HostExited {
                host: host.name.clone(),
                status: "gone while rebooting".to_owned(),
                console_tail: console_tail(&console, CONSOLE_TAIL_LINES),
            });
        }
        let answered = sshd_answers(SocketAddr::from((host.address, host.port)));
        if answered && boot_id().is_some_and(|id| id != old_boot_id) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(LabError::BootTimeout {
                host: host.name.clone(),
                address: host.address,
                seconds: timeout.as_secs(),
                console_tail: console_tail(&console, CONSOLE_TAIL_LINES),
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Whether an SSH server greets us at `address` (its banner starts with `SSH-`).
fn sshd_answers(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(300)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut banner = [0u8; 4];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-"
}
