//! The book's whole home proxy in one plan, against a local AWS API (moto) and a local echo
//! server standing in for the home's public IP: the dynamic record `clearbrook` as the origin,
//! the ACM certificate with its wildcard, the distribution with both aliases and the book's
//! settings, and the alias records; applied, planned again empty, followed when the home IP
//! moves, and destroyed until nothing is left in moto.

use std::cell::RefCell;

use acceptance_tests::cli::{REQUIRED_PROVIDERS, Workdir, require_tf_acc};
use acceptance_tests::echo::EchoServer;
use acceptance_tests::moto::{Moto, REGION, Record};
use acceptance_tests::show::StateView;
use acceptance_tests::steps::{Step, TestCase};

const ZONE: &str = "goldentooth.net";
const ORIGIN: &str = "clearbrook.goldentooth.net";
const DOMAIN: &str = "home-proxy.goldentooth.net";
const WILDCARD: &str = "*.home-proxy.goldentooth.net";
const HOME_IP: &str = "81.2.69.160";
const MOVED_HOME_IP: &str = "81.2.69.142";
const RECORD: &str = "homelab_dynamic_dns_record.clearbrook";
const CERTIFICATE: &str = "homelab_acm_certificate.home_proxy";
const DISTRIBUTION: &str = "homelab_cloudfront_distribution.home_proxy";

/// The home proxy as the book built it; `retain_on_delete` as given.
fn home_proxy(echo_url: &str, retain_on_delete: bool) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "homelab" {{
  public_ip {{
    sources = ["{echo_url}"]
    timeout = "5s"
  }}
}}

resource "homelab_dynamic_dns_record" "clearbrook" {{
  zone_name = "{ZONE}"
  name      = "{ORIGIN}"
  type      = "A"
  ttl       = 60
}}

resource "homelab_acm_certificate" "home_proxy" {{
  domain_name               = "{DOMAIN}"
  subject_alternative_names = ["{WILDCARD}"]
  validation {{
    route53_zone_id = homelab_dynamic_dns_record.clearbrook.zone_id
  }}
}}

resource "homelab_cloudfront_distribution" "home_proxy" {{
  aliases                  = ["{DOMAIN}", "{WILDCARD}"]
  certificate_arn          = homelab_acm_certificate.home_proxy.arn
  ssl_support_method       = "sni-only"
  minimum_protocol_version = "TLSv1.2_2019"
  price_class              = "PriceClass_100"
  cache_policy_id          = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  origin_request_policy_id = "216adef6-5c7f-47e4-b989-5492eafa07d3"
  viewer_protocol_policy   = "allow-all"
  allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
  ipv6                     = false
  wait_for_deployment      = false
  retain_on_delete         = {retain_on_delete}

  origin {{
    domain_name       = homelab_dynamic_dns_record.clearbrook.name
    http_port         = 7463
    https_port        = 7464
    protocol_policy   = "http-only"
    keepalive_timeout = 5
    read_timeout      = 30
  }}

  geo_restriction {{
    type      = "whitelist"
    locations = ["US", "CA", "GB", "DE", "DK", "ES", "FI", "FR", "HU", "IE", "NO", "SE"]
  }}

  route53_aliases {{
    zone_id = homelab_dynamic_dns_record.clearbrook.zone_id
  }}
}}
"#
    )
}

