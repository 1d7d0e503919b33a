//! The BGP lab: one router running FRR as a systemd service and speakers running GoBGP as
//! MetalLB stands in, looked at with OpenSSH's own client (never with the provider's code).

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use acceptance_tests::cli::REQUIRED_PROVIDERS;
use acceptance_tests::lab::{Host, Lab, LabSpec};
use acceptance_tests::ssh_host::hcl_string;

/// The packages every BGP test's hosts get: one list, so one cached image.
pub(crate) const PACKAGES: &[&str] = &["frr", "gobgpd"];

/// The router's AS, as in the book.
pub(crate) const ROUTER_ASN: u32 = 64500;
/// The speakers' AS, as MetalLB's in the book.
pub(crate) const SPEAKER_ASN: u32 = 64501;

/// A lab whose first host is the router and the others are speakers.
pub(crate) struct BgpLab {
    pub(crate) lab: Lab,
    pub(crate) hosts: Vec<Host>,
}

impl BgpLab {
    /// Boots `hosts` hosts (FRR installed everywhere; its bgpd is off until a router resource
    /// enables it).
    pub(crate) fn up(hosts: usize) -> BgpLab {
        let lab = Lab::up(LabSpec {
            hosts,
            packages: PACKAGES,
            ..LabSpec::default()
        })
        .expect("bring up the BGP lab");
        let hosts = lab.hosts().to_vec();
        BgpLab { lab, hosts }
    }

    pub(crate) fn router(&self) -> &Host {
        &self.hosts[0]
    }

    pub(crate) fn speakers(&self) -> &[Host] {
        &self.hosts[1..]
    }

    /// `terraform { … }` and the provider block reaching every host with the lab's key and
    /// known_hosts file.
    pub(crate) fn provider(&self) -> String {
        format!(
            "{REQUIRED_PROVIDERS}\nprovider \"homelab\" {{\n  ssh {{\n    user             = \"root\"\n    \
             private_key_path = {}\n    known_hosts_path = {}\n  }}\n}}\n",
            hcl_string(&self.lab.private_key_path().display().to_string()),
            hcl_string(&self.lab.known_hosts_path().display().to_string()),
        )
    }

    /// Runs `script` with `sh -c` on `host`; returns stdout, panicking on failure.
    pub(crate) fn sh(&self, host: &Host, script: &str) -> String {
        let output = self.sh_output(host, script, b"");
        assert!(
            output.status.success(),
            "`{script}` on {} failed: {}{}",
            host.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn sh_output(&self, host: &Host, script: &str, stdin: &[u8]) -> std::process::Output {
        let mut child = self
            .lab
            .ssh(host)
            .arg(format!("sh -c {}", sh_quote(script)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ssh");
        let _ = child.stdin.take().expect("stdin").write_all(stdin);
        child.wait_with_output().expect("wait for ssh")
    }

    /// `vtysh -c C1 -c C2 …` on the router.
    pub(crate) fn vtysh(&self, commands: &[&str]) -> String {
        let mut script = "vtysh".to_owned();
        for command in commands {
            script.push_str(" -c ");
            script.push_str(&sh_quote(command));
        }
        self.sh(self.router(), &script)
    }

    /// The router's `router bgp` sections of `show running-config`, lines trimmed.
    pub(crate) fn bgp_lines(&self) -> Vec<String> {
        let text = self.vtysh(&["show running-config"]);
        let mut inside = false;
        let mut lines = Vec::new();
        for line in text.lines() {
            if line.starts_with("router bgp") {
                inside = true;
            }
            if inside {
                lines.push(line.trim().to_owned());
            }
            if line == "exit" {
                inside = false;
            }
        }
        lines
    }

    /// The router's `show bgp summary json` peers: address -> state.
    pub(crate) fn router_sessions(&self) -> Vec<(String, String)> {
        let text = self.vtysh(&["show bgp summary json"]);
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        json.pointer("/ipv4Unicast/peers")
            .and_then(|p| p.as_object())
            .map(|peers| {
                peers
                    .iter()
                    .map(|(address, peer)| {
                        (
                            address.clone(),
                            peer["state"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The routes the router learned: prefix -> next hops (`show ip bgp json`).
    pub(crate) fn router_routes(&self) -> Vec<(String, Vec<String>)> {
        let text = self.vtysh(&["show ip bgp json"]);
        let json: serde_json::Value = serde_json::from_str(&text).expect("show ip bgp json");
        let mut routes: Vec<(String, Vec<String>)> = json["routes"]
            .as_object()
            .map(|routes| {
                routes
                    .iter()
                    .map(|(prefix, paths)| {
                        let hops = paths
                            .as_array()
                            .into_iter()
                            .flatten()
                            .flat_map(|path| path["nexthops"].as_array().into_iter().flatten())
                            .filter_map(|hop| hop["ip"].as_str().map(str::to_owned))
                            .collect();
                        (prefix.clone(), hops)
                    })
                    .collect()
            })
            .unwrap_or_default();
        routes.sort();
        routes
    }

    /// Starts GoBGP on `speaker` (AS 64501) peering the router, with `password` if any, and
    /// advertises `prefix` (MetalLB's job for a service address).
    pub(crate) fn start_speaker(&self, speaker: &Host, password: Option<&str>, prefix: &str) {
        let auth = password
            .map(|p| format!("    auth-password = \"{p}\"\n"))
            .unwrap_or_default();
        let config = format!(
            "[global.config]\n  as = {SPEAKER_ASN}\n  router-id = \"{}\"\n\n[[neighbors]]\n  \
             [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {ROUTER_ASN}\n{auth}  \
             [neighbors.timers.config]\n    connect-retry = 2\n  [[neighbors.afi-safis]]\n    \
             [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n",
            speaker.address,
            self.router().address
        );
        let output = self.sh_output(speaker, "cat > /etc/gobgpd.conf", config.as_bytes());
        assert!(output.status.success(), "{output:?}");
        self.sh(speaker, "systemctl restart gobgpd");
        wait_until(Duration::from_secs(30), "gobgpd to answer", || {
            self.sh_output(speaker, "gobgp global", b"")
                .status
                .success()
        });
        self.sh(speaker, &format!("gobgp global rib add {prefix} -a ipv4"));
    }

    /// Whether `speaker`'s session with the router is Established, as GoBGP sees it.
    pub(crate) fn speaker_established(&self, speaker: &Host) -> bool {
        let text = self.sh(speaker, "gobgp neighbor -j");
        let json: serde_json::Value = serde_json::from_str(&text).expect("gobgp neighbor -j");
        json.as_array()
            .into_iter()
            .flatten()
            .any(|n| n["state"]["session_state"].as_i64() == Some(6))
    }
}

/// Polls `done` every 250 ms until it holds; panics after `timeout`. Returns how long it took.
pub(crate) fn wait_until(
    timeout: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if done() {
            return started.elapsed();
        }
        assert!(started.elapsed() < timeout, "waited {timeout:?} for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// POSIX single-quoting for the oracle's own command lines.
pub(crate) fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A /32 from the lab's stand-in for the book's MetalLB pool 10.4.11.0/24: TEST-NET-2, which
/// is never routed anywhere, so the router may learn it without any risk.
pub(crate) fn service_prefix(index: usize) -> String {
    format!("198.51.100.{}/32", 10 + index)
}
