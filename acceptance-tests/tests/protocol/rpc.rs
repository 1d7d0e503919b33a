//! Starting the provider as terraform does, bounded calls, and reading diagnostics the way terraform shows them.

use std::future::Future;
use std::time::Duration;

use acceptance_tests::plugin_client::PluginProcess;
use tfplugin_proto::tfplugin6 as pb;
use tfplugin_proto::tfplugin6::provider_client::ProviderClient;
use tonic::transport::Channel;
use tonic::{Response, Status};

use super::msgpack::Msgpack;

/// A bound on every single RPC, so a hung provider fails the test instead of hanging it.
pub(crate) const RPC_TIMEOUT: Duration = Duration::from_secs(15);

/// The provider's client as terraform holds it.
pub(crate) type Client = ProviderClient<Channel>;

/// The message size limit terraform's gRPC client (go-plugin's dial options) sets both ways.
const TERRAFORM_MESSAGE_LIMIT: usize = i32::MAX as usize;

/// Starts the binary as terraform does and returns it with a client on its mTLS channel, with
/// terraform's message limits rather than tonic's 4 MiB receive default.
pub(crate) async fn start_provider() -> (PluginProcess, Client) {
    // Requests to the local sources must not detour through a proxy the environment may name.
    let process = PluginProcess::start_with_env(&[
        ("NO_PROXY", "127.0.0.1,localhost"),
        ("no_proxy", "127.0.0.1,localhost"),
    ])
    .await
    .expect("the provider starts and completes the handshake");
    let client = ProviderClient::new(process.channel.clone())
        .max_decoding_message_size(TERRAFORM_MESSAGE_LIMIT)
        .max_encoding_message_size(TERRAFORM_MESSAGE_LIMIT);
    (process, client)
}

/// Runs one RPC within [`RPC_TIMEOUT`], keeping the gRPC status for the caller to inspect.
pub(crate) async fn bounded<T>(
    rpc: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<T, Status> {
    match tokio::time::timeout(RPC_TIMEOUT, rpc).await {
        Ok(answer) => answer.map(Response::into_inner),
        Err(_) => panic!("the provider did not answer within {RPC_TIMEOUT:?}"),
    }
}

/// Runs one RPC within [`RPC_TIMEOUT`] and insists it answered at the gRPC level: terraform
/// treats a status error as a crashed or broken provider, never as a user error.
pub(crate) async fn call<T>(
    what: &str,
    rpc: impl Future<Output = Result<Response<T>, Status>>,
) -> T {
    bounded(rpc)
        .await
        .unwrap_or_else(|status| panic!("{what} failed at the transport: {status}"))
}

/// A msgpack value in the envelope terraform sends.
pub(crate) fn dynamic(value: &Msgpack) -> Option<pb::DynamicValue> {
    Some(raw_dynamic(value.encode()))
}

/// Bytes in the msgpack field of a DynamicValue, valid or not.
pub(crate) fn raw_dynamic(msgpack: Vec<u8>) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack,
        json: Vec::new(),
    }
}

/// The diagnostics of error severity.
pub(crate) fn errors(diagnostics: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .collect()
}

/// An attribute path as terraform prints it: `a.b[0]`, string keys quoted.
pub(crate) fn path_text(path: Option<&pb::AttributePath>) -> String {
    use pb::attribute_path::step::Selector;
    let Some(path) = path else {
        return "(no path)".to_owned();
    };
    let mut text = String::new();
    for step in &path.steps {
        match &step.selector {
            Some(Selector::AttributeName(name)) if text.is_empty() => text.push_str(name),
            Some(Selector::AttributeName(name)) => text.push_str(&format!(".{name}")),
            Some(Selector::ElementKeyString(key)) => text.push_str(&format!("[{key:?}]")),
            Some(Selector::ElementKeyInt(index)) => text.push_str(&format!("[{index}]")),
            None => text.push_str("<empty step>"),
        }
    }
    text
}

/// Diagnostics in one readable line each, for assertion messages; long details are cut.
pub(crate) fn show(diagnostics: &[pb::Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let detail: String = d.detail.chars().take(200).collect();
            format!(
                "[severity {}] {} at {}: {detail}",
                d.severity,
                d.summary,
                path_text(d.attribute.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts exactly one diagnostic, an error at `path`, and returns it.
pub(crate) fn single_error_at<'a>(
    diagnostics: &'a [pb::Diagnostic],
    path: &str,
) -> &'a pb::Diagnostic {
    let found = errors(diagnostics);
    assert!(
        found.len() == 1 && diagnostics.len() == 1,
        "expected one error at {path}, got:\n{}",
        show(diagnostics)
    );
    assert_eq!(
        path_text(found[0].attribute.as_ref()),
        path,
        "{}",
        show(diagnostics)
    );
    found[0]
}

/// Asserts at least one error whose summary or detail contains `needle`, ignoring case.
pub(crate) fn assert_error_mentions(diagnostics: &[pb::Diagnostic], needle: &str) {
    let needle = needle.to_lowercase();
    assert!(
        errors(diagnostics).iter().any(|d| {
            d.summary.to_lowercase().contains(&needle) || d.detail.to_lowercase().contains(&needle)
        }),
        "expected an error mentioning {needle:?}, got:\n{}",
        show(diagnostics)
    );
}
