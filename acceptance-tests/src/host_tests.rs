//! Test bodies for the SSH layer, `homelab_file` and `data.homelab_node` that run against any
//! [`TestHost`]: a loopback sshd (`tests/ssh_loopback.rs`) or a lab host. Each checks the host
//! with OpenSSH's own client, never with the provider's code.

mod killed_apply;
mod shared_connection;

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cli::{Command, REQUIRED_PROVIDERS, Workdir};
use crate::ssh_host::{TestHost, hcl_string};
use crate::steps::{Step, TestCase};

pub use killed_apply::killed_apply_converges_on_the_next_apply;
pub use shared_connection::files_share_one_connection_per_host;

const FILE: &str = "homelab_file.f";

/// Hex SHA-256, as `homelab_file.sha256` holds it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a known_hosts file for `host` into the workdir, hashed by `ssh-keygen -H` so the
/// provider's parser is tested on OpenSSH's own output.
pub fn hashed_known_hosts(workdir: &Workdir, host: &TestHost) -> PathBuf {
    let path = workdir.config_dir().join("known_hosts");
    workdir.write_file("known_hosts", &format!("{}\n", host.known_hosts_line()));
    let output = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run ssh-keygen -H");
    assert!(output.status.success(), "ssh-keygen -H: {output:?}");
    let text = std::fs::read_to_string(&path).expect("read known_hosts");
    assert!(text.starts_with("|1|"), "not hashed: {text}");
    let _ = std::fs::remove_file(path.with_extension("old"));
    path
}

pub(crate) fn file_resource(host: &TestHost, name: &str, path: &str, body: &str) -> String {
    format!(
        "resource \"homelab_file\" \"{name}\" {{\n  host = {}\n  path = {}\n{body}}}\n",
        hcl_string(host.id_host()),
        hcl_string(path)
    )
}

/// The whole step loop on one file through provider-level settings (port, key, hashed
/// known_hosts): create and check on the host, import-verify, update content and mode, hand
/// edit, hand chmod and hand delete each shown in the plan and repaired, then destroy.
pub fn file_full_step_loop(host: &TestHost) {
    let workdir = Workdir::new("file_full_step_loop");
    let known_hosts = hashed_known_hosts(&workdir, host);
    let provider = host.provider_block(&known_hosts, "");
    let dir = host.make_temp_dir();
    let path = format!("{dir}/motd");
    let config = |content: &str, mode: &str| {
        let body = format!(
            "  content = {}\n  mode    = {}\n",
            hcl_string(content),
            hcl_string(mode)
        );
        format!(
            "{REQUIRED_PROVIDERS}\n{provider}\n{}",
            file_resource(host, "f", &path, &body)
        )
    };
    let check = |content: &'static str, mode: &'static str| {
        let path = path.clone();
        move |state: &crate::show::StateView| {
            assert_eq!(host.read_file(&path).as_deref(), Some(content.as_bytes()));
            assert_eq!(host.stat(&path), format!("{mode} root root"));
            assert_eq!(
                state.attr_str(FILE, "sha256"),
                sha256_hex(content.as_bytes())
            );
            assert_eq!(
                state.attr_str(FILE, "id"),
                format!("{}:{path}", host.id_host())
            );
            assert_eq!(state.attr_str(FILE, "owner"), "root");
        }
    };
    TestCase::new("file_full_step_loop")
        .step(Step::apply(
            config("first\n", "0640"),
            check("first\n", "640"),
        ))
        .step(Step::import_verify(
            FILE,
            &format!("{}:{path}", host.id_host()),
            &[],
        ))
        .step(Step::apply(
            config("second\nline\n", "0600"),
            check("second\nline\n", "600"),
        ))
        .step(Step::drift(
            || host.write_file(&path, b"edited by hand\n"),
            "edited by hand",
        ))
        .step(Step::drift(
            || host.chmod(&path, "0666"),
            r#""0666" -> "0600""#,
        ))
        .step(Step::drift(|| host.remove(&path), "will be created"))
        .step(Step::apply(
            config("second\nline\n", "0600"),
            check("second\nline\n", "600"),
        ))
        .check_destroyed(|| assert!(!host.exists(&path), "destroy left {path}"))
        .run_in(&workdir);
    host.remove(&dir);
}

