//! The AWS clients of one configured provider, built on first use: runs that touch no AWS
//! resource never read AWS settings or look for credentials.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use tokio::sync::OnceCell;

use super::config::{AwsSettings, CLOUDFRONT_CERTIFICATE_REGION, DEFAULT_REGION, Service};

/// The AWS clients of one configured provider. Cheap to create; the SDK configuration is
/// loaded, and each client built, the first time a resource asks for it.
pub struct AwsClients {
    settings: AwsSettings,
    shared: OnceCell<SdkConfig>,
    route53: OnceCell<aws_sdk_route53::Client>,
    cloudfront: OnceCell<aws_sdk_cloudfront::Client>,
    acm_by_region: Mutex<HashMap<String, aws_sdk_acm::Client>>,
}

impl fmt::Debug for AwsClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The settings' own Debug hides secrets; the clients have nothing worth showing.
        f.debug_struct("AwsClients")
            .field("settings", &self.settings)
            .field("loaded", &self.shared.initialized())
            .finish()
    }
}

impl AwsClients {
    /// Clients for these settings; nothing is loaded yet.
    pub fn new(settings: AwsSettings) -> AwsClients {
        AwsClients {
            settings,
            shared: OnceCell::new(),
            route53: OnceCell::new(),
            cloudfront: OnceCell::new(),
            acm_by_region: Mutex::new(HashMap::new()),
        }
    }

    /// The settings from the provider block.
    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The Route53 client.
    pub async fn route53(&self) -> aws_sdk_route53::Client {
        self.route53
            .get_or_init(|| async {
                let shared = self.shared_config().await;
                let mut builder = aws_sdk_route53::config::Builder::from(shared);
                if let Some(url) = self.settings.endpoints.get(Service::Route53) {
                    builder = builder.endpoint_url(url);
                }
                aws_sdk_route53::Client::from_conf(builder.build())
            })
            .await
            .clone()
    }

    /// The CloudFront client.
    pub async fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        self.cloudfront
            .get_or_init(|| async {
                let shared = self.shared_config().await;
                let mut builder = aws_sdk_cloudfront::config::Builder::from(shared);
                if let Some(url) = self.settings.endpoints.get(Service::CloudFront) {
                    builder = builder.endpoint_url(url);
                }
                aws_sdk_cloudfront::Client::from_conf(builder.build())
            })
            .await
            .clone()
    }

    /// The ACM client of `region`.
    pub async fn acm(&self, region: &str) -> aws_sdk_acm::Client {
        if let Some(client) = self.acm_clients().get(region) {
            return client.clone();
        }
        let shared = self.shared_config().await;
        let mut builder =
            aws_sdk_acm::config::Builder::from(shared).region(Region::new(region.to_owned()));
        if let Some(url) = self.settings.endpoints.get(Service::Acm) {
            builder = builder.endpoint_url(url);
        }
        let client = aws_sdk_acm::Client::from_conf(builder.build());
        // Two tasks may build the same region's client at once; either result is fine.
        self.acm_clients()
            .entry(region.to_owned())
            .or_insert(client)
            .clone()
    }

    /// The ACM client of the configured region.
    pub async fn acm_in_configured_region(&self) -> aws_sdk_acm::Client {
        let region = self.region().await;
        self.acm(&region).await
    }

    /// The ACM client of the region CloudFront takes certificates from (`us-east-1`).
    pub async fn acm_for_cloudfront(&self) -> aws_sdk_acm::Client {
        self.acm(CLOUDFRONT_CERTIFICATE_REGION).await
    }

    /// The region regional APIs use: the block's, else `AWS_REGION` / `AWS_DEFAULT_REGION`,
    /// else the profile's, else `us-east-1`.
    pub async fn region(&self) -> String {
        self.shared_config()
            .await
            .region()
            .map_or_else(|| DEFAULT_REGION.to_owned(), |r| r.as_ref().to_owned())
    }

    fn acm_clients(&self) -> std::sync::MutexGuard<'_, HashMap<String, aws_sdk_acm::Client>> {
        // A panic while holding the lock left a map of finished clients: still usable.
        self.acm_by_region
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The SDK configuration shared by every client, loaded once: block values first, then
    /// the SDK's default chain (environment, shared files, SSO, credential_process, ...).
    async fn shared_config(&self) -> &SdkConfig {
        self.shared
            .get_or_init(|| async {
                let settings = &self.settings;
                // The SDK's own region chain ends with the EC2 instance metadata service, which
                // would send a request off this machine; a homelab wants us-east-1 instead.
                let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
                if let Some(profile) = &settings.profile {
                    profile_region = profile_region.profile_name(profile);
                }
                let region =
                    RegionProviderChain::first_try(settings.region.clone().map(Region::new))
                        .or_else(aws_config::environment::EnvironmentVariableRegionProvider::new())
                        .or_else(profile_region.build())
                        .or_else(Region::from_static(DEFAULT_REGION));
                let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
                if let Some(profile) = &settings.profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(credentials) = &settings.static_credentials {
                    loader = loader.credentials_provider(Credentials::new(
                        credentials.access_key_id.clone(),
                        credentials.secret_access_key.clone(),
                        credentials.session_token.clone(),
                        None,
                        "homelab-provider-block",
                    ));
                }
                let config = loader.load().await;
                crate::log::debug(
                    "AWS configuration loaded",
                    &[
                        ("region", &config.region().map_or("(none)", |r| r.as_ref())),
                        (
                            "profile",
                            &settings.profile.as_deref().unwrap_or("(default chain)"),
                        ),
                        (
                            "credentials",
                            &if settings.static_credentials.is_some() {
                                "provider block"
                            } else {
                                "default chain"
                            },
                        ),
                    ],
                );
                config
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::config::Endpoints;

    #[tokio::test]
    async fn block_region_and_endpoints_win_and_nothing_loads_before_first_use() {
        let clients = AwsClients::new(AwsSettings {
            region: Some("eu-central-1".into()),
            endpoints: Endpoints {
                route53: Some("http://127.0.0.1:9/".into()),
                ..Endpoints::default()
            },
            ..AwsSettings::default()
        });
        assert!(!clients.shared.initialized());
        assert_eq!(clients.region().await, "eu-central-1");
        let route53 = clients.route53().await;
        assert_eq!(
            route53.config().region().map(|r| r.as_ref().to_owned()),
            Some("eu-central-1".to_owned())
        );
        let acm = clients.acm_for_cloudfront().await;
        assert_eq!(
            acm.config().region().map(|r| r.as_ref().to_owned()),
            Some("us-east-1".to_owned())
        );
    }
}
