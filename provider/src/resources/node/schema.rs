//! The schema of `homelab_node` and the checks that need no I/O.

use std::net::IpAddr;
use std::time::Duration;

use super::sysctl::check_key;
use crate::ssh;
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type, Value,
    timeouts,
};

/// How long create and update may take by default, a reboot and the wait for SSH included.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The values `reboot` accepts.
pub(super) const REBOOT_CHOICES: [&str; 2] = ["never", "if_needed"];

pub(super) fn schema() -> Schema {
    let strings = || Type::list(Type::String);
    Schema {
        version: 0,
        block: Block::new(
            "The base settings of a Linux node: host name, time zone, swap off, kernel modules, \
             sysctls, `/etc/hosts` entries, SSH authorized keys and the Raspberry Pi boot \
             configuration. Every setting is optional: one left unset is not managed and not \
             read. Settings are read back on every refresh from the live system and from the \
             files that make them last (a hand edit of either shows as drift), all in one SSH \
             command. A change is checked before anything is written: kernel modules are \
             loaded with `modprobe` and the new sysctl file is applied with `sysctl -p` first, \
             and if either fails the host is left as it was (sysctl values are restored) and \
             the tool's own message is shown. What the resource adds is marked (blocks between \
             `# BEGIN homelab_node` and `# END homelab_node`, its own files, fstab lines it \
             commented out) and recorded in `/var/lib/homelab/node.record`, so removing a \
             setting or destroying the resource takes away exactly that and leaves the rest; \
             host name and time zone stay as they are. Import with the host.",
            vec![
                ssh::resource_config::host_attribute(),
                Attribute::optional("hostname", Type::String).describe(
                    "The host name (one RFC 1123 label: letters, digits and `-`, at most 63). \
                     Set live, in `/etc/hostname`, and as the `127.0.1.1` line of \
                     `/etc/hosts` (replaced if there is one). When one of the three differs, \
                     the value read says which (e.g. `\"allyrion, but /etc/hostname says \
                     …\"`), so the plan shows what drifted.",
                ),
                Attribute::optional("timezone", Type::String).describe(
                    "The time zone, e.g. `Europe/Berlin` or `Etc/UTC`: `/etc/localtime` links \
                     to `/usr/share/zoneinfo/<timezone>` and `/etc/timezone` names it. A zone \
                     the host does not have is an error at plan.",
                ),
                Attribute::optional("swap", Type::Bool).describe(
                    "Only `false` is accepted: swap is turned off now (`swapoff -a`) and after \
                     a reboot (swap lines of `/etc/fstab` are commented out with a marker, and \
                     `dphys-swapfile.service` and `zramswap.service` are disabled where \
                     present). Reads as `true` while any swap is active, any fstab swap line \
                     is in force or either unit is enabled. Removing the setting restores the \
                     fstab lines and units for the next boot.",
                ),
                Attribute::optional("kernel_modules", Type::set(Type::String)).describe(
                    "Kernel modules loaded now (`modprobe`) and at every boot (listed in \
                     `/etc/modules-load.d/homelab.conf`). A module counts as loaded when \
                     `/proc/modules` lists it, `/sys/module/<name>` exists or it is built into \
                     the kernel (`modules.builtin`). Names are letters, digits, `_` and `-`; a \
                     module the host cannot load is an error at plan. Removing a module stops \
                     loading it at boot and leaves it loaded.",
                ),
                Attribute::optional("sysctl", Type::map(Type::String)).describe(
                    "Kernel parameters, e.g. `{ \"net.ipv4.ip_forward\" = \"1\" }`, applied \
                     now and written to `/etc/sysctl.d/99-homelab.conf`. A key the host does \
                     not have is an error at plan; a value the kernel refuses is an error \
                     carrying sysctl's message, with every value restored and no file \
                     written. Values compare with runs of blanks as one space. Removing a key \
                     leaves its current value until the next boot.",
                ),
                Attribute::optional("hosts_entries", Type::map(strings())).describe(
                    "Lines of `/etc/hosts`: address to host names, e.g. `{ \"10.4.0.10\" = \
                     [\"allyrion\", \"allyrion.lab\"] }`, kept in a marked block; lines \
                     outside the block are left alone.",
                ),
                Attribute::optional("authorized_keys", Type::map(strings())).describe(
                    "SSH public keys per user, e.g. `{ root = [\"ssh-ed25519 AAAA… me\"] }`, \
                     kept in a marked block of the user's `~/.ssh/authorized_keys` (created \
                     with mode 0600 in a 0700 `.ssh` owned by the user). Keys outside the \
                     block, such as the one the provider logs in with, are left alone. One \
                     key per line: a key with a line break is an error at plan.",
                ),
                Attribute::optional("reboot", Type::String)
                    .default_value("never")
                    .describe(
                        "`\"never\"` (default): a change that needs a reboot only sets \
                         `reboot_required`. `\"if_needed\"`: after such a change the node \
                         reboots, and apply waits until SSH answers with a new boot ID within \
                         the create or update timeout.",
                    ),
                Attribute::computed("reboot_required", Type::Bool).describe(
                    "Whether a change this resource made (the Raspberry Pi boot files) takes \
                     effect only after a reboot that has not happened yet (the boot ID has not \
                     changed since).",
                ),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("The host, the import ID."),
            ],
        )
        .with_block(ssh::resource_config::resource_block())
        .with_block(NestedBlock::single(
            "raspberry_pi",
            Block::new(
                "Raspberry Pi boot configuration, in `/boot/firmware/config.txt` and \
                 `/boot/firmware/cmdline.txt` (or `/boot/config.txt` and `/boot/cmdline.txt` \
                 on older systems). When the files do not exist, plan warns and nothing is \
                 managed. A change sets `reboot_required`.",
                vec![
                    Attribute::optional("config_txt", strings()).describe(
                        "Lines of the firmware configuration, e.g. `[\"dtparam=audio=off\"]`, \
                         kept in a marked block at the end of `config.txt` (so they win over \
                         earlier lines).",
                    ),
                    Attribute::optional("cmdline_flags", strings()).describe(
                        "Kernel command line flags, e.g. `[\"cgroup_enable=memory\"]`, added \
                         to the single line of `cmdline.txt` when missing; the other flags \
                         stay. Only flags this resource added are removed again.",
                    ),
                ],
            ),
        ))
        .with_block(timeouts::block(&[
            ("create", DEFAULT_TIMEOUT),
            ("update", DEFAULT_TIMEOUT),
        ])),
    }
}

