//! The NFS tests' lab: nspawn hosts with nfs-kernel-server (exportfs, mount.nfs), looked at
//! with OpenSSH's own client (never with the provider's code).

use acceptance_tests::cli::{REQUIRED_PROVIDERS, require_tf_acc};
use acceptance_tests::lab::{Host, Lab, LabSpec};
use acceptance_tests::ssh_host::{TestHost, hcl_string};

/// The packages both NFS test files' hosts get: one list, so one cached image.
pub(crate) const PACKAGES: &[&str] = &["nfs-kernel-server"];

/// A lab of NFS hosts.
pub(crate) struct NfsLab {
    pub(crate) lab: Lab,
    hosts: Vec<TestHost>,
}

impl NfsLab {
    /// Boots `hosts` hosts.
    pub(crate) fn up(hosts: usize) -> NfsLab {
        require_tf_acc();
        let lab = Lab::up(LabSpec {
            hosts,
            packages: PACKAGES,
            ..LabSpec::default()
        })
        .expect("bring up the NFS lab");
        let hosts = lab.hosts().iter().map(oracle).collect();
        NfsLab { lab, hosts }
    }

    /// Host `index` as the oracle sees it.
    pub(crate) fn host(&self, index: usize) -> &TestHost {
        &self.hosts[index]
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
}

fn oracle(host: &Host) -> TestHost {
    TestHost::new(
        host.address.to_string(),
        host.port,
        host.host_key.clone(),
        host.user.clone(),
        host.private_key_path.clone(),
    )
}

/// Runs `script` (`$1`… from `args`) on `host`; returns stdout, panicking on failure.
pub(crate) fn sh(host: &TestHost, script: &str, args: &[&str]) -> String {
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
