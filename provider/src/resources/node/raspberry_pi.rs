//! The Raspberry Pi boot files: where they are, and the kernel command line's flags.

/// Where the firmware configuration may be, newest layout first.
pub(super) const CONFIG_TXT_PATHS: [&str; 2] = ["/boot/firmware/config.txt", "/boot/config.txt"];
/// Where the kernel command line may be, newest layout first.
pub(super) const CMDLINE_TXT_PATHS: [&str; 2] = ["/boot/firmware/cmdline.txt", "/boot/cmdline.txt"];

/// The flags on the command line (its first line; the firmware reads no other).
pub(super) fn flags(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The command line with `remove` taken out and the missing `add` flags appended, as one line.
/// Returns the text and the flags that were appended.
pub(super) fn edited(text: &str, add: &[String], remove: &[String]) -> (String, Vec<String>) {
    let mut flags: Vec<String> = flags(text)
        .into_iter()
        .filter(|flag| !remove.contains(flag))
        .collect();
    let mut added = Vec::new();
    for flag in add {
        if !flags.contains(flag) {
            flags.push(flag.clone());
            added.push(flag.clone());
        }
    }
    (format!("{}\n", flags.join(" ")), added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_are_appended_once_and_only_ours_are_removed() {
        let cmdline = "console=tty1 root=PARTUUID=1 rootwait quiet\n";
        let (text, added) = edited(cmdline, &owned(&["cgroup_enable=memory", "quiet"]), &[]);
        assert_eq!(
            text,
            "console=tty1 root=PARTUUID=1 rootwait quiet cgroup_enable=memory\n"
        );
        assert_eq!(
            added,
            owned(&["cgroup_enable=memory"]),
            "quiet was there already"
        );
        let (back, none) = edited(&text, &[], &added);
        assert_eq!(back, cmdline);
        assert!(none.is_empty());
        assert_eq!(flags("a b\nignored"), owned(&["a", "b"]));
    }
}
