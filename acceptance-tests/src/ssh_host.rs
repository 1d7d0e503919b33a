//! A host the SSH acceptance tests run against (a loopback sshd or a lab host), and an
//! independent way to look at it: OpenSSH's own `ssh` client, never the provider's code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// Where a host is and how to log in; enough to write HCL for it and to check it with `ssh`.
#[derive(Debug)]
pub struct TestHost {
    /// Address or name the provider connects to.
    pub address: String,
    /// SSH port.
    pub port: u16,
    /// The host's public key, `ssh-ed25519 AAAA…`.
    pub host_key: String,
    /// Login user.
    pub user: String,
    /// A private key the host accepts.
    pub private_key_path: PathBuf,
    /// Holds the known_hosts file the `ssh` oracle uses.
    oracle_dir: TempDir,
}

impl TestHost {
    /// Describes a host; writes a known_hosts file for the `ssh` oracle.
    pub fn new(
        address: impl Into<String>,
        port: u16,
        host_key: impl Into<String>,
        user: impl Into<String>,
        private_key_path: impl Into<PathBuf>,
    ) -> TestHost {
        let host = TestHost {
            address: address.into(),
            port,
            host_key: host_key.into().trim().to_owned(),
            user: user.into(),
            private_key_path: private_key_path.into(),
            oracle_dir: tempfile::tempdir().expect("create a temp dir"),
        };
        std::fs::write(host.oracle_known_hosts(), host.known_hosts_line() + "\n")
            .expect("write the oracle's known_hosts");
        host
    }

    /// The host as the provider names it in IDs: `address`.
    pub fn id_host(&self) -> &str {
        &self.address
    }

    /// A known_hosts line for this host (`[addr]:port key` off port 22).
    pub fn known_hosts_line(&self) -> String {
        if self.port == 22 {
            format!("{} {}", self.address, self.host_key)
        } else {
            format!("[{}]:{} {}", self.address, self.port, self.host_key)
        }
    }

    /// The SHA256 fingerprint of the host key, as `ssh-keygen -lf` prints it.
    pub fn fingerprint(&self) -> String {
        let file = self.oracle_dir.path().join("host_key.pub");
        std::fs::write(&file, format!("{}\n", self.host_key)).expect("write the host key");
        let output = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(&file)
            .output()
            .expect("run ssh-keygen");
        assert!(output.status.success(), "ssh-keygen -lf: {output:?}");
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .nth(1)
            .expect("a fingerprint")
            .to_owned()
    }

    fn oracle_known_hosts(&self) -> PathBuf {
        self.oracle_dir.path().join("known_hosts")
    }

    /// A `provider "homelab"` block reaching this host through provider-level settings:
    /// port, user, key file, and `known_hosts_path` (which must hold [`Self::known_hosts_line`]).
    pub fn provider_block(&self, known_hosts_path: &Path, extra: &str) -> String {
        format!(
            "provider \"homelab\" {{\n  ssh {{\n    port             = {}\n    user             = {}\n    \
             private_key_path = {}\n    known_hosts_path = {}\n{extra}  }}\n}}\n",
            self.port,
            hcl_string(&self.user),
            hcl_string(&self.private_key_path.display().to_string()),
            hcl_string(&known_hosts_path.display().to_string()),
        )
    }

    /// A resource's `ssh { … }` block pinning `host_key` (the real one unless given), with the
    /// private key given in memory (`private_key = file(…)`).
    ///
    /// The in-memory key is also a workaround: with Terraform 1.11 a nested block whose
    /// sensitive attribute is null makes `plan -refresh-only -detailed-exitcode` exit 2 while it
    /// reports no changes (Terraform compares the marked values of the prior and refreshed
    /// state), which the step loop's convergence check would count as drift.
    pub fn pinned_ssh_block(&self, host_key: Option<&str>) -> String {
        format!(
            "  ssh {{\n    port        = {}\n    user        = {}\n    host_key    = {}\n    \
             private_key = file({})\n  }}\n",
            self.port,
            hcl_string(&self.user),
            hcl_string(host_key.unwrap_or(&self.host_key)),
            hcl_string(&self.private_key_path.display().to_string()),
        )
    }

