//! systemd's unit names for paths (`systemd-escape --path`): `/mnt/nfs` is `mnt-nfs.mount`.
//! Pure, so the expected names are pinned by unit tests measured against systemd 252's own
//! `systemd-escape --path`; shared by every resource that names units or files after paths.

/// Why a path has no unit name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitNameError {
    /// The path does not start with `/`.
    #[error("the path must be absolute")]
    NotAbsolute,
    /// A component is `.` or `..` (systemd refuses: "not a normalized file system path").
    #[error("the path must be normalized: no \".\" or \"..\" components")]
    NotNormalized,
    /// systemd unit names are at most 255 bytes.
    #[error("the escaped name {0:?} is longer than systemd's 255-byte limit for unit names")]
    TooLong(String),
}

/// The longest unit name systemd accepts (`UNIT_NAME_MAX`).
const UNIT_NAME_MAX: usize = 255;

/// `systemd-escape --path PATH`: slashes at both ends and repeated slashes dropped, `/` becomes
/// `-`, the root is `-`, and every byte but ASCII letters, digits, `:`, `_` and a `.` that does
/// not start the name becomes `\xNN` (lowercase hex).
pub fn escape_path(path: &str) -> Result<String, UnitNameError> {
    if !path.starts_with('/') {
        return Err(UnitNameError::NotAbsolute);
    }
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    if components.iter().any(|c| *c == "." || *c == "..") {
        return Err(UnitNameError::NotNormalized);
    }
    if components.is_empty() {
        return Ok("-".to_owned());
    }
    let joined = components.join("/");
    let mut escaped = String::with_capacity(joined.len());
    for (index, byte) in joined.bytes().enumerate() {
        match byte {
            b'/' => escaped.push('-'),
            b'.' if index > 0 => escaped.push('.'),
            b':' | b'_' => escaped.push(byte as char),
            b if b.is_ascii_alphanumeric() => escaped.push(b as char),
            b => escaped.push_str(&format!("\\x{b:02x}")),
        }
    }
    Ok(escaped)
}

/// The unit's full name, `escape_path(path)` plus `.suffix`, checked against systemd's limit.
pub fn unit_name(path: &str, suffix: &str) -> Result<String, UnitNameError> {
    let name = format!("{}.{suffix}", escape_path(path)?);
    if name.len() > UNIT_NAME_MAX {
        return Err(UnitNameError::TooLong(name));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair was printed by `systemd-escape --path` (systemd 252, Debian 12) on a lab host.
    #[test]
    fn escaping_matches_systemd_escape_path() {
        for (path, expected) in [
            ("/mnt/nfs", "mnt-nfs"),
            ("/mnt/usb1", "mnt-usb1"),
            ("/", "-"),
            ("/mnt/my-dir", "mnt-my\\x2ddir"),
            ("/mnt/a b", "mnt-a\\x20b"),
            ("/mnt/.hidden", "mnt-.hidden"),
            ("/.x", "\\x2ex"),
            ("/mnt/ü", "mnt-\\xc3\\xbc"),
            ("/mnt/a\\b", "mnt-a\\x5cb"),
            ("/mnt/a_b.c:d@e", "mnt-a_b.c:d\\x40e"),
            ("/mnt//x/", "mnt-x"),
            ("/mnt/$(x)", "mnt-\\x24\\x28x\\x29"),
            ("/-x", "\\x2dx"),
            ("/mnt/a%b", "mnt-a\\x25b"),
            ("/mnt/a~b+c,d=e", "mnt-a\\x7eb\\x2bc\\x2cd\\x3de"),
            ("/mnt/a\"b", "mnt-a\\x22b"),
            ("/mnt/x.mount", "mnt-x.mount"),
        ] {
            assert_eq!(escape_path(path).as_deref(), Ok(expected), "{path:?}");
        }
    }

    #[test]
    fn relative_and_unnormalized_paths_have_no_name() {
        assert_eq!(escape_path("mnt/x"), Err(UnitNameError::NotAbsolute));
        assert_eq!(escape_path("/mnt/.."), Err(UnitNameError::NotNormalized));
        assert_eq!(escape_path("/./mnt"), Err(UnitNameError::NotNormalized));
        assert_eq!(
            unit_name("/mnt/nfs", "automount").unwrap(),
            "mnt-nfs.automount"
        );
        let long = format!("/{}", "é".repeat(40));
        assert!(matches!(
            unit_name(&long, "mount"),
            Err(UnitNameError::TooLong(_))
        ));
    }
}
