//! The certificate's state values parsed once at the boundary, and ACM's answers written back
//! into the state in the user's spelling wherever the names are the same.

use std::collections::BTreeSet;

use crate::aws::acm::{Certificate, ValidationRecord};
use crate::aws::route53::{bare_zone_id, normalize_name};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// The certificate a planned state asks for, every value known: what create and update use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DesiredCertificate {
    /// The primary name, as the user spelled it.
    pub(super) domain_name: String,
    /// The other names, as the user spelled them, without the primary one.
    pub(super) subject_alternative_names: Vec<String>,
    /// The region to request it in.
    pub(super) region: String,
    /// The zone that gets the validation records, when the provider writes them.
    pub(super) validation_zone_id: Option<String>,
}

impl DesiredCertificate {
    /// Reads a planned state; at apply time every value it needs is known.
    pub(super) fn from_state(state: &Value) -> Result<DesiredCertificate, Diagnostics> {
        let missing = |name: &str| {
            Diagnostics::from(
                Diagnostic::error(
                    "Value not known at apply time",
                    format!("{name} has no known value; this is a bug in the provider's plan."),
                )
                .at(AttributePath::root(name)),
            )
        };
        let text = |name: &str| {
            state
                .attr(name)
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| missing(name))
        };
        let domain_name = text("domain_name")?;
        let sans = state.attr("subject_alternative_names");
        if !sans.is_fully_known() {
            return Err(missing("subject_alternative_names"));
        }
        let primary = normalize_name(&domain_name);
        let mut seen = BTreeSet::from([primary]);
        let subject_alternative_names = sans
            .as_elements()
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| seen.insert(normalize_name(name)))
            .map(str::to_owned)
            .collect();
        Ok(DesiredCertificate {
            domain_name,
            subject_alternative_names,
            region: text("region")?,
            validation_zone_id: validation_zone_id(state),
        })
    }
}

/// The zone of the state's `validation` block, if it has one.
pub(super) fn validation_zone_id(state: &Value) -> Option<String> {
    state
        .attr("validation")
        .attr("route53_zone_id")
        .as_str()
        .map(|id| bare_zone_id(id).to_owned())
}

/// Every name a certificate covers, normalized: the primary one and the others.
pub(super) fn names_of(domain_name: &str, subject_alternative_names: &Value) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = subject_alternative_names
        .as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(normalize_name)
        .collect();
    names.insert(normalize_name(domain_name));
    names
}

/// Writes what ACM reports about the certificate into `state`: its ARN, status, expiry and
/// validation records.
pub(super) fn fill_from_certificate(state: &mut Value, certificate: &Certificate) {
    state.set_attr("arn", Value::from(certificate.arn.clone()));
    state.set_attr("id", Value::from(certificate.arn.clone()));
    state.set_attr("status", Value::from(certificate.status.clone()));
    state.set_attr("not_after", Value::from(certificate.not_after.clone()));
    state.set_attr(
        "validation_records",
        validation_records_to_value(&certificate.validation_records),
    );
}

/// Writes the names ACM reports into `state`, keeping the state's spelling when they are the
/// same names (case, order, and a SAN repeating the primary name do not count).
pub(super) fn read_names(state: &mut Value, certificate: &Certificate) {
    let acm_names: BTreeSet<String> = certificate
        .subject_alternative_names
        .iter()
        .map(|name| normalize_name(name))
        .chain([normalize_name(&certificate.domain_name)])
        .collect();
    let same = state.attr("domain_name").as_str().is_some_and(|domain| {
        normalize_name(domain) == normalize_name(&certificate.domain_name)
            && names_of(domain, state.attr("subject_alternative_names")) == acm_names
    });
    if same {
        return;
    }
    let primary = normalize_name(&certificate.domain_name);
    let others: Vec<Value> = certificate
        .subject_alternative_names
        .iter()
        .filter(|name| normalize_name(name) != primary)
        .map(|name| Value::from(name.clone()))
        .collect();
    let keep_domain_spelling = state
        .attr("domain_name")
        .as_str()
        .is_some_and(|domain| normalize_name(domain) == primary);
    if !keep_domain_spelling {
        state.set_attr("domain_name", Value::from(certificate.domain_name.clone()));
    }
    let sans = if others.is_empty() && state.attr("subject_alternative_names").is_null() {
        Value::Null
    } else {
        Value::Set(others)
    };
    state.set_attr("subject_alternative_names", sans);
}

/// The `validation` block for records in `zone_id`, of which `present` were found.
pub(super) fn validation_block(zone_id: &str, present: BTreeSet<String>) -> Value {
    Value::object([
        ("route53_zone_id", Value::from(zone_id)),
        (
            "records",
            Value::Set(present.into_iter().map(Value::from).collect()),
        ),
    ])
}

