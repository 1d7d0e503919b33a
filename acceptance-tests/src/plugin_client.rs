//! Starts the provider binary exactly as terraform does and connects to it with gRPC over AutoMTLS.
//!
//! Terraform (through hashicorp/go-plugin) generates an ECDSA P-521 client certificate, self-signed
//! and marked as a CA, passes it in `PLUGIN_CLIENT_CERT` with the magic cookie and the protocol
//! versions it speaks, reads the handshake line
//! `1|6|unix|SOCKET|grpc|BASE64-DER-SERVER-CERT` from the plugin's stdout, and connects over TLS
//! trusting exactly that server certificate. [`PluginProcess`] does the same, and can also
//! connect with another client certificate or none, to prove the provider refuses them.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

/// The magic cookie terraform and OpenTofu set for every provider plugin.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// Variables terraform sets when it starts a plugin; removed from inherited environments so a
/// "run by hand" is really by hand.
const PLUGIN_VARIABLES: [&str; 6] = [
    "TF_PLUGIN_MAGIC_COOKIE",
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_UNIX_SOCKET_DIR",
];

/// How long the plugin may take to print its handshake line.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// How long connecting (socket, TLS and HTTP/2) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong talking to the plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginClientError {
    /// The private temporary directory could not be made.
    #[error("could not create a temporary directory")]
    TempDir(#[source] io::Error),
    /// The binary could not be started.
    #[error("could not start {binary}")]
    Spawn {
        /// The binary's path.
        binary: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The plugin exited or closed stdout before the handshake; its stderr is attached.
    #[error("the plugin printed no handshake line; stderr:\n{stderr}")]
    NoHandshake {
        /// Everything the plugin wrote to stderr.
        stderr: String,
    },
    /// The plugin did not print its handshake line in time.
    #[error("the plugin printed no handshake line within {0:?}")]
    HandshakeTimeout(Duration),
    /// Reading the plugin's stdout failed.
    #[error("could not read the plugin's stdout")]
    Stdout(#[source] io::Error),
    /// The handshake line does not have go-plugin's shape.
    #[error("malformed handshake line {line:?}: {reason}")]
    MalformedHandshake {
        /// The line as printed.
        line: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS client could not be configured.
    #[error("could not build the TLS client configuration")]
    Tls(#[source] rustls::Error),
    /// The client certificate could not be generated.
    #[error("could not generate a client certificate")]
    Certificate(#[source] rcgen::Error),
    /// Connecting or the HTTP/2 handshake failed.
    #[error("could not connect to the plugin")]
    Connect(#[source] tonic::transport::Error),
    /// The plugin did not exit in time.
    #[error("the plugin did not exit within {0:?}")]
    ExitTimeout(Duration),
    /// Waiting for the plugin failed.
    #[error("could not wait for the plugin")]
    Wait(#[source] io::Error),
}

/// A client certificate and key made the way terraform makes them.
pub struct ClientIdentity {
    /// The certificate in PEM, as passed in `PLUGIN_CLIENT_CERT`.
    certificate_pem: String,
    /// The certificate in DER, as presented in the TLS handshake.
    certificate_der: CertificateDer<'static>,
    /// The PKCS#8 private key.
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ClientIdentity {
    /// Generates an ECDSA P-521 self-signed CA certificate for `localhost`, like go-plugin's
    /// `generateCert` on terraform's side.
    pub fn generate() -> Result<ClientIdentity, PluginClientError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)
            .map_err(PluginClientError::Certificate)?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(PluginClientError::Certificate)?;
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let certificate = params
            .self_signed(&key)
            .map_err(PluginClientError::Certificate)?;
        Ok(ClientIdentity {
            certificate_pem: certificate.pem(),
            certificate_der: certificate.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The certificate in PEM, the form `PLUGIN_CLIENT_CERT` carries.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }
}

/// The fields of the plugin's handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The line as printed, without the newline.
    pub line: String,
    /// go-plugin's core protocol version (1).
    pub core_version: u32,
    /// The negotiated Terraform plugin protocol version.
    pub protocol_version: u32,
    /// `unix` or `tcp`.
    pub network: String,
    /// The socket path or `HOST:PORT`.
    pub address: String,
    /// The RPC protocol, `grpc`.
    pub protocol: String,
    /// The server certificate's DER, when the plugin serves TLS.
    pub server_certificate_der: Option<Vec<u8>>,
}

impl Handshake {
    /// Parses `CORE|PROTOCOL|NETWORK|ADDRESS|RPC|CERT`; the certificate field may be empty.
    pub fn parse(line: &str) -> Result<Handshake, PluginClientError> {
        let malformed = |reason: &str| PluginClientError::MalformedHandshake {
            line: line.to_owned(),
            reason: reason.to_owned(),
        };
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() != 6 {
            return Err(malformed("expected 6 fields separated by '|'"));
        }
        let number = |text: &str| text.parse::<u32>().map_err(|_| malformed("not a number"));
        let server_certificate_der = match fields[5] {
            "" => None,
            encoded => Some(
                STANDARD_NO_PAD
                    .decode(encoded)
                    .map_err(|_| malformed("certificate is not unpadded standard base64"))?,
            ),
        };
        Ok(Handshake {
            line: line.to_owned(),
            core_version: number(fields[0])?,
            protocol_version: number(fields[1])?,
            network: fields[2].to_owned(),
            address: fields[3].to_owned(),
            protocol: fields[4].to_owned(),
            server_certificate_der,
        })
    }
}

/// The provider binary under test: `HOMELAB_PROVIDER_BIN`, else the workspace's debug build.
///
/// # Panics
/// When the binary does not exist: build it first.
pub fn provider_binary() -> PathBuf {
    let binary = std::env::var_os("HOMELAB_PROVIDER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the acceptance-tests crate sits inside the workspace")
                .join("target/debug/terraform-provider-homelab")
        });
    assert!(
        binary.is_file(),
        "{} does not exist; build it first: cargo build -p terraform-provider-homelab",
        binary.display()
    );
    binary
}

/// A command for the provider binary with none of terraform's plugin variables inherited.
pub fn bare_command() -> Command {
    let mut command = Command::new(provider_binary());
    for variable in PLUGIN_VARIABLES {
        command.env_remove(variable);
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    command
}

/// Runs `command` to completion, capturing its output; gives up after `timeout`.
pub async fn run_to_exit(
    mut command: Command,
    timeout: Duration,
) -> Result<std::process::Output, PluginClientError> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().map_err(|source| PluginClientError::Spawn {
        binary: PathBuf::from(command.as_std().get_program()),
        source,
    })?;
    tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| PluginClientError::ExitTimeout(timeout))?
        .map_err(PluginClientError::Wait)
}

/// A running provider started as terraform starts it, with a gRPC channel to it.
///
/// Dropping it kills the process if it still runs, and removes its private `TMPDIR`.
pub struct PluginProcess {
    /// The process; killed on drop.
    child: Child,
    /// The parsed handshake line.
    pub handshake: Handshake,
    /// A channel connected with the identity given in `PLUGIN_CLIENT_CERT` (or plain text).
    pub channel: Channel,
    /// The identity passed in `PLUGIN_CLIENT_CERT`; `None` in plain-text mode.
    identity: Option<ClientIdentity>,
    /// The process's private `TMPDIR`, which also holds its stderr.
    temp_dir: tempfile::TempDir,
}

impl PluginProcess {
    /// Starts the provider under AutoMTLS with a fresh terraform-like client certificate.
    pub async fn start() -> Result<PluginProcess, PluginClientError> {
        PluginProcess::spawn(Some(ClientIdentity::generate()?), &[]).await
    }

    /// Starts the provider under AutoMTLS with extra environment variables.
    pub async fn start_with_env(env: &[(&str, &str)]) -> Result<PluginProcess, PluginClientError> {
        PluginProcess::spawn(Some(ClientIdentity::generate()?), env).await
    }

    /// Starts the provider without `PLUGIN_CLIENT_CERT`, so it serves plain text.
    pub async fn start_plain_text() -> Result<PluginProcess, PluginClientError> {
        PluginProcess::spawn(None, &[]).await
    }

    /// Spawns the binary, reads the handshake line and connects as terraform would.
    async fn spawn(
        identity: Option<ClientIdentity>,
        env: &[(&str, &str)],
    ) -> Result<PluginProcess, PluginClientError> {
        let temp_dir = tempfile::tempdir().map_err(PluginClientError::TempDir)?;
        let stderr_path = temp_dir.path().join("stderr.log");
        let stderr_file =
            std::fs::File::create(&stderr_path).map_err(PluginClientError::TempDir)?;

        let mut command = bare_command();
        command
            .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("TMPDIR", temp_dir.path())
            // Debug lines in the stderr file make failures explainable.
            .env("TF_LOG_PROVIDER", "debug")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr_file);
        if let Some(identity) = &identity {
            command.env("PLUGIN_CLIENT_CERT", identity.certificate_pem());
        }
        let mut child = command.spawn().map_err(|source| PluginClientError::Spawn {
            binary: provider_binary(),
            source,
        })?;

        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| PluginClientError::HandshakeTimeout(HANDSHAKE_TIMEOUT))?
            .map_err(PluginClientError::Stdout)?;
        let Some(line) = first else {
            // Give the process a moment to finish writing stderr before reading it.
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            return Err(PluginClientError::NoHandshake {
                stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
            });
        };
        // Anything printed later is read and dropped, as go-plugin does, so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let handshake = Handshake::parse(line.trim_end())?;
        let channel = connect(&handshake, identity.as_ref()).await?;
        Ok(PluginProcess {
            child,
            handshake,
            channel,
            identity,
            temp_dir,
        })
    }

    /// Opens a new channel presenting `identity` (or no certificate when `None`); the server's
    /// certificate is still pinned from the handshake line.
    pub async fn connect_as(
        &self,
        identity: Option<&ClientIdentity>,
    ) -> Result<Channel, PluginClientError> {
        connect(&self.handshake, identity).await
    }

    /// Opens a new channel with the identity terraform passed, as a second terraform client would.
    pub async fn reconnect(&self) -> Result<Channel, PluginClientError> {
        connect(&self.handshake, self.identity.as_ref()).await
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// The private `TMPDIR` the provider runs with.
    pub fn temp_dir(&self) -> &Path {
        self.temp_dir.path()
    }

    /// Everything the provider has written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.temp_dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait_for_exit(
        &mut self,
        timeout: Duration,
    ) -> Result<ExitStatus, PluginClientError> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .map_err(|_| PluginClientError::ExitTimeout(timeout))?
            .map_err(PluginClientError::Wait)
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        // Only this child: a start_kill on an exited process is a harmless error.
        let _ = self.child.start_kill();
    }
}

/// Asks the gRPC health service about `service` on `channel`.
pub async fn health_status(
    channel: Channel,
    service: &str,
) -> Result<ServingStatus, tonic::Status> {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}

/// A byte stream a channel can run on: TLS or plain, unix or TCP.
trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

/// Connects to the handshake's address, with TLS when the handshake carried a certificate.
///
/// Public so tools that spawn other plugin binaries themselves (the `bench_core` benchmark) can
/// connect exactly as terraform does.
pub async fn connect(
    handshake: &Handshake,
    identity: Option<&ClientIdentity>,
) -> Result<Channel, PluginClientError> {
    let tls = match &handshake.server_certificate_der {
        Some(der) => Some(client_config(CertificateDer::from(der.clone()), identity)?),
        None => None,
    };
    let network = handshake.network.clone();
    let address = handshake.address.clone();
    let connector = tower::service_fn(move |_: Uri| {
        let network = network.clone();
        let address = address.clone();
        let tls = tls.clone();
        async move {
            let stream: Box<dyn Connection> = match network.as_str() {
                "unix" => Box::new(tokio::net::UnixStream::connect(&address).await?),
                _ => Box::new(tokio::net::TcpStream::connect(&address).await?),
            };
            let stream: Box<dyn Connection> = match tls {
                None => stream,
                Some(config) => {
                    // go-plugin's client verifies the server as "localhost".
                    let name = ServerName::try_from("localhost").expect("valid name");
                    let connector = tokio_rustls::TlsConnector::from(config);
                    Box::new(connector.connect(name, stream).await?)
                }
            };
            Ok::<_, io::Error>(TokioIo::new(stream))
        }
    });
    // The URI only fills the :authority header; the connector decides where bytes go.
    Endpoint::from_static("http://localhost")
        .connect_timeout(CONNECT_TIMEOUT)
        .connect_with_connector(connector)
        .await
        .map_err(PluginClientError::Connect)
}

/// A rustls client trusting exactly `server`, presenting `identity` if any, with ALPN `h2`.
fn client_config(
    server: CertificateDer<'static>,
    identity: Option<&ClientIdentity>,
) -> Result<Arc<rustls::ClientConfig>, PluginClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedServerCertVerifier {
        pinned: server,
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(PluginClientError::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(
                vec![identity.certificate_der.clone()],
                identity.key_der.clone_key().into(),
            )
            .map_err(PluginClientError::Tls)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Trusts the one certificate from the handshake line; it is a self-signed CA certificate,
/// which webpki would refuse as an end entity, so the bytes are compared instead.
#[derive(Debug)]
struct PinnedServerCertVerifier {
    /// The server certificate's DER from the handshake line.
    pinned: CertificateDer<'static>,
    /// The algorithms handshake signatures are checked with.
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_line_parses() {
        let parsed = Handshake::parse("1|6|unix|/tmp/p/provider.sock|grpc|/wAQIA").unwrap();
        assert_eq!(parsed.core_version, 1);
        assert_eq!(parsed.protocol_version, 6);
        assert_eq!(parsed.network, "unix");
        assert_eq!(parsed.address, "/tmp/p/provider.sock");
        assert_eq!(parsed.protocol, "grpc");
        assert_eq!(
            parsed.server_certificate_der,
            Some(vec![0xff, 0x00, 0x10, 0x20])
        );
        let plain = Handshake::parse("1|6|tcp|127.0.0.1:10000|grpc|").unwrap();
        assert_eq!(plain.server_certificate_der, None);
        assert!(Handshake::parse("1|6|unix|/x|grpc").is_err());
        assert!(
            Handshake::parse("1|6|unix|/x|grpc|/wAQIA==").is_err(),
            "padding refused"
        );
    }

    #[test]
    fn client_identity_is_p521_pem() {
        let identity = ClientIdentity::generate().unwrap();
        assert!(
            identity
                .certificate_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(client_config(identity.certificate_der.clone(), Some(&identity)).is_ok());
    }
}
