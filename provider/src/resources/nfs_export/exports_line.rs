//! The text of exports files and of exportfs's live table (`/var/lib/nfs/etab`): the line we
//! write for one export, the parser that reads it back (or a hand edit of it), the parser of
//! the live table, clients checked the way exportfs reads them, and paths escaped as `\ooo` so
//! that any directory name survives the round trip and nothing in it is read as syntax.

use std::net::IpAddr;

use crate::systemd::escape_path;

/// Where exportfs reads drop-in files; only names ending in `.exports` count.
pub(crate) const EXPORTS_DIR: &str = "/etc/exports.d";

/// The live export table exportfs keeps in sync with the exports files.
pub(crate) const ETAB: &str = "/var/lib/nfs/etab";

/// The first line of every file this provider writes.
const HEADER: &str = "# Managed by Terraform (homelab_nfs_export); edits here show as drift.";

/// One client of an export and its options as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportClient {
    /// `*`, a host name (wildcards allowed), an address, a network or `@netgroup`.
    pub(crate) client: String,
    /// The options between the parentheses; `None` for a bare client.
    pub(crate) options: Option<Vec<String>>,
}

/// One line of an exports file: a directory and its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportLine {
    /// The exported directory, decoded.
    pub(crate) path: String,
    /// Its clients, in order.
    pub(crate) clients: Vec<ExportClient>,
}

/// The drop-in file of an export of `path`: `/etc/exports.d/<systemd-escaped path>.exports`.
pub(crate) fn exports_file(path: &str) -> Result<String, String> {
    let name = escape_path(path).map_err(|e| e.to_string())?;
    if name.len() + ".exports".len() > 255 {
        return Err("the escaped file name would be longer than 255 bytes".to_owned());
    }
    Ok(format!("{EXPORTS_DIR}/{name}.exports"))
}

/// Checks an exported directory: absolute, normalized, not `/`-terminated, no control
/// characters (exports files are line based).
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("the path must be absolute".into());
    }
    if path.chars().any(char::is_control) {
        return Err("the path cannot hold control characters such as newlines".into());
    }
    if path != "/"
        && (path.ends_with('/')
            || path[1..]
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == ".."))
    {
        return Err("the path must be normalized: no empty, \".\" or \"..\" components".into());
    }
    exports_file(path).map(|_| ())
}

/// Checks a client the way exports(5) reads it; the message says what it would be read as.
pub(crate) fn check_client(client: &str) -> Result<(), String> {
    if client.is_empty() {
        return Err("the client is empty; use \"*\" for every host".into());
    }
    if let Some(group) = client.strip_prefix('@') {
        return if !group.is_empty()
            && group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            Ok(())
        } else {
            Err(format!(
                "{client:?} is not a netgroup name (@ then letters, digits, - _ .)"
            ))
        };
    }
    if let Some((address, mask)) = client.split_once('/') {
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{client:?}: {address:?} is not an IP address"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        if let Ok(length) = mask.parse::<u8>() {
            if mask.starts_with('+') || length > max {
                return Err(format!(
                    "{client:?}: exportfs would say: Invalid prefix `{mask}'; it is 0 to {max}"
                ));
            }
            return Ok(());
        }
        return match (address, mask.parse::<IpAddr>()) {
            (IpAddr::V4(_), Ok(IpAddr::V4(netmask))) if contiguous(u32::from(netmask)) => Ok(()),
            _ => Err(format!(
                "{client:?}: {mask:?} is neither a prefix length nor a contiguous netmask"
            )),
        };
    }
    if client.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let name_chars =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '*' | '?');
    if client.starts_with('-') || client.starts_with('.') || !client.chars().all(name_chars) {
        return Err(format!(
            "{client:?} is not *, a host name (wildcards * and ? allowed), an IP address, a \
             network (CIDR or address/netmask) or @netgroup"
        ));
    }
    Ok(())
}

