//! The SSH layer, `homelab_file` and `data.homelab_node` against a real OpenSSH server on
//! 127.0.0.1 (its own host key, config and authorized key): through the CLI with the shared test
//! bodies of `acceptance_tests::host_tests`, and the provider's pool driven directly for what the
//! CLI cannot provoke (dropped connections, timeouts, cancellation).

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use acceptance_tests::host_tests;
use acceptance_tests::sshd::{LoopbackSshd, free_port};
use terraform_provider_homelab::ssh::{
    Auth, Command, ExitStatus, HostKeyPolicy, Pool, SshError, Target, parse_pinned,
};
use tokio_util::sync::CancellationToken;

#[test]
fn file_full_step_loop_on_loopback() {
    let sshd = LoopbackSshd::start();
    host_tests::file_full_step_loop(&sshd.test_host());
}

#[test]
fn file_round_trips_hostile_paths_and_content_on_loopback() {
    let sshd = LoopbackSshd::start();
    host_tests::file_round_trips_hostile_paths_and_content(&sshd.test_host());
}

#[test]
fn file_with_pinned_host_key_on_loopback_refuses_a_wrong_pin() {
    let sshd = LoopbackSshd::start();
    let other = sshd.scratch_path("other_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success());
    let wrong = std::fs::read_to_string(other.with_extension("pub")).expect("read the key");
    let wrong: Vec<&str> = wrong.split_whitespace().take(2).collect();
    host_tests::file_with_pinned_host_key(&sshd.test_host(), &wrong.join(" "));
}

#[test]
fn unknown_host_key_on_loopback_is_refused_with_instructions() {
    let sshd = LoopbackSshd::start();
    host_tests::unknown_host_key_is_refused_with_instructions(&sshd.test_host());
    assert_eq!(sshd.accepted_logins(), 0, "logged in to an unverified host");
}

#[test]
fn unreachable_ports_on_loopback_fail_within_connect_timeout() {
    let sshd = LoopbackSshd::start();
    // Accepts TCP (the kernel completes the handshake into the backlog) but never speaks SSH.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind a silent port");
    let silent_port = silent.local_addr().expect("its address").port();
    host_tests::unreachable_hosts_fail_fast(
        &sshd.test_host(),
        ("127.0.0.1", silent_port),
        ("127.0.0.1", free_port()),
    );
    drop(silent);
}

#[test]
fn node_facts_on_loopback_match_this_machine() {
    let sshd = LoopbackSshd::start();
    host_tests::node_facts_match_the_host(&sshd.test_host());
}

#[test]
fn twenty_files_on_each_of_two_sshds_use_one_connection_per_host() {
    let (first, second) = (LoopbackSshd::start(), LoopbackSshd::start());
    let hosts = [first.test_host(), second.test_host()];
    host_tests::files_share_one_connection_per_host(&[&hosts[0], &hosts[1]], 20, 10, &|| {
        vec![first.accepted_logins(), second.accepted_logins()]
    });
}

/// A target for the pool tests: the loopback sshd with its key pinned.
fn target(sshd: &LoopbackSshd) -> Target {
    let mut target = Target::new("127.0.0.1");
    target.port = sshd.port();
    target.user = sshd.test_host().user;
    target.auth = Auth {
        private_key_path: Some(sshd.client_key_path()),
        agent_socket: None,
        ..Auth::default()
    };
    target.host_key = HostKeyPolicy::Pinned(parse_pinned(sshd.host_key()).expect("a key"));
    target.connect_timeout = Duration::from_secs(10);
    target
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn pool_returns_exit_status_stderr_signals_and_exact_bytes() {
    let sshd = LoopbackSshd::start();
    let target = target(&sshd);
    let pool = Pool::new(8);
    let cancel = CancellationToken::new();
    runtime().block_on(async {
        // 4 MiB of every byte value through stdin and back: flow control both ways at once.
        let input: Vec<u8> = (0..4u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let output = pool
            .run(&target, &Command::new("cat").stdin(input.clone()), &cancel)
            .await
            .expect("cat");
        assert!(output.success());
        assert!(output.stdout == input, "cat changed the bytes");

        let script = Command::shell_script("printf out; printf err >&2; exit 3");
        let output = pool.run(&target, &script, &cancel).await.expect("run");
        assert_eq!(
            (output.status, output.stdout, output.stderr),
            (ExitStatus::Code(3), b"out".to_vec(), b"err".to_vec())
        );

        let output = pool
            .run(&target, &Command::shell_script("kill -TERM $$"), &cancel)
            .await
            .expect("run");
        assert_eq!(output.status, ExitStatus::Signal("TERM".into()));

        let marker = sshd.scratch_path("pwned");
        let hostile = format!("$(touch {m}) `touch {m}`; touch {m}", m = marker.display());
        let output = pool
            .run(
                &target,
                &Command::new("printf").args(["%s|", &hostile, "it's"]),
                &cancel,
            )
            .await
            .expect("printf");
        assert_eq!(output.stdout, format!("{hostile}|it's|").into_bytes());
        assert!(!marker.exists(), "an argument ran a command");
    });
    assert_eq!(pool.connections_opened(), 1);
    assert_eq!(sshd.accepted_logins(), 1);
}

#[test]
fn pool_shares_one_connection_and_bounds_its_channels() {
    let sshd = LoopbackSshd::start();
    let target = target(&sshd);
    let pool = std::sync::Arc::new(Pool::new(3));
    let started = Instant::now();
    runtime().block_on(async {
        let mut runs = tokio::task::JoinSet::new();
        for i in 0..9 {
            let (pool, target) = (pool.clone(), target.clone());
            runs.spawn(async move {
                let command = Command::shell_script("sleep 1; echo \"$1\"").arg(i.to_string());
                let output = pool.run(&target, &command, &CancellationToken::new()).await;
                (i, output)
            });
        }
        while let Some(joined) = runs.join_next().await {
            let (i, output) = joined.expect("a task");
            assert_eq!(output.expect("run").stdout, format!("{i}\n").into_bytes());
        }
    });
    let elapsed = started.elapsed();
    // Nine one-second commands, three at a time: three rounds, not one and not nine.
    assert!(
        elapsed >= Duration::from_millis(2900) && elapsed < Duration::from_secs(7),
        "{elapsed:?}"
    );
    assert_eq!(pool.connections_opened(), 1);
    assert_eq!(sshd.accepted_logins(), 1);
}

#[test]
fn pool_reconnects_after_the_connection_drops() {
    let sshd = LoopbackSshd::start();
    let target = target(&sshd);
    let pool = Pool::new(8);
    let cancel = CancellationToken::new();
    let rt = runtime();
    rt.block_on(async {
        let output = pool.run(&target, &Command::new("true"), &cancel).await;
        assert!(output.expect("first command").success());
    });
    // The processes sshd forked for our connection: killing them drops it, as a reboot would.
    let children = children_of(sshd.pid());
    assert!(!children.is_empty(), "no connection process under sshd");
    for pid in children {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    std::thread::sleep(Duration::from_millis(200));
    rt.block_on(async {
        let output = pool
            .run(&target, &Command::new("echo").arg("again"), &cancel)
            .await
            .expect("the next command reconnects");
        assert_eq!(output.stdout, b"again\n");
    });
    assert_eq!(pool.connections_opened(), 2);
    assert_eq!(sshd.accepted_logins(), 2);
}

#[test]
fn pool_stops_commands_at_their_timeout_and_on_cancel() {
    let sshd = LoopbackSshd::start();
    let target = target(&sshd);
    let pool = Pool::new(8);
    runtime().block_on(async {
        let never = CancellationToken::new();
        let started = Instant::now();
        let slow = Command::new("sleep")
            .arg("41.5")
            .timeout(Duration::from_secs(1));
        let error = pool
            .run(&target, &slow, &never)
            .await
            .expect_err("a timeout");
        assert!(matches!(error, SshError::CommandTimeout { .. }), "{error}");
        assert!(error.to_string().contains("within 1s"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            processes_running("sleep\x0041.5"),
            0,
            "the timed-out command still runs"
        );

        let cancel = CancellationToken::new();
        let stopper = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            stopper.cancel();
        });
        let started = Instant::now();
        let error = pool
            .run(
                &target,
                &Command::shell_script("sleep 42.5; echo never"),
                &cancel,
            )
            .await
            .expect_err("cancelled");
        assert!(matches!(error, SshError::Cancelled { .. }), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            processes_running("sleep\x0042.5"),
            0,
            "the cancelled command still runs"
        );

        // The connection outlives the stopped commands.
        let output = pool
            .run(&target, &Command::new("echo").arg("ok"), &never)
            .await
            .expect("still connected");
        assert_eq!(output.stdout, b"ok\n");
    });
    assert_eq!(pool.connections_opened(), 1);
}

#[test]
fn pool_never_reuses_a_connection_for_a_target_whose_pin_does_not_match() {
    let sshd = LoopbackSshd::start();
    let good = target(&sshd);
    let mut wrong = good.clone();
    wrong.host_key = HostKeyPolicy::Pinned(
        parse_pinned(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5",
        )
        .expect("a key"),
    );
    let mut unknown = good.clone();
    unknown.host_key = HostKeyPolicy::KnownHosts(sshd.scratch_path("no_known_hosts"));
    let pool = Pool::new(8);
    let cancel = CancellationToken::new();
    runtime().block_on(async {
        let error = pool
            .run(&unknown, &Command::new("true"), &cancel)
            .await
            .expect_err("an unknown key");
        assert!(error.to_string().contains("is not known"), "{error}");
        assert!(
            pool.run(&good, &Command::new("true"), &cancel)
                .await
                .is_ok()
        );
        let error = pool
            .run(&wrong, &Command::new("true"), &cancel)
            .await
            .expect_err("the shared connection is checked against this pin too");
        assert!(
            error
                .to_string()
                .contains("does not match the pinned host_key"),
            "{error}"
        );
    });
    assert_eq!(sshd.accepted_logins(), 1);
}

/// How many processes on this machine have exactly this NUL-separated command line.
fn processes_running(cmdline: &str) -> usize {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .filter(|bytes| bytes.strip_suffix(b"\0").unwrap_or(bytes) == cmdline.as_bytes())
        .count()
}

/// PIDs whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) =
            std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))
        else {
            continue;
        };
        // The command name is in parentheses and may hold spaces; the parent PID is the
        // second field after it.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if after_name.split_whitespace().nth(1) == Some(&parent.to_string()) {
            children.push(pid);
        }
    }
    children
}

