//! One start-measure-stop cycle of a provider process, started and spoken to as terraform would.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use acceptance_tests::plugin_client::{self, ClientIdentity, Handshake, MAGIC_COOKIE_VALUE};
use prost::Message as _;
use prost::bytes::Buf as _;
use tfplugin_proto::plugin::Empty;
use tfplugin_proto::plugin::grpc_controller_client::GrpcControllerClient;
use tfplugin_proto::tfplugin6::get_provider_schema;
use tfplugin_proto::tfplugin6::provider_client::ProviderClient;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use crate::report::median;
use crate::{BenchResult, millis, within};

/// Terraform's handshake budget is longer, but a provider this slow is broken, not slow.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// Socket, TLS and HTTP/2 set-up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One GetProviderSchema call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// From the Shutdown RPC to the process's exit; after it the child is killed.
pub(crate) const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after connecting so "idle" RSS is not caught mid-initialisation.
pub(crate) const SETTLE: Duration = Duration::from_millis(100);

/// Variables a caller's environment may carry that would change how a plugin starts or logs.
const INHERITED_VARIABLES_TO_DROP: [&str; 9] = [
    "TF_PLUGIN_MAGIC_COOKIE",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_UNIX_SOCKET_DIR",
    "TF_LOG",
    "TF_LOG_PROVIDER",
    "TF_LOG_PATH",
];

/// What one start-measure-stop cycle of one provider measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sample {
    /// Spawn to handshake line read on stdout.
    pub(crate) handshake_ms: f64,
    /// Handshake line to an established mTLS + HTTP/2 connection.
    pub(crate) connect_ms: f64,
    /// VmRSS after the handshake, connection and a short settle.
    pub(crate) idle_rss_kib: f64,
    /// Threads at the same moment.
    pub(crate) idle_threads: f64,
    /// The first GetProviderSchema on the connection.
    pub(crate) first_schema_ms: f64,
    /// Median of the repeated typed calls on the same connection.
    pub(crate) repeated_schema_ms: f64,
    /// Median of repeated calls whose response bytes are counted, not decoded.
    pub(crate) repeated_raw_ms: f64,
    /// VmHWM after all calls, before shutdown.
    pub(crate) peak_rss_kib: f64,
    /// Shutdown RPC sent to process exited.
    pub(crate) shutdown_ms: f64,
}

/// Facts about a provider that do not vary between rounds, taken from its last round.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// The handshake line as printed (certificate shortened).
    pub(crate) handshake_line: String,
    /// Negotiated plugin protocol version.
    pub(crate) protocol_version: u32,
    /// GetProviderSchema response size on the wire (protobuf message bytes).
    pub(crate) schema_wire_bytes: usize,
    /// The same response re-encoded after decoding with our tfplugin6 proto (v6 only); a
    /// difference means fields our proto does not know.
    pub(crate) schema_decoded_bytes: Option<usize>,
    /// Resource, data source, ephemeral resource and function counts (v6 only).
    pub(crate) schema_counts: Option<[usize; 4]>,
    /// Diagnostics in the schema response (v6 only).
    pub(crate) schema_diagnostics: usize,
    /// Whether the last shutdown ended with the process exiting by itself.
    pub(crate) exited_by_itself: bool,
}

/// A provider process started for one round, with its connection.
pub(crate) struct Running {
    /// The process; killed on drop, and only this PID.
    child: Child,
    /// The process id, kept because tokio forgets it once the child is reaped.
    pid: u32,
    /// The private `TMPDIR` holding the socket and the stderr log.
    temp_dir: tempfile::TempDir,
    /// The parsed handshake line.
    handshake: Handshake,
    /// An mTLS channel to the provider.
    channel: Channel,
    /// Spawn to handshake line.
    handshake_time: Duration,
    /// Handshake line to connected.
    connect_time: Duration,
}

