//! Runs the real terraform/tofu CLI against the locally built provider through `dev_overrides`.

mod locate;
mod output;

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as ProcessCommand, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use locate::{
    PROVIDER_SOURCE, REQUIRED_PROVIDERS, dev_overrides_config, provider_binary, require_tf_acc,
    terraform_cli, workspace_root,
};
pub use output::{CONTRACT_VIOLATIONS, CliOutput, DetailedPlan, PlanChanges, normalize_output};

use crate::show::{PlanView, StateView};

/// Environment variables the harness passes through from the caller although they start with `TF_`:
/// they only change logging, which is what someone debugging a failing test wants.
const INHERITED_TF_VARIABLES: &[&str] =
    &["TF_LOG", "TF_LOG_CORE", "TF_LOG_PROVIDER", "TF_LOG_PATH"];

/// How much of a test's name goes into its directory's name.
const MAX_NAME_IN_PATH: usize = 24;

/// The longest working directory path that leaves room for `tmp/pluginXXXXXXXXXX/provider.sock`
/// (and go-plugin's longer names) within a unix socket path's 108 bytes.
const MAX_ROOT_PATH_BYTES: usize = 64;

/// How long one CLI invocation may run before the harness interrupts it.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// How long terraform gets to stop its plugins after an interrupt before it is killed.
const INTERRUPT_GRACE: Duration = Duration::from_secs(15);

/// A CLI subcommand that tests expect to succeed or fail as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `plan`.
    Plan,
    /// `apply -auto-approve`.
    Apply,
    /// `destroy -auto-approve`.
    Destroy,
    /// `import ADDRESS ID`.
    Import {
        /// The resource address in the configuration.
        address: &'a str,
        /// The provider-specific import id.
        id: &'a str,
    },
}

/// A private working directory with its own CLI configuration, plugin directory and TMPDIR.
///
/// Removed on drop unless `TF_ACC_KEEP=1`.
#[derive(Debug)]
pub struct Workdir {
    root: PathBuf,
    config_dir: PathBuf,
    cli_config: PathBuf,
    tmp_dir: PathBuf,
    cli: PathBuf,
    env: Vec<(String, String)>,
    parallelism: Option<u32>,
    command_timeout: Duration,
    keep: bool,
}

