//! Finds the Debian mirror this machine's apt already uses (the one package registry the lab may reach).

use std::fs;
use std::path::{Path, PathBuf};

use super::error::{LabError, LabResult};
use super::image::SUITE;

/// `HOMELAB_LAB_MIRROR`, else the first mirror serving [`SUITE`] in the machine's apt sources.
pub(crate) fn debian_mirror() -> LabResult<String> {
    if let Some(mirror) = std::env::var("HOMELAB_LAB_MIRROR")
        .ok()
        .filter(|m| !m.is_empty())
    {
        return Ok(mirror);
    }
    source_files(Path::new("/etc/apt"))
        .iter()
        .filter_map(|path| {
            let text = fs::read_to_string(path).ok()?;
            if path.extension().is_some_and(|e| e == "sources") {
                mirror_in_deb822(&text)
            } else {
                mirror_in_one_line_format(&text)
            }
        })
        .next()
        .ok_or(LabError::NoMirror { suite: SUITE })
}

/// `sources.list`, then `sources.list.d/*.list` and `*.sources` in name order (apt's order).
fn source_files(apt_dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![apt_dir.join("sources.list")];
    let mut parts: Vec<PathBuf> = fs::read_dir(apt_dir.join("sources.list.d"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|e| e == "list" || e == "sources")
        })
        .collect();
    parts.sort();
    files.extend(parts);
    files
}

/// The first `deb URI SUITE ...` line of the classic format.
fn mirror_in_one_line_format(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next()?.trim();
        let mut words = line.split_whitespace();
        if words.next()? != "deb" {
            return None;
        }
        let mut uri = words.next()?;
        if uri.starts_with('[') {
            // Options: `[arch=amd64 signed-by=...]`, possibly spanning several words.
            while !uri.ends_with(']') {
                uri = words.next()?;
            }
            uri = words.next()?;
        }
        (words.next()? == SUITE).then(|| uri.to_owned())
    })
}

/// The first URI of a deb822 stanza with `Types: deb` and [`SUITE`] among its suites.
fn mirror_in_deb822(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let enabled = field("Enabled").is_none_or(|v| v != "no");
        let is_deb = field("Types")?.split_whitespace().any(|t| t == "deb");
        let has_suite = field("Suites")?.split_whitespace().any(|s| s == SUITE);
        (enabled && is_deb && has_suite)
            .then(|| field("URIs")?.split_whitespace().next().map(str::to_owned))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_stanza_with_the_suite_gives_its_first_uri() {
        let text = "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
                    URIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n\
                    Components: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\n\
                    Suites: bookworm-security\n";
        assert_eq!(
            mirror_in_deb822(text).as_deref(),
            Some("http://deb.debian.org/debian")
        );
    }

    #[test]
    fn one_line_format_skips_options_and_other_suites() {
        let text = "deb http://security.debian.org/ bookworm-security main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_in_one_line_format(text).as_deref(),
            Some("http://mirror.example/debian")
        );
    }
}
