//! Create, update and delete: the certificate requested, its validation records written and
//! waited for until ACM issues it, records moved between zones, and on destroy the
//! certificate deleted (with a clear word when something still uses it) before its records.

use std::time::Duration;

use tokio::time::Instant;

use super::schema::{DEFAULT_DELETE_TIMEOUT, DEFAULT_ISSUE_TIMEOUT};
use super::state::{
    DesiredCertificate, fill_from_certificate, validation_block, validation_records_from_state,
    validation_zone_id,
};
use super::validation;
use crate::aws::AwsError;
use crate::aws::acm::{Acm, Certificate, ISSUED, RESOURCE_IN_USE};
use crate::aws::arn::Arn;
use crate::aws::cloudfront::{CloudFront, ViewerCertificate};
use crate::aws::poll::Wait;
use crate::aws::route53::Route53;
use crate::registry::Context;
use crate::tf::{Diagnostic, Diagnostics, Value, timeouts};

/// What to tell a user whose certificate takes too long.
const ISSUE_HINT: &str = "ACM issues a certificate once it sees every validation record; check \
                          that the hosted zone is the one the domain's name servers serve, or \
                          raise the timeout in the resource's timeouts block.";

/// The pause between two attempts to delete a certificate in use.
const IN_USE_RETRY_INTERVAL: Duration = Duration::from_secs(10);

pub(super) async fn create(context: &Context, planned: &Value) -> Result<Value, Diagnostics> {
    let desired = DesiredCertificate::from_state(planned)?;
    let deadline = Instant::now() + timeouts::timeout(planned, "create", DEFAULT_ISSUE_TIMEOUT);
    let acm = Acm::new(context.provider.aws.acm(&desired.region).await);
    let arn = acm
        .request(&desired.domain_name, &desired.subject_alternative_names)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot request the certificate")))?;
    crate::log::info(
        "requested an ACM certificate",
        &[("arn", &arn), ("domain", &desired.domain_name)],
    );
    match validate_and_wait(context, &acm, &arn, &desired, deadline).await {
        Ok(certificate) => Ok(known_state(planned, &certificate, &desired)),
        Err(error) => {
            // Nothing is left behind: the state would not record the certificate, so a later
            // apply could never remove it.
            let rolled_back = roll_back(context, &acm, &arn, &desired).await;
            let mut diagnostic = error.to_diagnostic("The certificate was not issued");
            diagnostic.detail.push_str(&match rolled_back {
                Ok(()) => format!(
                    "\n\nThe certificate {arn} and its validation records were removed again."
                ),
                Err(e) => format!(
                    "\n\nRemoving the certificate {arn} again failed too ({e}); delete it \
                     and its validation records by hand."
                ),
            });
            Err(diagnostic.into())
        }
    }
}

pub(super) async fn update(
    context: &Context,
    prior: &Value,
    planned: &Value,
) -> Result<Value, Diagnostics> {
    let desired = DesiredCertificate::from_state(planned)?;
    let Some(arn) = prior.attr("arn").as_str() else {
        return Err(Diagnostic::error(
            "Incomplete state",
            "The stored state lacks the certificate's ARN; remove the resource from the state \
             and import it again.",
        )
        .into());
    };
    let timeout = timeouts::timeout(planned, "update", DEFAULT_ISSUE_TIMEOUT);
    let deadline = Instant::now() + timeout;
    let acm = Acm::new(context.provider.aws.acm(&desired.region).await);
    // Written first, so a certificate stays renewable while its records move between zones.
    let certificate = validate_and_wait(context, &acm, arn, &desired, deadline)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot validate the certificate")))?;
    let old_zone = validation_zone_id(prior);
    if let Some(old_zone) = old_zone.filter(|old| desired.validation_zone_id.as_ref() != Some(old))
    {
        let records = validation_records_from_state(prior.attr("validation_records"))
            .unwrap_or_else(|| certificate.validation_records.clone());
        let route53 = Route53::new(context.provider.aws.route53().await);
        validation::remove(&route53, &old_zone, &records, timeout, &context.cancel)
            .await
            .map_err(|e| {
                Diagnostics::from(e.to_diagnostic(&format!(
                    "Cannot remove the validation records from the hosted zone {old_zone}"
                )))
            })?;
    }
    Ok(known_state(planned, &certificate, &desired))
}

