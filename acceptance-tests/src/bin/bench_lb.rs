//! Benchmarks the Kubernetes API load balancer (HAProxy in front of three back ends) with our
//! provider beside the book's way, an Ansible `template` + `systemd_service` playbook, in one
//! interleaved run: the first converge and the no-op re-run, as wall time, with ratios.
//!
//! Usage: `bench_lb [--rounds 3]`, as root with `TF_ACC=1` and `HOMELAB_BENCH_ANSIBLE_PLAYBOOK`
//! naming ansible-playbook; `scripts/bench-lb` installs ansible-core, builds the provider in
//! release mode and runs this.
//!
//! Each round runs one tool on a fresh lab of two hosts: HAProxy on the first, three echo
//! listeners on the second. Ours: `terraform apply -auto-approve` on
//! `bench/load_balancer/main.tf`, then `terraform plan -detailed-exitcode`, which must exit 0.
//! Ansible: `bench/load_balancer/playbook.yml` twice, the second run must report `changed=0`.
//! After the converge the LB host is checked the same way for both: `haproxy -c` of the file on
//! disk passes and the three servers are in it.

#[path = "bench_node/measure.rs"]
mod measure;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use acceptance_tests::cli::{Workdir, workspace_root};
use acceptance_tests::lab::{Host, Lab, LabSpec};

use measure::{Measured, measure};

/// HAProxy for the balancer, socat for the back ends, python3 for Ansible's modules.
const PACKAGES: &[&str] = &["haproxy", "python3", "socat"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ours,
    Ansible,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Ours => "homelab_load_balancer",
            Tool::Ansible => "Ansible template + service",
        }
    }
}

/// A report row: its name, its unit, and how to read it from a sample.
type Row = (&'static str, &'static str, fn(&Sample) -> f64);

/// One round of one tool.
#[derive(Debug, Clone, Copy)]
struct Sample {
    tool: Tool,
    converge: Duration,
    rerun: Duration,
    /// Peak summed RSS of the tool's process tree during the converge, KiB.
    converge_rss_kib: u64,
}

fn bench_dir() -> PathBuf {
    workspace_root().join("acceptance-tests/bench/load_balancer")
}

fn main() -> ExitCode {
    let mut rounds = 3;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        match (flag.as_str(), arguments.next().and_then(|v| v.parse().ok())) {
            ("--rounds", Some(n)) if n > 0 => rounds = n,
            _ => {
                eprintln!("usage: bench_lb [--rounds 3]");
                return ExitCode::from(2);
            }
        }
    }
    let mut samples: Vec<Sample> = Vec::new();
    for round in 1..=rounds {
        for tool in [Tool::Ours, Tool::Ansible] {
            let sample = run_round(tool);
            eprintln!("round {round}: {}: {sample:?}", tool.label());
            samples.push(sample);
        }
    }
    let median = |tool: Tool, pick: fn(&Sample) -> f64| {
        let mut values: Vec<f64> = samples
            .iter()
            .filter(|s| s.tool == tool)
            .map(pick)
            .collect();
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        }
    };
    println!(
        "\nHAProxy in front of 3 back ends on 2 lab hosts (systemd-nspawn, fresh per round); \
         medians of {rounds} rounds per tool, interleaved.\n"
    );
    println!("| | ours | Ansible | ours / Ansible |\n|---|---:|---:|---:|");
    let rows: [Row; 3] = [
        ("first converge, wall", "s", |s| s.converge.as_secs_f64()),
        ("no-op re-run, wall", "s", |s| s.rerun.as_secs_f64()),
        ("peak RSS of the tool's processes, converge", "MB", |s| {
            s.converge_rss_kib as f64 / 1024.0
        }),
    ];
    for (name, unit, pick) in rows {
        let (ours, ansible) = (median(Tool::Ours, pick), median(Tool::Ansible, pick));
        println!(
            "| {name} | {ours:.1} {unit} | {ansible:.1} {unit} | {:.2} |",
            ours / ansible
        );
    }
    ExitCode::SUCCESS
}

