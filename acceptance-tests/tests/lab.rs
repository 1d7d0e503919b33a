//! The test-host lab itself: hosts boot systemd, answer the system ssh client with their own host
//! keys, reach each other, and leave nothing on the machine when torn down.

use std::fs;
use std::thread;

use acceptance_tests::cli::require_tf_acc;
use acceptance_tests::lab::{Lab, LabSpec};

#[path = "lab/hosts.rs"]
mod hosts;

use hosts::{ip_listing, known_hosts_file, ssh, ssh_ok};

#[test]
fn lab_hosts_boot_answer_ssh_with_their_own_keys_and_leave_nothing_behind() {
    require_tf_acc();
    let lab = Lab::up(LabSpec {
        hosts: 2,
        ..LabSpec::default()
    })
    .expect("bring up a lab of two hosts");
    let hosts = lab.hosts().to_vec();
    let (first, second) = (&hosts[0], &hosts[1]);
    assert_ne!(
        first.host_key, second.host_key,
        "every host has its own host key"
    );
    assert_ne!(first.address, second.address);

    let scratch = tempfile::tempdir().expect("a scratch directory");
    let known_hosts = known_hosts_file(
        scratch.path(),
        "known_hosts",
        &[(first, &first.host_key), (second, &second.host_key)],
    );
    for host in &hosts {
        assert_eq!(ssh_ok(host, &known_hosts, "hostname"), host.name);
        let state = ssh(host, &known_hosts, "systemctl is-system-running --wait");
        let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
        if state == "degraded" {
            let failed = ssh_ok(host, &known_hosts, "systemctl --failed --no-legend --plain");
            eprintln!("{} is degraded; failed units:\n{failed}", host.name);
        }
        assert!(
            state == "running" || state == "degraded",
            "{} reports system state {state:?}",
            host.name
        );
    }
    hosts::assert_own_identities_checked_keys_and_a_network(
        &hosts,
        &known_hosts,
        scratch.path(),
        2,
    );

    let footprint = lab.footprint();
    assert!(
        footprint.processes.len() > 2,
        "the footprint holds the host processes: {footprint:?}"
    );
    lab.down().expect("tear the lab down");

    assert_eq!(footprint.remaining(), Vec::<String>::new(), "left behind");
    let links = ip_listing(&["-o", "link", "show"]);
    let namespaces = ip_listing(&["netns", "list"]);
    assert!(
        !links.contains(&format!("{}:", footprint.bridge)),
        "bridge left: {links}"
    );
    for veth in &footprint.veths {
        assert!(
            !links.contains(&format!("{veth}@")),
            "veth {veth} left: {links}"
        );
    }
    for netns in &footprint.netns {
        assert!(
            !namespaces
                .lines()
                .any(|line| line.split_whitespace().next() == Some(netns)),
            "netns {netns} left: {namespaces}"
        );
    }
    for process in &footprint.processes {
        assert!(!process.is_alive(), "process {} left", process.pid);
    }
}

#[test]
fn labs_brought_up_at_once_get_their_own_bridges_and_subnets() {
    require_tf_acc();
    let labs: Vec<Lab> = thread::scope(|scope| {
        let starts: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| Lab::up(LabSpec::default()).expect("bring up a one-host lab")))
            .collect();
        starts
            .into_iter()
            .map(|start| start.join().expect("no panic"))
            .collect()
    });
    assert_ne!(labs[0].bridge(), labs[1].bridge());
    assert_ne!(labs[0].hosts()[0].address, labs[1].hosts()[0].address);
    assert_ne!(labs[0].hosts()[0].host_key, labs[1].hosts()[0].host_key);
    for lab in &labs {
        let host = &lab.hosts()[0];
        let output = lab.ssh(host).arg("hostname").output().expect("ssh runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), host.name);
    }
    let footprints: Vec<_> = labs.iter().map(Lab::footprint).collect();
    drop(labs);
    for footprint in footprints {
        assert_eq!(footprint.remaining(), Vec::<String>::new(), "left behind");
    }
}

/// Regression: nspawn started without systemd on the machine put every container under one
/// cgroup, so hosts shared `system.slice/ssh.service` and the like, and units failed at random
/// with 219/CGROUP. Each host's sshd must sit in a cgroup no other host's process uses.
#[test]
fn lab_hosts_do_not_share_their_units_cgroups() {
    require_tf_acc();
    let lab = Lab::up(LabSpec {
        hosts: 2,
        ..LabSpec::default()
    })
    .expect("bring up a lab of two hosts");
    let mut cgroup_to_netns: Vec<(String, String)> = Vec::new();
    for process in lab.footprint().processes {
        let read = |file: &str| fs::read_to_string(format!("/proc/{}/{file}", process.pid));
        if read("comm").is_ok_and(|comm| comm.trim() == "sshd") {
            let cgroups = read("cgroup").unwrap_or_default();
            let unified = cgroups
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .unwrap_or_default();
            let netns = fs::read_link(format!("/proc/{}/ns/net", process.pid)).expect("netns link");
            cgroup_to_netns.push((unified.to_owned(), netns.display().to_string()));
        }
    }
    assert!(
        cgroup_to_netns.len() >= 2,
        "one sshd per host: {cgroup_to_netns:?}"
    );
    for (cgroup, netns) in &cgroup_to_netns {
        assert!(cgroup.ends_with("/ssh.service"), "{cgroup}");
        assert!(
            cgroup_to_netns
                .iter()
                .all(|(c, n)| c != cgroup || n == netns),
            "hosts share {cgroup}: {cgroup_to_netns:?}"
        );
    }
    lab.down().expect("tear the lab down");
}
