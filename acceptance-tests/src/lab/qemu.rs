//! The QEMU backend: each host is a VM with a kernel of its own (so NFS can be served and
//! mounted), booting the image's kernel and a qcow2 overlay of its disk, on a tap on the lab
//! bridge, with its serial console in a file.
//!
//! TCG only: these machines have no working KVM (QEMU with KVM hangs there). A VM comes up in
//! about 30 s alone and within a minute or two when several boot at once on two cores.

use std::ffi::OsString;
use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::Host;
use super::error::{LabResult, io_error};
use super::exec::{ProcessId, run};
use super::image::Image;
use super::nspawn::HostFiles;
use super::state::RunRecord;
use super::vm_image;

/// The program that runs the VMs (Debian package qemu-system-x86).
pub(crate) const QEMU: &str = "qemu-system-x86_64";

/// Memory of each VM. About 460 MB of it ends up resident on the machine once the VM has booted.
pub(crate) const MEMORY_MIB: u32 = 512;

/// The size of TCG's translation cache. QEMU's default for a VM of this size is about 1 GiB,
/// which the VM then keeps resident; 128 MiB costs no measurable boot time.
const TRANSLATION_CACHE_MIB: u32 = 128;

/// How long VMs get to exit after SIGTERM before they are killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// What one VM is started with.
struct Launch<'a> {
    /// The lab-wide machine name (`hl3-host1`), QEMU's `-name`, by which teardown finds it.
    machine: &'a str,
    kernel: &'a Path,
    initrd: &'a Path,
    /// The VM's own qcow2 overlay on the image's disk.
    overlay: &'a Path,
    /// The read-only disk with the VM's sshd host key.
    identity: &'a Path,
    console: &'a Path,
    tap: &'a str,
    mac: &'a str,
    command_line: String,
}

/// The image a QEMU lab boots: its record names the image's disk, which lives in the image's
/// directory beside the kernel and initrd.
fn image_of(record: &RunRecord) -> Image {
    Image {
        dir: record
            .rootfs
            .parent()
            .map_or_else(PathBuf::new, Path::to_path_buf),
    }
}

/// Makes host `index`'s overlay and identity disk, then starts its VM. QEMU's own messages go to
/// the console file too, so a VM that fails to start shows why in the boot error.
///
/// The VM gets its own process group, so a Ctrl-C meant for the caller reaches the caller alone,
/// which then tears the lab down in order.
pub(crate) fn spawn(record: &RunRecord, index: usize, files: &HostFiles) -> LabResult<Child> {
    let image = image_of(record);
    let host = &record.hosts[index];
    let machine = &record.machines[index];
    let disk = image.disk();
    // The overlay records its backing file's path as given: make it absolute.
    let disk = disk.canonicalize().map_err(io_error("resolve", &disk))?;
    let overlay = files.dir.join("disk.qcow2");
    run(Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
        .arg(&disk)
        .arg(&overlay))?;
    let identity = files.dir.join("identity.img");
    vm_image::make_identity_disk(&files.keys(), &identity)?;

    let console_path = files.console();
    let console = File::options()
        .create(true)
        .append(true)
        .open(&console_path)
        .map_err(io_error("create", &console_path))?;
    let console_err = console
        .try_clone()
        .map_err(io_error("duplicate", &console_path))?;
    let mac = record.slot().mac_address(index + 1);
    let launch = Launch {
        machine: &machine.name,
        kernel: &image.kernel(),
        initrd: &image.initrd(),
        overlay: &overlay,
        identity: &identity,
        console: &console_path,
        tap: &machine.veth,
        mac: &mac,
        command_line: kernel_command_line(host),
    };
    Command::new(QEMU)
        .args(arguments(&launch))
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(console_err)
        .process_group(0)
        .spawn()
        .map_err(io_error("start qemu for", &overlay))
}

/// The kernel command line: root on the first disk, the serial console, and the host's identity
/// (`ip=` becomes a networkd file through systemd-network-generator; no gateway, as the lab has
/// no default route). `systemd.firstboot=no`: the image's machine-id is empty, so the first boot
/// is a "first boot", and systemd-firstboot must not wait for answers on a console nobody reads.
/// `no_timer_check`: the kernel's early check that the timer interrupt arrives through the
/// IO-APIC gives up after a few emulated ticks; with eight VMs under emulation on two busy
/// cores it gave up and panicked ("IO-APIC + timer doesn't work!", seen here), so, as cloud
/// images for VMs do, the check is skipped.
fn kernel_command_line(host: &Host) -> String {
    let netmask = Ipv4Addr::new(255, 255, 255, 0);
    format!(
        "console=ttyS0 root=/dev/vda rw net.ifnames=0 ip={}:::{netmask}::eth0:off \
         systemd.hostname={} systemd.firstboot=no no_timer_check",
        host.address, host.name
    )
}