#[test]
fn node_data_source_example_applies_on_loopback() {
    use acceptance_tests::cli::{REQUIRED_PROVIDERS, workspace_root};
    use acceptance_tests::steps::{Step, TestCase};
    let sshd = LoopbackSshd::start();
    let host = sshd.test_host();
    let example = std::fs::read_to_string(
        workspace_root().join("examples/data-sources/homelab_node/data-source.tf"),
    )
    .expect("read the example");
    assert!(
        example.contains("\"10.4.0.10\""),
        "the example names its host"
    );
    let workdir = acceptance_tests::cli::Workdir::new("node_example");
    let known_hosts = host_tests::hashed_known_hosts(&workdir, &host);
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{}\n{}",
        host.provider_block(&known_hosts, ""),
        example.replace("\"10.4.0.10\"", "\"127.0.0.1\"")
    );
    let hostname = host.fact("cat /proc/sys/kernel/hostname");
    TestCase::new("node_example")
        .step(Step::apply(config, |state| {
            let node = state.output("node1").expect("the node1 output");
            assert_eq!(node["hostname"], hostname.as_str(), "{node}");
        }))
        .run_in(&workdir);
}

/// An `ssh-agent` of this test's own, stopped (by its PID) on drop.
struct Agent {
    child: std::process::Child,
    socket: std::path::PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { child, socket }
    }

    fn add(&self, key: &Path) {
        let status = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run ssh-add");
        assert!(status.success(), "ssh-add failed");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pool_authenticates_with_the_agent_and_lists_what_it_tried_when_refused() {
    let sshd = LoopbackSshd::start();
    let agent = Agent::start(&sshd.scratch_path(""));
    let mut target = target(&sshd);
    target.auth = Auth {
        agent_socket: Some(agent.socket.clone()),
        ..Auth::default()
    };
    let pool = Pool::new(8);
    let cancel = CancellationToken::new();
    let rt = runtime();
    let error = rt
        .block_on(pool.run(&target, &Command::new("true"), &cancel))
        .expect_err("an empty agent");
    assert!(matches!(error, SshError::Authentication { .. }), "{error}");
    assert!(error.to_string().contains("holds no keys"), "{error}");

    agent.add(&sshd.client_key_path());
    let output = rt
        .block_on(pool.run(&target, &Command::new("echo").arg("via agent"), &cancel))
        .expect("the agent's key is accepted");
    assert_eq!(output.stdout, b"via agent\n");
    assert_eq!(sshd.accepted_logins(), 1);
}

/// Regression: sshd counts a session against `MaxSessions` until its loop collects the closed
/// channel, and russh sends a channel's CLOSE right before the next OPEN, so with as many
/// channels as sshd allows (10 here) an OPEN read in the same batch as a CLOSE was refused
/// ("Failed to open channel (ConnectFailed)") and a refresh failed at random.
#[test]
fn pool_retries_a_channel_sshd_refused_while_it_released_another() {
    let sshd = LoopbackSshd::start();
    let target = target(&sshd);
    let pool = std::sync::Arc::new(Pool::new(10));
    runtime().block_on(async {
        let mut runs = tokio::task::JoinSet::new();
        for worker in 0..10 {
            let (pool, target) = (pool.clone(), target.clone());
            runs.spawn(async move {
                for i in 0..8 {
                    let command = Command::new("echo").arg(format!("{worker}-{i}"));
                    let output = pool
                        .run(&target, &command, &CancellationToken::new())
                        .await
                        .unwrap_or_else(|e| panic!("command {i} of worker {worker}: {e}"));
                    assert_eq!(output.stdout, format!("{worker}-{i}\n").into_bytes());
                }
            });
        }
        while let Some(joined) = runs.join_next().await {
            joined.expect("a worker");
        }
    });
    assert_eq!(pool.connections_opened(), 1);
}
