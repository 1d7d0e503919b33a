//! Plan-time work: the certificate checked once its ARN is known, the alias zone checked
//! against the aliases, and the alias records and CloudFront's hosted zone id planned.

use super::aliases::expected_keys;
use super::validate::certificate_arn;
use super::values::{Desired, same_settings};
use crate::aws::cloudfront::HOSTED_ZONE_ID;
use crate::aws::route53::{Route53, bare_zone_id, is_within_zone};
use crate::registry::Context;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// Refines the generic plan; see the module documentation.
pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Diagnostics {
    // Validation skipped an ARN that was unknown then (another resource's output); the plan
    // made just before applying sees it.
    if let Err((summary, detail)) = certificate_arn(config.attr("certificate_arn")) {
        return Diagnostic::error(summary, detail)
            .at(AttributePath::root("certificate_arn"))
            .into();
    }
    if let Err(diagnostics) = check_alias_zone(context, prior, config).await {
        return diagnostics;
    }
    let planned = &mut change.planned;
    planned.set_attr("hosted_zone_id", Value::from(HOSTED_ZONE_ID));
    plan_alias_records(planned);
    keep_status_when_cloudfront_is_untouched(prior, planned);
    Diagnostics::new()
}

/// An update that changes nothing CloudFront holds (only alias records, timeouts or
/// bookkeeping such as `wait_for_deployment`) leaves the status as it is.
fn keep_status_when_cloudfront_is_untouched(prior: &Value, planned: &mut Value) {
    if prior.is_null() || !prior.attr("status").is_known() {
        return;
    }
    if let (Ok(old), Ok(new)) = (Desired::from_state(prior), Desired::from_state(planned))
        && same_settings(&old.settings, &new.settings)
    {
        planned.set_attr("status", prior.attr("status").clone());
    }
}

/// The alias records planned: one per alias and address family, once both are known.
fn plan_alias_records(planned: &mut Value) {
    if !matches!(planned.attr("route53_aliases"), Value::Object(_)) {
        return;
    }
    let aliases = planned.attr("aliases");
    let records = match (aliases.is_fully_known(), planned.attr("ipv6").as_bool()) {
        (true, Some(ipv6)) => {
            let names: Vec<String> = aliases
                .as_elements()
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            Value::Set(
                expected_keys(&names, ipv6)
                    .into_iter()
                    .map(Value::from)
                    .collect(),
            )
        }
        _ => Value::unknown(),
    };
    if let Some(block) = planned.attr_mut("route53_aliases") {
        block.set_attr("records", records);
    }
}

/// When the alias zone or the aliases are new, checks that the zone exists and holds every
/// alias.
async fn check_alias_zone(
    context: &Context,
    prior: &Value,
    config: &Value,
) -> Result<(), Diagnostics> {
    let Some(zone_id) = config
        .attr("route53_aliases")
        .attr("zone_id")
        .as_str()
        .map(bare_zone_id)
    else {
        return Ok(());
    };
    let aliases = config.attr("aliases");
    let unchanged = prior
        .attr("route53_aliases")
        .attr("zone_id")
        .as_str()
        .map(bare_zone_id)
        == Some(zone_id)
        && aliases.semantically_equal(prior.attr("aliases"));
    if unchanged {
        return Ok(());
    }
    let path = || AttributePath::root("route53_aliases").attr("zone_id");
    let route53 = Route53::new(context.provider.aws.route53().await);
    let zone = route53.hosted_zone(zone_id).await.map_err(|e| {
        Diagnostics::from(e.to_diagnostic("Cannot look up the alias zone").at(path()))
    })?;
    let Some(zone) = zone else {
        return Err(Diagnostic::error(
            "Hosted zone not found",
            format!("Route53 has no hosted zone with id {zone_id:?} for the alias records."),
        )
        .at(path())
        .into());
    };
    if !aliases.is_fully_known() {
        return Ok(());
    }
    let outside: Vec<&str> = aliases
        .as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .filter(|alias| !is_within_zone(alias, &zone.name))
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    Err(Diagnostic::error(
        "Aliases outside the hosted zone",
        format!(
            "The hosted zone {:?} ({}) cannot hold alias records for {}: every alias must end \
             with \".{}\". Use the zone that holds them, or leave out route53_aliases.",
            zone.name,
            zone.id,
            outside.join(", "),
            zone.name
        ),
    )
    .at(path())
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_records_are_planned_once_aliases_and_ipv6_are_known() {
        let mut planned = Value::object([
            (
                "aliases",
                Value::Set(vec!["home-proxy.goldentooth.net".into()]),
            ),
            ("ipv6", true.into()),
            (
                "route53_aliases",
                Value::object([("zone_id", "Z1".into()), ("records", Value::Null)]),
            ),
        ]);
        plan_alias_records(&mut planned);
        assert_eq!(
            planned.attr("route53_aliases").attr("records"),
            &Value::Set(vec![
                "home-proxy.goldentooth.net/A".into(),
                "home-proxy.goldentooth.net/AAAA".into()
            ])
        );
        planned.set_attr("ipv6", Value::unknown());
        plan_alias_records(&mut planned);
        assert!(!planned.attr("route53_aliases").attr("records").is_known());
    }
}
