//! Protocol tests: the built binary, started as terraform starts it, answers every tfplugin6 RPC over mTLS as terraform relies on.

#[path = "protocol/http_source.rs"]
mod http_source;
#[path = "protocol/msgpack.rs"]
mod msgpack;
#[path = "protocol/old_clients.rs"]
mod old_clients;
#[path = "protocol/rpc.rs"]
mod rpc;
#[path = "protocol/unsupported.rs"]
mod unsupported;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use tfplugin_proto::tfplugin6 as pb;

use http_source::HttpSource;
use msgpack::Msgpack;
use rpc::{
    Client, assert_error_mentions, call, dynamic, errors, raw_dynamic, show, single_error_at,
    start_provider,
};
use unsupported::UNKNOWN_TYPE;

/// The address the local source answers: public, so the provider accepts it.
const ANSWERED_ADDRESS: &str = "81.2.69.160";

/// The provider block's value as terraform sends it: the single `public_ip` block is an object.
fn provider_config(sources: Msgpack, timeout: Msgpack) -> Msgpack {
    Msgpack::map([(
        "public_ip",
        Msgpack::map([("sources", sources), ("timeout", timeout)]),
    )])
}

/// A `homelab_public_ip` configuration: every attribute present, computed ones null.
fn public_ip_config(ip_version: Msgpack) -> Msgpack {
    Msgpack::map([
        ("id", Msgpack::Nil),
        ("ip", Msgpack::Nil),
        ("ip_version", ip_version),
        ("source", Msgpack::Nil),
    ])
}

async fn validate_provider(client: &mut Client, config: pb::DynamicValue) -> Vec<pb::Diagnostic> {
    let request = pb::validate_provider_config::Request {
        config: Some(config),
    };
    call(
        "ValidateProviderConfig",
        client.validate_provider_config(request),
    )
    .await
    .diagnostics
}

/// Configures the provider to ask only `source`, waiting up to `timeout`; asserts it succeeded.
async fn configure(client: &mut Client, source: &str, timeout: &str) {
    let request = pb::configure_provider::Request {
        terraform_version: "1.13.0".to_owned(),
        config: dynamic(&provider_config(
            Msgpack::strings(&[source]),
            Msgpack::str(timeout),
        )),
        client_capabilities: None,
    };
    let answer = call("ConfigureProvider", client.configure_provider(request)).await;
    assert!(
        answer.diagnostics.is_empty(),
        "{}",
        show(&answer.diagnostics)
    );
}

async fn read_public_ip(client: &mut Client) -> pb::read_data_source::Response {
    let request = pb::read_data_source::Request {
        type_name: "homelab_public_ip".to_owned(),
        config: dynamic(&public_ip_config(Msgpack::Nil)),
        ..Default::default()
    };
    call("ReadDataSource", client.read_data_source(request)).await
}

#[tokio::test]
async fn metadata_lists_the_data_source_and_the_capabilities_terraform_reads() {
    let (_process, mut client) = start_provider().await;
    let metadata = call(
        "GetMetadata",
        client.get_metadata(pb::get_metadata::Request {}),
    )
    .await;
    assert!(
        metadata.diagnostics.is_empty(),
        "{}",
        show(&metadata.diagnostics)
    );
    let data_sources: Vec<&str> = metadata
        .data_sources
        .iter()
        .map(|d| d.type_name.as_str())
        .collect();
    assert!(
        data_sources.contains(&"homelab_public_ip"),
        "{data_sources:?}"
    );
    let capabilities = metadata
        .server_capabilities
        .expect("server capabilities are sent");
    // Terraform sends destroy plans only when plan_destroy is set, fetches the schema again
    // unless get_provider_schema_optional, and offers `moved` across types only with
    // move_resource_state, which this provider does not implement.
    assert!(capabilities.plan_destroy);
    assert!(!capabilities.get_provider_schema_optional);
    assert!(!capabilities.move_resource_state);
    assert!(
        !capabilities.generate_resource_config,
        "GenerateResourceConfig is unimplemented"
    );
}

