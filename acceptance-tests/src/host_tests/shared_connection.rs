//! One SSH connection per host per provider process, however many resources and however much
//! parallelism: counted on the hosts (sshd's log) and matched to the provider processes that
//! made them (each process's own log, see [`ProviderProcesses`]).

use std::collections::BTreeSet;

use crate::cli::{REQUIRED_PROVIDERS, Workdir};
use crate::provider_processes::ProviderProcesses;
use crate::ssh_host::{TestHost, hcl_string};

/// `files_per_host` files on each host, created, planned, updated and destroyed with
/// `-parallelism`. For every command and host: each provider process that touched the host
/// opened exactly one connection to it, sshd accepted exactly as many logins as there were such
/// processes, and that number is what Terraform's process model gives (below). `logins` reads
/// each host's count of accepted logins from its sshd log; it must not count its own logins.
pub fn files_share_one_connection_per_host(
    hosts: &[&TestHost],
    files_per_host: usize,
    parallelism: u32,
    logins: &dyn Fn() -> Vec<usize>,
) {
    let workdir = Workdir::new("shared_connection").with_parallelism(parallelism);
    let processes = ProviderProcesses::install(&workdir);
    let known_hosts = workdir.config_dir().join("known_hosts");
    let lines: Vec<String> = hosts.iter().map(|h| h.known_hosts_line()).collect();
    workdir.write_file("known_hosts", &(lines.join("\n") + "\n"));
    let dirs: Vec<String> = hosts.iter().map(|host| host.make_temp_dir()).collect();
    let config = |version: &str| {
        let mut config = format!(
            "{REQUIRED_PROVIDERS}\n{}",
            hosts[0].provider_block(&known_hosts, "")
        );
        for (index, (host, dir)) in hosts.iter().zip(&dirs).enumerate() {
            config.push_str(&format!(
                "resource \"homelab_file\" \"h{index}\" {{\n  count   = {files_per_host}\n  \
                 host    = {}\n  path    = \"{dir}/file-${{count.index}}\"\n  \
                 content = \"file ${{count.index}} {version}\\n\"\n  ssh {{\n    \
                 port             = {}\n    private_key_path = {}\n  }}\n}}\n",
                hcl_string(host.id_host()),
                host.port,
                hcl_string(&host.private_key_path.display().to_string()),
            ));
        }
        config
    };
    let check_files = |version: &str| {
        for (host, dir) in hosts.iter().zip(&dirs) {
            for i in 0..files_per_host {
                let content = format!("file {i} {version}\n");
                assert_eq!(
                    host.read_file(&format!("{dir}/file-{i}")).as_deref(),
                    Some(content.as_bytes())
                );
            }
        }
    };
    let measure = |what: &str, expected_processes: usize, run: &dyn Fn()| {
        let logins_before = logins();
        let started_before = processes.started();
        run();
        let logins_after = logins();
        let started: BTreeSet<u32> = processes
            .started()
            .difference(&started_before)
            .copied()
            .collect();
        for (index, host) in hosts.iter().enumerate() {
            let target = format!("{}@{}:{}", host.user, host.address, host.port);
            let touched: Vec<(u32, usize)> = started
                .iter()
                .map(|&pid| (pid, processes.connections(pid, &target)))
                .filter(|&(_, connections)| connections > 0)
                .collect();
            let accepted = logins_after[index] - logins_before[index];
            eprintln!(
                "{what}: {target}: sshd accepted {accepted} logins; {} provider processes \
                 started, (pid, connections) of those that connected: {touched:?}",
                started.len()
            );
            assert!(
                touched.iter().all(|&(_, connections)| connections == 1),
                "{what}: a provider process opened more than one connection to {target}: \
                 {touched:?}"
            );
            assert_eq!(
                accepted,
                touched.len(),
                "{what}: sshd on {target} accepted {accepted} logins, but {} provider processes \
                 connected to it",
                touched.len()
            );
            assert_eq!(
                touched.len(),
                expected_processes,
                "{what}: provider processes that connected to {target}"
            );
        }
    };
    // Terraform 1.11 starts a fresh provider process for each phase of a command (and, per
    // command, two or three more that only answer schema and validation calls and never
    // connect). `plan` is one phase: one process reads
    // every file. `apply` and `destroy` are two: the plan phase connects (it refreshes existing
    // files and, for new ones, checks the connection settings before anything is written) and
    // the apply phase connects to write or delete. So one connection per host per process is
    // one login per host for `plan` and two for `apply` and `destroy`, whatever the number of
    // files and the parallelism.
    workdir.write_config(&config("first"));
    measure("apply (create)", 2, &|| {
        workdir.apply();
    });
    check_files("first");
    measure("plan", 1, &|| {
        workdir
            .plan_detailed()
            .assert_no_changes("plan after creating the files");
    });
    workdir.write_config(&config("second"));
    measure("apply (update)", 2, &|| {
        workdir.apply();
    });
    check_files("second");
    measure("destroy", 2, &|| {
        workdir.destroy();
    });
    for (host, dir) in hosts.iter().zip(&dirs) {
        assert!(!host.exists(&format!("{dir}/file-0")));
        host.remove(dir);
    }
}
