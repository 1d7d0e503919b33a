//! Request shapes of clients without write-only attributes (Terraform 1.5.7, the newest
//! Spacelift runs, and OpenTofu 1.6 to 1.10: no `ClientCapabilities`, no identity calls) beside
//! those of OpenTofu 1.11 (capabilities set): a write-only value is refused at validate and
//! plan on the old shape, with its attribute named and its alternative given, and accepted on
//! the new one; nothing is ever deferred.

use tfplugin_proto::tfplugin6 as pb;

use crate::msgpack::Msgpack;
use crate::rpc::{Client, call, dynamic, errors, path_text, show, start_provider};

/// What Terraform before v1.11 and OpenTofu before v1.11 send: no capabilities at all.
const OLD_CLIENT: Option<pb::ClientCapabilities> = None;

/// What OpenTofu 1.11 sends: write-only attributes allowed, no deferral.
fn new_client() -> Option<pb::ClientCapabilities> {
    Some(pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: true,
        store_planned_private: false,
    })
}

/// A BGP neighbor with the write-only password (attributes left out are null).
fn neighbor_with_password() -> Msgpack {
    Msgpack::map([
        ("host", Msgpack::str("10.4.0.1")),
        ("asn", Msgpack::Int(64500)),
        ("address", Msgpack::str("10.4.0.11")),
        ("remote_asn", Msgpack::Int(64501)),
        ("password", Msgpack::str("s3cr3t-md5")),
        ("password_version", Msgpack::str("1")),
    ])
}

/// The same neighbor with the password a client without write-only attributes can use: the
/// name of an environment variable holding it.
fn neighbor_with_password_from_environment() -> Msgpack {
    Msgpack::map([
        ("host", Msgpack::str("10.4.0.1")),
        ("asn", Msgpack::Int(64500)),
        ("address", Msgpack::str("10.4.0.11")),
        ("remote_asn", Msgpack::Int(64501)),
        ("password_env", Msgpack::str("BGP_MD5_PASSWORD")),
        ("password_version", Msgpack::str("1")),
    ])
}

async fn validate(
    client: &mut Client,
    type_name: &str,
    config: &Msgpack,
    client_capabilities: Option<pb::ClientCapabilities>,
) -> Vec<pb::Diagnostic> {
    let request = pb::validate_resource_config::Request {
        type_name: type_name.to_owned(),
        config: dynamic(config),
        client_capabilities,
    };
    call(
        "ValidateResourceConfig",
        client.validate_resource_config(request),
    )
    .await
    .diagnostics
}

/// The paths of the errors that are about write-only attributes.
fn write_only_refusals(diagnostics: &[pb::Diagnostic]) -> Vec<String> {
    errors(diagnostics)
        .into_iter()
        .filter(|d| d.summary.starts_with("Write-only attribute not supported"))
        .map(|d| path_text(d.attribute.as_ref()))
        .collect()
}

