//! Plan-time work: the hosted zone resolved and the name checked against it, replacement
//! decided on names as Route53 compares them, and the address taken from the home's public IP
//! when configuration leaves it unset.

use std::net::IpAddr;

use super::model::{DnsRecordModel, PlannedDnsRecord};
use super::record::{RecordType, record_id, same_address};
use super::schema::schema;
use crate::aws::route53::{Route53, bare_zone_id, is_within_zone, normalize_name};
use crate::registry::Context;
use crate::tf::model::{self, Planned};
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, PathStep, Value};

/// The hosted zone a plan resolved.
struct ResolvedZone {
    /// The id, without prefix.
    id: String,
    /// The name, normalized.
    name: String,
}

/// Refines the generic plan; see the module documentation.
pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Diagnostics {
    plan(context, prior, config, change)
        .await
        .err()
        .unwrap_or_default()
}

/// Reads the values once, plans, and writes the planned state back once.
async fn plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Result<(), Diagnostics> {
    let config: PlannedDnsRecord = model::from_value(config)?;
    let prior: Option<DnsRecordModel> = model::from_value(prior)?;
    let mut planned: PlannedDnsRecord = model::from_value(&change.planned)?;
    plan_record(context, prior.as_ref(), &config, &mut planned, change).await?;
    change.planned =
        model::to_planned_value(&planned, &schema().block.value_type(), &change.planned)?;
    Ok(())
}

async fn plan_record(
    context: &Context,
    prior: Option<&DnsRecordModel>,
    config: &PlannedDnsRecord,
    planned: &mut PlannedDnsRecord,
    change: &mut PlannedChange,
) -> Result<(), Diagnostics> {
    // The generic rule compared spellings; Route53 does not, so replacement of the record's
    // identity is decided again below on normalized names and bare zone ids.
    change.requires_replace.retain(|path| {
        !matches!(path.0.first(), Some(PathStep::Attribute(name))
            if name == "zone_id" || name == "zone_name" || name == "name")
    });
    let name = config.name.known();
    if let (Some(prior), Some(new)) = (prior, name)
        && normalize_name(new) != normalize_name(&prior.name)
    {
        change.requires_replace.push(AttributePath::root("name"));
    }

    let zone = resolve_zone(context, prior, config).await?;
    match &zone {
        Some(zone) => {
            if config.zone_id.is_null() {
                planned.zone_id = Planned::Known(Some(zone.id.clone()));
            }
            if config.zone_name.is_null() {
                planned.zone_name = Planned::Known(Some(zone.name.clone()));
            }
            if let Some(old) = prior.and_then(|prior| prior.zone_id.as_deref())
                && bare_zone_id(old) != zone.id
            {
                let attribute = if config.zone_id.is_null() {
                    "zone_name"
                } else {
                    "zone_id"
                };
                change.requires_replace.push(AttributePath::root(attribute));
            }
            if let Some(text) = name
                && !is_within_zone(text, &zone.name)
            {
                return Err(Diagnostic::error(
                    "Name outside the hosted zone",
                    format!(
                        "name {text:?} is not in the hosted zone {:?} ({}): use a name that \
                         ends with \".{}\", or the zone that holds it.",
                        zone.name, zone.id, zone.name
                    ),
                )
                .at(AttributePath::root("name"))
                .into());
            }
        }
        None => {
            if config.zone_id.is_null() {
                planned.zone_id = Planned::Unknown;
            }
            if config.zone_name.is_null() {
                planned.zone_name = Planned::Unknown;
            }
        }
    }

    let record_type = config
        .record_type
        .known()
        .and_then(|t| RecordType::parse(t));
    plan_address(context, prior, config, record_type, planned, change).await?;

    planned.id = match (&zone, name, record_type) {
        (Some(zone), Some(name), Some(record_type)) => {
            Planned::Known(Some(record_id(&zone.id, name, record_type.as_str())))
        }
        _ => Planned::Unknown,
    };
    Ok(())
}