/// The `validation_records` value: a list of objects, in the order given (sorted by domain).
pub(super) fn validation_records_to_value(records: &[ValidationRecord]) -> Value {
    Value::List(
        records
            .iter()
            .map(|record| {
                Value::object([
                    ("domain_name", Value::from(record.domain_name.clone())),
                    ("name", Value::from(record.name.clone())),
                    ("type", Value::from(record.record_type.clone())),
                    ("value", Value::from(record.value.clone())),
                ])
            })
            .collect(),
    )
}

/// The validation records a state holds; `None` while they are unknown or absent.
pub(super) fn validation_records_from_state(value: &Value) -> Option<Vec<ValidationRecord>> {
    if !value.is_fully_known() {
        return None;
    }
    value
        .as_elements()?
        .iter()
        .map(|record| {
            let text = |name: &str| record.attr(name).as_str().map(str::to_owned);
            Some(ValidationRecord {
                domain_name: text("domain_name")?,
                name: text("name")?,
                record_type: text("type")?,
                value: text("value")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(domain: &str, sans: &[&str]) -> Certificate {
        Certificate {
            arn: "arn:aws:acm:us-east-1:1:certificate/x".into(),
            domain_name: domain.into(),
            subject_alternative_names: sans.iter().map(|s| (*s).to_owned()).collect(),
            status: "ISSUED".into(),
            failure_reason: None,
            not_after: Some("2027-01-15T08:00:00Z".into()),
            validation_records: vec![ValidationRecord {
                domain_name: domain.into(),
                name: format!("_x.{domain}"),
                record_type: "CNAME".into(),
                value: "_y.acm-validations.aws.".into(),
            }],
            validation_records_complete: true,
            in_use_by: Vec::new(),
        }
    }

    fn state(domain: Value, sans: Value) -> Value {
        Value::object([("domain_name", domain), ("subject_alternative_names", sans)])
    }

    #[test]
    fn the_users_spelling_survives_a_read_of_the_same_names() {
        let acm = certificate(
            "home-proxy.goldentooth.net",
            &["home-proxy.goldentooth.net", "*.home-proxy.goldentooth.net"],
        );
        let spelled = state(
            "Home-Proxy.goldentooth.net".into(),
            Value::Set(vec!["*.HOME-PROXY.goldentooth.net".into()]),
        );
        let mut read = spelled.clone();
        read_names(&mut read, &acm);
        assert_eq!(read, spelled);
    }

    #[test]
    fn other_names_and_imports_read_as_acm_lists_them() {
        let acm = certificate(
            "home-proxy.goldentooth.net",
            &["home-proxy.goldentooth.net", "*.home-proxy.goldentooth.net"],
        );
        let mut imported = state(Value::Null, Value::Null);
        read_names(&mut imported, &acm);
        assert_eq!(
            imported,
            state(
                "home-proxy.goldentooth.net".into(),
                Value::Set(vec!["*.home-proxy.goldentooth.net".into()])
            )
        );

        let bare = certificate("goldentooth.net", &["goldentooth.net"]);
        let mut imported = state(Value::Null, Value::Null);
        read_names(&mut imported, &bare);
        assert_eq!(imported, state("goldentooth.net".into(), Value::Null));

        let mut changed = state(
            "goldentooth.net".into(),
            Value::Set(vec!["*.goldentooth.net".into()]),
        );
        read_names(&mut changed, &bare);
        assert_eq!(changed, state("goldentooth.net".into(), Value::Set(vec![])));
    }

    #[test]
    fn validation_records_round_trip_through_the_state() {
        let acm = certificate("goldentooth.net", &["goldentooth.net"]);
        let mut value = Value::object([("arn", Value::Null)]);
        fill_from_certificate(&mut value, &acm);
        assert_eq!(value.attr("id").as_str(), Some(acm.arn.as_str()));
        assert_eq!(
            validation_records_from_state(value.attr("validation_records")),
            Some(acm.validation_records.clone())
        );
        assert_eq!(validation_records_from_state(&Value::unknown()), None);
    }

    #[test]
    fn desired_certificate_drops_a_san_that_repeats_the_primary_name() {
        let planned = Value::object([
            ("domain_name", "Home-Proxy.goldentooth.net".into()),
            (
                "subject_alternative_names",
                Value::Set(vec![
                    "home-proxy.goldentooth.net".into(),
                    "*.home-proxy.goldentooth.net".into(),
                ]),
            ),
            ("region", "us-east-1".into()),
            (
                "validation",
                Value::object([("route53_zone_id", "/hostedzone/Z1".into())]),
            ),
        ]);
        let desired = DesiredCertificate::from_state(&planned).unwrap();
        assert_eq!(
            desired.subject_alternative_names,
            ["*.home-proxy.goldentooth.net"]
        );
        assert_eq!(desired.validation_zone_id.as_deref(), Some("Z1"));
    }
}
