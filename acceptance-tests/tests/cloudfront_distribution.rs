//! Acceptance tests of `homelab_cloudfront_distribution` against a local AWS API (moto),
//! through the real CLI.
//!
//! moto's CloudFront gaps (ETags that never change, If-Match checked only for presence,
//! `CloudFrontDefaultCertificate: true` and legacy `ForwardedValues`/TTLs echoed beside what
//! was sent, every distribution deployed at once) are never asserted on; the empty plans after
//! every apply prove the echoes cause no drift.

use std::cell::RefCell;

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir, require_tf_acc};
use acceptance_tests::moto::{Moto, REGION};
use acceptance_tests::show::StateView;
use acceptance_tests::steps::{Step, TestCase};

const ADDRESS: &str = "homelab_cloudfront_distribution.home_proxy";
const ZONE: &str = "goldentooth.net";
const DOMAIN: &str = "home-proxy.goldentooth.net";
const WILDCARD: &str = "*.home-proxy.goldentooth.net";
const ORIGIN: &str = "clearbrook.goldentooth.net";
const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";
const ALL_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// What the steps change between applies; the rest is the book's home proxy.
#[derive(Debug, Clone)]
struct Knobs<'a> {
    certificate_arn: String,
    price_class: &'a str,
    ipv6: bool,
    comment: &'a str,
    geo_type: &'a str,
    countries: Vec<&'a str>,
    header_value: &'a str,
    retain_on_delete: bool,
}

impl Knobs<'_> {
    fn book(certificate_arn: &str) -> Knobs<'static> {
        Knobs {
            certificate_arn: certificate_arn.to_owned(),
            price_class: "PriceClass_100",
            ipv6: false,
            comment: "home proxy",
            geo_type: "whitelist",
            countries: vec![
                "US", "CA", "GB", "DE", "DK", "ES", "FI", "FR", "HU", "IE", "NO", "SE",
            ],
            header_value: "1",
            retain_on_delete: false,
        }
    }
}

fn config(zone_id: &str, knobs: &Knobs) -> String {
    let countries: Vec<String> = knobs.countries.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        r#"{REQUIRED_PROVIDERS}
resource "homelab_cloudfront_distribution" "home_proxy" {{
  aliases                  = ["{DOMAIN}", "{WILDCARD}"]
  certificate_arn          = "{certificate_arn}"
  minimum_protocol_version = "TLSv1.2_2019"
  ssl_support_method       = "sni-only"
  price_class              = "{price_class}"
  cache_policy_id          = "{CACHING_DISABLED}"
  origin_request_policy_id = "{ALL_VIEWER}"
  viewer_protocol_policy   = "allow-all"
  allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
  ipv6                     = {ipv6}
  comment                  = "{comment}"
  retain_on_delete         = {retain_on_delete}

  origin {{
    domain_name       = "{ORIGIN}"
    http_port         = 7463
    https_port        = 7464
    protocol_policy   = "http-only"
    keepalive_timeout = 5
    read_timeout      = 30
    custom_headers = {{
      "X-Home-Proxy" = "{header_value}"
    }}
  }}

  geo_restriction {{
    type      = "{geo_type}"
    locations = [{countries}]
  }}

  route53_aliases {{
    zone_id = "{zone_id}"
  }}
}}
"#,
        certificate_arn = knobs.certificate_arn,
        price_class = knobs.price_class,
        ipv6 = knobs.ipv6,
        comment = knobs.comment,
        retain_on_delete = knobs.retain_on_delete,
        header_value = knobs.header_value,
        geo_type = knobs.geo_type,
        countries = countries.join(", "),
    )
}

