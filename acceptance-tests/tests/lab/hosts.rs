//! What the lab tests of both backends share: the system ssh client pointed at a host with
//! only the given known_hosts, and the checks every backend's hosts must pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use acceptance_tests::lab::Host;

/// Runs `remote` on `host` with the system ssh client, trusting only `known_hosts`.
pub(crate) fn ssh(host: &Host, known_hosts: &Path, remote: &str) -> Output {
    Command::new("ssh")
        .args(["-F", "/dev/null", "-i"])
        .arg(&host.private_key_path)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-p",
        ])
        .arg(host.port.to_string())
        .arg(format!("{}@{}", host.user, host.address))
        .arg(remote)
        .output()
        .expect("the system ssh client runs")
}

/// Runs `remote` on `host` and returns its stdout, failing the test on a non-zero exit.
pub(crate) fn ssh_ok(host: &Host, known_hosts: &Path, remote: &str) -> String {
    let output = ssh(host, known_hosts, remote);
    assert!(
        output.status.success(),
        "`{remote}` on {} failed ({}): {}",
        host.name,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A known_hosts file named `name` in `dir` pairing each host's address with the given key.
pub(crate) fn known_hosts_file(dir: &Path, name: &str, lines: &[(&Host, &str)]) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines
        .iter()
        .map(|(host, key)| format!("{} {key}\n", host.address))
        .collect();
    fs::write(&path, text).expect("write known_hosts");
    path
}

/// What `ip` lists now, to check teardown independently of the lab's own bookkeeping.
pub(crate) fn ip_listing(arguments: &[&str]) -> String {
    let output = Command::new("ip")
        .args(arguments)
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Checks what every lab backend promises of two hosts booted from one image: their own
/// identities (machine IDs), host keys that ssh really checks (with the two keys swapped it
/// refuses both), and a network between them (`ping` waits at most `ping_wait` seconds).
/// Returns the machine IDs.
pub(crate) fn assert_own_identities_checked_keys_and_a_network(
    hosts: &[Host],
    known_hosts: &Path,
    scratch: &Path,
    ping_wait: u32,
) -> Vec<String> {
    let (first, second) = (&hosts[0], &hosts[1]);
    let machine_ids: Vec<String> = hosts
        .iter()
        .map(|host| ssh_ok(host, known_hosts, "cat /etc/machine-id"))
        .collect();
    assert_ne!(
        machine_ids[0], machine_ids[1],
        "hosts share one image but not one identity"
    );

    let swapped = known_hosts_file(
        scratch,
        "swapped",
        &[(first, &second.host_key), (second, &first.host_key)],
    );
    for host in hosts {
        let output = ssh(host, &swapped, "true");
        assert!(
            !output.status.success(),
            "ssh accepted a wrong host key for {}",
            host.name
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("HOST IDENTIFICATION HAS CHANGED"),
            "{stderr}"
        );
    }

    for (from, to) in [(first, second), (second, first)] {
        ssh_ok(
            from,
            known_hosts,
            &format!("ping -c 1 -W {ping_wait} {}", to.address),
        );
    }
    machine_ids
}
