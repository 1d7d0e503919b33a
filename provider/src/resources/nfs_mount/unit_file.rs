//! The `.mount` and `.automount` unit files of an NFS mount: rendered from the mount's settings
//! and parsed back from a file (ours or one edited by hand). systemd expands `%` specifiers in
//! `What=`, `Where=`, `Options=` and `Description=` (measured: `Where=/mnt/a%%b` is `/mnt/a%b`),
//! so every `%` is written `%%`; values that unit files cannot hold (newlines, a trailing
//! backslash that would continue the line, edge whitespace that systemd strips) are refused by
//! the checks here before anything is written.

/// The first line of every unit file this provider writes.
const HEADER: &str = "# Managed by Terraform (homelab_nfs_mount); edits here show as drift.";

/// The filesystem types a mount may have.
pub(crate) const FS_TYPES: [&str; 2] = ["nfs", "nfs4"];

/// What an NFS mount is, as its unit files say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountSpec {
    /// The server's host name or address (IPv6 without brackets).
    pub(crate) server: String,
    /// The exported directory on the server.
    pub(crate) export: String,
    /// Where it is mounted.
    pub(crate) mount_point: String,
    /// `nfs` or `nfs4`.
    pub(crate) fs_type: String,
    /// Mount options, one per element; `None` writes no `Options=` line.
    pub(crate) options: Option<Vec<String>>,
}

impl MountSpec {
    /// `What=`: `server:/export`, an IPv6 server in brackets.
    fn what(&self) -> String {
        if self.server.contains(':') {
            format!("[{}]:{}", self.server, self.export)
        } else {
            format!("{}:{}", self.server, self.export)
        }
    }
}

/// The `.mount` unit. With `automount` the `.automount` unit starts it on first access, so it
/// has no `[Install]` section of its own.
pub(crate) fn render_mount(spec: &MountSpec, automount: bool) -> String {
    let mut text = format!(
        "{HEADER}\n[Unit]\nDescription=NFS share {} at {}\nAfter=network-online.target remote-fs-pre.target\nWants=network-online.target\n\n[Mount]\nWhat={}\nWhere={}\nType={}\n",
        specifier_escape(&spec.what()),
        specifier_escape(&spec.mount_point),
        specifier_escape(&spec.what()),
        specifier_escape(&spec.mount_point),
        spec.fs_type,
    );
    if let Some(options) = &spec.options {
        text.push_str(&format!(
            "Options={}\n",
            specifier_escape(&options.join(","))
        ));
    }
    if !automount {
        text.push_str("\n[Install]\nWantedBy=remote-fs.target\n");
    }
    text
}

/// The `.automount` unit for the mount.
pub(crate) fn render_automount(spec: &MountSpec) -> String {
    format!(
        "{HEADER}\n[Unit]\nDescription=Automount of NFS share {} at {}\nAfter=network-online.target remote-fs-pre.target\nWants=network-online.target\n\n[Automount]\nWhere={}\n\n[Install]\nWantedBy=remote-fs.target\n",
        specifier_escape(&spec.what()),
        specifier_escape(&spec.mount_point),
        specifier_escape(&spec.mount_point),
    )
}

fn specifier_escape(value: &str) -> String {
    value.replace('%', "%%")
}

fn specifier_unescape(value: &str) -> String {
    value.replace("%%", "%")
}

/// The last value of `key` in `section` of a unit file, unescaped.
fn setting(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = "";
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name;
            continue;
        }
        if current == section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            found = Some(specifier_unescape(v.trim()));
        }
    }
    found
}

/// The mount a `.mount` unit file describes; `None` when it has no `What=` of the form
/// `server:/export`.
pub(crate) fn parse_mount(text: &str) -> Option<MountSpec> {
    let what = setting(text, "Mount", "What")?;
    let (server, export) = match what.strip_prefix('[') {
        Some(rest) => {
            let (server, export) = rest.split_once("]:")?;
            (server.to_owned(), export.to_owned())
        }
        None => {
            let (server, export) = what.split_once(':')?;
            (server.to_owned(), export.to_owned())
        }
    };
    Some(MountSpec {
        server,
        export,
        mount_point: setting(text, "Mount", "Where").unwrap_or_default(),
        fs_type: setting(text, "Mount", "Type").unwrap_or_default(),
        options: setting(text, "Mount", "Options").map(|o| {
            o.split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect()
        }),
    })
}

/// The mount point an `.automount` unit file names.
pub(crate) fn parse_automount_where(text: &str) -> Option<String> {
    setting(text, "Automount", "Where")
}

/// Checks a mount point: absolute, normalized, not `/`, and a value a unit file can hold.
pub(crate) fn check_mount_point(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("the mount point must be an absolute path".into());
    }
    if path == "/" {
        return Err("the root directory cannot be an NFS mount point".into());
    }
    if path.ends_with('/')
        || path[1..]
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("the mount point must be normalized: no empty, \".\" or \"..\" components, no trailing /".into());
    }
    check_unit_value(path)?;
    crate::systemd::unit_name(path, "automount")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Checks the exported directory's path.
