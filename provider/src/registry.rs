//! The kinds of things the provider offers (resources, data sources, ephemeral resources,
//! functions), the context they run in, and the one list of every type.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::config::ProviderData;
use crate::tf::model::ModelShape;
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostic, Diagnostics, IdentitySchema, Schema, Value};

/// What every operation gets: the configured provider and the stop signal.
#[derive(Clone)]
pub struct Context {
    /// The provider's configuration and shared clients.
    pub provider: Arc<ProviderData>,
    /// Cancelled when Terraform asks the provider to stop (StopProvider, Ctrl-C).
    pub cancel: CancellationToken,
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync {
    /// The type name, e.g. `homelab_file`.
    fn type_name(&self) -> &'static str;

    /// The schema; its descriptions are the documentation.
    fn schema(&self) -> Schema;

    /// The typed models (`tf::model`) the type reads its values into; a test checks each
    /// against the schema, so the two cannot drift apart.
    fn models(&self) -> Vec<ModelShape> {
        Vec::new()
    }

    /// Checks configuration that may still hold unknown values; no I/O.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Refines the plan after the generic rules ran (computed values known at plan time,
    /// replacement decided by the resource, plan-time checks that need the provider).
    async fn modify_plan(
        &self,
        _context: &Context,
        _prior: &Value,
        _config: &Value,
        _change: &mut PlannedChange,
    ) -> Diagnostics {
        Diagnostics::new()
    }

    /// Creates the object; returns the new state.
    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics>;

    /// Reads the object as it is now; `None` when it is gone.
    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics>;

    /// Updates the object in place; returns the new state.
    async fn update(
        &self,
        context: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics>;

    /// Deletes the object.
    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics>;

    /// Turns an import ID into a state that `read` can complete.
    async fn import(&self, _context: &Context, _id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        )
        .into())
    }

    /// The identity schema, for types that Terraform (v1.12 on) may import by identity.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The identity of the object a state describes; called only for types with an identity
    /// schema, and only with a known, non-null state.
    fn identity(&self, _state: &Value) -> Value {
        Value::Null
    }

    /// Turns an identity into a state that `read` can complete, like `import` does with an ID.
    async fn import_by_identity(
        &self,
        _context: &Context,
        _identity: &Value,
    ) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Import by identity not supported",
            format!(
                "{} cannot be imported by identity; import it by ID.",
                self.type_name()
            ),
        )
        .into())
    }

    /// Upgrades state stored by an older schema version to the current one.
    fn upgrade_state(&self, version: i64, state: Value) -> Result<Value, Diagnostics> {
        let current = self.schema().version;
        if version == current {
            Ok(state)
        } else {
            Err(Diagnostic::error(
                "Unsupported state version",
                format!(
                    "{} state has schema version {version}; this provider knows version {current} and no upgrade from {version}.",
                    self.type_name()
                ),
            )
            .into())
        }
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The type name, e.g. `homelab_public_ip`.
    fn type_name(&self) -> &'static str;

    /// The schema; its descriptions are the documentation.
    fn schema(&self) -> Schema;

    /// The typed models (`tf::model`) the type reads its values into; a test checks each
    /// against the schema, so the two cannot drift apart.
    fn models(&self) -> Vec<ModelShape> {
        Vec::new()
    }

    /// Checks configuration that may still hold unknown values; no I/O.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Reads the data; returns the whole state object.
    async fn read(&self, context: &Context, config: &Value) -> Result<Value, Diagnostics>;
}

/// An ephemeral resource type: opened for one run, never stored in plan or state.
#[async_trait]
pub trait EphemeralResource: Send + Sync {
    /// The type name.
    fn type_name(&self) -> &'static str;

    /// The schema; its descriptions are the documentation.
    fn schema(&self) -> Schema;

    /// Checks configuration that may still hold unknown values; no I/O.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Opens it; returns its result object.
    async fn open(&self, context: &Context, config: &Value) -> Result<Value, Diagnostics>;
}

/// A provider-defined function.
pub trait Function: Send + Sync {
    /// The function name, e.g. `systemd_escape_path`.
    fn name(&self) -> &'static str;
}

/// Every type the provider offers. Adding a type is one line here.
pub struct Registry {
    /// Managed resources.
    pub resources: Vec<Box<dyn Resource>>,
    /// Data sources.
    pub data_sources: Vec<Box<dyn DataSource>>,
    /// Ephemeral resources.
    pub ephemeral_resources: Vec<Box<dyn EphemeralResource>>,
    /// Functions.
    pub functions: Vec<Box<dyn Function>>,
}

impl Registry {
    /// The registry of everything this provider ships.
    pub fn all() -> Registry {
        Registry {
            resources: vec![
                Box::new(crate::resources::file::File),
                Box::new(crate::resources::dynamic_dns_record::DynamicDnsRecord),
                Box::new(crate::resources::acm_certificate::AcmCertificate),
                Box::new(crate::resources::cloudfront_distribution::CloudfrontDistribution),
                Box::new(crate::resources::bgp_router::BgpRouter),
                Box::new(crate::resources::bgp_neighbor::BgpNeighbor),
                Box::new(crate::resources::apt_repository::AptRepository),
                Box::new(crate::resources::packages::Packages),
                Box::new(crate::resources::nfs_export::NfsExport),
                Box::new(crate::resources::nfs_mount::NfsMount),
                Box::new(crate::resources::node::Node),
                Box::new(crate::resources::load_balancer::LoadBalancer),
            ],
            data_sources: vec![
                Box::new(crate::data_sources::public_ip::PublicIp),
                Box::new(crate::data_sources::node::Node),
                Box::new(crate::data_sources::bgp_sessions::BgpSessions),
            ],
            ephemeral_resources: vec![],
            functions: vec![],
        }
    }

