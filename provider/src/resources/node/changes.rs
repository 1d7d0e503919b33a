//! What must change on a host to reach the wanted settings, worked out without I/O from what
//! the host has now: the checks to run first, the files to write or remove, the live changes,
//! and the new record. Unmanaged settings (`None`) take back what the record says was ours.

use std::collections::BTreeSet;

use super::fstab;
use super::host_state::{HostState, MODULES_FILE, SWAP_UNITS, unit_starts};
use super::hosts_file;
use super::marked_block::with_block;
use super::raspberry_pi;
use super::record::{RECORD_FILE, Record};
use super::settings::Settings;
use super::sysctl::{OWNED_FILE_HEADER, SYSCTL_FILE, render_file};
use crate::tf::{AttributePath, Diagnostic};

/// How a file changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FileAction {
    /// Written atomically, keeping an existing file's mode and owner (new files: 0644 root).
    Write,
    /// A user's `authorized_keys`: `.ssh` made 0700 and the file 0600, both the user's.
    WriteForUser(String),
    /// A symbolic link to the content, replaced atomically.
    Link,
    /// Removed.
    Remove,
}

/// One file change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileEdit {
    /// What happens.
    pub(super) action: FileAction,
    /// Absolute path.
    pub(super) path: String,
    /// The new content or link target (empty for removals).
    pub(super) content: String,
}

/// Everything apply does, in the order it does it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Changes {
    /// A time zone that must exist under `/usr/share/zoneinfo`.
    pub(super) timezone_check: Option<String>,
    /// Modules to load with modprobe before anything is written.
    pub(super) modules_to_load: Vec<String>,
    /// The new sysctl file, applied with `sysctl -p` from a temporary file before anything is
    /// written, with the keys whose values are restored if that fails.
    pub(super) sysctl_file: Option<(String, Vec<String>)>,
    /// The host name to set live.
    pub(super) hostname_live: Option<String>,
    /// Whether to run `swapoff -a`.
    pub(super) swapoff: bool,
    /// `systemctl` verbs and units (`disable`, `mask`, `enable`, `unmask`).
    pub(super) unit_actions: Vec<(String, String)>,
    /// File edits, after the checks passed.
    pub(super) files: Vec<FileEdit>,
    /// The record after the change.
    pub(super) record: Record,
    /// Whether a boot file changed, so the change takes effect at the next boot.
    pub(super) boot_files_changed: bool,
    /// Settings that cannot be managed on this host (shown as warnings).
    pub(super) warnings: Vec<String>,
}

impl Changes {
    /// Whether nothing on the host changes.
    pub(super) fn is_empty(&self) -> bool {
        self.timezone_check.is_none()
            && self.modules_to_load.is_empty()
            && self.sysctl_file.is_none()
            && self.hostname_live.is_none()
            && !self.swapoff
            && self.unit_actions.is_empty()
            && self.files.is_empty()
    }

    fn write(&mut self, host: &HostState, path: &str, content: String) {
        self.write_as(host, FileAction::Write, path, content);
    }

    fn write_as(&mut self, host: &HostState, action: FileAction, path: &str, content: String) {
        if host.file(path) != Some(content.as_str()) {
            self.files.push(FileEdit {
                action,
                path: path.to_owned(),
                content,
            });
        }
    }

    fn remove(&mut self, host: &HostState, path: &str) {
        if host.file(path).is_some() {
            self.files.push(FileEdit {
                action: FileAction::Remove,
                path: path.to_owned(),
                content: String::new(),
            });
        }
    }
}

