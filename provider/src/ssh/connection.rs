//! One authenticated SSH connection on russh: connect with a verified host key, authenticate,
//! and run commands on channels with stdin, exit status, timeouts and cancellation.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::Preferred;
use russh::client::{self, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::{
    Algorithm, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate,
};

use super::error::SshError;
use super::host_key::{HostKeyError, HostKeyPolicy, fingerprint};
use super::target::{Target, format_duration, home_dir};

/// How often an idle connection is probed, so a dead host is noticed and reconnected.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// An authenticated connection, shared by every channel to one (host, port, user).
pub(crate) struct Connection {
    pub(super) handle: Handle<ClientHandler>,
    /// The host key the server proved it holds.
    pub(crate) server_key: PublicKey,
    /// The policy that accepted `server_key`.
    pub(crate) accepted_by: HostKeyPolicy,
    pub(super) target_name: String,
}

/// russh's callbacks: checks the host key against the policy.
pub(super) struct ClientHandler {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    accepted_key: Arc<Mutex<Option<PublicKey>>>,
}

/// Why the handshake stopped: russh's own error, or our verdict on the host key.
#[derive(Debug)]
pub(super) enum HandlerError {
    Ssh(russh::Error),
    HostKey(Box<HostKeyError>),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> HandlerError {
        HandlerError::Ssh(e)
    }
}

impl client::Handler for ClientHandler {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, HandlerError> {
        let key = server_public_key.public_key();
        self.policy
            .verify(&self.host, self.port, &key)
            .map_err(HandlerError::HostKey)?;
        *self.accepted_key.lock().expect("host key slot poisoned") = Some(key);
        Ok(true)
    }
}

/// Opens and authenticates a connection within the target's `connect_timeout`.
pub(crate) async fn connect(target: Target) -> Result<Connection, SshError> {
    let timeout = target.connect_timeout;
    match tokio::time::timeout(timeout, connect_unbounded(&target)).await {
        Ok(result) => result,
        Err(_) => Err(SshError::ConnectTimeout {
            target: target.display(),
            timeout: format_duration(timeout),
        }),
    }
}

async fn connect_unbounded(target: &Target) -> Result<Connection, SshError> {
    let name = target.display();
    let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| SshError::Connect {
            target: name.clone(),
            source: Arc::new(e),
        })?;
    let _ = stream.set_nodelay(true);
    let accepted_key = Arc::new(Mutex::new(None));
    let handler = ClientHandler {
        host: target.host.clone(),
        port: target.port,
        policy: target.host_key.clone(),
        accepted_key: accepted_key.clone(),
    };
    let config = Arc::new(client::Config {
        preferred: preferred_algorithms(target),
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: 3,
        nodelay: true,
        ..client::Config::default()
    });
    let mut handle = client::connect_stream(config, stream, handler)
        .await
        .map_err(|e| match e {
            HandlerError::HostKey(e) => SshError::from(e),
            HandlerError::Ssh(e) => SshError::Handshake {
                target: name.clone(),
                source: Arc::new(e),
            },
        })?;
    let server_key = accepted_key
        .lock()
        .expect("host key slot poisoned")
        .take()
        .ok_or_else(|| SshError::Handshake {
            target: name.clone(),
            source: Arc::new(russh::Error::UnknownKey),
        })?;
    authenticate(&mut handle, target).await?;
    crate::log::debug(
        "ssh connected",
        &[("target", &name), ("host_key", &fingerprint(&server_key))],
    );
    Ok(Connection {
        handle,
        server_key,
        accepted_by: target.host_key.clone(),
        target_name: name,
    })
}

/// russh's defaults, with the host key algorithms we already trust for this host first.
fn preferred_algorithms(target: &Target) -> Preferred {
    let known = target.host_key.known_algorithms(&target.host, target.port);
    let mut preferred = Preferred::default();
    if known.is_empty() {
        return preferred;
    }
    let is_rsa = |a: &Algorithm| matches!(a, Algorithm::Rsa { .. });
    let (mut order, rest): (Vec<Algorithm>, Vec<Algorithm>) = preferred
        .key
        .iter()
        .cloned()
        .partition(|a| known.iter().any(|k| k == a || (is_rsa(k) && is_rsa(a))));
    order.extend(rest);
    preferred.key = Cow::Owned(order);
    preferred
}

