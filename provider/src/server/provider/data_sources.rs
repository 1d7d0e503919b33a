//! The RPCs of data sources, ephemeral resources and functions.

use tfplugin_proto::tfplugin6 as pb;
use tonic::{Request, Response, Status};

use super::{ProviderService, diags};
use crate::server::convert::{decode_value, encode_state_as_json, encode_value, unknown_type};
use crate::tf::Diagnostics;

pub(super) async fn validate_data_resource_config(
    service: &ProviderService,
    request: Request<pb::validate_data_resource_config::Request>,
) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
    let request = request.into_inner();
    let result = (|| {
        let (schema, data_source) = service.typed_data_source(&request.type_name)?;
        let config = decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
        Ok::<_, Diagnostics>(data_source.validate(&config))
    })();
    Ok(Response::new(pb::validate_data_resource_config::Response {
        diagnostics: diags(result.unwrap_or_else(|d| d)),
    }))
}

pub(super) async fn read_data_source(
    service: &ProviderService,
    request: Request<pb::read_data_source::Request>,
) -> Result<Response<pb::read_data_source::Response>, Status> {
    let request = request.into_inner();
    let result = async {
        let (schema, data_source) = service.typed_data_source(&request.type_name)?;
        let config = decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
        let context = service.context()?;
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

pub(super) async fn validate_ephemeral_resource_config(
    service: &ProviderService,
    request: Request<pb::validate_ephemeral_resource_config::Request>,
) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
    let request = request.into_inner();
    let result = (|| {
        let (schema, ephemeral) = service.typed_ephemeral_resource(&request.type_name)?;
        let config = decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
        Ok::<_, Diagnostics>(ephemeral.validate(&config))
    })();
    Ok(Response::new(
        pb::validate_ephemeral_resource_config::Response {
            diagnostics: diags(result.unwrap_or_else(|d| d)),
        },
    ))
}

pub(super) async fn open_ephemeral_resource(
    service: &ProviderService,
    request: Request<pb::open_ephemeral_resource::Request>,
) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
    let request = request.into_inner();
    let result = async {
        let (schema, ephemeral) = service.typed_ephemeral_resource(&request.type_name)?;
        let config = decode_value(request.config.as_ref(), &schema.value_type, "configuration")?;
        let context = service.context()?;
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

pub(super) async fn renew_ephemeral_resource(
    service: &ProviderService,
    request: Request<pb::renew_ephemeral_resource::Request>,
) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
    let request = request.into_inner();
    // Nothing we open needs renewing: an unknown type is the only error.
    let diagnostics = match service
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

pub(super) async fn close_ephemeral_resource(
    service: &ProviderService,
    request: Request<pb::close_ephemeral_resource::Request>,
) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
    let request = request.into_inner();
    let diagnostics = match service
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

pub(super) async fn get_functions(
    _service: &ProviderService,
    _request: Request<pb::get_functions::Request>,
) -> Result<Response<pb::get_functions::Response>, Status> {
    Ok(Response::new(pb::get_functions::Response::default()))
}

pub(super) async fn call_function(
    _service: &ProviderService,
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