pub(super) async fn delete(context: &Context, prior: &Value) -> Result<(), Diagnostics> {
    let Some(arn) = prior.attr("arn").as_str() else {
        return Ok(());
    };
    let region = prior
        .attr("region")
        .as_str()
        .unwrap_or(super::schema::DEFAULT_REGION);
    let timeout = timeouts::timeout(prior, "delete", DEFAULT_DELETE_TIMEOUT);
    let acm = Acm::new(context.provider.aws.acm(region).await);
    delete_certificate(context, &acm, arn, timeout).await?;
    // Removed only once the certificate is gone: a certificate in use keeps renewing.
    if let (Some(zone), Some(records)) = (
        validation_zone_id(prior),
        validation_records_from_state(prior.attr("validation_records")),
    ) {
        let route53 = Route53::new(context.provider.aws.route53().await);
        validation::remove(&route53, &zone, &records, timeout, &context.cancel)
            .await
            .map_err(|e| {
                Diagnostics::from(e.to_diagnostic(&format!(
                    "The certificate is deleted, but its validation records in the hosted \
                     zone {zone} could not be removed"
                )))
            })?;
    }
    Ok(())
}

/// With a validation zone: waits for ACM's validation records, writes them, and waits until
/// the certificate is issued, all before `deadline`. Without one: reads the certificate as
/// it is.
async fn validate_and_wait(
    context: &Context,
    acm: &Acm,
    arn: &str,
    desired: &DesiredCertificate,
    deadline: Instant,
) -> Result<Certificate, AwsError> {
    let wait = |what: String| Wait {
        what,
        timeout: deadline.saturating_duration_since(Instant::now()),
        hint: ISSUE_HINT,
        cancel: &context.cancel,
    };
    let Some(zone) = &desired.validation_zone_id else {
        return acm
            .wait_for_validation_records(arn, &wait(format!("ACM's validation records of {arn}")))
            .await;
    };
    let certificate = acm
        .wait_for_validation_records(arn, &wait(format!("ACM's validation records of {arn}")))
        .await?;
    let route53 = Route53::new(context.provider.aws.route53().await);
    validation::write(
        &route53,
        zone,
        &certificate.validation_records,
        deadline.saturating_duration_since(Instant::now()),
        &context.cancel,
    )
    .await?;
    if certificate.status == ISSUED {
        return Ok(certificate);
    }
    acm.wait_until_issued(arn, &wait(format!("the certificate {arn} to be issued")))
        .await
}

/// The planned state with everything ACM and Route53 report filled in.
fn known_state(planned: &Value, certificate: &Certificate, desired: &DesiredCertificate) -> Value {
    let mut state = planned.clone();
    fill_from_certificate(&mut state, certificate);
    if let Some(zone) = &desired.validation_zone_id {
        // Just written and waited for: every record is there.
        state.set_attr(
            "validation",
            validation_block(
                zone,
                validation::expected_keys(&certificate.validation_records),
            ),
        );
    }
    state
}

/// Removes what a failed create made: the validation records, then the certificate.
async fn roll_back(
    context: &Context,
    acm: &Acm,
    arn: &str,
    desired: &DesiredCertificate,
) -> Result<(), AwsError> {
    const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(60);
    if let Some(zone) = &desired.validation_zone_id
        && let Some(certificate) = acm.describe(arn).await?
    {
        let route53 = Route53::new(context.provider.aws.route53().await);
        // Terraform may have asked to stop; the cleanup still gets its minute.
        let cancel = tokio_util::sync::CancellationToken::new();
        validation::remove(
            &route53,
            zone,
            &certificate.validation_records,
            ROLLBACK_TIMEOUT,
            &cancel,
        )
        .await?;
    }
    acm.delete(arn).await
}

