//! The tfplugin6 Provider service: one function per RPC, turning protocol messages into typed
//! values, calling the registry, and turning results and diagnostics back. This file holds the
//! service's state and lookups and the trait impl that hands each RPC to its function:
//! `schemas.rs` (metadata, schemas, provider configuration, stop), `resources.rs` (validate,
//! upgrade, read, plan, apply, import of managed resources), `data_sources.rs` (data sources,
//! ephemeral resources, functions).

mod data_sources;
mod resources;
mod schemas;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tfplugin_proto::tfplugin6 as pb;
use tfplugin_proto::tfplugin6::provider_server::{Provider, ProviderServer};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert::{diagnostics_to_proto, encode_value, unknown_type};
use crate::config::{self, ProviderData};
use crate::registry::{Context, DataSource, EphemeralResource, Registry, Resource};
use crate::tf::{Diagnostic, Diagnostics, IdentitySchema, Schema, Type, Value};

/// The most a message may be: large plans of many resources, file contents and state.
pub(crate) const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// The routes of the provider service, ready to serve; `stop` is cancelled by StopProvider
/// and cancels every operation in flight.
pub(crate) fn provider_routes(stop: CancellationToken) -> tonic::service::Routes {
    let service = ProviderServer::new(ProviderService::new(Registry::all(), stop))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    tonic::service::Routes::new(service)
}

/// A schema with its value type worked out once.
struct TypedSchema {
    schema: Schema,
    value_type: Type,
}

impl TypedSchema {
    fn new(schema: Schema) -> TypedSchema {
        let value_type = schema.block.value_type();
        TypedSchema { schema, value_type }
    }
}

/// The provider service state.
pub(crate) struct ProviderService {
    registry: Registry,
    provider_schema: TypedSchema,
    resource_schemas: HashMap<&'static str, TypedSchema>,
    identity_schemas: HashMap<&'static str, (IdentitySchema, Type)>,
    data_source_schemas: HashMap<&'static str, TypedSchema>,
    ephemeral_schemas: HashMap<&'static str, TypedSchema>,
    configured: RwLock<Option<Arc<ProviderData>>>,
    stop: CancellationToken,
}

impl ProviderService {
    pub(crate) fn new(registry: Registry, stop: CancellationToken) -> ProviderService {
        let resource_schemas = registry
            .resources
            .iter()
            .map(|r| (r.type_name(), TypedSchema::new(r.schema())))
            .collect();
        let identity_schemas = registry
            .resources
            .iter()
            .filter_map(|r| {
                let identity = r.identity_schema()?;
                let value_type = identity.value_type();
                Some((r.type_name(), (identity, value_type)))
            })
            .collect();
        let data_source_schemas = registry
            .data_sources
            .iter()
            .map(|d| (d.type_name(), TypedSchema::new(d.schema())))
            .collect();
        let ephemeral_schemas = registry
            .ephemeral_resources
            .iter()
            .map(|e| (e.type_name(), TypedSchema::new(e.schema())))
            .collect();
        ProviderService {
            registry,
            provider_schema: TypedSchema::new(config::provider_schema()),
            resource_schemas,
            identity_schemas,
            data_source_schemas,
            ephemeral_schemas,
            configured: RwLock::new(None),
            stop,
        }
    }

