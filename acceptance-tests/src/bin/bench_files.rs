//! Benchmarks a refresh of many `homelab_file` on lab hosts beside the naive approach users
//! would otherwise script, one `ssh HOST cat FILE` per file (one at a time, and N at once), all
//! in one interleaved run: wall time, SSH connections (counted in the hosts' own sshd logs) and
//! peak memory (sampled from `/proc` while it runs).
//!
//! Usage: `bench_files [--hosts 5] [--files 50] [--rounds 3] [--parallel 10]`, as root with
//! `TF_ACC=1`; `scripts/bench-files` builds the provider in release mode and runs this. The
//! provider's side is `terraform plan -refresh-only` (terraform's default parallelism, 10), so
//! its wall time includes terraform itself; the time of the same command with no resources is
//! printed beside it.

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use acceptance_tests::cli::{REQUIRED_PROVIDERS, Workdir, provider_binary};
use acceptance_tests::lab::{Host, Lab, LabSpec};
use acceptance_tests::procfs::{children, executable, status_kib};
use acceptance_tests::ssh_host::hcl_string;

/// How often process memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(2);

struct Options {
    hosts: usize,
    files: usize,
    rounds: usize,
    parallel: usize,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options {
            hosts: 5,
            files: 50,
            rounds: 3,
            parallel: 10,
        };
        let arguments: Vec<String> = std::env::args().skip(1).collect();
        for pair in arguments.chunks(2) {
            let value = pair
                .get(1)
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("{} needs a positive number", pair[0]))?;
            match pair[0].as_str() {
                "--hosts" => options.hosts = value,
                "--files" => options.files = value,
                "--rounds" => options.rounds = value,
                "--parallel" => options.parallel = value,
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(options)
    }
}

/// One measured run of one approach.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: Duration,
    /// Logins the hosts' sshd accepted during the run.
    connections: usize,
    /// The largest sum of VmRSS over the approach's processes alive at one sample.
    peak_rss_kib: u64,
    /// The largest VmHWM (peak resident, exact) of any one of its processes.
    largest_process_hwm_kib: u64,
}

/// A named way of reading every file once, returning what it cost.
type Approach<'a> = (&'static str, Box<dyn Fn() -> Sample + 'a>);

/// One file of the benchmark: where it lives and what it holds.
struct BenchFile {
    host: usize,
    path: String,
    content: String,
}

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(error) => {
            eprintln!(
                "bench_files: {error}\nusage: bench_files [--hosts 5] [--files 50] [--rounds 3] \
                 [--parallel 10]"
            );
            return ExitCode::from(2);
        }
    };
    run(&options);
    ExitCode::SUCCESS
}

fn run(options: &Options) {
    let lab = Lab::up(LabSpec {
        hosts: options.hosts,
        ..LabSpec::default()
    })
    .unwrap_or_else(|error| panic!("bring up {} lab hosts: {error}", options.hosts));
    let hosts = lab.hosts().to_vec();
    let files: Vec<BenchFile> = (0..options.files)
        .map(|i| BenchFile {
            host: i % hosts.len(),
            path: format!("/srv/bench/file-{i}.conf"),
            content: format!("# bench file {i}\n{}", "setting = value\n".repeat(64)),
        })
        .collect();
    let workdir = Workdir::new("bench_files");
    workdir.write_config(&config(&lab, &hosts, &files));
    eprintln!(
        "creating {} files on {} hosts (not measured)",
        files.len(),
        hosts.len()
    );
    workdir.apply();
    let empty = Workdir::new("bench_files_empty");
    empty.write_config(&format!("{REQUIRED_PROVIDERS}\n"));

    let approaches: [Approach<'_>; 3] = [
        (
            "provider: terraform plan -refresh-only",
            Box::new(|| measure_provider(&workdir)),
        ),
        (
            "naive: ssh HOST cat FILE, one at a time",
            Box::new(|| measure_naive(&lab, &hosts, &files, 1)),
        ),
        (
            "naive: ssh HOST cat FILE, N at once",
            Box::new(|| measure_naive(&lab, &hosts, &files, options.parallel)),
        ),
    ];
    let logins = |lab: &Lab| -> usize {
        hosts
            .iter()
            .map(|host| lab.accepted_ssh_logins(host).expect("read sshd's log"))
            .sum()
    };
    eprintln!("warm-up round (not recorded)");
    for (_, approach) in &approaches {
        approach();
    }
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    let mut baseline = Vec::new();
    for round in 0..options.rounds {
        // Rotating who goes first cancels any advantage of a warm cache.
        for offset in 0..approaches.len() {
            let index = (round + offset) % approaches.len();
            let before = logins(&lab);
            let mut sample = approaches[index].1();
            // Each count is one login itself, which the next count sees: one per host.
            sample.connections = logins(&lab) - before - hosts.len();
            eprintln!("round {}: {}: {sample:?}", round + 1, approaches[index].0);
            samples.entry(index).or_default().push(sample);
        }
        baseline.push(measure_terraform_alone(&empty));
    }
    let names = [approaches[0].0, approaches[1].0, approaches[2].0];
    print_report(options, &names, &samples, &baseline);
    drop(approaches);
    workdir.destroy();
    lab.down().expect("tear the lab down");
}

