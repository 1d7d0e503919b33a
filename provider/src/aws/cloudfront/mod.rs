//! CloudFront as resources use it: distributions created, read, updated with `If-Match` on
//! the current ETag (retried once when it moved), waited for until deployed, and disabled
//! before they are deleted.

mod settings;

#[cfg(test)]
mod if_match_tests;

use aws_sdk_cloudfront::types::DistributionConfig;

pub use settings::{
    DistributionSettings, GeoRestriction, ORIGIN_ID, OriginSettings, ViewerCertificate,
};

use super::config::Service;
use super::error::AwsError;
use super::poll::Wait;

/// The hosted zone id of every CloudFront distribution, which Route53 alias records target.
pub const HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// AWS's error code for a distribution that does not exist.
pub const NO_SUCH_DISTRIBUTION: &str = "NoSuchDistribution";

/// AWS's error code for an `If-Match` ETag that is no longer current.
pub const PRECONDITION_FAILED: &str = "PreconditionFailed";

/// The status of a distribution whose last change reached every edge location.
pub const DEPLOYED: &str = "Deployed";

/// A distribution as CloudFront reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    /// Its id, e.g. `E2QWRUHAPOMQZL`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its own name, e.g. `d111111abcdef8.cloudfront.net`.
    pub domain_name: String,
    /// `InProgress` or `Deployed`.
    pub status: String,
    /// What it is configured to do, read through the fields this provider sets.
    pub settings: DistributionSettings,
}

/// CloudFront calls on one client.
#[derive(Debug, Clone)]
pub struct CloudFront {
    client: aws_sdk_cloudfront::Client,
}

impl CloudFront {
    /// Wraps a client (from [`super::AwsClients::cloudfront`]).
    pub fn new(client: aws_sdk_cloudfront::Client) -> CloudFront {
        CloudFront { client }
    }