/// Deletes the certificate. ACM refuses while another resource uses it: a CloudFront
/// distribution that still names it is reported at once; otherwise (CloudFront releases a
/// certificate some minutes after its distribution is gone) deleting is retried until the
/// timeout.
async fn delete_certificate(
    context: &Context,
    acm: &Acm,
    arn: &str,
    timeout: Duration,
) -> Result<(), Diagnostics> {
    let deadline = Instant::now() + timeout;
    let wait = Wait {
        what: format!("the certificate {arn} to be released"),
        timeout,
        hint: "",
        cancel: &context.cancel,
    };
    loop {
        let error = match acm.delete(arn).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_code(RESOURCE_IN_USE) => e,
            Err(e) => return Err(e.to_diagnostic("Cannot delete the certificate").into()),
        };
        let users = acm
            .describe(arn)
            .await
            .ok()
            .flatten()
            .map(|certificate| certificate.in_use_by)
            .unwrap_or_default();
        let attached = distributions_still_using(context, arn, &users).await;
        if !attached.is_empty() || Instant::now() + IN_USE_RETRY_INTERVAL > deadline {
            return Err(in_use(arn, &error, &users, &attached).into());
        }
        wait.pause(IN_USE_RETRY_INTERVAL)
            .await
            .map_err(|e| Diagnostics::from(e.to_diagnostic("Cannot delete the certificate")))?;
    }
}

/// The CloudFront distributions among `users` that exist and still name the certificate, as
/// `ID (aliases)`.
async fn distributions_still_using(context: &Context, arn: &str, users: &[String]) -> Vec<String> {
    let mut attached = Vec::new();
    for user in users {
        let Some(id) = Arn::parse(user)
            .ok()
            .filter(|user| user.service == "cloudfront")
            .and_then(|user| user.resource_id("distribution").map(str::to_owned))
        else {
            continue;
        };
        let cloudfront = CloudFront::new(context.provider.aws.cloudfront().await);
        if let Ok(Some(distribution)) = cloudfront.get(&id).await
            && matches!(&distribution.settings.viewer_certificate,
                ViewerCertificate::Acm { arn: used, .. } if used == arn)
        {
            let aliases = distribution.settings.aliases.join(", ");
            attached.push(if aliases.is_empty() {
                id
            } else {
                format!("{id} ({aliases})")
            });
        }
    }
    attached
}

/// The diagnostic for a certificate ACM will not delete because something uses it.
fn in_use(arn: &str, error: &AwsError, users: &[String], attached: &[String]) -> Diagnostic {
    let users = if users.is_empty() {
        "another AWS resource".to_owned()
    } else {
        users.join(", ")
    };
    let advice = if attached.is_empty() {
        "Detach the certificate from it (or delete that resource), then destroy again; \
         CloudFront releases a certificate some minutes after its distribution is deleted."
            .to_owned()
    } else {
        format!(
            "The CloudFront distribution {} still uses it (a distribution with \
             retain_on_delete = true is only disabled on destroy). Point it at another \
             certificate or delete it, then destroy again.",
            attached.join(", ")
        )
    };
    Diagnostic::error(
        "Certificate in use",
        format!(
            "ACM will not delete the certificate {arn}: it is in use by {users}. {advice}\n\n{error}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Service;

    #[test]
    fn a_certificate_in_use_names_what_uses_it() {
        let error = AwsError::Api {
            service: Service::Acm,
            operation: "DeleteCertificate",
            code: RESOURCE_IN_USE.into(),
            message: "Certificate arn:aws:acm:us-east-1:1:certificate/x is in use.".into(),
            request_id: None,
        };
        let users = ["arn:aws:cloudfront::1:distribution/E2QWRUHAPOMQZL".to_owned()];
        let diagnostic = in_use(
            "arn:aws:acm:us-east-1:1:certificate/x",
            &error,
            &users,
            &["E2QWRUHAPOMQZL (home-proxy.goldentooth.net)".to_owned()],
        );
        assert_eq!(diagnostic.summary, "Certificate in use");
        for text in [
            "in use by arn:aws:cloudfront::1:distribution/E2QWRUHAPOMQZL",
            "E2QWRUHAPOMQZL (home-proxy.goldentooth.net) still uses it",
            "retain_on_delete",
            "ResourceInUseException",
        ] {
            assert!(
                diagnostic.detail.contains(text),
                "{text}: {}",
                diagnostic.detail
            );
        }
        let released = in_use("arn:x", &error, &[], &[]);
        assert!(released.detail.contains("another AWS resource"));
        assert!(released.detail.contains("some minutes after"));
    }
}