fn config(lab: &Lab, hosts: &[Host], files: &[BenchFile]) -> String {
    let mut config = format!(
        "{REQUIRED_PROVIDERS}\nprovider \"homelab\" {{\n  ssh {{\n    private_key_path = {}\n    \
         known_hosts_path = {}\n  }}\n}}\n",
        hcl_string(&lab.private_key_path().display().to_string()),
        hcl_string(&lab.known_hosts_path().display().to_string()),
    );
    for (i, file) in files.iter().enumerate() {
        config.push_str(&format!(
            "resource \"homelab_file\" \"f{i}\" {{\n  host               = \"{}\"\n  \
             path               = {}\n  content            = {}\n  \
             create_directories = true\n}}\n",
            hosts[file.host].address,
            hcl_string(&file.path),
            hcl_string(&file.content),
        ));
    }
    config
}

/// `terraform plan -refresh-only` over every file; memory is that of the provider processes
/// terraform starts (found as its children running the provider binary).
fn measure_provider(workdir: &Workdir) -> Sample {
    let binary = std::fs::canonicalize(provider_binary()).expect("the provider binary");
    let started = Instant::now();
    let mut terraform = workdir.spawn(&[
        "plan",
        "-refresh-only",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
    ]);
    let (stdout, stderr) = drain(&mut terraform);
    let terraform_pid = terraform.id();
    let memory = sample_memory(
        || {
            children(terraform_pid)
                .into_iter()
                .filter(|pid| executable(*pid).as_deref() == Some(binary.as_path()))
                .collect()
        },
        || terraform.try_wait().expect("wait for terraform").is_some(),
    );
    let wall = started.elapsed();
    let status = terraform.wait().expect("terraform's status");
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        status.code() == Some(0),
        "the refresh found changes or failed ({status}):\n{stdout}\n{stderr}"
    );
    Sample {
        wall,
        connections: 0,
        peak_rss_kib: memory.0,
        largest_process_hwm_kib: memory.1,
    }
}

/// The same command with no resources: what terraform itself costs.
fn measure_terraform_alone(workdir: &Workdir) -> Duration {
    let started = Instant::now();
    let mut terraform = workdir.spawn(&["plan", "-refresh-only", "-input=false", "-no-color"]);
    let (stdout, stderr) = drain(&mut terraform);
    let status = terraform.wait().expect("terraform's status");
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "{stdout}\n{stderr}");
    started.elapsed()
}