/// Checks what moto holds against `knobs` and the state; returns the distribution's id.
fn expect_distribution(moto: &Moto, state: &StateView, zone_id: &str, knobs: &Knobs) -> String {
    let id = state.attr_str(ADDRESS, "id").to_owned();
    let view = moto
        .distribution(&id)
        .unwrap_or_else(|| panic!("moto has no distribution {id}"));
    assert_eq!(state.attr_str(ADDRESS, "domain_name"), view.domain_name);
    assert_eq!(state.attr_str(ADDRESS, "hosted_zone_id"), "Z2FDTNDATAQYW2");
    assert_eq!(state.attr_str(ADDRESS, "status"), "Deployed");
    assert!(
        state
            .attr_str(ADDRESS, "arn")
            .ends_with(&format!("distribution/{id}"))
    );

    let config = &view.config;
    assert_eq!(view.aliases(), [WILDCARD, DOMAIN]);
    let origins = config.origins().expect("origins").items();
    assert_eq!(origins.len(), 1, "{origins:?}");
    assert_eq!(origins[0].domain_name(), ORIGIN);
    let custom = origins[0].custom_origin_config().expect("a custom origin");
    assert_eq!((custom.http_port(), custom.https_port()), (7463, 7464));
    assert_eq!(custom.origin_protocol_policy().as_str(), "http-only");
    assert_eq!(custom.origin_keepalive_timeout(), Some(5));
    assert_eq!(custom.origin_read_timeout(), Some(30));
    let headers: Vec<(&str, &str)> = origins[0]
        .custom_headers()
        .expect("custom headers")
        .items()
        .iter()
        .map(|h| (h.header_name(), h.header_value()))
        .collect();
    assert_eq!(headers, [("X-Home-Proxy", knobs.header_value)]);
    let certificate = config.viewer_certificate().expect("a viewer certificate");
    assert_eq!(
        certificate.acm_certificate_arn(),
        Some(knobs.certificate_arn.as_str())
    );
    assert_eq!(
        certificate.ssl_support_method().map(|m| m.as_str()),
        Some("sni-only")
    );
    assert_eq!(
        certificate.minimum_protocol_version().map(|v| v.as_str()),
        Some("TLSv1.2_2019")
    );
    assert_eq!(
        config.price_class().map(|p| p.as_str()),
        Some(knobs.price_class)
    );
    let mut countries: Vec<String> = knobs.countries.iter().map(|c| (*c).to_owned()).collect();
    countries.sort();
    assert_eq!(
        view.geo_restriction(),
        (knobs.geo_type.to_owned(), countries)
    );
    let behavior = config
        .default_cache_behavior()
        .expect("a default cache behaviour");
    assert_eq!(behavior.cache_policy_id(), Some(CACHING_DISABLED));
    assert_eq!(behavior.origin_request_policy_id(), Some(ALL_VIEWER));
    assert_eq!(behavior.viewer_protocol_policy().as_str(), "allow-all");
    assert_eq!(view.allowed_methods(), ALL_METHODS);
    assert!(config.enabled());
    assert_eq!(config.is_ipv6_enabled(), Some(knobs.ipv6));
    assert_eq!(config.comment(), knobs.comment);

    for alias in [DOMAIN, WILDCARD] {
        assert_eq!(
            moto.alias_target(zone_id, alias, "A").as_deref(),
            Some(view.domain_name.as_str()),
            "the A alias of {alias}"
        );
        assert_eq!(
            moto.alias_target(zone_id, alias, "AAAA").as_deref(),
            knobs.ipv6.then_some(view.domain_name.as_str()),
            "the AAAA alias of {alias}"
        );
    }
    id
}

fn no_alias_records_left(moto: &Moto, zone_id: &str) {
    for alias in [DOMAIN, WILDCARD] {
        for record_type in ["A", "AAAA"] {
            assert_eq!(
                moto.alias_target(zone_id, alias, record_type),
                None,
                "the {record_type} alias of {alias} is left"
            );
        }
    }
}

