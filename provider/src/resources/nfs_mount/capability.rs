//! What a client host can do for an NFS mount, read in one round trip before anything changes:
//! the autofs device that systemd needs before it runs `.automount` units, the NFS filesystem
//! type in the kernel (registered, or loadable as a module), and the mount.nfs helper.

use crate::ssh::{Command, Session};
use crate::tf::{AttributePath, Diagnostic, Diagnostics};

/// Prints one word per capability the host has. `$1` is the filesystem type (`nfs`, `nfs4`).
/// systemd treats `.automount` units as unsupported unless `/dev/autofs` exists; the kernel
/// loads a filesystem through the `fs-TYPE` module alias when a mount asks for it, so a type
/// that is neither registered nor loadable cannot be mounted.
const PROBE_SCRIPT: &str = r#"fs=$1
if [ -e /dev/autofs ]; then echo autofs; fi
if grep -qw -- "$fs" /proc/filesystems 2>/dev/null || modprobe -n -q -- "fs-$fs" 2>/dev/null; then echo filesystem; fi
if [ -x /sbin/mount.nfs ] || [ -x /usr/sbin/mount.nfs ]; then echo helper; fi
exit 0
"#;

/// What the probe found on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ClientCapabilities {
    /// `/dev/autofs` exists: systemd runs `.automount` units.
    pub(super) autofs: bool,
    /// The kernel has the filesystem type or can load it.
    pub(super) filesystem: bool,
    /// mount.nfs (nfs-common) is installed.
    pub(super) helper: bool,
}

impl ClientCapabilities {
    /// Parses the probe's output.
    fn parse(stdout: &str) -> ClientCapabilities {
        let has = |word: &str| stdout.lines().any(|line| line.trim() == word);
        ClientCapabilities {
            autofs: has("autofs"),
            filesystem: has("filesystem"),
            helper: has("helper"),
        }
    }

    /// Errors for what the mount needs and the host lacks (each on the attribute that asks for
    /// it), and a warning when mount.nfs is missing: a `homelab_packages` in the same plan may
    /// install nfs-common before the mount starts.
    pub(super) fn diagnostics(&self, host: &str, fs_type: &str, automount: bool) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        if automount && !self.autofs {
            diagnostics.push(
                Diagnostic::error(
                    "Host cannot run automount units",
                    format!(
                        "{host} has no /dev/autofs: its kernel offers no autofs (the autofs4 \
                         module is missing or not loaded), and systemd refuses .automount units \
                         without it. Load autofs4 on the host, or set automount = false to mount \
                         at once. Nothing was changed."
                    ),
                )
                .at(AttributePath::root("automount")),
            );
        }
        if !self.filesystem {
            diagnostics.push(
                Diagnostic::error(
                    "Host has no NFS client support",
                    format!(
                        "{host}'s kernel neither lists {fs_type:?} in /proc/filesystems nor can \
                         load it (modprobe fs-{fs_type}), so the mount could never start (a \
                         container shares its machine's kernel, which may lack NFS). Use a host \
                         whose kernel has the NFS client. Nothing was changed."
                    ),
                )
                .at(AttributePath::root("fs_type")),
            );
        }
        if !self.helper {
            diagnostics.push(
                Diagnostic::warning(
                    "mount.nfs is not installed",
                    format!(
                        "{host} has no /sbin/mount.nfs; the mount fails to start unless \
                         nfs-common is installed first (e.g. by homelab_packages in this plan)."
                    ),
                )
                .at(AttributePath::root("server")),
            );
        }
        diagnostics
    }
}

/// Reads what `session`'s host offers for a mount of `fs_type`.
pub(super) async fn probe(
    session: &Session<'_>,
    fs_type: &str,
) -> Result<ClientCapabilities, Diagnostics> {
    let host = &session.target().host;
    let output = session
        .run_checked(&Command::shell_script(PROBE_SCRIPT).arg(fs_type))
        .await
        .map_err(|e| {
            Diagnostics::from(e.to_diagnostic(&format!(
                "checking {host} for autofs and NFS client support"
            )))
        })?;
    Ok(ClientCapabilities::parse(&String::from_utf8_lossy(
        &output.stdout,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(diagnostics: &Diagnostics) -> Vec<(bool, String)> {
        diagnostics
            .iter()
            .map(|d| {
                (
                    d.severity == crate::tf::diagnostics::Severity::Error,
                    d.attribute
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn a_host_with_everything_gets_no_diagnostic() {
        let all = ClientCapabilities::parse("autofs\nfilesystem\nhelper\n");
        assert!(all.diagnostics("node1", "nfs", true).is_empty());
    }

    #[test]
    fn missing_autofs_matters_only_for_automounts() {
        let no_autofs = ClientCapabilities::parse("filesystem\nhelper\n");
        assert!(no_autofs.diagnostics("node1", "nfs", false).is_empty());
        let diagnostics = no_autofs.diagnostics("node1", "nfs", true);
        assert_eq!(paths(&diagnostics), [(true, "automount".to_owned())]);
        let detail = &diagnostics.iter().next().unwrap().detail;
        assert!(
            detail.contains("node1") && detail.contains("/dev/autofs"),
            "{detail}"
        );
    }

    #[test]
    fn a_container_without_nfs_or_autofs_names_both_attributes() {
        let nothing = ClientCapabilities::parse("");
        assert_eq!(
            paths(&nothing.diagnostics("node1", "nfs4", true)),
            [
                (true, "automount".to_owned()),
                (true, "fs_type".to_owned()),
                (false, "server".to_owned())
            ]
        );
    }
}
