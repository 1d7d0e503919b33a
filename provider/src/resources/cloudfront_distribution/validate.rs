//! The checks of `homelab_cloudfront_distribution` that need no I/O; every error names its
//! attribute, and values not known yet are left for later.

use crate::aws::arn::Arn;
use crate::aws::config::CLOUDFRONT_CERTIFICATE_REGION;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value, timeouts};

const PRICE_CLASSES: [&str; 3] = ["PriceClass_100", "PriceClass_200", "PriceClass_All"];
const VIEWER_PROTOCOL_POLICIES: [&str; 3] = ["allow-all", "https-only", "redirect-to-https"];
const ORIGIN_PROTOCOL_POLICIES: [&str; 3] = ["http-only", "https-only", "match-viewer"];
const SSL_SUPPORT_METHODS: [&str; 3] = ["sni-only", "vip", "static-ip"];
const MINIMUM_PROTOCOL_VERSIONS: [&str; 9] = [
    "SSLv3",
    "TLSv1",
    "TLSv1_2016",
    "TLSv1.1_2016",
    "TLSv1.2_2018",
    "TLSv1.2_2019",
    "TLSv1.2_2021",
    "TLSv1.2_2025",
    "TLSv1.3_2025",
];
const GEO_RESTRICTION_TYPES: [&str; 3] = ["whitelist", "blacklist", "none"];

/// The method sets CloudFront takes, each sorted.
const METHOD_SETS: [&[&str]; 3] = [
    &["GET", "HEAD"],
    &["GET", "HEAD", "OPTIONS"],
    &["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
];

/// Checks configuration that may hold unknown values.
pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = timeouts::validate(config);
    let mut check = |result: Result<(), (String, String)>, path: AttributePath| {
        if let Err((summary, detail)) = result {
            diagnostics.push(Diagnostic::error(summary, detail).at(path));
        }
    };
    let root = AttributePath::root;
    check(
        certificate_arn(config.attr("certificate_arn")),
        root("certificate_arn"),
    );
    check(
        aliases_need_a_certificate(config.attr("aliases"), config.attr("certificate_arn")),
        root("certificate_arn"),
    );
    for (attribute, allowed) in [
        ("price_class", &PRICE_CLASSES[..]),
        ("viewer_protocol_policy", &VIEWER_PROTOCOL_POLICIES[..]),
        ("ssl_support_method", &SSL_SUPPORT_METHODS[..]),
        ("minimum_protocol_version", &MINIMUM_PROTOCOL_VERSIONS[..]),
    ] {
        check(
            one_of(attribute, config.attr(attribute), allowed),
            root(attribute),
        );
    }
    for attribute in ["ssl_support_method", "minimum_protocol_version"] {
        if !config.attr(attribute).is_null() && config.attr("certificate_arn").is_null() {
            check(
                Err((
                    "Setting without a certificate".into(),
                    format!(
                        "{attribute} applies to the certificate in certificate_arn; without \
                         one CloudFront serves its own certificate with its own settings. Set \
                         certificate_arn or remove {attribute}."
                    ),
                )),
                root(attribute),
            );
        }
    }
    check(
        allowed_methods(config.attr("allowed_methods")),
        root("allowed_methods"),
    );
    for attribute in ["cache_policy_id", "origin_request_policy_id"] {
        if config
            .attr(attribute)
            .as_str()
            .is_some_and(|id| id.trim().is_empty())
        {
            check(
                Err(("Empty policy id".into(), format!("{attribute} is empty."))),
                root(attribute),
            );
        }
    }
    if let Some(comment) = config.attr("comment").as_str()
        && comment.chars().count() > 128
    {
        check(
            Err((
                "Comment too long".into(),
                format!(
                    "comment has {} characters; CloudFront takes 128.",
                    comment.chars().count()
                ),
            )),
            root("comment"),
        );
    }

    let origin = config.attr("origin");
    let in_origin = |name: &str| root("origin").attr(name);
    if let Some(name) = origin.attr("domain_name").as_str()
        && let Err(reason) = check_host_name(name)
    {
        check(
            Err((
                "Invalid origin".into(),
                format!("origin.domain_name {name:?}: {reason}."),
            )),
            in_origin("domain_name"),
        );
    }
    for port in ["http_port", "https_port"] {
        check(origin_port(port, origin.attr(port)), in_origin(port));
    }
    for timeout in ["keepalive_timeout", "read_timeout"] {
        check(seconds(timeout, origin.attr(timeout)), in_origin(timeout));
    }
    check(
        one_of(
            "origin.protocol_policy",
            origin.attr("protocol_policy"),
            &ORIGIN_PROTOCOL_POLICIES,
        ),
        in_origin("protocol_policy"),
    );
    if let Some(headers) = origin.attr("custom_headers").as_entries()
        && headers.keys().any(|name| name.trim().is_empty())
    {
        check(
            Err((
                "Invalid header".into(),
                "origin.custom_headers has an empty header name.".into(),
            )),
            in_origin("custom_headers"),
        );
    }

    let geo = config.attr("geo_restriction");
    check(
        one_of(
            "geo_restriction.type",
            geo.attr("type"),
            &GEO_RESTRICTION_TYPES,
        ),
        root("geo_restriction").attr("type"),
    );
    check(
        super::geo_restriction::check_locations(geo.attr("type"), geo.attr("locations")),
        root("geo_restriction").attr("locations"),
    );

    if let Some(zone) = config.attr("route53_aliases").attr("zone_id").as_str()
        && zone.trim().is_empty()
    {
        check(
            Err((
                "Invalid hosted zone id".into(),
                "route53_aliases.zone_id is empty.".into(),
            )),
            root("route53_aliases").attr("zone_id"),
        );
    }
    diagnostics
}

