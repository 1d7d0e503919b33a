//! RPCs for types and features the provider lacks: diagnostics for unknown type names, Unimplemented for unimplemented RPCs.

use tfplugin_proto::tfplugin6 as pb;
use tonic::Code;

use crate::msgpack::Msgpack;
use crate::rpc::{assert_error_mentions, bounded, call, dynamic, start_provider};

/// A type name no part of the provider registers.
pub(crate) const UNKNOWN_TYPE: &str = "homelab_nope";

#[tokio::test]
async fn managed_resource_rpcs_of_an_unknown_type_answer_with_diagnostics() {
    let (_process, mut client) = start_provider().await;
    let type_name = UNKNOWN_TYPE.to_owned();
    let object = Msgpack::map([("id", Msgpack::str("x"))]);

    let answer = call(
        "ValidateResourceConfig",
        client.validate_resource_config(pb::validate_resource_config::Request {
            type_name: type_name.clone(),
            config: dynamic(&object),
            client_capabilities: None,
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);

    let answer = call(
        "PlanResourceChange",
        client.plan_resource_change(pb::plan_resource_change::Request {
            type_name: type_name.clone(),
            prior_state: dynamic(&Msgpack::Nil),
            proposed_new_state: dynamic(&object),
            config: dynamic(&object),
            ..Default::default()
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);

    let answer = call(
        "ApplyResourceChange",
        client.apply_resource_change(pb::apply_resource_change::Request {
            type_name: type_name.clone(),
            prior_state: dynamic(&object),
            planned_state: dynamic(&object),
            config: dynamic(&object),
            ..Default::default()
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);
    // Nothing was attempted, so the state terraform keeps is the one it sent.
    assert_eq!(answer.new_state, dynamic(&object));

    let answer = call(
        "ReadResource",
        client.read_resource(pb::read_resource::Request {
            type_name: type_name.clone(),
            current_state: dynamic(&object),
            private: b"kept".to_vec(),
            ..Default::default()
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);
    // A failed read must not lose the object from state.
    assert_eq!(answer.new_state, dynamic(&object));
    assert_eq!(answer.private, b"kept");

    let answer = call(
        "ImportResourceState",
        client.import_resource_state(pb::import_resource_state::Request {
            type_name: type_name.clone(),
            id: "host:/etc/x".to_owned(),
            ..Default::default()
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);
    assert!(answer.imported_resources.is_empty());

    let answer = call(
        "UpgradeResourceState",
        client.upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name,
            version: 0,
            raw_state: Some(pb::RawState {
                json: br#"{"id":"x"}"#.to_vec(),
                ..Default::default()
            }),
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);
}

#[tokio::test]
async fn ephemeral_resource_rpcs_of_an_unknown_type_answer_with_diagnostics() {
    let (_process, mut client) = start_provider().await;
    let type_name = UNKNOWN_TYPE.to_owned();
    let config = dynamic(&Msgpack::map([]));

    let answer = call(
        "ValidateEphemeralResourceConfig",
        client.validate_ephemeral_resource_config(
            pb::validate_ephemeral_resource_config::Request {
                type_name: type_name.clone(),
                config: config.clone(),
            },
        ),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);

    let answer = call(
        "OpenEphemeralResource",
        client.open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: type_name.clone(),
            config,
            client_capabilities: None,
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);
    assert!(answer.result.is_none());

    let answer = call(
        "RenewEphemeralResource",
        client.renew_ephemeral_resource(pb::renew_ephemeral_resource::Request {
            type_name: type_name.clone(),
            private: None,
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);

    let answer = call(
        "CloseEphemeralResource",
        client.close_ephemeral_resource(pb::close_ephemeral_resource::Request {
            type_name,
            private: None,
        }),
    )
    .await;
    assert_error_mentions(&answer.diagnostics, UNKNOWN_TYPE);
}

#[tokio::test]
async fn rpcs_the_provider_does_not_implement_answer_unimplemented() {
    let (_process, mut client) = start_provider().await;
    let chunk = pb::write_state_bytes::RequestChunk::default();
    let chunks = tonic::codegen::tokio_stream::iter(vec![chunk]);
    // Terraform reads Unimplemented as "this provider lacks the feature"; any other status,
    // or an answer, would claim support this provider does not have.
    let answers: Vec<(&str, Result<(), tonic::Status>)> = vec![
        (
            "MoveResourceState",
            bounded(client.move_resource_state(pb::move_resource_state::Request::default()))
                .await
                .map(drop),
        ),
        (
            "GenerateResourceConfig",
            bounded(
                client.generate_resource_config(pb::generate_resource_config::Request::default()),
            )
            .await
            .map(drop),
        ),
        (
            "ListResource",
            bounded(client.list_resource(pb::list_resource::Request::default()))
                .await
                .map(drop),
        ),
        (
            "ValidateListResourceConfig",
            bounded(client.validate_list_resource_config(
                pb::validate_list_resource_config::Request::default(),
            ))
            .await
            .map(drop),
        ),
        (
            "ValidateStateStoreConfig",
            bounded(
                client.validate_state_store_config(pb::validate_state_store::Request::default()),
            )
            .await
            .map(drop),
        ),
        (
            "ConfigureStateStore",
            bounded(client.configure_state_store(pb::configure_state_store::Request::default()))
                .await
                .map(drop),
        ),
        (
            "ReadStateBytes",
            bounded(client.read_state_bytes(pb::read_state_bytes::Request::default()))
                .await
                .map(drop),
        ),
        (
            "WriteStateBytes",
            bounded(client.write_state_bytes(chunks)).await.map(drop),
        ),
        (
            "LockState",
            bounded(client.lock_state(pb::lock_state::Request::default()))
                .await
                .map(drop),
        ),
        (
            "UnlockState",
            bounded(client.unlock_state(pb::unlock_state::Request::default()))
                .await
                .map(drop),
        ),
        (
            "GetStates",
            bounded(client.get_states(pb::get_states::Request::default()))
                .await
                .map(drop),
        ),
        (
            "DeleteState",
            bounded(client.delete_state(pb::delete_state::Request::default()))
                .await
                .map(drop),
        ),
        (
            "PlanAction",
            bounded(client.plan_action(pb::plan_action::Request::default()))
                .await
                .map(drop),
        ),
        (
            "InvokeAction",
            bounded(client.invoke_action(pb::invoke_action::Request::default()))
                .await
                .map(drop),
        ),
        (
            "ValidateActionConfig",
            bounded(client.validate_action_config(pb::validate_action_config::Request::default()))
                .await
                .map(drop),
        ),
    ];
    for (rpc, answer) in answers {
        match answer {
            Err(status) if status.code() == Code::Unimplemented => {}
            other => panic!("{rpc} answered {other:?}, not Unimplemented"),
        }
    }
}
