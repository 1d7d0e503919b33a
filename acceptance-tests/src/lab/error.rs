//! What can go wrong while building the image, bringing hosts up or tearing them down.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// A lab failure, with enough context to act on it without reading the code.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab manipulates network namespaces, bridges and containers, which needs root.
    #[error("the lab needs root (network namespaces, bridges, taps, systemd-nspawn); run as root")]
    NotRoot,
    /// A program the lab runs is not installed.
    #[error(
        "`{program}` not found: install the Debian package {package} (apt-get install -y {package}; \
         ./scripts/test installs it)"
    )]
    MissingProgram {
        /// The program looked up on the PATH.
        program: &'static str,
        /// The Debian package that ships it.
        package: &'static str,
    },
    /// A program ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line, for the reader.
        command: String,
        /// How it ended.
        status: String,
        /// The tail of what it printed on stderr (and stdout when stderr was empty).
        stderr: String,
    },
    /// A program ran but printed something the lab cannot read.
    #[error("`{command}` printed {output:?}, not {expected}")]
    UnexpectedOutput {
        /// The command line, for the reader.
        command: String,
        /// What it printed.
        output: String,
        /// What was expected instead.
        expected: &'static str,
    },
    /// A file or directory operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What the lab was doing, e.g. "create directory".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A state file could not be read or written as JSON.
    #[error("state file {}: {source}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// No Debian mirror for the suite was found in the machine's apt sources.
    #[error(
        "no Debian mirror for {suite} in /etc/apt/sources.list or /etc/apt/sources.list.d; \
         set HOMELAB_LAB_MIRROR=http://deb.debian.org/debian"
    )]
    NoMirror {
        /// The Debian suite looked for.
        suite: &'static str,
    },
    /// Every lab subnet and bridge name is in use.
    #[error(
        "no free lab subnet: all {count} lab slots are taken or their subnets are routed already"
    )]
    NoFreeSlot {
        /// How many slots were tried.
        count: u8,
    },
    /// A lab address would be routed somewhere other than the lab's own bridge.
    #[error(
        "refusing to connect to {address}: `ip route get` says `{route}`, not via bridge {bridge}"
    )]
    RouteNotOnBridge {
        /// The lab address.
        address: Ipv4Addr,
        /// The bridge the lab owns.
        bridge: String,
        /// What `ip route get` printed.
        route: String,
    },
    /// A host's sshd did not answer in time.
    #[error(
        "host {host} ({address}) did not answer on port 22 within {seconds} s; console tail:\n{console_tail}"
    )]
    BootTimeout {
        /// The host's name.
        host: String,
        /// Its address.
        address: Ipv4Addr,
        /// The time allowed.
        seconds: u64,
        /// The last lines of its console.
        console_tail: String,
    },
    /// A host's container or VM process exited while booting.
    #[error("host {host} exited while booting ({status}); console tail:\n{console_tail}")]
    HostExited {
        /// The host's name.
        host: String,
        /// How the container process ended.
        status: String,
        /// The last lines of its console.
        console_tail: String,
    },
    /// The lab was asked to stop (Ctrl-C or SIGTERM) before it was up.
    #[error("cancelled")]
    Cancelled,
    /// The spec asks for something the lab cannot give.
    #[error("invalid lab spec: {0}")]
    InvalidSpec(String),
    /// Teardown finished but could not remove everything.
    #[error("teardown left things behind:\n  {}", .0.join("\n  "))]
    Teardown(Vec<String>),
}

/// Shorthand for results of lab operations.
pub type LabResult<T> = Result<T, LabError>;

/// Builds a closure that wraps an [`io::Error`] into [`LabError::Io`] for `path`.
pub(crate) fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> LabError {
    let path = path.into();
    move |source| LabError::Io {
        action,
        path,
        source,
    }
}
