//! The gRPC server terraform talks to: the process entry point, the go-plugin handshake, the
//! transport (unix socket, AutoMTLS) and shutdown.
//!
//! Two ways to run:
//! - plugin mode (no arguments): terraform or tofu starts the binary with the magic cookie and
//!   `PLUGIN_CLIENT_CERT` in the environment, reads the handshake line from stdout, speaks gRPC
//!   over mutual TLS on a private unix socket, and ends the process with
//!   `GRPCController.Shutdown`. Ctrl-C in terraform's terminal reaches this process too, but
//!   cancellation arrives as `StopProvider`, so SIGINT is ignored; SIGTERM shuts down.
//! - `--debug`: a person starts the binary, which serves plain text on a private unix socket,
//!   prints the `TF_REATTACH_PROVIDERS` value to export, and serves until Ctrl-C.

mod controller;
mod convert;
mod handshake;
mod provider;
mod tls;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::ServingStatus;

use crate::log;
use handshake::{HandshakeError, HandshakeLine, PluginListener};
use tls::TlsError;

/// The largest HTTP/2 frame accepted from the client; big schemas and plans arrive in fewer
/// frames than with the 16 KiB default.
const MAX_FRAME_SIZE: u32 = 1024 * 1024;

/// How long in-flight calls may run on after shutdown starts. Terraform kills the process two
/// seconds after `Shutdown`; exiting before that lets the socket directory be removed.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// The gRPC health service name go-plugin clients check.
const HEALTH_SERVICE_NAME: &str = "plugin";

/// Names the provider in `TF_REATTACH_PROVIDERS` in `--debug` mode; the default suits Terraform,
/// OpenTofu users set `registry.opentofu.org/homelab/homelab`.
const PROVIDER_ADDRESS_VARIABLE: &str = "HOMELAB_PROVIDER_ADDRESS";