fn contiguous(mask: u32) -> bool {
    mask.leading_ones() + mask.trailing_zeros() == 32
}

/// The whole drop-in file for one export.
pub(crate) fn render(line: &ExportLine) -> String {
    let mut text = format!("{HEADER}\n{}", encode_path(&line.path));
    for client in &line.clients {
        text.push(' ');
        text.push_str(&client.client);
        if let Some(options) = &client.options {
            text.push('(');
            text.push_str(&options.join(","));
            text.push(')');
        }
    }
    text.push('\n');
    text
}

/// A path for an exports file: every byte that is not plainly safe becomes `\ooo`, which
/// exportfs decodes in paths (measured: spaces, quotes, `$`, `;`, `#`, parentheses).
pub(crate) fn encode_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'/' | b'.' | b'_' | b'-' | b'+' | b':' | b'@' | b'%' | b'=' | b'~' | b','
            )
        {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("\\{byte:03o}"));
        }
    }
    encoded
}

/// Decodes `\ooo` escapes (exports files and the live table write them).
fn decode_path(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|digits| bytes[i] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match octal.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits an exports line into words: whitespace separates, double quotes group (the quotes
/// are dropped), everything else is kept as written.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(current);
    }
    words
}

/// Parses an exports file as exportfs does for what matters here: comments, continuation
/// lines, quoted or `\ooo`-escaped paths, `-options` defaults, and `client(options)` words.
/// A word it cannot read is kept as a client named after the whole word, so a broken hand edit
/// shows as drift instead of vanishing.
pub(crate) fn parse_exports(text: &str) -> Vec<ExportLine> {
    let joined = text.replace("\\\n", " ");
    let mut lines = Vec::new();
    for raw in joined.lines() {
        let line = raw.split_once('#').map_or(raw, |(before, _)| before);
        let mut words = words(line).into_iter();
        let Some(path) = words.next() else { continue };
        let mut defaults: Vec<String> = Vec::new();
        let mut clients = Vec::new();
        for word in words {
            if let Some(options) = word.strip_prefix('-') {
                defaults = options.split(',').map(str::to_owned).collect();
                continue;
            }
            let (client, options) = match word.split_once('(') {
                Some((client, rest)) => match rest.strip_suffix(')') {
                    Some(list) => (
                        if client.is_empty() { "*" } else { client },
                        Some(
                            list.split(',')
                                .filter(|o| !o.is_empty())
                                .map(str::to_owned)
                                .collect(),
                        ),
                    ),
                    None => (word.as_str(), None),
                },
                None => (word.as_str(), None),
            };
            let options = match (options, defaults.is_empty()) {
                (Some(options), true) => Some(options),
                (options, false) => Some(
                    defaults
                        .iter()
                        .cloned()
                        .chain(options.unwrap_or_default())
                        .collect(),
                ),
                (None, true) => None,
            };
            clients.push(ExportClient {
                client: client.to_owned(),
                options,
            });
        }
        lines.push(ExportLine {
            path: decode_path(&path),
            clients,
        });
    }
    lines
}

/// One entry of the live table: a directory, a client as exportfs names it, its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveExport {
    /// The directory, decoded.
    pub(crate) path: String,
    /// The client as exportfs stored it (host names canonical).
    pub(crate) client: String,
    /// Every option, defaults included.
    pub(crate) options: Vec<String>,
}

