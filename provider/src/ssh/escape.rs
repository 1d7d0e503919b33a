//! POSIX shell quoting: any byte string becomes one word that a POSIX shell reads back unchanged.
//!
//! Every byte except `'` stands for itself between single quotes, so a value is wrapped in
//! `'…'` and each `'` inside it becomes `'\''` (close the quote, an escaped quote, reopen).
//! Nothing between single quotes is expanded: `$(…)`, backticks, `;`, globs and newlines are
//! plain bytes there. The one byte no shell word can hold is NUL, so it is refused.

/// A value held a NUL byte, which no shell argument (a C string) can carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument {index} contains a NUL byte, which a remote command line cannot carry")]
pub struct NulByteError {
    /// Which word of the command line (0 is the program).
    pub index: usize,
}

/// Appends `value` to `line` as one single-quoted shell word.
pub fn push_quoted(line: &mut Vec<u8>, value: &[u8]) {
    line.push(b'\'');
    for &byte in value {
        if byte == b'\'' {
            line.extend_from_slice(b"'\\''");
        } else {
            line.push(byte);
        }
    }
    line.push(b'\'');
}

/// `value` as one single-quoted shell word.
pub fn quote(value: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(value.len() + 2);
    push_quoted(&mut line, value);
    line
}

/// Words joined into one command line, each quoted; refuses NUL bytes.
pub fn join_quoted<'a, I>(words: I) -> Result<Vec<u8>, NulByteError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut line = Vec::new();
    for (index, word) in words.into_iter().enumerate() {
        if word.contains(&0) {
            return Err(NulByteError { index });
        }
        if index > 0 {
            line.push(b' ');
        }
        push_quoted(&mut line, word);
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Values that would run something, split into several words, or change a path if they
    /// reached a shell unquoted.
    const HOSTILE: &[&[u8]] = &[
        b"$(touch /tmp/x)",
        b"`touch /tmp/x`",
        b"'; touch /tmp/x; echo '",
        b"a'b\"c",
        b"x; rm -rf /",
        b"line one\nline two\n",
        b"\\' \\\" \\\\",
        b"*",
        b"~root",
        b"$HOME ${PATH} $1 $@",
        b"-n",
        b"--",
        b"",
        b" leading and trailing ",
        b"\t\r\x1b[31m",
        b"\xff\xfe not UTF-8 \x80",
        b"''''",
        b"!event",
    ];

    #[test]
    fn single_quotes_are_closed_escaped_and_reopened() {
        assert_eq!(quote(b"plain"), b"'plain'");
        assert_eq!(quote(b""), b"''");
        assert_eq!(quote(b"it's"), b"'it'\\''s'");
        assert_eq!(quote(b"$(touch /tmp/x)"), b"'$(touch /tmp/x)'");
        assert_eq!(quote(b"a\nb"), b"'a\nb'");
        assert_eq!(quote(b"\xff"), b"'\xff'");
    }

    #[test]
    fn nul_bytes_are_refused_with_their_position() {
        let words: [&[u8]; 3] = [b"printf", b"ok", b"a\0b"];
        assert_eq!(join_quoted(words), Err(NulByteError { index: 2 }));
    }

    /// The real test: `sh` must hand every hostile value back byte for byte, as one argument,
    /// and run none of them.
    #[test]
    fn a_real_shell_reads_hostile_values_back_unchanged() {
        let marker = std::env::temp_dir().join(format!("escape-marker-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let marker_text = marker.to_str().expect("a UTF-8 temp path");
        let mut values: Vec<Vec<u8>> = HOSTILE.iter().map(|v| v.to_vec()).collect();
        values.push(format!("$(touch {marker_text})").into_bytes());
        values.push(format!("`touch {marker_text}`").into_bytes());
        values.push(format!("'; touch {marker_text}; '").into_bytes());
        for value in &values {
            // printf '%s\0' prints each argument followed by NUL: one argument, exact bytes.
            let words: [&[u8]; 3] = [b"printf", b"%s\\0", value];
            let line = join_quoted(words).expect("no NUL in test values");
            let output = shell(&line);
            let mut expected = value.clone();
            expected.push(0);
            assert_eq!(
                output,
                expected,
                "{:?} came back as {:?}",
                String::from_utf8_lossy(value),
                String::from_utf8_lossy(&output)
            );
        }
        assert!(!marker.exists(), "a quoted value ran a command");
    }

    #[test]
    fn many_words_stay_separate() {
        let words: [&[u8]; 5] = [b"printf", b"[%s]", b"a b", b"", b"c\nd"];
        let line = join_quoted(words).unwrap();
        assert_eq!(shell(&line), b"[a b][][c\nd]");
    }

    fn shell(line: &[u8]) -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt;
        let output = Command::new("sh")
            .arg("-c")
            .arg(std::ffi::OsStr::from_bytes(line))
            .output()
            .expect("run sh");
        assert!(output.status.success(), "{output:?}");
        output.stdout
    }
}
