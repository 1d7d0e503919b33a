//! Proves the provider binary does go-plugin's handshake and AutoMTLS the way terraform expects.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use acceptance_tests::plugin_client::{
    ClientIdentity, PluginProcess, bare_command, health_status, provider_binary, run_to_exit,
};
use tfplugin_proto::plugin::Empty;
use tfplugin_proto::plugin::grpc_controller_client::GrpcControllerClient;
use tokio::io::AsyncBufReadExt as _;
use tonic_health::pb::health_check_response::ServingStatus;
use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

/// A bound on every single RPC, so a hung server fails the test instead of hanging it.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the health service about `plugin`, bounded by [`RPC_TIMEOUT`].
async fn plugin_health(channel: tonic::transport::Channel) -> Result<ServingStatus, String> {
    match tokio::time::timeout(RPC_TIMEOUT, health_status(channel, "plugin")).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(status)) => Err(status.to_string()),
        Err(_) => Err("health check timed out".to_owned()),
    }
}

/// Asserts that a client presenting `identity` gets no answer: TLS or the first RPC fails.
async fn assert_refused(process: &PluginProcess, identity: Option<&ClientIdentity>) {
    // Under TLS 1.3 the client finishes its half of the handshake before the server checks the
    // certificate, so the refusal may only show on the first call.
    if let Ok(channel) = process.connect_as(identity).await {
        let answer = plugin_health(channel).await;
        assert!(answer.is_err(), "the server answered {answer:?}");
    }
}