/// The provider address used in `--debug` mode when [`PROVIDER_ADDRESS_VARIABLE`] is unset.
const DEFAULT_PROVIDER_ADDRESS: &str = "registry.terraform.io/homelab/homelab";

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    /// The handshake could not be completed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// AutoMTLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A signal handler could not be installed.
    #[error("could not install a signal handler")]
    Signal(#[source] std::io::Error),
    /// The handshake line could not be written to stdout.
    #[error("could not write the handshake to stdout")]
    Stdout(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("the gRPC server failed")]
    Transport(#[source] tonic::transport::Error),
}

/// How the process was asked to run.
enum Mode {
    /// Started by terraform.
    Plugin,
    /// Started by a person with `--debug`.
    Debug,
    /// `--help`: explain and exit.
    Help,
    /// `--version`: print the version and exit.
    Version,
}

/// Runs the provider; `main.rs` calls only this.
pub fn main() -> ExitCode {
    install_panic_report();
    let mode = match parse_mode(std::env::args().skip(1)) {
        Ok(mode) => mode,
        Err(argument) => {
            eprintln!("terraform-provider-homelab: unknown argument {argument:?}");
            eprintln!("usage: terraform-provider-homelab [--debug | --help | --version]");
            return ExitCode::from(2);
        }
    };
    match mode {
        Mode::Plugin => run_plugin_mode(),
        Mode::Debug => run_debug_mode(),
        Mode::Help => {
            print!("{}", handshake::NOT_STARTED_BY_TERRAFORM);
            ExitCode::SUCCESS
        }
        Mode::Version => {
            println!("terraform-provider-homelab {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}

/// Reports a panic twice: first as an error-level hclog line, which Terraform logs as an error
/// without any `TF_LOG`; then the way Terraform recognises a crashed plugin, a line starting
/// with `panic: ` on stderr and the backtrace, so the user sees "the plugin crashed" with the
/// reason instead of a bare "plugin exited".
fn install_panic_report() {
    std::panic::set_hook(Box::new(|info| {
        log::panic(info);
        let backtrace = std::backtrace::Backtrace::force_capture();
        eprintln!("panic: {info}\n\n{backtrace}");
    }));
}

/// Reads the command line; the error is the first argument not understood.
fn parse_mode(mut arguments: impl Iterator<Item = String>) -> Result<Mode, String> {
    let mode = match arguments.next().as_deref() {
        None => Mode::Plugin,
        Some("--debug" | "-debug") => Mode::Debug,
        Some("--help" | "-h" | "-help") => Mode::Help,
        Some("--version" | "-version") => Mode::Version,
        Some(other) => return Err(other.to_owned()),
    };
    match arguments.next() {
        None => Ok(mode),
        Some(extra) => Err(extra),
    }
}

/// Plugin mode: check the cookie and protocol, then serve until terraform says stop.
fn run_plugin_mode() -> ExitCode {
    let cookie = std::env::var(handshake::MAGIC_COOKIE_KEY).ok();
    if !handshake::started_by_terraform(cookie.as_deref()) {
        eprint!("{}", handshake::NOT_STARTED_BY_TERRAFORM);
        return ExitCode::FAILURE;
    }
    let offered = std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok();
    if let Err(error) = handshake::negotiate_protocol(offered.as_deref()) {
        eprintln!("terraform-provider-homelab: {error}");
        return ExitCode::FAILURE;
    }
    log::init_from_env(log::Level::Warn);
    run_to_completion(serve_plugin())
}

/// Debug mode: serve plain text and tell the person how to attach terraform.
fn run_debug_mode() -> ExitCode {
    log::init_from_env(log::Level::Info);
    run_to_completion(serve_debug())
}

/// Runs `serving` on a multi-thread runtime and turns its outcome into the exit code.
fn run_to_completion(serving: impl Future<Output = Result<(), ServeError>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            log::error("could not start the async runtime", &[("error", &error)]);
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serving);
    // Handshakes still running belong to no one now; do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log::error("provider server failed", &[("error", &ErrorChain(&error))]);
            ExitCode::FAILURE
        }
    }
}

/// Serves as terraform's plugin: AutoMTLS when `PLUGIN_CLIENT_CERT` is set, else plain text.
async fn serve_plugin() -> Result<(), ServeError> {
    let shutdown = CancellationToken::new();
    ignore_interrupt_and_stop_on_terminate(shutdown.clone())?;

    let listener = handshake::bind_from_env().await?;
    let (tls, certificate) = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !pem.trim().is_empty() => {
            let pinned = tls::parse_client_certificates(&pem)?;
            let identity = tls::generate_server_identity()?;
            let config = tls::server_config(&identity, pinned)?;
            (Some(config), Some(identity.certificate))
        }
        _ => (None, None),
    };
    let line = HandshakeLine {
        network: listener.network(),
        address: &listener.address(),
        server_certificate_der: certificate.as_deref(),
    }
    .to_string();
    log::info(
        "plugin serving",
        &[
            ("network", &listener.network()),
            ("address", &listener.address()),
            ("protocol_version", &handshake::PLUGIN_PROTOCOL_VERSION),
            ("auto_mtls", &tls.is_some()),
        ],
    );
    // The listener already accepts into its backlog, so terraform may connect as soon as it reads
    // the line; after it, nothing else is ever written to stdout.
    write_stdout(&format!("{line}\n"))?;
    serve(listener, tls, shutdown).await
}

/// Serves plain text for a person who attaches terraform with `TF_REATTACH_PROVIDERS`.
async fn serve_debug() -> Result<(), ServeError> {
    let shutdown = CancellationToken::new();
    stop_on_interrupt_or_terminate(shutdown.clone())?;

    let listener = handshake::bind_unix(&std::env::temp_dir())?;
    let provider_address = std::env::var(PROVIDER_ADDRESS_VARIABLE)
        .ok()
        .filter(|address| !address.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PROVIDER_ADDRESS.to_owned());
    let reattach = handshake::reattach_providers_json(
        &provider_address,
        std::process::id(),
        listener.network(),
        &listener.address(),
    );
    // Single quotes keep the JSON whole in a POSIX shell; a quote inside the path is spliced out.
    let quoted = reattach.replace('\'', r"'\''");
    write_stdout(&format!(
        "terraform-provider-homelab is serving in debug mode (pid {pid}).\n\
         In the shell where you run terraform or tofu, export:\n\n    \
         TF_REATTACH_PROVIDERS='{quoted}'\n\n\
         The key is the provider's address; set {PROVIDER_ADDRESS_VARIABLE} to change it \
         (OpenTofu: registry.opentofu.org/homelab/homelab).\n\
         Stop with Ctrl-C.\n",
        pid = std::process::id(),
    ))?;
    serve(listener, None, shutdown).await
}

/// Serves every service on `listener` until `shutdown` is cancelled, then waits a short grace
/// period for in-flight calls.
async fn serve(
    listener: PluginListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let routes = routes(&shutdown).await;
    let (incoming, accept_task) = tls::accept_connections(listener, tls, shutdown.clone());
    let server = tonic::transport::Server::builder()
        .max_frame_size(MAX_FRAME_SIZE)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
    let grace_expired = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let outcome = tokio::select! {
        outcome = server => outcome.map_err(ServeError::Transport),
        () = grace_expired => {
            log::warn("calls still running after shutdown; exiting anyway", &[]);
            Ok(())
        }
    };
    shutdown.cancel();
    // The accept task owns the listener; once it ends the socket directory is gone. It cannot
    // panic, and if it was aborted there is nothing left to clean.
    let _ = accept_task.await;
    log::info("plugin stopped", &[]);
    outcome
}

/// All services: the provider's, gRPC health, and go-plugin's controller and stdio.
async fn routes(shutdown: &CancellationToken) -> Routes {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(HEALTH_SERVICE_NAME, ServingStatus::Serving)
        .await;
    // A child token: the provider may cancel its own work (StopProvider) without stopping the
    // server, and shutdown still cancels the provider's work.
    provider::provider_routes(shutdown.child_token())
        .add_service(health_service)
        .add_service(controller::controller_service(shutdown.clone()))
        .add_service(controller::stdio_service(shutdown.clone()))
}

/// Plugin mode signals: SIGINT is logged and ignored, SIGTERM starts a graceful shutdown.
fn ignore_interrupt_and_stop_on_terminate(shutdown: CancellationToken) -> Result<(), ServeError> {
    // Installing the handler is what stops SIGINT's default action from killing the process.
    let mut interrupts = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    let mut terminations = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupts.recv() => log::info(
                    "ignoring SIGINT: terraform cancels work with StopProvider and ends the \
                     plugin with Shutdown",
                    &[],
                ),
                _ = terminations.recv() => {
                    log::info("SIGTERM received; shutting down", &[]);
                    shutdown.cancel();
                    break;
                }
            }
        }
    });
    Ok(())
}

