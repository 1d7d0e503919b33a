//! The RPCs about the provider as a whole: metadata, schemas, its configuration, and stop.

use std::collections::HashMap;
use std::sync::Arc;

use tfplugin_proto::tfplugin6 as pb;
use tonic::{Request, Response, Status};

use super::{ProviderService, TypedSchema, diags};
use crate::config::{self, ProviderData};
use crate::server::convert::{decode_value, schema_to_proto};
use crate::tf::Diagnostics;

pub(super) async fn get_metadata(
    service: &ProviderService,
    _request: Request<pb::get_metadata::Request>,
) -> Result<Response<pb::get_metadata::Response>, Status> {
    Ok(Response::new(pb::get_metadata::Response {
        server_capabilities: Some(ProviderService::capabilities()),
        resources: service
            .registry
            .resources
            .iter()
            .map(|r| pb::get_metadata::ResourceMetadata {
                type_name: r.type_name().to_owned(),
            })
            .collect(),
        data_sources: service
            .registry
            .data_sources
            .iter()
            .map(|d| pb::get_metadata::DataSourceMetadata {
                type_name: d.type_name().to_owned(),
            })
            .collect(),
        ephemeral_resources: service
            .registry
            .ephemeral_resources
            .iter()
            .map(|e| pb::get_metadata::EphemeralMetadata {
                type_name: e.type_name().to_owned(),
            })
            .collect(),
        functions: service
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

pub(super) async fn get_provider_schema(
    service: &ProviderService,
    _request: Request<pb::get_provider_schema::Request>,
) -> Result<Response<pb::get_provider_schema::Response>, Status> {
    let to_map = |schemas: &HashMap<&'static str, TypedSchema>| {
        schemas
            .iter()
            .map(|(name, s)| ((*name).to_owned(), schema_to_proto(&s.schema)))
            .collect()
    };
    Ok(Response::new(pb::get_provider_schema::Response {
        provider: Some(schema_to_proto(&service.provider_schema.schema)),
        resource_schemas: to_map(&service.resource_schemas),
        data_source_schemas: to_map(&service.data_source_schemas),
        ephemeral_resource_schemas: to_map(&service.ephemeral_schemas),
        server_capabilities: Some(ProviderService::capabilities()),
        ..Default::default()
    }))
}

pub(super) async fn get_resource_identity_schemas(
    service: &ProviderService,
    _request: Request<pb::get_resource_identity_schemas::Request>,
) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
    let identity_schemas = service
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

pub(super) async fn validate_provider_config(
    service: &ProviderService,
    request: Request<pb::validate_provider_config::Request>,
) -> Result<Response<pb::validate_provider_config::Response>, Status> {
    let request = request.into_inner();
    let diagnostics = match decode_value(
        request.config.as_ref(),
        &service.provider_schema.value_type,
        "provider configuration",
    ) {
        Ok(config) => config::validate(&config),
        Err(d) => d,
    };
    Ok(Response::new(pb::validate_provider_config::Response {
        diagnostics: diags(diagnostics),
    }))
}

pub(super) async fn configure_provider(
    service: &ProviderService,
    request: Request<pb::configure_provider::Request>,
) -> Result<Response<pb::configure_provider::Response>, Status> {
    let request = request.into_inner();
    let result = decode_value(
        request.config.as_ref(),
        &service.provider_schema.value_type,
        "provider configuration",
    )
    .and_then(|config| ProviderData::from_config(&config));
    let diagnostics = match result {
        Ok(data) => {
            crate::log::debug(
                "provider configured",
                &[("terraform_version", &request.terraform_version)],
            );
            *service
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

pub(super) async fn stop_provider(
    service: &ProviderService,
    _request: Request<pb::stop_provider::Request>,
) -> Result<Response<pb::stop_provider::Response>, Status> {
    crate::log::info("stop requested: cancelling operations in flight", &[]);
    service.stop.cancel();
    Ok(Response::new(pb::stop_provider::Response::default()))
}
