//! The schema of `homelab_acm_certificate` and the checks that need no I/O.

use std::time::Duration;

use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type, Value,
    timeouts,
};

/// How long create and update may take by default: ACM usually issues within minutes of the
/// validation records appearing, but may take longer.
pub(super) const DEFAULT_ISSUE_TIMEOUT: Duration = Duration::from_secs(45 * 60);

/// How long delete may take by default: CloudFront releases a certificate some minutes after
/// the distribution that used it is gone, and ACM refuses to delete it until then.
pub(super) const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The region planned when configuration sets none: the one CloudFront takes certificates from.
pub(super) const DEFAULT_REGION: &str = crate::aws::config::CLOUDFRONT_CERTIFICATE_REGION;

/// The TTL of the validation records, as the book used.
pub(super) const VALIDATION_RECORD_TTL: i64 = 60;

/// The type of one entry of `validation_records`.
pub(super) fn validation_record_type() -> Type {
    Type::object([
        ("domain_name", Type::String),
        ("name", Type::String),
        ("type", Type::String),
        ("value", Type::String),
    ])
}

pub(super) fn schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new(
            "An ACM certificate validated through DNS. With a `validation` block the provider \
             writes ACM's validation records into a Route53 hosted zone itself (TTL 60) and \
             waits until ACM issues the certificate, within the create timeout. It lives in \
             `us-east-1` unless `region` says otherwise, which is where CloudFront takes \
             certificates from. Destroy deletes the certificate and its validation records, and \
             says which AWS resource still uses a certificate that ACM refuses to delete. \
             Import with the certificate's ARN.",
            vec![
                Attribute::required("domain_name", Type::String)
                    .requires_replace()
                    .describe(
                        "The primary name the certificate covers, e.g. \
                         `home-proxy.goldentooth.net`, or a wildcard such as \
                         `*.goldentooth.net`. Changing it replaces the certificate.",
                    ),
                Attribute::optional("subject_alternative_names", Type::set(Type::String))
                    .requires_replace()
                    .describe(
                        "More names the certificate covers, e.g. \
                         `[\"*.home-proxy.goldentooth.net\"]`. Changing them replaces the \
                         certificate.",
                    ),
                Attribute::optional("region", Type::String)
                    .default_value(DEFAULT_REGION)
                    .requires_replace()
                    .describe(
                        "The region the certificate is requested in. Default: `\"us-east-1\"`, \
                         the only region CloudFront takes certificates from. Changing it \
                         replaces the certificate.",
                    ),
                Attribute::computed("arn", Type::String)
                    .use_state_for_unknown()
                    .describe("The certificate's ARN, which CloudFront's `certificate_arn` takes."),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("The certificate's ARN."),
                Attribute::computed("status", Type::String)
                    .use_state_for_unknown()
                    .describe(
                        "ACM's status of the certificate: `ISSUED` once validated; \
                         `PENDING_VALIDATION` while ACM waits for the validation records.",
                    ),
                Attribute::computed("not_after", Type::String)
                    .use_state_for_unknown()
                    .describe(
                        "When the certificate expires, as an RFC 3339 time; ACM renews it \
                         before then as long as the validation records stay in place.",
                    ),
                Attribute::computed("validation_records", Type::list(validation_record_type()))
                    .use_state_for_unknown()
                    .describe(
                        "The DNS records ACM checks, one per name the certificate covers, \
                         sorted by `domain_name`: each with `domain_name`, `name`, `type` \
                         (`CNAME`) and `value`. A name and its wildcard share one record. \
                         Without a `validation` block, create these records yourself.",
                    ),
            ],
        )
        .with_block(NestedBlock::single(
            "validation",
            Block::new(
                "Validate through a Route53 hosted zone: the provider writes the validation \
                 records there, waits for ACM to issue the certificate, and removes the records \
                 when the certificate is destroyed. Without this block the certificate is only \
                 requested, and `status` stays `PENDING_VALIDATION` until the records exist.",
                vec![
                    Attribute::required("route53_zone_id", Type::String).describe(
                        "Id of the public hosted zone that holds every name the certificate \
                         covers, e.g. `Z0123456789ABC`. Moving the records to another zone \
                         keeps the certificate.",
                    ),
                    Attribute::computed("records", Type::set(Type::String)).describe(
                        "The validation records found in the zone with ACM's value and a TTL \
                         of 60, as `NAME/CNAME`. A record deleted or changed outside Terraform \
                         drops out of this set, so `plan` shows it and `apply` writes it again.",
                    ),
                ],
            ),
        ))
        .with_block(timeouts::block(&[
            ("create", DEFAULT_ISSUE_TIMEOUT),
            ("update", DEFAULT_ISSUE_TIMEOUT),
            ("delete", DEFAULT_DELETE_TIMEOUT),
        ])),
    }
}

