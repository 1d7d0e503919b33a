//! The two tools, each run the way its users run it: ours with `terraform apply -auto-approve`
//! then `terraform plan -detailed-exitcode` on `bench/node_baseline/main.tf`; Ansible with
//! `ansible-playbook` on `bench/node_baseline/baseline.yml`, twice. Each run is measured and
//! must have done what it claims: converged, then found nothing to change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use acceptance_tests::apt_repo::{AptRepo, COMPONENT, SUITE};
use acceptance_tests::cli::{Workdir, workspace_root};
use acceptance_tests::lab::Lab;

use super::hosts::NODE_NAMES;
use super::measure::{Measured, measure};

/// The folder holding the baseline in both tools' languages.
fn baseline_dir() -> PathBuf {
    workspace_root().join("acceptance-tests/bench/node_baseline")
}

/// Which tool a round runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tool {
    /// terraform with this provider.
    Ours,
    /// ansible-playbook with its default settings (forks 5, pipelining off).
    Ansible,
    /// ansible-playbook with `pipelining = True`, the setting users tune first.
    AnsiblePipelining,
}

impl Tool {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Tool::Ours => "ours (terraform + homelab)",
            Tool::Ansible => "Ansible (defaults)",
            Tool::AnsiblePipelining => "Ansible (pipelining)",
        }
    }
}

/// One converged lab: the runs a tool needs, with its own files.
pub(crate) struct Session<'a> {
    tool: Tool,
    lab: &'a Lab,
    terraform: Option<Workdir>,
    ansible: Option<AnsibleDir>,
}

