//! Create, update and delete: one Route53 change each, waited for until INSYNC within the
//! operation's timeout.

use std::time::Duration;

use super::model::DnsRecordModel;
use super::record::{DesiredRecord, record_id};
use super::schema::{DEFAULT_TIMEOUT, schema};
use crate::aws::route53::{
    ChangeAction, NO_SUCH_HOSTED_ZONE, RecordData, RecordSet, Route53, absolute_name,
};
use crate::registry::Context;
use crate::tf::{Diagnostic, Diagnostics, Value, model, timeouts};

/// The comment every change carries, so Route53's change history says who made it.
const CHANGE_COMMENT: &str = "terraform-provider-homelab: homelab_dynamic_dns_record";

pub(super) async fn create(context: &Context, planned: &Value) -> Result<Value, Diagnostics> {
    let planned: DnsRecordModel = model::from_planned_value(planned)?;
    let desired = DesiredRecord::from_model(&planned)?;
    let route53 = Route53::new(context.provider.aws.route53().await);
    let existing = route53
        .record_set(
            &desired.zone_id,
            &desired.name,
            desired.record_type.as_str(),
        )
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot read the DNS record")))?;
    // CREATE lets Route53 refuse a record that appeared since; an existing record is taken
    // over only when it already points at the planned address (an earlier apply that was
    // interrupted) or when the user allowed it.
    let action = match &existing {
        None => ChangeAction::Create,
        Some(found) if desired.has_the_address_of(found) || desired.allow_overwrite => {
            ChangeAction::Upsert
        }
        Some(found) => return Err(conflict(&desired, found).into()),
    };
    let timeout = timeouts::duration_or(planned.timeout(|t| &t.create), DEFAULT_TIMEOUT);
    submit(
        context,
        &route53,
        &desired.zone_id,
        action,
        desired.record_set(),
        timeout,
    )
    .await?;
    let state = known_state(&route53, planned, &desired).await?;
    Ok(model::to_value(&state, &schema().block.value_type())?)
}

pub(super) async fn update(
    context: &Context,
    prior: &Value,
    planned: &Value,
) -> Result<Value, Diagnostics> {
    let prior: DnsRecordModel = model::from_value(prior)?;
    let planned: DnsRecordModel = model::from_planned_value(planned)?;
    let desired = DesiredRecord::from_model(&planned)?;
    // Only the TTL and the address live in Route53; the rest (spelling of names, timeouts,
    // allow_overwrite) is bookkeeping in the state.
    let unchanged =
        DesiredRecord::from_model(&prior).is_ok_and(|old| old.record_set() == desired.record_set());
    let route53 = Route53::new(context.provider.aws.route53().await);
    if !unchanged {
        let timeout = timeouts::duration_or(planned.timeout(|t| &t.update), DEFAULT_TIMEOUT);
        submit(
            context,
            &route53,
            &desired.zone_id,
            ChangeAction::Upsert,
            desired.record_set(),
            timeout,
        )
        .await?;
    }
    let state = known_state(&route53, planned, &desired).await?;
    Ok(model::to_value(&state, &schema().block.value_type())?)
}

pub(super) async fn delete(context: &Context, prior: &Value) -> Result<(), Diagnostics> {
    let prior: DnsRecordModel = model::from_value(prior)?;
    let (Some(zone_id), name, record_type) =
        (prior.zone_id.as_deref(), &prior.name, &prior.record_type)
    else {
        return Ok(());
    };
    let route53 = Route53::new(context.provider.aws.route53().await);
    // Route53 deletes a record only when given its exact current values, so they are read
    // first; a record or zone that is already gone is what delete wanted.
    let existing = match route53.record_set(zone_id, name, record_type).await {
        Ok(existing) => existing,
        Err(e) if e.is_code(NO_SUCH_HOSTED_ZONE) => None,
        Err(e) => return Err(e.to_diagnostic("Cannot read the DNS record").into()),
    };
    let Some(existing) = existing else {
        return Ok(());
    };
    let timeout = timeouts::duration_or(prior.timeout(|t| &t.delete), DEFAULT_TIMEOUT);
    submit(
        context,
        &route53,
        zone_id,
        ChangeAction::Delete,
        existing,
        timeout,
    )
    .await
}

/// Submits one change and waits until Route53 reports it INSYNC.
async fn submit(
    context: &Context,
    route53: &Route53,
    zone_id: &str,
    action: ChangeAction,
    record_set: RecordSet,
    timeout: Duration,
) -> Result<(), Diagnostics> {
    let what = format!(
        "{} {} record",
        absolute_name(&record_set.name),
        record_set.record_type
    );
    let change_id = route53
        .change_record_sets(zone_id, &[(action, record_set)], CHANGE_COMMENT)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic(&format!("Cannot change the {what}"))))?;
    route53
        .wait_until_insync(&change_id, timeout, &context.cancel)
        .await
        .map_err(|e| {
            Diagnostics::from(e.to_diagnostic(&format!("The change of the {what} did not finish")))
        })
}

/// The error for an existing record that points elsewhere.
fn conflict(desired: &DesiredRecord, found: &RecordSet) -> Diagnostic {
    let holds = match &found.data {
        RecordData::Values { ttl, values } => format!("{} (TTL {ttl})", values.join(", ")),
        RecordData::Alias { dns_name, .. } => format!("an alias to {dns_name}"),
    };
    let id = record_id(
        &desired.zone_id,
        &desired.name,
        desired.record_type.as_str(),
    );
    Diagnostic::error(
        "DNS record already exists",
        format!(
            "The {} record {} in hosted zone {} already exists and holds {holds}, not {}. Set \
             allow_overwrite = true to take it over, or import it: terraform import \
             ADDRESS {id}",
            desired.record_type.as_str(),
            absolute_name(&desired.name),
            desired.zone_id,
            desired.address,
        ),
    )
    .at(crate::tf::AttributePath::root("name"))
}

/// The planned state with the computed values it may still lack filled in. The plan made
/// just before applying resolves them all, so Route53 is asked only if one slipped through.
async fn known_state(
    route53: &Route53,
    planned: DnsRecordModel,
    desired: &DesiredRecord,
) -> Result<DnsRecordModel, Diagnostics> {
    let mut state = planned;
    if state.zone_name.is_none() {
        let zone = route53
            .hosted_zone(&desired.zone_id)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot look up the hosted zone")))?;
        state.zone_name = zone.map(|zone| zone.name);
    }
    state.id = Some(record_id(
        &desired.zone_id,
        &desired.name,
        desired.record_type.as_str(),
    ));
    state.allow_overwrite.get_or_insert(desired.allow_overwrite);
    Ok(state)
}
