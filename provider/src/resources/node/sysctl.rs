//! Kernel parameters: key syntax, where a key lives under `/proc/sys`, the file in
//! `/etc/sysctl.d` the resource owns, and the key sysctl's own messages name.

use std::collections::BTreeMap;

/// The file the resource writes its parameters to (late in the order, so it wins).
pub(super) const SYSCTL_FILE: &str = "/etc/sysctl.d/99-homelab.conf";

/// The first line of files the resource owns.
pub(super) const OWNED_FILE_HEADER: &str =
    "# Managed by Terraform (homelab_node); edits are overwritten.\n";

/// A key as sysctl takes it: dot-separated words of letters, digits, `_`, `-`, and `/` (sysctl
/// writes a `.` inside one name, such as an interface `eth0.10`, as `/`).
pub(super) fn check_key(key: &str) -> Result<(), String> {
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/".contains(c))
    };
    if key.len() > 255 || key.starts_with('-') || !key.split('.').all(word_ok) {
        return Err(
            "a sysctl key is dot-separated words of letters, digits, '_', '-' and '/', like \
             \"net.ipv4.ip_forward\""
                .into(),
        );
    }
    Ok(())
}

/// Values as the kernel prints them (tabs between numbers) compare equal to values written
/// with spaces.
pub(super) fn normalize_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of the owned file for these parameters.
pub(super) fn render_file(parameters: &BTreeMap<String, String>) -> String {
    let mut text = OWNED_FILE_HEADER.to_owned();
    for (key, value) in parameters {
        text.push_str(&format!("{key} = {value}\n"));
    }
    text
}

/// The parameters in a sysctl.d file (comments and blank lines skipped, a later key wins).
pub(super) fn parse_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(['#', ';']))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            (
                key.trim().trim_start_matches('-').to_owned(),
                value.trim().to_owned(),
            )
        })
        .collect()
}

/// The key a sysctl error message names (`… on key "vm.swappiness"`, `setting key
/// "net.ipv4.ip_forward": Invalid argument`, `cannot stat /proc/sys/kernel/x`).
pub(super) fn key_in_message(message: &str) -> Option<String> {
    if let Some((_, rest)) = message.split_once("key \"") {
        return rest.split_once('"').map(|(key, _)| key.to_owned());
    }
    let (_, rest) = message.split_once("/proc/sys/")?;
    let path = rest.split(|c: char| c == ':' || c.is_whitespace()).next()?;
    Some(
        path.chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                c => c,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for good in [
            "net.ipv4.ip_forward",
            "net.ipv4.conf.eth0/10.rp_filter",
            "vm.swappiness",
        ] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", "net..x", "-vm.x", "vm.x=1", "vm x", "a.$(id)", "../x"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_owned_file_round_trips_and_values_compare_by_words() {
        let parameters: BTreeMap<String, String> = [
            ("net.ipv4.ip_forward".to_owned(), "1".to_owned()),
            (
                "net.ipv4.tcp_rmem".to_owned(),
                "4096 87380 6291456".to_owned(),
            ),
        ]
        .into();
        assert_eq!(parse_file(&render_file(&parameters)), parameters);
        assert_eq!(
            normalize_value("4096\t87380  6291456\n"),
            "4096 87380 6291456"
        );
        assert_eq!(
            parse_file("; c\n# c\n-kernel.x=2\n kernel.x = 3 \n"),
            [("kernel.x".to_owned(), "3".to_owned())].into()
        );
    }

    #[test]
    fn the_key_is_found_in_sysctls_messages() {
        assert_eq!(
            key_in_message("sysctl: permission denied on key \"vm.swappiness\"").as_deref(),
            Some("vm.swappiness")
        );
        assert_eq!(
            key_in_message("sysctl: setting key \"net.ipv4.ip_forward\": Invalid argument")
                .as_deref(),
            Some("net.ipv4.ip_forward")
        );
        assert_eq!(
            key_in_message(
                "sysctl: cannot stat /proc/sys/kernel/no_such: No such file or directory"
            )
            .as_deref(),
            Some("kernel.no_such")
        );
        assert_eq!(key_in_message("something else"), None);
    }
}
