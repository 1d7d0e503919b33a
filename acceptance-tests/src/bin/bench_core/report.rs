//! Statistics over the rounds and the printed comparison table with the machine's facts.

use crate::session::{EXIT_TIMEOUT, Facts, SETTLE, Sample};
use crate::{Contender, Options};

/// The handshake line with its long base64 certificate cut short.
fn shorten_certificate(line: &str) -> String {
    match line.rsplit_once('|') {
        Some((head, certificate)) if certificate.len() > 12 => {
            format!("{head}|{}…", &certificate[..12])
        }
        _ => line.to_owned(),
    }
}

/// The median, averaging the middle pair of an even count.
pub(crate) fn median(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

/// The 90th percentile by nearest rank.
fn p90(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let rank = (sorted.len() * 9).div_ceil(10).max(1);
    sorted[rank - 1]
}

/// A sorted copy.
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// One provider's part of the report.
type Side<'a> = (&'a Contender, &'a [Sample], &'a Facts);

/// Prints the comparison table and the machine facts.
pub(crate) fn print_report(options: &Options, load: &[String; 2], ours: Side<'_>, go: Side<'_>) {
    type Metric = (&'static str, fn(&Sample) -> f64);
    let metrics: [Metric; 9] = [
        ("start to handshake line (ms)", |s| s.handshake_ms),
        ("handshake to mTLS connected (ms)", |s| s.connect_ms),
        ("GetProviderSchema first call (ms)", |s| s.first_schema_ms),
        ("GetProviderSchema repeated, median/round (ms)", |s| {
            s.repeated_schema_ms
        }),
        ("  same, bytes not decoded (ms)", |s| s.repeated_raw_ms),
        ("idle VmRSS (MiB)", |s| s.idle_rss_kib / 1024.0),
        ("peak VmHWM after schema calls (MiB)", |s| {
            s.peak_rss_kib / 1024.0
        }),
        ("threads at idle", |s| s.idle_threads),
        ("Shutdown RPC to exit (ms)", |s| s.shutdown_ms),
    ];
    println!();
    println!(
        "bench-core: {} rounds each (+1 warm-up), interleaved AB/BA; {} repeated schema calls per round",
        ours.1.len().min(go.1.len()),
        options.calls
    );
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "metric", "ours med", "ours p90", "go med", "go p90", "ours/go"
    );
    for (name, value) in metrics {
        let ours_values: Vec<f64> = ours.1.iter().map(value).collect();
        let go_values: Vec<f64> = go.1.iter().map(value).collect();
        let (ours_median, go_median) = (median(&ours_values), median(&go_values));
        println!(
            "{name:<46} {ours_median:>10.3} {:>10.3} {go_median:>10.3} {:>10.3} {:>9.3}",
            p90(&ours_values),
            p90(&go_values),
            ours_median / go_median
        );
    }
    println!(
        "medians and p90s are over rounds; a repeated-call value is first the median of one \
         round's calls; idle is after the handshake, the mTLS connection and {SETTLE:?} of rest; \
         ratio = ours median / go median"
    );
    println!();
    println!(
        "machine: nproc {}, {}, kernel {}",
        nproc(),
        cpu_model(),
        kernel()
    );
    println!(
        "load average before/after the rounds: {} / {}",
        load[0], load[1]
    );
    for (contender, _, facts) in [ours, go] {
        let size = std::fs::metadata(&contender.binary)
            .map(|m| m.len())
            .unwrap_or(0);
        println!("{}: {}", contender.label, contender.binary.display());
        println!(
            "  binary size {size} bytes ({:.1} MiB)",
            size as f64 / 1_048_576.0
        );
        println!(
            "  handshake {} (protocol {})",
            shorten_certificate(&facts.handshake_line),
            facts.protocol_version
        );
        let decoded = match facts.schema_decoded_bytes {
            Some(bytes) if bytes != facts.schema_wire_bytes => {
                format!(", {bytes} after decoding with our tfplugin6 (fields we do not know)")
            }
            _ => String::new(),
        };
        println!(
            "  schema response {} bytes on the wire{decoded}",
            facts.schema_wire_bytes
        );
        if let Some([resources, data_sources, ephemeral, functions]) = facts.schema_counts {
            println!(
                "  schema: {resources} resources, {data_sources} data sources, {ephemeral} ephemeral resources, {functions} functions, {} diagnostics",
                facts.schema_diagnostics
            );
        }
        if !facts.exited_by_itself {
            println!(
                "  did not exit within {EXIT_TIMEOUT:?} of Shutdown in its last round; killed"
            );
        }
    }
}

/// Usable CPUs.
fn nproc() -> usize {
    std::thread::available_parallelism().map_or(0, usize::from)
}

/// The CPU model from /proc/cpuinfo.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The 1, 5 and 15 minute load averages.
pub(crate) fn load_average() -> String {
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

/// The running kernel's release.
fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_middle_and_nearest_rank() {
        let values: Vec<f64> = (1..=15).map(f64::from).collect();
        assert_eq!(median(&values), 8.0);
        assert_eq!(p90(&values), 14.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 3.0]), 2.5);
        assert_eq!(p90(&[5.0]), 5.0);
    }

    #[test]
    fn certificate_is_shortened_in_the_handshake_line() {
        assert_eq!(
            shorten_certificate("1|6|unix|/s|grpc|"),
            "1|6|unix|/s|grpc|"
        );
        assert_eq!(
            shorten_certificate("1|6|unix|/s|grpc|MIIBkTCB9wIJAKZ"),
            "1|6|unix|/s|grpc|MIIBkTCB9wIJ…"
        );
    }
}