pub(crate) fn check_export(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("the export must be an absolute path on the server, e.g. /mnt/usb1".into());
    }
    check_unit_value(path)
}

/// Checks one mount option.
pub(crate) fn check_option(option: &str) -> Result<(), String> {
    if option.is_empty() {
        return Err("an option cannot be empty".into());
    }
    match option
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '"' | '\'' | '\\'))
    {
        Some(c) => Err(format!(
            "{c:?} cannot be part of a mount option (give each option its own element; no \
             spaces, quotes or backslashes)"
        )),
        None => Ok(()),
    }
}

/// Checks a server: a host name or an IPv4 or IPv6 address (without brackets).
pub(crate) fn check_server(server: &str) -> Result<(), String> {
    if server.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if server.len() <= 253 && server.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(
            "the server must be a host name or an IPv4 or IPv6 address (IPv6 without brackets)"
                .into(),
        )
    }
}

/// Values go on one unit-file line as written.
fn check_unit_value(value: &str) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        return Err("unit files cannot hold control characters such as newlines".into());
    }
    if value.ends_with('\\') {
        return Err("a trailing backslash would continue the unit file's line".into());
    }
    if value.trim() != value {
        return Err("systemd strips spaces at the ends of a unit file value".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MountSpec {
        MountSpec {
            server: "10.4.0.10".into(),
            export: "/mnt/usb1".into(),
            mount_point: "/mnt/nfs".into(),
            fs_type: "nfs".into(),
            options: Some(vec!["rw".into(), "hard".into()]),
        }
    }

    #[test]
    fn the_books_units_render_and_parse_back() {
        let mount = render_mount(&spec(), true);
        assert!(
            mount.contains(
                "\n[Mount]\nWhat=10.4.0.10:/mnt/usb1\nWhere=/mnt/nfs\nType=nfs\nOptions=rw,hard\n"
            ),
            "{mount}"
        );
        assert!(!mount.contains("[Install]"));
        assert_eq!(parse_mount(&mount), Some(spec()));
        let automount = render_automount(&spec());
        assert!(
            automount
                .contains("[Automount]\nWhere=/mnt/nfs\n\n[Install]\nWantedBy=remote-fs.target\n")
        );
        assert_eq!(
            parse_automount_where(&automount).as_deref(),
            Some("/mnt/nfs")
        );
        assert!(render_mount(&spec(), false).ends_with("[Install]\nWantedBy=remote-fs.target\n"));
    }

    #[test]
    fn percent_signs_and_hostile_text_round_trip() {
        let hostile = MountSpec {
            server: "fd00::1".into(),
            export: "/srv/x%y $(id) 'q' \"d\";e".into(),
            mount_point: "/mnt/a b%c $(x)'q\"d;e\\f".into(),
            fs_type: "nfs4".into(),
            options: Some(vec!["rw".into(), "context=%H".into()]),
        };
        let text = render_mount(&hostile, false);
        assert!(text.contains("What=[fd00::1]:/srv/x%%y $(id)"), "{text}");
        assert!(
            text.contains("Where=/mnt/a b%%c $(x)'q\"d;e\\f\n"),
            "{text}"
        );
        assert_eq!(parse_mount(&text), Some(hostile.clone()));
        assert_eq!(
            parse_automount_where(&render_automount(&hostile)),
            Some(hostile.mount_point.clone())
        );
        assert!(check_mount_point(&hostile.mount_point).is_ok());
        assert!(check_export(&hostile.export).is_ok());
    }

    #[test]
    fn values_a_unit_file_cannot_hold_are_refused() {
        for bad in [
            "relative",
            "/",
            "/mnt/",
            "/mnt/../etc",
            "/mnt//x",
            "/mnt/a\nb",
            "/mnt/x\\",
            "/mnt/x ",
        ] {
            assert!(check_mount_point(bad).is_err(), "{bad:?}");
        }
        assert!(check_export("srv").is_err());
        assert!(check_export("/srv/a\n[Service]").is_err());
        for bad in ["", "rw,hard", "a b", "x\ny", "q\"", "'"] {
            assert!(check_option(bad).is_err(), "{bad:?}");
        }
        assert!(check_option("vers=4.2").is_ok());
        for good in ["10.4.0.10", "fd00::1", "nas", "nas.home.arpa"] {
            assert_eq!(check_server(good), Ok(()), "{good}");
        }
        for bad in ["", "[fd00::1]", "a b", "$(id)", "-x", "nas:/x", "a..b"] {
            assert!(check_server(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hand_edited_files_parse() {
        let text = "[Mount]\nWhat = nas:/export\nWhere=/mnt/x\nType=nfs4\nOptions=ro,,soft\n[Install]\nWantedBy=multi-user.target\n";
        let spec = parse_mount(text).unwrap();
        assert_eq!(spec.server, "nas");
        assert_eq!(spec.options, Some(vec!["ro".to_owned(), "soft".to_owned()]));
        assert_eq!(parse_mount("[Mount]\nWhere=/x\n"), None);
    }
}
