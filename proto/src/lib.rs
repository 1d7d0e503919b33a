//! Generated gRPC bindings for talking to Terraform.
//!
//! * [`tfplugin6`]: Terraform plugin protocol version 6 (the `Provider`
//!   service, all request/response messages and shared types).
//! * [`plugin`]: the hashicorp/go-plugin helper services a plugin process
//!   serves next to the provider (`GRPCController`, `GRPCStdio`,
//!   `GRPCBroker`).
//!
//! The code is generated at build time from the `.proto` files under
//! `proto/proto/` with protox and tonic-prost-build; no system `protoc` is
//! needed.

/// Terraform plugin protocol 6 (`package tfplugin6`).
///
/// Server side: [`tfplugin6::provider_server::Provider`] and
/// [`tfplugin6::provider_server::ProviderServer`]; client side:
/// [`tfplugin6::provider_client::ProviderClient`].
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin helper services (`package plugin`).
///
/// Servers: [`plugin::grpc_controller_server`], [`plugin::grpc_stdio_server`],
/// [`plugin::grpc_broker_server`]; matching `*_client` modules exist too.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// Major version of the Terraform plugin protocol implemented here.
pub const PROTOCOL_VERSION_MAJOR: u32 = 6;

/// Minor version of the Terraform plugin protocol implemented here (6.10, as shipped with
/// Terraform v1.13 through v1.15, plus 6.11's `planned_private` in PlanResourceChange requests,
/// which Terraform sends from v1.16 on and older clients leave empty).
pub const PROTOCOL_VERSION_MINOR: u32 = 11;

#[cfg(test)]
mod tests {
    use super::tfplugin6;
    use prost::Message;

    /// Protobuf key byte for a field number and wire type (numbers < 16).
    fn key(field: u32, wire_type: u8) -> u8 {
        u8::try_from(field << 3).expect("small field number") | wire_type
    }

    #[test]
    fn dynamic_value_round_trip() {
        let value = tfplugin6::DynamicValue {
            msgpack: vec![0x81, 0xa1, b'a', 0x01],
            json: b"{\"a\":1}".to_vec(),
        };
        let bytes = value.encode_to_vec();
        // msgpack is field 1, json is field 2, both length-delimited.
        assert_eq!(bytes[0], key(1, 2));
        assert_eq!(usize::from(bytes[1]), value.msgpack.len());
        assert_eq!(bytes[2 + value.msgpack.len()], key(2, 2));

        let decoded = tfplugin6::DynamicValue::decode(bytes.as_slice()).expect("decode");
        assert_eq!(decoded, value);
    }

    #[test]
    fn schema_attribute_field_numbers() {
        let only = |attr: tfplugin6::schema::Attribute| attr.encode_to_vec();

        // write_only = 11, varint.
        let attr = tfplugin6::schema::Attribute {
            write_only: true,
            ..Default::default()
        };
        assert_eq!(only(attr), vec![key(11, 0), 1]);

        // nested_type = 10, length-delimited.
        let attr = tfplugin6::schema::Attribute {
            nested_type: Some(tfplugin6::schema::Object::default()),
            ..Default::default()
        };
        assert_eq!(only(attr), vec![key(10, 2), 0]);

        // deprecation_message = 12, length-delimited.
        let attr = tfplugin6::schema::Attribute {
            deprecation_message: "x".into(),
            ..Default::default()
        };
        assert_eq!(only(attr), vec![key(12, 2), 1, b'x']);

        // sensitive = 7, description_kind = 8, deprecated = 9.
        let attr = tfplugin6::schema::Attribute {
            sensitive: true,
            description_kind: tfplugin6::StringKind::Markdown.into(),
            deprecated: true,
            ..Default::default()
        };
        assert_eq!(only(attr), vec![key(7, 0), 1, key(8, 0), 1, key(9, 0), 1]);
    }

    #[test]
    fn schema_block_and_nesting_field_numbers() {
        let block = tfplugin6::schema::Block {
            deprecated: true,
            deprecation_message: "y".into(),
            ..Default::default()
        };
        assert_eq!(
            block.encode_to_vec(),
            vec![key(6, 0), 1, key(7, 2), 1, b'y']
        );

        let nested = tfplugin6::schema::NestedBlock {
            nesting: tfplugin6::schema::nested_block::NestingMode::Group.into(),
            max_items: 2,
            ..Default::default()
        };
        assert_eq!(nested.encode_to_vec(), vec![key(3, 0), 5, key(5, 0), 2]);

        let object = tfplugin6::schema::Object {
            nesting: tfplugin6::schema::object::NestingMode::Map.into(),
            ..Default::default()
        };
        assert_eq!(object.encode_to_vec(), vec![key(3, 0), 4]);
    }

    #[test]
    fn validate_provider_config_diagnostics_is_field_two() {
        let resp = tfplugin6::validate_provider_config::Response {
            diagnostics: vec![tfplugin6::Diagnostic::default()],
        };
        assert_eq!(resp.encode_to_vec(), vec![key(2, 2), 0]);
    }
}
