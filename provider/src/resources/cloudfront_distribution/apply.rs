//! Create, update and delete: the distribution written with `If-Match`, its alias records
//! kept pointing at it, deployment waited for when asked, and on destroy the records removed
//! before the distribution is disabled and deleted (or only disabled).

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use super::aliases;
use super::schema::DEFAULT_TIMEOUT;
use super::values::{Desired, same_settings, write_distribution};
use crate::aws::cloudfront::{CloudFront, Distribution};
use crate::aws::poll::Wait;
use crate::aws::route53::Route53;
use crate::registry::Context;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value, timeouts};

/// What to tell a user whose distribution takes too long to deploy.
const DEPLOY_HINT: &str = "CloudFront goes on deploying the change; raise the timeout in the \
                           resource's timeouts block, or set wait_for_deployment = false.";

pub(super) async fn create(context: &Context, planned: &Value) -> Result<Value, Diagnostics> {
    let desired = Desired::from_state(planned)?;
    let deadline = Instant::now() + timeouts::timeout(planned, "create", DEFAULT_TIMEOUT);
    // Checked before anything exists, so a conflict leaves nothing behind.
    if let Some(zone) = &desired.alias_zone_id {
        let wanted = aliases::record_sets(&desired.settings.aliases, desired.settings.ipv6, "");
        let route53 = Route53::new(context.provider.aws.route53().await);
        let taken = aliases::conflicts(&route53, zone, &wanted, None, &BTreeSet::new())
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot read the alias records")))?;
        if !taken.is_empty() {
            return Err(records_taken(zone, &taken).into());
        }
    }
    let cloudfront = CloudFront::new(context.provider.aws.cloudfront().await);
    let created = cloudfront
        .create(&desired.settings, &caller_reference())
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot create the distribution")))?;
    crate::log::info(
        "created a CloudFront distribution",
        &[("id", &created.id), ("domain_name", &created.domain_name)],
    );
    let finished = finish(
        context,
        &cloudfront,
        &created,
        &desired,
        &BTreeSet::new(),
        true,
        deadline,
    )
    .await
    .map_err(|mut diagnostics| {
        for diagnostic in &mut diagnostics.0 {
            diagnostic.detail.push_str(&format!(
                "\n\nThe distribution {} exists but is not in the state: import it \
                     (terraform import ADDRESS {}) and apply again, or delete it.",
                created.id, created.id
            ));
        }
        diagnostics
    })?;
    Ok(known_state(planned, &finished, &desired))
}

pub(super) async fn update(
    context: &Context,
    prior: &Value,
    planned: &Value,
) -> Result<Value, Diagnostics> {
    let desired = Desired::from_state(planned)?;
    let old = Desired::from_state(prior)?;
    let id = prior
        .attr("id")
        .as_str()
        .ok_or_else(|| incomplete_state("id"))?;
    let target = prior
        .attr("domain_name")
        .as_str()
        .ok_or_else(|| incomplete_state("domain_name"))?
        .to_owned();
    let timeout = timeouts::timeout(planned, "update", DEFAULT_TIMEOUT);
    let deadline = Instant::now() + timeout;
    let route53 = Route53::new(context.provider.aws.route53().await);
    let old_sets = aliases::record_sets(&old.settings.aliases, old.settings.ipv6, &target);
    // Records this resource wrote before may be repaired; any other name must be free.
    let owned: BTreeSet<String> = if old.alias_zone_id == desired.alias_zone_id {
        old_sets.iter().map(aliases::record_key).collect()
    } else {
        BTreeSet::new()
    };
    if let Some(zone) = &desired.alias_zone_id {
        let wanted =
            aliases::record_sets(&desired.settings.aliases, desired.settings.ipv6, &target);
        let taken = aliases::conflicts(&route53, zone, &wanted, Some(&target), &owned)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot read the alias records")))?;
        if !taken.is_empty() {
            return Err(records_taken(zone, &taken).into());
        }
    }

    let cloudfront = CloudFront::new(context.provider.aws.cloudfront().await);
    let changed = !same_settings(&old.settings, &desired.settings);
    let distribution = if changed {
        cloudfront
            .update(id, &desired.settings)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot update the distribution")))?
    } else {
        Distribution {
            id: id.to_owned(),
            arn: prior.attr("arn").as_str().unwrap_or_default().to_owned(),
            domain_name: target.clone(),
            status: prior.attr("status").as_str().unwrap_or_default().to_owned(),
            settings: desired.settings.clone(),
        }
    };

    // Records of aliases (or a zone) no longer wanted go first.
    if let Some(old_zone) = &old.alias_zone_id {
        let wanted_keys: BTreeSet<String> = match &desired.alias_zone_id {
            Some(zone) if zone == old_zone => {
                aliases::expected_keys(&desired.settings.aliases, desired.settings.ipv6)
            }
            _ => BTreeSet::new(),
        };
        let stale: Vec<_> = old_sets
            .iter()
            .filter(|set| !wanted_keys.contains(&aliases::record_key(set)))
            .cloned()
            .collect();
        aliases::remove(
            &route53,
            old_zone,
            &stale,
            &target,
            timeout,
            &context.cancel,
        )
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot remove alias records")))?;
    }
    let finished = finish(
        context,
        &cloudfront,
        &distribution,
        &desired,
        &owned,
        changed,
        deadline,
    )
    .await?;
    Ok(known_state(planned, &finished, &desired))
}

