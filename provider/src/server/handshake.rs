//! The go-plugin handshake: magic cookie, protocol negotiation, the listener and the line on stdout.
//!
//! Terraform starts the provider with a magic cookie and the protocol versions it speaks in the
//! environment, then reads one line from the provider's stdout,
//! `CORE|PROTOCOL|NETWORK|ADDRESS|grpc|SERVER-CERT`, and connects to that address. Everything here
//! mirrors hashicorp/go-plugin's `server.go`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tokio::net::{TcpListener, UnixListener};

/// The environment variable terraform sets so a plugin knows it was started by terraform.
pub(crate) const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";

/// The value terraform and OpenTofu put in [`MAGIC_COOKIE_KEY`].
pub(crate) const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// go-plugin's own protocol version, the first field of the handshake line.
const CORE_PROTOCOL_VERSION: u32 = 1;

/// The only Terraform plugin protocol this provider speaks.
pub(crate) const PLUGIN_PROTOCOL_VERSION: u32 = 6;

/// Set to `1` to listen on TCP 127.0.0.1 instead of a unix socket.
///
/// go-plugin uses TCP only on Windows, where it picks a port between `PLUGIN_MIN_PORT` and
/// `PLUGIN_MAX_PORT`; this provider always listens on a unix socket unless this variable asks for
/// TCP, which is useful to test that path or to run under a client that cannot reach sockets.
pub(crate) const TCP_OPT_IN_VARIABLE: &str = "HOMELAB_PLUGIN_TCP";

/// Printed on stderr when someone runs the binary by hand.
pub(crate) const NOT_STARTED_BY_TERRAFORM: &str = "\
This is terraform-provider-homelab, a Terraform/OpenTofu provider plugin.
It is not meant to be run by hand: terraform or tofu starts it when a configuration uses it.