impl Workdir {
    /// Creates a fresh directory named after the test; panics unless `TF_ACC` is set, the CLI is
    /// found and the provider binary exists.
    pub fn new(name: &str) -> Self {
        require_tf_acc();
        let cli = terraform_cli();
        let provider = provider_binary();
        let root = unique_temp_dir(name);
        let config_dir = root.join("config");
        let plugin_dir = root.join("plugins");
        let tmp_dir = root.join("t");
        for dir in [&config_dir, &plugin_dir, &tmp_dir] {
            std::fs::create_dir(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        // dev_overrides takes a directory; a symlink with the canonical name makes any binary path
        // (HOMELAB_PROVIDER_BIN may name a versioned file) look like a provider to the CLI.
        std::os::unix::fs::symlink(&provider, plugin_dir.join("terraform-provider-homelab"))
            .expect("symlink the provider binary");
        let cli_config = root.join("terraform.tfrc");
        write_file(&cli_config, &dev_overrides_config(&plugin_dir));
        let keep = std::env::var("TF_ACC_KEEP").is_ok_and(|v| v == "1");
        Workdir {
            root,
            config_dir,
            cli_config,
            tmp_dir,
            cli,
            env: Vec::new(),
            parallelism: None,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            keep,
        }
    }

    /// Adds an environment variable for every CLI run in this directory (e.g. `TF_LOG`, `TF_VAR_x`).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Passes `-parallelism=N` to plan, apply, destroy and import.
    pub fn with_parallelism(mut self, parallelism: u32) -> Self {
        self.parallelism = Some(parallelism);
        self
    }

    /// Interrupts any single CLI run that takes longer than `timeout` (default 10 minutes).
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The directory holding the configuration and the local state; the CLI runs here.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// The CLI configuration file with the dev_overrides block.
    pub fn cli_config_file(&self) -> &Path {
        &self.cli_config
    }

    /// Replaces `main.tf` with `hcl`.
    pub fn write_config(&self, hcl: &str) {
        self.write_file("main.tf", hcl);
    }

    /// Writes another file into the configuration directory (e.g. `terraform.tfvars`).
    pub fn write_file(&self, name: &str, contents: &str) {
        write_file(&self.config_dir.join(name), contents);
    }

    /// Runs the CLI with `args` and returns what it did, whatever its exit status; panics only on a
    /// contract violation or when the run exceeds the command timeout.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> CliOutput {
        let output = self.run_unchecked(args);
        output.assert_no_contract_violation();
        output
    }

    /// Runs the CLI with `args` and panics with its full output unless it succeeds.
    pub fn run_ok<S: AsRef<OsStr>>(&self, args: &[S]) -> CliOutput {
        let output = self.run(args);
        let what = output.command_line.clone();
        output.expect_success(&what)
    }

    /// Runs `command`, which must succeed.
    pub fn run_command(&self, command: Command<'_>) -> CliOutput {
        self.run_ok(&self.command_args(command))
    }

    /// `plan`, which must succeed.
    pub fn plan(&self) -> CliOutput {
        self.run_command(Command::Plan)
    }

    /// `apply -auto-approve`, which must succeed.
    pub fn apply(&self) -> CliOutput {
        self.run_command(Command::Apply)
    }

    /// `destroy -auto-approve`, which must succeed.
    pub fn destroy(&self) -> CliOutput {
        self.run_command(Command::Destroy)
    }

    /// `import ADDRESS ID`, which must succeed.
    pub fn import(&self, address: &str, id: &str) -> CliOutput {
        self.run_command(Command::Import { address, id })
    }

    /// `state rm ADDRESS`, which must succeed.
    pub fn state_rm(&self, address: &str) -> CliOutput {
        self.run_ok(&["state", "rm", "-no-color", address])
    }

    /// `plan -detailed-exitcode`: a normal plan with refresh.
    pub fn plan_detailed(&self) -> DetailedPlan {
        self.detailed_plan(&[])
    }

    /// `plan -detailed-exitcode -refresh=false`: compares the configuration with the state as stored.
    pub fn plan_no_refresh(&self) -> DetailedPlan {
        self.detailed_plan(&["-refresh=false"])
    }

    /// `plan -detailed-exitcode -refresh-only`: changes mean the refresh found the state outdated.
    pub fn refresh_only_plan(&self) -> DetailedPlan {
        self.detailed_plan(&["-refresh-only"])
    }

    /// `show -json`: the current state.
    pub fn show_state_json(&self) -> StateView {
        let output = self.run_ok(&["show", "-json", "-no-color"]);
        StateView::from_json(parse_json(&output))
    }

    /// `plan -out=tfplan` then `show -json tfplan`: the plan as JSON.
    pub fn plan_json(&self) -> PlanView {
        let mut args = self.command_args(Command::Plan);
        args.push("-out=tfplan".to_owned());
        self.run_ok(&args);
        let output = self.run_ok(&["show", "-json", "-no-color", "tfplan"]);
        let _ = std::fs::remove_file(self.config_dir.join("tfplan"));
        PlanView::from_json(parse_json(&output))
    }

    /// `output -json`: the root module's outputs as stored in the state.
    pub fn outputs_json(&self) -> serde_json::Value {
        parse_json(&self.run_ok(&["output", "-json", "-no-color"]))
    }

    /// Runs `command`, asserts that it fails and that its output contains `substring`.
    pub fn expect_error(&self, command: Command<'_>, substring: &str) -> CliOutput {
        self.expect_errors(command, &[substring])
    }

    /// Runs `command`, asserts that it fails and that its output contains every one of `substrings`.
    pub fn expect_errors(&self, command: Command<'_>, substrings: &[&str]) -> CliOutput {
        let output = self.run(&self.command_args(command));
        if output.success() {
            panic!("expected {command:?} to fail\n{output}");
        }
        for substring in substrings {
            if !output.contains(substring) {
                panic!("expected {command:?} to fail with {substring:?}\n{output}");
            }
        }
        output
    }

    /// The arguments for `command`, with the flags every run in this directory gets.
    pub fn command_args(&self, command: Command<'_>) -> Vec<String> {
        let mut args: Vec<String> = match command {
            Command::Plan => vec!["plan".into()],
            Command::Apply => vec!["apply".into(), "-auto-approve".into()],
            Command::Destroy => vec!["destroy".into(), "-auto-approve".into()],
            Command::Import { .. } => vec!["import".into()],
        };
        args.extend(["-input=false".to_owned(), "-no-color".to_owned()]);
        if let Some(parallelism) = self.parallelism {
            args.push(format!("-parallelism={parallelism}"));
        }
        if let Command::Import { address, id } = command {
            args.extend([address.to_owned(), id.to_owned()]);
        }
        args
    }

    fn detailed_plan(&self, extra: &[&str]) -> DetailedPlan {
        let mut args = self.command_args(Command::Plan);
        args.push("-detailed-exitcode".to_owned());
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let output = self.run(&args);
        let changes = match output.code() {
            Some(0) => PlanChanges::None,
            Some(2) => PlanChanges::Present,
            _ => panic!("plan failed\n{output}"),
        };
        DetailedPlan { changes, output }
    }

    /// The directory `dev_overrides` points at; it holds `terraform-provider-homelab`, a symlink
    /// to the provider binary that a test may replace (e.g. with a wrapper that logs each start).
    pub fn plugin_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }

