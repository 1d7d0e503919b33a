//! The record the resource keeps on the host (`/var/lib/homelab/node.record`): which settings
//! it manages and what it changed that the files alone do not show (kernel command line flags
//! it added, swap units it turned off, a reboot it is waiting for), so import, removing a
//! setting and destroy know what to take back.

use std::collections::BTreeSet;

/// Where the record lives.
pub(super) const RECORD_FILE: &str = "/var/lib/homelab/node.record";

/// What the record holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Record {
    /// Names of the settings the resource manages (`hostname`, `sysctl`, …).
    pub(super) managed: BTreeSet<String>,
    /// Users whose `authorized_keys` hold the resource's block.
    pub(super) authorized_keys_users: BTreeSet<String>,
    /// Swap units turned off, with how (`disable` or `mask`).
    pub(super) swap_units: Vec<(String, String)>,
    /// Managed kernel command line flags.
    pub(super) cmdline_flags: Vec<String>,
    /// The subset of those the resource appended (the others were there before).
    pub(super) cmdline_added: Vec<String>,
    /// The boot ID during which a change that needs a reboot was made.
    pub(super) reboot_pending: Option<String>,
    /// Whether the resource reboots when a change needs it (`reboot = "if_needed"`), so an
    /// import reads the setting back.
    pub(super) reboot_if_needed: bool,
}

impl Record {
    /// Reads the record's lines; unknown lines are skipped (a newer provider may add some).
    pub(super) fn parse(text: &str) -> Record {
        let mut record = Record::default();
        for line in text.lines() {
            let Some((kind, rest)) = line.split_once(' ') else {
                continue;
            };
            let rest = rest.to_owned();
            match kind {
                "managed" => {
                    record.managed.insert(rest);
                }
                "authorized_keys_user" => {
                    record.authorized_keys_users.insert(rest);
                }
                "swap_unit" => {
                    if let Some((how, unit)) = rest.split_once(' ') {
                        record.swap_units.push((how.to_owned(), unit.to_owned()));
                    }
                }
                "cmdline_flag" => record.cmdline_flags.push(rest),
                "cmdline_added" => record.cmdline_added.push(rest),
                "reboot_pending" => record.reboot_pending = Some(rest),
                "reboot" => record.reboot_if_needed = rest == "if_needed",
                _ => {}
            }
        }
        record
    }

    /// The file's text; every value in it was validated as one word before.
    pub(super) fn render(&self) -> String {
        let mut text = "# homelab_node: what this resource manages here (read by import and \
                        destroy; do not edit)\n"
            .to_owned();
        let mut line = |kind: &str, value: &str| text.push_str(&format!("{kind} {value}\n"));
        for name in &self.managed {
            line("managed", name);
        }
        for user in &self.authorized_keys_users {
            line("authorized_keys_user", user);
        }
        for (how, unit) in &self.swap_units {
            line("swap_unit", &format!("{how} {unit}"));
        }
        for flag in &self.cmdline_flags {
            line("cmdline_flag", flag);
        }
        for flag in &self.cmdline_added {
            line("cmdline_added", flag);
        }
        if let Some(boot_id) = &self.reboot_pending {
            line("reboot_pending", boot_id);
        }
        if self.reboot_if_needed {
            line("reboot", "if_needed");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips() {
        let record = Record {
            managed: ["hostname".to_owned(), "swap".to_owned()].into(),
            authorized_keys_users: ["pi".to_owned()].into(),
            swap_units: vec![("disable".to_owned(), "dphys-swapfile.service".to_owned())],
            cmdline_flags: vec!["quiet".to_owned(), "cgroup_enable=memory".to_owned()],
            cmdline_added: vec!["cgroup_enable=memory".to_owned()],
            reboot_pending: Some("0f3c".to_owned()),
            reboot_if_needed: true,
        };
        assert_eq!(Record::parse(&record.render()), record);
        assert_eq!(Record::parse("garbage\nfuture_kind x\n"), Record::default());
    }
}
