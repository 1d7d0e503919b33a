//! The step loop every acceptance test shares: apply and check, empty plans, import-verify,
//! expected errors that change nothing, drift and its repair, then destroy.
//!
//! Name a test after what it proves, and a regression test after the problem it pins
//! (`nfs_export_survives_a_stray_space_before_the_options`), not after an issue number.

use std::panic::{self, AssertUnwindSafe};

use crate::cli::{Command, Workdir};
use crate::show::{StateView, differing_attributes};

/// A check run on the state after an apply.
pub type StateCheck<'a> = Box<dyn Fn(&StateView) + 'a>;

/// The id an [`Step::ImportVerify`] step imports by.
pub enum ImportId<'a> {
    /// A natural key known in advance, e.g. `10.4.0.10:/etc/motd`.
    Fixed(String),
    /// An id only the state knows, e.g. a CloudFront distribution id assigned by AWS.
    FromState(Box<dyn Fn(&StateView) -> String + 'a>),
}

/// One step of a [`TestCase`].
pub enum Step<'a> {
    /// Writes `config`, plans, applies, runs `check` on the state, then demands an empty plan with
    /// refresh, an empty plan without refresh, and a refresh-only plan that finds nothing to update.
    Apply {
        /// The whole configuration, written as `main.tf`.
        config: String,
        /// Assertions on the state after the apply.
        check: StateCheck<'a>,
    },
    /// Forgets `address` (`state rm`), imports it by `id`, compares every attribute but `ignore`
    /// with the values before, then demands empty plans as after an apply.
    ImportVerify {
        /// The resource address, e.g. `homelab_file.motd`.
        address: String,
        /// The import id.
        id: ImportId<'a>,
        /// Attributes that import cannot read back (write-only values, timeouts).
        ignore: Vec<&'a str>,
    },
    /// Writes `config`, runs `command`, which must fail with every text in `contains`, and checks
    /// that the state is exactly what it was; the last applied configuration is then restored.
    ExpectError {
        /// The bad configuration.
        config: String,
        /// The command that must fail (usually plan or apply).
        command: Command<'a>,
        /// Texts the output must contain, matched regardless of terraform's line wrapping.
        contains: Vec<String>,
    },
    /// Runs `mutate` (an edit behind terraform's back), demands a plan with changes whose output
    /// contains `expect_plan_contains`, applies, then demands empty plans as after an apply.
    Drift {
        /// The out-of-band change.
        mutate: Box<dyn Fn() + 'a>,
        /// A text the plan must show, e.g. the attribute that drifted.
        expect_plan_contains: String,
    },
}

impl<'a> Step<'a> {
    /// An [`Step::Apply`] step.
    pub fn apply(config: impl Into<String>, check: impl Fn(&StateView) + 'a) -> Self {
        Step::Apply {
            config: config.into(),
            check: Box::new(check),
        }
    }

    /// An [`Step::ImportVerify`] step importing by a known id.
    pub fn import_verify(address: &str, id: &str, ignore: &[&'a str]) -> Self {
        Step::ImportVerify {
            address: address.to_owned(),
            id: ImportId::Fixed(id.to_owned()),
            ignore: ignore.to_vec(),
        }
    }

    /// An [`Step::ImportVerify`] step importing by an id read from the state before the `state rm`.
    pub fn import_verify_with(
        address: &str,
        id: impl Fn(&StateView) -> String + 'a,
        ignore: &[&'a str],
    ) -> Self {
        Step::ImportVerify {
            address: address.to_owned(),
            id: ImportId::FromState(Box::new(id)),
            ignore: ignore.to_vec(),
        }
    }

    /// An [`Step::ExpectError`] step.
    pub fn expect_error(
        config: impl Into<String>,
        command: Command<'a>,
        contains: &[&str],
    ) -> Self {
        Step::ExpectError {
            config: config.into(),
            command,
            contains: contains.iter().map(|text| (*text).to_owned()).collect(),
        }
    }

    /// A [`Step::Drift`] step.
    pub fn drift(mutate: impl Fn() + 'a, expect_plan_contains: &str) -> Self {
        Step::Drift {
            mutate: Box::new(mutate),
            expect_plan_contains: expect_plan_contains.to_owned(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Step::Apply { .. } => "apply and check".to_owned(),
            Step::ImportVerify { address, .. } => format!("import {address} and verify"),
            Step::ExpectError {
                command, contains, ..
            } => {
                format!("{command:?} must fail with {contains:?}")
            }
            Step::Drift {
                expect_plan_contains,
                ..
            } => {
                format!("drift must show {expect_plan_contains:?}, then be repaired")
            }
        }
    }
}

/// A named sequence of steps, always ending with `destroy` and the optional `check_destroyed`.
pub struct TestCase<'a> {
    /// Names the working directory and the log lines.
    pub name: &'a str,
    /// The steps, run in order.
    pub steps: Vec<Step<'a>>,
    /// Assertions after the final destroy, e.g. that the file is gone from the host.
    pub check_destroyed: Option<Box<dyn Fn() + 'a>>,
}

impl<'a> TestCase<'a> {
    /// A test case with no steps yet.
    pub fn new(name: &'a str) -> Self {
        TestCase {
            name,
            steps: Vec::new(),
            check_destroyed: None,
        }
    }

    /// Appends a step.
    pub fn step(mut self, step: Step<'a>) -> Self {
        self.steps.push(step);
        self
    }

    /// Sets the check run after the final destroy.
    pub fn check_destroyed(mut self, check: impl Fn() + 'a) -> Self {
        self.check_destroyed = Some(Box::new(check));
        self
    }

    /// Runs the steps in a fresh [`Workdir`] named after the test case.
    pub fn run(self) {
        let workdir = Workdir::new(self.name);
        self.run_in(&workdir);
    }

    /// Runs the steps in `workdir` (for tests that need extra environment or parallelism).
    ///
    /// If a step fails, the last applied configuration is destroyed on a best-effort basis before
    /// the failure propagates, so a broken test does not leave objects on the test hosts.
    pub fn run_in(self, workdir: &Workdir) {
        let TestCase {
            name,
            steps,
            check_destroyed,
        } = self;
        let mut applied_config: Option<String> = None;
        let total = steps.len();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            for (index, step) in steps.iter().enumerate() {
                eprintln!("[{name}] step {}/{total}: {}", index + 1, step.describe());
                run_step(workdir, step, &mut applied_config);
            }
        }));
        if let Err(failure) = outcome {
            destroy_after_failure(name, workdir, applied_config.as_deref());
            panic::resume_unwind(failure);
        }
        if let Some(config) = &applied_config {
            eprintln!("[{name}] destroy");
            workdir.write_config(config);
            workdir.destroy();
            let remaining = workdir.show_state_json().managed_addresses();
            assert!(
                remaining.is_empty(),
                "[{name}] destroy left resources in the state: {remaining:?}"
            );
        }
        if let Some(check) = check_destroyed {
            check();
        }
    }
}

