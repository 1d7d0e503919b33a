//! The marked block the resource keeps in files it shares with others (`/etc/hosts`,
//! `authorized_keys`, `config.txt`): lines between `# BEGIN homelab_node` and
//! `# END homelab_node`, so everything outside the block is left alone.

/// What every marker line starts with; no managed line may start with it.
pub(super) const MARK_PREFIX: &str = "# BEGIN homelab_node";

/// The line that opens the block.
const BEGIN: &str = "# BEGIN homelab_node (managed by Terraform; edits inside are overwritten)";
/// The line that closes the block.
const END: &str = "# END homelab_node";

fn is_begin(line: &str) -> bool {
    line.trim_end().starts_with(MARK_PREFIX)
}

fn is_end(line: &str) -> bool {
    line.trim_end() == END
}

/// The lines inside the block; `None` when the text has no block.
pub(super) fn block_lines(text: &str) -> Option<Vec<String>> {
    let mut lines = text.lines();
    lines.by_ref().find(|line| is_begin(line))?;
    Some(
        lines
            .take_while(|line| !is_end(line))
            .map(str::to_owned)
            .collect(),
    )
}

/// `text` with its block replaced by `lines` (at the end, where a later line wins), or taken
/// out when `lines` is `None`. Lines outside the block keep their bytes.
pub(super) fn with_block(text: &str, lines: Option<&[String]>) -> String {
    let mut kept = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        if !inside && is_begin(line) {
            inside = true;
        } else if inside {
            if is_end(line) {
                inside = false;
            }
        } else {
            kept.push_str(line);
        }
    }
    if let Some(lines) = lines {
        if !kept.is_empty() && !kept.ends_with('\n') {
            kept.push('\n');
        }
        kept.push_str(BEGIN);
        kept.push('\n');
        for line in lines {
            kept.push_str(line);
            kept.push('\n');
        }
        kept.push_str(END);
        kept.push('\n');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_added_replaced_and_removed_leaving_other_lines_alone() {
        let original = "keep me\n# a comment\nno newline at end";
        let one = with_block(original, Some(&["a".to_owned(), "b".to_owned()]));
        assert_eq!(
            one,
            format!("keep me\n# a comment\nno newline at end\n{BEGIN}\na\nb\n{END}\n")
        );
        assert_eq!(
            block_lines(&one),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        let two = with_block(&format!("{one}after\n"), Some(&["c".to_owned()]));
        assert_eq!(
            two,
            format!("keep me\n# a comment\nno newline at end\nafter\n{BEGIN}\nc\n{END}\n")
        );
        assert_eq!(
            with_block(&two, None),
            "keep me\n# a comment\nno newline at end\nafter\n"
        );
        assert_eq!(block_lines(original), None);
        assert_eq!(with_block("", Some(&[])), format!("{BEGIN}\n{END}\n"));
        assert_eq!(block_lines(&with_block("", Some(&[]))), Some(vec![]));
    }
}
