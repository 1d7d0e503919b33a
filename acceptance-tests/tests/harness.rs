//! Proves the CLI harness and the step loop against the real terraform/tofu CLI, using only its built-in `terraform_data` resource.

use std::cell::Cell;
use std::time::Duration;

use acceptance_tests::cli::{Command, PlanChanges, Workdir};
use acceptance_tests::steps::{Step, TestCase};
use serde_json::json;

const DATA_V1: &str = r#"
resource "terraform_data" "example" {}

output "id" {
  value = terraform_data.example.id
}
"#;

const DATA_V2: &str = r#"
resource "terraform_data" "example" {
  input = "second"
}

output "id" {
  value = terraform_data.example.id
}

output "input" {
  value = terraform_data.example.output
}

output "drifting" {
  value = trimspace(file("${path.module}/drifting.txt"))
}
"#;

const UNDECLARED_REFERENCE: &str = r#"
resource "terraform_data" "example" {}

output "id" {
  value = terraform_data.missing.id
}
"#;

#[test]
fn step_loop_applies_imports_rejects_repairs_drift_and_destroys_with_the_real_cli() {
    let workdir = Workdir::new("harness-step-loop").with_parallelism(2);
    let drifting_file = workdir.config_dir().join("drifting.txt");
    std::fs::write(&drifting_file, "one\n").unwrap();
    let destroyed_checked = Cell::new(false);

    TestCase::new("harness-step-loop")
        .step(Step::apply(DATA_V1, |state| {
            let id = state.attr_str("terraform_data.example", "id");
            assert!(!id.is_empty());
            assert_eq!(state.output("id"), Some(&json!(id)));
        }))
        .step(Step::import_verify_with(
            "terraform_data.example",
            |state| state.attr_str("terraform_data.example", "id").to_owned(),
            &[],
        ))
        .step(Step::expect_error(
            UNDECLARED_REFERENCE,
            Command::Plan,
            &["Reference to undeclared resource", "terraform_data.missing"],
        ))
        .step(Step::apply(DATA_V2, |state| {
            assert_eq!(
                state.attr("terraform_data.example", "output"),
                &json!("second")
            );
            assert_eq!(state.output("drifting"), Some(&json!("one")));
        }))
        // The output reads a file, so editing it behind terraform's back is real drift.
        .step(Step::drift(
            || std::fs::write(&drifting_file, "two\n").unwrap(),
            r#""one" -> "two""#,
        ))
        .check_destroyed(|| destroyed_checked.set(true))
        .run_in(&workdir);

    assert!(destroyed_checked.get(), "check_destroyed did not run");
    let state = workdir.show_state_json();
    assert!(state.resources().is_empty(), "{:#}", state.json());
}

#[test]
fn plan_json_and_detailed_exit_codes_report_output_changes() {
    let workdir = Workdir::new("harness-plan-json").with_env("TF_VAR_greeting", "hello");
    workdir.write_config(
        "variable \"greeting\" {}\n\noutput \"greeting\" {\n  value = var.greeting\n}\n",
    );

    let plan = workdir.plan_json();
    assert_eq!(plan.output_after("greeting"), Some(&json!("hello")));
    assert_eq!(workdir.plan_detailed().changes, PlanChanges::Present);

    workdir.apply();
    assert_eq!(workdir.outputs_json()["greeting"]["value"], json!("hello"));
    assert_eq!(workdir.plan_detailed().changes, PlanChanges::None);
    assert_eq!(workdir.plan_no_refresh().changes, PlanChanges::None);
    assert_eq!(workdir.refresh_only_plan().changes, PlanChanges::None);
}

#[test]
fn every_command_line_carries_the_automation_flags() {
    let workdir = Workdir::new("harness-flags").with_parallelism(3);
    assert_eq!(
        workdir.command_args(Command::Import {
            address: "homelab_file.motd",
            id: "10.4.0.10:/etc/motd",
        }),
        [
            "import",
            "-input=false",
            "-no-color",
            "-parallelism=3",
            "homelab_file.motd",
            "10.4.0.10:/etc/motd",
        ]
    );
    assert_eq!(
        workdir.command_args(Command::Apply),
        [
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-parallelism=3"
        ]
    );
    let config = std::fs::read_to_string(workdir.cli_config_file()).unwrap();
    assert!(config.contains(r#""homelab/homelab" = "#), "{config}");
}

#[test]
#[should_panic(expected = "broke terraform's contract")]
fn contract_violation_text_in_any_output_fails_the_run() {
    let workdir = Workdir::new("harness-contract");
    // The CLI prints the planned output value, which is enough to trip the check.
    workdir.write_config("output \"x\" {\n  value = \"Provider produced invalid plan\"\n}\n");
    workdir.plan();
}

#[test]
#[should_panic(expected = "expected Plan to fail")]
fn expect_error_rejects_a_command_that_succeeds() {
    let workdir = Workdir::new("harness-expect-error");
    workdir.write_config("output \"x\" {\n  value = 1\n}\n");
    workdir.expect_error(Command::Plan, "anything");
}

#[test]
#[should_panic(expected = "interrupted after")]
fn a_command_past_its_timeout_is_interrupted() {
    let workdir = Workdir::new("harness-timeout").with_command_timeout(Duration::from_millis(1));
    workdir.write_config("output \"x\" {\n  value = 1\n}\n");
    workdir.plan();
}