#[tokio::test]
async fn provider_schema_describes_the_public_ip_block_and_data_source_in_markdown() {
    let (_process, mut client) = start_provider().await;
    let schema = call(
        "GetProviderSchema",
        client.get_provider_schema(pb::get_provider_schema::Request {}),
    )
    .await;
    assert!(
        schema.diagnostics.is_empty(),
        "{}",
        show(&schema.diagnostics)
    );
    let markdown = pb::StringKind::Markdown as i32;

    let provider = schema
        .provider
        .and_then(|s| s.block)
        .expect("a provider block");
    assert!(!provider.description.is_empty());
    assert_eq!(provider.description_kind, markdown);
    let public_ip = provider
        .block_types
        .iter()
        .find(|b| b.type_name == "public_ip")
        .expect("a public_ip block");
    assert_eq!(
        public_ip.nesting,
        pb::schema::nested_block::NestingMode::Single as i32
    );
    let public_ip = public_ip.block.as_ref().expect("the block's contents");
    assert!(!public_ip.description.is_empty());
    assert_eq!(public_ip.description_kind, markdown);
    let attribute_type = |name: &str| {
        let attribute = public_ip
            .attributes
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("public_ip has {name}"));
        assert!(attribute.optional && !attribute.required && !attribute.computed);
        assert!(!attribute.description.is_empty(), "{name} is described");
        assert_eq!(attribute.description_kind, markdown, "{name}");
        serde_json::from_slice::<serde_json::Value>(&attribute.r#type)
            .unwrap_or_else(|e| panic!("{name}'s type is JSON: {e}"))
    };
    assert_eq!(attribute_type("sources"), json!(["list", "string"]));
    assert_eq!(attribute_type("timeout"), json!("string"));

    let data_source = schema
        .data_source_schemas
        .get("homelab_public_ip")
        .and_then(|s| s.block.as_ref())
        .expect("homelab_public_ip has a schema");
    assert!(!data_source.description.is_empty());
    assert_eq!(data_source.description_kind, markdown);
    for attribute in &data_source.attributes {
        assert!(!attribute.description.is_empty(), "{}", attribute.name);
        assert_eq!(attribute.description_kind, markdown, "{}", attribute.name);
    }
    let attribute = |name: &str| {
        data_source
            .attributes
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("homelab_public_ip has {name}"))
    };
    assert!(attribute("ip").computed && !attribute("ip").optional);
    assert!(attribute("ip_version").optional && !attribute("ip_version").required);

    // Terraform looks every type GetMetadata names up in these maps.
    let metadata = call(
        "GetMetadata",
        client.get_metadata(pb::get_metadata::Request {}),
    )
    .await;
    let listed: BTreeSet<&str> = metadata
        .data_sources
        .iter()
        .map(|d| d.type_name.as_str())
        .collect();
    let described: BTreeSet<&str> = schema
        .data_source_schemas
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(listed, described);
    assert_eq!(
        metadata.resources.len(),
        schema.resource_schemas.len(),
        "every resource listed has a schema"
    );
}

#[tokio::test]
async fn identity_schemas_are_declared_functions_are_empty_and_unknown_functions_are_named() {
    let (_process, mut client) = start_provider().await;
    let identities = call(
        "GetResourceIdentitySchemas",
        client.get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {}),
    )
    .await;
    // The DNS record is named by zone, name and type, so Terraform v1.12 on can import it by
    // identity; every attribute must be set for that.
    let record = &identities.identity_schemas["homelab_dynamic_dns_record"];
    let names: Vec<&str> = record
        .identity_attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["zone_id", "name", "type"]);
    assert!(
        record
            .identity_attributes
            .iter()
            .all(|a| a.required_for_import)
    );
    assert!(identities.diagnostics.is_empty());

    let functions = call(
        "GetFunctions",
        client.get_functions(pb::get_functions::Request {}),
    )
    .await;
    assert!(functions.functions.is_empty());
    assert!(functions.diagnostics.is_empty());

    let request = pb::call_function::Request {
        name: "nope".to_owned(),
        arguments: Vec::new(),
    };
    let answer = call("CallFunction", client.call_function(request)).await;
    let error = answer.error.expect("a FunctionError");
    assert!(error.text.contains("nope"), "{}", error.text);
    assert!(answer.result.is_none());
}

