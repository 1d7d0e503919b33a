//! Acceptance tests of `data.homelab_public_ip` against local echo servers, through the real CLI.

use std::time::Duration;

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir};
use acceptance_tests::echo::{EchoServer, refused_url};
use acceptance_tests::show::StateView;
use acceptance_tests::steps::{Step, TestCase};
use serde_json::json;

const HOME: &str = "data.homelab_public_ip.home";
const FIRST_ADDRESS: &str = "81.2.69.160";
const MOVED_ADDRESS: &str = "81.2.69.142";

/// A configuration reading the public IP from `sources`, with `data_arguments` inside the data block.
fn config_with(sources: &[&str], timeout: Option<&str>, data_arguments: &str) -> String {
    let sources = serde_json::to_string(sources).expect("strings serialize");
    let timeout = timeout.map_or(String::new(), |t| format!("\n    timeout = \"{t}\""));
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "homelab" {{
  public_ip {{
    sources = {sources}{timeout}
  }}
}}

data "homelab_public_ip" "home" {{{data_arguments}}}

output "ip" {{
  value = data.homelab_public_ip.home.ip
}}

output "source" {{
  value = data.homelab_public_ip.home.source
}}
"#
    )
}

fn config(sources: &[&str], timeout: Option<&str>) -> String {
    config_with(sources, timeout, "")
}

/// Checks that the data source and both outputs report `ip` as read from `source`.
fn assert_reads(state: &StateView, ip: &str, source: &str) {
    assert_eq!(state.attr_str(HOME, "ip"), ip);
    assert_eq!(state.attr_str(HOME, "id"), ip);
    assert_eq!(state.attr_str(HOME, "source"), source);
    assert_eq!(state.output("ip"), Some(&json!(ip)));
    assert_eq!(state.output("source"), Some(&json!(source)));
}

fn start_echo(body: &str) -> EchoServer {
    EchoServer::start(body).expect("start a local echo server")
}

#[test]
fn public_ip_reads_the_address_the_source_answers() {
    let echo = start_echo(&format!("{FIRST_ADDRESS}\n"));
    let url = echo.url();
    TestCase::new("public_ip_reads_the_address_the_source_answers")
        .step(Step::apply(config(&[&url], None), |state| {
            assert_reads(state, FIRST_ADDRESS, &url);
        }))
        .run();
    assert!(
        echo.request_lines()
            .iter()
            .all(|line| line.starts_with("GET / ")),
        "{:?}",
        echo.request_lines()
    );
}

#[test]
fn public_ip_skips_a_refused_source_and_uses_the_next() {
    let refused = refused_url().expect("find a closed port");
    let echo = start_echo(&format!("{MOVED_ADDRESS}\n"));
    let url = echo.url();
    TestCase::new("public_ip_skips_a_refused_source")
        .step(Step::apply(config(&[&refused, &url], None), |state| {
            assert_reads(state, MOVED_ADDRESS, &url);
        }))
        .run();
}

#[test]
fn public_ip_skips_a_source_that_answers_http_500() {
    let failing = start_echo(FIRST_ADDRESS);
    failing.fail_with_status(500);
    let echo = start_echo(MOVED_ADDRESS);
    let url = echo.url();
    TestCase::new("public_ip_skips_a_source_that_answers_http_500")
        .step(Step::apply(
            config(&[&failing.url(), &url], None),
            |state| {
                assert_reads(state, MOVED_ADDRESS, &url);
            },
        ))
        .run();
    assert!(
        failing.request_count() > 0,
        "the failing source was never asked"
    );
}

