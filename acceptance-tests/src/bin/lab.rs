//! `lab`: brings the acceptance tests' hosts up and down by hand (the tests use the library).
//!
//! ```text
//! lab up N [--backend nspawn|qemu] [--packages a,b,c] [--boot-timeout SECS] [--wait] [--id-file FILE]
//!     Builds or reuses the image, boots N hosts, prints them as JSON on stdout. --backend qemu
//!     makes them QEMU VMs with their own kernel (same JSON; default timeout 300 s, not 90 s).
//!     The lab stays up
//!     after `lab` exits (until `lab down`); with --wait it stays until Ctrl-C, then is torn down.
//!     --id-file writes the lab's id (`hl3`) to FILE once it is up, for `lab down hl3`.
//!     Ctrl-C or SIGTERM while coming up removes everything created so far.
//! lab down [--all | --stale | RUN...]
//!     Tears down labs left behind: detached ones and those whose process is gone; --all also
//!     those of processes still running (a test binary); --stale only those whose process is
//!     gone (never detached ones). Removes interrupted image builds. With RUN ids (`hl3`, as
//!     `lab up` reports), exactly those labs and nothing else.
//! lab status
//!     Prints the recorded labs (hosts, whether running, memory) and the cached images as JSON.
//! ```
//! Needs root. Cache: HOMELAB_LAB_CACHE (default <workspace>/target/lab-cache); records:
//! HOMELAB_LAB_RUN_DIR (default /run/homelab-lab).

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use acceptance_tests::lab::{self, Backend, Lab, LabError, LabSpec};
use tokio::signal::unix::{SignalKind, signal};

/// The exit status after Ctrl-C, as shells report a SIGINT death.
const EXIT_CANCELLED: u8 = 130;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let stop_requests = install_signal_handlers();
    let result = match arguments.first().map(String::as_str) {
        Some("up") => up(&arguments[1..], &stop_requests),
        Some("down") => down(&arguments[1..]),
        Some("status") => status(),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Lab(LabError::Cancelled)) => {
            eprintln!("lab: cancelled; everything created so far was removed");
            ExitCode::from(EXIT_CANCELLED)
        }
        Err(Failure::Lab(error)) => {
            eprintln!("lab: {error}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(text)) => {
            eprintln!("{text}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    Lab(LabError),
    Usage(String),
}

impl From<LabError> for Failure {
    fn from(error: LabError) -> Self {
        Failure::Lab(error)
    }
}

fn usage() -> Failure {
    Failure::Usage(
        "usage: lab up N [--backend nspawn|qemu] [--packages a,b,c] [--boot-timeout SECS] [--wait] [--id-file FILE] | lab down [--all | --stale | RUN...] | lab status"
            .to_owned(),
    )
}

fn up(arguments: &[String], stop_requests: &Receiver<()>) -> Result<(), Failure> {
    let mut hosts = None;
    let mut packages: Vec<String> = Vec::new();
    let mut boot_timeout = None;
    let mut backend = Backend::default();
    let mut wait = false;
    let mut id_file = None;
    let mut words = arguments.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--packages" => {
                let list = words.next().ok_or_else(usage)?;
                packages.extend(list.split(',').filter(|p| !p.is_empty()).map(str::to_owned));
            }
            "--boot-timeout" => {
                let seconds = words
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(usage)?;
                boot_timeout = Some(Duration::from_secs(seconds));
            }
            "--backend" => {
                backend = match words.next().map(String::as_str) {
                    Some("nspawn") => Backend::Nspawn,
                    Some("qemu") => Backend::Qemu,
                    _ => return Err(usage()),
                };
            }
            "--wait" => wait = true,
            "--id-file" => id_file = Some(words.next().ok_or_else(usage)?.clone()),
            number => hosts = Some(number.parse::<usize>().map_err(|_| usage())?),
        }
    }
    let package_names: Vec<&str> = packages.iter().map(String::as_str).collect();
    let spec = LabSpec {
        hosts: hosts.ok_or_else(usage)?,
        packages: &package_names,
        backend,
        boot_timeout: boot_timeout.unwrap_or(backend.default_boot_timeout()),
    };
    let started = Instant::now();
    let lab = Lab::up(spec)?;
    if stop_requests.try_recv().is_ok() {
        // The signal came as the last host answered: still a request not to leave a lab behind.
        lab.down()?;
        return Err(Failure::Lab(LabError::Cancelled));
    }
    if let Some(path) = &id_file
        && let Err(error) = std::fs::write(path, format!("{}\n", lab.run_id()))
    {
        lab.down()?;
        return Err(Failure::Usage(format!(
            "lab: cannot write the lab's id to {path}: {error}; took the lab down"
        )));
    }
    println!("{}", lab.hosts_json());
    let rss: Vec<String> = lab
        .host_rss_kib()
        .iter()
        .map(|kib| format!("{:.0} MB", *kib as f64 / 1024.0))
        .collect();
    eprintln!(
        "lab: {} up in {:.1} s on {} (host RSS: {})",
        lab.run_id(),
        started.elapsed().as_secs_f64(),
        lab.bridge(),
        rss.join(", ")
    );
    if !wait {
        let run = lab.run_id().to_owned();
        lab.detach();
        eprintln!("lab: {run} left running; `lab down {run}` takes it down");
        return Ok(());
    }
    eprintln!("lab: Ctrl-C tears it down");
    let _ = stop_requests.recv();
    let stopping = Instant::now();
    lab.down()?;
    eprintln!(
        "lab: torn down in {:.1} s",
        stopping.elapsed().as_secs_f64()
    );
    Ok(())
}

