//! The RPCs of managed resources: validate, upgrade state and identity, read, plan, apply, import.

use tfplugin_proto::tfplugin6 as pb;
use tonic::{Request, Response, Status};

use super::{ProviderService, diags, without_write_only, write_only_allowed};
use crate::server::convert::{
    decode_value, encode_state_as_json, encode_value, path_to_proto, unknown_type,
};
use crate::tf::plan::plan_resource_change as plan_change;
use crate::tf::write_only::{UnknownValues, refuse_write_only_values};
use crate::tf::{Diagnostic, Diagnostics, Value, json};

pub(super) async fn validate_resource_config(
    service: &ProviderService,
    request: Request<pb::validate_resource_config::Request>,
) -> Result<Response<pb::validate_resource_config::Response>, Status> {
    let request = request.into_inner();
    let result = (|| {
        let (schema, resource) = service.typed_resource(&request.type_name)?;
        let config = decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
        let mut diagnostics = resource.validate(&config);
        if !write_only_allowed(request.client_capabilities.as_ref()) {
            diagnostics.extend(refuse_write_only_values(
                &schema.schema.block,
                &config,
                UnknownValues::Allowed,
            ));
        }
        Ok::<_, Diagnostics>(diagnostics)
    })();
    Ok(Response::new(pb::validate_resource_config::Response {
        diagnostics: diags(result.unwrap_or_else(|d| d)),
    }))
}

pub(super) async fn upgrade_resource_state(
    service: &ProviderService,
    request: Request<pb::upgrade_resource_state::Request>,
) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
    let request = request.into_inner();
    let result = (|| {
        let (schema, resource) = service.typed_resource(&request.type_name)?;
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

pub(super) async fn read_resource(
    service: &ProviderService,
    request: Request<pb::read_resource::Request>,
) -> Result<Response<pb::read_resource::Response>, Status> {
    let request = request.into_inner();
    let private = request.private.clone();
    let result = async {
        let (schema, resource) = service.typed_resource(&request.type_name)?;
        let context = service.context()?;
        let state = decode_value(
            request.current_state.as_ref(),
            &schema.value_type,
            "current state",
        )?;
        let new_state = match resource.read(&context, &state).await? {
            Some(v) => without_write_only(&schema.schema, v),
            None => Value::Null,
        };
        let identity = service.identity_of(resource, &new_state)?;
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

pub(super) async fn plan_resource_change(
    service: &ProviderService,
    request: Request<pb::plan_resource_change::Request>,
) -> Result<Response<pb::plan_resource_change::Response>, Status> {
    let request = request.into_inner();
    let result = async {
        let (schema, resource) = service.typed_resource(&request.type_name)?;
        let ty = &schema.value_type;
        let prior = decode_value(request.prior_state.as_ref(), ty, "prior state")?;
        let proposed = decode_value(
            request.proposed_new_state.as_ref(),
            ty,
            "proposed new state",
        )?;
        let config = decode_value(request.config.as_ref(), ty, "configuration")?;
        if !write_only_allowed(request.client_capabilities.as_ref()) {
            let refused =
                refuse_write_only_values(&schema.schema.block, &config, UnknownValues::Refused);
            if refused.has_errors() {
                return Err(refused);
            }
        }
        let mut change = plan_change(&schema.schema.block, &prior, &proposed, &config);
        change.private = request.prior_private.clone();
        change.earlier_private = request.planned_private.clone();
        let mut diagnostics = Diagnostics::new();
        if !change.planned.is_null() {
            let context = service.context()?;
            diagnostics = resource
                .modify_plan(&context, &prior, &config, &mut change)
                .await;
            if diagnostics.has_errors() {
                return Err(diagnostics);
            }
        }
        // The identity follows the planned object; while it is not known yet, an object kept
        // in place keeps the identity it had.
        let identity = match service.identity_of(resource, &change.planned)? {
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

pub(super) async fn apply_resource_change(
    service: &ProviderService,
    request: Request<pb::apply_resource_change::Request>,
) -> Result<Response<pb::apply_resource_change::Response>, Status> {
    let request = request.into_inner();
    let private = request.planned_private.clone();
    // Errors before anything was attempted keep the prior state exactly as Terraform sent it.
    let unchanged = |d: Diagnostics| (request.prior_state.clone(), d);
    let result = async {
        let (schema, resource) = service
            .typed_resource(&request.type_name)
            .map_err(unchanged)?;
        let ty = &schema.value_type;
        let prior =
            decode_value(request.prior_state.as_ref(), ty, "prior state").map_err(unchanged)?;
        let planned =
            decode_value(request.planned_state.as_ref(), ty, "planned state").map_err(unchanged)?;
        let config =
            decode_value(request.config.as_ref(), ty, "configuration").map_err(unchanged)?;
        let context = service.context().map_err(unchanged)?;
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
                let identity = service
                    .identity_of(resource, &new_state)
                    .map_err(unchanged)?;
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

pub(super) async fn import_resource_state(
    service: &ProviderService,
    request: Request<pb::import_resource_state::Request>,
) -> Result<Response<pb::import_resource_state::Response>, Status> {
    let request = request.into_inner();
    let result = async {
        let (schema, resource) = service.typed_resource(&request.type_name)?;
        let context = service.context()?;
        // Terraform v1.12 on may import by identity instead of an ID string.
        let requested_identity =
            match (
                &request.identity,
                service.identity_schemas.get(resource.type_name()),
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
        let identity = match service.identity_of(resource, &state)? {
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

pub(super) async fn upgrade_resource_identity(
    service: &ProviderService,
    request: Request<pb::upgrade_resource_identity::Request>,
) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
    let request = request.into_inner();
    let result = (|| {
        let (identity, identity_type) = service
            .identity_schemas
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
