//! Read and import: the certificate as ACM describes it now, and which of its validation
//! records the zone still holds.

use super::schema::DEFAULT_REGION;
use super::state::{fill_from_certificate, read_names, validation_block, validation_zone_id};
use super::validation;
use crate::aws::acm::Acm;
use crate::aws::arn::Arn;
use crate::aws::route53::Route53;
use crate::registry::Context;
use crate::tf::{Diagnostic, Diagnostics, Value};

/// The certificate as ACM holds it now; `None` when it is gone.
pub(super) async fn read(context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
    // After import only `id` is set: everything else, the validation zone included, is
    // found here.
    let importing = state.attr("arn").is_null();
    let Some(arn) = state
        .attr("arn")
        .as_str()
        .or_else(|| state.attr("id").as_str())
    else {
        return Err(Diagnostic::error(
            "Incomplete state",
            "The stored state lacks the certificate's ARN; remove the resource from the state \
             and import it again.",
        )
        .into());
    };
    let region = state
        .attr("region")
        .as_str()
        .unwrap_or(DEFAULT_REGION)
        .to_owned();
    let acm = Acm::new(context.provider.aws.acm(&region).await);
    let certificate = acm
        .describe(arn)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot read the certificate")))?;
    let Some(certificate) = certificate else {
        return Ok(None);
    };
    let mut new_state = state.clone();
    new_state.set_attr("region", Value::from(region));
    read_names(&mut new_state, &certificate);
    fill_from_certificate(&mut new_state, &certificate);

    let route53 = || async { Route53::new(context.provider.aws.route53().await) };
    let zone = match validation_zone_id(state) {
        Some(zone) => Some(zone),
        None if importing => {
            validation::find_zone(&route53().await, &certificate.validation_records)
                .await
                .map_err(|e| {
                    Diagnostics::from(e.to_diagnostic("Cannot look for the validation records"))
                })?
        }
        None => None,
    };
    if let Some(zone) = zone {
        let present = validation::present(&route53().await, &zone, &certificate.validation_records)
            .await
            .map_err(|e| {
                Diagnostics::from(e.to_diagnostic("Cannot read the validation records"))
            })?;
        new_state.set_attr("validation", validation_block(&zone, present));
    }
    Ok(Some(new_state))
}

/// The state `read` completes after `terraform import ARN`.
pub(super) fn import(id: &str) -> Result<Value, Diagnostics> {
    let arn = Arn::parse(id.trim()).map_err(|e| invalid_import_id(id, &e.to_string()))?;
    if arn.service != "acm" || arn.resource_id("certificate").is_none() {
        return Err(invalid_import_id(
            id,
            "it is not the ARN of an ACM certificate",
        ));
    }
    Ok(Value::object([
        ("domain_name", Value::Null),
        ("subject_alternative_names", Value::Null),
        ("region", Value::from(arn.region.clone())),
        ("arn", Value::Null),
        ("id", Value::from(arn.to_string())),
        ("status", Value::Null),
        ("not_after", Value::Null),
        ("validation_records", Value::Null),
        ("validation", Value::Null),
        ("timeouts", Value::Null),
    ]))
}

fn invalid_import_id(id: &str, reason: &str) -> Diagnostics {
    Diagnostic::error(
        "Invalid import id",
        format!(
            "{id:?}: {reason}. Import a certificate by its ARN, e.g. \
             arn:aws:acm:us-east-1:123456789012:certificate/0b6c2a5e-1111-2222-3333-444455556666"
        ),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_takes_the_region_from_the_arn() {
        let state = import("arn:aws:acm:eu-central-1:123456789012:certificate/0b6c2a5e").unwrap();
        assert_eq!(state.attr("region").as_str(), Some("eu-central-1"));
        assert_eq!(
            state.attr("id").as_str(),
            Some("arn:aws:acm:eu-central-1:123456789012:certificate/0b6c2a5e")
        );
        assert!(state.attr("arn").is_null());
    }

    #[test]
    fn import_refuses_what_is_not_a_certificate_arn() {
        for bad in [
            "0b6c2a5e",
            "arn:aws:cloudfront::1:distribution/E2QWRUHAPOMQZL",
            "arn:aws:acm:us-east-1:1:certificate/",
        ] {
            let diagnostics = import(bad).unwrap_err();
            assert!(
                diagnostics.0[0]
                    .detail
                    .contains("Import a certificate by its ARN"),
                "{bad}"
            );
        }
    }
}