/// Offers the configured key, then the agent's keys, then the default identity files.
async fn authenticate(handle: &mut Handle<ClientHandler>, target: &Target) -> Result<(), SshError> {
    let name = target.display();
    let channel_error = |e: russh::Error| SshError::Handshake {
        target: name.clone(),
        source: Arc::new(e),
    };
    let mut tried: Vec<String> = Vec::new();
    if let Some((what, key)) = configured_key(target)?
        && offer_key(handle, target, key, &what, &mut tried)
            .await
            .map_err(channel_error)?
    {
        return Ok(());
    }
    {
        match &target.auth.agent_socket {
            Some(socket) => match AgentClient::connect_uds(socket).await {
                Ok(mut agent) => {
                    let identities = agent.request_identities().await.unwrap_or_default();
                    if identities.is_empty() {
                        tried.push("the agent (it holds no keys)".into());
                    }
                    for identity in identities {
                        let key = identity.public_key().into_owned();
                        let hash = rsa_hash(handle, &key.algorithm()).await?;
                        let print = fingerprint(&key);
                        match handle
                            .authenticate_publickey_with(&target.user, key, hash, &mut agent)
                            .await
                        {
                            Ok(result) if result.success() => return Ok(()),
                            Ok(_) => tried.push(format!("agent key {print} (refused)")),
                            Err(e) => tried.push(format!("agent key {print} ({e})")),
                        }
                    }
                }
                Err(e) => tried.push(format!(
                    "the agent at {} (unreachable: {e})",
                    socket.display()
                )),
            },
            None => tried.push("no agent (SSH_AUTH_SOCK is not set, or agent = false)".into()),
        }
    }
    if !target.auth.has_explicit_key()
        && let Some(home) = home_dir()
    {
        for file in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let path = home.join(".ssh").join(file);
            if !path.is_file() {
                continue;
            }
            let what = path.display().to_string();
            match load_key_file(&path, target) {
                Ok(key) => {
                    if offer_key(handle, target, key, &what, &mut tried)
                        .await
                        .map_err(channel_error)?
                    {
                        return Ok(());
                    }
                }
                Err(e) => tried.push(format!("{what} ({e})")),
            }
        }
    }
    if tried.is_empty() {
        tried.push(
            "nothing: set private_key, private_key_path, or run an agent (SSH_AUTH_SOCK)".into(),
        );
    }
    Err(SshError::Authentication {
        target: name,
        tried: tried.join(", "),
    })
}

/// The key from `private_key` or `private_key_path`, if one is configured.
fn configured_key(target: &Target) -> Result<Option<(String, PrivateKey)>, SshError> {
    let passphrase = target.auth.passphrase.as_ref().map(|p| p.expose());
    if let Some(text) = &target.auth.private_key {
        let key = russh::keys::decode_secret_key(text.expose(), passphrase)
            .map_err(|e| key_error("private_key", e))?;
        return Ok(Some(("private_key".into(), key)));
    }
    if let Some(path) = &target.auth.private_key_path {
        let key = load_key_file(path, target)?;
        return Ok(Some((path.display().to_string(), key)));
    }
    Ok(None)
}

fn load_key_file(path: &std::path::Path, target: &Target) -> Result<PrivateKey, SshError> {
    let passphrase = target.auth.passphrase.as_ref().map(|p| p.expose());
    let what = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SshError::PrivateKey {
        what: what.clone(),
        reason: e.to_string(),
    })?;
    russh::keys::decode_secret_key(&text, passphrase).map_err(|e| key_error(&what, e))
}

fn key_error(what: &str, e: russh::keys::Error) -> SshError {
    let reason = match e {
        russh::keys::Error::KeyIsEncrypted => format!(
            "the key is encrypted; put its passphrase in {}",
            super::target::ENV_KEY_PASSPHRASE
        ),
        other => other.to_string(),
    };
    SshError::PrivateKey {
        what: what.to_owned(),
        reason,
    }
}

async fn rsa_hash(
    handle: &Handle<ClientHandler>,
    algorithm: &Algorithm,
) -> Result<Option<russh::keys::HashAlg>, SshError> {
    if !matches!(algorithm, Algorithm::Rsa { .. }) {
        return Ok(None);
    }
    // Waits up to a second for the server's signature algorithms; only RSA keys need them.
    Ok(handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten())
}