/// One `ssh HOST cat FILE` per file, `parallel` at a time; every file must come back exactly.
fn measure_naive(lab: &Lab, hosts: &[Host], files: &[BenchFile], parallel: usize) -> Sample {
    let running: Arc<Mutex<HashSet<u32>>> = Arc::default();
    let next = Arc::new(Mutex::new(0usize));
    let workers = parallel.min(files.len());
    let finished_workers = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let memory = thread::scope(|scope| {
        for _ in 0..workers {
            let (running, next) = (running.clone(), next.clone());
            let finished = WorkerDone(finished_workers.clone());
            scope.spawn(move || {
                let _finished = finished;
                loop {
                    let index = {
                        let mut next = next.lock().unwrap();
                        *next += 1;
                        *next - 1
                    };
                    let Some(file) = files.get(index) else { break };
                    let child = lab
                        .ssh(&hosts[file.host])
                        .arg("cat")
                        .arg(&file.path)
                        .stdin(Stdio::null())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .expect("run ssh");
                    let pid = child.id();
                    running.lock().unwrap().insert(pid);
                    let output = child.wait_with_output().expect("wait for ssh");
                    running.lock().unwrap().remove(&pid);
                    assert!(
                        output.status.success() && output.stdout == file.content.as_bytes(),
                        "ssh cat {} did not return the file: {}",
                        file.path,
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            });
        }
        sample_memory(
            || running.lock().unwrap().iter().copied().collect(),
            || *finished_workers.lock().unwrap() == workers,
        )
    });
    Sample {
        wall: started.elapsed(),
        connections: 0,
        peak_rss_kib: memory.0,
        largest_process_hwm_kib: memory.1,
    }
}

/// Counts a naive worker thread as finished when it ends, also by a panic (so the sampler stops
/// and the panic is reported).
struct WorkerDone(Arc<Mutex<usize>>);

impl Drop for WorkerDone {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }
}

/// Samples the processes `pids` lists until `finished`: the largest sum of their VmRSS at one
/// moment, and the largest VmHWM any one of them reached (as last seen alive).
fn sample_memory(pids: impl Fn() -> Vec<u32>, mut finished: impl FnMut() -> bool) -> (u64, u64) {
    let (mut peak_sum, mut largest_hwm) = (0, 0);
    loop {
        let done = finished();
        let mut sum = 0;
        for pid in pids() {
            sum += status_kib(pid, "VmRSS").unwrap_or(0);
            largest_hwm = largest_hwm.max(status_kib(pid, "VmHWM").unwrap_or(0));
        }
        peak_sum = peak_sum.max(sum);
        if done {
            return (peak_sum, largest_hwm);
        }
        thread::sleep(SAMPLE_EVERY);
    }
}

type Reader = thread::JoinHandle<String>;

fn drain(child: &mut Child) -> (Reader, Reader) {
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    (
        read(Box::new(child.stdout.take().expect("piped stdout"))),
        read(Box::new(child.stderr.take().expect("piped stderr"))),
    )
}

fn median<T: Copy + Ord>(values: &mut [T]) -> T {
    values.sort_unstable();
    values[values.len() / 2]
}

fn print_report(
    options: &Options,
    names: &[&str; 3],
    samples: &BTreeMap<usize, Vec<Sample>>,
    baseline: &[Duration],
) {
    let mb = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\nrefresh of {} homelab_file on {} lab hosts; medians of {} rounds (N = {})\n",
        options.files, options.hosts, options.rounds, options.parallel
    );
    println!(
        "{:<42} {:>9} {:>9} {:>16} {:>18}",
        "approach", "wall", "min wall", "ssh connections", "peak RSS (sum)"
    );
    let mut medians = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let runs = &samples[&index];
        let mut walls: Vec<Duration> = runs.iter().map(|s| s.wall).collect();
        let mut connections: Vec<usize> = runs.iter().map(|s| s.connections).collect();
        let mut rss: Vec<u64> = runs.iter().map(|s| s.peak_rss_kib).collect();
        let mut hwm: Vec<u64> = runs.iter().map(|s| s.largest_process_hwm_kib).collect();
        let min_wall = *walls.iter().min().expect("a run");
        let (wall, connections, rss, hwm) = (
            median(&mut walls),
            median(&mut connections),
            median(&mut rss),
            median(&mut hwm),
        );
        println!(
            "{name:<42} {:>8.2}s {:>8.2}s {connections:>16} {:>15.1} MB   (largest process peak \
             {:.1} MB)",
            wall.as_secs_f64(),
            min_wall.as_secs_f64(),
            mb(rss),
            mb(hwm),
        );
        medians.push((wall, connections, rss));
    }
    let mut baseline = baseline.to_vec();
    println!(
        "{:<42} {:>8.2}s   (the same terraform command with no resources)",
        "terraform alone",
        median(&mut baseline).as_secs_f64()
    );
    let provider = medians[0];
    for (index, name) in names.iter().enumerate().skip(1) {
        let other = medians[index];
        println!(
            "\n{name} / provider: wall {:.1}x, ssh connections {:.1}x, peak RSS {:.1}x",
            other.0.as_secs_f64() / provider.0.as_secs_f64(),
            other.1 as f64 / provider.1.max(1) as f64,
            other.2 as f64 / provider.2.max(1) as f64,
        );
    }
    println!("\nprovider binary: {}", provider_binary().display());
}
