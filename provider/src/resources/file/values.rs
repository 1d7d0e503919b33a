//! How `homelab_file`'s configuration, plan, import ID and the file on the host map onto each
//! other: content bytes and their hash, path and mode rules, and the state a read produces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::model::{Content, FileModel};
use crate::ssh::RemoteFile;
use crate::tf::{AttributePath, Diagnostic, Diagnostics};

/// The state as the host has it now, keeping the user's spelling of equal values.
pub(super) fn state_from_host(
    state: &FileModel,
    file: &RemoteFile,
    host: &str,
    path: &str,
) -> FileModel {
    let mut new = state.clone();
    let content_known = state.content() != Content::Unset;
    let text = String::from_utf8(file.content.clone());
    if state.content_base64.is_some() || (!content_known && text.is_err()) {
        new.content_base64 = Some(STANDARD.encode(&file.content));
    } else if state.content.is_some() || !content_known {
        // Bytes that are not UTF-8 cannot be a string: show them lossily, so the plan
        // shows a difference and apply writes the configured content back.
        let shown = text.unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        new.content = Some(shown);
    }
    new.sha256 = Some(sha256_hex(&file.content));
    let metadata = &file.metadata;
    let same_mode = state
        .mode
        .as_deref()
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        == Some(metadata.mode);
    if !same_mode {
        new.mode = Some(metadata.mode_text());
    }
    new.owner = same_or_host(state.owner.as_deref(), &metadata.owner, metadata.uid);
    new.group = same_or_host(state.group.as_deref(), &metadata.group, metadata.gid);
    new.id = Some(format!("{host}:{path}"));
    new
}

/// The user's spelling when it names the host's owner (or group) by name or id, else the
/// host's name.
fn same_or_host(current: Option<&str>, host_name: &str, id: u32) -> Option<String> {
    match current {
        Some(current) if current == host_name || current == id.to_string() => {
            Some(current.to_owned())
        }
        _ => Some(host_name.to_owned()),
    }
}

/// The configured content as bytes; `None` while it is unknown.
pub(super) fn desired_content(content: Content<'_>) -> Result<Option<Vec<u8>>, Diagnostic> {
    match content {
        Content::Text(text) => Ok(Some(text.as_bytes().to_vec())),
        Content::Base64(text) => STANDARD.decode(text).map(Some).map_err(|e| {
            Diagnostic::error("Invalid base64", e.to_string())
                .at(AttributePath::root("content_base64"))
        }),
        Content::Source(source) => std::fs::read(source).map(Some).map_err(|e| {
            Diagnostic::error("Cannot read source", format!("{source}: {e}"))
                .at(AttributePath::root("source"))
        }),
        Content::Unknown | Content::Unset => Ok(None),
    }
}

/// The state an import starts from: `host`, `path` and `id`; the read that follows fills in
/// the rest from the host.
pub(super) fn imported_state(id: &str) -> Result<FileModel, Diagnostics> {
    let Some((host, path)) = parse_import_id(id) else {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!("{id:?} is not HOST:PATH with an absolute path, e.g. 10.4.0.10:/etc/motd"),
        )
        .into());
    };
    Ok(FileModel {
        host: host.to_owned(),
        path: path.to_owned(),
        id: Some(id.to_owned()),
        ..FileModel::default()
    })
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn valid_mode(mode: &str) -> bool {
    (3..=4).contains(&mode.len()) && mode.bytes().all(|b| (b'0'..=b'7').contains(&b))
}

pub(super) fn check_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("the path must be absolute");
    }
    if path.contains('\0') {
        return Err("a path cannot contain a NUL byte");
    }
    if path == "/" || path.ends_with('/') {
        return Err("the path must name a file, not end with /");
    }
    if path[1..]
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("the path must be normalized: no empty, \".\" or \"..\" components");
    }
    Ok(())
}

/// `HOST:PATH`, split before the absolute path (so IPv6 hosts keep their colons).
fn parse_import_id(id: &str) -> Option<(&str, &str)> {
    let split = id.find(":/")?;
    let (host, path) = (&id[..split], &id[split + 1..]);
    (!host.is_empty() && check_path(path).is_ok()).then_some((host, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::FileMetadata;

    #[test]
    fn paths_must_be_absolute_and_normalized_but_may_hold_anything_else() {
        assert!(check_path("/etc/my file; $(x) 'q'\n").is_ok());
        for bad in [
            "relative",
            "/",
            "/etc/",
            "/etc//x",
            "/etc/../x",
            "/./x",
            "/a\0b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn import_ids_split_before_the_absolute_path() {
        assert_eq!(
            parse_import_id("10.4.0.10:/etc/motd"),
            Some(("10.4.0.10", "/etc/motd"))
        );
        assert_eq!(parse_import_id("fe80::1:/a:b"), Some(("fe80::1", "/a:b")));
        assert_eq!(parse_import_id("host:relative"), None);
        assert_eq!(parse_import_id(":/etc/motd"), None);
    }

    #[test]
    fn read_keeps_equal_spellings_and_reports_differences() {
        let state = FileModel {
            host: "10.4.0.10".into(),
            path: "/etc/motd".into(),
            content: Some("old".into()),
            mode: Some("644".into()),
            owner: Some("0".into()),
            group: Some("root".into()),
            ..FileModel::default()
        };
        let file = RemoteFile {
            content: b"new".to_vec(),
            metadata: FileMetadata {
                mode: 0o644,
                uid: 0,
                gid: 0,
                owner: "root".into(),
                group: "root".into(),
            },
        };
        let new = state_from_host(&state, &file, "10.4.0.10", "/etc/motd");
        assert_eq!(new.content.as_deref(), Some("new"));
        assert_eq!(new.mode.as_deref(), Some("644"));
        assert_eq!(new.owner.as_deref(), Some("0"));
        assert_eq!(new.sha256, Some(sha256_hex(b"new")));
        assert_eq!(new.id.as_deref(), Some("10.4.0.10:/etc/motd"));

        let imported = imported_state("10.4.0.10:/bin/x").unwrap();
        let binary = RemoteFile {
            content: vec![0xff, 0],
            ..file
        };
        let new = state_from_host(&imported, &binary, "10.4.0.10", "/bin/x");
        assert_eq!(new.content, None);
        assert_eq!(new.content_base64.as_deref(), Some("/wA="));
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