/// Waits until the provider's stderr contains `needle`, for up to two seconds.
async fn wait_for_stderr(process: &PluginProcess, needle: &str) -> bool {
    for _ in 0..20 {
        if process.stderr().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn handshake_line_names_a_unix_socket_and_a_localhost_certificate() {
    let process = PluginProcess::start().await.expect("provider starts");
    let handshake = &process.handshake;
    assert_eq!(handshake.line.split('|').count(), 6, "{}", handshake.line);
    assert_eq!(handshake.core_version, 1);
    assert_eq!(handshake.protocol_version, 6);
    assert_eq!(handshake.network, "unix");
    assert_eq!(handshake.protocol, "grpc");
    assert!(
        Path::new(&handshake.address).starts_with(process.temp_dir()),
        "the socket {} is under the private TMPDIR {}",
        handshake.address,
        process.temp_dir().display()
    );

    let der = handshake
        .server_certificate_der
        .as_deref()
        .expect("a certificate under AutoMTLS");
    let (rest, certificate) = X509Certificate::from_der(der).expect("the certificate is X.509");
    assert!(rest.is_empty(), "nothing after the certificate");
    let names = certificate
        .subject_alternative_name()
        .expect("well-formed extensions")
        .expect("a subjectAltName");
    assert!(
        names
            .value
            .general_names
            .iter()
            .any(|name| matches!(name, GeneralName::DNSName("localhost"))),
        "SAN localhost in {:?}",
        names.value.general_names
    );
    assert!(
        certificate.is_ca(),
        "go-plugin's server certificate is a CA"
    );
}

#[tokio::test]
async fn health_check_answers_serving_with_terraforms_certificate() {
    let process = PluginProcess::start().await.expect("provider starts");
    let status = plugin_health(process.channel.clone()).await;
    assert_eq!(status, Ok(ServingStatus::Serving), "{}", process.stderr());
}

#[tokio::test]
async fn another_p521_certificate_is_refused_and_the_right_one_is_still_served() {
    let process = PluginProcess::start().await.expect("provider starts");
    let stranger = ClientIdentity::generate().expect("a second P-521 identity");
    assert_refused(&process, Some(&stranger)).await;
    assert!(
        wait_for_stderr(&process, "refused a connection").await,
        "the refusal is logged; stderr:\n{}",
        process.stderr()
    );

    let channel = process
        .reconnect()
        .await
        .expect("the right client connects");
    assert_eq!(plugin_health(channel).await, Ok(ServingStatus::Serving));
    assert_eq!(
        plugin_health(process.channel.clone()).await,
        Ok(ServingStatus::Serving),
        "the first connection is unaffected"
    );
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let process = PluginProcess::start().await.expect("provider starts");
    assert_refused(&process, None).await;
    let channel = process
        .reconnect()
        .await
        .expect("the right client connects");
    assert_eq!(plugin_health(channel).await, Ok(ServingStatus::Serving));
}

#[tokio::test]
async fn a_stalled_client_does_not_block_others() {
    let process = PluginProcess::start().await.expect("provider starts");
    // A connection that never sends a ClientHello keeps its handshake task waiting.
    let _stalled = tokio::net::UnixStream::connect(&process.handshake.address)
        .await
        .expect("raw connection");
    let channel = process
        .reconnect()
        .await
        .expect("the right client connects");
    assert_eq!(plugin_health(channel).await, Ok(ServingStatus::Serving));
}

#[tokio::test]
async fn plain_text_without_client_certificate() {
    let process = PluginProcess::start_plain_text()
        .await
        .expect("provider starts");
    assert!(
        process.handshake.line.ends_with("|grpc|"),
        "{}",
        process.handshake.line
    );
    assert_eq!(process.handshake.server_certificate_der, None);
    assert_eq!(
        plugin_health(process.channel.clone()).await,
        Ok(ServingStatus::Serving)
    );
}

#[tokio::test]
async fn tcp_when_asked_within_the_port_range() {
    let process = PluginProcess::start_with_env(&[("HOMELAB_PLUGIN_TCP", "1")])
        .await
        .expect("provider starts");
    assert_eq!(process.handshake.network, "tcp");
    let port: u16 = process
        .handshake
        .address
        .strip_prefix("127.0.0.1:")
        .expect("loopback address")
        .parse()
        .expect("a port");
    assert!((10000..=25000).contains(&port), "{port}");
    assert_eq!(
        plugin_health(process.channel.clone()).await,
        Ok(ServingStatus::Serving)
    );
}

#[tokio::test]
async fn run_by_hand_without_the_cookie_explains_and_exits_1() {
    let output = run_to_exit(bare_command(), Duration::from_secs(10))
        .await
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Terraform/OpenTofu provider plugin"),
        "{stderr}"
    );
    assert!(stderr.contains("required_providers"), "{stderr}");
    assert!(stderr.contains("dev_overrides"), "{stderr}");
    assert!(stderr.contains("--debug"), "{stderr}");
    assert!(output.stdout.is_empty(), "no handshake line");
}

#[tokio::test]
async fn protocol_five_only_is_refused() {
    let mut command = bare_command();
    command
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            acceptance_tests::plugin_client::MAGIC_COOKIE_VALUE,
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5");
    let output = run_to_exit(command, Duration::from_secs(10))
        .await
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("protocol 6"), "{stderr}");
    assert!(stderr.contains("offered 5"), "{stderr}");
    assert!(output.stdout.is_empty(), "no handshake line");
}

#[tokio::test]
async fn controller_shutdown_exits_0_and_removes_the_socket_directory() {
    let mut process = PluginProcess::start().await.expect("provider starts");
    let socket_directory = Path::new(&process.handshake.address)
        .parent()
        .expect("socket in a directory")
        .to_owned();
    assert!(socket_directory.is_dir());

    let reply = tokio::time::timeout(
        RPC_TIMEOUT,
        GrpcControllerClient::new(process.channel.clone()).shutdown(Empty {}),
    )
    .await
    .expect("Shutdown answers in time");
    assert!(reply.is_ok(), "Shutdown replies before stopping: {reply:?}");

    let status = process
        .wait_for_exit(Duration::from_secs(5))
        .await
        .expect("the process exits within 5 seconds");
    assert!(status.success(), "{status}; stderr:\n{}", process.stderr());
    assert!(
        !socket_directory.exists(),
        "{} is removed",
        socket_directory.display()
    );
}

