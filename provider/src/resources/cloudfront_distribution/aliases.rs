//! The Route53 alias records of the distribution's aliases: `A` (and `AAAA` with IPv6) per
//! alias, written without taking over records that point elsewhere, checked on every read,
//! found again on import, and removed on destroy.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::aws::AwsError;
use crate::aws::cloudfront::HOSTED_ZONE_ID;
use crate::aws::route53::{
    ChangeAction, NO_SUCH_HOSTED_ZONE, RecordData, RecordSet, Route53, absolute_name,
    normalize_name,
};

/// The comment every change carries, so Route53's change history says who made it.
const CHANGE_COMMENT: &str = "terraform-provider-homelab: homelab_cloudfront_distribution aliases";

/// The record sets the aliases need, pointing at the distribution named `target`.
pub(super) fn record_sets(aliases: &[String], ipv6: bool, target: &str) -> Vec<RecordSet> {
    let types: &[&str] = if ipv6 { &["A", "AAAA"] } else { &["A"] };
    let names: BTreeSet<String> = aliases.iter().map(|a| normalize_name(a)).collect();
    names
        .into_iter()
        .flat_map(|name| {
            types.iter().map(move |record_type| RecordSet {
                name: name.clone(),
                record_type: (*record_type).to_owned(),
                data: RecordData::Alias {
                    hosted_zone_id: HOSTED_ZONE_ID.to_owned(),
                    dns_name: target.to_owned(),
                    evaluate_target_health: false,
                },
            })
        })
        .collect()
}

/// How `route53_aliases.records` names a record set: `NAME/TYPE`.
pub(super) fn record_key(set: &RecordSet) -> String {
    format!("{}/{}", set.name, set.record_type)
}

/// The keys of every record set the aliases need.
pub(super) fn expected_keys(aliases: &[String], ipv6: bool) -> BTreeSet<String> {
    record_sets(aliases, ipv6, "")
        .iter()
        .map(record_key)
        .collect()
}

/// Whether `set` is an alias to the distribution named `target`.
fn points_at(set: &RecordSet, target: &str) -> bool {
    matches!(&set.data, RecordData::Alias { hosted_zone_id, dns_name, .. }
        if hosted_zone_id == HOSTED_ZONE_ID && normalize_name(dns_name) == normalize_name(target))
}

