//! AutoMTLS as go-plugin does it, and the accept loop that hands connections to the gRPC server.
//!
//! When terraform sets `PLUGIN_CLIENT_CERT`, the provider makes a fresh self-signed certificate,
//! prints it in the handshake line, and accepts only TLS clients that present exactly the
//! certificate terraform passed. Terraform's certificate is ECDSA P-521, self-signed and marked
//! as a CA, which webpki refuses as an end-entity certificate (`CaUsedAsEndEntity`); so instead of
//! building a chain the verifier compares DER bytes, and checks the handshake signature with
//! aws-lc-rs, whose algorithm list includes ECDSA P-521/SHA-512.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::handshake::PluginListener;
use crate::log;

/// How long a client may take to finish the TLS handshake before it is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to pause after a failed `accept`, so a full file table does not spin the loop.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How many accepted connections may wait for the gRPC server to pick them up.
const ACCEPTED_QUEUE: usize = 16;

/// Why AutoMTLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    /// `PLUGIN_CLIENT_CERT` holds no PEM certificate.
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCertificate,
    /// `PLUGIN_CLIENT_CERT` holds a malformed PEM block.
    #[error("PLUGIN_CLIENT_CERT is not valid PEM")]
    ClientCertificatePem(#[source] rustls::pki_types::pem::Error),
    /// The server certificate could not be generated.
    #[error("could not generate the server certificate")]
    GenerateCertificate(#[source] rcgen::Error),
    /// The system random source failed.
    #[error("could not draw random bytes for the certificate serial number")]
    Random,
    /// rustls refused the configuration.
    #[error("could not build the TLS configuration")]
    Config(#[source] rustls::Error),
}

/// The server's freshly generated certificate and private key.
pub(crate) struct ServerIdentity {
    /// The self-signed certificate, printed in the handshake line.
    pub(crate) certificate: CertificateDer<'static>,
    /// Its PKCS#8 private key.
    key: PrivateKeyDer<'static>,
}

/// The crypto provider used on both ends: aws-lc-rs, the one that can verify P-521 signatures.
fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads every certificate in `PLUGIN_CLIENT_CERT`; go-plugin puts them all in its pool.
pub(crate) fn parse_client_certificates(
    pem: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(TlsError::ClientCertificatePem)?;
    if certificates.is_empty() {
        return Err(TlsError::NoClientCertificate);
    }
    Ok(certificates)
}

/// Generates a server certificate shaped like go-plugin's `generateCert`.
///
/// Subject CN and SAN `localhost` (terraform's Go client verifies the name `localhost`), CA,
/// key usages digital signature, key encipherment and certificate signing, extended usages server
/// and client authentication, valid from 30 seconds ago for 30 years, a random 128-bit serial.
/// The key is ECDSA P-256 rather than go-plugin's P-521: every TLS stack verifies P-256.
pub(crate) fn generate_server_identity() -> Result<ServerIdentity, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose, SerialNumber,
    };

    let mut serial = [0u8; 16];
    crypto_provider()
        .secure_random
        .fill(&mut serial)
        .map_err(|_| TlsError::Random)?;
    // A clear top bit keeps the DER INTEGER positive without a padding byte.
    serial[0] &= 0x7f;

    let mut params = CertificateParams::new(vec!["localhost".to_owned()])
        .map_err(TlsError::GenerateCertificate)?;
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
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::seconds(30);
    params.not_after = now + time::Duration::hours(262_980);
    params.serial_number = Some(SerialNumber::from_slice(&serial));

    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(TlsError::GenerateCertificate)?;
    let certificate = params
        .self_signed(&key)
        .map_err(TlsError::GenerateCertificate)?;
    Ok(ServerIdentity {
        certificate: certificate.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    })
}

/// Builds the TLS server configuration: TLS 1.2 and 1.3, ALPN `h2`, and a client certificate
/// that must be one of `pinned_clients`.
pub(crate) fn server_config(
    identity: &ServerIdentity,
    pinned_clients: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = crypto_provider();
    let verifier = Arc::new(PinnedClientCertVerifier {
        pinned: pinned_clients,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.certificate.clone()], identity.key.clone_key())
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts a client only when its end-entity certificate is byte-for-byte one of the pinned ones.
#[derive(Debug)]
struct PinnedClientCertVerifier {
    /// The DER of each certificate from `PLUGIN_CLIENT_CERT`.
    pinned: Vec<CertificateDer<'static>>,
    /// The algorithms handshake signatures are checked with.
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: Go's client then sends its one certificate whatever its issuer.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Validity dates are not checked: the parent made this certificate seconds ago and
        // handed it over privately, so the pin alone identifies it.
        if self
            .pinned
            .iter()
            .any(|pinned| pinned.as_ref() == end_entity.as_ref())
        {
            Ok(ClientCertVerified::assertion())
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

/// A byte stream the gRPC server can run on.
trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

/// One accepted connection, TLS or plain, unix or TCP, in the shape tonic serves.
pub(crate) struct PluginIo(Box<dyn Connection>);

impl tonic::transport::server::Connected for PluginIo {
    // Handlers never ask who is connected: every accepted peer is the one terraform process.
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(context, buffer)
    }
}

impl AsyncWrite for PluginIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(context)
    }
}

