//! Acceptance tests of `homelab_dynamic_dns_record` against a local AWS API (moto) and local
//! echo servers, through the real CLI.
//!
//! moto's Route53 gaps (constant change ids, always INSYNC, CREATE over an existing name
//! accepted) are never asserted on: the record's values in the zone are what count.

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir};
use acceptance_tests::echo::{EchoServer, refused_url};
use acceptance_tests::moto::{Moto, Record};
use acceptance_tests::show::{StateView, differing_attributes};
use acceptance_tests::steps::{Step, TestCase, assert_converged};

const ADDRESS: &str = "homelab_dynamic_dns_record.clearbrook";
const ZONE: &str = "goldentooth.net";
const NAME: &str = "clearbrook.goldentooth.net";
const FIRST_ADDRESS: &str = "81.2.69.160";
const MOVED_ADDRESS: &str = "81.2.69.142";
const HAND_EDITED_ADDRESS: &str = "81.2.69.99";

/// A configuration with one record whose arguments are `arguments` (HCL lines), and a provider
/// that asks `public_ip_source` for the home's address and adds `provider_extra` to its block.
fn config_with_provider(public_ip_source: &str, provider_extra: &str, arguments: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "homelab" {{
  public_ip {{
    sources = ["{public_ip_source}"]
    timeout = "5s"
  }}
{provider_extra}}}

resource "homelab_dynamic_dns_record" "clearbrook" {{
{arguments}
}}
"#
    )
}

fn config(public_ip_source: &str, arguments: &str) -> String {
    config_with_provider(public_ip_source, "", arguments)
}

/// The arguments of a record in `zone_id` with a fixed address and optional extra lines.
fn fixed(zone_id: &str, address: &str, extra: &str) -> String {
    format!(
        "  zone_id = \"{zone_id}\"\n  name    = \"{NAME}\"\n  type    = \"A\"\n  address = \"{address}\"\n{extra}"
    )
}

/// What moto must hold for the record.
fn expect_record(moto: &Moto, zone_id: &str, ttl: i64, address: &str) {
    assert_eq!(
        moto.record(zone_id, NAME, "A"),
        Some(Record {
            name: NAME.to_owned(),
            record_type: "A".to_owned(),
            ttl: Some(ttl),
            values: vec![address.to_owned()],
        }),
        "the record in the zone"
    );
}

fn assert_state(state: &StateView, zone_id: &str, ttl: i64, address: &str) {
    assert_eq!(state.attr_str(ADDRESS, "address"), address);
    assert_eq!(state.attr(ADDRESS, "ttl"), &serde_json::json!(ttl));
    assert_eq!(state.attr_str(ADDRESS, "zone_id"), zone_id);
    assert_eq!(state.attr_str(ADDRESS, "zone_name"), ZONE);
    assert_eq!(state.attr_str(ADDRESS, "id"), format!("{zone_id}/{NAME}/A"));
}

fn start_echo(body: &str) -> EchoServer {
    EchoServer::start(&format!("{body}\n")).expect("start a local echo server")
}

