//! ACM in the local AWS API: certificates requested, read back and deleted behind terraform's
//! back.

use aws_sdk_acm::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_acm::error::ProvideErrorMetadata;
use aws_sdk_acm::types::{CertificateDetail, ValidationMethod};

use super::{ACCESS_KEY_ID, Moto, SECRET_ACCESS_KEY};

impl Moto {
    /// An ACM client of `region` pointed at this server.
    pub fn acm(&self, region: &str) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::from_conf(
            aws_sdk_acm::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(region.to_owned()))
                .credentials_provider(Credentials::new(
                    ACCESS_KEY_ID,
                    SECRET_ACCESS_KEY,
                    None,
                    None,
                    "moto",
                ))
                .endpoint_url(self.endpoint())
                .build(),
        )
    }

    /// Requests a certificate validated through DNS in `region`; returns its ARN.
    pub fn request_certificate(&self, region: &str, domain: &str, others: &[&str]) -> String {
        let mut request = self
            .acm(region)
            .request_certificate()
            .domain_name(domain)
            .validation_method(ValidationMethod::Dns);
        for name in others {
            request = request.subject_alternative_names(*name);
        }
        self.block_on(request.send())
            .unwrap_or_else(|e| panic!("request a certificate for {domain}: {e:?}"))
            .certificate_arn()
            .expect("RequestCertificate returns the ARN")
            .to_owned()
    }

    /// The certificate with this ARN in `region`, if it exists.
    pub fn certificate(&self, region: &str, arn: &str) -> Option<CertificateDetail> {
        let result = self.block_on(
            self.acm(region)
                .describe_certificate()
                .certificate_arn(arn)
                .send(),
        );
        match result {
            Ok(output) => output.certificate().cloned(),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => panic!("describe certificate {arn}: {e:?}"),
        }
    }

    /// The ARNs of every certificate in `region`.
    pub fn certificate_arns(&self, region: &str) -> Vec<String> {
        let output = self
            .block_on(self.acm(region).list_certificates().send())
            .unwrap_or_else(|e| panic!("list certificates in {region}: {e:?}"));
        output
            .certificate_summary_list()
            .iter()
            .filter_map(|summary| summary.certificate_arn().map(str::to_owned))
            .collect()
    }

    /// Deletes a certificate, as someone cleaning up by hand would.
    pub fn delete_certificate(&self, region: &str, arn: &str) {
        self.block_on(
            self.acm(region)
                .delete_certificate()
                .certificate_arn(arn)
                .send(),
        )
        .unwrap_or_else(|e| panic!("delete certificate {arn}: {e:?}"));
    }
}
