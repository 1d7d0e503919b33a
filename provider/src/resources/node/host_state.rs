//! Everything the resource reads from a host, gathered by one fixed script in one SSH round
//! trip: live values (host name, time zone link, swaps, units, modules, sysctls, boot ID) and
//! the files that make them last, file contents base64-encoded so any bytes survive.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::raspberry_pi::{CMDLINE_TXT_PATHS, CONFIG_TXT_PATHS};
use super::record::{RECORD_FILE, Record};
use crate::ssh::Command;

/// The file listing the managed modules for systemd-modules-load.
pub(super) const MODULES_FILE: &str = "/etc/modules-load.d/homelab.conf";

/// Swap units the resource turns off where present.
pub(super) const SWAP_UNITS: [&str; 2] = ["dphys-swapfile.service", "zramswap.service"];

/// The fixed read script. Arguments: `$1` users, `$2` modules, `$3` sysctl keys, each a
/// newline-separated list (the script adds the ones its own files and record name). Every
/// output line is `KIND<TAB>NAME<TAB>VALUE`; files and sysctl values are base64, `-` when absent.
const READ_SCRIPT: &str = r#"LC_ALL=C
export LC_ALL
record=/var/lib/homelab/node.record
b64() { if [ -f "$2" ] && [ -r "$2" ]; then printf '%s\t%s\t' "$1" "$3"; base64 -w0 < "$2" || printf -; printf '\n'; else printf '%s\t%s\t-\n' "$1" "$3"; fi; }
printf 'hostname\t\t%s\n' "$(cat /proc/sys/kernel/hostname)"
printf 'localtime\t\t%s\n' "$(readlink /etc/localtime 2>/dev/null)"
printf 'boot_id\t\t%s\n' "$(cat /proc/sys/kernel/random/boot_id)"
printf 'swaps\t\t%s\n' "$(tail -n +2 /proc/swaps 2>/dev/null | grep -c .)"
for f in /etc/hostname /etc/timezone /etc/hosts /etc/fstab /etc/modules-load.d/homelab.conf \
  /etc/sysctl.d/99-homelab.conf "$record" /boot/firmware/config.txt /boot/config.txt \
  /boot/firmware/cmdline.txt /boot/cmdline.txt; do b64 file "$f" "$f"; done
for u in dphys-swapfile.service zramswap.service; do
  printf 'unit\t%s\t%s\n' "$u" "$(systemctl is-enabled "$u" 2>/dev/null | head -n 1)"
done
builtin=/lib/modules/$(uname -r)/modules.builtin
{ printf '%s\n' "$2"; grep -v '^#' /etc/modules-load.d/homelab.conf 2>/dev/null; } | sort -u |
while read -r m; do
  case $m in ''|-*|*[!A-Za-z0-9_-]*) continue ;; esac
  n=$(printf '%s' "$m" | tr - _)
  if grep -q "^$n " /proc/modules 2>/dev/null || [ -d "/sys/module/$n" ] ||
    { [ -f "$builtin" ] && tr - _ < "$builtin" | grep -q "/$n\.ko$"; }; then s=1; else s=0; fi
  printf 'module\t%s\t%s\n' "$m" "$s"
done
{ printf '%s\n' "$3"; sed -n 's/^[[:space:]]*-\{0,1\}\([A-Za-z0-9_./-]*\)[[:space:]]*=.*/\1/p' \
  /etc/sysctl.d/99-homelab.conf 2>/dev/null; } | sort -u |
while read -r k; do
  case $k in ''|-*|*..*|*[!A-Za-z0-9_./-]*) continue ;; esac
  b64 sysctl "/proc/sys/$(printf '%s' "$k" | tr './' '/.')" "$k"
