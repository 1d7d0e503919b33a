//! ACM as resources use it: certificates requested with DNS validation, described with their
//! validation records in a stable order, waited for until issued, and deleted.

use aws_sdk_acm::primitives::DateTimeFormat;
use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, ValidationMethod};

use super::config::Service;
use super::error::AwsError;
use super::poll::Wait;
use super::route53::normalize_name;

/// AWS's error code for a certificate that does not exist.
pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";

/// AWS's error code for a certificate another AWS resource still uses.
pub const RESOURCE_IN_USE: &str = "ResourceInUseException";

/// The status of an issued certificate.
pub const ISSUED: &str = "ISSUED";

/// A certificate as `DescribeCertificate` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Its ARN.
    pub arn: String,
    /// The primary domain name.
    pub domain_name: String,
    /// Every name the certificate covers, the primary one included, as ACM lists them.
    pub subject_alternative_names: Vec<String>,
    /// `PENDING_VALIDATION`, `ISSUED`, `FAILED`, `VALIDATION_TIMED_OUT`, ...
    pub status: String,
    /// Why issuing failed, when it did.
    pub failure_reason: Option<String>,
    /// The end of validity, RFC 3339, once issued.
    pub not_after: Option<String>,
    /// One validation record per domain, sorted by domain (ACM's order changes between calls).
    pub validation_records: Vec<ValidationRecord>,
    /// Whether every domain has its validation record yet (ACM fills them in a few seconds
    /// after the request).
    pub validation_records_complete: bool,
    /// ARNs of the AWS resources that use the certificate (CloudFront distributions, ...).
    pub in_use_by: Vec<String>,
}

/// The DNS record ACM checks to validate one domain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ValidationRecord {
    /// The domain it validates, e.g. `*.home-proxy.goldentooth.net`.
    pub domain_name: String,
    /// The record's name, normalized (see [`normalize_name`]).
    pub name: String,
    /// The record's type (`CNAME`).
    pub record_type: String,
    /// The record's value, as ACM gives it.
    pub value: String,
}

/// ACM calls on one regional client.
#[derive(Debug, Clone)]
pub struct Acm {
    client: aws_sdk_acm::Client,
}

impl Acm {
    /// Wraps a client (from [`super::AwsClients::acm`]).
    pub fn new(client: aws_sdk_acm::Client) -> Acm {
        Acm { client }
    }