/// A check's outcome: fine, or the error's summary and detail.
pub(super) type Check = Result<(), (String, String)>;

/// An ACM certificate ARN in us-east-1, the only region CloudFront takes certificates from.
pub(super) fn certificate_arn(value: &Value) -> Check {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let bad = |why: String| {
        Err((
            "Certificate not usable by CloudFront".to_owned(),
            format!(
                "certificate_arn {text:?} {why}. CloudFront takes ACM certificates from \
                 {CLOUDFRONT_CERTIFICATE_REGION} only: request the certificate there \
                 (homelab_acm_certificate does by default)."
            ),
        ))
    };
    let arn = match Arn::parse(text) {
        Ok(arn) => arn,
        Err(e) => return bad(format!("is not an ARN ({e})")),
    };
    if arn.service != "acm" || arn.resource_id("certificate").is_none() {
        return bad(format!(
            "names a {} resource, not an ACM certificate",
            if arn.service.is_empty() {
                "non-ACM"
            } else {
                &arn.service
            }
        ));
    }
    if arn.region != CLOUDFRONT_CERTIFICATE_REGION {
        return bad(format!(
            "is in {}",
            if arn.region.is_empty() {
                "no region"
            } else {
                &arn.region
            }
        ));
    }
    Ok(())
}

fn aliases_need_a_certificate(aliases: &Value, certificate_arn: &Value) -> Check {
    let has_aliases = aliases.as_elements().is_some_and(|a| !a.is_empty());
    if has_aliases && certificate_arn.is_null() {
        return Err((
            "Aliases need a certificate".into(),
            "CloudFront serves aliases only with a certificate that covers them: set \
             certificate_arn."
                .into(),
        ));
    }
    Ok(())
}