done
{ printf '%s\n' "$1"; sed -n 's/^authorized_keys_user //p' "$record" 2>/dev/null; } | sort -u |
while read -r u; do
  case $u in ''|-*|*[!A-Za-z0-9_.-]*) continue ;; esac
  h=$(getent passwd "$u" | cut -d: -f6)
  printf 'home\t%s\t%s\n' "$u" "$h"
  [ -n "$h" ] || continue
  # Read as the user, never as root: the user owns ~/.ssh and could point its files anywhere.
  k=$(runuser -u "$u" -- sh -c '[ -f "$1" ] && [ -r "$1" ] && base64 -w0 < "$1"; echo ".$?"' sh "$h/.ssh/authorized_keys" 2>/dev/null)
  case $k in *.0) printf 'keys\t%s\t%s\n' "$u" "${k%.0}" ;; *) printf 'keys\t%s\t-\n' "$u" ;; esac
done
exit 0
"#;

/// The read command for these users, modules and sysctl keys.
pub(super) fn read_command<'a>(
    users: impl IntoIterator<Item = &'a str>,
    modules: impl IntoIterator<Item = &'a str>,
    sysctl_keys: impl IntoIterator<Item = &'a str>,
) -> Command {
    let list = |items: Vec<&str>| items.join("\n");
    Command::shell_script(READ_SCRIPT)
        .arg(list(users.into_iter().collect()))
        .arg(list(modules.into_iter().collect()))
        .arg(list(sysctl_keys.into_iter().collect()))
}

/// What the read script found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct HostState {
    /// The kernel's host name.
    pub(super) hostname: String,
    /// Where `/etc/localtime` links to (empty when it is no link).
    pub(super) localtime: String,
    /// The current boot's ID.
    pub(super) boot_id: String,
    /// Active swap areas.
    pub(super) active_swaps: usize,
    /// File contents by path; `None` when absent.
    pub(super) files: BTreeMap<String, Option<String>>,
    /// `systemctl is-enabled` of each swap unit (empty when the unit does not exist).
    pub(super) units: BTreeMap<String, String>,
    /// Whether each module asked about (or listed in the owned file) is loaded.
    pub(super) modules: BTreeMap<String, bool>,
    /// Live sysctl values by key, normalized; `None` when the key does not exist.
    pub(super) sysctl: BTreeMap<String, Option<String>>,
    /// Each user's home directory (`None` when the user does not exist).
    pub(super) homes: BTreeMap<String, Option<String>>,
    /// Each user's `authorized_keys`; `None` when absent.
    pub(super) authorized_keys: BTreeMap<String, Option<String>>,
}

