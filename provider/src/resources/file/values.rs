//! How `homelab_file`'s configuration, plan, import ID and the file on the host map onto each
//! other: content bytes and their hash, path and mode rules, and the state a read produces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::ssh::RemoteFile;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Schema, Value};

/// The attributes that can hold the content; exactly one is set.
pub(super) const CONTENT_SOURCES: [&str; 3] = ["content", "content_base64", "source"];

/// The state as the host has it now, keeping the user's spelling of equal values.
pub(super) fn state_from_host(state: &Value, file: &RemoteFile, host: &str, path: &str) -> Value {
    let mut new = state.clone();
    let content_known = CONTENT_SOURCES
        .iter()
        .any(|name| !state.attr(name).is_null());
    let text = String::from_utf8(file.content.clone());
    if !state.attr("content_base64").is_null() || (!content_known && text.is_err()) {
        new.set_attr("content_base64", STANDARD.encode(&file.content).into());
    } else if !state.attr("content").is_null() || !content_known {
        // Bytes that are not UTF-8 cannot be a string: show them lossily, so the plan
        // shows a difference and apply writes the configured content back.
        let shown = text.unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        new.set_attr("content", shown.into());
    }
    new.set_attr("sha256", sha256_hex(&file.content).into());
    let metadata = &file.metadata;
    let same_mode = state
        .attr("mode")
        .as_str()
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        == Some(metadata.mode);
    if !same_mode {
        new.set_attr("mode", metadata.mode_text().into());
    }
    for (name, host_name, id) in [
        ("owner", &metadata.owner, metadata.uid),
        ("group", &metadata.group, metadata.gid),
    ] {
        let current = state.attr(name).as_str();
        if current != Some(host_name.as_str()) && current != Some(id.to_string().as_str()) {
            new.set_attr(name, host_name.clone().into());
        }
    }
    new.set_attr("id", format!("{host}:{path}").into());
    new
}

/// The configured content as bytes; `None` while it is unknown.
pub(super) fn desired_content(config: &Value) -> Result<Option<Vec<u8>>, Diagnostic> {
    let attribute = |name: &str| config.attr(name);
    if !attribute("content").is_null() {
        return Ok(attribute("content").as_str().map(|s| s.as_bytes().to_vec()));
    }
    if !attribute("content_base64").is_null() {
        let Some(text) = attribute("content_base64").as_str() else {
            return Ok(None);
        };
        return STANDARD.decode(text).map(Some).map_err(|e| {
            Diagnostic::error("Invalid base64", e.to_string())
                .at(AttributePath::root("content_base64"))
        });
    }
    let Some(source) = attribute("source").as_str() else {
        return Ok(None);
    };
    std::fs::read(source).map(Some).map_err(|e| {
        Diagnostic::error("Cannot read source", format!("{source}: {e}"))
            .at(AttributePath::root("source"))
    })
}

/// The state an import starts from: `host`, `path` and `id`; the read that follows fills in
/// the rest from the host.
pub(super) fn imported_state(schema: &Schema, id: &str) -> Result<Value, Diagnostics> {
    let Some((host, path)) = parse_import_id(id) else {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!("{id:?} is not HOST:PATH with an absolute path, e.g. 10.4.0.10:/etc/motd"),
        )
        .into());
    };
    let mut state = schema.block.null_value();
    state.set_attr("host", host.into());
    state.set_attr("path", path.into());
    state.set_attr("id", id.into());
    Ok(state)
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
    use crate::registry::Resource as _;
    use crate::resources::file::File;
    use crate::ssh::FileMetadata;

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let mut base = Value::object([
            ("host", Value::from("10.4.0.10")),
            ("path", "/etc/motd".into()),
        ]);
        for (name, value) in pairs {
            base.set_attr(name, value);
        }
        base
    }

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
        let state = config(vec![
            ("content", "old".into()),
            ("mode", "644".into()),
            ("owner", "0".into()),
            ("group", "root".into()),
        ]);
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
        assert_eq!(new.attr("content").as_str(), Some("new"));
        assert_eq!(new.attr("mode").as_str(), Some("644"));
        assert_eq!(new.attr("owner").as_str(), Some("0"));
        assert_eq!(
            new.attr("sha256").as_str(),
            Some(sha256_hex(b"new").as_str())
        );
        assert_eq!(new.attr("id").as_str(), Some("10.4.0.10:/etc/motd"));

        let imported = imported_state(&File.schema(), "10.4.0.10:/bin/x").unwrap();
        let binary = RemoteFile {
            content: vec![0xff, 0],
            ..file
        };
        let new = state_from_host(&imported, &binary, "10.4.0.10", "/bin/x");
        assert!(new.attr("content").is_null());
        assert_eq!(new.attr("content_base64").as_str(), Some("/wA="));
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
