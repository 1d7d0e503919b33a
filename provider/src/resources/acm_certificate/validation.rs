//! The validation records in Route53: written with ACM's values, checked on every read, found
//! again on import, and removed on destroy.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::schema::VALIDATION_RECORD_TTL;
use crate::aws::AwsError;
use crate::aws::acm::ValidationRecord;
use crate::aws::route53::normalize_name;
use crate::aws::route53::{ChangeAction, NO_SUCH_HOSTED_ZONE, RecordData, RecordSet, Route53};

/// The comment every change carries, so Route53's change history says who made it.
const CHANGE_COMMENT: &str = "terraform-provider-homelab: homelab_acm_certificate validation";

/// The record sets to write: one per name and type, since a name and its wildcard share a
/// record, with the book's TTL.
pub(super) fn record_sets(records: &[ValidationRecord]) -> Vec<RecordSet> {
    let mut seen = BTreeSet::new();
    records
        .iter()
        .filter(|record| seen.insert((record.name.clone(), record.record_type.clone())))
        .map(|record| RecordSet {
            name: record.name.clone(),
            record_type: record.record_type.clone(),
            data: RecordData::Values {
                ttl: VALIDATION_RECORD_TTL,
                values: vec![record.value.clone()],
            },
        })
        .collect()
}

/// How `validation.records` names a record set: `NAME/TYPE`.
pub(super) fn record_key(set: &RecordSet) -> String {
    format!("{}/{}", set.name, set.record_type)
}

/// The keys of every record set the certificate needs.
pub(super) fn expected_keys(records: &[ValidationRecord]) -> BTreeSet<String> {
    record_sets(records).iter().map(record_key).collect()
}

/// Writes (UPSERTs) every validation record into the zone and waits until Route53 has them.
/// UPSERT rather than CREATE: ACM gives every certificate for a name the same record, so a
/// record already there with that value is the right one.
pub(super) async fn write(
    route53: &Route53,
    zone_id: &str,
    records: &[ValidationRecord],
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), AwsError> {
    let changes: Vec<(ChangeAction, RecordSet)> = record_sets(records)
        .into_iter()
        .map(|set| (ChangeAction::Upsert, set))
        .collect();
    route53
        .change_and_wait(zone_id, &changes, CHANGE_COMMENT, timeout, cancel)
        .await
}

/// The keys of the validation records the zone holds with ACM's value and the TTL written; a
/// zone that is gone holds none.
pub(super) async fn present(
    route53: &Route53,
    zone_id: &str,
    records: &[ValidationRecord],
) -> Result<BTreeSet<String>, AwsError> {
    let mut found = BTreeSet::new();
    for wanted in record_sets(records) {
        let current = match route53
            .record_set(zone_id, &wanted.name, &wanted.record_type)
            .await
        {
            Ok(current) => current,
            Err(e) if e.is_code(NO_SUCH_HOSTED_ZONE) => return Ok(BTreeSet::new()),
            Err(e) => return Err(e),
        };
        if current.is_some_and(|current| holds(&current, &wanted, true)) {
            found.insert(record_key(&wanted));
        }
    }
    Ok(found)
}

/// Deletes the validation records that still hold ACM's value; records changed to something
/// else are someone else's now and stay.
pub(super) async fn remove(
    route53: &Route53,
    zone_id: &str,
    records: &[ValidationRecord],
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), AwsError> {
    let mut changes = Vec::new();
    for wanted in record_sets(records) {
        let current = match route53
            .record_set(zone_id, &wanted.name, &wanted.record_type)
            .await
        {
            Ok(current) => current,
            Err(e) if e.is_code(NO_SUCH_HOSTED_ZONE) => return Ok(()),
            Err(e) => return Err(e),
        };
        // Route53 deletes a record only when given its exact current values.
        if let Some(current) = current.filter(|current| holds(current, &wanted, false)) {
            changes.push((ChangeAction::Delete, current));
        }
    }
    route53
        .change_and_wait(zone_id, &changes, CHANGE_COMMENT, timeout, cancel)
        .await
}

/// The public hosted zone that holds every validation record, for import; the most specific
/// zone wins when several do.
pub(super) async fn find_zone(
    route53: &Route53,
    records: &[ValidationRecord],
) -> Result<Option<String>, AwsError> {
    let Some(first) = records.first() else {
        return Ok(None);
    };
    let expected = expected_keys(records);
    for zone in route53.enclosing_zones(&first.name).await? {
        if present(route53, &zone.id, records).await? == expected {
            return Ok(Some(zone.id));
        }
    }
    Ok(None)
}

/// Whether `current` holds the value of `wanted` (and, when `check_ttl`, its TTL too).
fn holds(current: &RecordSet, wanted: &RecordSet, check_ttl: bool) -> bool {
    match (&current.data, &wanted.data) {
        (
            RecordData::Values { ttl, values },
            RecordData::Values {
                ttl: wanted_ttl,
                values: wanted_values,
            },
        ) => {
            values.len() == wanted_values.len()
                && values
                    .iter()
                    .zip(wanted_values)
                    .all(|(a, b)| normalize_name(a) == normalize_name(b))
                && (!check_ttl || ttl == wanted_ttl)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(domain: &str) -> ValidationRecord {
        ValidationRecord {
            domain_name: domain.into(),
            name: format!("_d930b28b.{}", domain.trim_start_matches("*.")),
            record_type: "CNAME".into(),
            value: "_c9edd76e.acm-validations.aws.".into(),
        }
    }

    #[test]
    fn a_name_and_its_wildcard_share_one_record() {
        let records = [
            record("*.home-proxy.goldentooth.net"),
            record("home-proxy.goldentooth.net"),
            record("goldentooth.net"),
        ];
        let keys: Vec<String> = expected_keys(&records).into_iter().collect();
        assert_eq!(
            keys,
            [
                "_d930b28b.goldentooth.net/CNAME",
                "_d930b28b.home-proxy.goldentooth.net/CNAME"
            ]
        );
        let sets = record_sets(&records);
        assert_eq!(sets.len(), 2);
        assert_eq!(
            sets[0].data,
            RecordData::Values {
                ttl: 60,
                values: vec!["_c9edd76e.acm-validations.aws.".into()]
            }
        );
    }

    #[test]
    fn a_record_counts_only_with_the_value_and_the_ttl_written() {
        let wanted = &record_sets(&[record("goldentooth.net")])[0];
        let with = |ttl: i64, value: &str| RecordSet {
            data: RecordData::Values {
                ttl,
                values: vec![value.into()],
            },
            ..wanted.clone()
        };
        assert!(holds(
            &with(60, "_C9EDD76E.acm-validations.aws"),
            wanted,
            true
        ));
        assert!(!holds(
            &with(300, "_c9edd76e.acm-validations.aws."),
            wanted,
            true
        ));
        assert!(holds(
            &with(300, "_c9edd76e.acm-validations.aws."),
            wanted,
            false
        ));
        assert!(!holds(&with(60, "elsewhere.example."), wanted, false));
    }
}