pub(super) async fn delete(context: &Context, prior: &Value) -> Result<(), Diagnostics> {
    let Some(id) = prior.attr("id").as_str() else {
        return Ok(());
    };
    let old = Desired::from_state(prior)?;
    let timeout = timeouts::timeout(prior, "delete", DEFAULT_TIMEOUT);
    if let (Some(zone), Some(target)) = (&old.alias_zone_id, prior.attr("domain_name").as_str()) {
        let route53 = Route53::new(context.provider.aws.route53().await);
        let sets = aliases::record_sets(&old.settings.aliases, old.settings.ipv6, target);
        aliases::remove(&route53, zone, &sets, target, timeout, &context.cancel)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot remove the alias records")))?;
    }
    let cloudfront = CloudFront::new(context.provider.aws.cloudfront().await);
    if old.retain_on_delete {
        let Some(current) = cloudfront
            .get(id)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot read the distribution")))?
        else {
            return Ok(());
        };
        if current.settings.enabled {
            cloudfront.set_enabled(id, false).await.map_err(|e| {
                Diagnostics::from(e.to_diagnostic("Cannot disable the distribution"))
            })?;
        }
        crate::log::info(
            "retain_on_delete: the distribution is disabled and left in the account",
            &[("id", &id)],
        );
        return Ok(());
    }
    let wait = Wait {
        what: format!("the distribution {id} to be disabled"),
        timeout,
        hint: "CloudFront deletes a distribution only once disabling it is deployed; raise the \
               delete timeout, or apply again later.",
        cancel: &context.cancel,
    };
    cloudfront
        .delete(id, &wait)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot delete the distribution")))
}

/// Points the alias records at the distribution, waits for deployment when asked and the
/// configuration changed, and reads the distribution's status.
async fn finish(
    context: &Context,
    cloudfront: &CloudFront,
    distribution: &Distribution,
    desired: &Desired,
    owned: &BTreeSet<String>,
    configuration_changed: bool,
    deadline: Instant,
) -> Result<Distribution, Diagnostics> {
    let remaining = || deadline.saturating_duration_since(Instant::now());
    if let Some(zone) = &desired.alias_zone_id {
        let route53 = Route53::new(context.provider.aws.route53().await);
        let wanted = aliases::record_sets(
            &desired.settings.aliases,
            desired.settings.ipv6,
            &distribution.domain_name,
        );
        // The caller checked that every record is free or in `owned`.
        aliases::write(
            &route53,
            zone,
            &wanted,
            &distribution.domain_name,
            owned,
            remaining(),
            &context.cancel,
        )
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot write the alias records")))?;
    }
    if !configuration_changed {
        return Ok(distribution.clone());
    }
    if desired.wait_for_deployment {
        let wait = Wait {
            what: format!("the distribution {} to be deployed", distribution.id),
            timeout: remaining(),
            hint: DEPLOY_HINT,
            cancel: &context.cancel,
        };
        return cloudfront
            .wait_until_deployed(&distribution.id, &wait)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("The distribution was not deployed")));
    }
    // Not waiting: the state records the status CloudFront reports right now.
    Ok(cloudfront
        .get(&distribution.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| distribution.clone()))
}

/// The planned state with everything CloudFront and Route53 report filled in.
fn known_state(planned: &Value, distribution: &Distribution, desired: &Desired) -> Value {
    let mut state = planned.clone();
    write_distribution(&mut state, distribution);
    if let Some(zone) = &desired.alias_zone_id {
        // Just written and waited for: every record is there.
        let keys = aliases::expected_keys(&desired.settings.aliases, desired.settings.ipv6);
        state.set_attr(
            "route53_aliases",
            Value::object([
                ("zone_id", Value::from(zone.clone())),
                (
                    "records",
                    Value::Set(keys.into_iter().map(Value::from).collect()),
                ),
            ]),
        );
    }
    state
}

/// A new caller reference: CloudFront refuses to create two distributions with the same one.
fn caller_reference() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    format!("terraform-provider-homelab-{nanos}")
}

fn records_taken(zone: &str, taken: &[String]) -> Diagnostic {
    Diagnostic::error(
        "Alias records already exist",
        format!(
            "The hosted zone {zone} already has records for the aliases that point elsewhere: \
             {}. Remove them, or leave out route53_aliases and point them yourself; nothing \
             was changed.",
            taken.join("; ")
        ),
    )
    .at(AttributePath::root("route53_aliases").attr("zone_id"))
}

fn incomplete_state(attribute: &str) -> Diagnostics {
    Diagnostic::error(
        "Incomplete state",
        format!(
            "The stored state lacks {attribute}; remove the resource from the state and import \
             it again."
        ),
    )
    .into()
}