impl<'a> Session<'a> {
    /// Writes the tool's inputs for `lab` and the repository `repo`.
    pub(crate) fn new(tool: Tool, lab: &'a Lab, repo: &AptRepo) -> Session<'a> {
        let (mut terraform, mut ansible) = (None, None);
        match tool {
            Tool::Ours => terraform = Some(terraform_workdir(lab, repo)),
            Tool::Ansible => ansible = Some(AnsibleDir::new(lab, repo, false)),
            Tool::AnsiblePipelining => ansible = Some(AnsibleDir::new(lab, repo, true)),
        }
        Session {
            tool,
            lab,
            terraform,
            ansible,
        }
    }

    /// The first converge; panics unless it succeeded and changed every host.
    pub(crate) fn converge(&self) -> Measured {
        if let Some(workdir) = &self.terraform {
            let run =
                measure(|| workdir.spawn(&["apply", "-auto-approve", "-input=false", "-no-color"]));
            assert!(
                run.status.success(),
                "terraform apply failed\n{}",
                run.output()
            );
            return run;
        }
        let ansible = self.ansible.as_ref().expect("an Ansible session");
        let run = ansible.playbook();
        let recap = ansible.recap(&run, self.lab);
        for (host, stats) in &recap {
            assert!(
                stats.get("changed").copied().unwrap_or(0) > 0,
                "{}: the first run changed nothing on {host}\n{}",
                self.tool.label(),
                run.output()
            );
        }
        run
    }

    /// The no-op re-run; panics unless it found nothing to change.
    pub(crate) fn rerun(&self) -> Measured {
        if let Some(workdir) = &self.terraform {
            let run = measure(|| {
                workdir.spawn(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
            });
            assert!(
                run.status.code() == Some(0),
                "terraform plan after apply is not empty (exit 0 expected)\n{}",
                run.output()
            );
            return run;
        }
        let ansible = self.ansible.as_ref().expect("an Ansible session");
        let run = ansible.playbook();
        let recap = ansible.recap(&run, self.lab);
        for (host, stats) in &recap {
            assert!(
                stats.get("changed") == Some(&0),
                "{}: the second run changed {host}: {stats:?}\n{}",
                self.tool.label(),
                run.output()
            );
        }
        run
    }
}

/// The node names with their lab addresses, in the lab's order.
fn nodes(lab: &Lab) -> Vec<(&'static str, String)> {
    NODE_NAMES
        .iter()
        .zip(lab.hosts())
        .map(|(name, host)| (*name, host.address.to_string()))
        .collect()
}

fn terraform_workdir(lab: &Lab, repo: &AptRepo) -> Workdir {
    let config = std::fs::read_to_string(baseline_dir().join("main.tf")).expect("read main.tf");
    let nodes: serde_json::Map<String, serde_json::Value> = nodes(lab)
        .into_iter()
        .map(|(name, address)| (name.to_owned(), address.into()))
        .collect();
    let workdir = Workdir::new("bench_node")
        .with_env(
            "TF_VAR_nodes",
            &serde_json::Value::Object(nodes).to_string(),
        )
        .with_env(
            "TF_VAR_ssh_private_key_path",
            &lab.private_key_path().display().to_string(),
        )
        .with_env(
            "TF_VAR_ssh_known_hosts_path",
            &lab.known_hosts_path().display().to_string(),
        )
        .with_env("TF_VAR_apt_uri", &repo.url())
        .with_env("TF_VAR_apt_suite", SUITE)
        .with_env("TF_VAR_apt_component", COMPONENT)
        .with_env("TF_VAR_apt_key", repo.public_key());
    workdir.write_config(&config);
    workdir
}

/// A private directory for one Ansible session: inventory, the repository's key, an empty
/// configuration file (so no ansible.cfg of the machine applies), Ansible's home and its SSH
/// control sockets.
struct AnsibleDir {
    dir: tempfile::TempDir,
    pipelining: bool,
}

impl AnsibleDir {
    fn new(lab: &Lab, repo: &AptRepo, pipelining: bool) -> AnsibleDir {
        // Short: the control sockets' paths must fit in 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("hl-ans")
            .tempdir()
            .expect("a temporary directory");
        let key_file = dir.path().join("kubernetes.asc");
        std::fs::write(&key_file, repo.public_key()).expect("write the key");
        std::fs::write(dir.path().join("ansible.cfg"), "").expect("write ansible.cfg");
        let hosts: serde_json::Map<String, serde_json::Value> = nodes(lab)
            .into_iter()
            .map(|(name, address)| {
                let vars = serde_json::json!({"ansible_host": address, "node_name": name});
                (name.to_owned(), vars)
            })
            .collect();
        let cluster: serde_json::Map<String, serde_json::Value> = nodes(lab)
            .into_iter()
            .map(|(name, address)| (name.to_owned(), address.into()))
            .collect();
        let ssh_args = format!(
            "-o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null \
             -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
            lab.known_hosts_path().display()
        );
        // JSON is YAML: the inventory plugin reads it as inventory.yml.
        let inventory = serde_json::json!({
            "nodes": {
                "hosts": hosts,
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": lab.private_key_path(),
                    "ansible_ssh_common_args": ssh_args,
                    "cluster": cluster,
                    "apt_uri": repo.url(),
                    "apt_suite": SUITE,
                    "apt_components": COMPONENT,
                    "apt_key_file": key_file,
                }
            }
        });
        std::fs::write(
            dir.path().join("inventory.yml"),
            serde_json::to_string_pretty(&inventory).expect("inventory"),
        )
        .expect("write the inventory");
        AnsibleDir { dir, pipelining }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// One `ansible-playbook` run; afterwards its SSH master connections (OpenSSH
    /// ControlPersist, on by default) are closed, so every run starts as cold as terraform's
    /// provider does and no process outlives the round.
    fn playbook(&self) -> Measured {
        let program = std::env::var("HOMELAB_BENCH_ANSIBLE_PLAYBOOK")
            .unwrap_or_else(|_| "ansible-playbook".to_owned());
        let mut command = Command::new(program);
        command
            .arg("-i")
            .arg(self.path("inventory.yml"))
            .arg(baseline_dir().join("baseline.yml"))
            .current_dir(self.dir.path())
            .env("ANSIBLE_CONFIG", self.path("ansible.cfg"))
            .env("ANSIBLE_HOME", self.path("home"))
            .env("ANSIBLE_LOCAL_TEMP", self.path("tmp"))
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", self.path("cp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env(
                "ANSIBLE_PIPELINING",
                if self.pipelining { "True" } else { "False" },
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let run = measure(|| command.spawn().expect("start ansible-playbook"));
        self.close_master_connections();
        run
    }

    fn close_master_connections(&self) {
        let Ok(sockets) = std::fs::read_dir(self.path("cp")) else {
            return;
        };
        for socket in sockets.flatten() {
            let _ = Command::new("ssh")
                .args(["-F", "/dev/null", "-o"])
                .arg(format!("ControlPath={}", socket.path().display()))
                .args(["-O", "exit", "bench-node"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// The PLAY RECAP's counters per host; panics unless the run succeeded on every host.
    fn recap(&self, run: &Measured, lab: &Lab) -> BTreeMap<String, BTreeMap<String, u64>> {
        assert!(
            run.status.success(),
            "ansible-playbook failed\n{}",
            run.output()
        );
        let recap = parse_recap(&run.stdout);
        let expected: Vec<&str> = NODE_NAMES[..lab.hosts().len()].to_vec();
        assert_eq!(
            recap.keys().map(String::as_str).collect::<Vec<_>>(),
            {
                let mut sorted = expected.clone();
                sorted.sort_unstable();
                sorted
            },
            "the recap does not list every node\n{}",
            run.output()
        );
        for (host, stats) in &recap {
            assert!(
                stats.get("failed") == Some(&0) && stats.get("unreachable") == Some(&0),
                "{host}: {stats:?}\n{}",
                run.output()
            );
        }
        recap
    }
}

/// `host : ok=20 changed=3 unreachable=0 failed=0 …` lines after `PLAY RECAP`.
fn parse_recap(stdout: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let Some((_, recap)) = stdout.split_once("PLAY RECAP") else {
        return BTreeMap::new();
    };
    recap
        .lines()
        .filter_map(|line| {
            let (host, counters) = line.split_once(" : ")?;
            let counters = counters
                .split_whitespace()
                .filter_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    Some((key.to_owned(), value.parse().ok()?))
                })
                .collect();
            Some((host.trim().to_owned(), counters))
        })
        .collect()
}

/// The versions of both tools, for the report.
pub(crate) fn versions() -> String {
    let first_line = |program: &Path, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let ansible = std::env::var("HOMELAB_BENCH_ANSIBLE_PLAYBOOK")
        .unwrap_or_else(|_| "ansible-playbook".to_owned());
    let terraform = acceptance_tests::cli::terraform_cli();
    format!(
        "{}; {}",
        first_line(&terraform, "version"),
        first_line(Path::new(&ansible), "--version")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recap_is_read_per_host() {
        let stdout = "TASK [x]\nok: [a]\n\nPLAY RECAP *****\nallyrion                   : ok=22   changed=18   unreachable=0    failed=0    skipped=1\nbettley : ok=22 changed=0 unreachable=0 failed=0\n";
        let recap = parse_recap(stdout);
        assert_eq!(recap["allyrion"]["changed"], 18);
        assert_eq!(recap["bettley"]["changed"], 0);
        assert_eq!(recap.len(), 2);
    }
}
