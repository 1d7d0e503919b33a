//! Acceptance tests of `homelab_acm_certificate` against a local AWS API (moto), through the
//! real CLI.
//!
//! moto issues a certificate whether or not its validation records exist, and lists the
//! validation options in a changing order: the tests check that the provider wrote the records
//! ACM asked for and waited until ACM reported the certificate issued, never that the records
//! are what made ACM issue it.

use std::cell::RefCell;

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir, require_tf_acc};
use acceptance_tests::moto::{Moto, REGION, Record, normalize};
use acceptance_tests::show::StateView;
use acceptance_tests::steps::{Step, TestCase};

const ADDRESS: &str = "homelab_acm_certificate.home_proxy";
const ZONE: &str = "goldentooth.net";
const SUBZONE: &str = "home-proxy.goldentooth.net";
const DOMAIN: &str = "home-proxy.goldentooth.net";
const WILDCARD: &str = "*.home-proxy.goldentooth.net";

/// A configuration with one certificate for `domain` and `others`, validated in `zone_id`,
/// with `extra` lines.
fn config(domain: &str, others: &[&str], zone_id: &str, extra: &str) -> String {
    let others = if others.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = others.iter().map(|name| format!("\"{name}\"")).collect();
        format!("  subject_alternative_names = [{}]\n", quoted.join(", "))
    };
    format!(
        r#"{REQUIRED_PROVIDERS}
resource "homelab_acm_certificate" "home_proxy" {{
  domain_name               = "{domain}"
{others}{extra}
  validation {{
    route53_zone_id = "{zone_id}"
  }}
}}
"#
    )
}

/// The book's certificate: the home proxy's name and its wildcard.
fn book(zone_id: &str) -> String {
    config(DOMAIN, &[WILDCARD], zone_id, "")
}