#[test]
fn dynamic_dns_record_full_step_loop() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    // This test always sets the address; a refused source makes any lookup fail loudly.
    let nowhere = refused_url().expect("find a closed port");
    let workdir = moto.configure(Workdir::new("dynamic_dns_record_full_step_loop"));
    let first = config(&nowhere, &fixed(&zone, FIRST_ADDRESS, ""));
    let updated = config(&nowhere, &fixed(&zone, MOVED_ADDRESS, "  ttl     = 60\n"));
    TestCase::new("dynamic_dns_record_full_step_loop")
        .step(Step::apply(first, |state| {
            assert_state(state, &zone, 300, FIRST_ADDRESS);
            assert_eq!(
                state.attr(ADDRESS, "allow_overwrite"),
                &serde_json::json!(false)
            );
            expect_record(&moto, &zone, 300, FIRST_ADDRESS);
        }))
        .step(Step::import_verify(
            ADDRESS,
            &format!("{zone}/{NAME}/A"),
            &[],
        ))
        .step(Step::apply(updated.clone(), |state| {
            assert_state(state, &zone, 60, MOVED_ADDRESS);
            expect_record(&moto, &zone, 60, MOVED_ADDRESS);
        }))
        .step(Step::drift(
            || moto.upsert_record(&zone, NAME, "A", 60, &[HAND_EDITED_ADDRESS]),
            &format!(r#"address = "{HAND_EDITED_ADDRESS}" -> "{MOVED_ADDRESS}""#),
        ))
        .step(Step::apply(updated.clone(), |_| {
            expect_record(&moto, &zone, 60, MOVED_ADDRESS)
        }))
        .step(Step::drift(
            || moto.delete_record(&zone, NAME, "A"),
            &format!("{ADDRESS} will be created"),
        ))
        .step(Step::apply(updated.clone(), |_| {
            expect_record(&moto, &zone, 60, MOVED_ADDRESS)
        }))
        .step(Step::expect_error(
            config(
                &nowhere,
                &fixed(&zone, MOVED_ADDRESS, "").replace("\"A\"", "\"CNAME\""),
            ),
            Command::Plan,
            // The quoted source line shows the diagnostic points at the attribute.
            &["Unsupported record type", r#"type = "CNAME""#],
        ))
        .step(Step::expect_error(
            config(&nowhere, &fixed(&zone, MOVED_ADDRESS, "  ttl     = -1\n")),
            Command::Plan,
            &["Invalid TTL", "ttl = -1"],
        ))
        .step(Step::expect_error(
            config(
                &nowhere,
                &fixed(&zone, MOVED_ADDRESS, "").replace(NAME, "clearbrook.example.org"),
            ),
            Command::Plan,
            &[
                "Name outside the hosted zone",
                r#"name = "clearbrook.example.org""#,
                "not in the hosted zone \"goldentooth.net\"",
            ],
        ))
        // The failed plans changed nothing in the zone either.
        .step(Step::apply(updated, |_| {
            expect_record(&moto, &zone, 60, MOVED_ADDRESS)
        }))
        .check_destroyed(|| {
            assert_eq!(
                moto.record(&zone, NAME, "A"),
                None,
                "destroy left the record"
            );
        })
        .run_in(&workdir);
}

/// THE point of the resource: a moved home IP shows in `plan` as an update of one attribute.
#[test]
fn dynamic_dns_record_plan_shows_a_moved_public_ip_as_a_one_attribute_update() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let echo = start_echo(FIRST_ADDRESS);
    let workdir = moto.configure(Workdir::new("dynamic_dns_record_moved_public_ip"));
    let following = config(
        &echo.url(),
        &format!(
            "  zone_name = \"{ZONE}\"\n  name      = \"{NAME}\"\n  type      = \"A\"\n  ttl       = 60"
        ),
    );
    workdir.write_config(&following);
    workdir.apply();
    expect_record(&moto, &zone, 60, FIRST_ADDRESS);
    assert_state(&workdir.show_state_json(), &zone, 60, FIRST_ADDRESS);
    assert_converged(&workdir, "after the first apply");

    echo.set_body(&format!("{MOVED_ADDRESS}\n"));
    let asked_before = echo.request_count();
    let plan = workdir.plan_detailed();
    plan.assert_changes("plan after the home IP moved");
    assert!(
        plan.output
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.output
    );
    assert!(
        echo.request_count() > asked_before,
        "the plan did not ask the echo server"
    );

    let plan = workdir.plan_json();
    assert_eq!(
        plan.changed_resources(),
        [(ADDRESS.to_owned(), vec!["update".to_owned()])],
        "{:#}",
        plan.json()
    );
    let change = plan.resource_change(ADDRESS).expect("the record's change");
    let before = change["before"].as_object().expect("a prior object");
    let after = change["after"].as_object().expect("a planned object");
    assert_eq!(
        differing_attributes(before, after, &[]),
        [format!(
            r#"address: "{FIRST_ADDRESS}" -> "{MOVED_ADDRESS}""#
        )],
        "{change:#}"
    );
    // Planned as a known value: nothing is left for apply to decide.
    let unknown = change["after_unknown"].as_object().expect("after_unknown");
    assert!(
        unknown.values().all(|v| v == &serde_json::json!(false)),
        "unknown after plan: {unknown:?}"
    );

    workdir.apply();
    expect_record(&moto, &zone, 60, MOVED_ADDRESS);
    assert_converged(&workdir, "after applying the moved address");

    // The same move again through the shared step loop, then destroy.
    TestCase::new("dynamic_dns_record_moved_public_ip")
        .step(Step::apply(following.clone(), |state| {
            assert_state(state, &zone, 60, MOVED_ADDRESS)
        }))
        .step(Step::import_verify(
            ADDRESS,
            &format!("{zone}/{NAME}/A"),
            &[],
        ))
        .step(Step::drift(
            || echo.set_body(&format!("{FIRST_ADDRESS}\n")),
            &format!(r#"address = "{MOVED_ADDRESS}" -> "{FIRST_ADDRESS}""#),
        ))
        .step(Step::apply(following, |_| {
            expect_record(&moto, &zone, 60, FIRST_ADDRESS)
        }))
        .check_destroyed(|| assert_eq!(moto.record(&zone, NAME, "A"), None))
        .run_in(&workdir);
}

#[test]
fn dynamic_dns_record_refuses_to_take_over_a_record_that_points_elsewhere() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    moto.upsert_record(&zone, NAME, "A", 120, &[HAND_EDITED_ADDRESS]);
    let nowhere = refused_url().expect("find a closed port");
    let workdir = moto.configure(Workdir::new("dynamic_dns_record_refuses_takeover"));
    TestCase::new("dynamic_dns_record_refuses_takeover")
        .step(Step::expect_error(
            config(&nowhere, &fixed(&zone, FIRST_ADDRESS, "")),
            Command::Apply,
            &[
                "DNS record already exists",
                &format!("{NAME}."),
                HAND_EDITED_ADDRESS,
                "allow_overwrite",
                &format!("{zone}/{NAME}/A"),
            ],
        ))
        .run_in(&workdir);
    assert_eq!(
        moto.record(&zone, NAME, "A").map(|r| r.values),
        Some(vec![HAND_EDITED_ADDRESS.to_owned()]),
        "the refused apply changed the record"
    );

    TestCase::new("dynamic_dns_record_takes_over_when_allowed")
        .step(Step::apply(
            config(
                &nowhere,
                &fixed(&zone, FIRST_ADDRESS, "  allow_overwrite = true\n"),
            ),
            |state| {
                assert_eq!(
                    state.attr(ADDRESS, "allow_overwrite"),
                    &serde_json::json!(true)
                );
                expect_record(&moto, &zone, 300, FIRST_ADDRESS);
            },
        ))
        .check_destroyed(|| assert_eq!(moto.record(&zone, NAME, "A"), None))
        .run_in(&workdir);
}

