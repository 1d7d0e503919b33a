//! Read and import: what Route53 holds now at the record's name and type, reported in the
//! user's spelling wherever the values are the same.

use super::record::{parse_import_id, record_id, same_address};
use crate::aws::route53::{NO_SUCH_HOSTED_ZONE, RecordData, Route53};
use crate::registry::Context;
use crate::tf::{Diagnostic, Diagnostics, Value};

/// The record as Route53 holds it now; `None` when it, or its zone, is gone.
pub(super) async fn read(context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
    let (Some(zone_id), Some(name), Some(record_type)) = (
        state.attr("zone_id").as_str(),
        state.attr("name").as_str(),
        state.attr("type").as_str(),
    ) else {
        return Err(Diagnostic::error(
            "Incomplete state",
            "The stored state lacks zone_id, name or type; remove the resource from the state \
             and import it again.",
        )
        .into());
    };
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
            new_state.set_attr("ttl", Value::int(*ttl));
            new_state.set_attr("address", read_address(state.attr("address"), values));
        }
        // An alias holds no address of its own: the plan shows it being replaced by one.
        RecordData::Alias { .. } => new_state.set_attr("address", Value::Null),
    }
    if state.attr("zone_name").as_str().is_none() {
        // After import only the zone id is known; the name comes from Route53.
        let zone = route53
            .hosted_zone(zone_id)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot look up the hosted zone")))?;
        let Some(zone) = zone else {
            return Ok(None);
        };
        new_state.set_attr("zone_name", Value::from(zone.name));
    }
    if state.attr("allow_overwrite").as_bool().is_none() {
        new_state.set_attr("allow_overwrite", Value::from(false));
    }
    new_state.set_attr("id", Value::from(record_id(zone_id, name, record_type)));
    Ok(Some(new_state))
}

/// The state `read` completes after `terraform import ZONE_ID/NAME/TYPE`.
pub(super) fn import(id: &str) -> Result<Value, Diagnostics> {
    let (zone_id, name, record_type) = parse_import_id(id)
        .map_err(|reason| Diagnostics::from(Diagnostic::error("Invalid import id", reason)))?;
    Ok(Value::object([
        ("zone_id", Value::from(zone_id.clone())),
        ("zone_name", Value::Null),
        ("name", Value::from(name.clone())),
        ("type", Value::from(record_type.as_str())),
        ("ttl", Value::Null),
        ("address", Value::Null),
        ("allow_overwrite", Value::Null),
        (
            "id",
            Value::from(record_id(&zone_id, &name, record_type.as_str())),
        ),
        ("timeouts", Value::Null),
    ]))
}

/// The address Route53 answers with, in the state's spelling when it is the same address.
/// Several values (an edit outside Terraform) read as one comma-separated text, which differs
/// from any planned address and so shows as drift.
fn read_address(in_state: &Value, values: &[String]) -> Value {
    match values {
        [] => Value::Null,
        [value] => match in_state.as_str() {
            Some(old) if same_address(old, value) => Value::from(old),
            _ => Value::from(value.clone()),
        },
        several => Value::from(several.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_states_spelling_of_an_unchanged_address_is_kept() {
        let values = ["2a00:1450:4001:80b::200e".to_owned()];
        assert_eq!(
            read_address(&Value::from("2A00:1450:4001:80B::200E"), &values),
            Value::from("2A00:1450:4001:80B::200E")
        );
        assert_eq!(
            read_address(&Value::from("81.2.69.160"), &["81.2.69.142".to_owned()]),
            Value::from("81.2.69.142")
        );
        assert_eq!(
            read_address(
                &Value::from("81.2.69.160"),
                &["81.2.69.160".to_owned(), "81.2.69.142".to_owned()]
            ),
            Value::from("81.2.69.160, 81.2.69.142")
        );
    }

    #[test]
    fn import_fills_identity_and_leaves_the_rest_to_read() {
        let state = import("Z1/Clearbrook.goldentooth.net./A").unwrap();
        assert_eq!(state.attr("zone_id").as_str(), Some("Z1"));
        assert_eq!(
            state.attr("name").as_str(),
            Some("Clearbrook.goldentooth.net.")
        );
        assert_eq!(
            state.attr("id").as_str(),
            Some("Z1/clearbrook.goldentooth.net/A")
        );
        assert!(state.attr("address").is_null());
        assert!(import("Z1/clearbrook.goldentooth.net/TXT").is_err());
    }
}