/// Checks the certificate of the state in moto and in the state: issued, covering `names`,
/// every validation record ACM lists written into `zone_id` with TTL 60 and reported in the
/// state; returns its ARN.
fn expect_certificate(
    moto: &Moto,
    state: &StateView,
    region: &str,
    zone_id: &str,
    names: &[&str],
) -> String {
    let arn = state.attr_str(ADDRESS, "arn").to_owned();
    assert_eq!(state.attr_str(ADDRESS, "id"), arn);
    assert_eq!(state.attr_str(ADDRESS, "status"), "ISSUED");
    assert_eq!(state.attr_str(ADDRESS, "region"), region);
    assert!(
        state.attr_str(ADDRESS, "not_after").ends_with('Z'),
        "not_after is an RFC 3339 time"
    );
    let detail = moto
        .certificate(region, &arn)
        .unwrap_or_else(|| panic!("moto has no certificate {arn} in {region}"));
    let mut covered: Vec<String> = detail.subject_alternative_names().to_vec();
    covered.sort();
    let mut expected: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    expected.sort();
    assert_eq!(covered, expected, "the names the certificate covers");

    // ACM's order changes between calls: compare by domain.
    let mut from_acm: Vec<(String, String, String)> = detail
        .domain_validation_options()
        .iter()
        .map(|option| {
            let record = option.resource_record().expect("a validation record");
            (
                option.domain_name().to_owned(),
                normalize(record.name()),
                record.value().to_owned(),
            )
        })
        .collect();
    from_acm.sort();
    let in_state: Vec<(String, String, String)> = state
        .attr(ADDRESS, "validation_records")
        .as_array()
        .expect("validation_records is a list")
        .iter()
        .map(|record| {
            assert_eq!(record["type"], "CNAME");
            (
                record["domain_name"].as_str().unwrap().to_owned(),
                record["name"].as_str().unwrap().to_owned(),
                record["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(in_state, from_acm, "validation_records, sorted by domain");

    let mut record_names: Vec<String> = from_acm.iter().map(|(_, name, _)| name.clone()).collect();
    record_names.dedup();
    for (_, name, value) in &from_acm {
        assert_eq!(
            moto.record(zone_id, name, "CNAME"),
            Some(Record {
                name: name.clone(),
                record_type: "CNAME".to_owned(),
                ttl: Some(60),
                values: vec![value.clone()],
            }),
            "the validation record of {name} in {zone_id}"
        );
    }
    let validation = state.attr(ADDRESS, "validation");
    assert_eq!(validation["route53_zone_id"], zone_id);
    let reported: Vec<String> = validation["records"]
        .as_array()
        .expect("validation.records is a set")
        .iter()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect();
    let expected_keys: Vec<String> = record_names.iter().map(|n| format!("{n}/CNAME")).collect();
    assert_eq!(reported, expected_keys, "validation.records");
    arn
}

/// The CNAME records of a zone.
fn cname_records(moto: &Moto, zone_id: &str) -> Vec<Record> {
    moto.records(zone_id)
        .into_iter()
        .filter(|record| record.record_type == "CNAME")
        .collect()
}

#[test]
fn acm_certificate_full_step_loop() {
    require_tf_acc();
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let subzone = moto.create_hosted_zone(SUBZONE);
    let workdir = moto.configure(Workdir::new("acm_certificate_full_step_loop"));
    let first_arn = RefCell::new(String::new());
    let moved = book(&subzone);
    TestCase::new("acm_certificate_full_step_loop")
        .step(Step::apply(book(&zone), |state| {
            let arn = expect_certificate(&moto, state, REGION, &zone, &[DOMAIN, WILDCARD]);
            assert_eq!(moto.certificate_arns(REGION), std::slice::from_ref(&arn));
            *first_arn.borrow_mut() = arn;
        }))
        .step(Step::import_verify_with(
            ADDRESS,
            |state| state.attr_str(ADDRESS, "arn").to_owned(),
            &[],
        ))
        // Moving the records to another zone keeps the certificate.
        .step(Step::apply(moved.clone(), |state| {
            let arn = expect_certificate(&moto, state, REGION, &subzone, &[DOMAIN, WILDCARD]);
            assert_eq!(
                arn,
                *first_arn.borrow(),
                "moving the records replaced the certificate"
            );
            assert_eq!(
                cname_records(&moto, &zone),
                [],
                "records left in the old zone"
            );
        }))
        .step(Step::drift(
            || {
                for record in cname_records(&moto, &subzone) {
                    moto.delete_record(&subzone, &record.name, "CNAME");
                }
            },
            "~ records",
        ))
        .step(Step::apply(moved.clone(), |state| {
            expect_certificate(&moto, state, REGION, &subzone, &[DOMAIN, WILDCARD]);
        }))
        .step(Step::drift(
            || moto.delete_certificate(REGION, &first_arn.borrow()),
            &format!("{ADDRESS} will be created"),
        ))
        .step(Step::apply(moved.clone(), |state| {
            let arn = expect_certificate(&moto, state, REGION, &subzone, &[DOMAIN, WILDCARD]);
            assert_ne!(arn, *first_arn.borrow());
            assert_eq!(moto.certificate_arns(REGION), std::slice::from_ref(&arn));
            *first_arn.borrow_mut() = arn;
        }))
        .step(Step::expect_error(
            config("home proxy.goldentooth.net", &[], &subzone, ""),
            Command::Plan,
            &[
                "Invalid domain name",
                r#"domain_name               = "home proxy"#,
            ],
        ))
        .step(Step::expect_error(
            config(DOMAIN, &[WILDCARD], &subzone, "  region = \"mars\"\n"),
            Command::Plan,
            &["Invalid region", r#"region = "mars""#],
        ))
        .step(Step::expect_error(
            config("home-proxy.example.org", &[], &subzone, ""),
            Command::Plan,
            &[
                "Names outside the validation zone",
                "home-proxy.example.org",
                "route53_zone_id",
            ],
        ))
        .step(Step::expect_error(
            config(DOMAIN, &[WILDCARD], "ZNOSUCHZONE", ""),
            Command::Plan,
            &["Hosted zone not found", "ZNOSUCHZONE"],
        ))
        // The failed plans changed nothing in ACM or the zone.
        .step(Step::apply(moved, |state| {
            let arn = expect_certificate(&moto, state, REGION, &subzone, &[DOMAIN, WILDCARD]);
            assert_eq!(arn, *first_arn.borrow());
            assert_eq!(moto.certificate_arns(REGION), [arn]);
        }))
        // Other names make another certificate; the old one goes.
        .step(Step::apply(config(DOMAIN, &[], &subzone, ""), |state| {
            let arn = expect_certificate(&moto, state, REGION, &subzone, &[DOMAIN]);
            assert_ne!(
                arn,
                *first_arn.borrow(),
                "other names must replace the certificate"
            );
            assert_eq!(moto.certificate_arns(REGION), [arn]);
        }))
        .check_destroyed(|| {
            assert_eq!(moto.certificate_arns(REGION), Vec::<String>::new());
            assert_eq!(cname_records(&moto, &zone), []);
            assert_eq!(cname_records(&moto, &subzone), []);
        })
        .run_in(&workdir);
}

/// A certificate for something other than CloudFront lives where `region` says; import finds
/// the region in the ARN.
#[test]
fn acm_certificate_in_another_region() {
    require_tf_acc();
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let workdir = moto.configure(Workdir::new("acm_certificate_other_region"));
    let region = "eu-west-1";
    TestCase::new("acm_certificate_other_region")
        .step(Step::apply(
            config(DOMAIN, &[], &zone, &format!("  region = \"{region}\"\n")),
            |state| {
                let arn = expect_certificate(&moto, state, region, &zone, &[DOMAIN]);
                assert!(arn.starts_with(&format!("arn:aws:acm:{region}:")), "{arn}");
                assert_eq!(moto.certificate_arns(REGION), Vec::<String>::new());
            },
        ))
        .step(Step::import_verify_with(
            ADDRESS,
            |state| state.attr_str(ADDRESS, "arn").to_owned(),
            &[],
        ))
        .check_destroyed(|| {
            assert_eq!(moto.certificate_arns(region), Vec::<String>::new());
            assert_eq!(cname_records(&moto, &zone), []);
        })
        .run_in(&workdir);
}
