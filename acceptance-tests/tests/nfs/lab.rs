//! The NFS tests' lab: hosts with nfs-kernel-server (exportfs, mount.nfs), looked at with
//! OpenSSH's own client (never with the provider's code). Containers for what needs no kernel
//! of its own (exports: exportfs keeps its table without nfsd; refusals on hosts without autofs
//! or an NFS client, which every container is), QEMU VMs for what does (mount units, automounts).

use acceptance_tests::cli::{REQUIRED_PROVIDERS, require_tf_acc};
use acceptance_tests::lab::{Backend, Lab, LabSpec};
pub(crate) use acceptance_tests::ssh_host::sh;
use acceptance_tests::ssh_host::{TestHost, hcl_string};

/// The packages every NFS test's hosts get (tests/nfs_vm.rs and tests/lab_vm.rs too): one
/// list, so one cached image per backend.
pub(crate) const PACKAGES: &[&str] = &["nfs-kernel-server"];

/// A lab of NFS hosts.
pub(crate) struct NfsLab {
    pub(crate) lab: Lab,
    hosts: Vec<TestHost>,
}

impl NfsLab {
    /// Boots `hosts` containers: no autofs and no NFS client, on every machine.
    pub(crate) fn up(hosts: usize) -> NfsLab {
        NfsLab::up_on(hosts, Backend::Nspawn)
    }

    /// Boots `hosts` QEMU VMs: Debian's kernel, with autofs and the NFS client and server.
    #[allow(dead_code, reason = "tests/nfs_export.rs uses containers only")]
    pub(crate) fn up_vms(hosts: usize) -> NfsLab {
        NfsLab::up_on(hosts, Backend::Qemu)
    }

    fn up_on(hosts: usize, backend: Backend) -> NfsLab {
        require_tf_acc();
        let lab = Lab::up(LabSpec {
            hosts,
            packages: PACKAGES,
            backend,
            boot_timeout: backend.default_boot_timeout(),
        })
        .expect("bring up the NFS lab");
        let hosts = lab.hosts().iter().map(TestHost::of_lab_host).collect();
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