/// The changes that take `host` to `wanted`; an error names the attribute that cannot be met.
pub(super) fn changes(wanted: &Settings, host: &HostState) -> Result<Changes, Diagnostic> {
    let old = host.record();
    let mut changes = Changes::default();
    let mut record = Record::default();
    let mut manage = |name: &str, managed: bool| {
        if managed {
            record.managed.insert(name.to_owned());
        }
    };
    manage("hostname", wanted.hostname.is_some());
    manage("timezone", wanted.timezone.is_some());
    manage("swap", wanted.swap.is_some());
    manage("kernel_modules", wanted.kernel_modules.is_some());
    manage("sysctl", wanted.sysctl.is_some());
    manage("hosts_entries", wanted.hosts_entries.is_some());
    manage("authorized_keys", wanted.authorized_keys.is_some());
    manage("raspberry_pi", wanted.raspberry_pi.is_some());

    let mut hosts = host.file("/etc/hosts").unwrap_or("").to_owned();
    if let Some(name) = &wanted.hostname {
        if host.hostname != *name {
            changes.hostname_live = Some(name.clone());
        }
        changes.write(host, "/etc/hostname", format!("{name}\n"));
        hosts = hosts_file::with_self_line(&hosts, name);
    }
    hosts = hosts_file::with_entries(&hosts, wanted.hosts_entries.as_ref());
    if host.file("/etc/hosts").is_some() || !hosts.is_empty() {
        changes.write(host, "/etc/hosts", hosts);
    }

    if let Some(zone) = &wanted.timezone {
        let target = format!("/usr/share/zoneinfo/{zone}");
        if host.localtime != target || host.file("/etc/timezone") != Some(&format!("{zone}\n")) {
            changes.timezone_check = Some(zone.clone());
        }
        if host.localtime != target {
            changes.files.push(FileEdit {
                action: FileAction::Link,
                path: "/etc/localtime".into(),
                content: target,
            });
        }
        changes.write(host, "/etc/timezone", format!("{zone}\n"));
    }

    plan_swap(wanted, host, &old, &mut changes, &mut record);

    match &wanted.kernel_modules {
        Some(modules) => {
            changes.modules_to_load = modules
                .iter()
                .filter(|m| !host.module_loaded(m))
                .cloned()
                .collect();
            let mut text = OWNED_FILE_HEADER.to_owned();
            for module in modules {
                text.push_str(module);
                text.push('\n');
            }
            changes.write(host, MODULES_FILE, text);
        }
        None => changes.remove(host, MODULES_FILE),
    }

    match &wanted.sysctl {
        Some(parameters) => {
            let text = render_file(parameters);
            let live_differs = parameters.iter().any(|(key, value)| {
                host.sysctl.get(key).cloned().flatten()
                    != Some(super::sysctl::normalize_value(value))
            });
            if live_differs || host.file(SYSCTL_FILE) != Some(text.as_str()) {
                changes.sysctl_file = Some((text, parameters.keys().cloned().collect()));
            }
        }
        None => changes.remove(host, SYSCTL_FILE),
    }

    plan_authorized_keys(wanted, host, &old, &mut changes, &mut record)?;
    plan_raspberry_pi(wanted, host, &old, &mut changes, &mut record);

    record.reboot_if_needed = wanted.reboot_if_needed;
    record.reboot_pending = if changes.boot_files_changed {
        Some(host.boot_id.clone())
    } else {
        old.reboot_pending.filter(|id| *id == host.boot_id)
    };
    if record.managed.is_empty() {
        // Nothing managed (destroy): nothing to take back later, so no record.
        record = Record::default();
        changes.remove(host, RECORD_FILE);
    } else {
        changes.write(host, RECORD_FILE, record.render());
    }
    changes.record = record;
    Ok(changes)
}

fn plan_swap(
    wanted: &Settings,
    host: &HostState,
    old: &Record,
    changes: &mut Changes,
    record: &mut Record,
) {
    let fstab = host.file("/etc/fstab");
    if wanted.swap == Some(false) {
        changes.swapoff = host.active_swaps > 0;
        if let Some(text) = fstab {
            changes.write(host, "/etc/fstab", fstab::without_swap_lines(text));
        }
        record.swap_units = old.swap_units.clone();
        for unit in SWAP_UNITS {
            let state = host.units.get(unit).map(String::as_str).unwrap_or("");
            if unit_starts(state) {
                let how = if state.starts_with("enabled") {
                    "disable"
                } else {
                    "mask"
                };
                changes.unit_actions.push((how.to_owned(), unit.to_owned()));
                if !record.swap_units.iter().any(|(_, u)| u == unit) {
                    record.swap_units.push((how.to_owned(), unit.to_owned()));
                }
            }
        }
    } else if old.managed.contains("swap") {
        if let Some(text) = fstab {
            changes.write(host, "/etc/fstab", fstab::with_swap_lines_restored(text));
        }
        for (how, unit) in &old.swap_units {
            let undo = if how == "mask" { "unmask" } else { "enable" };
            changes.unit_actions.push((undo.to_owned(), unit.clone()));
        }
    }
}