/// A fresh lab; the tool's converge, checked, then its no-op re-run.
fn run_round(tool: Tool) -> Sample {
    let lab = Lab::up(LabSpec {
        hosts: 2,
        packages: PACKAGES,
        ..LabSpec::default()
    })
    .unwrap_or_else(|error| panic!("bring up the lab: {error}"));
    let (balancer, backends) = (&lab.hosts()[0], &lab.hosts()[1]);
    for port in [6441, 6442, 6443] {
        run(
            &lab,
            backends,
            &format!(
                "systemd-run --unit=echo-{port} socat TCP-LISTEN:{port},fork,reuseaddr EXEC:cat"
            ),
        );
    }
    let (converge, rerun) = match tool {
        Tool::Ours => {
            let workdir = Workdir::new("bench_lb")
                .with_env("TF_VAR_lb_address", &balancer.address.to_string())
                .with_env("TF_VAR_backend_address", &backends.address.to_string())
                .with_env(
                    "TF_VAR_ssh_private_key_path",
                    &lab.private_key_path().display().to_string(),
                )
                .with_env(
                    "TF_VAR_ssh_known_hosts_path",
                    &lab.known_hosts_path().display().to_string(),
                );
            let config = std::fs::read_to_string(bench_dir().join("main.tf")).expect("main.tf");
            workdir.write_config(&config);
            let converge =
                measure(|| workdir.spawn(&["apply", "-auto-approve", "-input=false", "-no-color"]));
            assert!(
                converge.status.success(),
                "apply failed\n{}",
                converge.output()
            );
            verify(&lab, balancer, backends);
            let rerun = measure(|| {
                workdir.spawn(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
            });
            assert!(
                rerun.status.code() == Some(0),
                "plan after apply is not empty\n{}",
                rerun.output()
            );
            (converge, rerun)
        }
        Tool::Ansible => {
            let dir = tempfile::Builder::new()
                .prefix("hl-lb")
                .tempdir()
                .expect("a temporary directory");
            let inventory = serde_json::json!({
                "lb": {
                    "hosts": {"lb": {
                        "ansible_host": balancer.address.to_string(),
                        "ansible_user": "root",
                        "ansible_python_interpreter": "/usr/bin/python3",
                        "ansible_ssh_private_key_file": lab.private_key_path(),
                        "ansible_ssh_common_args": format!(
                            "-o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null \
                             -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
                            lab.known_hosts_path().display()
                        ),
                        "backend_address": backends.address.to_string(),
                    }}
                }
            });
            std::fs::write(dir.path().join("inventory.yml"), inventory.to_string())
                .expect("write the inventory");
            std::fs::write(dir.path().join("ansible.cfg"), "").expect("write ansible.cfg");
            let playbook = || {
                let program = std::env::var("HOMELAB_BENCH_ANSIBLE_PLAYBOOK")
                    .unwrap_or_else(|_| "ansible-playbook".to_owned());
                let mut command = Command::new(program);
                command
                    .arg("-i")
                    .arg(dir.path().join("inventory.yml"))
                    .arg(bench_dir().join("playbook.yml"))
                    .current_dir(dir.path())
                    .env("ANSIBLE_CONFIG", dir.path().join("ansible.cfg"))
                    .env("ANSIBLE_HOME", dir.path().join("home"))
                    .env("ANSIBLE_LOCAL_TEMP", dir.path().join("tmp"))
                    .env("ANSIBLE_SSH_CONTROL_PATH_DIR", dir.path().join("cp"))
                    .env("ANSIBLE_NOCOLOR", "1")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let run = measure(|| command.spawn().expect("start ansible-playbook"));
                close_master_connections(&dir.path().join("cp"));
                run
            };
            let converge = playbook();
            assert!(
                changed(&converge) > 0,
                "the first run changed nothing\n{}",
                converge.output()
            );
            verify(&lab, balancer, backends);
            let rerun = playbook();
            assert_eq!(
                changed(&rerun),
                0,
                "the re-run changed something\n{}",
                rerun.output()
            );
            (converge, rerun)
        }
    };
    lab.down().expect("tear the lab down");
    Sample {
        tool,
        converge: converge.wall,
        rerun: rerun.wall,
        converge_rss_kib: converge.peak_rss_kib,
    }
}

/// `changed=N` of the recap; panics when the run failed.
fn changed(run: &Measured) -> u64 {
    assert!(
        run.status.success(),
        "ansible-playbook failed\n{}",
        run.output()
    );
    let recap = run.stdout.split_once("PLAY RECAP").map_or("", |(_, r)| r);
    recap
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("changed="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no recap\n{}", run.output()))
}

/// The same check for both tools: the file on disk passes `haproxy -c`, names the three back
/// ends, and HAProxy is running.
fn verify(lab: &Lab, balancer: &Host, backends: &Host) {
    let out = run(
        lab,
        balancer,
        "haproxy -c -f /etc/haproxy/haproxy.cfg >/dev/null && systemctl is-active haproxy && grep -c '^    server ' /etc/haproxy/haproxy.cfg",
    );
    assert!(out.starts_with("active\n3"), "{out}");
    let address = backends.address.to_string();
    let text = run(lab, balancer, "cat /etc/haproxy/haproxy.cfg");
    assert!(text.contains(&format!("{address}:6441")), "{text}");
}

fn run(lab: &Lab, host: &Host, script: &str) -> String {
    let output = lab.ssh(host).arg(script).output().expect("run ssh");
    assert!(
        output.status.success(),
        "`{script}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn close_master_connections(dir: &std::path::Path) {
    let Ok(sockets) = std::fs::read_dir(dir) else {
        return;
    };
    for socket in sockets.flatten() {
        let _ = Command::new("ssh")
            .args(["-F", "/dev/null", "-o"])
            .arg(format!("ControlPath={}", socket.path().display()))
            .args(["-O", "exit", "bench-lb"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