impl Running {
    /// Spawns `binary` with terraform's environment, times the handshake line and connects.
    pub(crate) async fn start(binary: &Path) -> BenchResult<Running> {
        // Certificate generation is terraform's work, so it happens before the clock starts.
        let identity = ClientIdentity::generate()?;
        let temp_dir = tempfile::tempdir()?;
        let stderr_file = std::fs::File::create(temp_dir.path().join("stderr.log"))?;
        let mut command = Command::new(binary);
        for variable in INHERITED_VARIABLES_TO_DROP {
            command.env_remove(variable);
        }
        command
            .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", identity.certificate_pem())
            .env("TMPDIR", temp_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr_file)
            .kill_on_drop(true);

        let spawned = Instant::now();
        let mut child = command.spawn()?;
        let pid = child
            .id()
            .ok_or("the child exited before its PID was read")?;
        let stdout = child.stdout.take().ok_or("stdout is not piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = within(
            "reading the handshake line",
            HANDSHAKE_TIMEOUT,
            lines.next_line(),
        )
        .await?;
        let handshake_time = spawned.elapsed();
        let line = line.ok_or("the provider closed stdout without a handshake line")?;
        // go-plugin drains a plugin's stdout after the handshake; so do we, so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let handshake = Handshake::parse(line.trim_end())?;
        if handshake.protocol != "grpc" || handshake.server_certificate_der.is_none() {
            return Err(
                format!("expected a grpc handshake with a TLS certificate, got {line:?}").into(),
            );
        }
        let connecting = Instant::now();
        let channel = within(
            "connecting over mTLS",
            CONNECT_TIMEOUT,
            plugin_client::connect(&handshake, Some(&identity)),
        )
        .await?;
        let connect_time = connecting.elapsed();
        Ok(Running {
            child,
            pid,
            temp_dir,
            handshake,
            channel,
            handshake_time,
            connect_time,
        })
    }

    /// Measures memory and GetProviderSchema, then shuts the provider down.
    pub(crate) async fn measure(&mut self, calls: usize) -> BenchResult<(Sample, Facts)> {
        tokio::time::sleep(SETTLE).await;
        let idle = ProcStatus::read(self.pid)?;
        let path = schema_path(self.handshake.protocol_version)?;
        let mut facts = Facts {
            handshake_line: self.handshake.line.clone(),
            protocol_version: self.handshake.protocol_version,
            ..Facts::default()
        };

        // Protocol 6 uses our generated client, as terraform would; 5 has no generated client here,
        // so it is timed with the raw call (no decoding) throughout.
        let mut typed = Vec::with_capacity(calls + 1);
        if self.handshake.protocol_version == 6 {
            let mut client =
                ProviderClient::new(self.channel.clone()).max_decoding_message_size(usize::MAX);
            for _ in 0..=calls {
                let (elapsed, response) = typed_schema_call(&mut client).await?;
                typed.push(elapsed);
                facts.schema_decoded_bytes = Some(response.encoded_len());
                facts.schema_counts = Some([
                    response.resource_schemas.len(),
                    response.data_source_schemas.len(),
                    response.ephemeral_resource_schemas.len(),
                    response.functions.len(),
                ]);
                facts.schema_diagnostics = response.diagnostics.len();
            }
        }
        let mut raw = Vec::with_capacity(calls + 1);
        let mut grpc =
            tonic::client::Grpc::new(self.channel.clone()).max_decoding_message_size(usize::MAX);
        for _ in 0..=calls {
            let (elapsed, size) = raw_schema_call(&mut grpc, path.clone()).await?;
            raw.push(elapsed);
            facts.schema_wire_bytes = size;
        }
        let after_calls = ProcStatus::read(self.pid)?;
        let first_and_repeated = if typed.is_empty() { &raw } else { &typed };

        let shutdown_started = Instant::now();
        facts.exited_by_itself = self.shut_down().await;
        let sample = Sample {
            handshake_ms: millis(self.handshake_time),
            connect_ms: millis(self.connect_time),
            idle_rss_kib: idle.rss_kib as f64,
            idle_threads: idle.threads as f64,
            first_schema_ms: millis(first_and_repeated[0]),
            repeated_schema_ms: median(
                &first_and_repeated[1..]
                    .iter()
                    .map(|d| millis(*d))
                    .collect::<Vec<_>>(),
            ),
            repeated_raw_ms: median(&raw[1..].iter().map(|d| millis(*d)).collect::<Vec<_>>()),
            peak_rss_kib: after_calls.peak_rss_kib as f64,
            shutdown_ms: millis(shutdown_started.elapsed()),
        };
        Ok((sample, facts))
    }

