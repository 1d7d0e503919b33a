//! Route53 as resources use it: hosted zones by id or name, one record set by name and type,
//! changes submitted and waited for until Route53 reports them INSYNC, and DNS names compared
//! the way Route53 compares them.

use std::time::Duration;

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::Service;
use super::error::AwsError;

/// AWS's error code for a hosted zone that does not exist.
pub const NO_SUCH_HOSTED_ZONE: &str = "NoSuchHostedZone";

/// The longest pause between two polls of a change's status.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// A hosted zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedZone {
    /// Its id without the `/hostedzone/` prefix, e.g. `Z0123456789ABC`.
    pub id: String,
    /// Its name, normalized (see [`normalize_name`]), e.g. `goldentooth.net`.
    pub name: String,
    /// Whether it is a private zone (answers only inside VPCs).
    pub private: bool,
}

/// What a record set holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// Plain values with a TTL.
    Values {
        /// Seconds resolvers may cache the answer.
        ttl: i64,
        /// The values, e.g. addresses, as Route53 returns them.
        values: Vec<String>,
    },
    /// An alias to an AWS resource such as a CloudFront distribution.
    Alias {
        /// The target's hosted zone id (CloudFront's is always `Z2FDTNDATAQYW2`).
        hosted_zone_id: String,
        /// The target's DNS name.
        dns_name: String,
        /// Whether Route53 checks the target's health.
        evaluate_target_health: bool,
    },
}

/// One record set with simple routing (no set identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    /// The record's name; sent as [`absolute_name`], returned normalized.
    pub name: String,
    /// The record type, e.g. `A`, `AAAA`, `CNAME`.
    pub record_type: String,
    /// Its values or alias target.
    pub data: RecordData,
}

/// What a change does to a record set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    /// Creates it; Route53 refuses when it exists.
    Create,
    /// Creates it or replaces what is there.
    Upsert,
    /// Deletes it; the values must be exactly the current ones.
    Delete,
}

/// A hosted zone id without the `/hostedzone/` prefix the API sometimes adds.
pub fn bare_zone_id(id: &str) -> &str {
    id.trim().trim_start_matches("/hostedzone/")
}

/// A DNS name the way Route53 compares names: lowercase, without the trailing dot, with the
/// `\DDD` octal escapes Route53 returns (`\052` for `*`) decoded.
pub fn normalize_name(name: &str) -> String {
    let trimmed = name.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    let mut out = String::with_capacity(trimmed.len());
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            if digits.len() == 3
                && digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
                && let Ok(code) = u8::from_str_radix(&digits, 8)
            {
                out.push(char::from(code));
                chars.nth(2);
                continue;
            }
        }
        out.push(c);
    }
    out.to_ascii_lowercase()
}

/// The normalized name with its trailing dot, as requests send it.
pub fn absolute_name(name: &str) -> String {
    format!("{}.", normalize_name(name))
}