/// Parses `/var/lib/nfs/etab`: `PATH<TAB>CLIENT(OPTIONS)` per line.
pub(crate) fn parse_etab(text: &str) -> Vec<LiveExport> {
    text.lines()
        .filter_map(|line| {
            let (path, rest) = line.split_once('\t')?;
            let (client, options) = rest.trim().split_once('(')?;
            let options = options.strip_suffix(')')?;
            Some(LiveExport {
                path: decode_path(path.trim()),
                client: client.to_owned(),
                options: options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, options: &[&str]) -> ExportClient {
        ExportClient {
            client: name.into(),
            options: Some(options.iter().map(|o| (*o).to_owned()).collect()),
        }
    }

    #[test]
    fn the_books_export_renders_and_parses_back() {
        let line = ExportLine {
            path: "/mnt/usb1".into(),
            clients: vec![client(
                "*",
                &["rw", "sync", "no_root_squash", "no_subtree_check"],
            )],
        };
        let text = render(&line);
        assert!(
            text.ends_with("\n/mnt/usb1 *(rw,sync,no_root_squash,no_subtree_check)\n"),
            "{text}"
        );
        assert_eq!(parse_exports(&text), [line]);
        assert_eq!(
            exports_file("/mnt/usb1").unwrap(),
            "/etc/exports.d/mnt-usb1.exports"
        );
    }

    #[test]
    fn hostile_paths_are_escaped_and_decoded() {
        let path = "/srv/h $(touch pwned);x'y\"z#w(v)\\ü";
        let line = ExportLine {
            path: path.into(),
            clients: vec![client("10.0.0.0/8", &["ro"])],
        };
        let text = render(&line);
        let body = text.lines().nth(1).unwrap();
        let word = &body[..body.find(' ').unwrap()];
        assert!(!word.contains(|c: char| " $;'\"#()".contains(c)), "{word}");
        assert_eq!(parse_exports(&text), [line]);
        // Measured: exportfs wrote this etab line for the same directory.
        let live = parse_etab("/srv/h\\040$(touch\\040pwned);x'y\\042z\\043w(v)\t*(ro,sync)\n");
        assert_eq!(live[0].path, "/srv/h $(touch pwned);x'y\"z#w(v)");
        assert_eq!(live[0].client, "*");
    }

    #[test]
    fn hand_edits_parse_like_exportfs_reads_them() {
        let text = "# c\n\"/srv/my dir\" -rw,sync host1(no_subtree_check) \\\n  10.0.0.0/8 (ro)\n/srv/b @ng(rw\n";
        let lines = parse_exports(text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].path, "/srv/my dir");
        assert_eq!(
            lines[0].clients[0],
            client("host1", &["rw", "sync", "no_subtree_check"])
        );
        assert_eq!(lines[0].clients[1], client("10.0.0.0/8", &["rw", "sync"]));
        assert_eq!(lines[0].clients[2], client("*", &["rw", "sync", "ro"]));
        assert_eq!(lines[1].clients[0].client, "@ng(rw");
    }

    #[test]
    fn etab_lines_parse() {
        let live = parse_etab(
            "/srv/a\t10.0.0.0/24(ro,sync,wdelay,sec=sys,ro)\n/srv/a\t*(rw,anonuid=65534)\n",
        );
        assert_eq!(live.len(), 2);
        assert_eq!(live[1].options, ["rw", "anonuid=65534"]);
    }

    #[test]
    fn clients_are_checked_like_exportfs_reads_them() {
        for good in [
            "*",
            "host1",
            "*.example.com",
            "node?",
            "10.4.0.10",
            "10.4.0.0/24",
            "10.1.0.0/255.255.0.0",
            "fe80::/64",
            "fd00::1",
            "@trusted",
        ] {
            assert_eq!(check_client(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "10.1.0.0/33",
            "10.1.0.0/255.0.255.0",
            "fe80::/129",
            "a b",
            "x(rw)",
            "$(id)",
            "-o",
            "@",
            "host;rm",
            "a\"b",
        ] {
            assert!(check_client(bad).is_err(), "{bad:?}");
        }
        assert!(
            check_client("10.1.0.0/33")
                .unwrap_err()
                .contains("Invalid prefix")
        );
    }

    #[test]
    fn paths_are_checked() {
        assert!(check_path("/srv/x y$(z)").is_ok());
        assert!(check_path("/").is_ok());
        for bad in ["srv", "/srv/", "/srv/../x", "/a\nb", "/a//b"] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }
}
