//! One measured command: its wall time, its output, and the peak resident memory of its whole
//! process tree (terraform and the providers it starts; ansible-playbook, its forks and their
//! ssh clients), sampled from `/proc` while it runs.

use std::io::Read;
use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use acceptance_tests::procfs::{children, status_kib};

/// How often the process tree's memory is sampled: often enough for a peak, rarely enough not to
/// compete for the machine's two cores.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// What one command cost and said.
#[derive(Debug)]
pub(crate) struct Measured {
    /// From just before the start to the exit of the first process.
    pub(crate) wall: Duration,
    /// The largest sum of VmRSS over the tree at one sample, in KiB.
    pub(crate) peak_rss_kib: u64,
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Measured {
    /// Everything it printed, for error messages.
    pub(crate) fn output(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Starts the command `spawn` returns (stdout and stderr piped) and measures it until it exits.
pub(crate) fn measure(spawn: impl FnOnce() -> Child) -> Measured {
    let started = Instant::now();
    let mut child = spawn();
    let stdout = read_all(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read_all(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let root = child.id();
    let mut peak_rss_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break status;
        }
        let rss: u64 = process_tree(root)
            .into_iter()
            .map(|pid| status_kib(pid, "VmRSS").unwrap_or(0))
            .sum();
        peak_rss_kib = peak_rss_kib.max(rss);
        thread::sleep(SAMPLE_EVERY);
    };
    let wall = started.elapsed();
    Measured {
        wall,
        peak_rss_kib,
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// `root` and all its descendants alive now.
fn process_tree(root: u32) -> Vec<u32> {
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        let found = children(tree[next]);
        tree.extend(found);
        next += 1;
    }
    tree
}

fn read_all(pipe: Option<Box<dyn Read + Send>>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}