#[test]
fn cloudfront_distribution_full_step_loop() {
    require_tf_acc();
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let certificate = moto.request_certificate(REGION, DOMAIN, &[WILDCARD]);
    let workdir = moto.configure(Workdir::new("cloudfront_distribution_full_step_loop"));
    let book = Knobs::book(&certificate);
    let updated = Knobs {
        price_class: "PriceClass_200",
        ipv6: true,
        comment: "home proxy, also over IPv6",
        geo_type: "blacklist",
        countries: vec!["KP"],
        header_value: "2",
        ..book.clone()
    };
    let in_eu_west_1 = Knobs {
        certificate_arn: certificate.replace(":us-east-1:", ":eu-west-1:"),
        ..updated.clone()
    };
    let id = RefCell::new(String::new());
    TestCase::new("cloudfront_distribution_full_step_loop")
        .step(Step::apply(config(&zone, &book), |state| {
            *id.borrow_mut() = expect_distribution(&moto, state, &zone, &book);
        }))
        .step(Step::import_verify_with(
            ADDRESS,
            |state| state.attr_str(ADDRESS, "id").to_owned(),
            &[],
        ))
        .step(Step::apply(config(&zone, &updated), |state| {
            let now = expect_distribution(&moto, state, &zone, &updated);
            assert_eq!(now, *id.borrow(), "the update replaced the distribution");
        }))
        .step(Step::drift(
            || {
                moto.edit_distribution(&id.borrow(), |config| {
                    config.price_class = Some("PriceClass_All".into());
                })
            },
            r#"price_class = "PriceClass_All" -> "PriceClass_200""#,
        ))
        .step(Step::drift(
            || moto.delete_alias_record(&zone, DOMAIN, "AAAA"),
            "~ records",
        ))
        .step(Step::drift(
            || moto.edit_distribution(&id.borrow(), |config| config.enabled = false),
            "enabled = false -> true",
        ))
        .step(Step::apply(config(&zone, &updated), |state| {
            expect_distribution(&moto, state, &zone, &updated);
        }))
        .step(Step::expect_error(
            config(&zone, &in_eu_west_1),
            Command::Plan,
            &[
                "Certificate not usable by CloudFront",
                &format!("certificate_arn = \"{}\"", in_eu_west_1.certificate_arn),
                "is in eu-west-1",
            ],
        ))
        .step(Step::expect_error(
            config(
                &zone,
                &Knobs {
                    price_class: "PriceClass_50",
                    ..updated.clone()
                },
            ),
            Command::Plan,
            &[
                "Unsupported price class",
                r#"price_class = "PriceClass_50""#,
            ],
        ))
        .step(Step::expect_error(
            config(
                &zone,
                &Knobs {
                    countries: vec!["US", "XX", "uk"],
                    ..updated.clone()
                },
            ),
            Command::Plan,
            &["Unknown country code", r#""XX", "uk" are not ISO 3166-1"#],
        ))
        // The failed plans changed nothing in CloudFront or the zone.
        .step(Step::apply(config(&zone, &updated), |state| {
            let now = expect_distribution(&moto, state, &zone, &updated);
            assert_eq!(now, *id.borrow());
            assert_eq!(moto.distribution_ids(), [now]);
        }))
        .check_destroyed(|| {
            assert_eq!(moto.distribution_ids(), Vec::<String>::new());
            no_alias_records_left(&moto, &zone);
        })
        .run_in(&workdir);
}

/// `retain_on_delete` keeps the distribution, disabled, and still removes the alias records.
#[test]
fn cloudfront_distribution_retain_on_delete_only_disables() {
    require_tf_acc();
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let certificate = moto.request_certificate(REGION, DOMAIN, &[WILDCARD]);
    let workdir = moto.configure(Workdir::new("cloudfront_distribution_retain"));
    let retained = Knobs {
        retain_on_delete: true,
        ..Knobs::book(&certificate)
    };
    let id = RefCell::new(String::new());
    TestCase::new("cloudfront_distribution_retain")
        .step(Step::apply(config(&zone, &retained), |state| {
            *id.borrow_mut() = expect_distribution(&moto, state, &zone, &retained);
        }))
        .check_destroyed(|| {
            let view = moto
                .distribution(&id.borrow())
                .expect("retain_on_delete keeps the distribution");
            assert!(
                !view.config.enabled(),
                "the retained distribution is still enabled"
            );
            no_alias_records_left(&moto, &zone);
        })
        .run_in(&workdir);
}

/// A certificate ARN known only at apply time (another resource's output) is checked in the
/// plan made just before applying: the distribution is never created with it.
#[test]
fn cloudfront_distribution_refuses_a_certificate_from_another_region_known_only_at_apply() {
    require_tf_acc();
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let workdir = moto.configure(Workdir::new("cloudfront_distribution_late_arn"));
    let certificate = format!(
        r#"
resource "homelab_acm_certificate" "elsewhere" {{
  domain_name = "{DOMAIN}"
  region      = "eu-west-1"
  validation {{
    route53_zone_id = "{zone}"
  }}
}}
"#
    );
    let distribution = config(&zone, &Knobs::book("CERTIFICATE"))
        .replace("\"CERTIFICATE\"", "homelab_acm_certificate.elsewhere.arn");
    workdir.write_config(&format!("{distribution}{certificate}"));
    workdir.expect_errors(
        Command::Apply,
        &["Certificate not usable by CloudFront", "is in eu-west-1"],
    );
    assert_eq!(moto.distribution_ids(), Vec::<String>::new());
    no_alias_records_left(&moto, &zone);
    // Every plan, the one destroy makes first included, refuses the distribution now that the
    // ARN is known: the operator drops it to clean up.
    workdir.write_config(&format!("{REQUIRED_PROVIDERS}{certificate}"));
    workdir.destroy();
    assert_eq!(moto.certificate_arns("eu-west-1"), Vec::<String>::new());
}
