//! The examples folder is a contract: every example is formatted and applied here with the real CLI.

use std::path::{Path, PathBuf};

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir, workspace_root};
use acceptance_tests::echo::EchoServer;
use acceptance_tests::moto::Moto;
use acceptance_tests::steps::{Step, TestCase};
use serde_json::json;

const DEMO_ADDRESS: &str = "81.2.69.160";

fn examples_dir() -> PathBuf {
    workspace_root().join("examples")
}

/// The `.tf` files of one example directory, concatenated in name order into one configuration.
fn example_config(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .tf files in {}", dir.display());
    files
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("read an example file"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn provider_block_for(echo: &EchoServer) -> String {
    format!(
        "provider \"homelab\" {{\n  public_ip {{\n    sources = [\"{}\"]\n  }}\n}}\n",
        echo.url()
    )
}

#[test]
fn examples_are_formatted() {
    let workdir = Workdir::new("examples_are_formatted");
    let examples = examples_dir();
    let examples = examples.to_str().expect("a UTF-8 path");
    workdir.run_ok(&[
        "fmt",
        "-check",
        "-recursive",
        "-diff",
        "-no-color",
        examples,
    ]);
}

#[test]
fn homelab_example_applies_against_a_local_echo_source() {
    let echo = EchoServer::start(&format!("{DEMO_ADDRESS}\n")).expect("start an echo server");
    let sources = serde_json::to_string(&[echo.url()]).expect("strings serialize");
    // The same variable ./scripts/demo sets.
    let workdir = Workdir::new("homelab_example").with_env("TF_VAR_public_ip_sources", &sources);
    TestCase::new("homelab_example")
        .step(Step::apply(
            example_config(&examples_dir().join("homelab")),
            |state| {
                assert_eq!(state.output("home_public_ip"), Some(&json!(DEMO_ADDRESS)));
                assert_eq!(
                    state.output("home_public_ip_source"),
                    Some(&json!(echo.url()))
                );
            },
        ))
        .run_in(&workdir);
}

#[test]
fn provider_example_is_accepted_by_the_provider_schema() {
    // Terraform validates and configures a provider only when something uses it; a data source
    // with count = 0 does, without reading the example's real echo services.
    let uses_the_provider = "\ndata \"homelab_public_ip\" \"unused\" {\n  count = 0\n}\n";
    let example = example_config(&examples_dir().join("provider"));
    let broken = example.replace("timeout = \"5s\"", "timeout = \"five seconds\"");
    assert_ne!(
        broken, example,
        "the provider example no longer sets timeout = \"5s\""
    );
    TestCase::new("provider_example")
        .step(Step::apply(example + uses_the_provider, |state| {
            assert!(state.resources().is_empty(), "{:#}", state.json());
        }))
        // Proves the provider block really was checked against the schema above.
        .step(Step::expect_error(
            broken + uses_the_provider,
            Command::Plan,
            &["five seconds"],
        ))
        .run();
}

#[test]
fn public_ip_data_source_example_applies() {
    let echo = EchoServer::start(DEMO_ADDRESS).expect("start an echo server");
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{}\n{}",
        provider_block_for(&echo),
        example_config(&examples_dir().join("data-sources/homelab_public_ip"))
    );
    TestCase::new("public_ip_data_source_example")
        .step(Step::apply(config, |state| {
            assert_eq!(state.output("home_ip"), Some(&json!(DEMO_ADDRESS)));
        }))
        .run();
}

#[test]
fn dynamic_dns_record_example_applies_against_the_local_aws_api() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone("goldentooth.net");
    let echo = EchoServer::start(DEMO_ADDRESS).expect("start an echo server");
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{}\n{}",
        provider_block_for(&echo),
        example_config(&examples_dir().join("resources/homelab_dynamic_dns_record"))
    );
    let values = |name: &str| moto.record(&zone, name, "A").map(|record| record.values);
    let workdir = moto.configure(Workdir::new("dynamic_dns_record_example"));
    TestCase::new("dynamic_dns_record_example")
        .step(Step::apply(config, |_| {
            assert_eq!(
                values("clearbrook.goldentooth.net"),
                Some(vec![DEMO_ADDRESS.to_owned()])
            );
            assert_eq!(
                values("bastion.goldentooth.net"),
                Some(vec!["81.2.69.142".to_owned()])
            );
        }))
        .check_destroyed(|| {
            assert_eq!(values("clearbrook.goldentooth.net"), None);
            assert_eq!(values("bastion.goldentooth.net"), None);
        })
        .run_in(&workdir);
}