/// Checks configuration that may hold unknown values; every error names its attribute.
pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = timeouts::validate(config);
    let mut error = |summary: &str, detail: String, path: AttributePath| {
        diagnostics.push(Diagnostic::error(summary, detail).at(path));
    };
    if let Some(name) = config.attr("domain_name").as_str()
        && let Err(reason) = check_certificate_name(name)
    {
        error(
            "Invalid domain name",
            format!("domain_name {name:?}: {reason}."),
            AttributePath::root("domain_name"),
        );
    }
    if let Some(names) = config.attr("subject_alternative_names").as_elements() {
        if names.len() > 99 {
            error(
                "Too many names",
                format!(
                    "subject_alternative_names lists {} names; ACM takes at most 99 besides \
                     domain_name.",
                    names.len()
                ),
                AttributePath::root("subject_alternative_names"),
            );
        }
        for name in names.iter().filter_map(Value::as_str) {
            if let Err(reason) = check_certificate_name(name) {
                error(
                    "Invalid domain name",
                    format!("subject_alternative_names entry {name:?}: {reason}."),
                    AttributePath::root("subject_alternative_names"),
                );
            }
        }
    }
    if let Some(region) = config.attr("region").as_str()
        && !is_region_name(region)
    {
        error(
            "Invalid region",
            format!("region {region:?} is not an AWS region name such as \"us-east-1\"."),
            AttributePath::root("region"),
        );
    }
    if let Some(zone) = config.attr("validation").attr("route53_zone_id").as_str()
        && zone.trim().is_empty()
    {
        error(
            "Invalid hosted zone id",
            "validation.route53_zone_id is empty.".into(),
            AttributePath::root("validation").attr("route53_zone_id"),
        );
    }
    diagnostics
}

/// Checks a name as ACM takes it: an optional leading `*.`, then at least two labels of
/// letters, digits and inner hyphens, no trailing dot, at most 253 characters.
pub(super) fn check_certificate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > 253 {
        return Err(format!(
            "the name is {} characters long; ACM takes 253",
            name.len()
        ));
    }
    if name.ends_with('.') {
        return Err("ACM takes names without a trailing dot".into());
    }
    let rest = name.strip_prefix("*.").unwrap_or(name);
    let labels: Vec<&str> = rest.split('.').collect();
    if labels.len() < 2 {
        return Err("ACM issues certificates for names of at least two labels".into());
    }
    for label in labels {
        if label.is_empty() {
            return Err("the name has an empty label (two dots in a row)".into());
        }
        if label.len() > 63 {
            return Err(format!("the label {label:?} is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label {label:?} starts or ends with '-'"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "{bad:?} is not allowed (letters, digits and '-', and '*' only as the whole \
                 first label)"
            ));
        }
    }
    Ok(())
}

/// Whether `text` looks like an AWS region name (`us-east-1`, `eu-central-2`,
/// `us-gov-west-1`).
fn is_region_name(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entries: Vec<(&str, Value)>) -> Value {
        let mut config = Value::object([
            ("domain_name", "home-proxy.goldentooth.net".into()),
            (
                "subject_alternative_names",
                Value::Set(vec!["*.home-proxy.goldentooth.net".into()]),
            ),
            ("region", Value::Null),
            (
                "validation",
                Value::object([("route53_zone_id", "Z1".into()), ("records", Value::Null)]),
            ),
            ("timeouts", Value::Null),
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
    fn the_books_certificate_passes() {
        assert!(validate(&config(vec![])).is_empty());
        assert!(validate(&config(vec![("region", "eu-central-1".into())])).is_empty());
    }

    #[test]
    fn each_bad_value_names_its_attribute() {
        assert_eq!(
            paths(&validate(&config(vec![(
                "domain_name",
                "home proxy.net".into()
            )]))),
            ["domain_name"]
        );
        assert_eq!(
            paths(&validate(&config(vec![(
                "subject_alternative_names",
                Value::Set(vec!["a.*.goldentooth.net".into()])
            )]))),
            ["subject_alternative_names"]
        );
        assert_eq!(
            paths(&validate(&config(vec![("region", "mars".into())]))),
            ["region"]
        );
        assert_eq!(
            paths(&validate(&config(vec![(
                "validation",
                Value::object([("route53_zone_id", " ".into())])
            )]))),
            ["validation.route53_zone_id"]
        );
    }

    #[test]
    fn names_are_checked_as_acm_checks_them() {
        for good in [
            "home-proxy.goldentooth.net",
            "*.home-proxy.goldentooth.net",
            "Goldentooth.NET",
        ] {
            assert_eq!(check_certificate_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "localhost",
            "goldentooth.net.",
            "a..net",
            "-a.net",
            "_acme.goldentooth.net",
            "a.*.net",
        ] {
            assert!(check_certificate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_values_are_not_judged_yet() {
        let unknown = config(vec![
            ("domain_name", Value::unknown()),
            ("subject_alternative_names", Value::unknown()),
            ("region", Value::unknown()),
            ("validation", Value::unknown()),
        ]);
        assert!(validate(&unknown).is_empty());
    }

    #[test]
    fn the_schema_keeps_terraform_core_rules() {
        assert!(schema().block.validity_errors().is_empty());
    }
}
