//! Plan-time work: replacement decided on names as ACM compares them, the validation zone
//! checked against the names, and the validation records and status planned.

use super::state::{names_of, validation_records_from_state};
use super::validation::expected_keys;
use crate::aws::route53::{Route53, bare_zone_id, is_within_zone};
use crate::registry::Context;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, PathStep, Value};

/// Refines the generic plan; see the module documentation.
pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Diagnostics {
    let creating = prior.is_null();
    if !creating {
        plan_replacement(prior, config, change);
    }
    if let Err(diagnostics) = check_validation_zone(context, prior, config).await {
        return diagnostics;
    }
    if creating || !change.requires_replace.is_empty() {
        return Diagnostics::new();
    }
    plan_validation_records(prior, change);
    Diagnostics::new()
}

/// ACM compares names without case; a respelled name or a SAN that repeats `domain_name`
/// is the same certificate, so the generic rule (which compares spellings) is redone here.
fn plan_replacement(prior: &Value, config: &Value, change: &mut PlannedChange) {
    change.requires_replace.retain(|path| {
        !matches!(path.0.first(), Some(PathStep::Attribute(name))
            if name == "domain_name" || name == "subject_alternative_names")
    });
    let domain = config.attr("domain_name");
    let names = config.attr("subject_alternative_names");
    let (Some(new_domain), Some(old_domain)) =
        (domain.as_str(), prior.attr("domain_name").as_str())
    else {
        change
            .requires_replace
            .push(AttributePath::root("domain_name"));
        return;
    };
    if normalize(new_domain) != normalize(old_domain) {
        change
            .requires_replace
            .push(AttributePath::root("domain_name"));
    }
    let same_names = names.is_known()
        && names_of(new_domain, names)
            == names_of(old_domain, prior.attr("subject_alternative_names"));
    if !same_names {
        change
            .requires_replace
            .push(AttributePath::root("subject_alternative_names"));
    }
}

/// When the validation zone is new, checks that it exists and holds every name.
async fn check_validation_zone(
    context: &Context,
    prior: &Value,
    config: &Value,
) -> Result<(), Diagnostics> {
    let Some(zone_id) = config
        .attr("validation")
        .attr("route53_zone_id")
        .as_str()
        .map(bare_zone_id)
    else {
        return Ok(());
    };
    let path = || AttributePath::root("validation").attr("route53_zone_id");
    let prior_zone = prior
        .attr("validation")
        .attr("route53_zone_id")
        .as_str()
        .map(bare_zone_id);
    if prior_zone == Some(zone_id) {
        return Ok(());
    }
    let route53 = Route53::new(context.provider.aws.route53().await);
    let zone = route53.hosted_zone(zone_id).await.map_err(|e| {
        Diagnostics::from(
            e.to_diagnostic("Cannot look up the validation zone")
                .at(path()),
        )
    })?;
    let Some(zone) = zone else {
        return Err(Diagnostic::error(
            "Hosted zone not found",
            format!("Route53 has no hosted zone with id {zone_id:?} to write the validation records into."),
        )
        .at(path())
        .into());
    };
    let Some(domain) = config.attr("domain_name").as_str() else {
        return Ok(());
    };
    let names = config.attr("subject_alternative_names");
    if !names.is_fully_known() {
        return Ok(());
    }
    let outside: Vec<String> = names_of(domain, names)
        .into_iter()
        .filter(|name| !is_within_zone(name.trim_start_matches("*."), &zone.name))
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    Err(Diagnostic::error(
        "Names outside the validation zone",
        format!(
            "The hosted zone {:?} ({}) cannot hold the validation records of {}: every name the \
             certificate covers must end with \".{}\". Use the zone that holds them, or leave \
             out the validation block and create the records yourself.",
            zone.name,
            zone.id,
            outside.join(", "),
            zone.name
        ),
    )
    .at(path())
    .into())
}

/// On an update, the validation records are those of the certificate in the state, and the
/// status stays unless the certificate may become issued by this apply.
fn plan_validation_records(prior: &Value, change: &mut PlannedChange) {
    let planned = &mut change.planned;
    let records = validation_records_from_state(prior.attr("validation_records"));
    let validation = planned.attr("validation").clone();
    if let Value::Object(_) = validation {
        let planned_records = match &records {
            Some(records) => Value::Set(
                expected_keys(records)
                    .into_iter()
                    .map(Value::from)
                    .collect(),
            ),
            None => Value::unknown(),
        };
        if let Some(block) = planned.attr_mut("validation") {
            block.set_attr("records", planned_records);
        }
    }
    let validation_changes = !planned
        .attr("validation")
        .semantically_equal(prior.attr("validation"));
    let issued = prior.attr("status").as_str() == Some(crate::aws::acm::ISSUED);
    if validation_changes && !issued {
        planned.set_attr("status", Value::unknown());
        planned.set_attr("not_after", Value::unknown());
    }
}

fn normalize(name: &str) -> String {
    crate::aws::route53::normalize_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(domain: &str, sans: Value) -> Value {
        Value::object([
            ("domain_name", domain.into()),
            ("subject_alternative_names", sans),
        ])
    }

    fn replaced(prior: &Value, config: &Value) -> Vec<String> {
        let mut change = PlannedChange {
            planned: config.clone(),
            requires_replace: vec![
                AttributePath::root("domain_name"),
                AttributePath::root("subject_alternative_names"),
            ],
            private: Vec::new(),
            earlier_private: Vec::new(),
        };
        plan_replacement(prior, config, &mut change);
        change
            .requires_replace
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn respelled_or_repeated_names_keep_the_certificate() {
        let prior = state(
            "home-proxy.goldentooth.net",
            Value::Set(vec!["*.home-proxy.goldentooth.net".into()]),
        );
        let respelled = state(
            "Home-Proxy.Goldentooth.net",
            Value::Set(vec![
                "*.HOME-proxy.goldentooth.net".into(),
                "home-proxy.goldentooth.net".into(),
            ]),
        );
        assert!(replaced(&prior, &respelled).is_empty());
        let bare = state("home-proxy.goldentooth.net", Value::Null);
        let empty = state("home-proxy.goldentooth.net", Value::Set(vec![]));
        assert!(replaced(&bare, &empty).is_empty());
    }

    #[test]
    fn other_names_replace_the_certificate() {
        let prior = state(
            "home-proxy.goldentooth.net",
            Value::Set(vec!["*.home-proxy.goldentooth.net".into()]),
        );
        assert_eq!(
            replaced(&prior, &state("home-proxy.goldentooth.net", Value::Null)),
            ["subject_alternative_names"]
        );
        assert_eq!(
            replaced(
                &prior,
                &state(
                    "proxy.goldentooth.net",
                    Value::Set(vec!["*.home-proxy.goldentooth.net".into()])
                )
            ),
            ["domain_name", "subject_alternative_names"]
        );
        assert_eq!(
            replaced(
                &prior,
                &state("home-proxy.goldentooth.net", Value::unknown())
            ),
            ["subject_alternative_names"]
        );
    }
}
