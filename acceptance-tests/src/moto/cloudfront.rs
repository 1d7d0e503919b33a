//! CloudFront in the local AWS API: distributions read back, edited and deleted behind
//! terraform's back, and the Route53 alias records that point at them.

use aws_sdk_cloudfront::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_cloudfront::types::DistributionConfig;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};

use super::{ACCESS_KEY_ID, Moto, REGION, SECRET_ACCESS_KEY, normalize};

/// A distribution as moto holds it.
#[derive(Debug, Clone)]
pub struct DistributionView {
    /// Its id.
    pub id: String,
    /// Its own `*.cloudfront.net` name.
    pub domain_name: String,
    /// `InProgress` or `Deployed`.
    pub status: String,
    /// Its whole configuration, as moto answers it (echoes included).
    pub config: DistributionConfig,
}

impl DistributionView {
    /// The aliases, sorted.
    pub fn aliases(&self) -> Vec<String> {
        sorted(
            self.config
                .aliases()
                .map(|a| a.items().to_vec())
                .unwrap_or_default(),
        )
    }

    /// The geo restriction's type and its countries, sorted.
    pub fn geo_restriction(&self) -> (String, Vec<String>) {
        let geo = self
            .config
            .restrictions()
            .and_then(|r| r.geo_restriction())
            .expect("a geo restriction");
        (
            geo.restriction_type().as_str().to_owned(),
            sorted(geo.items().to_vec()),
        )
    }

    /// The allowed methods of the default cache behaviour, sorted.
    pub fn allowed_methods(&self) -> Vec<String> {
        sorted(
            self.config
                .default_cache_behavior()
                .and_then(|b| b.allowed_methods())
                .map(|m| m.items().iter().map(|m| m.as_str().to_owned()).collect())
                .unwrap_or_default(),
        )
    }
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

impl Moto {
    /// A CloudFront client pointed at this server.
    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::from_conf(
            aws_sdk_cloudfront::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(REGION))
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

    /// The distribution with this id, if it exists.
    pub fn distribution(&self, id: &str) -> Option<DistributionView> {
        match self.block_on(self.cloudfront().get_distribution().id(id).send()) {
            Ok(output) => {
                let distribution = output.distribution().expect("a distribution");
                Some(DistributionView {
                    id: distribution.id().to_owned(),
                    domain_name: distribution.domain_name().to_owned(),
                    status: distribution.status().to_owned(),
                    config: distribution
                        .distribution_config()
                        .expect("a configuration")
                        .clone(),
                })
            }
            Err(e) if e.code() == Some("NoSuchDistribution") => None,
            Err(e) => panic!("get distribution {id}: {e:?}"),
        }
    }

    /// The ids of every distribution.
    pub fn distribution_ids(&self) -> Vec<String> {
        let output = self
            .block_on(self.cloudfront().list_distributions().send())
            .unwrap_or_else(|e| panic!("list distributions: {e:?}"));
        output
            .distribution_list()
            .map(|list| list.items().iter().map(|d| d.id().to_owned()).collect())
            .unwrap_or_default()
    }

    /// Changes a distribution's configuration, as someone in the console would.
    pub fn edit_distribution(&self, id: &str, edit: impl FnOnce(&mut DistributionConfig)) {
        let client = self.cloudfront();
        let output = self
            .block_on(client.get_distribution_config().id(id).send())
            .unwrap_or_else(|e| panic!("get the configuration of {id}: {e:?}"));
        let etag = output.e_tag().expect("an ETag").to_owned();
        let mut config = output.distribution_config.expect("a configuration");
        edit(&mut config);
        self.block_on(
            client
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(config)
                .send(),
        )
        .unwrap_or_else(|e| panic!("update distribution {id}: {e:?}"));
    }

    /// Deletes a distribution (moto deletes enabled ones too).
    pub fn delete_distribution(&self, id: &str) {
        let client = self.cloudfront();
        let output = self
            .block_on(client.get_distribution_config().id(id).send())
            .unwrap_or_else(|e| panic!("get the configuration of {id}: {e:?}"));
        let etag = output.e_tag().expect("an ETag").to_owned();
        self.block_on(client.delete_distribution().id(id).if_match(etag).send())
            .unwrap_or_else(|e| panic!("delete distribution {id}: {e:?}"));
    }

    /// The DNS name the alias record of this name and type points at, if there is one.
    pub fn alias_target(&self, zone_id: &str, name: &str, record_type: &str) -> Option<String> {
        self.alias_record(zone_id, name, record_type)
            .and_then(|set| set.alias_target().map(|t| normalize(t.dns_name())))
    }

    /// Deletes an alias record (which must exist), as someone editing the zone would.
    pub fn delete_alias_record(&self, zone_id: &str, name: &str, record_type: &str) {
        let set = self
            .alias_record(zone_id, name, record_type)
            .unwrap_or_else(|| panic!("no {record_type} alias {name} in {zone_id} to delete"));
        let batch = ChangeBatch::builder()
            .changes(
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(set)
                    .build()
                    .expect("a change"),
            )
            .build()
            .expect("a change batch");
        self.block_on(
            self.route53()
                .change_resource_record_sets()
                .hosted_zone_id(zone_id)
                .change_batch(batch)
                .send(),
        )
        .unwrap_or_else(|e| panic!("delete the {record_type} alias {name}: {e:?}"));
    }

    fn alias_record(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> Option<ResourceRecordSet> {
        let output = self
            .block_on(
                self.route53()
                    .list_resource_record_sets()
                    .hosted_zone_id(zone_id)
                    .max_items(1000)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("list records of {zone_id}: {e:?}"));
        let wanted = normalize(name).replace('*', "\\052");
        output
            .resource_record_sets()
            .iter()
            .find(|set| {
                let set_name = normalize(set.name());
                (set_name == wanted || set_name == normalize(name))
                    && set.r#type() == &RrType::from(record_type)
                    && set.alias_target().is_some()
            })
            .cloned()
    }
}