impl HostState {
    /// Parses the script's output.
    pub(super) fn parse(output: &str) -> Result<HostState, String> {
        let mut state = HostState::default();
        let decode = |value: &str| -> Result<Option<String>, String> {
            if value == "-" {
                return Ok(None);
            }
            let bytes = STANDARD
                .decode(value)
                .map_err(|e| format!("bad base64 from the host: {e}"))?;
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        };
        for line in output.lines() {
            let mut parts = line.splitn(3, '\t');
            let (Some(kind), Some(name), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let name = name.to_owned();
            match kind {
                "hostname" => state.hostname = value.trim().to_owned(),
                "localtime" => state.localtime = value.to_owned(),
                "boot_id" => state.boot_id = value.trim().to_owned(),
                "swaps" => state.active_swaps = value.trim().parse().unwrap_or(0),
                "file" => {
                    state.files.insert(name, decode(value)?);
                }
                "unit" => {
                    state.units.insert(name, value.trim().to_owned());
                }
                "module" => {
                    state.modules.insert(name, value == "1");
                }
                "sysctl" => {
                    let live = decode(value)?.map(|v| super::sysctl::normalize_value(&v));
                    state.sysctl.insert(name, live);
                }
                "home" => {
                    state
                        .homes
                        .insert(name, Some(value.to_owned()).filter(|h| !h.is_empty()));
                }
                "keys" => {
                    state.authorized_keys.insert(name, decode(value)?);
                }
                _ => {}
            }
        }
        if state.boot_id.is_empty() || state.hostname.is_empty() {
            return Err(format!("no host name or boot ID in {output:?}"));
        }
        Ok(state)
    }

    /// A file's content; `None` when absent.
    pub(super) fn file(&self, path: &str) -> Option<&str> {
        self.files.get(path).and_then(|f| f.as_deref())
    }

    /// The record the resource left here (empty when none).
    pub(super) fn record(&self) -> Record {
        self.file(RECORD_FILE)
            .map(Record::parse)
            .unwrap_or_default()
    }

    /// The time zone `/etc/localtime` links to, when it links into zoneinfo.
    pub(super) fn timezone(&self) -> Option<&str> {
        let (_, zone) = self.localtime.split_once("zoneinfo/")?;
        Some(zone.trim_end())
    }

    /// The firmware configuration file in use: its path and content.
    pub(super) fn config_txt(&self) -> Option<(&'static str, &str)> {
        CONFIG_TXT_PATHS
            .into_iter()
            .find_map(|path| self.file(path).map(|text| (path, text)))
    }

    /// The kernel command line file in use: its path and content.
    pub(super) fn cmdline_txt(&self) -> Option<(&'static str, &str)> {
        CMDLINE_TXT_PATHS
            .into_iter()
            .find_map(|path| self.file(path).map(|text| (path, text)))
    }

    /// Whether any swap is on or set to come on at boot.
    pub(super) fn swap_on(&self) -> bool {
        self.active_swaps > 0
            || self
                .file("/etc/fstab")
                .is_some_and(super::fstab::has_swap_lines)
            || self.units.values().any(|state| unit_starts(state))
    }

    /// Whether a module is loaded.
    pub(super) fn module_loaded(&self, name: &str) -> bool {
        self.modules.get(name).copied().unwrap_or(false)
    }
}

/// Whether a unit in this `systemctl is-enabled` state starts at boot.
pub(super) fn unit_starts(state: &str) -> bool {
    matches!(
        state,
        "enabled" | "enabled-runtime" | "static" | "generated" | "alias" | "indirect"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_parses() {
        let output = "hostname\t\thost1\nlocaltime\t\t/usr/share/zoneinfo/Etc/UTC\n\
                      boot_id\t\tabc\nswaps\t\t0\nfile\t/etc/hostname\taG9zdDEK\n\
                      file\t/etc/timezone\t-\nunit\tdphys-swapfile.service\tenabled\n\
                      unit\tzramswap.service\t\nmodule\toverlay\t1\nmodule\tnope\t0\n\
                      sysctl\tnet.ipv4.ip_forward\tMQo=\nsysctl\tkernel.x\t-\n\
                      home\troot\t/root\nkeys\troot\t-\nhome\tghost\t\n";
        let state = HostState::parse(output).unwrap();
        assert_eq!(state.hostname, "host1");
        assert_eq!(state.timezone(), Some("Etc/UTC"));
        assert_eq!(state.file("/etc/hostname"), Some("host1\n"));
        assert_eq!(state.file("/etc/timezone"), None);
        assert!(state.swap_on(), "dphys-swapfile is enabled");
        assert!(state.module_loaded("overlay") && !state.module_loaded("nope"));
        assert_eq!(state.sysctl["net.ipv4.ip_forward"].as_deref(), Some("1"));
        assert_eq!(state.sysctl["kernel.x"], None);
        assert_eq!(state.homes["root"].as_deref(), Some("/root"));
        assert_eq!(state.homes["ghost"], None);
        assert!(HostState::parse("garbage").is_err());
    }

    /// The fixed script runs under `sh` here and reports this machine.
    #[test]
    fn the_script_runs_under_sh() {
        let output = std::process::Command::new("sh")
            .args([
                "-c",
                READ_SCRIPT,
                "sh",
                "root",
                "no_such_module",
                "kernel.ostype",
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let state = HostState::parse(&String::from_utf8_lossy(&output.stdout)).unwrap();
        assert_eq!(state.sysctl["kernel.ostype"].as_deref(), Some("Linux"));
        assert!(!state.module_loaded("no_such_module"));
        assert_eq!(state.homes["root"].as_deref(), Some("/root"));
    }
}