    /// Creates a distribution; `caller_reference` must be new (CloudFront refuses a reused one).
    pub async fn create(
        &self,
        settings: &DistributionSettings,
        caller_reference: &str,
    ) -> Result<Distribution, AwsError> {
        const OPERATION: &str = "CreateDistribution";
        let config = settings
            .to_sdk(caller_reference)
            .map_err(|e| AwsError::bad_request(Service::CloudFront, OPERATION, e))?;
        let output = self
            .client
            .create_distribution()
            .distribution_config(config)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::CloudFront, OPERATION, e))?;
        distribution_from_answer(output.distribution(), OPERATION)
    }

    /// The distribution with this id; `None` when it does not exist.
    pub async fn get(&self, id: &str) -> Result<Option<Distribution>, AwsError> {
        const OPERATION: &str = "GetDistribution";
        match self.client.get_distribution().id(id).send().await {
            Ok(output) => distribution_from_answer(output.distribution(), OPERATION).map(Some),
            Err(e) => none_when_missing(AwsError::from_sdk(Service::CloudFront, OPERATION, e)),
        }
    }

    /// Replaces everything this provider sets with `settings`, keeping the distribution's
    /// caller reference.
    pub async fn update(
        &self,
        id: &str,
        settings: &DistributionSettings,
    ) -> Result<Distribution, AwsError> {
        self.update_config(id, |current| {
            settings
                .to_sdk(current.caller_reference())
                .map_err(|e| AwsError::bad_request(Service::CloudFront, "UpdateDistribution", e))
        })
        .await
    }

    /// Turns the distribution on or off and changes nothing else.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<Distribution, AwsError> {
        self.update_config(id, |mut current| {
            current.enabled = enabled;
            Ok(current)
        })
        .await
    }

    /// Polls until the distribution's last change is deployed.
    pub async fn wait_until_deployed(
        &self,
        id: &str,
        wait: &Wait<'_>,
    ) -> Result<Distribution, AwsError> {
        wait.until(|| async {
            let distribution = self.get(id).await?.ok_or_else(|| gone(id))?;
            Ok((distribution.status == DEPLOYED).then_some(distribution))
        })
        .await
    }

    /// Deletes the distribution: CloudFront deletes only a disabled distribution whose
    /// change is deployed, so it is disabled and waited for first. One already gone counts
    /// as deleted.
    pub async fn delete(&self, id: &str, wait: &Wait<'_>) -> Result<(), AwsError> {
        const OPERATION: &str = "DeleteDistribution";
        let Some(current) = self.get(id).await? else {
            return Ok(());
        };
        if current.settings.enabled {
            self.set_enabled(id, false).await?;
        }
        self.wait_until_deployed(id, wait).await?;
        for attempt in 1..=2 {
            let Some((_, etag)) = self.config_and_etag(id).await? else {
                return Ok(());
            };
            let result = self
                .client
                .delete_distribution()
                .id(id)
                .if_match(etag)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let error = AwsError::from_sdk(Service::CloudFront, OPERATION, e);
                    if error.is_code(NO_SUCH_DISTRIBUTION) {
                        return Ok(());
                    }
                    if !(error.is_code(PRECONDITION_FAILED) && attempt == 1) {
                        return Err(error);
                    }
                    log_etag_moved(id, OPERATION);
                }
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Reads the current configuration and its ETag, lets `change` derive the new one, and
    /// sends it with `If-Match`; when the ETag moved in between (someone else changed the
    /// distribution), does it all once more on the newer configuration.
    async fn update_config(
        &self,
        id: &str,
        change: impl Fn(DistributionConfig) -> Result<DistributionConfig, AwsError>,
    ) -> Result<Distribution, AwsError> {
        const OPERATION: &str = "UpdateDistribution";
        for attempt in 1..=2 {
            let (current, etag) = self.config_and_etag(id).await?.ok_or_else(|| gone(id))?;
            let result = self
                .client
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(change(current)?)
                .send()
                .await;
            match result {
                Ok(output) => return distribution_from_answer(output.distribution(), OPERATION),
                Err(e) => {
                    let error = AwsError::from_sdk(Service::CloudFront, OPERATION, e);
                    if !(error.is_code(PRECONDITION_FAILED) && attempt == 1) {
                        return Err(error);
                    }
                    log_etag_moved(id, OPERATION);
                }
            }
        }
        unreachable!("the second attempt returns")
    }

    /// The configuration as CloudFront holds it now, with the ETag an update must send.
    async fn config_and_etag(
        &self,
        id: &str,
    ) -> Result<Option<(DistributionConfig, String)>, AwsError> {
        const OPERATION: &str = "GetDistributionConfig";
        match self.client.get_distribution_config().id(id).send().await {
            Ok(output) => {
                let etag = output.e_tag().unwrap_or_default().to_owned();
                let config = output.distribution_config.ok_or_else(|| {
                    AwsError::bad_request(
                        Service::CloudFront,
                        OPERATION,
                        "no configuration in the answer",
                    )
                })?;
                Ok(Some((config, etag)))
            }
            Err(e) => none_when_missing(AwsError::from_sdk(Service::CloudFront, OPERATION, e)),
        }
    }
}

fn distribution_from_answer(
    distribution: Option<&aws_sdk_cloudfront::types::Distribution>,
    operation: &'static str,
) -> Result<Distribution, AwsError> {
    let distribution = distribution.ok_or_else(|| {
        AwsError::bad_request(
            Service::CloudFront,
            operation,
            "no distribution in the answer",
        )
    })?;
    let config = distribution.distribution_config().ok_or_else(|| {
        AwsError::bad_request(
            Service::CloudFront,
            operation,
            "no configuration in the answer",
        )
    })?;
    Ok(Distribution {
        id: distribution.id().to_owned(),
        arn: distribution.arn().to_owned(),
        domain_name: distribution.domain_name().to_owned(),
        status: distribution.status().to_owned(),
        settings: DistributionSettings::from_sdk(config),
    })
}

fn none_when_missing<T>(error: AwsError) -> Result<Option<T>, AwsError> {
    if error.is_code(NO_SUCH_DISTRIBUTION) {
        Ok(None)
    } else {
        Err(error)
    }
}

fn gone(id: &str) -> AwsError {
    AwsError::Api {
        service: Service::CloudFront,
        operation: "GetDistribution",
        code: NO_SUCH_DISTRIBUTION.to_owned(),
        message: format!("the distribution {id} disappeared while being changed"),
        request_id: None,
    }
}

fn log_etag_moved(id: &str, operation: &str) {
    crate::log::debug(
        "the distribution changed between reading and writing it; trying once more",
        &[("distribution", &id), ("operation", &operation)],
    );
}
