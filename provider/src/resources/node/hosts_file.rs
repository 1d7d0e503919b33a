//! `/etc/hosts` as the resource edits it: the `127.0.1.1` line that names the host itself, and
//! the entries in the marked block.

use std::collections::BTreeMap;

use super::marked_block::{block_lines, with_block};

/// The address Debian gives the host's own name.
const SELF_ADDRESS: &str = "127.0.1.1";

/// The names on the `127.0.1.1` line; `None` when there is no such line.
pub(super) fn self_line_names(text: &str) -> Option<Vec<String>> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(SELF_ADDRESS)).then(|| {
            words
                .take_while(|w| !w.starts_with('#'))
                .map(str::to_owned)
                .collect()
        })
    })
}

/// `text` with the `127.0.1.1` line naming `hostname`: an existing line is replaced, else one
/// is added after the last `127.0.0.1` line (or first).
pub(super) fn with_self_line(text: &str, hostname: &str) -> String {
    let wanted = format!("{SELF_ADDRESS}\t{hostname}\n");
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let is_self = |line: &str| line.split_whitespace().next() == Some(SELF_ADDRESS);
    if let Some(line) = lines.iter_mut().find(|line| is_self(line)) {
        *line = wanted;
    } else {
        let after = lines
            .iter()
            .rposition(|line| line.split_whitespace().next() == Some("127.0.0.1"))
            .map_or(0, |i| i + 1);
        if after > 0 && !lines[after - 1].ends_with('\n') {
            lines[after - 1].push('\n');
        }
        lines.insert(after, wanted);
    }
    lines.concat()
}

/// The block's lines for these entries, one address per line.
pub(super) fn entry_lines(entries: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    entries
        .iter()
        .map(|(address, names)| format!("{address}\t{}", names.join(" ")))
        .collect()
}

/// The entries in the block; `None` when there is no block.
pub(super) fn entries(text: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let mut entries: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in block_lines(text)? {
        let mut words = line.split_whitespace();
        if let Some(address) = words.next() {
            entries
                .entry(address.to_owned())
                .or_default()
                .extend(words.map(str::to_owned));
        }
    }
    Some(entries)
}

/// `text` with the block holding exactly `entries` (taken out when `None`).
pub(super) fn with_entries(text: &str, entries: Option<&BTreeMap<String, Vec<String>>>) -> String {
    with_block(text, entries.map(entry_lines).as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n";

    #[test]
    fn the_self_line_is_added_after_localhost_or_replaced() {
        let added = with_self_line(DEBIAN, "allyrion");
        assert_eq!(
            added,
            "127.0.0.1\tlocalhost\n127.0.1.1\tallyrion\n::1\t\tlocalhost ip6-localhost\n"
        );
        assert_eq!(self_line_names(&added), Some(vec!["allyrion".to_owned()]));
        let replaced = with_self_line(&added.replace("allyrion", "raspberrypi old"), "bettley");
        assert_eq!(replaced, with_self_line(DEBIAN, "bettley"));
        assert_eq!(self_line_names(DEBIAN), None);
        assert_eq!(with_self_line("", "a"), "127.0.1.1\ta\n");
    }

    #[test]
    fn entries_round_trip_through_the_block() {
        let entries: BTreeMap<String, Vec<String>> = [
            (
                "10.4.0.10".to_owned(),
                vec!["allyrion".to_owned(), "a.lab".to_owned()],
            ),
            ("fd00::1".to_owned(), vec!["v6".to_owned()]),
        ]
        .into();
        let text = with_entries(DEBIAN, Some(&entries));
        assert!(text.starts_with(DEBIAN));
        assert_eq!(super::entries(&text), Some(entries));
        assert_eq!(with_entries(&text, None), DEBIAN);
        assert_eq!(super::entries(DEBIAN), None);
    }
}
