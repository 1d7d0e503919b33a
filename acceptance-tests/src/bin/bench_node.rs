//! Benchmarks the book's node baseline on lab hosts with our provider beside Ansible, in one
//! interleaved run: the first converge and the no-op re-run, as wall time, SSH logins per host
//! and peak memory of each tool's processes, with ratios.
//!
//! Usage: `bench_node [--hosts 5] [--rounds 3] [--no-pipelining]`, as root with `TF_ACC=1` and
//! `HOMELAB_BENCH_ANSIBLE_PLAYBOOK` naming ansible-playbook; `scripts/bench-node` installs
//! ansible-core, builds the provider in release mode and runs this.
//!
//! Each round runs one tool on a fresh lab (volatile overlays: nothing of an earlier round is
//! left), prepared the same way for every tool, and serving the same local apt repository with
//! stand-ins for kubeadm, kubelet and kubectl. Ours: `terraform apply -auto-approve`, then
//! `terraform plan -detailed-exitcode`, which must exit 0. Ansible: `ansible-playbook` twice,
//! the second run must report `changed=0` on every host. After the converge the hosts are
//! checked over SSH for the baseline, with the same checks for every tool. Tools take turns
//! round by round (ours, Ansible, Ansible with pipelining, ours, ...).

#[path = "bench_node/hosts.rs"]
mod hosts;
#[path = "bench_node/measure.rs"]
mod measure;
#[path = "bench_node/tools.rs"]
mod tools;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use acceptance_tests::apt_repo::AptRepo;
use acceptance_tests::lab::{Lab, LabSpec};

use hosts::{KUBERNETES_PACKAGES, NODE_NAMES, PACKAGES};
use tools::{Session, Tool};

struct Options {
    hosts: usize,
    rounds: usize,
    pipelining: bool,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            hosts: 5,
            rounds: 3,
            pipelining: true,
        };
        let mut arguments = std::env::args().skip(1);
        while let Some(flag) = arguments.next() {
            let mut number = || {
                arguments
                    .next()
                    .and_then(|v| v.parse::<usize>().ok())
                    .filter(|v| *v > 0)
                    .ok_or_else(|| format!("{flag} needs a positive number"))
            };
            match flag.as_str() {
                "--hosts" => options.hosts = number()?,
                "--rounds" => options.rounds = number()?,
                "--no-pipelining" => options.pipelining = false,
                other => return Err(format!("unknown option {other}")),
            }
        }
        if options.hosts > NODE_NAMES.len() {
            return Err(format!("at most {} hosts", NODE_NAMES.len()));
        }
        Ok(options)
    }

    fn tools(&self) -> Vec<Tool> {
        let mut tools = vec![Tool::Ours, Tool::Ansible];
        if self.pipelining {
            tools.push(Tool::AnsiblePipelining);
        }
        tools
    }
}

/// One round of one tool.
#[derive(Debug, Clone, Copy)]
struct Sample {
    converge: Duration,
    rerun: Duration,
    /// Logins per host the hosts' sshd accepted during each run.
    converge_logins: f64,
    rerun_logins: f64,
    /// Peak summed RSS of the tool's process tree, KiB.
    converge_rss_kib: u64,
    rerun_rss_kib: u64,
}

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(error) => {
            eprintln!(
                "bench_node: {error}\nusage: bench_node [--hosts 5] [--rounds 3] [--no-pipelining]"
            );
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let load_before = load_average();
    let mut samples: Vec<(Tool, Sample)> = Vec::new();
    for round in 1..=options.rounds {
        for tool in options.tools() {
            let sample = run_round(&options, tool);
            eprintln!("round {round}: {}: {sample:?}", tool.label());
            samples.push((tool, sample));
        }
    }
    print_report(&options, &samples);
    println!(
        "\nbenchmark wall time {:.0} s; load average before {load_before}, after {}; {}",
        started.elapsed().as_secs_f64(),
        load_average(),
        tools::versions()
    );
    ExitCode::SUCCESS
}

