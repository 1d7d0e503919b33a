//! Benchmarks our provider against a real Go provider in one interleaved run: start-up, GetProviderSchema latency and memory.
//!
//! Usage: `bench_core --ours BIN --go BIN [--rounds 15] [--calls 20] [--budget-secs 180]`;
//! `scripts/bench-core` installs the Go provider, builds ours in release mode and runs this.
//! Each round starts each provider as terraform does (magic cookie, `PLUGIN_PROTOCOL_VERSIONS=5,6`,
//! a P-521 client certificate, mTLS over the unix socket from the handshake line), measures it,
//! and shuts it down through `plugin.GRPCController/Shutdown`.

mod report;
mod session;

use std::error::Error;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use report::{load_average, print_report};
use session::{Facts, Running, Sample};

/// Any failure, described with its whole source chain when printed.
pub(crate) type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// One provider binary taking part.
pub(crate) struct Contender {
    /// Short name for the table.
    pub(crate) label: &'static str,
    /// The executable.
    pub(crate) binary: PathBuf,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_core: {}", describe(error.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parses arguments, runs the interleaved rounds and prints the report.
async fn run() -> BenchResult<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    let ours = Contender {
        label: "ours",
        binary: options.ours.clone(),
    };
    let go = Contender {
        label: "go",
        binary: options.go.clone(),
    };
    require_executable(&ours.binary, "our provider", "builds it")?;
    require_executable(&go.binary, "the Go provider", "installs it")?;

    // One unrecorded round each warms the page cache: the first exec of a 25 MB binary reads disk.
    eprintln!("warm-up round (not recorded)");
    measure(&ours, options.calls).await?;
    measure(&go, options.calls).await?;

    // Other work on the machine (builds) inflates every number; the load average shows how much.
    let load_before = load_average();
    let started = Instant::now();
    let budget = Duration::from_secs(options.budget_secs);
    let (mut ours_samples, mut go_samples) = (Vec::new(), Vec::new());
    let (mut ours_facts, mut go_facts) = (Facts::default(), Facts::default());
    for round in 0..options.rounds {
        if round > 0 && started.elapsed() > budget {
            eprintln!("time budget of {budget:?} used up after {round} rounds");
            break;
        }
        // Alternating who goes first (AB, BA, ...) cancels any advantage of going second.
        let order = if round % 2 == 0 {
            [&ours, &go]
        } else {
            [&go, &ours]
        };
        for contender in order {
            let (sample, facts) = measure(contender, options.calls).await?;
            eprintln!(
                "round {:>2} {:<4}: handshake {:7.2} ms, first schema {:7.2} ms, peak {:6.1} MiB",
                round + 1,
                contender.label,
                sample.handshake_ms,
                sample.first_schema_ms,
                sample.peak_rss_kib / 1024.0
            );
            if contender.label == ours.label {
                ours_samples.push(sample);
                ours_facts = facts;
            } else {
                go_samples.push(sample);
                go_facts = facts;
            }
        }
    }
    let load = [load_before, load_average()];
    print_report(
        &options,
        &load,
        (&ours, &ours_samples, &ours_facts),
        (&go, &go_samples, &go_facts),
    );
    Ok(())
}

/// Starts `contender` as terraform does, measures it, and shuts it down.
async fn measure(contender: &Contender, calls: usize) -> BenchResult<(Sample, Facts)> {
    let context = |error: Box<dyn Error + Send + Sync>| -> Box<dyn Error + Send + Sync> {
        format!(
            "{} ({}): {}",
            contender.label,
            contender.binary.display(),
            describe(error.as_ref())
        )
        .into()
    };
    let mut running = Running::start(&contender.binary).await.map_err(context)?;
    let result = running.measure(calls).await.map_err(context);
    if result.is_err() {
        eprintln!("stderr of {}:\n{}", contender.label, running.stderr_tail());
    }
    result
}

/// Command-line options.
pub(crate) struct Options {
    /// Our provider binary.
    ours: PathBuf,
    /// The Go provider binary.
    go: PathBuf,
    /// Measured rounds per provider.
    rounds: usize,
    /// Repeated schema calls per round after the first.
    pub(crate) calls: usize,
    /// Rounds stop starting after this many seconds.
    budget_secs: u64,
}

impl Options {
    /// Parses `--ours BIN --go BIN [--rounds N] [--calls N] [--budget-secs N]`.
    fn parse(mut args: impl Iterator<Item = String>) -> BenchResult<Options> {
        const USAGE: &str =
            "usage: bench_core --ours BIN --go BIN [--rounds 15] [--calls 20] [--budget-secs 180]";
        let (mut ours, mut go) = (None, None);
        let (mut rounds, mut calls, mut budget_secs) = (15, 20, 180);
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
            match flag.as_str() {
                "--ours" => ours = Some(PathBuf::from(&value)),
                "--go" => go = Some(PathBuf::from(&value)),
                "--rounds" => rounds = parse_number(&flag, &value)?,
                "--calls" => calls = parse_number(&flag, &value)?,
                "--budget-secs" => budget_secs = parse_number(&flag, &value)?,
                _ => return Err(format!("unknown argument {flag:?}; {USAGE}").into()),
            }
        }
        Ok(Options {
            ours: ours.ok_or(USAGE)?,
            go: go.ok_or(USAGE)?,
            rounds: rounds.max(1),
            calls: calls.max(1),
            budget_secs,
        })
    }
}

/// Parses the numeric `value` of `flag`.
fn parse_number<T: std::str::FromStr>(flag: &str, value: &str) -> BenchResult<T> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a number").into())
}

/// Fails with the way to get `binary` when it is missing; `remedy` says what the script does.
fn require_executable(binary: &Path, what: &str, remedy: &str) -> BenchResult<()> {
    if binary.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{what} {} not found; run scripts/bench-core, which {remedy}",
            binary.display()
        )
        .into())
    }
}

/// Runs `future` with a time limit, naming the step in both failure cases.
pub(crate) async fn within<T, E: Into<Box<dyn Error + Send + Sync>>>(
    step: &str,
    limit: Duration,
    future: impl Future<Output = Result<T, E>>,
) -> BenchResult<T> {
    match tokio::time::timeout(limit, future).await {
        Err(_) => Err(format!("{step}: no answer within {limit:?}").into()),
        Ok(Err(error)) => Err(format!("{step}: {}", describe(error.into().as_ref())).into()),
        Ok(Ok(value)) => Ok(value),
    }
}

/// An error and all its sources on one line.
fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A duration in milliseconds.
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