/// Whether `name` lies in the zone named `zone` (both compared normalized): the zone's apex
/// or any name below it.
pub fn is_within_zone(name: &str, zone: &str) -> bool {
    let name = normalize_name(name);
    let zone = normalize_name(zone);
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Route53 calls on one client.
#[derive(Debug, Clone)]
pub struct Route53 {
    client: aws_sdk_route53::Client,
}

impl Route53 {
    /// Wraps a client (from [`super::AwsClients::route53`]).
    pub fn new(client: aws_sdk_route53::Client) -> Route53 {
        Route53 { client }
    }

    /// The hosted zone with this id; `None` when it does not exist.
    pub async fn hosted_zone(&self, zone_id: &str) -> Result<Option<HostedZone>, AwsError> {
        let result = self
            .client
            .get_hosted_zone()
            .id(bare_zone_id(zone_id))
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.hosted_zone().map(hosted_zone_from_sdk)),
            Err(e) => {
                let error = AwsError::from_sdk(Service::Route53, "GetHostedZone", e);
                if error.is_code(NO_SUCH_HOSTED_ZONE) {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Every hosted zone with exactly this name (a public and a private zone may share one).
    pub async fn hosted_zones_named(&self, name: &str) -> Result<Vec<HostedZone>, AwsError> {
        let wanted = normalize_name(name);
        let output = self
            .client
            .list_hosted_zones_by_name()
            .dns_name(absolute_name(name))
            .max_items(100)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Route53, "ListHostedZonesByName", e))?;
        // Zones come sorted by name starting at `name`, so the matches are first.
        Ok(output
            .hosted_zones()
            .iter()
            .map(hosted_zone_from_sdk)
            .filter(|zone| zone.name == wanted)
            .collect())
    }

    /// The simple-routing record set with this name and type; `None` when there is none.
    /// A zone that does not exist is an error with code [`NO_SUCH_HOSTED_ZONE`].
    pub async fn record_set(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> Result<Option<RecordSet>, AwsError> {
        let wanted = normalize_name(name);
        let output = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(bare_zone_id(zone_id))
            .start_record_name(absolute_name(name))
            .start_record_type(RrType::from(record_type))
            .max_items(10)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Route53, "ListResourceRecordSets", e))?;
        // The listing starts at (name, type) and goes on past it: keep only exact matches.
        Ok(output
            .resource_record_sets()
            .iter()
            .filter(|set| set.set_identifier().is_none())
            .map(record_set_from_sdk)
            .find(|set| set.name == wanted && set.record_type == record_type))
    }

    /// Submits `changes` as one batch; returns the change id to wait for.
    pub async fn change_record_sets(
        &self,
        zone_id: &str,
        changes: &[(ChangeAction, RecordSet)],
        comment: &str,
    ) -> Result<String, AwsError> {
        const OPERATION: &str = "ChangeResourceRecordSets";
        let bad_request = |e| AwsError::bad_request(Service::Route53, OPERATION, e);
        let mut batch = ChangeBatch::builder().comment(comment);
        for (action, record_set) in changes {
            let action = match action {
                ChangeAction::Create => aws_sdk_route53::types::ChangeAction::Create,
                ChangeAction::Upsert => aws_sdk_route53::types::ChangeAction::Upsert,
                ChangeAction::Delete => aws_sdk_route53::types::ChangeAction::Delete,
            };
            let change = Change::builder()
                .action(action)
                .resource_record_set(record_set_to_sdk(record_set).map_err(bad_request)?)
                .build()
                .map_err(bad_request)?;
            batch = batch.changes(change);
        }
        let output = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(bare_zone_id(zone_id))
            .change_batch(batch.build().map_err(bad_request)?)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Route53, OPERATION, e))?;
        let id = output.change_info().map(|info| info.id()).unwrap_or("");
        Ok(id.trim_start_matches("/change/").to_owned())
    }

    /// Submits `changes` as one batch and waits until Route53 reports them INSYNC; an empty
    /// list does nothing.
    pub async fn change_and_wait(
        &self,
        zone_id: &str,
        changes: &[(ChangeAction, RecordSet)],
        comment: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), AwsError> {
        if changes.is_empty() {
            return Ok(());
        }
        let change_id = self.change_record_sets(zone_id, changes, comment).await?;
        self.wait_until_insync(&change_id, timeout, cancel).await
    }

    /// The public hosted zones that could hold `name`: those named after it or after one of
    /// its parent domains, the most specific first (for finding where records live on import).
    pub async fn enclosing_zones(&self, name: &str) -> Result<Vec<HostedZone>, AwsError> {
        let name = normalize_name(name);
        let mut zones = Vec::new();
        let mut candidate = name.as_str();
        loop {
            if !candidate.starts_with('*') {
                zones.extend(
                    self.hosted_zones_named(candidate)
                        .await?
                        .into_iter()
                        .filter(|zone| !zone.private),
                );
            }
            match candidate.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => candidate = parent,
                _ => return Ok(zones),
            }
        }
    }

    /// Polls the change until Route53 reports it INSYNC (propagated to all its name servers),
    /// for at most `timeout`; stops early when `cancel` fires.
    pub async fn wait_until_insync(
        &self,
        change_id: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), AwsError> {
        let deadline = Instant::now() + timeout;
        let what = format!("Route53 change {change_id}");
        let timed_out = || AwsError::TimedOut {
            what: what.clone(),
            waited: timeout,
            hint: "Route53 applies an accepted change anyway; raise the timeout in the \
                   resource's timeouts block if this happens often."
                .to_owned(),
        };
        let mut interval = Duration::from_secs(1);
        loop {
            let request = self.client.get_change().id(change_id).send();
            let output = tokio::select! {
                _ = cancel.cancelled() => return Err(AwsError::Cancelled(format!("waiting for {what}"))),
                result = tokio::time::timeout_at(deadline, request) => match result {
                    Err(_) => return Err(timed_out()),
                    Ok(result) => result.map_err(|e| AwsError::from_sdk(Service::Route53, "GetChange", e))?,
                },
            };
            let status = output.change_info().map(|info| info.status().clone());
            if status == Some(ChangeStatus::Insync) {
                return Ok(());
            }
            if Instant::now() + interval > deadline {
                return Err(timed_out());
            }
            tokio::select! {
                _ = cancel.cancelled() => return Err(AwsError::Cancelled(format!("waiting for {what}"))),
                _ = tokio::time::sleep(interval) => {}
            }
            interval = (interval * 2).min(MAX_POLL_INTERVAL);
        }
    }
}