#[tokio::test]
async fn good_provider_config_validates_without_diagnostics() {
    let (_process, mut client) = start_provider().await;
    let good = provider_config(
        Msgpack::strings(&["https://checkip.amazonaws.com/", "http://127.0.0.1:8080/ip"]),
        Msgpack::str("5s"),
    );
    let diagnostics = validate_provider(&mut client, raw_dynamic(good.encode())).await;
    assert!(diagnostics.is_empty(), "{}", show(&diagnostics));
    // An absent block is null, and that is valid too.
    let empty = Msgpack::map([("public_ip", Msgpack::Nil)]);
    let diagnostics = validate_provider(&mut client, raw_dynamic(empty.encode())).await;
    assert!(diagnostics.is_empty(), "{}", show(&diagnostics));
}

#[tokio::test]
async fn bad_timeout_and_source_are_errors_at_their_attribute_paths() {
    let (_process, mut client) = start_provider().await;
    let bad_timeout = provider_config(Msgpack::Nil, Msgpack::str("5 parsecs"));
    let diagnostics = validate_provider(&mut client, raw_dynamic(bad_timeout.encode())).await;
    single_error_at(&diagnostics, "public_ip.timeout");

    let bad_source = provider_config(Msgpack::strings(&["ftp://x/"]), Msgpack::Nil);
    let diagnostics = validate_provider(&mut client, raw_dynamic(bad_source.encode())).await;
    let error = single_error_at(&diagnostics, "public_ip.sources[0]");
    // The index is an integer step, which is how terraform points into a list.
    let last_step = error.attribute.as_ref().and_then(|p| p.steps.last());
    assert_eq!(
        last_step.and_then(|s| s.selector.clone()),
        Some(pb::attribute_path::step::Selector::ElementKeyInt(0))
    );
}

#[tokio::test]
async fn malformed_msgpack_is_a_diagnostic_and_the_provider_keeps_answering() {
    let (mut process, mut client) = start_provider().await;
    // 0xc1 is the one byte msgpack never uses.
    let diagnostics = validate_provider(&mut client, raw_dynamic(vec![0xc1, 0xff])).await;
    assert!(!errors(&diagnostics).is_empty(), "{}", show(&diagnostics));

    // A truncated map: the header promises an entry the bytes do not hold.
    let diagnostics = validate_provider(&mut client, raw_dynamic(vec![0x81, 0xa9])).await;
    assert!(!errors(&diagnostics).is_empty(), "{}", show(&diagnostics));

    let good = provider_config(Msgpack::Nil, Msgpack::str("5s"));
    let diagnostics = validate_provider(&mut client, raw_dynamic(good.encode())).await;
    assert!(diagnostics.is_empty(), "{}", show(&diagnostics));
    assert!(process.is_running(), "stderr:\n{}", process.stderr());
}

