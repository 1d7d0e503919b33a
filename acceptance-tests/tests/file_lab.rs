//! `homelab_file` and `data.homelab_node` on nspawn lab hosts (real systemd, sshd and host keys
//! on a private bridge): the shared test bodies of `acceptance_tests::host_tests`, plus what only
//! a lab shows: another host's key refused, an address nothing answers, the hosts' own sshd logs,
//! and a provider killed mid-apply.

use std::cell::Cell;
use std::time::Duration;

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir, require_tf_acc};
use acceptance_tests::host_tests;
use acceptance_tests::lab::{Host, Lab, LabSpec};
use acceptance_tests::ssh_host::{TestHost, hcl_string};
use acceptance_tests::steps::{Step, TestCase};

/// A lab of `hosts` hosts with the default image (the one `tests/lab.rs` uses too).
fn lab(hosts: usize) -> Lab {
    require_tf_acc();
    Lab::up(LabSpec {
        hosts,
        ..LabSpec::default()
    })
    .expect("bring up the lab")
}

/// A lab host as the shared test bodies see it.
fn test_host(host: &Host) -> TestHost {
    TestHost::new(
        host.address.to_string(),
        host.port,
        host.host_key.clone(),
        host.user.clone(),
        host.private_key_path.clone(),
    )
}

/// Logins sshd accepted on each of `hosts` (`journalctl -u ssh` on the host), not counting the
/// logins of these reads themselves: each read leaves out its own login and subtracts the reads
/// before it.
fn sshd_logins<'a>(lab: &'a Lab, hosts: &'a [Host]) -> impl Fn() -> Vec<usize> + 'a {
    let earlier_reads = Cell::new(0);
    move || {
        let counts = hosts
            .iter()
            .map(|host| {
                let logins = lab.accepted_ssh_logins(host).expect("read sshd's log");
                logins - earlier_reads.get()
            })
            .collect();
        earlier_reads.set(earlier_reads.get() + 1);
        counts
    }
}

#[test]
fn file_full_step_loop_on_a_lab_host() {
    let lab = lab(1);
    host_tests::file_full_step_loop(&test_host(&lab.hosts()[0]));
}

#[test]
fn file_round_trips_hostile_paths_and_content_on_a_lab_host() {
    let lab = lab(1);
    host_tests::file_round_trips_hostile_paths_and_content(&test_host(&lab.hosts()[0]));
}

#[test]
fn node_facts_on_a_lab_host_match_the_host() {
    let lab = lab(1);
    let host = &lab.hosts()[0];
    let test_host = test_host(host);
    assert_eq!(test_host.fact("hostname"), host.name);
    host_tests::node_facts_match_the_host(&test_host);
}

/// Pinning host1's key while connecting to host2 (two real hosts, two real keys) is refused
/// with host2's fingerprint and the line that would pin it.
#[test]
fn another_hosts_pinned_key_is_refused_with_the_real_fingerprint() {
    let lab = lab(2);
    let (first, second) = (&lab.hosts()[0], &lab.hosts()[1]);
    host_tests::file_with_pinned_host_key(&test_host(second), &first.host_key);
}