To use it, declare it in your configuration:

    terraform {
      required_providers {
        homelab = { source = \"homelab/homelab\" }
      }
    }

and install it from a registry or a filesystem mirror, or point terraform at a local build with
a dev_overrides block in your CLI configuration file (~/.terraformrc, ~/.tofurc or the file in
TF_CLI_CONFIG_FILE):

    provider_installation {
      dev_overrides { \"homelab/homelab\" = \"/directory/containing/this/binary\" }
      direct {}
    }

To debug it, run it yourself with --debug: it serves until Ctrl-C and prints the
TF_REATTACH_PROVIDERS value to export in the shell where you run terraform or tofu.
";

/// Why the provider refuses to start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    /// Terraform did not offer protocol 6.
    #[error(
        "only Terraform plugin protocol 6 is supported, but the client offered {offered} \
         (PLUGIN_PROTOCOL_VERSIONS); use Terraform 1.0 or later, or OpenTofu"
    )]
    UnsupportedProtocol {
        /// The value of `PLUGIN_PROTOCOL_VERSIONS`.
        offered: String,
    },
    /// `PLUGIN_MIN_PORT` or `PLUGIN_MAX_PORT` is not a port number.
    #[error("{variable} is not a port number: {value:?}")]
    InvalidPort {
        /// The variable's name.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// `PLUGIN_MIN_PORT` is above `PLUGIN_MAX_PORT`.
    #[error("PLUGIN_MIN_PORT ({min}) is greater than PLUGIN_MAX_PORT ({max})")]
    PortRangeReversed {
        /// The lowest port.
        min: u16,
        /// The highest port.
        max: u16,
    },
    /// No port in the range could be bound.
    #[error("could not bind a TCP port on 127.0.0.1 between {min} and {max}")]
    NoFreePort {
        /// The lowest port tried.
        min: u16,
        /// The highest port tried.
        max: u16,
    },
    /// The private socket directory could not be created.
    #[error("could not create a private socket directory under {parent}")]
    SocketDirectory {
        /// The directory it was created in.
        parent: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The unix socket could not be bound.
    #[error("could not listen on unix socket {path}")]
    BindUnix {
        /// The socket's path.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The listener's address could not be read back.
    #[error("could not read the listener's address")]
    LocalAddress(#[source] std::io::Error),
}

/// Whether `cookie` (the value of [`MAGIC_COOKIE_KEY`]) shows terraform started the process.
pub(crate) fn started_by_terraform(cookie: Option<&str>) -> bool {
    cookie == Some(MAGIC_COOKIE_VALUE)
}

/// Picks the protocol from `PLUGIN_PROTOCOL_VERSIONS` (a comma list such as `5,6`).
///
/// An absent or empty list means a legacy client; go-plugin then falls back to the plugin's own
/// version, so this returns 6 and lets the client decide. Entries that are not numbers are
/// skipped, as go-plugin does.
pub(crate) fn negotiate_protocol(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(list) = offered.filter(|list| !list.trim().is_empty()) else {
        return Ok(PLUGIN_PROTOCOL_VERSION);
    };
    let speaks_ours = list
        .split(',')
        .filter_map(|entry| entry.trim().parse::<u32>().ok())
        .any(|version| version == PLUGIN_PROTOCOL_VERSION);
    if speaks_ours {
        Ok(PLUGIN_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::UnsupportedProtocol {
            offered: list.to_owned(),
        })
    }
}

/// A bound listener and what the handshake line says about it.
pub(crate) enum PluginListener {
    /// A unix socket inside a private directory that is removed when this value drops.
    Unix {
        /// The listening socket.
        listener: UnixListener,
        /// The socket's path, printed in the handshake line.
        path: PathBuf,
        /// The private directory holding the socket, held so that dropping the listener removes it.
        _directory: tempfile::TempDir,
    },
    /// A TCP socket on 127.0.0.1.
    Tcp {
        /// The listening socket.
        listener: TcpListener,
        /// The bound address, printed in the handshake line.
        address: SocketAddr,
    },
}

impl PluginListener {
    /// The network name go-plugin uses: `unix` or `tcp`.
    pub(crate) fn network(&self) -> &'static str {
        match self {
            PluginListener::Unix { .. } => "unix",
            PluginListener::Tcp { .. } => "tcp",
        }
    }

    /// The address clients connect to: the socket path or `127.0.0.1:PORT`.
    pub(crate) fn address(&self) -> String {
        match self {
            PluginListener::Unix { path, .. } => path.display().to_string(),
            PluginListener::Tcp { address, .. } => address.to_string(),
        }
    }
}

/// Binds the listener the environment asks for: TCP when [`TCP_OPT_IN_VARIABLE`] is `1`, else a
/// unix socket.
pub(crate) async fn bind_from_env() -> Result<PluginListener, HandshakeError> {
    if std::env::var(TCP_OPT_IN_VARIABLE).is_ok_and(|value| value.trim() == "1") {
        let min = port_from_env("PLUGIN_MIN_PORT")?;
        let max = port_from_env("PLUGIN_MAX_PORT")?;
        bind_tcp(min, max).await
    } else {
        bind_unix(&socket_parent_directory())
    }
}

/// Where the private socket directory goes: go-plugin's `PLUGIN_UNIX_SOCKET_DIR`, else the
/// system temporary directory (`TMPDIR`, else `/tmp`).
fn socket_parent_directory() -> PathBuf {
    match std::env::var_os("PLUGIN_UNIX_SOCKET_DIR") {
        Some(directory) if !directory.is_empty() => PathBuf::from(directory),
        _ => std::env::temp_dir(),
    }
}

/// Creates `PARENT/pluginXXXXXX/` (mode 0700, so only this user can reach the socket) and
/// listens on `provider.sock` inside it.
///
/// go-plugin listens on a bare `pluginXXXX` temporary name; a private directory additionally
/// keeps other local users from connecting before TLS is in place, and in plain-text
/// (`--debug`) mode at all.
pub(crate) fn bind_unix(parent: &Path) -> Result<PluginListener, HandshakeError> {
    let directory = tempfile::Builder::new()
        .prefix("plugin")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
        .map_err(|source| HandshakeError::SocketDirectory {
            parent: parent.to_owned(),
            source,
        })?;
    let path = directory.path().join("provider.sock");
    let listener = UnixListener::bind(&path).map_err(|source| HandshakeError::BindUnix {
        path: path.clone(),
        source,
    })?;
    Ok(PluginListener::Unix {
        listener,
        path,
        _directory: directory,
    })
}

/// Binds the first free port on 127.0.0.1 in `min..=max`, as go-plugin does.
async fn bind_tcp(min: u16, max: u16) -> Result<PluginListener, HandshakeError> {
    if min > max {
        return Err(HandshakeError::PortRangeReversed { min, max });
    }
    for port in min..=max {
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            let address = listener
                .local_addr()
                .map_err(HandshakeError::LocalAddress)?;
            return Ok(PluginListener::Tcp { listener, address });
        }
    }
    Err(HandshakeError::NoFreePort { min, max })
}

/// Reads a port variable; unset or empty means 0, as in go-plugin.
fn port_from_env(variable: &'static str) -> Result<u16, HandshakeError> {
    let value = std::env::var(variable).unwrap_or_default();
    if value.trim().is_empty() {
        return Ok(0);
    }
    value
        .trim()
        .parse()
        .map_err(|_| HandshakeError::InvalidPort { variable, value })
}

/// The line a plugin prints on stdout once it listens.
pub(crate) struct HandshakeLine<'a> {
    /// `unix` or `tcp`.
    pub(crate) network: &'a str,
    /// The socket path or `127.0.0.1:PORT`.
    pub(crate) address: &'a str,
    /// The DER of the server certificate under AutoMTLS; `None` for plain text.
    pub(crate) server_certificate_der: Option<&'a [u8]>,
}