#[tokio::test]
async fn a_value_of_the_wrong_shape_is_a_diagnostic() {
    let (_process, mut client) = start_provider().await;
    let string = Msgpack::str("not an object");
    let diagnostics = validate_provider(&mut client, raw_dynamic(string.encode())).await;
    assert!(!errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
    // An attribute the schema lacks is as wrong as a mistyped one.
    let extra = Msgpack::map([("public_ip", Msgpack::Nil), ("color", Msgpack::str("red"))]);
    let diagnostics = validate_provider(&mut client, raw_dynamic(extra.encode())).await;
    assert!(!errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
}

#[tokio::test]
async fn configured_data_source_reads_the_local_source_once_per_process() {
    let source = HttpSource::answering("81.2.69.160\n");
    let (_process, mut client) = start_provider().await;
    configure(&mut client, source.url(), "5s").await;

    let answer = read_public_ip(&mut client).await;
    assert!(
        answer.diagnostics.is_empty(),
        "{}",
        show(&answer.diagnostics)
    );
    let state = answer.state.expect("the data source's state");
    // Data source state comes as JSON, the state file's own form, so that numbers read back
    // compare equal to stored ones in refresh-only plans.
    assert!(state.msgpack.is_empty(), "state comes as JSON");
    let state: serde_json::Value =
        serde_json::from_slice(&state.json).expect("the state is valid JSON");
    let mut names: Vec<&str> = state
        .as_object()
        .expect("the state is an object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["id", "ip", "ip_version", "source"]);
    assert_eq!(state["ip"], ANSWERED_ADDRESS);
    assert_eq!(state["id"], ANSWERED_ADDRESS);
    assert_eq!(state["source"], source.url());
    assert!(state["ip_version"].is_null(), "config kept as given");
    assert_eq!(source.requests(), 1);

    let again = read_public_ip(&mut client).await;
    assert!(again.diagnostics.is_empty(), "{}", show(&again.diagnostics));
    let again: serde_json::Value =
        serde_json::from_slice(&again.state.expect("state").json).expect("JSON");
    assert_eq!(again, state);
    assert_eq!(
        source.requests(),
        1,
        "the address is looked up once per process"
    );
}

#[tokio::test]
async fn data_source_validation_names_ip_version_and_unknown_types() {
    let (_process, mut client) = start_provider().await;
    let request = pb::validate_data_resource_config::Request {
        type_name: "homelab_public_ip".to_owned(),
        config: dynamic(&public_ip_config(Msgpack::str("ipv5"))),
    };
    let answer = call(
        "ValidateDataResourceConfig",
        client.validate_data_resource_config(request),
    )
    .await;
    single_error_at(&answer.diagnostics, "ip_version");

    let request = pb::validate_data_resource_config::Request {
        type_name: "homelab_public_ip".to_owned(),
        config: dynamic(&public_ip_config(Msgpack::str("ipv6"))),
    };
    let answer = call(
        "ValidateDataResourceConfig",
        client.validate_data_resource_config(request),
    )
    .await;
    assert!(
        answer.diagnostics.is_empty(),
        "{}",
        show(&answer.diagnostics)
    );

    let request = pb::validate_data_resource_config::Request {
        type_name: UNKNOWN_TYPE.to_owned(),
        config: dynamic(&Msgpack::map([])),
    };
    let answer = call(
        "ValidateDataResourceConfig",
        client.validate_data_resource_config(request),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, "unknown data source type");
}

#[tokio::test]
async fn reading_before_configure_says_provider_not_configured() {
    let (_process, mut client) = start_provider().await;
    let answer = read_public_ip(&mut client).await;
    assert_error_mentions(&answer.diagnostics, "Provider not configured");
    assert!(answer.state.is_none());
}

#[tokio::test]
async fn stop_provider_cancels_a_read_hung_on_its_source() {
    let source = HttpSource::hanging();
    let (_process, mut client) = start_provider().await;
    configure(&mut client, source.url(), "30s").await;

    // The read runs on its own clone of the channel, as terraform's walk does beside Stop.
    let mut reader = client.clone();
    let read = tokio::spawn(async move { read_public_ip(&mut reader).await });
    assert!(
        source.wait_for_request(Duration::from_secs(10)).await,
        "the provider never asked the hanging source"
    );

    let stopped_at = Instant::now();
    let stop = call(
        "StopProvider",
        client.stop_provider(pb::stop_provider::Request {}),
    )
    .await;
    assert_eq!(stop.error, "", "StopProvider reports no error");

    let answer = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the hung read returns after StopProvider, long before the 30 s timeout")
        .expect("the read task did not panic");
    let waited = stopped_at.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "the read returned {waited:?} after StopProvider"
    );
    // The diagnostic says why, so a user who pressed Ctrl-C is not sent hunting a network fault.
    assert_error_mentions(&answer.diagnostics, "cancel");
    assert!(answer.state.is_none());
}

#[tokio::test]
async fn an_eight_mebibyte_value_crosses_the_transport() {
    let (_process, mut client) = start_provider().await;
    let long_url = format!("ftp://example.invalid/{}", "a".repeat(8 * 1024 * 1024));
    let config = provider_config(Msgpack::strings(&[&long_url]), Msgpack::Nil);
    let bytes = config.encode();
    assert!(bytes.len() > 8 * 1024 * 1024);
    let diagnostics = validate_provider(&mut client, raw_dynamic(bytes)).await;
    let error = single_error_at(&diagnostics, "public_ip.sources[0]");
    assert!(
        error.detail.contains("ftp"),
        "the diagnostic is about the URL's scheme: {}",
        show(&diagnostics)
    );
}