    /// A resource type by name.
    pub fn resource(&self, type_name: &str) -> Option<&dyn Resource> {
        self.resources
            .iter()
            .find(|r| r.type_name() == type_name)
            .map(|r| &**r)
    }

    /// A data source type by name.
    pub fn data_source(&self, type_name: &str) -> Option<&dyn DataSource> {
        self.data_sources
            .iter()
            .find(|d| d.type_name() == type_name)
            .map(|d| &**d)
    }

    /// An ephemeral resource type by name.
    pub fn ephemeral_resource(&self, type_name: &str) -> Option<&dyn EphemeralResource> {
        self.ephemeral_resources
            .iter()
            .find(|e| e.type_name() == type_name)
            .map(|e| &**e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resources that still read their values by attribute name; each conversion to a typed
    /// model removes one line. A new type is not listed: it must declare its models.
    const RESOURCES_NOT_YET_TYPED: [&str; 8] = [
        "homelab_acm_certificate",
        "homelab_cloudfront_distribution",
        "homelab_bgp_router",
        "homelab_bgp_neighbor",
        "homelab_apt_repository",
        "homelab_packages",
        "homelab_nfs_export",
        "homelab_node",
    ];

    /// The same for data sources.
    const DATA_SOURCES_NOT_YET_TYPED: [&str; 1] = ["homelab_bgp_sessions"];

    /// Every model of every type matches its schema: the same names, `Option` exactly where
    /// null is allowed, the same types.
    #[test]
    fn every_model_agrees_with_its_schema() {
        let registry = Registry::all();
        let mut types: Vec<(&str, bool, Schema, Vec<ModelShape>)> = registry
            .resources
            .iter()
            .map(|r| {
                let waiting = RESOURCES_NOT_YET_TYPED.contains(&r.type_name());
                (r.type_name(), waiting, r.schema(), r.models())
            })
            .collect();
        types.extend(registry.data_sources.iter().map(|d| {
            let waiting = DATA_SOURCES_NOT_YET_TYPED.contains(&d.type_name());
            (d.type_name(), waiting, d.schema(), d.models())
        }));
        let mut problems = Vec::new();
        for (name, waiting, schema, models) in types {
            match (models.is_empty(), waiting) {
                (true, false) => problems.push(format!("{name}: declares no typed model")),
                (false, true) => problems.push(format!(
                    "{name}: has typed models; take it off the NOT_YET_TYPED list"
                )),
                _ => {}
            }
            for model in models {
                match &model.shape {
                    Ok(shape) => problems.extend(
                        shape
                            .check_against(&schema.block)
                            .into_iter()
                            .map(|p| format!("{name} ({}): {p}", model.name)),
                    ),
                    Err(e) => problems.push(format!("{name} ({}): {e}", model.name)),
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    /// Terraform core refuses a provider whose schemas break its rules; check ours here.
    #[test]
    fn every_schema_we_ship_passes_terraform_core_rules() {
        let registry = Registry::all();
        let mut schemas = vec![("provider".to_owned(), crate::config::provider_schema())];
        schemas.extend(
            registry
                .resources
                .iter()
                .map(|r| (r.type_name().to_owned(), r.schema())),
        );
        schemas.extend(
            registry
                .data_sources
                .iter()
                .map(|d| (d.type_name().to_owned(), d.schema())),
        );
        schemas.extend(
            registry
                .ephemeral_resources
                .iter()
                .map(|e| (e.type_name().to_owned(), e.schema())),
        );
        for (name, schema) in schemas {
            let errors = schema.block.validity_errors();
            assert!(errors.is_empty(), "{name}: {errors:#?}");
            assert!(
                !schema.block.description.is_empty(),
                "{name} has no description"
            );
            for a in &schema.block.attributes {
                assert!(
                    !a.description.is_empty(),
                    "{name}.{} has no description",
                    a.name
                );
            }
        }
    }

    /// Terraform never stores or shows a write-only value, so marking one sensitive too only adds
    /// a sensitive path, and Terraform 1.11 stores a resource's sensitive paths in random order:
    /// with two of them, refresh-only plans report changes that are not there.
    #[test]
    fn write_only_attributes_are_not_also_sensitive() {
        fn check(name: &str, block: &crate::tf::Block) {
            for a in &block.attributes {
                assert!(
                    !(a.write_only && a.sensitive),
                    "{name}.{} is write-only and sensitive",
                    a.name
                );
            }
            for nested in &block.blocks {
                check(&format!("{name}.{}", nested.type_name), &nested.block);
            }
        }
        for resource in &Registry::all().resources {
            check(resource.type_name(), &resource.schema().block);
        }
    }

    #[test]
    fn type_names_start_with_the_provider_name() {
        let registry = Registry::all();
        for name in registry
            .resources
            .iter()
            .map(|r| r.type_name())
            .chain(registry.data_sources.iter().map(|d| d.type_name()))
        {
            assert!(name.starts_with("homelab_"), "{name}");
        }
    }
}