fn run_step(workdir: &Workdir, step: &Step<'_>, applied_config: &mut Option<String>) {
    match step {
        Step::Apply { config, check } => {
            workdir.write_config(config);
            workdir.plan();
            // Recorded before the apply so a failed apply still gets destroyed.
            *applied_config = Some(config.clone());
            workdir.apply();
            check(&workdir.show_state_json());
            assert_converged(workdir, "after apply");
        }
        Step::ImportVerify {
            address,
            id,
            ignore,
        } => {
            require_applied(applied_config, "import-verify");
            let before = workdir.show_state_json();
            let before_values = before.values(address).clone();
            let id = match id {
                ImportId::Fixed(id) => id.clone(),
                ImportId::FromState(id_from_state) => id_from_state(&before),
            };
            workdir.state_rm(address);
            workdir.import(address, &id);
            let after = workdir.show_state_json();
            let differences = differing_attributes(&before_values, after.values(address), ignore);
            assert!(
                differences.is_empty(),
                "import of {address} as {id:?} read back different values:\n  {}",
                differences.join("\n  ")
            );
            assert_converged(workdir, "after import");
        }
        Step::ExpectError {
            config,
            command,
            contains,
        } => {
            let before = workdir.show_state_json();
            workdir.write_config(config);
            let texts: Vec<&str> = contains.iter().map(String::as_str).collect();
            workdir.expect_errors(*command, &texts);
            let after = workdir.show_state_json();
            assert!(
                before == after,
                "the failed {command:?} changed the state\nbefore: {:#}\nafter: {:#}",
                before.json(),
                after.json()
            );
            workdir.write_config(applied_config.as_deref().unwrap_or(""));
        }
        Step::Drift {
            mutate,
            expect_plan_contains,
        } => {
            require_applied(applied_config, "drift");
            mutate();
            let plan = workdir.plan_detailed();
            plan.assert_changes("plan after an out-of-band change");
            assert!(
                plan.output.contains(expect_plan_contains),
                "the plan after an out-of-band change does not show {expect_plan_contains:?}\n{}",
                plan.output
            );
            workdir.apply();
            assert_converged(workdir, "after repairing drift");
        }
    }
}

/// Asserts terraform's convergence contract: nothing to do with refresh, nothing to do without
/// refresh, and a refresh that finds the stored state up to date.
pub fn assert_converged(workdir: &Workdir, context: &str) {
    workdir
        .plan_detailed()
        .assert_no_changes(&format!("plan {context}"));
    workdir
        .plan_no_refresh()
        .assert_no_changes(&format!("plan -refresh=false {context}"));
    workdir
        .refresh_only_plan()
        .assert_no_changes(&format!("plan -refresh-only {context}"));
}

fn require_applied(applied_config: &Option<String>, what: &str) {
    assert!(
        applied_config.is_some(),
        "a {what} step needs an Apply step before it"
    );
}

fn destroy_after_failure(name: &str, workdir: &Workdir, applied_config: Option<&str>) {
    let Some(config) = applied_config else {
        return;
    };
    eprintln!("[{name}] a step failed; destroying what the last applied configuration created");
    workdir.write_config(config);
    // A second panic here would abort the process and hide the first failure, so the outcome of
    // the cleanup is only reported.
    let cleanup = panic::catch_unwind(AssertUnwindSafe(|| {
        let args = workdir.command_args(Command::Destroy);
        workdir.run(&args)
    }));
    match cleanup {
        Ok(output) if output.success() => eprintln!("[{name}] cleanup destroy succeeded"),
        Ok(output) => eprintln!("[{name}] cleanup destroy failed\n{output}"),
        Err(_) => eprintln!("[{name}] cleanup destroy panicked"),
    }
}