    fn capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: false,
            move_resource_state: false,
            generate_resource_config: false,
        }
    }

    /// The context for one operation; an error when ConfigureProvider has not run yet.
    fn context(&self) -> Result<Context, Diagnostics> {
        let configured = self
            .configured
            .read()
            .expect("configuration lock poisoned")
            .clone();
        match configured {
            Some(provider) => Ok(Context {
                provider,
                cancel: self.stop.child_token(),
            }),
            None => Err(Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it; this is a bug in the caller.",
            )
            .into()),
        }
    }

    /// A resource type and its schema, or the diagnostic for a type this provider lacks.
    fn typed_resource(
        &self,
        type_name: &str,
    ) -> Result<(&TypedSchema, &dyn Resource), Diagnostics> {
        let unknown = || unknown_type("resource", type_name);
        let schema = self.resource_schemas.get(type_name).ok_or_else(unknown)?;
        let resource = self.registry.resource(type_name).ok_or_else(unknown)?;
        Ok((schema, resource))
    }

    /// A data source type and its schema, or the diagnostic for a type this provider lacks.
    fn typed_data_source(
        &self,
        type_name: &str,
    ) -> Result<(&TypedSchema, &dyn DataSource), Diagnostics> {
        let unknown = || unknown_type("data source", type_name);
        let schema = self
            .data_source_schemas
            .get(type_name)
            .ok_or_else(unknown)?;
        let data_source = self.registry.data_source(type_name).ok_or_else(unknown)?;
        Ok((schema, data_source))
    }

    /// An ephemeral resource type and its schema, or the diagnostic for a type this provider
    /// lacks.
    fn typed_ephemeral_resource(
        &self,
        type_name: &str,
    ) -> Result<(&TypedSchema, &dyn EphemeralResource), Diagnostics> {
        let unknown = || unknown_type("ephemeral resource", type_name);
        let schema = self.ephemeral_schemas.get(type_name).ok_or_else(unknown)?;
        let ephemeral = self
            .registry
            .ephemeral_resource(type_name)
            .ok_or_else(unknown)?;
        Ok((schema, ephemeral))
    }

    /// The identity of the object `state` describes, for types that have one; none for a
    /// null state or one whose identity is not fully known yet.
    fn identity_of(
        &self,
        resource: &dyn Resource,
        state: &Value,
    ) -> Result<Option<pb::ResourceIdentityData>, Diagnostics> {
        let Some((_, identity_type)) = self.identity_schemas.get(resource.type_name()) else {
            return Ok(None);
        };
        if state.is_null() || !state.is_known() {
            return Ok(None);
        }
        let identity = resource.identity(state);
        if identity.is_null() || !identity.is_fully_known() {
            return Ok(None);
        }
        let identity_data = encode_value(&identity, identity_type, "identity")?;
        Ok(Some(pb::ResourceIdentityData {
            identity_data: Some(identity_data),
        }))
    }
}

/// Whether the client said it supports write-only attributes. Terraform before v1.11 and
/// OpenTofu before v1.11 send no `ClientCapabilities`, or leave the flag false.
fn write_only_allowed(capabilities: Option<&pb::ClientCapabilities>) -> bool {
    capabilities.is_some_and(|c| c.write_only_attributes_allowed)
}

/// Nulls write-only attributes, which must never reach plan or state.
fn without_write_only(schema: &Schema, mut state: Value) -> Value {
    for attribute in schema.block.attributes.iter().filter(|a| a.write_only) {
        state.set_attr(&attribute.name, Value::Null);
    }
    state
}

fn diags(diagnostics: Diagnostics) -> Vec<pb::Diagnostic> {
    diagnostics_to_proto(&diagnostics)
}

#[tonic::async_trait]
impl Provider for ProviderService {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        schemas::get_metadata(self, _request).await
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        schemas::get_provider_schema(self, _request).await
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        schemas::get_resource_identity_schemas(self, _request).await
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        schemas::validate_provider_config(self, request).await
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        resources::validate_resource_config(self, request).await
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        data_sources::validate_data_resource_config(self, request).await
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        resources::upgrade_resource_state(self, request).await
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        schemas::configure_provider(self, request).await
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        resources::read_resource(self, request).await
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        resources::plan_resource_change(self, request).await
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        resources::apply_resource_change(self, request).await
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        resources::import_resource_state(self, request).await
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        data_sources::read_data_source(self, request).await
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        data_sources::validate_ephemeral_resource_config(self, request).await
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        data_sources::open_ephemeral_resource(self, request).await
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        data_sources::renew_ephemeral_resource(self, request).await
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        data_sources::close_ephemeral_resource(self, request).await
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        resources::upgrade_resource_identity(self, request).await
    }

    async fn get_functions(
        &self,
        _request: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        data_sources::get_functions(self, _request).await
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        data_sources::call_function(self, request).await
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        schemas::stop_provider(self, _request).await
    }
}

#[cfg(test)]
mod tests;