fn down(arguments: &[String]) -> Result<(), Failure> {
    let include_live = match arguments {
        [] => false,
        [flag] if flag == "--all" => true,
        [flag] if flag == "--stale" => return down_stale(),
        [flag, ..] if flag.starts_with('-') => return Err(usage()),
        runs => return down_runs(runs),
    };
    let started = Instant::now();
    let runs = lab::down_all(include_live)?;
    if runs.is_empty() {
        eprintln!("lab: nothing to take down");
    } else {
        eprintln!(
            "lab: took down {} in {:.1} s",
            runs.join(", "),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `lab down --stale`: only labs of runs that died (a killed test binary), never detached ones.
fn down_stale() -> Result<(), Failure> {
    let started = Instant::now();
    let runs = lab::down_stale()?;
    if runs.is_empty() {
        eprintln!("lab: no stale lab");
    } else {
        eprintln!(
            "lab: took down stale {} in {:.1} s",
            runs.join(", "),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `lab down hl3 hl4`: exactly these labs (what `lab up` printed as its id), whoever owns them.
fn down_runs(runs: &[String]) -> Result<(), Failure> {
    for run in runs {
        let started = Instant::now();
        if lab::down_run(run)? {
            eprintln!(
                "lab: took down {run} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        } else {
            eprintln!("lab: no lab {run} is recorded; nothing to take down");
        }
    }
    Ok(())
}

fn status() -> Result<(), Failure> {
    let status = lab::status()?;
    let text = serde_json::to_string_pretty(&status).expect("status serializes");
    // A closed pipe (`lab status | head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(())
}

/// On the first SIGINT or SIGTERM: cancels whatever the lab is doing (its normal error path then
/// tears down what exists) and wakes `lab up --wait`. On the second: exits at once, leaving the
/// record for `lab down`.
fn install_signal_handlers() -> Receiver<()> {
    let (sender, receiver) = channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a signal runtime starts");
    // Registered here, before any work starts, so no signal slips past with its default action.
    let (mut interrupt, mut terminate) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::interrupt()).expect("SIGINT handler installs"),
            signal(SignalKind::terminate()).expect("SIGTERM handler installs"),
        )
    };
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let mut received = 0;
            loop {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                received += 1;
                if received > 1 {
                    eprintln!("lab: exiting at once; `lab down` removes what is left");
                    std::process::exit(i32::from(EXIT_CANCELLED));
                }
                eprintln!("lab: stopping and cleaning up (signal again to exit at once)");
                lab::request_cancel();
                let _ = sender.send(());
            }
        });
    });
    receiver
}