/// Paths and contents that would run commands if they ever reached a shell unquoted arrive
/// byte for byte, run nothing, and read back the same on import.
pub fn file_round_trips_hostile_paths_and_content(host: &TestHost) {
    let workdir = Workdir::new("file_hostile_values");
    let known_hosts = hashed_known_hosts(&workdir, host);
    let provider = host.provider_block(&known_hosts, "");
    let dir = host.make_temp_dir();
    let marker = format!("/tmp/pwned-{}-{}", std::process::id(), host.port);
    let text_path =
        format!("{dir}/with space/$(touch {marker})/`touch {marker}`;it's \"q\"\nx.txt");
    let binary_path = format!("{dir}/bin; touch {marker} #");
    let text = format!(
        "it's \"quoted\" $(touch {marker}) `touch {marker}`; rm -rf /nonexistent\n\\ end\n"
    );
    let binary: Vec<u8> = vec![0xff, 0xfe, 0x00, b'\'', b'\n', 0x80, b'$', b'(', b')'];
    use base64::Engine as _;
    let binary_base64 = base64::engine::general_purpose::STANDARD.encode(&binary);
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{provider}\n{}\n{}",
        file_resource(
            host,
            "f",
            &text_path,
            &format!(
                "  content            = {}\n  create_directories = true\n",
                hcl_string(&text)
            )
        ),
        file_resource(
            host,
            "binary",
            &binary_path,
            &format!(
                "  content_base64     = {}\n  create_directories = true\n",
                hcl_string(&binary_base64)
            )
        ),
    );
    TestCase::new("file_hostile_values")
        .step(Step::apply(config, |state| {
            assert_eq!(host.read_file(&text_path).as_deref(), Some(text.as_bytes()));
            assert_eq!(host.read_file(&binary_path).as_deref(), Some(&binary[..]));
            assert_eq!(
                state.attr_str("homelab_file.binary", "sha256"),
                sha256_hex(&binary)
            );
            assert!(
                !host.exists(&marker),
                "a value ran a command: {marker} exists"
            );
        }))
        .step(Step::import_verify(
            FILE,
            &format!("{}:{text_path}", host.id_host()),
            &[],
        ))
        .step(Step::import_verify(
            "homelab_file.binary",
            &format!("{}:{binary_path}", host.id_host()),
            &[],
        ))
        .check_destroyed(|| {
            assert!(!host.exists(&text_path) && !host.exists(&binary_path));
            assert!(
                !host.exists(&marker),
                "a value ran a command: {marker} exists"
            );
        })
        .run_in(&workdir);
    host.remove(&dir);
}

/// A resource's pinned `host_key` is used instead of known_hosts (which here knows nothing),
/// and a wrong pin is refused with the real key's fingerprint and the line to pin.
pub fn file_with_pinned_host_key(host: &TestHost, wrong_key: &str) {
    let workdir = Workdir::new("file_pinned_host_key");
    let empty_known_hosts = workdir.config_dir().join("empty_known_hosts");
    let provider = host.provider_block(&empty_known_hosts, "");
    let dir = host.make_temp_dir();
    let path = format!("{dir}/pinned");
    let config = |key: Option<&str>| {
        let body = format!("  content = \"pinned\\n\"\n{}", host.pinned_ssh_block(key));
        format!(
            "{REQUIRED_PROVIDERS}\n{provider}\n{}",
            file_resource(host, "f", &path, &body)
        )
    };
    let fingerprint = host.fingerprint();
    TestCase::new("file_pinned_host_key")
        .step(Step::apply(config(None), |_| {
            assert_eq!(host.read_file(&path).as_deref(), Some(&b"pinned\n"[..]));
        }))
        .step(Step::expect_error(
            config(Some(wrong_key)),
            Command::Plan,
            &[
                "does not match the pinned host_key",
                &fingerprint,
                &format!("host_key = \"{}\"", host.host_key),
            ],
        ))
        .check_destroyed(|| assert!(!host.exists(&path)))
        .run_in(&workdir);
    host.remove(&dir);
}