#[test]
fn public_ip_rejects_an_answer_that_is_not_a_public_ip() {
    for answer in [
        "garbage text\n",
        "127.0.0.1\n",
        "10.0.0.1\n",
        "192.168.1.1\n",
    ] {
        let echo = start_echo(answer);
        let url = echo.url();
        // A bad answer is an error even when a later source would answer well: a broken or
        // hijacked echo service must not move a DNS record silently.
        let good = start_echo(FIRST_ADDRESS);
        TestCase::new("public_ip_rejects_an_answer_that_is_not_a_public_ip")
            .step(Step::expect_error(
                config(&[&url, &good.url()], None),
                Command::Plan,
                &["not a public IP", &url],
            ))
            .run();
        assert_eq!(
            good.request_count(),
            0,
            "a source after a bad answer was asked"
        );
    }
}

#[test]
fn public_ip_error_lists_every_source_when_all_fail() {
    let refused = refused_url().expect("find a closed port");
    let failing = start_echo(FIRST_ADDRESS);
    failing.fail_with_status(500);
    let failing_url = failing.url();
    TestCase::new("public_ip_error_lists_every_source_when_all_fail")
        .step(Step::expect_error(
            config(&[&refused, &failing_url], None),
            Command::Apply,
            &[&refused, &failing_url],
        ))
        .run();
}

#[test]
fn public_ip_plan_shows_the_new_address_after_the_home_ip_moves() {
    let echo = start_echo(&format!("{FIRST_ADDRESS}\n"));
    let url = echo.url();
    let workdir = Workdir::new("public_ip_plan_shows_the_new_address");
    workdir.write_config(&config(&[&url], None));
    workdir.apply();

    echo.set_body(&format!("{MOVED_ADDRESS}\n"));
    let plan = workdir.plan_json();
    assert_eq!(
        plan.output_after("ip"),
        Some(&json!(MOVED_ADDRESS)),
        "{:#}",
        plan.json()
    );

    // The same move through the shared step loop: the plan shows it, apply records it, and the
    // plans after that are empty.
    echo.set_body(&format!("{FIRST_ADDRESS}\n"));
    TestCase::new("public_ip_plan_shows_the_new_address")
        .step(Step::apply(config(&[&url], None), |state| {
            assert_reads(state, FIRST_ADDRESS, &url);
        }))
        .step(Step::drift(
            || echo.set_body(&format!("{MOVED_ADDRESS}\n")),
            &format!(r#"ip = "{FIRST_ADDRESS}" -> "{MOVED_ADDRESS}""#),
        ))
        .run_in(&workdir);
    let state = workdir.show_state_json();
    assert!(state.resources().is_empty(), "{:#}", state.json());
}

#[test]
fn public_ip_fails_over_from_a_hanging_source_after_the_timeout() {
    let hanging = start_echo("");
    hanging.hang();
    let echo = start_echo(MOVED_ADDRESS);
    let url = echo.url();
    // Without a working timeout the plan would hang until the harness interrupts it.
    let workdir = Workdir::new("public_ip_fails_over_from_a_hanging_source")
        .with_command_timeout(Duration::from_secs(60));
    let config = config(&[&hanging.url(), &url], Some("1s"));
    workdir.write_config(&config);

    let plan = workdir.plan();
    assert!(
        hanging.request_count() > 0,
        "the hanging source was never asked"
    );
    // The provider's default timeout is 10 s; well under that proves the configured 1 s applied.
    assert!(
        plan.elapsed >= Duration::from_secs(1) && plan.elapsed < Duration::from_secs(8),
        "plan took {:?}",
        plan.elapsed
    );

    TestCase::new("public_ip_fails_over_from_a_hanging_source")
        .step(Step::apply(config, |state| {
            assert_reads(state, MOVED_ADDRESS, &url)
        }))
        .run_in(&workdir);
}

#[test]
fn public_ip_rejects_an_unknown_ip_version_at_plan() {
    let echo = start_echo(FIRST_ADDRESS);
    TestCase::new("public_ip_rejects_an_unknown_ip_version")
        .step(Step::expect_error(
            config_with(&[&echo.url()], None, "\n  ip_version = \"ipv5\"\n"),
            Command::Plan,
            &["ip_version", "ipv5"],
        ))
        .run();
    assert_eq!(
        echo.request_count(),
        0,
        "an invalid data source must not be read"
    );
}