/// QEMU's arguments for `launch`. No `-no-reboot`: a VM that reboots comes back on the same
/// overlay, as a real machine keeps its disk.
fn arguments(launch: &Launch<'_>) -> Vec<OsString> {
    let mut arguments: Vec<OsString> = Vec::new();
    let mut add = |values: &[&str]| arguments.extend(values.iter().map(OsString::from));
    add(&["-name", launch.machine]);
    // Only the devices listed here: no default NIC, VGA, monitor or parallel port.
    add(&["-nodefaults", "-display", "none", "-monitor", "none"]);
    add(&[
        "-accel",
        &format!("tcg,thread=multi,tb-size={TRANSLATION_CACHE_MIB}"),
        "-cpu",
        "max",
        "-smp",
        "1",
        "-m",
        &MEMORY_MIB.to_string(),
    ]);
    add(&["-kernel", &path_text(launch.kernel)]);
    add(&["-initrd", &path_text(launch.initrd)]);
    add(&["-append", &launch.command_line]);
    add(&[
        "-drive",
        &format!(
            "file={},format=qcow2,if=virtio",
            option_value(launch.overlay)
        ),
    ]);
    add(&[
        "-drive",
        &format!(
            "file={},format=raw,if=virtio,readonly=on",
            option_value(launch.identity)
        ),
    ]);
    add(&[
        "-netdev",
        &format!("tap,id=lab,ifname={},script=no,downscript=no", launch.tap),
    ]);
    add(&[
        "-device",
        &format!("virtio-net-pci,netdev=lab,mac={}", launch.mac),
    ]);
    // Entropy for the guest's sshd and NFS right after boot.
    add(&["-device", "virtio-rng-pci"]);
    // Appending: QEMU's own stderr goes to the same file.
    add(&[
        "-chardev",
        &format!(
            "file,id=console,path={},append=on",
            option_value(launch.console)
        ),
        "-serial",
        "chardev:console",
    ]);
    arguments
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

/// A path inside a QEMU `key=value,...` option, with commas doubled as QEMU requires.
fn option_value(path: &Path) -> String {
    path_text(path).replace(',', ",,")
}

/// Stops every VM of `record`: SIGTERM (QEMU exits at once), SIGKILL for any still running after
/// [`EXIT_GRACE`]. Finds the VMs by the record and independently by command line, so a run killed
/// before it saved a PID is still stopped. Problems are appended to `problems`.
pub(crate) fn stop(record: &RunRecord, children: &mut [Option<Child>], problems: &mut Vec<String>) {
    let mut vms: Vec<ProcessId> = record.machines.iter().filter_map(|m| m.process).collect();
    for found in qemu_processes(&record.run) {
        if !vms.contains(&found) {
            vms.push(found);
        }
    }
    for vm in &vms {
        vm.signal(Signal::SIGTERM);
    }
    if !wait_for_exit(&vms, EXIT_GRACE) {
        for vm in &vms {
            vm.signal(Signal::SIGKILL);
        }
        if !wait_for_exit(&vms, Duration::from_secs(5)) {
            problems.push(format!("QEMU processes of {} still running", record.run));
        }
    }
    for child in children.iter_mut().flatten() {
        let _ = child.try_wait();
    }
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

/// QEMU processes started for a VM of run `run` (their `-name <run>-...`).
pub(crate) fn qemu_processes(run: &str) -> Vec<ProcessId> {
    let wanted = format!("{run}-");
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let arguments: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            is_vm_of(&arguments, &wanted)
        })
        .filter_map(ProcessId::of)
        .collect()
}

/// Whether a command line is QEMU's with a `-name` starting with `prefix`.
fn is_vm_of(arguments: &[String], prefix: &str) -> bool {
    let is_qemu = arguments.first().is_some_and(|a| a.ends_with(QEMU));
    is_qemu
        && arguments
            .windows(2)
            .any(|pair| pair[0] == "-name" && pair[1].starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            name: "host2".to_owned(),
            address: Ipv4Addr::new(10, 231, 80, 12),
            port: 22,
            host_key: String::new(),
            user: "root".to_owned(),
            private_key_path: PathBuf::from("/k"),
        }
    }

    #[test]
    fn the_command_line_carries_the_hosts_address_and_name_without_a_gateway() {
        let line = kernel_command_line(&host());
        assert!(line.contains(" ip=10.231.80.12:::255.255.255.0::eth0:off "));
        assert!(line.contains(" systemd.hostname=host2 "));
        assert!(line.contains("root=/dev/vda rw"));
    }

    #[test]
    fn commas_in_paths_are_doubled_inside_options() {
        let launch = Launch {
            machine: "hl1-host1",
            kernel: Path::new("/cache/vmlinuz"),
            initrd: Path::new("/cache/initrd.img"),
            overlay: Path::new("/run/a,b/disk.qcow2"),
            identity: Path::new("/run/x/identity.img"),
            console: Path::new("/run/x/console.log"),
            tap: "hl1h1",
            mac: "52:54:00:e7:01:01",
            command_line: "console=ttyS0".to_owned(),
        };
        let arguments: Vec<String> = arguments(&launch)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert!(arguments.contains(&"file=/run/a,,b/disk.qcow2,format=qcow2,if=virtio".to_owned()));
        assert!(!arguments.iter().any(|a| a == "-no-reboot"));
        assert!(is_vm_of(
            &[&["qemu-system-x86_64".to_owned()], &arguments[..]].concat(),
            "hl1-"
        ));
        assert!(!is_vm_of(
            &[&["/usr/bin/qemu-system-x86_64".to_owned()], &arguments[..]].concat(),
            "hl11-"
        ));
    }
}