async fn offer_key(
    handle: &mut Handle<ClientHandler>,
    target: &Target,
    key: PrivateKey,
    what: &str,
    tried: &mut Vec<String>,
) -> Result<bool, russh::Error> {
    let print = fingerprint(key.public_key());
    let hash = rsa_hash(handle, &key.algorithm()).await.ok().flatten();
    let result = handle
        .authenticate_publickey(
            &target.user,
            PrivateKeyWithHashAlg::new(Arc::new(key), hash),
        )
        .await?;
    if !result.success() {
        tried.push(format!("{what} ({print}, refused)"));
    }
    Ok(result.success())
}

impl Connection {
    /// Whether the connection is gone (server closed it, keepalives failed, network dropped).
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    pub(super) fn channel_error(&self, e: russh::Error) -> SshError {
        SshError::Channel {
            target: self.target_name.clone(),
            source: Arc::new(e),
        }
    }

    /// The error for a channel that could not be opened.
    pub(crate) fn open_error(&self, e: russh::Error) -> SshError {
        self.channel_error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::target::Secret;

    /// `ssh-keygen -t ed25519 -N 'correct horse'`: an encrypted key (a test key, nothing else).
    const ENCRYPTED_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABCm62w0he
7JYJYwdm32BnxMAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIJInkMa6vR9zDSeI
54De2s0pJDdtxEaiAA1ryAGgqVT/AAAAkB0HNQvlklCgaXjIsTyENM5MM1xbPesFGGK9kv
wYIJmt4FdI+TyVn9oMg1+2rZ6v7sb8Tg3gX4A0pNxo8KZ1CuiRjUpAVUxrfh9KVY8sluF1
TofOya3GLn1hehNtf5E2F2lYbUIlVPrDkOrgBP0eY2zdcfJON0NlCwzNYWTovfxtRhDqbt
znT8bvXzVOs/b4TA==
-----END OPENSSH PRIVATE KEY-----
";

    #[test]
    fn an_encrypted_key_needs_its_passphrase_and_the_error_says_where_to_put_it() {
        let mut target = Target::new("10.4.0.10");
        target.auth.private_key = Some(Secret::new(ENCRYPTED_KEY));
        let error = configured_key(&target).expect_err("no passphrase");
        let message = error.to_string();
        assert!(message.contains("HOMELAB_SSH_KEY_PASSPHRASE"), "{message}");
        assert!(
            !message.contains("b3BlbnNzaC1rZXkt"),
            "the key leaked: {message}"
        );

        target.auth.passphrase = Some(Secret::new("correct horse"));
        let (what, key) = configured_key(&target).unwrap().expect("a key");
        assert_eq!(what, "private_key");
        assert_eq!(
            fingerprint(key.public_key()),
            PublicKey::from_openssh(
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJInkMa6vR9zDSeI54De2s0pJDdtxEaiAA1ryAGgqVT/"
            )
            .map(|k| fingerprint(&k))
            .unwrap()
        );
        target.auth.passphrase = Some(Secret::new("wrong"));
        assert!(configured_key(&target).is_err());
    }

    #[test]
    fn host_key_algorithms_we_can_check_are_asked_for_first() {
        let mut target = Target::new("10.4.0.10");
        // An ECDSA pin: russh would otherwise ask for Ed25519 first, and a host with both
        // keys would offer the one the pin cannot check.
        target.host_key = HostKeyPolicy::Pinned(vec![
            PublicKey::from_openssh(
                "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKOjgnjXY\
                 RMRGreJvLFtXacksDEV6Q269yJ5wm1zRWbt+Gu6sZH0Ke2eiZtgQR1ZMaZtiL0wMYawJHLTWbqLRKk=",
            )
            .unwrap(),
        ]);
        let order = preferred_algorithms(&target).key;
        assert!(
            matches!(order[0], Algorithm::Ecdsa { .. }),
            "{:?}",
            order.first()
        );
        assert!(order.contains(&Algorithm::Ed25519), "the rest stay offered");
        target.host_key = HostKeyPolicy::InsecureIgnore;
        assert_eq!(
            preferred_algorithms(&target).key,
            Preferred::default().key,
            "nothing known: russh's own order"
        );
    }
}
