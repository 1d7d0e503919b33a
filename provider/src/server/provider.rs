//! The tfplugin6 Provider service: one function per RPC, turning protocol messages into typed
//! values, calling the registry, and turning results and diagnostics back.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tfplugin_proto::tfplugin6 as pb;
use tfplugin_proto::tfplugin6::provider_server::{Provider, ProviderServer};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert::{
    decode_value, diagnostics_to_proto, encode_state_as_json, encode_value, path_to_proto,
    schema_to_proto, unknown_type,
};
use crate::config::{self, ProviderData};
use crate::registry::{Context, DataSource, EphemeralResource, Registry, Resource};
use crate::tf::plan::plan_resource_change;
use crate::tf::{Diagnostic, Diagnostics, IdentitySchema, Schema, Type, Value, json};

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
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            resources: self
                .registry
                .resources
                .iter()
                .map(|r| pb::get_metadata::ResourceMetadata {
                    type_name: r.type_name().to_owned(),
                })
                .collect(),
            data_sources: self
                .registry
                .data_sources
                .iter()
                .map(|d| pb::get_metadata::DataSourceMetadata {
                    type_name: d.type_name().to_owned(),
                })
                .collect(),
            ephemeral_resources: self
                .registry
                .ephemeral_resources
                .iter()
                .map(|e| pb::get_metadata::EphemeralMetadata {
                    type_name: e.type_name().to_owned(),
                })
                .collect(),
            functions: self
                .registry
                .functions
                .iter()
                .map(|f| pb::get_metadata::FunctionMetadata {
                    name: f.name().to_owned(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let to_map = |schemas: &HashMap<&'static str, TypedSchema>| {
            schemas
                .iter()
                .map(|(name, s)| ((*name).to_owned(), schema_to_proto(&s.schema)))
                .collect()
        };
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schema_to_proto(&self.provider_schema.schema)),
            resource_schemas: to_map(&self.resource_schemas),
            data_source_schemas: to_map(&self.data_source_schemas),
            ephemeral_resource_schemas: to_map(&self.ephemeral_schemas),
            server_capabilities: Some(Self::capabilities()),
            ..Default::default()
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        let identity_schemas = self
            .identity_schemas
            .iter()
            .map(|(name, (identity, _))| {
                let attributes = identity
                    .attributes
                    .iter()
                    .map(|a| pb::resource_identity_schema::IdentityAttribute {
                        name: a.name.clone(),
                        r#type: a.value_type.to_json_bytes(),
                        required_for_import: a.required_for_import,
                        optional_for_import: !a.required_for_import,
                        description: a.description.clone(),
                    })
                    .collect();
                let schema = pb::ResourceIdentitySchema {
                    version: identity.version,
                    identity_attributes: attributes,
                };
                ((*name).to_owned(), schema)
            })
            .collect();
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas,
            diagnostics: Vec::new(),
        }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = match decode_value(
            request.config.as_ref(),
            &self.provider_schema.value_type,
            "provider configuration",
        ) {
            Ok(config) => config::validate(&config),
            Err(d) => d,
        };
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags(diagnostics),
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let request = request.into_inner();
        let result = (|| {
            let (schema, resource) = self.typed_resource(&request.type_name)?;
            let config =
                decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
            Ok::<_, Diagnostics>(resource.validate(&config))
        })();
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags(result.unwrap_or_else(|d| d)),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let request = request.into_inner();
        let result = (|| {
            let (schema, data_source) = self.typed_data_source(&request.type_name)?;
            let config =
                decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
            Ok::<_, Diagnostics>(data_source.validate(&config))
        })();
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags(result.unwrap_or_else(|d| d)),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let request = request.into_inner();
        let result = (|| {
            let (schema, resource) = self.typed_resource(&request.type_name)?;
            let raw = request.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported state format",
                    "The stored state is in the legacy flatmap format, which this provider never wrote.",
                )
                .into());
            }
            // State written by an older schema version may hold attributes since removed;
            // they are dropped here, and the resource's own upgrade handles the rest.
            let state = json::decode_lenient(&raw.json, &schema.value_type).map_err(|e| {
                Diagnostics::from(Diagnostic::error("Cannot read stored state", e.to_string()))
            })?;
            let upgraded = resource.upgrade_state(request.version, state)?;
            encode_value(&upgraded, &schema.value_type, "upgraded state")
        })();
        let (upgraded_state, diagnostics) = match result {
            Ok(v) => (Some(v), Diagnostics::new()),
            Err(d) => (None, d),
        };
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diags(diagnostics),
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let request = request.into_inner();
        let result = decode_value(
            request.config.as_ref(),
            &self.provider_schema.value_type,
            "provider configuration",
        )
        .and_then(|config| ProviderData::from_config(&config));
        let diagnostics = match result {
            Ok(data) => {
                crate::log::debug(
                    "provider configured",
                    &[("terraform_version", &request.terraform_version)],
                );
                *self
                    .configured
                    .write()
                    .expect("configuration lock poisoned") = Some(Arc::new(data));
                Diagnostics::new()
            }
            Err(d) => d,
        };
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags(diagnostics),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let request = request.into_inner();
        let private = request.private.clone();
        let result = async {
            let (schema, resource) = self.typed_resource(&request.type_name)?;
            let context = self.context()?;
            let state = decode_value(
                request.current_state.as_ref(),
                &schema.value_type,
                "current state",
            )?;
            let new_state = match resource.read(&context, &state).await? {
                Some(v) => without_write_only(&schema.schema, v),
                None => Value::Null,
            };
            let identity = self.identity_of(resource, &new_state)?;
            let encoded = encode_state_as_json(&new_state, &schema.value_type, "new state")?;
            Ok::<_, Diagnostics>((encoded, identity))
        }
        .await;
        let (new_state, new_identity, diagnostics) = match result {
            Ok((state, identity)) => (Some(state), identity, Diagnostics::new()),
            // A failed read keeps the state Terraform sent, so nothing is lost.
            Err(d) => (request.current_state, request.current_identity, d),
        };
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: diags(diagnostics),
            private,
            new_identity,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        let result = async {
            let (schema, resource) = self.typed_resource(&request.type_name)?;
            let ty = &schema.value_type;
            let prior = decode_value(request.prior_state.as_ref(), ty, "prior state")?;
            let proposed = decode_value(
                request.proposed_new_state.as_ref(),
                ty,
                "proposed new state",
            )?;
            let config = decode_value(request.config.as_ref(), ty, "configuration")?;
            let mut change = plan_resource_change(&schema.schema.block, &prior, &proposed, &config);
            change.private = request.prior_private.clone();
            change.earlier_private = request.planned_private.clone();
            let mut diagnostics = Diagnostics::new();
            if !change.planned.is_null() {
                let context = self.context()?;
                diagnostics = resource
                    .modify_plan(&context, &prior, &config, &mut change)
                    .await;
                if diagnostics.has_errors() {
                    return Err(diagnostics);
                }
            }
            // The identity follows the planned object; while it is not known yet, an object kept
            // in place keeps the identity it had.
            let identity = match self.identity_of(resource, &change.planned)? {
                Some(identity) => Some(identity),
                None if change.requires_replace.is_empty() && !change.planned.is_null() => {
                    request.prior_identity.clone()
                }
                None => None,
            };
            let planned = encode_value(&change.planned, ty, "planned state")?;
            Ok((
                planned,
                change.requires_replace,
                change.private,
                identity,
                diagnostics,
            ))
        }
        .await;
        let response = match result {
            Ok((planned, requires_replace, private, planned_identity, diagnostics)) => {
                pb::plan_resource_change::Response {
                    planned_state: Some(planned),
                    requires_replace: requires_replace.iter().map(path_to_proto).collect(),
                    planned_private: private,
                    planned_identity,
                    diagnostics: diags(diagnostics),
                    ..Default::default()
                }
            }
            Err(d) => pb::plan_resource_change::Response {
                diagnostics: diags(d),
                ..Default::default()
            },
        };
        Ok(Response::new(response))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        let private = request.planned_private.clone();
        // Errors before anything was attempted keep the prior state exactly as Terraform sent it.
        let unchanged = |d: Diagnostics| (request.prior_state.clone(), d);
        let result = async {
            let (schema, resource) = self.typed_resource(&request.type_name).map_err(unchanged)?;
            let ty = &schema.value_type;
            let prior =
                decode_value(request.prior_state.as_ref(), ty, "prior state").map_err(unchanged)?;
            let planned = decode_value(request.planned_state.as_ref(), ty, "planned state")
                .map_err(unchanged)?;
            let config =
                decode_value(request.config.as_ref(), ty, "configuration").map_err(unchanged)?;
            let context = self.context().map_err(unchanged)?;
            let outcome = if planned.is_null() {
                resource
                    .delete(&context, &prior)
                    .await
                    .map(|()| Value::Null)
            } else if prior.is_null() {
                resource.create(&context, &planned, &config).await
            } else {
                resource.update(&context, &prior, &planned, &config).await
            };
            match outcome {
                Ok(new_state) => {
                    let new_state = without_write_only(&schema.schema, new_state);
                    let identity = self.identity_of(resource, &new_state).map_err(unchanged)?;
                    let encoded = encode_value(&new_state, ty, "new state").map_err(unchanged)?;
                    Ok((encoded, identity))
                }
                // A failed change leaves the previous state in place: the prior object on
                // update and delete, nothing on create.
                Err(d) => Err((encode_value(&prior, ty, "prior state").ok(), d)),
            }
        }
        .await;
        let (new_state, new_identity, diagnostics) = match result {
            Ok((state, identity)) => (Some(state), identity, Diagnostics::new()),
            Err((state, d)) => (state, None, d),
        };
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private,
            diagnostics: diags(diagnostics),
            new_identity,
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let request = request.into_inner();
        let result = async {
            let (schema, resource) = self.typed_resource(&request.type_name)?;
            let context = self.context()?;
            // Terraform v1.12 on may import by identity instead of an ID string.
            let requested_identity = match (
                &request.identity,
                self.identity_schemas.get(resource.type_name()),
            ) {
                (Some(data), Some((_, identity_type))) if request.id.is_empty() => Some(
                    decode_value(data.identity_data.as_ref(), identity_type, "identity")?,
                ),
                _ => None,
            };
            let state = match &requested_identity {
                Some(identity) => resource.import_by_identity(&context, identity).await?,
                None => resource.import(&context, &request.id).await?,
            };
            let identity = match self.identity_of(resource, &state)? {
                Some(derived) => Some(derived),
                None => request
                    .identity
                    .clone()
                    .filter(|_| requested_identity.is_some()),
            };
            let encoded = encode_value(&state, &schema.value_type, "imported state")?;
            Ok::<_, Diagnostics>((encoded, identity))
        }
        .await;
        let response = match result {
            Ok((state, identity)) => pb::import_resource_state::Response {
                imported_resources: vec![pb::import_resource_state::ImportedResource {
                    type_name: request.type_name,
                    state: Some(state),
                    identity,
                    ..Default::default()
                }],
                ..Default::default()
            },
            Err(d) => pb::import_resource_state::Response {
                diagnostics: diags(d),
                ..Default::default()
            },
        };
        Ok(Response::new(response))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let request = request.into_inner();
        let result = async {
            let (schema, data_source) = self.typed_data_source(&request.type_name)?;
            let config =
                decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
            let context = self.context()?;
            let state = data_source.read(&context, &config).await?;
            encode_state_as_json(&state, &schema.value_type, "data source state")
        }
        .await;
        let (state, diagnostics) = match result {
            Ok(v) => (Some(v), Diagnostics::new()),
            Err(d) => (None, d),
        };
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: diags(diagnostics),
            ..Default::default()
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let request = request.into_inner();
        let result = (|| {
            let (schema, ephemeral) = self.typed_ephemeral_resource(&request.type_name)?;
            let config =
                decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
            Ok::<_, Diagnostics>(ephemeral.validate(&config))
        })();
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: diags(result.unwrap_or_else(|d| d)),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let result = async {
            let (schema, ephemeral) = self.typed_ephemeral_resource(&request.type_name)?;
            let config =
                decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
            let context = self.context()?;
            let opened = ephemeral.open(&context, &config).await?;
            encode_value(&opened, &schema.value_type, "ephemeral result")
        }
        .await;
        let (result, diagnostics) = match result {
            Ok(v) => (Some(v), Diagnostics::new()),
            Err(d) => (None, d),
        };
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            result,
            diagnostics: diags(diagnostics),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        // Nothing we open needs renewing: an unknown type is the only error.
        let diagnostics = match self
            .ephemeral_schemas
            .contains_key(request.type_name.as_str())
        {
            true => Diagnostics::new(),
            false => unknown_type("ephemeral resource", &request.type_name),
        };
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: diags(diagnostics),
            ..Default::default()
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let request = request.into_inner();
        let diagnostics = match self
            .ephemeral_schemas
            .contains_key(request.type_name.as_str())
        {
            true => Diagnostics::new(),
            false => unknown_type("ephemeral resource", &request.type_name),
        };
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: diags(diagnostics),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let request = request.into_inner();
        let result = (|| {
            let (identity, identity_type) =
                self.identity_schemas
                    .get(request.type_name.as_str())
                    .ok_or_else(|| unknown_type("resource with an identity", &request.type_name))?;
            if request.version != identity.version {
                return Err(Diagnostics::from(Diagnostic::error(
                    "Unsupported identity version",
                    format!(
                        "{} identity has version {}; this provider knows version {} and no upgrade.",
                        request.type_name, request.version, identity.version
                    ),
                )));
            }
            let raw = request.raw_identity.unwrap_or_default();
            let value = json::decode_lenient(&raw.json, identity_type).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Cannot read stored identity",
                    e.to_string(),
                ))
            })?;
            encode_value(&value, identity_type, "upgraded identity")
        })();
        let (upgraded_identity, diagnostics) = match result {
            Ok(data) => (
                Some(pb::ResourceIdentityData {
                    identity_data: Some(data),
                }),
                Diagnostics::new(),
            ),
            Err(d) => (None, d),
        };
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity,
            diagnostics: diags(diagnostics),
        }))
    }

    async fn get_functions(
        &self,
        _request: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!("this provider has no function named {name:?}"),
                function_argument: None,
            }),
        }))
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        crate::log::info("stop requested: cancelling operations in flight", &[]);
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

#[cfg(test)]
#[path = "provider_tests.rs"]
mod tests;