fn plan_authorized_keys(
    wanted: &Settings,
    host: &HostState,
    old: &Record,
    changes: &mut Changes,
    record: &mut Record,
) -> Result<(), Diagnostic> {
    let wanted_users = wanted.authorized_keys.clone().unwrap_or_default();
    for (user, keys) in &wanted_users {
        let Some(home) = host.homes.get(user).cloned().flatten() else {
            return Err(Diagnostic::error(
                "No such user",
                format!("authorized_keys names user {user:?}, who does not exist on the host."),
            )
            .at(AttributePath::root("authorized_keys").key(user)));
        };
        let text = host
            .authorized_keys
            .get(user)
            .cloned()
            .flatten()
            .unwrap_or_default();
        let path = format!("{home}/.ssh/authorized_keys");
        let new = with_block(&text, Some(keys));
        if text != new || host.authorized_keys.get(user).cloned().flatten().is_none() {
            changes.files.push(FileEdit {
                action: FileAction::WriteForUser(user.clone()),
                path,
                content: new,
            });
        }
        record.authorized_keys_users.insert(user.clone());
    }
    let dropped: BTreeSet<&String> = old
        .authorized_keys_users
        .iter()
        .filter(|user| !wanted_users.contains_key(*user))
        .collect();
    for user in dropped {
        if let (Some(Some(home)), Some(Some(text))) =
            (host.homes.get(user), host.authorized_keys.get(user))
        {
            let new = with_block(text, None);
            if new != *text {
                changes.files.push(FileEdit {
                    action: FileAction::WriteForUser(user.clone()),
                    path: format!("{home}/.ssh/authorized_keys"),
                    content: new,
                });
            }
        }
    }
    Ok(())
}