    /// Runs `script` on the host with OpenSSH's client; `args` become `$1`, `$2`, ….
    pub fn ssh(&self, script: &str, args: &[&[u8]], stdin: &[u8]) -> Output {
        let mut remote = format!("sh -c {} sh", sh_quote(script.as_bytes()));
        for arg in args {
            remote.push(' ');
            remote.push_str(&sh_quote(arg));
        }
        let mut child = Command::new("ssh")
            .args([
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
            ])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.oracle_known_hosts().display()
            ))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .arg("-i")
            .arg(&self.private_key_path)
            .arg("-p")
            .arg(self.port.to_string())
            .arg(format!("{}@{}", self.user, self.address))
            .arg(remote)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ssh");
        let _ = child.stdin.take().expect("stdin").write_all(stdin);
        child.wait_with_output().expect("wait for ssh")
    }

    fn ssh_ok(&self, script: &str, args: &[&[u8]], stdin: &[u8]) -> Vec<u8> {
        let output = self.ssh(script, args, stdin);
        assert!(
            output.status.success(),
            "ssh {script:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// A file's bytes, or `None` when it does not exist.
    pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        let out = self.ssh_ok(
            r#"if [ -e "$1" ]; then printf y; cat -- "$1"; else printf n; fi"#,
            &[path.as_bytes()],
            b"",
        );
        match out.split_first() {
            Some((b'y', rest)) => Some(rest.to_vec()),
            _ => None,
        }
    }

    /// `stat -c '%a %U %G'` of a file, e.g. `640 root root`.
    pub fn stat(&self, path: &str) -> String {
        let out = self.ssh_ok(r#"stat -c '%a %U %G' -- "$1""#, &[path.as_bytes()], b"");
        String::from_utf8_lossy(&out).trim().to_owned()
    }

    /// Whether anything exists at `path`.
    pub fn exists(&self, path: &str) -> bool {
        self.ssh_ok(
            r#"if [ -e "$1" ]; then echo y; else echo n; fi"#,
            &[path.as_bytes()],
            b"",
        ) == b"y\n"
    }

    /// Writes a file by hand (an out-of-band edit).
    pub fn write_file(&self, path: &str, content: &[u8]) {
        self.ssh_ok(r#"cat > "$1""#, &[path.as_bytes()], content);
    }

    /// Changes a file's mode by hand.
    pub fn chmod(&self, path: &str, mode: &str) {
        self.ssh_ok(
            r#"chmod "$1" "$2""#,
            &[mode.as_bytes(), path.as_bytes()],
            b"",
        );
    }

    /// Removes a file or directory tree by hand.
    pub fn remove(&self, path: &str) {
        self.ssh_ok(r#"rm -rf -- "$1""#, &[path.as_bytes()], b"");
    }

    /// Creates a fresh directory for one test and returns its path.
    pub fn make_temp_dir(&self) -> String {
        let out = self.ssh_ok("mktemp -d /tmp/homelab-acc.XXXXXXXX", &[], b"");
        String::from_utf8(out)
            .expect("a UTF-8 path")
            .trim()
            .to_owned()
    }

    /// A lab host as the oracle sees it.
    pub fn of_lab_host(host: &crate::lab::Host) -> TestHost {
        TestHost::new(
            host.address.to_string(),
            host.port,
            host.host_key.clone(),
            host.user.clone(),
            host.private_key_path.clone(),
        )
    }

    /// One line of output of a command on the host, e.g. `uname -r`.
    pub fn fact(&self, script: &str) -> String {
        String::from_utf8_lossy(&self.ssh_ok(script, &[], b""))
            .trim()
            .to_owned()
    }
}

/// Runs `script` (`$1`… from `args`) on `host` with OpenSSH's client; returns stdout,
/// panicking with both outputs on failure.
pub fn sh(host: &TestHost, script: &str, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let output = host.ssh(script, &args, b"");
    assert!(
        output.status.success(),
        "`{script}` on {} failed: {}{}",
        host.address,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A value as an HCL string literal: JSON escaping, plus `${` and `%{` escaped so no template
/// interpolation happens.
pub fn hcl_string(value: &str) -> String {
    let json = serde_json::to_string(value).expect("strings serialize");
    json.replace("${", "$${").replace("%{", "%%{")
}

/// POSIX single-quoting for the oracle's own command lines (written here again on purpose, so
/// the oracle does not share code with what it checks).
fn sh_quote(value: &[u8]) -> String {
    let text = String::from_utf8(value.to_vec()).expect("oracle arguments are UTF-8");
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_strings_escape_quotes_newlines_and_templates() {
        assert_eq!(hcl_string("a\"b\nc"), r#""a\"b\nc""#);
        assert_eq!(hcl_string("$(x) ${y} %{z}"), r#""$(x) $${y} %%{z}""#);
    }
}