#[tokio::test]
async fn an_old_client_is_refused_a_write_only_password_and_told_to_use_password_env() {
    let (process, mut client) = start_provider().await;
    let diagnostics = validate(
        &mut client,
        "homelab_bgp_neighbor",
        &neighbor_with_password(),
        OLD_CLIENT,
    )
    .await;
    assert_eq!(errors(&diagnostics).len(), 1, "{}", show(&diagnostics));
    assert_eq!(
        write_only_refusals(&diagnostics),
        ["password"],
        "{}",
        show(&diagnostics)
    );
    let refusal = &diagnostics[0];
    assert!(
        refusal.detail.contains("password_env"),
        "{}",
        refusal.detail
    );
    assert!(
        !refusal.detail.contains("s3cr3t-md5") && !process.stderr().contains("s3cr3t-md5"),
        "the password itself is never shown or logged"
    );

    // The old client's fallback passes validate.
    let diagnostics = validate(
        &mut client,
        "homelab_bgp_neighbor",
        &neighbor_with_password_from_environment(),
        OLD_CLIENT,
    )
    .await;
    assert!(errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
}

#[tokio::test]
async fn a_client_with_write_only_attributes_may_set_them() {
    let (_process, mut client) = start_provider().await;
    let diagnostics = validate(
        &mut client,
        "homelab_bgp_neighbor",
        &neighbor_with_password(),
        new_client(),
    )
    .await;
    assert!(errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
    let file = Msgpack::map([
        ("host", Msgpack::str("10.4.0.10")),
        ("path", Msgpack::str("/etc/homelab/motd")),
        ("content", Msgpack::str("hello\n")),
        ("create_directories", Msgpack::Bool(true)),
    ]);
    let diagnostics = validate(&mut client, "homelab_file", &file, new_client()).await;
    assert!(errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
    // Capabilities sent with the flag false are the same as none.
    let said_no = Some(pb::ClientCapabilities {
        write_only_attributes_allowed: false,
        ..new_client().expect("capabilities")
    });
    let diagnostics = validate(&mut client, "homelab_file", &file, said_no).await;
    assert_eq!(
        write_only_refusals(&diagnostics),
        ["create_directories"],
        "{}",
        show(&diagnostics)
    );
}

#[tokio::test]
async fn every_write_only_attribute_of_every_resource_is_refused_to_an_old_client_by_name() {
    let (_process, mut client) = start_provider().await;
    let schema = call(
        "GetProviderSchema",
        client.get_provider_schema(pb::get_provider_schema::Request {}),
    )
    .await;
    let mut checked = Vec::new();
    for (type_name, resource) in &schema.resource_schemas {
        let block = resource.block.as_ref().expect("a block");
        // Unset, no attribute is refused: every resource works on an old client.
        let diagnostics = validate(&mut client, type_name, &Msgpack::map([]), OLD_CLIENT).await;
        assert!(
            write_only_refusals(&diagnostics).is_empty(),
            "{type_name}: {}",
            show(&diagnostics)
        );
        for attribute in block.attributes.iter().filter(|a| a.write_only) {
            let value = match attribute.r#type.as_slice() {
                b"\"bool\"" => Msgpack::Bool(true),
                b"\"number\"" => Msgpack::Int(1),
                _ => Msgpack::str("value"),
            };
            let config = Msgpack::Map(vec![(attribute.name.clone(), value)]);
            let diagnostics = validate(&mut client, type_name, &config, OLD_CLIENT).await;
            assert_eq!(
                write_only_refusals(&diagnostics),
                std::slice::from_ref(&attribute.name),
                "{type_name}.{}: {}",
                attribute.name,
                show(&diagnostics)
            );
            checked.push(format!("{type_name}.{}", attribute.name));
        }
    }
    // The list is known, so a new write-only attribute is noticed here and given a fallback.
    checked.sort();
    assert_eq!(
        checked,
        [
            "homelab_bgp_neighbor.password",
            "homelab_bgp_neighbor.wait_for_established",
            "homelab_file.create_directories",
        ]
    );
}

#[tokio::test]
async fn an_old_client_plan_with_a_write_only_value_is_refused_and_never_deferred() {
    let (_process, mut client) = start_provider().await;
    let config = neighbor_with_password();
    // Terraform 1.5.7's PlanResourceChange: no capabilities, no prior identity, no private.
    let request = pb::plan_resource_change::Request {
        type_name: "homelab_bgp_neighbor".to_owned(),
        prior_state: dynamic(&Msgpack::Nil),
        proposed_new_state: dynamic(&config),
        config: dynamic(&config),
        prior_private: Vec::new(),
        provider_meta: None,
        client_capabilities: OLD_CLIENT,
        ..Default::default()
    };
    let answer = call("PlanResourceChange", client.plan_resource_change(request)).await;
    assert_eq!(
        write_only_refusals(&answer.diagnostics),
        ["password"],
        "{}",
        show(&answer.diagnostics)
    );
    assert!(answer.planned_state.is_none());
    assert!(answer.deferred.is_none(), "nothing is ever deferred");
}
