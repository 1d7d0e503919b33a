//! Which provider processes the CLI started in a working directory, and which SSH connections
//! each one opened: a wrapper replaces the plugin symlink and keeps every process's own log.
//!
//! Terraform starts several provider processes per command (Terraform 1.11: some that only
//! answer schema and validation calls, then one per plan or apply phase), so "one connection per host" is a statement
//! about each process. The hosts' sshd logs count the logins; these logs say which process made
//! them.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::cli::{Workdir, provider_binary};

/// The message the provider logs (at debug) for every SSH connection it opens.
const CONNECTED_MESSAGE: &str = "\"@message\":\"ssh connected\"";

/// The logs of every provider process started in one [`Workdir`].
#[derive(Debug)]
pub struct ProviderProcesses {
    dir: PathBuf,
}

impl ProviderProcesses {
    /// Replaces `workdir`'s provider with a wrapper that records each start: it `exec`s the real
    /// binary (so the PID terraform sees is the provider's) with `TF_LOG_PROVIDER_HOMELAB=debug`
    /// and its stderr appended to `<dir>/<pid>.log`. Terraform then sees no provider log lines,
    /// which only matters to someone reading `TF_LOG` output.
    pub fn install(workdir: &Workdir) -> ProviderProcesses {
        let dir = workdir.plugin_dir().join("process-logs");
        std::fs::create_dir_all(&dir).expect("create the process log directory");
        let wrapper = workdir.plugin_dir().join("terraform-provider-homelab");
        std::fs::remove_file(&wrapper).expect("remove the provider symlink");
        let script = format!(
            "#!/bin/sh\nTF_LOG_PROVIDER_HOMELAB=debug\nexport TF_LOG_PROVIDER_HOMELAB\n\
             exec {} \"$@\" 2>>{}/$$.log\n",
            sh_quote(&provider_binary().display().to_string()),
            sh_quote(&dir.display().to_string()),
        );
        std::fs::write(&wrapper, script).expect("write the provider wrapper");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
            .expect("make the wrapper executable");
        ProviderProcesses { dir }
    }

    /// The PIDs of every provider process started so far.
    pub fn started(&self) -> BTreeSet<u32> {
        std::fs::read_dir(&self.dir)
            .expect("read the process log directory")
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".log")?.parse().ok()
            })
            .collect()
    }

    /// How many SSH connections process `pid` opened to `target` (`user@host:port`).
    pub fn connections(&self, pid: u32, target: &str) -> usize {
        let log = std::fs::read_to_string(self.dir.join(format!("{pid}.log"))).unwrap_or_default();
        let target_field = format!("\"target\":\"{target}\"");
        log.lines()
            .filter(|line| line.contains(CONNECTED_MESSAGE) && line.contains(&target_field))
            .count()
    }
}

fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