fn hosted_zone_from_sdk(zone: &aws_sdk_route53::types::HostedZone) -> HostedZone {
    HostedZone {
        id: bare_zone_id(zone.id()).to_owned(),
        name: normalize_name(zone.name()),
        private: zone.config().is_some_and(|c| c.private_zone()),
    }
}

fn record_set_from_sdk(set: &ResourceRecordSet) -> RecordSet {
    let data = match set.alias_target() {
        Some(alias) => RecordData::Alias {
            hosted_zone_id: alias.hosted_zone_id().to_owned(),
            dns_name: alias.dns_name().to_owned(),
            evaluate_target_health: alias.evaluate_target_health(),
        },
        None => RecordData::Values {
            ttl: set.ttl().unwrap_or(0),
            values: set
                .resource_records()
                .iter()
                .map(|record| record.value().to_owned())
                .collect(),
        },
    };
    RecordSet {
        name: normalize_name(set.name()),
        record_type: set.r#type().as_str().to_owned(),
        data,
    }
}

fn record_set_to_sdk(
    set: &RecordSet,
) -> Result<ResourceRecordSet, aws_sdk_route53::error::BuildError> {
    let builder = ResourceRecordSet::builder()
        .name(absolute_name(&set.name))
        .r#type(RrType::from(set.record_type.as_str()));
    let builder = match &set.data {
        RecordData::Values { ttl, values } => {
            let mut builder = builder.ttl(*ttl);
            for value in values {
                builder = builder.resource_records(ResourceRecord::builder().value(value).build()?);
            }
            builder
        }
        RecordData::Alias {
            hosted_zone_id,
            dns_name,
            evaluate_target_health,
        } => builder.alias_target(
            AliasTarget::builder()
                .hosted_zone_id(hosted_zone_id)
                .dns_name(dns_name)
                .evaluate_target_health(*evaluate_target_health)
                .build()?,
        ),
    };
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_like_route53_compares_them() {
        assert_eq!(
            normalize_name("Clearbrook.Goldentooth.NET."),
            "clearbrook.goldentooth.net"
        );
        assert_eq!(
            normalize_name("\\052.home-proxy.goldentooth.net."),
            "*.home-proxy.goldentooth.net"
        );
        // Not an escape: kept as written.
        assert_eq!(normalize_name("a\\09.net"), "a\\09.net");
        assert_eq!(
            absolute_name("clearbrook.goldentooth.net"),
            "clearbrook.goldentooth.net."
        );
    }

    #[test]
    fn zone_membership_is_by_whole_labels() {
        assert!(is_within_zone(
            "clearbrook.goldentooth.net",
            "goldentooth.net."
        ));
        assert!(is_within_zone("Goldentooth.net.", "goldentooth.net"));
        assert!(!is_within_zone(
            "clearbrook.notgoldentooth.net",
            "goldentooth.net"
        ));
        assert!(!is_within_zone("clearbrook.example.org", "goldentooth.net"));
    }

    #[test]
    fn zone_ids_lose_their_prefix() {
        assert_eq!(bare_zone_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_zone_id("Z123"), "Z123");
    }

    #[test]
    fn record_sets_round_trip_through_the_sdk_types() {
        let set = RecordSet {
            name: "clearbrook.goldentooth.net".into(),
            record_type: "A".into(),
            data: RecordData::Values {
                ttl: 60,
                values: vec!["81.2.69.160".into()],
            },
        };
        let sdk = record_set_to_sdk(&set).unwrap();
        assert_eq!(sdk.name(), "clearbrook.goldentooth.net.");
        assert_eq!(record_set_from_sdk(&sdk), set);
        let alias = RecordSet {
            name: "home-proxy.goldentooth.net".into(),
            record_type: "A".into(),
            data: RecordData::Alias {
                hosted_zone_id: "Z2FDTNDATAQYW2".into(),
                dns_name: "d111111abcdef8.cloudfront.net".into(),
                evaluate_target_health: false,
            },
        };
        assert_eq!(
            record_set_from_sdk(&record_set_to_sdk(&alias).unwrap()),
            alias
        );
    }
}