/// An apply killed after Route53 took the change but before terraform saved the state leaves
/// a record with the planned address; applying again adopts it instead of failing.
#[test]
fn dynamic_dns_record_adopts_a_record_that_already_holds_the_planned_address() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    moto.upsert_record(&zone, NAME, "A", 120, &[FIRST_ADDRESS]);
    let nowhere = refused_url().expect("find a closed port");
    let workdir = moto.configure(Workdir::new("dynamic_dns_record_adopts"));
    TestCase::new("dynamic_dns_record_adopts")
        .step(Step::apply(
            config(&nowhere, &fixed(&zone, FIRST_ADDRESS, "")),
            |state| {
                assert_state(state, &zone, 300, FIRST_ADDRESS);
                expect_record(&moto, &zone, 300, FIRST_ADDRESS);
            },
        ))
        .check_destroyed(|| assert_eq!(moto.record(&zone, NAME, "A"), None))
        .run_in(&workdir);
}

/// Route53 compares names without case or trailing dot and stores addresses canonically; the
/// state keeps the user's spelling, and neither the difference nor a respelled zone name
/// causes drift or a replacement.
#[test]
fn dynamic_dns_record_keeps_the_users_spelling_without_drift() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let nowhere = refused_url().expect("find a closed port");
    let workdir = moto.configure(Workdir::new("dynamic_dns_record_spelling"));
    let spelled_name = "Clearbrook.GoldenTooth.NET.";
    let spelled_address = "2A00:1450:4001:80B::200E";
    let canonical_address = "2a00:1450:4001:80b::200e";
    let arguments = |zone_name: &str, address: &str, ttl: i64| {
        config(
            &nowhere,
            &format!(
                "  zone_name = \"{zone_name}\"\n  name      = \"{spelled_name}\"\n  type      = \"AAAA\"\n  address   = \"{address}\"\n  ttl       = {ttl}"
            ),
        )
    };
    let check = |zone_name: &'static str, address: &'static str, ttl: i64| {
        let moto = &moto;
        let zone = zone.clone();
        move |state: &StateView| {
            assert_eq!(state.attr_str(ADDRESS, "name"), spelled_name);
            assert_eq!(state.attr_str(ADDRESS, "address"), address);
            assert_eq!(state.attr_str(ADDRESS, "zone_name"), zone_name);
            assert_eq!(state.attr_str(ADDRESS, "zone_id"), zone);
            assert_eq!(state.attr_str(ADDRESS, "id"), format!("{zone}/{NAME}/AAAA"));
            assert_eq!(
                moto.record(&zone, NAME, "AAAA"),
                Some(Record {
                    name: NAME.to_owned(),
                    record_type: "AAAA".to_owned(),
                    ttl: Some(ttl),
                    values: vec![canonical_address.to_owned()],
                })
            );
        }
    };
    TestCase::new("dynamic_dns_record_spelling")
        .step(Step::apply(
            arguments(ZONE, spelled_address, 300),
            check(ZONE, spelled_address, 300),
        ))
        .step(Step::apply(
            arguments("GoldenTooth.net.", spelled_address, 60),
            check("GoldenTooth.net.", spelled_address, 60),
        ))
        // Import reads the address in Route53's form, so the configuration spells it that way
        // here; the name keeps the spelling of the import id.
        .step(Step::apply(
            arguments(ZONE, canonical_address, 60),
            check(ZONE, canonical_address, 60),
        ))
        .step(Step::import_verify(
            ADDRESS,
            &format!("{zone}/{spelled_name}/AAAA"),
            &[],
        ))
        .check_destroyed(|| assert_eq!(moto.record(&zone, NAME, "AAAA"), None))
        .run_in(&workdir);
}