fn plan_raspberry_pi(
    wanted: &Settings,
    host: &HostState,
    old: &Record,
    changes: &mut Changes,
    record: &mut Record,
) {
    let before = changes.files.len();
    let pi = wanted.raspberry_pi.clone().unwrap_or_default();
    match host.config_txt() {
        Some((path, text)) => {
            let new = with_block(text, pi.config_txt.as_deref());
            changes.write(host, path, new);
        }
        None if pi.config_txt.is_some() => changes.warnings.push(
            "raspberry_pi.config_txt is not managed: neither /boot/firmware/config.txt nor \
             /boot/config.txt exists on this host."
                .into(),
        ),
        None => {}
    }
    let wanted_flags = pi.cmdline_flags.clone().unwrap_or_default();
    match host.cmdline_txt() {
        Some((path, text)) => {
            let remove: Vec<String> = old
                .cmdline_added
                .iter()
                .filter(|flag| !wanted_flags.contains(flag))
                .cloned()
                .collect();
            let (new, added) = raspberry_pi::edited(text, &wanted_flags, &remove);
            if remove.is_empty() && added.is_empty() {
                // Nothing to add or take away: the line keeps its bytes.
            } else {
                changes.write(host, path, new);
            }
            record.cmdline_flags = wanted_flags.clone();
            record.cmdline_added = old
                .cmdline_added
                .iter()
                .filter(|flag| wanted_flags.contains(flag))
                .cloned()
                .chain(
                    added
                        .into_iter()
                        .filter(|flag| !old.cmdline_added.contains(flag)),
                )
                .collect();
        }
        None if pi.cmdline_flags.is_some() => changes.warnings.push(
            "raspberry_pi.cmdline_flags is not managed: neither /boot/firmware/cmdline.txt nor \
             /boot/cmdline.txt exists on this host."
                .into(),
        ),
        None => {}
    }
    changes.boot_files_changed = changes.files.len() > before;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::node::settings::RaspberryPi;

    fn host() -> HostState {
        HostState::parse(
            "hostname\t\thost1\nlocaltime\t\t/usr/share/zoneinfo/Etc/UTC\nboot_id\t\tb1\n\
             swaps\t\t0\nfile\t/etc/hosts\tMTI3LjAuMC4xCWxvY2FsaG9zdAo=\n\
             file\t/etc/fstab\tL3Zhci9zd2FwIG5vbmUgc3dhcCBzdyAwIDAK\n\
             file\t/boot/firmware/cmdline.txt\tcm9vdHdhaXQgcXVpZXQK\n\
             unit\tdphys-swapfile.service\tenabled\nmodule\toverlay\t1\nmodule\tbr_netfilter\t0\n\
             home\troot\t/root\nkeys\troot\t-\n",
        )
        .unwrap()
    }

    /// The host after `changes` were applied (files only), for a second round.
    fn after(host: &HostState, changes: &Changes) -> HostState {
        let mut next = host.clone();
        for edit in &changes.files {
            let content = (edit.action != FileAction::Remove).then(|| edit.content.clone());
            match &edit.action {
                FileAction::WriteForUser(user) => {
                    next.authorized_keys.insert(user.clone(), content);
                }
                FileAction::Link => next.localtime = edit.content.clone(),
                _ => {
                    next.files.insert(edit.path.clone(), content);
                }
            }
        }
        next
    }

    #[test]
    fn everything_is_changed_once_and_taken_back_on_delete() {
        let host = host();
        let wanted = Settings {
            hostname: Some("allyrion".into()),
            timezone: Some("Europe/Berlin".into()),
            swap: Some(false),
            kernel_modules: Some(vec!["br_netfilter".into(), "overlay".into()]),
            authorized_keys: Some(
                [("root".to_owned(), vec!["ssh-ed25519 AAAA k".to_owned()])].into(),
            ),
            raspberry_pi: Some(RaspberryPi {
                config_txt: None,
                cmdline_flags: Some(vec!["quiet".into(), "cgroup_enable=memory".into()]),
            }),
            ..Settings::default()
        };
        let first = changes(&wanted, &host).unwrap();
        assert_eq!(first.hostname_live.as_deref(), Some("allyrion"));
        assert_eq!(first.timezone_check.as_deref(), Some("Europe/Berlin"));
        assert_eq!(first.modules_to_load, ["br_netfilter"]);
        assert_eq!(
            first.unit_actions,
            [("disable".to_owned(), "dphys-swapfile.service".to_owned())]
        );
        assert!(first.boot_files_changed);
        assert_eq!(first.record.cmdline_added, ["cgroup_enable=memory"]);
        assert_eq!(first.record.reboot_pending.as_deref(), Some("b1"));
        let hosts = &first
            .files
            .iter()
            .find(|f| f.path == "/etc/hosts")
            .unwrap()
            .content;
        assert_eq!(hosts, "127.0.0.1\tlocalhost\n127.0.1.1\tallyrion\n");

        let mut applied = after(&host, &first);
        applied.hostname = "allyrion".into();
        applied.modules.insert("br_netfilter".into(), true);
        applied
            .units
            .insert("dphys-swapfile.service".into(), "disabled".into());
        let second = changes(&wanted, &applied).unwrap();
        assert!(second.is_empty(), "{second:#?}");

        let removed = changes(&Settings::default(), &applied).unwrap();
        assert_eq!(
            removed.unit_actions,
            [("enable".to_owned(), "dphys-swapfile.service".to_owned())]
        );
        let back = after(&applied, &removed);
        assert_eq!(back.file("/etc/fstab"), host.file("/etc/fstab"));
        assert_eq!(
            back.file("/boot/firmware/cmdline.txt"),
            Some("rootwait quiet\n")
        );
        assert_eq!(back.file(MODULES_FILE), None);
        assert_eq!(back.file(RECORD_FILE), None, "{removed:#?}");
        assert_eq!(back.authorized_keys["root"].as_deref(), Some(""));
    }

    #[test]
    fn a_missing_user_or_boot_file_is_reported() {
        let wanted = Settings {
            authorized_keys: Some([("ghost".to_owned(), vec![])].into()),
            ..Settings::default()
        };
        let error = changes(&wanted, &host()).unwrap_err();
        assert_eq!(
            error.attribute.map(|a| a.to_string()).as_deref(),
            Some("authorized_keys[\"ghost\"]")
        );
        let pi = Settings {
            raspberry_pi: Some(RaspberryPi {
                config_txt: Some(vec!["dtparam=audio=off".into()]),
                cmdline_flags: None,
            }),
            ..Settings::default()
        };
        assert_eq!(changes(&pi, &host()).unwrap().warnings.len(), 1);
    }
}
