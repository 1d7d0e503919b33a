//! A provider killed in the middle of an apply: the next apply converges, with every file
//! byte-exact and no temporary file left behind.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{file_resource, hashed_known_hosts};
use crate::cli::{Command, REQUIRED_PROVIDERS, Workdir, provider_binary};
use crate::procfs::{children, executable};
use crate::ssh_host::{TestHost, hcl_string};
use crate::steps::assert_converged;

/// How many files the apply creates, and after how many reported creations the provider dies.
const FILES: usize = 40;
const KILL_AFTER_CREATED: usize = 3;

/// How long the killed apply may take to get going and to end.
const APPLY_DEADLINE: Duration = Duration::from_secs(120);

/// `FILES` files applied with `-parallelism=2`; once terraform reports a few of them created,
/// the provider process (a child of the terraform process started here, nothing else) gets
/// SIGKILL. Terraform fails; some files exist, others not, one may have been half-written. The
/// next apply succeeds, plans are empty after it, every file is byte-exact, and the directory
/// holds exactly the files (no temporary file survived the cut connection).
pub fn killed_apply_converges_on_the_next_apply(host: &TestHost) {
    let workdir = Workdir::new("killed_apply").with_parallelism(2);
    let known_hosts = hashed_known_hosts(&workdir, host);
    let dir = host.make_temp_dir();
    let content = |i: usize| format!("file {i}\n{}\n", "x".repeat(1000 + i));
    let mut config = format!(
        "{REQUIRED_PROVIDERS}\n{}",
        host.provider_block(&known_hosts, "")
    );
    for i in 0..FILES {
        let body = format!("  content = {}\n", hcl_string(&content(i)));
        config.push_str(&file_resource(
            host,
            &format!("f{i}"),
            &format!("{dir}/file-{i}"),
            &body,
        ));
    }
    workdir.write_config(&config);

    let mut terraform = workdir.spawn(&workdir.command_args(Command::Apply));
    let output = kill_provider_after_creations(&mut terraform, KILL_AFTER_CREATED);
    let status = wait_for_exit(&mut terraform);
    assert!(
        !status.success(),
        "the apply survived its provider\n{output}"
    );
    // What terraform says depends on the state the gRPC call was in when the process died.
    let died = [
        "Plugin did not respond",
        "plugin crashed",
        "Request cancelled",
    ];
    assert!(
        died.iter().any(|text| output.contains(text)),
        "terraform does not say its provider died (one of {died:?})\n{output}"
    );
    let present = (0..FILES)
        .filter(|i| host.exists(&format!("{dir}/file-{i}")))
        .count();
    eprintln!("after the kill: {present} of {FILES} files exist");
    assert!(
        (KILL_AFTER_CREATED..FILES).contains(&present),
        "the kill was not in the middle of the apply: {present} of {FILES} files exist"
    );
    let recorded = workdir.show_state_json().managed_addresses().len();
    assert!(recorded < FILES, "the state holds all {FILES} files");

    workdir.apply();
    assert_converged(&workdir, "after the apply that followed the kill");
    for i in 0..FILES {
        assert_eq!(
            host.read_file(&format!("{dir}/file-{i}")).as_deref(),
            Some(content(i).as_bytes()),
            "file-{i}"
        );
    }
    let listing = host.fact(&format!("ls -A {dir} | sort"));
    let mut expected: Vec<String> = (0..FILES).map(|i| format!("file-{i}")).collect();
    expected.sort();
    assert_eq!(
        listing.lines().collect::<Vec<_>>(),
        expected,
        "the directory holds something besides the files"
    );
    workdir.destroy();
    assert_eq!(host.fact(&format!("ls -A {dir}")), "", "destroy left files");
    host.remove(&dir);
}

/// Reads terraform's stdout until it reports `created` creations, then SIGKILLs its provider
/// child; returns everything terraform printed.
fn kill_provider_after_creations(terraform: &mut Child, created: usize) -> String {
    let stdout = terraform.stdout.take().expect("piped stdout");
    let stderr = terraform.stderr.take().expect("piped stderr");
    let (lines, received) = mpsc::channel();
    let out_lines = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_lines.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + APPLY_DEADLINE;
    let mut output = String::new();
    let mut seen = 0;
    let mut killed = false;
    // Ends when both pipes are closed (terraform exited) or at the deadline.
    while let Ok(line) = received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if !killed && line.contains("Creation complete") {
            seen += 1;
            if seen == created {
                let provider = provider_child(terraform.id());
                eprintln!("killing provider process {provider} (SIGKILL) after {seen} creations");
                kill(Pid::from_raw(provider as i32), Signal::SIGKILL).expect("kill the provider");
                killed = true;
            }
        }
        output.push_str(&line);
        output.push('\n');
    }
    assert!(
        killed,
        "terraform reported fewer than {created} creations\n{output}"
    );
    output
}

fn wait_for_exit(terraform: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + APPLY_DEADLINE;
    loop {
        if let Some(status) = terraform.try_wait().expect("wait for terraform") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = terraform.kill();
            panic!("terraform did not exit after its provider was killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one child of `terraform` that runs the provider binary.
fn provider_child(terraform: u32) -> u32 {
    let binary = std::fs::canonicalize(provider_binary()).expect("the provider binary");
    let providers: Vec<u32> = children(terraform)
        .into_iter()
        .filter(|pid| executable(*pid).as_deref() == Some(binary.as_path()))
        .collect();
    match providers[..] {
        [pid] => pid,
        _ => panic!(
            "expected one provider process under terraform {terraform}, found {providers:?} \
             (children: {:?})",
            children(terraform)
        ),
    }
}
