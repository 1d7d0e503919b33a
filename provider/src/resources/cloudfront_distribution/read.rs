//! Read and import: the distribution as CloudFront reports it now, compared through the
//! fields this resource sets, and which alias records still point at it.

use super::aliases;
use super::values::{write_distribution, write_settings};
use crate::aws::cloudfront::CloudFront;
use crate::aws::route53::{Route53, bare_zone_id};
use crate::registry::Context;
use crate::tf::{Diagnostic, Diagnostics, Value};

/// The distribution as CloudFront holds it now; `None` when it is gone.
pub(super) async fn read(context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
    // After import only `id` is set: everything else, the alias zone included, is found here.
    let importing = state.attr("arn").is_null();
    let Some(id) = state.attr("id").as_str() else {
        return Err(Diagnostic::error(
            "Incomplete state",
            "The stored state lacks the distribution's id; remove the resource from the state \
             and import it again.",
        )
        .into());
    };
    let cloudfront = CloudFront::new(context.provider.aws.cloudfront().await);
    let distribution = cloudfront
        .get(id)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot read the distribution")))?;
    let Some(distribution) = distribution else {
        return Ok(None);
    };
    let mut new_state = state.clone();
    write_settings(&mut new_state, &distribution.settings);
    write_distribution(&mut new_state, &distribution);

    let settings = &distribution.settings;
    let wanted = aliases::record_sets(&settings.aliases, settings.ipv6, &distribution.domain_name);
    let route53 = || async { Route53::new(context.provider.aws.route53().await) };
    let zone = match state.attr("route53_aliases").attr("zone_id").as_str() {
        Some(zone) => Some(bare_zone_id(zone).to_owned()),
        None if importing => {
            aliases::find_zone(&route53().await, &wanted, &distribution.domain_name)
                .await
                .map_err(|e| {
                    Diagnostics::from(e.to_diagnostic("Cannot look for the alias records"))
                })?
        }
        None => None,
    };
    if let Some(zone) = zone {
        let present = aliases::present(&route53().await, &zone, &wanted, &distribution.domain_name)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot read the alias records")))?;
        new_state.set_attr(
            "route53_aliases",
            Value::object([
                ("zone_id", Value::from(zone)),
                (
                    "records",
                    Value::Set(present.into_iter().map(Value::from).collect()),
                ),
            ]),
        );
    }
    Ok(Some(new_state))
}

/// The state `read` completes after `terraform import ID`.
pub(super) fn import(id: &str) -> Result<Value, Diagnostics> {
    let id = id.trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Diagnostic::error(
            "Invalid import id",
            format!(
                "{id:?} is not a CloudFront distribution id; import a distribution by its id, \
                 e.g. E2QWRUHAPOMQZL."
            ),
        )
        .into());
    }
    let mut state = super::schema::schema().block.null_value();
    state.set_attr("id", Value::from(id));
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_takes_a_distribution_id() {
        let state = import("E2QWRUHAPOMQZL").unwrap();
        assert_eq!(state.attr("id").as_str(), Some("E2QWRUHAPOMQZL"));
        assert!(state.attr("arn").is_null());
        assert!(import("arn:aws:cloudfront::1:distribution/E2QWRUHAPOMQZL").is_err());
        assert!(import("").is_err());
    }
}