/// known_hosts records host1's key for host2's address, as it would after host2 was rebuilt (or
/// is being impersonated): the plan fails naming host2, its real fingerprint and how to repair
/// known_hosts, the state and the file on the host stay as they were, and sshd never accepted a
/// login (the key is checked before authentication).
#[test]
fn a_changed_host_key_in_known_hosts_is_refused_before_logging_in() {
    let lab = lab(2);
    let hosts = lab.hosts().to_vec();
    let (first, second) = (&hosts[0], &hosts[1]);
    let host = test_host(second);
    let workdir = Workdir::new("changed_host_key");
    let known_hosts = workdir.config_dir().join("known_hosts");
    let provider = host.provider_block(&known_hosts, "");
    let path = format!("{}/changed-key", host.make_temp_dir());
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{provider}\nresource \"homelab_file\" \"f\" {{\n  host    = {}\n  \
         path    = {}\n  content = \"before the key changed\\n\"\n}}\n",
        hcl_string(host.id_host()),
        hcl_string(&path),
    );
    let logins = sshd_logins(&lab, std::slice::from_ref(second));
    workdir.write_file("known_hosts", &format!("{}\n", host.known_hosts_line()));
    let fingerprint = host.fingerprint();
    let changed_key_line = format!("{} {}\n", second.address, first.host_key);
    TestCase::new("changed_host_key")
        .step(Step::apply(config, |_| {
            assert_eq!(
                host.read_file(&path).as_deref(),
                Some(&b"before the key changed\n"[..])
            );
        }))
        .step(Step::drift(
            || {
                workdir.write_file("known_hosts", &changed_key_line);
                let state = workdir.show_state_json();
                let before = logins();
                workdir.expect_errors(
                    Command::Plan,
                    &[
                        "SSH host key not trusted",
                        &format!("the host key of {}:22 has changed", second.address),
                        &fingerprint,
                        &format!("-R '{}'", second.address),
                        &format!("host_key = \"{}\"", second.host_key),
                    ],
                );
                assert_eq!(logins(), before, "sshd accepted a login with a changed key");
                assert!(
                    workdir.show_state_json() == state,
                    "the failed plan changed the state"
                );
                assert_eq!(
                    host.read_file(&path).as_deref(),
                    Some(&b"before the key changed\n"[..])
                );
                // The operator checks the fingerprint on the host and trusts the new key; the
                // drift step then demands that nothing else changed.
                workdir.write_file("known_hosts", &format!("{}\n", host.known_hosts_line()));
                host.write_file(&path, b"edited while the key was distrusted\n");
            },
            "edited while the key was distrusted",
        ))
        .check_destroyed(|| assert!(!host.exists(&path)))
        .run_in(&workdir);
}

/// The lab's unreachable address (on the bridge, no host: the SYN is never answered) and a
/// closed port on a real host.
#[test]
fn unreachable_lab_addresses_fail_fast() {
    let lab = lab(1);
    let host = &lab.hosts()[0];
    let unreachable = lab.unreachable_address().to_string();
    let address = host.address.to_string();
    host_tests::unreachable_hosts_fail_fast(&test_host(host), (&unreachable, 22), (&address, 2222));
}

/// Measured against a plan that reaches a real host: a plan that cannot reach its host takes
/// connect_timeout longer, not more, and says which host, why, and which timeout.
#[test]
fn an_unreachable_host_fails_within_connect_timeout() {
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    const SLACK: Duration = Duration::from_millis(2500);
    let lab = lab(1);
    let host = test_host(&lab.hosts()[0]);
    let workdir = Workdir::new("unreachable_within_timeout");
    let known_hosts = host_tests::hashed_known_hosts(&workdir, &host);
    let provider = host.provider_block(&known_hosts, "    connect_timeout  = \"3s\"\n");
    let node = |address: &str| {
        format!(
            "{REQUIRED_PROVIDERS}\n{provider}\ndata \"homelab_node\" \"n\" {{\n  host = {}\n}}\n",
            hcl_string(address)
        )
    };
    workdir.write_config(&node(host.id_host()));
    let reachable = workdir.plan().elapsed;
    let unreachable = lab.unreachable_address().to_string();
    workdir.write_config(&node(&unreachable));
    let failed = workdir
        .expect_errors(
            Command::Plan,
            &[
                "Cannot reach host",
                &format!("root@{unreachable}:22"),
                "no SSH session within the connect_timeout of 3s",
            ],
        )
        .elapsed;
    eprintln!("plan: reachable host {reachable:?}, unreachable host {failed:?}");
    assert!(
        failed >= CONNECT_TIMEOUT,
        "gave up before connect_timeout: {failed:?}"
    );
    assert!(
        failed < reachable + CONNECT_TIMEOUT + SLACK,
        "took {failed:?}; a plan that reaches its host takes {reachable:?}, connect_timeout is \
         {CONNECT_TIMEOUT:?}"
    );
}

/// 20 files on each of two hosts with `-parallelism=10`: one SSH connection per host per
/// provider process, counted in each host's own sshd log (`journalctl -u ssh`).
#[test]
fn twenty_files_on_each_of_two_lab_hosts_use_one_connection_per_host_per_provider_process() {
    let lab = lab(2);
    let hosts = lab.hosts().to_vec();
    let test_hosts: Vec<TestHost> = hosts.iter().map(test_host).collect();
    let logins = sshd_logins(&lab, &hosts);
    host_tests::files_share_one_connection_per_host(
        &[&test_hosts[0], &test_hosts[1]],
        20,
        10,
        &logins,
    );
}

#[test]
fn a_provider_killed_mid_apply_converges_on_the_next_apply() {
    let lab = lab(1);
    host_tests::killed_apply_converges_on_the_next_apply(&test_host(&lab.hosts()[0]));
}
