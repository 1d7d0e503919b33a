//! What one CLI run printed, and the check that terraform saw no contract violation in it.

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

/// Texts terraform prints when a provider breaks the plugin protocol's contract; none may appear in
/// any test's output. Taken from hashicorp/terraform's `internal/terraform`, `internal/plugin6` and
/// `internal/logging`, plus go-plugin's handshake errors and Rust's own panic message.
pub const CONTRACT_VIOLATIONS: &[&str] = &[
    // Summaries of the diagnostics terraform raises after checking a provider's answers.
    "Provider produced inconsistent result",
    "Provider produced invalid plan",
    "Provider produced inconsistent final plan",
    "Provider produced invalid object",
    "Provider produced null object",
    "Provider produced invalid identity",
    "Provider produced an identity that doesn't match the schema",
    "Provider produced invalid ephemeral resource instance",
    "Provider returned invalid result object",
    "Provider returned invalid value",
    // Their details, which also catch variants whose summary we have not listed.
    "produced an unexpected new value",
    "produced an invalid new value",
    "planned an invalid value",
    "This is a bug in the provider, which should be reported in the provider's own issue tracker",
    // gRPC failures: the plugin died, returned a status instead of diagnostics, or lacks a method.
    "Plugin did not respond",
    "The plugin encountered an error",
    "Plugin error",
    "Unsupported plugin method",
    // The go-plugin handshake failed.
    "Failed to read any lines from plugin's stdout",
    "Unrecognized remote plugin message",
    // Crashes of the plugin or of terraform itself.
    "plugin crashed!",
    "TERRAFORM CRASH",
    "panic",
];

/// Collapses terraform's line wrapping (78 columns when not on a terminal) and the `│` diagnostic
/// frame, so a phrase matches however the CLI happened to break it.
pub fn normalize_output(text: &str) -> String {
    text.lines()
        .map(|line| line.trim_start_matches(|c: char| c.is_whitespace() || "│╷╵".contains(c)))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a `-detailed-exitcode` plan proposed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanChanges {
    /// Exit code 0: nothing to do.
    None,
    /// Exit code 2: the plan has changes (or, for `-refresh-only`, the refresh found some).
    Present,
}

/// What one CLI invocation did.
#[derive(Debug, Clone)]
pub struct CliOutput {
    /// The command line, for messages.
    pub command_line: String,
    /// How the process exited.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl CliOutput {
    /// Whether the process exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code, if the process was not killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Stdout followed by stderr.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Whether the combined output contains `text`, ignoring how terraform wrapped lines.
    pub fn contains(&self, text: &str) -> bool {
        normalize_output(&self.combined()).contains(&normalize_output(text))
    }

    /// Panics with the full output unless the command succeeded.
    pub fn expect_success(self, what: &str) -> Self {
        if !self.success() {
            panic!("{what} failed\n{self}");
        }
        self
    }

    /// Panics with the full output if any contract-violation text appears in it.
    pub fn assert_no_contract_violation(&self) {
        let output = normalize_output(&self.combined());
        for needle in CONTRACT_VIOLATIONS {
            if output.contains(&normalize_output(needle)) {
                panic!(
                    "the output contains {needle:?}: the provider broke terraform's contract\n{self}"
                );
            }
        }
    }
}

impl fmt::Display for CliOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command_line)?;
        writeln!(f, "{} after {:.1?}", self.status, self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// The outcome of a plan run with `-detailed-exitcode`.
#[derive(Debug, Clone)]
pub struct DetailedPlan {
    /// Whether the plan proposed anything.
    pub changes: PlanChanges,
    /// The CLI's output.
    pub output: CliOutput,
}

impl DetailedPlan {
    /// Panics with the plan unless it is empty; `context` says which plan this was.
    pub fn assert_no_changes(&self, context: &str) {
        if self.changes != PlanChanges::None {
            panic!("{context}: expected an empty plan\n{}", self.output);
        }
    }

    /// Panics unless the plan has changes; `context` says which plan this was.
    pub fn assert_changes(&self, context: &str) {
        if self.changes != PlanChanges::Present {
            panic!("{context}: expected a plan with changes\n{}", self.output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_output_undoes_terraform_line_wrapping() {
        let wrapped = "╷\n│ Error: Provider produced\n│ invalid plan\n│\n│   more\n╵\n";
        assert_eq!(
            normalize_output(wrapped),
            "Error: Provider produced invalid plan more"
        );
    }
}
