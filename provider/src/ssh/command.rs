//! Remote commands built like `std::process::Command`: every argument is quoted, raw shell is a
//! separate, explicit constructor, and the result carries exit status, stdout and stderr as bytes.

use std::fmt;
use std::time::Duration;

use super::escape::{NulByteError, join_quoted};

/// One command to run on a host.
///
/// ```
/// use terraform_provider_homelab::ssh::Command;
/// let command = Command::new("install").args(["-d", "-m", "0755"]).arg("/etc/my dir");
/// assert_eq!(
///     command.command_line(false).unwrap(),
///     b"'install' '-d' '-m' '0755' '/etc/my dir'".to_vec()
/// );
/// ```
#[derive(Clone)]
pub struct Command {
    kind: Kind,
    args: Vec<Vec<u8>>,
    stdin: Option<Vec<u8>>,
    sudo: Option<bool>,
    timeout: Option<Duration>,
}

#[derive(Clone)]
enum Kind {
    Program(Vec<u8>),
    Script(String),
}

impl Command {
    /// Runs `program` (looked up on the remote PATH) with the arguments added later.
    pub fn new(program: impl AsRef<[u8]>) -> Command {
        Command::with_kind(Kind::Program(program.as_ref().to_vec()))
    }

    /// Runs `script` with `sh -c`; arguments added later become `$1`, `$2`, … inside it.
    ///
    /// The script text reaches the shell as code: it must be a fixed text written in this
    /// crate, never built from user values. Pass user values as arguments instead, where they
    /// are quoted like any other argument and the script reads them as `"$1"`.
    pub fn shell_script(script: impl Into<String>) -> Command {
        Command::with_kind(Kind::Script(script.into()))
    }

    fn with_kind(kind: Kind) -> Command {
        Command {
            kind,
            args: Vec::new(),
            stdin: None,
            sudo: None,
            timeout: None,
        }
    }

    /// Adds one argument, quoted.
    pub fn arg(mut self, arg: impl AsRef<[u8]>) -> Command {
        self.args.push(arg.as_ref().to_vec());
        self
    }

    /// Adds several arguments, each quoted.
    pub fn args<I, A>(mut self, args: I) -> Command
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_vec()));
        self
    }

    /// Sends `bytes` on the command's standard input, then end-of-file.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Command {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs through `sudo -n` (`true`) or directly (`false`) whatever the target says; `sudo`
    /// is only ever used when the connecting user is not root.
    pub fn sudo(mut self, sudo: bool) -> Command {
        self.sudo = Some(sudo);
        self
    }

    /// How long this command may run, instead of the target's `command_timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Command {
        self.timeout = Some(timeout);
        self
    }

    /// The bytes sent on standard input, if any.
    pub fn stdin_bytes(&self) -> Option<&[u8]> {
        self.stdin.as_deref()
    }

    /// This command's own sudo choice, when it overrides the target's.
    pub fn sudo_override(&self) -> Option<bool> {
        self.sudo
    }

    /// This command's own timeout, when it overrides the target's.
    pub fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    /// The line the remote login shell runs: every word quoted, behind `sudo -n --` when `sudo`.
    pub fn command_line(&self, sudo: bool) -> Result<Vec<u8>, NulByteError> {
        let mut words: Vec<&[u8]> = Vec::with_capacity(self.args.len() + 6);
        if sudo {
            words.extend([b"sudo".as_slice(), b"-n", b"--"]);
        }
        let prefix = words.len();
        match &self.kind {
            Kind::Program(program) => words.push(program),
            Kind::Script(script) => {
                // `sh` again is `$0`, so the first user argument is `$1`.
                words.extend([b"sh".as_slice(), b"-c", script.as_bytes(), b"sh"]);
            }
        }
        words.extend(self.args.iter().map(Vec::as_slice));
        join_quoted(words).map_err(|e| NulByteError {
            index: e.index.saturating_sub(prefix),
        })
    }

    /// What to call this command in logs and errors: the program name or `shell script`, never
    /// the arguments, which may hold secrets.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Program(program) => String::from_utf8_lossy(program).into_owned(),
            Kind::Script(_) => "shell script".to_owned(),
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Arguments and stdin may hold secrets; show only their sizes.
        f.debug_struct("Command")
            .field("program", &self.describe())
            .field("args", &self.args.len())
            .field("stdin_bytes", &self.stdin.as_ref().map(Vec::len))
            .field("sudo", &self.sudo)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How a remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(u32),
    /// A signal ended it (`TERM`, `KILL`, …).
    Signal(String),
    /// The server closed the channel without saying.
    Unknown,
}

impl ExitStatus {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        *self == ExitStatus::Code(0)
    }

    /// The exit code, when it exited normally.
    pub fn code(&self) -> Option<u32> {
        match self {
            ExitStatus::Code(code) => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exit status {code}"),
            ExitStatus::Signal(signal) => write!(f, "signal {signal}"),
            ExitStatus::Unknown => f.write_str("no exit status"),
        }
    }
}

/// What a finished command returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Everything it wrote to standard output, byte for byte.
    pub stdout: Vec<u8>,
    /// Everything it wrote to standard error, byte for byte.
    pub stderr: Vec<u8>,
}

impl Output {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Standard error as text, trimmed, for messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_and_arguments_are_quoted_and_sudo_goes_first() {
        let command = Command::new("rm").args(["-f", "--", "/tmp/a b;c"]);
        assert_eq!(
            command.command_line(false).unwrap(),
            b"'rm' '-f' '--' '/tmp/a b;c'"
        );
        assert_eq!(
            command.command_line(true).unwrap(),
            b"'sudo' '-n' '--' 'rm' '-f' '--' '/tmp/a b;c'"
        );
    }

    #[test]
    fn scripts_run_under_sh_with_arguments_as_positional_parameters() {
        let command = Command::shell_script("printf '%s' \"$1\"").arg("$(id)");
        assert_eq!(
            command.command_line(false).unwrap(),
            b"'sh' '-c' 'printf '\\''%s'\\'' \"$1\"' 'sh' '$(id)'"
        );
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(String::from_utf8(command.command_line(false).unwrap()).unwrap())
            .output()
            .unwrap();
        assert_eq!(output.stdout, b"$(id)");
    }

    #[test]
    fn a_nul_byte_names_the_argument_that_holds_it() {
        let command = Command::new("echo").arg("ok").arg(b"a\0b");
        assert_eq!(
            command.command_line(true),
            Err(NulByteError { index: 2 }),
            "the index counts from the program, with or without sudo"
        );
    }

    #[test]
    fn debug_output_never_shows_arguments_or_stdin() {
        let command = Command::new("chpasswd")
            .arg("secret-argument")
            .stdin("root:secret-password");
        let shown = format!("{command:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("chpasswd"), "{shown}");
    }
}