/// The hosted zone the configuration names; `None` while it is unknown. Asks Route53 only
/// when the zone is new: a record already in the zone plans without AWS calls.
async fn resolve_zone(
    context: &Context,
    prior: Option<&DnsRecordModel>,
    config: &PlannedDnsRecord,
) -> Result<Option<ResolvedZone>, Diagnostics> {
    let prior_zone = || -> Option<ResolvedZone> {
        let prior = prior?;
        Some(ResolvedZone {
            id: bare_zone_id(prior.zone_id.as_deref()?).to_owned(),
            name: normalize_name(prior.zone_name.as_deref()?),
        })
    };
    let cannot_look_up = |e: crate::aws::AwsError, attribute: &str| {
        Diagnostics::from(
            e.to_diagnostic("Cannot look up the hosted zone")
                .at(AttributePath::root(attribute)),
        )
    };
    match (config.zone_id.as_str(), config.zone_name.as_str()) {
        (Some(id), _) => {
            let id = bare_zone_id(id);
            if let Some(zone) = prior_zone().filter(|zone| zone.id == id) {
                return Ok(Some(zone));
            }
            let route53 = Route53::new(context.provider.aws.route53().await);
            match route53.hosted_zone(id).await {
                Ok(Some(zone)) => Ok(Some(ResolvedZone {
                    id: zone.id,
                    name: zone.name,
                })),
                Ok(None) => Err(Diagnostic::error(
                    "Hosted zone not found",
                    format!("Route53 has no hosted zone with id {id:?}."),
                )
                .at(AttributePath::root("zone_id"))
                .into()),
                Err(e) => Err(cannot_look_up(e, "zone_id")),
            }
        }
        (_, Some(name)) => {
            let wanted = normalize_name(name);
            if let Some(zone) = prior_zone().filter(|zone| zone.name == wanted) {
                return Ok(Some(zone));
            }
            let route53 = Route53::new(context.provider.aws.route53().await);
            let zones = route53
                .hosted_zones_named(name)
                .await
                .map_err(|e| cannot_look_up(e, "zone_name"))?;
            match zones.as_slice() {
                [zone] => Ok(Some(ResolvedZone {
                    id: zone.id.clone(),
                    name: zone.name.clone(),
                })),
                [] => Err(Diagnostic::error(
                    "Hosted zone not found",
                    format!("Route53 has no hosted zone named {wanted:?}."),
                )
                .at(AttributePath::root("zone_name"))
                .into()),
                several => Err(Diagnostic::error(
                    "Ambiguous hosted zone name",
                    format!(
                        "{} hosted zones are named {wanted:?} ({}); set zone_id to the one \
                         that should hold the record.",
                        several.len(),
                        several
                            .iter()
                            .map(|z| format!(
                                "{} {}",
                                z.id,
                                if z.private { "private" } else { "public" }
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .at(AttributePath::root("zone_name"))
                .into()),
            }
        }
        _ => Ok(None),
    }
}

/// Plans `address`: the configured one, else the home's public IP. The address planned the
/// first time is planned again when Terraform forwards it (see
/// [`PlannedChange::earlier_private`]), so the plan made just before applying matches the one
/// the user saw even if the echo service answers differently by then.
async fn plan_address(
    context: &Context,
    prior: Option<&DnsRecordModel>,
    config: &PlannedDnsRecord,
    record_type: Option<RecordType>,
    planned: &mut PlannedDnsRecord,
    change: &mut PlannedChange,
) -> Result<(), Diagnostic> {
    change.private = Vec::new();
    if !config.address.is_null() {
        // Configured (or unknown until apply): the generic plan already carries it.
        return Ok(());
    }
    let Some(record_type) = record_type else {
        planned.address = Planned::Unknown;
        return Ok(());
    };
    let ip = match earlier_planned_address(&change.earlier_private, record_type) {
        Some(ip) => ip,
        None => {
            let found = context
                .provider
                .public_ip(record_type.ip_version(), &context.cancel)
                .await
                .map_err(|e| {
                    Diagnostic::error(
                        "Cannot find the public IP address",
                        format!(
                            "address is unset, so the record follows the home's public IP, \
                             and asking the provider's public_ip sources failed: {e}\n\nSet \
                             address, or fix the public_ip block."
                        ),
                    )
                    .at(AttributePath::root("address"))
                })?;
            crate::log::debug(
                "planned the home's public IP for a DNS record",
                &[
                    (
                        "name",
                        &config.name.known().map_or("(unknown)", String::as_str),
                    ),
                    ("address", &found.ip),
                    ("source", &found.source),
                ],
            );
            found.ip
        }
    };
    change.private = encode_planned_address(ip);
    // Keep the prior spelling of an unchanged address, so only a real move shows as a diff.
    let text = match prior.and_then(|prior| prior.address.as_deref()) {
        Some(old) if same_address(old, &ip.to_string()) => old.to_owned(),
        _ => ip.to_string(),
    };
    planned.address = Planned::Known(Some(text));
    Ok(())
}

/// The key under which the planned address is kept in the plan's private data.
const PLANNED_ADDRESS_KEY: &str = "planned_address";

fn encode_planned_address(ip: IpAddr) -> Vec<u8> {
    serde_json::json!({ PLANNED_ADDRESS_KEY: ip.to_string() })
        .to_string()
        .into_bytes()
}

/// The address planned the first time, when Terraform forwarded it and it fits the type.
fn earlier_planned_address(earlier_private: &[u8], record_type: RecordType) -> Option<IpAddr> {
    if earlier_private.is_empty() {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(earlier_private).ok()?;
    let ip: IpAddr = json.get(PLANNED_ADDRESS_KEY)?.as_str()?.parse().ok()?;
    record_type.holds(ip).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_plans_address_is_planned_again_when_forwarded() {
        let ip: IpAddr = "81.2.69.160".parse().unwrap();
        let private = encode_planned_address(ip);
        assert_eq!(earlier_planned_address(&private, RecordType::A), Some(ip));
        // An address of the other family, garbage, or nothing: ask the echo service.
        assert_eq!(earlier_planned_address(&private, RecordType::Aaaa), None);
        assert_eq!(earlier_planned_address(b"not json", RecordType::A), None);
        assert_eq!(earlier_planned_address(b"", RecordType::A), None);
    }
}