/// The keys of the wanted records the zone holds pointing at `target`; a zone that is gone
/// holds none.
pub(super) async fn present(
    route53: &Route53,
    zone_id: &str,
    wanted: &[RecordSet],
    target: &str,
) -> Result<BTreeSet<String>, AwsError> {
    let mut found = BTreeSet::new();
    for set in wanted {
        match route53
            .record_set(zone_id, &set.name, &set.record_type)
            .await
        {
            Ok(Some(current)) if points_at(&current, target) => {
                found.insert(record_key(set));
            }
            Ok(_) => {}
            Err(e) if e.is_code(NO_SUCH_HOSTED_ZONE) => return Ok(BTreeSet::new()),
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Describes the wanted records that exist pointing somewhere other than `target` (any
/// record, when the distribution does not exist yet) and are not in `owned`, the records
/// this resource wrote before: they belong to someone else.
pub(super) async fn conflicts(
    route53: &Route53,
    zone_id: &str,
    wanted: &[RecordSet],
    target: Option<&str>,
    owned: &BTreeSet<String>,
) -> Result<Vec<String>, AwsError> {
    let mut found = Vec::new();
    for set in wanted
        .iter()
        .filter(|set| !owned.contains(&record_key(set)))
    {
        let Some(current) = route53
            .record_set(zone_id, &set.name, &set.record_type)
            .await?
        else {
            continue;
        };
        if target.is_some_and(|target| points_at(&current, target)) {
            continue;
        }
        let holds = match &current.data {
            RecordData::Alias { dns_name, .. } => format!("an alias to {dns_name}"),
            RecordData::Values { values, .. } => values.join(", "),
        };
        found.push(format!(
            "{} {} (holds {holds})",
            absolute_name(&set.name),
            set.record_type
        ));
    }
    Ok(found)
}

/// Makes every wanted record point at the distribution and waits until Route53 has them.
/// A record new to this resource is created with CREATE, so Route53 refuses it if someone
/// made one since [`conflicts`] looked; a record in `owned` (written by this resource
/// before, then deleted or changed by hand) is written back with UPSERT.
pub(super) async fn write(
    route53: &Route53,
    zone_id: &str,
    wanted: &[RecordSet],
    target: &str,
    owned: &BTreeSet<String>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), AwsError> {
    let mut changes = Vec::new();
    for set in wanted {
        let current = route53
            .record_set(zone_id, &set.name, &set.record_type)
            .await?;
        if current.is_some_and(|current| points_at(&current, target)) {
            continue;
        }
        let action = if owned.contains(&record_key(set)) {
            ChangeAction::Upsert
        } else {
            ChangeAction::Create
        };
        changes.push((action, set.clone()));
    }
    route53
        .change_and_wait(zone_id, &changes, CHANGE_COMMENT, timeout, cancel)
        .await
}

/// Deletes the `sets` that still point at `target`; records changed to point elsewhere are
/// someone else's now and stay.
pub(super) async fn remove(
    route53: &Route53,
    zone_id: &str,
    sets: &[RecordSet],
    target: &str,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), AwsError> {
    let mut changes = Vec::new();
    for set in sets {
        match route53
            .record_set(zone_id, &set.name, &set.record_type)
            .await
        {
            // Route53 deletes a record only when given its exact current values.
            Ok(Some(current)) if points_at(&current, target) => {
                changes.push((ChangeAction::Delete, current));
            }
            Ok(_) => {}
            Err(e) if e.is_code(NO_SUCH_HOSTED_ZONE) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    route53
        .change_and_wait(zone_id, &changes, CHANGE_COMMENT, timeout, cancel)
        .await
}

/// The public hosted zone that holds every wanted record pointing at `target`, for import;
/// the most specific zone wins when several do.
pub(super) async fn find_zone(
    route53: &Route53,
    wanted: &[RecordSet],
    target: &str,
) -> Result<Option<String>, AwsError> {
    let Some(first) = wanted.first() else {
        return Ok(None);
    };
    let expected: BTreeSet<String> = wanted.iter().map(record_key).collect();
    for zone in route53.enclosing_zones(&first.name).await? {
        if present(route53, &zone.id, wanted, target).await? == expected {
            return Ok(Some(zone.id));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_gets_an_a_record_and_with_ipv6_an_aaaa_record() {
        let aliases = [
            "Home-Proxy.goldentooth.net".to_owned(),
            "*.home-proxy.goldentooth.net".to_owned(),
        ];
        let keys: Vec<String> = expected_keys(&aliases, true).into_iter().collect();
        assert_eq!(
            keys,
            [
                "*.home-proxy.goldentooth.net/A",
                "*.home-proxy.goldentooth.net/AAAA",
                "home-proxy.goldentooth.net/A",
                "home-proxy.goldentooth.net/AAAA",
            ]
        );
        assert_eq!(expected_keys(&aliases, false).len(), 2);
    }

    #[test]
    fn only_an_alias_to_this_distribution_points_at_it() {
        let sets = record_sets(
            &["a.goldentooth.net".to_owned()],
            false,
            "d1.cloudfront.net",
        );
        assert!(points_at(&sets[0], "D1.cloudfront.net."));
        assert!(!points_at(&sets[0], "d2.cloudfront.net"));
        let plain = RecordSet {
            data: RecordData::Values {
                ttl: 60,
                values: vec!["81.2.69.160".into()],
            },
            ..sets[0].clone()
        };
        assert!(!points_at(&plain, "d1.cloudfront.net"));
    }
}