    /// Starts the CLI with `args` as [`Workdir::run`] would, stdout and stderr piped, and returns
    /// at once: for tests that act while a command runs (e.g. kill its provider mid-apply).
    pub fn spawn<S: AsRef<OsStr>>(&self, args: &[S]) -> Child {
        self.cli_command(args)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.cli.display()))
    }

    fn cli_command<S: AsRef<OsStr>>(&self, args: &[S]) -> ProcessCommand {
        let mut command = ProcessCommand::new(&self.cli);
        command
            .args(args)
            .current_dir(&self.config_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The caller's TF_* variables (TF_CLI_ARGS, TF_WORKSPACE, TF_REATTACH_PROVIDERS, TF_VAR_*)
        // would change what the CLI does; each test states its own.
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if key_text.starts_with("TF_") && !INHERITED_TF_VARIABLES.contains(&key_text.as_ref()) {
                command.env_remove(&key);
            }
        }
        command
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TMPDIR", &self.tmp_dir);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    fn run_unchecked<S: AsRef<OsStr>>(&self, args: &[S]) -> CliOutput {
        let mut command = self.cli_command(args);
        let command_line = std::iter::once(self.cli.as_os_str())
            .chain(args.iter().map(AsRef::as_ref))
            .map(|part| part.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {command_line}: {e}"));
        let stdout = read_in_background(child.stdout.take());
        let stderr = read_in_background(child.stderr.take());
        let (status, timed_out) = wait_with_timeout(&mut child, self.command_timeout);
        let output = CliOutput {
            command_line,
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
            elapsed: started.elapsed(),
        };
        eprintln!(
            "$ {} -> {} in {:.1?}",
            output.command_line, output.status, output.elapsed
        );
        if timed_out {
            panic!("interrupted after {:?}\n{output}", self.command_timeout);
        }
        output
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("TF_ACC_KEEP=1: keeping {}", self.root.display());
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            eprintln!("could not remove {}: {e}", self.root.display());
        }
    }
}

fn unique_temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    // Plugins put unix sockets under TMPDIR (this directory's `tmp/`), and a socket path must fit
    // in 108 bytes, so the name keeps only a short prefix of the test's name.
    let short_name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(MAX_NAME_IN_PATH)
        .collect();
    let base = std::env::temp_dir();
    loop {
        let dir = base.join(format!(
            "hl-{short_name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.as_os_str().len() > MAX_ROOT_PATH_BYTES {
            panic!(
                "{} is too long: plugins' unix sockets under it would exceed 108 bytes; \
                 set TMPDIR to a shorter directory",
                dir.display()
            );
        }
        // create_dir (not create_dir_all) fails if the name is taken, so two tests never share a
        // directory; a leftover from an earlier process with the same pid just moves us on.
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("create {}: {e}", dir.display()),
        }
    }
}

fn write_file(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn parse_json(output: &CliOutput) -> serde_json::Value {
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("the CLI printed invalid JSON ({e})\n{output}"))
}

fn read_in_background<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child`; past `timeout` it sends SIGINT so terraform stops its plugins and releases
/// the state lock, and kills it if that does not end it. Returns the status and whether it timed out.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> (ExitStatus, bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the CLI") {
            return (status, false);
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = ProcessCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let grace_deadline = Instant::now() + INTERRUPT_GRACE;
    while Instant::now() < grace_deadline {
        if let Some(status) = child.try_wait().expect("wait for the CLI") {
            return (status, true);
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    (child.wait().expect("wait for the killed CLI"), true)
}
