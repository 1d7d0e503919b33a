//! A real OpenSSH server on 127.0.0.1 with its own host key, config and authorized key, for SSH
//! tests that need no lab: started per test, and only its own process is killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::ssh_host::TestHost;

/// The server binary; Debian's `openssh-server` package installs it here.
pub const SSHD: &str = "/usr/sbin/sshd";

/// How long the server gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `sshd -D` on a free loopback port.
pub struct LoopbackSshd {
    child: Child,
    dir: TempDir,
    port: u16,
    host_key: String,
    user: String,
}

impl LoopbackSshd {
    /// Generates a host key and a client key, writes a config, starts sshd and waits until it
    /// accepts connections. Panics with sshd's own log when it does not come up.
    pub fn start() -> LoopbackSshd {
        crate::cli::require_tf_acc();
        assert!(
            Path::new(SSHD).is_file(),
            "{SSHD} not found: install openssh-server (./scripts/test does)"
        );
        let dir = tempfile::Builder::new()
            .prefix("hl-sshd-")
            .tempdir()
            .expect("create a temp dir");
        let path = |name: &str| dir.path().join(name);
        keygen(&path("host_key"), "loopback host key");
        keygen(&path("client_key"), "loopback client key");
        std::fs::copy(path("client_key.pub"), path("authorized_keys")).expect("authorize the key");
        let user = current_user();
        if user == "root" {
            // sshd refuses to start without its privilege separation directory.
            std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        }
        std::fs::write(
            path("sshd_config"),
            format!(
                "HostKey {host_key}\nAuthorizedKeysFile {authorized}\nPidFile none\nUsePAM no\n\
                 StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAllowUsers {user}\n\
                 LogLevel VERBOSE\nMaxSessions 10\nMaxStartups 100\n",
                host_key = path("host_key").display(),
                authorized = path("authorized_keys").display(),
            ),
        )
        .expect("write sshd_config");
        let port = free_port();
        let log = std::fs::File::create(path("sshd.log")).expect("create the sshd log");
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(path("sshd_config"))
            .arg("-p")
            .arg(port.to_string())
            .args(["-o", "ListenAddress=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {SSHD}: {e}"));
        let host_key = std::fs::read_to_string(path("host_key.pub")).expect("read the host key");
        let host_key = host_key
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let mut server = LoopbackSshd {
            child,
            dir,
            port,
            host_key,
            user,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("poll sshd") {
                panic!("sshd exited with {status}\n{}", self.log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "sshd did not listen within {START_TIMEOUT:?}\n{}",
            self.log()
        );
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its PID, e.g. to find the processes it forked for connections.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The host's public key, `ssh-ed25519 AAAA…`.
    pub fn host_key(&self) -> &str {
        &self.host_key
    }

    /// The private key sshd accepts.
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// A file inside this server's private directory (for known_hosts files and the like).
    pub fn scratch_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// This server as a [`TestHost`] at 127.0.0.1.
    pub fn test_host(&self) -> TestHost {
        TestHost::new(
            "127.0.0.1",
            self.port,
            self.host_key.clone(),
            self.user.clone(),
            self.client_key_path(),
        )
    }

    /// sshd's log so far (LogLevel VERBOSE).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// How many logins sshd accepted so far: one per SSH connection.
    pub fn accepted_logins(&self) -> usize {
        self.log()
            .lines()
            .filter(|line| line.contains("Accepted publickey"))
            .count()
    }
}

impl Drop for LoopbackSshd {
    fn drop(&mut self) {
        // Only the listener this test started; connections it forked end with their clients.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path, comment: &str) {
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(output.status.success(), "ssh-keygen: {output:?}");
}

fn current_user() -> String {
    let output = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(output.stdout)
        .expect("a UTF-8 user name")
        .trim()
        .to_owned()
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}