#[test]
fn dynamic_dns_record_uses_the_aws_block_over_the_environment() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let nowhere = refused_url().expect("find a closed port");
    // The environment points Route53 at a closed port; the provider block's endpoint and
    // credentials must win.
    let workdir = moto
        .configure(Workdir::new("dynamic_dns_record_aws_block"))
        .with_env("AWS_ENDPOINT_URL_ROUTE_53", &nowhere)
        .with_env("AWS_ACCESS_KEY_ID", "")
        .with_env("AWS_SECRET_ACCESS_KEY", "");
    let aws_block = |endpoint: &str| {
        format!(
            "  aws {{\n    region     = \"eu-west-1\"\n    access_key = \"block-key\"\n    secret_key = \"block-secret\"\n    endpoints {{\n      route53 = \"{endpoint}\"\n    }}\n  }}\n"
        )
    };
    TestCase::new("dynamic_dns_record_aws_block")
        .step(Step::expect_error(
            config_with_provider(
                &nowhere,
                &aws_block("ftp://127.0.0.1/"),
                &fixed(&zone, FIRST_ADDRESS, ""),
            ),
            Command::Plan,
            &["Invalid AWS endpoint", "ftp://127.0.0.1/"],
        ))
        .step(Step::apply(
            config_with_provider(
                &nowhere,
                &aws_block(&moto.endpoint()),
                &fixed(&zone, FIRST_ADDRESS, ""),
            ),
            |_| expect_record(&moto, &zone, 300, FIRST_ADDRESS),
        ))
        .check_destroyed(|| assert_eq!(moto.record(&zone, NAME, "A"), None))
        .run_in(&workdir);
}
