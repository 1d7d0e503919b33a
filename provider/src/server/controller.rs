//! go-plugin's helper services: `plugin.GRPCController` (shutdown) and `plugin.GRPCStdio`.
//!
//! Terraform's plugin client calls `GRPCController.Shutdown` when it is done with a provider and
//! then gives the process two seconds to exit before killing it; it also opens
//! `GRPCStdio.StreamStdio` once, to copy the plugin's stdout and stderr into its own log. This
//! provider writes its logs straight to stderr, which terraform reads anyway, so the stdio stream
//! carries nothing: it stays open and ends when the server shuts down.

use std::pin::Pin;

use futures_util::{Stream, StreamExt as _};
use tfplugin_proto::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use tfplugin_proto::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};
use tfplugin_proto::plugin::{Empty, StdioData};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::log;

/// Serves `plugin.GRPCController`: `Shutdown` cancels `shutdown`, which ends serving.
pub(crate) struct Controller {
    /// Cancelled to start a graceful shutdown of the whole server.
    shutdown: CancellationToken,
}

/// The controller service, ready to add to the server's routes.
pub(crate) fn controller_service(shutdown: CancellationToken) -> GrpcControllerServer<Controller> {
    GrpcControllerServer::new(Controller { shutdown })
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        log::debug("shutdown requested by the plugin client", &[]);
        // The reply still goes out: graceful shutdown lets in-flight calls finish.
        self.shutdown.cancel();
        Ok(Response::new(Empty {}))
    }
}

/// Serves `plugin.GRPCStdio` with a stream that never carries data.
pub(crate) struct Stdio {
    /// Ends every open stream when cancelled.
    shutdown: CancellationToken,
}

/// The stdio service, ready to add to the server's routes.
pub(crate) fn stdio_service(shutdown: CancellationToken) -> GrpcStdioServer<Stdio> {
    GrpcStdioServer::new(Stdio { shutdown })
}

/// The stream type `StreamStdio` returns.
type StdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    async fn stream_stdio(&self, _request: Request<()>) -> Result<Response<StdioStream>, Status> {
        let shutdown = self.shutdown.clone();
        // One future that finishes at shutdown and yields nothing: the client sees an open stream
        // that ends cleanly when the server stops, so graceful shutdown is not held up by it.
        let stream = futures_util::stream::once(async move { shutdown.cancelled().await })
            .filter_map(|()| async { None });
        Ok(Response::new(Box::pin(stream)))
    }
}