/// A host missing from known_hosts is refused, and the error shows its fingerprint, the
/// `host_key` line to pin and the `ssh-keyscan` command.
pub fn unknown_host_key_is_refused_with_instructions(host: &TestHost) {
    let workdir = Workdir::new("unknown_host_key");
    let known_hosts = workdir.config_dir().join("known_hosts");
    workdir.write_file("known_hosts", "# nothing known yet\n");
    let provider = host.provider_block(&known_hosts, "");
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{provider}\n{}",
        file_resource(host, "f", "/tmp/never-written", "  content = \"x\"\n")
    );
    let port_flag = if host.port == 22 {
        String::new()
    } else {
        format!("-p {} ", host.port)
    };
    TestCase::new("unknown_host_key")
        .step(Step::expect_error(
            config,
            Command::Apply,
            &[
                "is not known",
                &host.fingerprint(),
                &format!("host_key = \"{}\"", host.host_key),
                &format!("ssh-keyscan {port_flag}-t ed25519 {}", host.address),
            ],
        ))
        .run();
}

/// A host that accepts TCP but never speaks SSH (`silent`) fails within `connect_timeout`; a
/// port that refuses fails at once, naming host and port.
pub fn unreachable_hosts_fail_fast(host: &TestHost, silent: (&str, u16), refused: (&str, u16)) {
    let workdir = Workdir::new("unreachable_hosts").with_command_timeout(Duration::from_secs(120));
    let known_hosts = hashed_known_hosts(&workdir, host);
    let provider = host.provider_block(&known_hosts, "    connect_timeout  = \"2s\"\n");
    let node = |(address, port): (&str, u16)| {
        format!(
            "{REQUIRED_PROVIDERS}\n{provider}\ndata \"homelab_node\" \"n\" {{\n  host = {}\n  ssh {{\n    port = {port}\n  }}\n}}\n",
            hcl_string(address)
        )
    };
    workdir.write_config(&node(silent));
    let output = workdir.expect_errors(
        Command::Plan,
        &[
            &format!("{}:{}", silent.0, silent.1),
            "connect_timeout of 2s",
        ],
    );
    assert!(
        output.elapsed >= Duration::from_secs(2) && output.elapsed < Duration::from_secs(15),
        "a 2s connect_timeout took {:?}",
        output.elapsed
    );
    workdir.write_config(&node(refused));
    let output = workdir.expect_errors(
        Command::Plan,
        &[&format!("{}:{}", refused.0, refused.1), "Cannot reach host"],
    );
    assert!(
        output.elapsed < Duration::from_secs(15),
        "{:?}",
        output.elapsed
    );
}

/// `data.homelab_node` reports what the host itself says.
pub fn node_facts_match_the_host(host: &TestHost) {
    let workdir = Workdir::new("node_facts");
    let known_hosts = hashed_known_hosts(&workdir, host);
    let provider = host.provider_block(&known_hosts, "");
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{provider}\ndata \"homelab_node\" \"n\" {{\n  host = {}\n}}\n",
        hcl_string(host.id_host())
    );
    let expected = [
        ("hostname", host.fact("cat /proc/sys/kernel/hostname")),
        ("kernel", host.fact("uname -r")),
        ("architecture", host.fact("uname -m")),
        ("os_id", host.fact(". /etc/os-release; echo \"$ID\"")),
        ("machine_id", host.fact("cat /etc/machine-id")),
    ];
    let cpus: i64 = host
        .fact("getconf _NPROCESSORS_ONLN")
        .parse()
        .expect("a CPU count");
    TestCase::new("node_facts")
        .step(Step::apply(config, |state| {
            let address = "data.homelab_node.n";
            for (name, value) in &expected {
                assert_eq!(state.attr_str(address, name), value, "{name}");
            }
            assert_eq!(state.attr(address, "cpu_count").as_i64(), Some(cpus));
            let memory = state
                .attr(address, "memory_bytes")
                .as_i64()
                .expect("memory");
            assert!(memory > 64 << 20, "memory_bytes = {memory}");
        }))
        .run_in(&workdir);
}