fn one_of(attribute: &str, value: &Value, allowed: &[&str]) -> Check {
    match value.as_str() {
        Some(text) if !allowed.contains(&text) => Err((
            format!(
                "Unsupported {}",
                attribute
                    .rsplit('.')
                    .next()
                    .unwrap_or(attribute)
                    .replace('_', " ")
            ),
            format!(
                "{attribute} {text:?} is not one of {}.",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

fn allowed_methods(value: &Value) -> Check {
    let Some(methods) = value.as_elements() else {
        return Ok(());
    };
    if !value.is_fully_known() {
        return Ok(());
    }
    let mut names: Vec<&str> = methods.iter().filter_map(Value::as_str).collect();
    names.sort_unstable();
    if METHOD_SETS.contains(&names.as_slice()) {
        return Ok(());
    }
    Err((
        "Unsupported method set".into(),
        format!(
            "allowed_methods {names:?} is not a set CloudFront takes: [\"GET\", \"HEAD\"], \
             [\"GET\", \"HEAD\", \"OPTIONS\"], or all of GET, HEAD, OPTIONS, PUT, POST, PATCH \
             and DELETE."
        ),
    ))
}

fn origin_port(attribute: &str, value: &Value) -> Check {
    if let Value::Number(number) = value {
        match number.as_i64() {
            Some(80 | 443 | 1024..=65535) => {}
            _ => {
                return Err((
                    "Invalid port".into(),
                    format!(
                        "origin.{attribute} {number} is not a port CloudFront connects to: 80, \
                         443, or 1024 to 65535."
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn seconds(attribute: &str, value: &Value) -> Check {
    if let Value::Number(number) = value
        && !number.as_i64().is_some_and(|s| (1..=180).contains(&s))
    {
        return Err((
            "Invalid timeout".into(),
            format!("origin.{attribute} {number} is not a whole number of seconds from 1 to 180."),
        ));
    }
    Ok(())
}

/// Checks an origin's name: letters, digits and inner hyphens in at least two labels, no
/// trailing dot (CloudFront takes names only, not addresses).
fn check_host_name(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!(
            "the name is {} characters long; DNS allows 253",
            name.len()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("CloudFront needs a fully qualified name".into());
    }
    for label in labels {
        if label.is_empty() || label.len() > 63 {
            return Err(format!(
                "the label {label:?} is empty or longer than 63 characters"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label {label:?} starts or ends with '-'"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("{bad:?} is not allowed in a host name"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The book's home proxy, as configuration.
    fn config(entries: Vec<(&str, Value)>) -> Value {
        let mut config = Value::object([
            (
                "aliases",
                Value::Set(vec![
                    "home-proxy.goldentooth.net".into(),
                    "*.home-proxy.goldentooth.net".into(),
                ]),
            ),
            (
                "certificate_arn",
                "arn:aws:acm:us-east-1:123456789012:certificate/0b6c2a5e".into(),
            ),
            ("minimum_protocol_version", "TLSv1.2_2019".into()),
            ("ssl_support_method", "sni-only".into()),
            ("price_class", "PriceClass_100".into()),
            ("viewer_protocol_policy", "allow-all".into()),
            (
                "allowed_methods",
                Value::Set(
                    ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
                        .map(Value::from)
                        .to_vec(),
                ),
            ),
            (
                "origin",
                Value::object([
                    ("domain_name", "clearbrook.goldentooth.net".into()),
                    ("http_port", Value::int(7463)),
                    ("https_port", Value::int(7464)),
                    ("protocol_policy", "http-only".into()),
                    ("keepalive_timeout", Value::int(5)),
                    ("read_timeout", Value::int(30)),
                ]),
            ),
            (
                "geo_restriction",
                Value::object([
                    ("type", "whitelist".into()),
                    (
                        "locations",
                        Value::Set(
                            [
                                "US", "CA", "GB", "DE", "DK", "ES", "FI", "FR", "HU", "IE", "NO",
                                "SE",
                            ]
                            .map(Value::from)
                            .to_vec(),
                        ),
                    ),
                ]),
            ),
        ]);
        for (name, value) in entries {
            config.set_attr(name, value);
        }
        config
    }

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn the_books_home_proxy_passes() {
        assert_eq!(validate(&config(vec![])), Diagnostics::new());
    }

    #[test]
    fn a_certificate_outside_us_east_1_is_refused_naming_its_region() {
        let diagnostics = validate(&config(vec![(
            "certificate_arn",
            "arn:aws:acm:eu-west-1:123456789012:certificate/0b6c2a5e".into(),
        )]));
        assert_eq!(paths(&diagnostics), ["certificate_arn"]);
        assert!(
            diagnostics.0[0].detail.contains("is in eu-west-1"),
            "{diagnostics:?}"
        );
        for bad in [
            "0b6c2a5e",
            "arn:aws:iam::123456789012:server-certificate/home",
            "arn:aws:acm:us-east-1:123456789012:key/0b6c2a5e",
        ] {
            assert_eq!(
                paths(&validate(&config(vec![("certificate_arn", bad.into())]))),
                ["certificate_arn"],
                "{bad}"
            );
        }
    }

    #[test]
    fn each_bad_value_names_its_attribute() {
        let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
            (vec![("price_class", "PriceClass_50".into())], "price_class"),
            (
                vec![("viewer_protocol_policy", "http".into())],
                "viewer_protocol_policy",
            ),
            (
                vec![("minimum_protocol_version", "TLSv9".into())],
                "minimum_protocol_version",
            ),
            (
                vec![(
                    "allowed_methods",
                    Value::Set(vec!["GET".into(), "POST".into()]),
                )],
                "allowed_methods",
            ),
            (vec![("comment", "x".repeat(129).into())], "comment"),
            (
                vec![("certificate_arn", Value::Null), ("aliases", Value::Null)],
                "ssl_support_method",
            ),
        ];
        for (entries, expected) in cases {
            let diagnostics = validate(&config(entries));
            assert!(
                paths(&diagnostics).contains(&expected.to_owned()),
                "{expected}: {diagnostics:?}"
            );
        }
        assert_eq!(
            paths(&validate(&config(vec![("certificate_arn", Value::Null)]))),
            [
                "certificate_arn",
                "ssl_support_method",
                "minimum_protocol_version"
            ]
        );
    }

    #[test]
    fn origin_values_are_checked() {
        let origin = |name: &str, value: Value| {
            let mut config = config(vec![]);
            let mut block = config.attr("origin").clone();
            block.set_attr(name, value);
            config.set_attr("origin", block);
            paths(&validate(&config))
        };
        assert_eq!(origin("http_port", Value::int(8080)), Vec::<String>::new());
        assert_eq!(origin("http_port", Value::int(81)), ["origin.http_port"]);
        assert_eq!(
            origin("read_timeout", Value::int(0)),
            ["origin.read_timeout"]
        );
        assert_eq!(
            origin("protocol_policy", "tcp".into()),
            ["origin.protocol_policy"]
        );
        assert_eq!(
            origin("domain_name", "not a host".into()),
            ["origin.domain_name"]
        );
    }

    #[test]
    fn geo_errors_name_their_attribute() {
        let geo = |kind: &str, codes: &[&str]| {
            paths(&validate(&config(vec![(
                "geo_restriction",
                Value::object([
                    ("type", kind.into()),
                    (
                        "locations",
                        Value::Set(codes.iter().map(|c| Value::from(*c)).collect()),
                    ),
                ]),
            )])))
        };
        assert!(geo("blacklist", &["KP"]).is_empty());
        assert_eq!(
            geo("whitelist", &["US", "XX"]),
            ["geo_restriction.locations"]
        );
        assert_eq!(geo("allow", &["US"]), ["geo_restriction.type"]);
    }

    #[test]
    fn unknown_values_are_not_judged_yet() {
        let unknown = config(vec![
            ("certificate_arn", Value::unknown()),
            ("aliases", Value::unknown()),
            ("allowed_methods", Value::unknown()),
            ("geo_restriction", Value::unknown()),
            ("origin", Value::unknown()),
        ]);
        assert!(validate(&unknown).is_empty());
    }
}
