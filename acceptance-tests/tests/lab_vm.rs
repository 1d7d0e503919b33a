//! The lab's QEMU backend: VMs boot a kernel of their own from the shared image, answer the
//! system ssh client with their own pinned host keys, stay within their memory bound, come back
//! from a reboot with the same disk, and leave nothing on the machine when torn down.

use std::fs;
use std::time::{Duration, Instant};

use acceptance_tests::cli::require_tf_acc;
use acceptance_tests::lab::{Backend, Lab, LabSpec};

#[path = "lab/hosts.rs"]
mod hosts;

use hosts::{ip_listing, known_hosts_file, ssh, ssh_ok};

/// The packages of the NFS VM test, so both tests share one cached VM image.
const PACKAGES: &[&str] = &["nfs-kernel-server"];

/// Resident memory allowed per VM: at most 512 MiB of guest memory (about 440 MB is touched
/// after boot, up to 700 MB once the guest's page cache fills under NFS traffic), 128 MiB of
/// translation cache, and QEMU itself. Without the `tb-size` bound, TCG's cache alone approaches
/// 1 GiB.
const MAX_VM_RSS_KIB: u64 = 900 * 1024;

#[test]
fn vms_boot_their_own_kernel_answer_ssh_with_pinned_keys_reboot_and_leave_nothing_behind() {
    require_tf_acc();
    let started = Instant::now();
    let lab = Lab::up(LabSpec {
        hosts: 2,
        packages: PACKAGES,
        backend: Backend::Qemu,
        boot_timeout: Backend::Qemu.default_boot_timeout(),
    })
    .expect("bring up a lab of two VMs");
    eprintln!(
        "two VMs up in {:.1} s (image build included when the cache was cold)",
        started.elapsed().as_secs_f64()
    );
    let hosts = lab.hosts().to_vec();
    let (first, second) = (&hosts[0], &hosts[1]);
    assert_ne!(
        first.host_key, second.host_key,
        "every VM has its own host key"
    );

    let scratch = tempfile::tempdir().expect("a scratch directory");
    let known_hosts = known_hosts_file(
        scratch.path(),
        "known_hosts",
        &[(first, &first.host_key), (second, &second.host_key)],
    );
    let machine_kernel = fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    for host in &hosts {
        assert_eq!(ssh_ok(host, &known_hosts, "hostname"), host.name);
        let state = ssh(host, &known_hosts, "systemctl is-system-running --wait");
        let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
        let failed = ssh_ok(host, &known_hosts, "systemctl --failed --no-legend --plain");
        assert_eq!(state, "running", "{}: failed units:\n{failed}", host.name);

        // A kernel of its own: Debian's cloud kernel, whose modules load (the machine's kernel
        // has no modules and no NFS server), and the NFS units containers mask run.
        let kernel = ssh_ok(host, &known_hosts, "uname -r");
        assert!(kernel.ends_with("-cloud-amd64"), "{kernel}");
        assert_ne!(kernel, machine_kernel.trim());
        let filesystems = ssh_ok(
            host,
            &known_hosts,
            "modprobe nfsd && modprobe nfs && cat /proc/filesystems",
        );
        for wanted in ["nfsd", "nfs", "nfs4"] {
            assert!(
                filesystems
                    .lines()
                    .any(|l| l.split_whitespace().last() == Some(wanted)),
                "{wanted} missing from {}'s /proc/filesystems:\n{filesystems}",
                host.name
            );
        }
        assert_eq!(
            ssh_ok(host, &known_hosts, "systemctl is-active nfs-server"),
            "active"
        );
    }
    let machine_ids = hosts::assert_own_identities_checked_keys_and_a_network(
        &hosts,
        &known_hosts,
        scratch.path(),
        5,
    );

    let rss = lab.host_rss_kib();
    eprintln!("VM RSS: {rss:?} KiB");
    for (host, kib) in hosts.iter().zip(&rss) {
        assert!(*kib > 0, "{} has no QEMU process", host.name);
        assert!(
            *kib < MAX_VM_RSS_KIB,
            "{} takes {kib} KiB, more than {MAX_VM_RSS_KIB}",
            host.name
        );
    }

    // A reboot keeps the VM's disk and identity: a file written before is there after, under
    // the same host key and name, in a new boot.
    let boot_before = ssh_ok(first, &known_hosts, "cat /proc/sys/kernel/random/boot_id");
    ssh_ok(first, &known_hosts, "echo kept > /root/marker && sync");
    let rebooting = Instant::now();
    lab.reboot(first, Duration::from_secs(240))
        .expect("the VM comes back from a reboot");
    eprintln!("reboot took {:.1} s", rebooting.elapsed().as_secs_f64());
    assert_ne!(
        ssh_ok(first, &known_hosts, "cat /proc/sys/kernel/random/boot_id"),
        boot_before
    );
    assert_eq!(ssh_ok(first, &known_hosts, "cat /root/marker"), "kept");
    assert_eq!(ssh_ok(first, &known_hosts, "hostname"), first.name);
    assert_eq!(
        ssh_ok(first, &known_hosts, "cat /etc/machine-id"),
        machine_ids[0],
        "the machine id was committed to the VM's disk on its first boot"
    );

    let footprint = lab.footprint();
    assert_eq!(
        footprint.processes.len(),
        2,
        "one QEMU per VM: {footprint:?}"
    );
    let links_before = ip_listing(&["-o", "link", "show"]);
    for tap in &footprint.veths {
        assert!(
            links_before.contains(&format!(" {tap}:")),
            "tap {tap} missing: {links_before}"
        );
    }
    let tearing_down = Instant::now();
    lab.down().expect("tear the lab down");
    eprintln!(
        "teardown took {:.1} s",
        tearing_down.elapsed().as_secs_f64()
    );

    assert_eq!(footprint.remaining(), Vec::<String>::new(), "left behind");
    let links = ip_listing(&["-o", "link", "show"]);
    assert!(
        !links.contains(&format!(" {}:", footprint.bridge)),
        "bridge left: {links}"
    );
    for tap in &footprint.veths {
        assert!(
            !links.contains(&format!(" {tap}:")),
            "tap {tap} left: {links}"
        );
    }
    for process in &footprint.processes {
        assert!(!process.is_alive(), "QEMU process {} left", process.pid);
    }
}