/// Debug mode signals: SIGINT (Ctrl-C) and SIGTERM both start a graceful shutdown.
fn stop_on_interrupt_or_terminate(shutdown: CancellationToken) -> Result<(), ServeError> {
    let mut interrupts = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    let mut terminations = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupts.recv() => log::info("SIGINT received; shutting down", &[]),
            _ = terminations.recv() => log::info("SIGTERM received; shutting down", &[]),
        }
        shutdown.cancel();
    });
    Ok(())
}

/// Writes `text` to stdout and flushes, so terraform sees it at once.
fn write_stdout(text: &str) -> Result<(), ServeError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(ServeError::Stdout)
}

/// Shows an error with its sources, `outer: inner: innermost`, for one log field.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(arguments: &[&str]) -> Result<Mode, String> {
        parse_mode(arguments.iter().map(|argument| (*argument).to_owned()))
    }

    #[test]
    fn arguments_select_the_mode() {
        assert!(matches!(mode_of(&[]), Ok(Mode::Plugin)));
        assert!(matches!(mode_of(&["--debug"]), Ok(Mode::Debug)));
        assert!(matches!(mode_of(&["--help"]), Ok(Mode::Help)));
        assert!(matches!(mode_of(&["--version"]), Ok(Mode::Version)));
        assert_eq!(mode_of(&["--serve"]).err().as_deref(), Some("--serve"));
        assert_eq!(
            mode_of(&["--debug", "x"]).err().as_deref(),
            Some("x"),
            "extra arguments are refused"
        );
    }

    #[test]
    fn error_chain_shows_sources() {
        let error = ServeError::Stdout(std::io::Error::other("broken pipe"));
        assert_eq!(
            ErrorChain(&error).to_string(),
            "could not write the handshake to stdout: broken pipe"
        );
    }
}