/// Checks configuration that may hold unknown values; every error names its attribute.
pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = ssh::resource_config::validate_resource(config);
    diagnostics.extend(timeouts::validate(config));
    let mut error = |summary: &str, detail: String, path: AttributePath| {
        diagnostics.push(Diagnostic::error(summary, detail).at(path));
    };
    if let Some(name) = config.attr("hostname").as_str()
        && let Err(reason) = check_hostname(name)
    {
        error(
            "Invalid hostname",
            format!("hostname {name:?}: {reason}."),
            AttributePath::root("hostname"),
        );
    }
    if let Some(zone) = config.attr("timezone").as_str()
        && let Err(reason) = check_timezone(zone)
    {
        error(
            "Invalid timezone",
            format!("timezone {zone:?}: {reason}."),
            AttributePath::root("timezone"),
        );
    }
    if config.attr("swap").as_bool() == Some(true) {
        error(
            "Unsupported swap setting",
            "swap can only be false (turn swap off); leave it unset to not manage swap.".into(),
            AttributePath::root("swap"),
        );
    }
    for module in known_strings(config.attr("kernel_modules")) {
        if let Err(reason) = check_module(module) {
            error(
                "Invalid kernel module name",
                format!("kernel_modules {module:?}: {reason}."),
                AttributePath::root("kernel_modules"),
            );
        }
    }
    if let Some(entries) = config.attr("sysctl").as_entries() {
        for (key, value) in entries {
            let at = AttributePath::root("sysctl").key(key);
            if let Err(reason) = check_key(key) {
                error(
                    "Invalid sysctl key",
                    format!("{key:?}: {reason}."),
                    at.clone(),
                );
            }
            if let Some(text) = value.as_str()
                && let Err(reason) = check_line(text)
            {
                error("Invalid sysctl value", format!("{key}: {reason}."), at);
            }
        }
    }
    if let Some(entries) = config.attr("hosts_entries").as_entries() {
        for (address, names) in entries {
            let at = AttributePath::root("hosts_entries").key(address);
            if address.parse::<IpAddr>().is_err() {
                error(
                    "Invalid address",
                    format!("hosts_entries key {address:?} is not an IPv4 or IPv6 address."),
                    at.clone(),
                );
            }
            for (i, name) in indexed_strings(names) {
                if let Err(reason) = check_hosts_name(name) {
                    error(
                        "Invalid host name",
                        format!("hosts_entries[{address:?}] {name:?}: {reason}."),
                        at.clone().index(i),
                    );
                }
            }
        }
    }
    if let Some(users) = config.attr("authorized_keys").as_entries() {
        for (user, keys) in users {
            let at = AttributePath::root("authorized_keys").key(user);
            if let Err(reason) = check_user(user) {
                error(
                    "Invalid user",
                    format!("authorized_keys key {user:?}: {reason}."),
                    at.clone(),
                );
            }
            for (i, key) in indexed_strings(keys) {
                if let Err(reason) = check_authorized_key(key) {
                    error(
                        "Invalid authorized key",
                        format!("authorized_keys[{user:?}][{i}]: {reason}."),
                        at.clone().index(i),
                    );
                }
            }
        }
    }
    let pi = config.attr("raspberry_pi");
    for (i, line) in indexed_strings(pi.attr("config_txt")) {
        if let Err(reason) = check_line(line) {
            error(
                "Invalid config.txt line",
                format!("{line:?}: {reason}."),
                AttributePath::root("raspberry_pi")
                    .attr("config_txt")
                    .index(i),
            );
        }
    }
    for (i, flag) in indexed_strings(pi.attr("cmdline_flags")) {
        if flag.is_empty() || flag.contains(char::is_whitespace) {
            error(
                "Invalid kernel command line flag",
                format!("{flag:?}: a flag is one word without blanks or line breaks."),
                AttributePath::root("raspberry_pi")
                    .attr("cmdline_flags")
                    .index(i),
            );
        }
    }
    if let Some(choice) = config.attr("reboot").as_str()
        && !REBOOT_CHOICES.contains(&choice)
    {
        error(
            "Invalid reboot",
            format!("reboot must be \"never\" or \"if_needed\", not {choice:?}."),
            AttributePath::root("reboot"),
        );
    }
    diagnostics
}