/// The stream of ready connections that `serve_with_incoming_shutdown` consumes.
pub(crate) type Incoming = ReceiverStream<Result<PluginIo, io::Error>>;

/// Starts accepting on `listener` until `stop` is cancelled.
///
/// With `tls`, each handshake runs in its own task under a timeout, so a client that stalls or
/// presents the wrong certificate delays nobody else; failed handshakes are logged and dropped.
/// The returned stream only ever yields ready connections; the returned task ends, dropping the
/// listener and removing its socket directory, once `stop` is cancelled.
pub(crate) fn accept_connections(
    listener: PluginListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: CancellationToken,
) -> (Incoming, JoinHandle<()>) {
    let (sender, receiver) = mpsc::channel(ACCEPTED_QUEUE);
    let acceptor = tls.map(TlsAcceptor::from);
    let accept_task = tokio::spawn(async move {
        // The listener lives in this task, and with it the socket directory, until serving ends.
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = accept_one(&listener) => accepted,
            };
            let connection = match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    log::error("accepting a connection failed", &[("error", &error)]);
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            };
            match &acceptor {
                None => {
                    if sender.send(Ok(PluginIo(connection))).await.is_err() {
                        break;
                    }
                }
                Some(acceptor) => {
                    tokio::spawn(finish_tls_handshake(
                        acceptor.clone(),
                        connection,
                        sender.clone(),
                    ));
                }
            }
        }
        drop(listener);
    });
    (ReceiverStream::new(receiver), accept_task)
}

/// Accepts one raw connection from either kind of listener.
async fn accept_one(listener: &PluginListener) -> io::Result<Box<dyn Connection>> {
    match listener {
        PluginListener::Unix { listener, .. } => {
            let (stream, _) = listener.accept().await?;
            Ok(Box::new(stream))
        }
        PluginListener::Tcp { listener, .. } => {
            let (stream, _) = listener.accept().await?;
            // gRPC sends many small frames; Nagle's algorithm would delay them.
            stream.set_nodelay(true)?;
            Ok(Box::new(stream))
        }
    }
}

/// Runs one server-side TLS handshake and queues the connection when it succeeds.
async fn finish_tls_handshake(
    acceptor: TlsAcceptor,
    connection: Box<dyn Connection>,
    sender: mpsc::Sender<Result<PluginIo, io::Error>>,
) {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(connection)).await {
        Ok(Ok(stream)) => {
            // A closed channel means serving has ended; the connection just closes.
            let _ = sender.send(Ok(PluginIo(Box::new(stream)))).await;
        }
        Ok(Err(error)) => {
            log::warn(
                "refused a connection: TLS handshake failed",
                &[("error", &error)],
            );
        }
        Err(_) => {
            log::warn(
                "refused a connection: TLS handshake timed out",
                &[("timeout_seconds", &TLS_HANDSHAKE_TIMEOUT.as_secs())],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_certificate_pem() -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn client_pem_parses_into_der() {
        let pem = client_certificate_pem();
        let certificates = parse_client_certificates(&pem).unwrap();
        assert_eq!(certificates.len(), 1);
        assert!(matches!(
            parse_client_certificates("not pem"),
            Err(TlsError::NoClientCertificate)
        ));
    }

    #[test]
    fn server_identity_builds_a_config() {
        let identity = generate_server_identity().unwrap();
        let pinned = parse_client_certificates(&client_certificate_pem()).unwrap();
        let config = server_config(&identity, pinned).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }

    #[test]
    fn verifier_accepts_only_the_pinned_certificate_and_offers_p521() {
        let pinned = parse_client_certificates(&client_certificate_pem()).unwrap();
        let other = parse_client_certificates(&client_certificate_pem()).unwrap();
        let verifier = PinnedClientCertVerifier {
            pinned: pinned.clone(),
            algorithms: crypto_provider().signature_verification_algorithms,
        };
        let now = UnixTime::now();
        assert!(verifier.verify_client_cert(&pinned[0], &[], now).is_ok());
        assert!(verifier.verify_client_cert(&other[0], &[], now).is_err());
        assert!(verifier.client_auth_mandatory());
        assert!(
            verifier
                .supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }
}
