//! Swap lines of `/etc/fstab`: commented out with a marker so they can be put back exactly.

/// What a swap line the resource turned off starts with.
const MARK: &str = "#homelab_node swap off# ";

fn is_swap_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.starts_with('#') && trimmed.split_whitespace().nth(2) == Some("swap")
}

/// Whether a swap line is in force (would be used at the next boot).
pub(super) fn has_swap_lines(text: &str) -> bool {
    text.lines().any(is_swap_line)
}

/// `text` with every swap line commented out behind the marker.
pub(super) fn without_swap_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            if is_swap_line(line) {
                format!("{MARK}{line}")
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// `text` with the swap lines the resource commented out put back.
pub(super) fn with_swap_lines_restored(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| line.strip_prefix(MARK).unwrap_or(line))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_lines_are_commented_out_and_restored_exactly() {
        let fstab = "UUID=1 / ext4 defaults 0 1\n/var/swap none swap sw 0 0\n# /old none swap sw 0 0\n/dev/zram0\tnone\tswap\tdefaults";
        assert!(has_swap_lines(fstab));
        let off = without_swap_lines(fstab);
        assert!(!has_swap_lines(&off));
        assert!(off.contains("#homelab_node swap off# /var/swap none swap sw 0 0\n"));
        assert!(
            off.contains("# /old none swap sw 0 0\n"),
            "other comments stay"
        );
        assert_eq!(with_swap_lines_restored(&off), fstab);
        assert_eq!(
            without_swap_lines(&off),
            off,
            "turning off twice changes nothing"
        );
    }
}