/// The known strings of a list or set (unknown elements are judged later).
pub(super) fn known_strings(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_elements()
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_str)
}

fn indexed_strings(value: &Value) -> impl Iterator<Item = (i64, &str)> {
    value
        .as_elements()
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_str().map(|s| (i as i64, s)))
}

/// One RFC 1123 label.
pub(super) fn check_hostname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err("a host name has 1 to 63 characters".into());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("only letters, digits and '-' are allowed".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must not start or end with '-'".into());
    }
    Ok(())
}

/// A zone name as tzdata spells them: `Area/Location` words, no `..`.
pub(super) fn check_timezone(zone: &str) -> Result<(), String> {
    let word_ok = |w: &str| {
        !w.is_empty()
            && w != "."
            && w != ".."
            && !w.starts_with('-')
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c))
    };
    if zone.split('/').all(word_ok) {
        Ok(())
    } else {
        Err("a time zone is a tzdata name like \"Europe/Berlin\" or \"Etc/UTC\"".into())
    }
}

/// A module name as modprobe takes it.
pub(super) fn check_module(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 56 {
        return Err("a module name has 1 to 56 characters".into());
    }
    if name.starts_with('-') {
        return Err("it must not start with '-'".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("only letters, digits, '_' and '-' are allowed".into());
    }
    Ok(())
}

/// A name on an `/etc/hosts` line.
fn check_hosts_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if ok {
        Ok(())
    } else {
        Err("a host name has letters, digits, '-', '_' and '.' only".into())
    }
}

