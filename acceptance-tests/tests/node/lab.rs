//! The node lab: one lab host (which the lab already makes a node in its network sysctls and
//! the modules modprobe knows) prepared as a Raspberry Pi OS node, looked at with OpenSSH's own
//! client, never with the provider's code.

use std::io::Write;
use std::process::Stdio;

use acceptance_tests::cli::REQUIRED_PROVIDERS;
use acceptance_tests::lab::{Backend, Host, Lab, LabSpec};
use acceptance_tests::ssh_host::hcl_string;

/// The packages every node test's host gets: one list, so one cached image.
pub(crate) const PACKAGES: &[&str] = &["kmod", "procps", "tzdata"];

/// The original kernel command line of the fake Raspberry Pi boot partition.
pub(crate) const CMDLINE: &str = "console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n";

/// The original firmware configuration of the fake boot partition.
pub(crate) const CONFIG_TXT: &str = "# For more options see http://rptl.io/configtxt\ndtparam=audio=on\ncamera_auto_detect=1\n[all]\n";

/// The fstab swap line made by hand (a Raspberry Pi OS style swap file).
pub(crate) const FSTAB_SWAP_LINE: &str = "/var/swap none swap sw 0 0";

/// One prepared lab host.
pub(crate) struct NodeLab {
    pub(crate) lab: Lab,
    pub(crate) host: Host,
}

impl NodeLab {
    /// Boots one host and prepares it (see [`NodeLab::prepare`]).
    pub(crate) fn up() -> NodeLab {
        let lab = Lab::up(LabSpec {
            hosts: 1,
            packages: PACKAGES,
            ..LabSpec::default()
        })
        .expect("bring up the node lab");
        let host = lab.hosts()[0].clone();
        let node = NodeLab { lab, host };
        node.prepare();
        node
    }

    /// Boots one QEMU VM (a kernel of its own, with module files) and gives it the Raspberry Pi
    /// boot files; nothing else needs preparing on a real kernel.
    pub(crate) fn up_vm() -> NodeLab {
        let lab = Lab::up(LabSpec {
            hosts: 1,
            packages: PACKAGES,
            backend: Backend::Qemu,
            boot_timeout: Backend::Qemu.default_boot_timeout(),
        })
        .expect("bring up the node VM");
        let host = lab.hosts()[0].clone();
        let node = NodeLab { lab, host };
        node.write_boot_files();
        node
    }

    /// A Raspberry Pi boot partition as Raspberry Pi OS has it.
    fn write_boot_files(&self) {
        self.write("/boot/firmware/config.txt", CONFIG_TXT);
        self.write("/boot/firmware/cmdline.txt", CMDLINE);
    }

    /// Makes the lab's container (already a node in its network sysctls and built-in modules,
    /// see `acceptance_tests::lab`) a Raspberry Pi OS node: a Raspberry Pi boot partition
    /// (`/boot/firmware/{config.txt,cmdline.txt}`), a swap line in `/etc/fstab` and an enabled
    /// `dphys-swapfile.service` (a unit that only runs `true`).
    pub(crate) fn prepare(&self) {
        self.write_boot_files();
        self.sh(&format!("echo '{FSTAB_SWAP_LINE}' >> /etc/fstab"));
        self.write(
            "/etc/systemd/system/dphys-swapfile.service",
            "[Unit]\nDescription=Swap file (stand-in)\n[Service]\nType=oneshot\n\
             ExecStart=/bin/true\nRemainAfterExit=yes\n[Install]\nWantedBy=multi-user.target\n",
        );
        self.sh("systemctl daemon-reload && systemctl enable --now dphys-swapfile.service");
    }

    /// `terraform { … }` and the provider block reaching the host with the lab's key and
    /// known_hosts file.
    pub(crate) fn provider(&self) -> String {
        format!(
            "{REQUIRED_PROVIDERS}\nprovider \"homelab\" {{\n  ssh {{\n    user             = \"root\"\n    \
             private_key_path = {}\n    known_hosts_path = {}\n  }}\n}}\n",
            hcl_string(&self.lab.private_key_path().display().to_string()),
            hcl_string(&self.lab.known_hosts_path().display().to_string()),
        )
    }

    /// The host's address.
    pub(crate) fn address(&self) -> String {
        self.host.address.to_string()
    }

    /// Runs `script` with `sh -c` on the host; returns stdout, panicking on failure.
    pub(crate) fn sh(&self, script: &str) -> String {
        let output = self.sh_output(script, b"");
        assert!(
            output.status.success(),
            "`{script}` on {} failed: {}{}",
            self.host.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A file's content, `None` when it does not exist.
    pub(crate) fn file(&self, path: &str) -> Option<String> {
        let output = self.sh_output(&format!("cat {}", sh_quote(path)), b"");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Writes `content` to `path` by hand.
    pub(crate) fn write(&self, path: &str, content: &str) {
        let script = format!("mkdir -p \"$(dirname {0})\" && cat > {0}", sh_quote(path));
        let output = self.sh_output(&script, content.as_bytes());
        assert!(output.status.success(), "writing {path}: {output:?}");
    }

    /// A kernel parameter's live value.
    pub(crate) fn sysctl(&self, key: &str) -> String {
        self.sh(&format!("sysctl -n {}", sh_quote(key)))
            .trim()
            .to_owned()
    }

    fn sh_output(&self, script: &str, stdin: &[u8]) -> std::process::Output {
        let mut child = self
            .lab
            .ssh(&self.host)
            .arg(format!("sh -c {}", sh_quote(script)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ssh");
        let _ = child.stdin.take().expect("stdin").write_all(stdin);
        child.wait_with_output().expect("wait for ssh")
    }
}

/// POSIX single-quoting for the oracle's own command lines.
pub(crate) fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}