/// Checks every part of the home proxy in moto; returns the distribution's id.
fn expect_home_proxy(moto: &Moto, state: &StateView, zone_id: &str, home_ip: &str) -> String {
    assert_eq!(
        moto.record(zone_id, ORIGIN, "A"),
        Some(Record {
            name: ORIGIN.to_owned(),
            record_type: "A".to_owned(),
            ttl: Some(60),
            values: vec![home_ip.to_owned()],
        }),
        "the dynamic record"
    );

    let arn = state.attr_str(CERTIFICATE, "arn");
    assert_eq!(state.attr_str(CERTIFICATE, "status"), "ISSUED");
    let certificate = moto
        .certificate(REGION, arn)
        .expect("the certificate in us-east-1");
    let mut names = certificate.subject_alternative_names().to_vec();
    names.sort();
    assert_eq!(names, [WILDCARD, DOMAIN]);
    for option in certificate.domain_validation_options() {
        let record = option.resource_record().expect("a validation record");
        let found = moto
            .record(zone_id, record.name(), "CNAME")
            .unwrap_or_else(|| panic!("no validation record {}", record.name()));
        assert_eq!(
            (found.ttl, found.values),
            (Some(60), vec![record.value().to_owned()])
        );
    }

    let id = state.attr_str(DISTRIBUTION, "id").to_owned();
    let view = moto.distribution(&id).expect("the distribution");
    let config = &view.config;
    assert_eq!(view.aliases(), [WILDCARD, DOMAIN]);
    let origin = &config.origins().expect("origins").items()[0];
    assert_eq!(origin.domain_name(), ORIGIN);
    let custom = origin.custom_origin_config().expect("a custom origin");
    assert_eq!((custom.http_port(), custom.https_port()), (7463, 7464));
    assert_eq!(custom.origin_protocol_policy().as_str(), "http-only");
    assert_eq!(
        (
            custom.origin_keepalive_timeout(),
            custom.origin_read_timeout()
        ),
        (Some(5), Some(30))
    );
    let viewer = config.viewer_certificate().expect("a viewer certificate");
    assert_eq!(viewer.acm_certificate_arn(), Some(arn));
    assert_eq!(
        viewer.ssl_support_method().map(|m| m.as_str()),
        Some("sni-only")
    );
    assert_eq!(
        viewer.minimum_protocol_version().map(|v| v.as_str()),
        Some("TLSv1.2_2019")
    );
    let behavior = config
        .default_cache_behavior()
        .expect("a default cache behaviour");
    assert_eq!(
        behavior.cache_policy_id(),
        Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    );
    assert_eq!(
        behavior.origin_request_policy_id(),
        Some("216adef6-5c7f-47e4-b989-5492eafa07d3")
    );
    assert_eq!(behavior.viewer_protocol_policy().as_str(), "allow-all");
    assert_eq!(
        view.allowed_methods(),
        ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    );
    let (geo_type, mut countries) = view.geo_restriction();
    countries.sort();
    assert_eq!(geo_type, "whitelist");
    assert_eq!(
        countries,
        [
            "CA", "DE", "DK", "ES", "FI", "FR", "GB", "HU", "IE", "NO", "SE", "US"
        ]
    );
    assert_eq!(
        config.price_class().map(|p| p.as_str()),
        Some("PriceClass_100")
    );
    assert_eq!(config.is_ipv6_enabled(), Some(false));
    assert!(config.enabled());

    for alias in [DOMAIN, WILDCARD] {
        assert_eq!(
            moto.alias_target(zone_id, alias, "A").as_deref(),
            Some(view.domain_name.as_str()),
            "the A alias of {alias}"
        );
        assert_eq!(moto.alias_target(zone_id, alias, "AAAA"), None);
    }
    id
}

#[test]
fn home_proxy_in_one_plan() {
    require_tf_acc();
    let moto = Moto::start();
    let zone = moto.create_hosted_zone(ZONE);
    let echo = EchoServer::start(&format!("{HOME_IP}\n")).expect("start an echo server");
    let workdir = moto.configure(Workdir::new("home_proxy_in_one_plan"));
    let book = home_proxy(&echo.url(), true);
    let distribution_id = RefCell::new(String::new());
    TestCase::new("home_proxy_in_one_plan")
        .step(Step::apply(book.clone(), |state| {
            assert_eq!(
                state.managed_addresses().len(),
                3,
                "{:?}",
                state.managed_addresses()
            );
            *distribution_id.borrow_mut() = expect_home_proxy(&moto, state, &zone, HOME_IP);
        }))
        // The home IP moves: the plan updates the dynamic record and nothing else (the
        // distribution's origin is the name, not the address).
        .step(Step::drift(
            || {
                echo.set_body(&format!("{MOVED_HOME_IP}\n"));
                let plan = workdir.plan_json();
                assert_eq!(
                    plan.changed_resources(),
                    [(RECORD.to_owned(), vec!["update".to_owned()])],
                    "{:#}",
                    plan.json()
                );
            },
            &format!(r#"address = "{HOME_IP}" -> "{MOVED_HOME_IP}""#),
        ))
        .step(Step::apply(book, |state| {
            let id = expect_home_proxy(&moto, state, &zone, MOVED_HOME_IP);
            assert_eq!(id, *distribution_id.borrow());
        }))
        // The book retains the distribution on destroy; tearing the demo down completely
        // first turns that off, which changes nothing in AWS.
        .step(Step::apply(home_proxy(&echo.url(), false), |state| {
            let id = expect_home_proxy(&moto, state, &zone, MOVED_HOME_IP);
            assert_eq!(id, *distribution_id.borrow());
        }))
        .check_destroyed(|| {
            assert_eq!(moto.distribution_ids(), Vec::<String>::new());
            assert_eq!(moto.certificate_arns(REGION), Vec::<String>::new());
            let left: Vec<String> = moto
                .records(&zone)
                .into_iter()
                .map(|record| format!("{} {}", record.name, record.record_type))
                .collect();
            assert_eq!(left, ["goldentooth.net NS", "goldentooth.net SOA"]);
        })
        .run_in(&workdir);
}
