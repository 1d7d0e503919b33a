//! Read and import: what Route53 holds now at the record's name and type, reported in the
//! user's spelling wherever the values are the same.

use super::model::DnsRecordModel;
use super::record::{parse_import_id, record_id, same_address};
use super::schema::schema;
use crate::aws::route53::{NO_SUCH_HOSTED_ZONE, RecordData, Route53};
use crate::registry::Context;
use crate::tf::{Diagnostic, Diagnostics, Value, model};

/// The record as Route53 holds it now; `None` when it, or its zone, is gone.
pub(super) async fn read(context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
    let state: DnsRecordModel = model::from_value(state)?;
    let Some(zone_id) = state.zone_id.as_deref() else {
        return Err(Diagnostic::error(
            "Incomplete state",
            "The stored state lacks zone_id, name or type; remove the resource from the state \
             and import it again.",
        )
        .into());
    };
    let (name, record_type) = (&state.name, &state.record_type);
    let route53 = Route53::new(context.provider.aws.route53().await);
    let found = match route53.record_set(zone_id, name, record_type).await {
        Ok(found) => found,
        Err(e) if e.is_code(NO_SUCH_HOSTED_ZONE) => None,
        Err(e) => return Err(e.to_diagnostic("Cannot read the DNS record").into()),
    };
    let Some(found) = found else {
        return Ok(None);
    };
    let mut new_state = state.clone();
    match &found.data {
        RecordData::Values { ttl, values } => {
            new_state.ttl = Some(*ttl);
            new_state.address = read_address(state.address.as_deref(), values);
        }
        RecordData::Alias { .. } => new_state.address = None,
    }
    if state.zone_name.is_none() {
        let zone = route53
            .hosted_zone(zone_id)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot look up the hosted zone")))?;
        let Some(zone) = zone else {
            return Ok(None);
        };
        new_state.zone_name = Some(zone.name);
    }
    new_state.allow_overwrite.get_or_insert(false);
    new_state.id = Some(record_id(zone_id, name, record_type));
    Ok(Some(model::to_value(
        &new_state,
        &schema().block.value_type(),
    )?))
}

pub(super) fn import(id: &str) -> Result<Value, Diagnostics> {
    let state = imported_state(id)?;
    Ok(model::to_value(&state, &schema().block.value_type())?)
}

/// The state an import starts from: the identity and id; the read that follows fills in the rest.
fn imported_state(id: &str) -> Result<DnsRecordModel, Diagnostics> {
    let (zone_id, name, record_type) = parse_import_id(id)
        .map_err(|reason| Diagnostics::from(Diagnostic::error("Invalid import id", reason)))?;
    Ok(DnsRecordModel {
        id: Some(record_id(&zone_id, &name, record_type.as_str())),
        zone_id: Some(zone_id),
        name,
        record_type: record_type.as_str().to_owned(),
        ..DnsRecordModel::default()
    })
}

fn read_address(in_state: Option<&str>, values: &[String]) -> Option<String> {
    match values {
        [] => None,
        [value] => match in_state {
            Some(old) if same_address(old, value) => Some(old.to_owned()),
            _ => Some(value.clone()),
        },
        several => Some(several.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_states_spelling_of_an_unchanged_address_is_kept() {
        let values = ["2a00:1450:4001:80b::200e".to_owned()];
        assert_eq!(
            read_address(Some("2A00:1450:4001:80B::200E"), &values).as_deref(),
            Some("2A00:1450:4001:80B::200E")
        );
        assert_eq!(
            read_address(Some("81.2.69.160"), &["81.2.69.142".to_owned()]).as_deref(),
            Some("81.2.69.142")
        );
        assert_eq!(
            read_address(
                Some("81.2.69.160"),
                &["81.2.69.160".to_owned(), "81.2.69.142".to_owned()]
            )
            .as_deref(),
            Some("81.2.69.160, 81.2.69.142")
        );
    }

    #[test]
    fn import_fills_identity_and_leaves_the_rest_to_read() {
        let state = imported_state("Z1/Clearbrook.goldentooth.net./A").unwrap();
        assert_eq!(state.zone_id.as_deref(), Some("Z1"));
        assert_eq!(state.name, "Clearbrook.goldentooth.net.");
        assert_eq!(state.id.as_deref(), Some("Z1/clearbrook.goldentooth.net/A"));
        assert_eq!(state.address, None);
        let value = import("Z1/Clearbrook.goldentooth.net./A").unwrap();
        assert_eq!(
            value,
            model::to_value(&state, &schema().block.value_type()).unwrap()
        );
        assert!(import("Z1/clearbrook.goldentooth.net/TXT").is_err());
    }
}