/// A login name as `useradd` accepts it by default.
pub(super) fn check_user(user: &str) -> Result<(), String> {
    let ok = !user.is_empty()
        && user.len() <= 32
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && user.chars().any(|c| c.is_ascii_alphabetic() || c == '_');
    if ok {
        Ok(())
    } else {
        Err("a user name has letters, digits, '_', '.' and '-' only".into())
    }
}

/// One `authorized_keys` line: options are allowed, comments and line breaks are not.
fn check_authorized_key(key: &str) -> Result<(), String> {
    check_line(key)?;
    if key.trim().is_empty() || key.trim_start().starts_with('#') {
        return Err(
            "a key line is `[options] TYPE BASE64 [comment]`, not empty or a comment".into(),
        );
    }
    Ok(())
}

/// A value that becomes one line of a file.
fn check_line(text: &str) -> Result<(), String> {
    if text.contains(['\n', '\r', '\0']) {
        return Err("it must be one line: line breaks and NUL bytes are not allowed".into());
    }
    if text
        .trim_start()
        .starts_with(super::marked_block::MARK_PREFIX)
    {
        return Err("it must not look like the resource's own block markers".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    fn config(entries: Vec<(&str, Value)>) -> Value {
        let mut config = Value::object([("host", "10.4.0.10".into())]);
        for (name, value) in entries {
            config.set_attr(name, value);
        }
        config
    }

    fn strings(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::from(*s)).collect())
    }

    #[test]
    fn a_good_configuration_passes() {
        let good = config(vec![
            ("hostname", "allyrion".into()),
            ("timezone", "America/Argentina/Buenos_Aires".into()),
            ("swap", false.into()),
            (
                "kernel_modules",
                Value::Set(vec!["br_netfilter".into(), "nf-nat".into()]),
            ),
            (
                "sysctl",
                Value::Map([("net.ipv4.ip_forward".to_owned(), "1".into())].into()),
            ),
            (
                "hosts_entries",
                Value::Map([("10.4.0.10".to_owned(), strings(&["allyrion", "a.lab"]))].into()),
            ),
            (
                "authorized_keys",
                Value::Map(
                    [(
                        "root".to_owned(),
                        strings(&["ssh-ed25519 AAAA x $(touch /tmp/pwned); \"q\" 'q'"]),
                    )]
                    .into(),
                ),
            ),
            ("reboot", "if_needed".into()),
        ]);
        assert!(validate(&good).is_empty(), "{:?}", validate(&good));
    }

    #[test]
    fn each_bad_value_names_its_attribute() {
        let bad = config(vec![
            ("hostname", "node_1".into()),
            ("timezone", "../../etc/passwd".into()),
            ("swap", true.into()),
            ("kernel_modules", Value::Set(vec!["br netfilter;".into()])),
            (
                "sysctl",
                Value::Map([("net..x".to_owned(), "1\n2".into())].into()),
            ),
            (
                "hosts_entries",
                Value::Map([("10.4.0.300".to_owned(), strings(&["$(touch /tmp/pwned)"]))].into()),
            ),
            (
                "authorized_keys",
                Value::Map([("root".to_owned(), strings(&["ssh-ed25519 AAAA\nevil"]))].into()),
            ),
            ("reboot", "always".into()),
        ]);
        assert_eq!(
            paths(&validate(&bad)),
            [
                "hostname",
                "timezone",
                "swap",
                "kernel_modules",
                "sysctl[\"net..x\"]",
                "sysctl[\"net..x\"]",
                "hosts_entries[\"10.4.0.300\"]",
                "hosts_entries[\"10.4.0.300\"][0]",
                "authorized_keys[\"root\"][0]",
                "reboot"
            ]
        );
    }

    #[test]
    fn unknown_values_are_not_judged_yet() {
        let unknown = config(vec![
            ("hostname", Value::unknown()),
            ("kernel_modules", Value::unknown()),
            ("sysctl", Value::unknown()),
        ]);
        assert!(validate(&unknown).is_empty());
    }

    #[test]
    fn the_schema_keeps_terraform_core_rules() {
        assert!(schema().block.validity_errors().is_empty());
    }
}