    /// Asks the provider to stop as terraform does; kills only our child if it does not exit in
    /// time. Returns whether it exited by itself.
    async fn shut_down(&mut self) -> bool {
        let mut controller = GrpcControllerClient::new(self.channel.clone());
        // go-plugin's Shutdown stops the server at once, so the reply may be lost: only exit counts.
        let _ = tokio::time::timeout(EXIT_TIMEOUT, controller.shutdown(Empty {})).await;
        match tokio::time::timeout(EXIT_TIMEOUT, self.child.wait()).await {
            Ok(Ok(_)) => true,
            _ => {
                let _ = self.child.start_kill();
                let _ = tokio::time::timeout(EXIT_TIMEOUT, self.child.wait()).await;
                false
            }
        }
    }

    /// The last lines of the provider's stderr, to explain a failure.
    pub(crate) fn stderr_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.temp_dir.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The gRPC path of the schema RPC for a negotiated protocol version.
fn schema_path(protocol_version: u32) -> BenchResult<PathAndQuery> {
    match protocol_version {
        6 => Ok(PathAndQuery::from_static(
            "/tfplugin6.Provider/GetProviderSchema",
        )),
        5 => Ok(PathAndQuery::from_static("/tfplugin5.Provider/GetSchema")),
        other => Err(format!("unsupported plugin protocol version {other}").into()),
    }
}

/// One GetProviderSchema through the generated tfplugin6 client, timed.
async fn typed_schema_call(
    client: &mut ProviderClient<Channel>,
) -> BenchResult<(Duration, get_provider_schema::Response)> {
    let started = Instant::now();
    let response = within(
        "GetProviderSchema",
        CALL_TIMEOUT,
        client.get_provider_schema(get_provider_schema::Request {}),
    )
    .await?;
    Ok((started.elapsed(), response.into_inner()))
}

/// One schema call that counts the response's bytes instead of decoding them, timed.
async fn raw_schema_call(
    grpc: &mut tonic::client::Grpc<Channel>,
    path: PathAndQuery,
) -> BenchResult<(Duration, usize)> {
    let started = Instant::now();
    within("waiting for the channel", CALL_TIMEOUT, grpc.ready()).await?;
    let description = format!("raw call {path}");
    let response = within(
        &description,
        CALL_TIMEOUT,
        grpc.unary(tonic::Request::new(()), path, ByteCountCodec),
    )
    .await?;
    Ok((started.elapsed(), response.into_inner()))
}

/// A codec that sends an empty message (every schema request has no fields) and answers with
/// the response's length in bytes, so any protocol version can be called without its bindings.
#[derive(Debug, Clone, Copy)]
struct ByteCountCodec;

impl Codec for ByteCountCodec {
    type Encode = ();
    type Decode = usize;
    type Encoder = ByteCountCodec;
    type Decoder = ByteCountCodec;

    fn encoder(&mut self) -> Self::Encoder {
        ByteCountCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        ByteCountCodec
    }
}

impl Encoder for ByteCountCodec {
    type Item = ();
    type Error = tonic::Status;

    fn encode(&mut self, _item: (), _dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        // An empty protobuf message is zero bytes.
        Ok(())
    }
}

impl Decoder for ByteCountCodec {
    type Item = usize;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<usize>, Self::Error> {
        let length = src.remaining();
        src.advance(length);
        Ok(Some(length))
    }
}

/// The memory lines of `/proc/PID/status`.
struct ProcStatus {
    /// VmRSS.
    rss_kib: u64,
    /// VmHWM, the peak resident set.
    peak_rss_kib: u64,
    /// Threads.
    threads: u64,
}

impl ProcStatus {
    /// Reads `/proc/PID/status` of our child.
    fn read(pid: u32) -> BenchResult<ProcStatus> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|error| format!("reading /proc/{pid}/status: {error}"))?;
        let field = |name: &str| -> BenchResult<u64> {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| format!("no {name} in /proc/{pid}/status").into())
        };
        Ok(ProcStatus {
            rss_kib: field("VmRSS:")?,
            peak_rss_kib: field("VmHWM:")?,
            threads: field("Threads:")?,
        })
    }
}