/// A fresh lab, prepared; the tool's first converge, checked, then its no-op re-run.
fn run_round(options: &Options, tool: Tool) -> Sample {
    let lab = Lab::up(LabSpec {
        hosts: options.hosts,
        packages: PACKAGES,
        ..LabSpec::default()
    })
    .unwrap_or_else(|error| panic!("bring up {} lab hosts: {error}", options.hosts));
    hosts::prepare(&lab);
    let repo = AptRepo::serve_packages(lab.gateway(), KUBERNETES_PACKAGES)
        .expect("build and serve the apt repository");
    let session = Session::new(tool, &lab, &repo);
    let per_host = |before: &[usize], after: &[usize]| {
        // Each count is a login itself, which the next count sees: one per host.
        let total: usize = after.iter().zip(before).map(|(a, b)| a - b - 1).sum();
        total as f64 / before.len() as f64
    };

    let before = hosts::logins(&lab);
    let converge = session.converge();
    let after = hosts::logins(&lab);
    hosts::verify(&lab, tool.label());
    let before_rerun = hosts::logins(&lab);
    let rerun = session.rerun();
    let after_rerun = hosts::logins(&lab);
    let sample = Sample {
        converge: converge.wall,
        rerun: rerun.wall,
        converge_logins: per_host(&before, &after),
        rerun_logins: per_host(&before_rerun, &after_rerun),
        converge_rss_kib: converge.peak_rss_kib,
        rerun_rss_kib: rerun.peak_rss_kib,
    };
    drop(session);
    drop(repo);
    lab.down().expect("tear the lab down");
    sample
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn print_report(options: &Options, samples: &[(Tool, Sample)]) {
    let tools = options.tools();
    let of = |tool: Tool, value: &dyn Fn(&Sample) -> f64| {
        median(
            samples
                .iter()
                .filter(|(t, _)| *t == tool)
                .map(|(_, s)| value(s))
                .collect(),
        )
    };
    let mb = |kib: u64| kib as f64 / 1024.0;
    type Row<'a> = (&'a str, &'a str, Box<dyn Fn(&Sample) -> f64>);
    let rows: Vec<Row<'_>> = vec![
        (
            "first converge, wall",
            "s",
            Box::new(|s| s.converge.as_secs_f64()),
        ),
        (
            "no-op re-run, wall",
            "s",
            Box::new(|s| s.rerun.as_secs_f64()),
        ),
        (
            "converge + re-run, wall",
            "s",
            Box::new(|s| (s.converge + s.rerun).as_secs_f64()),
        ),
        (
            "SSH logins per host, converge",
            "",
            Box::new(|s| s.converge_logins),
        ),
        (
            "SSH logins per host, re-run",
            "",
            Box::new(|s| s.rerun_logins),
        ),
        (
            "peak RSS of the tool's processes, converge",
            "MB",
            Box::new(move |s| mb(s.converge_rss_kib)),
        ),
        (
            "peak RSS of the tool's processes, re-run",
            "MB",
            Box::new(move |s| mb(s.rerun_rss_kib)),
        ),
    ];
    println!(
        "\nThe book's node baseline on {} lab hosts (systemd-nspawn, fresh per round); medians \
         of {} rounds per tool, interleaved.\n",
        options.hosts, options.rounds
    );
    let mut header = "| |".to_owned();
    let mut rule = "|---|".to_owned();
    for tool in &tools {
        header.push_str(&format!(" {} |", tool.label()));
        rule.push_str("---:|");
        if *tool != Tool::Ours {
            header.push_str(&format!(" ours / {} |", tool.label()));
            rule.push_str("---:|");
        }
    }
    println!("{header}\n{rule}");
    for (name, unit, value) in &rows {
        let ours = of(Tool::Ours, value.as_ref());
        let mut line = format!("| {name} |");
        for tool in &tools {
            let this = of(*tool, value.as_ref());
            line.push_str(&format!(" {} |", format_value(this, unit)));
            if *tool != Tool::Ours {
                let ratio = if this > 0.0 {
                    format!("{:.2}", ours / this)
                } else {
                    "n/a".to_owned()
                };
                line.push_str(&format!(" {ratio} |"));
            }
        }
        println!("{line}");
    }
}

fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "s" => format!("{value:.1} s"),
        "MB" => format!("{value:.0} MB"),
        _ => format!("{value:.1}"),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}