#[tokio::test]
async fn sigint_is_ignored() {
    let mut process = PluginProcess::start().await.expect("provider starts");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &process.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    assert!(
        wait_for_stderr(&process, "ignoring SIGINT").await,
        "the signal arrived and was logged; stderr:\n{}",
        process.stderr()
    );
    assert!(process.is_running(), "SIGINT did not stop the provider");
    assert_eq!(
        plugin_health(process.channel.clone()).await,
        Ok(ServingStatus::Serving)
    );
}

#[tokio::test]
async fn debug_mode_prints_reattach_json_and_stops_on_ctrl_c() {
    let temp_dir = tempfile::tempdir().expect("temporary directory");
    let mut command = bare_command();
    command
        .arg("--debug")
        .env("TMPDIR", temp_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("provider starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let reattach = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(line) = lines.next_line().await.expect("stdout readable") {
            if let Some((_, value)) = line.split_once("TF_REATTACH_PROVIDERS='") {
                return value.trim_end_matches('\'').to_owned();
            }
        }
        panic!("no TF_REATTACH_PROVIDERS line");
    })
    .await
    .expect("the reattach line in time");

    let parsed: serde_json::Value = serde_json::from_str(&reattach).expect("JSON");
    let entry = &parsed["registry.terraform.io/homelab/homelab"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Pid"], child.id().expect("running"));
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["Addr"]["Network"], "unix");
    let socket = entry["Addr"]["String"].as_str().expect("socket path");
    assert!(Path::new(socket).starts_with(temp_dir.path()), "{socket}");

    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().expect("running").to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("Ctrl-C stops debug mode")
        .expect("wait works");
    assert!(status.success(), "{status}");
    assert!(!Path::new(socket).exists());
}

/// The CLI under test: `TF_ACC_TERRAFORM_PATH`, else `tofu` on the PATH, else `terraform`.
fn terraform_cli() -> String {
    if let Ok(path) = std::env::var("TF_ACC_TERRAFORM_PATH")
        && !path.is_empty()
    {
        return path;
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|directory| directory.join(name).is_file())
        })
    };
    if on_path("tofu") { "tofu" } else { "terraform" }.to_owned()
}

#[tokio::test]
async fn terraform_plans_with_the_provider_under_auto_mtls() {
    let binary = provider_binary();
    let binary_directory = binary.parent().expect("binary in a directory");
    let work = tempfile::tempdir().expect("temporary directory");
    let private_tmp = work.path().join("tmp");
    std::fs::create_dir(&private_tmp).expect("private TMPDIR");
    let cli_config = work.path().join("cli.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"homelab/homelab\" = {}\n  }}\n  direct {{}}\n}}\n",
            serde_json::Value::from(binary_directory.display().to_string())
        ),
    )
    .expect("CLI config");
    std::fs::write(
        work.path().join("main.tf"),
        "terraform {\n  required_providers {\n    homelab = { source = \"homelab/homelab\" }\n  }\n}\n\nprovider \"homelab\" {}\n",
    )
    .expect("main.tf");

    let mut command = tokio::process::Command::new(terraform_cli());
    command
        .args(["plan", "-input=false", "-no-color"])
        .current_dir(work.path())
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_CONFIG_FILE", &cli_config)
        .env("TMPDIR", &private_tmp)
        .env("TF_IN_AUTOMATION", "1")
        // Terraform's own log shows the provider's lines, proving which transport it used.
        .env("TF_LOG", "info")
        .env_remove("TF_LOG_PATH")
        .env_remove("TF_REATTACH_PROVIDERS")
        .kill_on_drop(true);
    let output = run_to_exit(command, Duration::from_secs(120))
        .await
        .expect("terraform runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "terraform plan failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(stdout.contains("No changes"), "{stdout}");
    assert!(
        stderr.contains("plugin serving") && stderr.contains("auto_mtls=true"),
        "terraform started the provider under AutoMTLS; stderr:\n{stderr}"
    );
}