impl fmt::Display for HandshakeLine<'_> {
    /// Writes `1|6|NETWORK|ADDRESS|grpc|CERT`, where CERT is the certificate's DER in standard
    /// base64 without padding (the protocol is line-based, so not PEM), or empty for plain text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let certificate = self
            .server_certificate_der
            .map(|der| STANDARD_NO_PAD.encode(der))
            .unwrap_or_default();
        write!(
            f,
            "{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|{}|{}|grpc|{certificate}",
            self.network, self.address
        )
    }
}

/// The `TF_REATTACH_PROVIDERS` JSON that points terraform at a provider serving in debug mode.
pub(crate) fn reattach_providers_json(
    provider_address: &str,
    pid: u32,
    network: &str,
    address: &str,
) -> String {
    let mut providers = serde_json::Map::new();
    providers.insert(
        provider_address.to_owned(),
        serde_json::json!({
            "Protocol": "grpc",
            "ProtocolVersion": PLUGIN_PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": network, "String": address },
        }),
    );
    serde_json::Value::Object(providers).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_match_exactly() {
        assert!(started_by_terraform(Some(MAGIC_COOKIE_VALUE)));
        assert!(!started_by_terraform(None));
        assert!(!started_by_terraform(Some("")));
        assert!(!started_by_terraform(Some(&MAGIC_COOKIE_VALUE[1..])));
    }

    #[test]
    fn protocol_six_is_chosen_when_offered() {
        assert_eq!(negotiate_protocol(Some("5,6")).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some("6")).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some(" 6 , 7")).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some("x,6")).unwrap(), 6);
    }

    #[test]
    fn legacy_clients_without_a_list_get_six() {
        assert_eq!(negotiate_protocol(None).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some("")).unwrap(), 6);
    }

    #[test]
    fn protocol_five_only_is_refused_with_the_offer_in_the_message() {
        let error = negotiate_protocol(Some("5")).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("protocol 6"), "{message}");
        assert!(message.contains("offered 5"), "{message}");
        assert!(negotiate_protocol(Some("4,5")).is_err());
    }

    #[test]
    fn handshake_line_with_and_without_certificate() {
        let line = HandshakeLine {
            network: "unix",
            address: "/tmp/plugin1/provider.sock",
            server_certificate_der: Some(&[0xff, 0x00, 0x10, 0x20]),
        };
        // No padding: four bytes would end in "==" with it.
        assert_eq!(
            line.to_string(),
            "1|6|unix|/tmp/plugin1/provider.sock|grpc|/wAQIA"
        );
        let plain = HandshakeLine {
            network: "tcp",
            address: "127.0.0.1:10000",
            server_certificate_der: None,
        };
        assert_eq!(plain.to_string(), "1|6|tcp|127.0.0.1:10000|grpc|");
    }

    #[test]
    fn reattach_json_has_terraforms_shape() {
        let json = reattach_providers_json(
            "registry.terraform.io/homelab/homelab",
            42,
            "unix",
            "/tmp/x/provider.sock",
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        let entry = &parsed["registry.terraform.io/homelab/homelab"];
        assert_eq!(entry["Protocol"], "grpc");
        assert_eq!(entry["ProtocolVersion"], 6);
        assert_eq!(entry["Pid"], 42);
        assert_eq!(entry["Test"], true);
        assert_eq!(entry["Addr"]["Network"], "unix");
        assert_eq!(entry["Addr"]["String"], "/tmp/x/provider.sock");
    }

    #[tokio::test]
    async fn unix_socket_lives_in_a_private_directory_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let listener = bind_unix(parent.path()).unwrap();
        let address = listener.address();
        let directory = Path::new(&address).parent().unwrap().to_owned();
        assert!(directory.starts_with(parent.path()));
        let name = directory
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("plugin"), "{name}");
        let mode = std::fs::metadata(&directory).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(Path::new(&listener.address()).exists());
        drop(listener);
        assert!(!directory.exists());
    }

    #[tokio::test]
    async fn tcp_binds_inside_the_range() {
        let listener = bind_tcp(0, 0).await.unwrap();
        assert_eq!(listener.network(), "tcp");
        assert!(listener.address().starts_with("127.0.0.1:"));
        assert!(matches!(
            bind_tcp(2, 1).await,
            Err(HandshakeError::PortRangeReversed { .. })
        ));
    }
}