    /// Requests a certificate validated through DNS; returns its ARN.
    pub async fn request(
        &self,
        domain_name: &str,
        subject_alternative_names: &[String],
    ) -> Result<String, AwsError> {
        const OPERATION: &str = "RequestCertificate";
        let mut request = self
            .client
            .request_certificate()
            .domain_name(domain_name)
            .validation_method(ValidationMethod::Dns);
        for name in subject_alternative_names {
            request = request.subject_alternative_names(name);
        }
        let output = request
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Acm, OPERATION, e))?;
        output
            .certificate_arn()
            .map(str::to_owned)
            .ok_or_else(|| AwsError::bad_request(Service::Acm, OPERATION, "no ARN in the answer"))
    }

    /// The certificate with this ARN; `None` when it does not exist.
    pub async fn describe(&self, arn: &str) -> Result<Option<Certificate>, AwsError> {
        let result = self
            .client
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .certificate()
                .map(|detail| certificate_from_sdk(arn, detail))),
            Err(e) => {
                let error = AwsError::from_sdk(Service::Acm, "DescribeCertificate", e);
                if error.is_code(RESOURCE_NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Deletes the certificate; one that is already gone counts as deleted. A certificate in
    /// use fails with [`RESOURCE_IN_USE`].
    pub async fn delete(&self, arn: &str) -> Result<(), AwsError> {
        let result = self
            .client
            .delete_certificate()
            .certificate_arn(arn)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = AwsError::from_sdk(Service::Acm, "DeleteCertificate", e);
                if error.is_code(RESOURCE_NOT_FOUND) {
                    Ok(())
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Polls until ACM lists a validation record for every domain.
    pub async fn wait_for_validation_records(
        &self,
        arn: &str,
        wait: &Wait<'_>,
    ) -> Result<Certificate, AwsError> {
        wait.until(|| async {
            let certificate = self.describe_existing(arn).await?;
            Ok(certificate
                .validation_records_complete
                .then_some(certificate))
        })
        .await
    }

    /// Polls until the certificate is issued; a certificate ACM gave up on (failed, timed out,
    /// revoked) ends the wait with an error that says why.
    pub async fn wait_until_issued(
        &self,
        arn: &str,
        wait: &Wait<'_>,
    ) -> Result<Certificate, AwsError> {
        wait.until(|| async {
            let certificate = self.describe_existing(arn).await?;
            match certificate.status.as_str() {
                ISSUED => Ok(Some(certificate)),
                "PENDING_VALIDATION" => Ok(None),
                status => Err(AwsError::Api {
                    service: Service::Acm,
                    operation: "DescribeCertificate",
                    code: status.to_owned(),
                    message: format!(
                        "the certificate {arn} will not be issued{}",
                        certificate
                            .failure_reason
                            .as_ref()
                            .map(|reason| format!(": {reason}"))
                            .unwrap_or_default()
                    ),
                    request_id: None,
                }),
            }
        })
        .await
    }

    async fn describe_existing(&self, arn: &str) -> Result<Certificate, AwsError> {
        self.describe(arn).await?.ok_or_else(|| AwsError::Api {
            service: Service::Acm,
            operation: "DescribeCertificate",
            code: RESOURCE_NOT_FOUND.to_owned(),
            message: format!("the certificate {arn} disappeared while being waited for"),
            request_id: None,
        })
    }
}

fn certificate_from_sdk(arn: &str, detail: &CertificateDetail) -> Certificate {
    let options = detail.domain_validation_options();
    let mut validation_records: Vec<ValidationRecord> = options
        .iter()
        .filter_map(|option| {
            let record = option.resource_record()?;
            Some(ValidationRecord {
                domain_name: option.domain_name().to_owned(),
                name: normalize_name(record.name()),
                record_type: record.r#type().as_str().to_owned(),
                value: record.value().to_owned(),
            })
        })
        .collect();
    validation_records.sort();
    Certificate {
        arn: detail.certificate_arn().unwrap_or(arn).to_owned(),
        domain_name: detail.domain_name().unwrap_or_default().to_owned(),
        subject_alternative_names: detail.subject_alternative_names().to_vec(),
        status: detail
            .status()
            .map_or("UNKNOWN", CertificateStatus::as_str)
            .to_owned(),
        failure_reason: detail.failure_reason().map(|r| r.as_str().to_owned()),
        not_after: detail
            .not_after()
            .and_then(|time| time.fmt(DateTimeFormat::DateTime).ok()),
        validation_records_complete: !options.is_empty()
            && validation_records.len() == options.len(),
        validation_records,
        in_use_by: detail.in_use_by().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_acm::primitives::DateTime;
    use aws_sdk_acm::types::{DomainValidation, RecordType, ResourceRecord};

    fn validation(domain: &str, with_record: bool) -> DomainValidation {
        let mut builder = DomainValidation::builder().domain_name(domain);
        if with_record {
            builder = builder.resource_record(
                ResourceRecord::builder()
                    .name(format!("_d930b28b.{}.", domain.trim_start_matches("*.")))
                    .r#type(RecordType::Cname)
                    .value("_c9edd76e.acm-validations.aws.")
                    .build()
                    .unwrap(),
            );
        }
        builder.build().unwrap()
    }

    #[test]
    fn validation_records_are_sorted_and_complete_only_when_every_domain_has_one() {
        let detail = CertificateDetail::builder()
            .certificate_arn("arn:aws:acm:us-east-1:1:certificate/x")
            .domain_name("home-proxy.goldentooth.net")
            .subject_alternative_names("home-proxy.goldentooth.net")
            .subject_alternative_names("*.home-proxy.goldentooth.net")
            .status(CertificateStatus::Issued)
            .not_after(DateTime::from_secs(1_800_000_000))
            .domain_validation_options(validation("home-proxy.goldentooth.net", true))
            .domain_validation_options(validation("*.home-proxy.goldentooth.net", true))
            .build();
        let certificate = certificate_from_sdk("ignored", &detail);
        assert_eq!(certificate.arn, "arn:aws:acm:us-east-1:1:certificate/x");
        assert_eq!(certificate.status, ISSUED);
        assert_eq!(
            certificate.not_after.as_deref(),
            Some("2027-01-15T08:00:00Z")
        );
        assert!(certificate.validation_records_complete);
        let domains: Vec<&str> = certificate
            .validation_records
            .iter()
            .map(|r| r.domain_name.as_str())
            .collect();
        assert_eq!(
            domains,
            ["*.home-proxy.goldentooth.net", "home-proxy.goldentooth.net"]
        );
        assert_eq!(
            certificate.validation_records[0].name,
            "_d930b28b.home-proxy.goldentooth.net"
        );
        assert_eq!(certificate.validation_records[0].record_type, "CNAME");

        let pending = CertificateDetail::builder()
            .domain_validation_options(validation("home-proxy.goldentooth.net", true))
            .domain_validation_options(validation("*.home-proxy.goldentooth.net", false))
            .build();
        assert!(!certificate_from_sdk("arn", &pending).validation_records_complete);
    }
}
