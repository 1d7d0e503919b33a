//! OpenSSH `known_hosts` files: plain and hashed (`|1|salt|hash`) host patterns, `[host]:port`
//! names for ports other than 22, wildcards, negation, and the `@revoked` and
//! `@cert-authority` markers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::PublicKey;
use sha1::Sha1;

/// A parsed `known_hosts` file; lines that cannot be parsed are skipped, as OpenSSH does.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
}

/// One usable line.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The line number, from 1.
    pub line: usize,
    /// `@revoked` or `@cert-authority`, if the line has a marker.
    pub marker: Option<Marker>,
    patterns: Vec<HostPattern>,
    /// The host key.
    pub key: PublicKey,
}

/// A line's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// `@revoked`: this key must never be accepted.
    Revoked,
    /// `@cert-authority`: a CA for host certificates (not used to trust plain keys).
    CertAuthority,
}

#[derive(Debug, Clone)]
enum HostPattern {
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    Plain { negated: bool, pattern: String },
}

/// What a file says about the key a server offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A line for this host holds exactly this key.
    Trusted {
        /// That line's number.
        line: usize,
    },
    /// The key is marked `@revoked`.
    Revoked {
        /// That line's number.
        line: usize,
    },
    /// The file knows other keys for this host, and not this one.
    Changed {
        /// The lines and keys the file holds for this host.
        known: Vec<(usize, PublicKey)>,
    },
    /// The file knows nothing of this host.
    Unknown,
}

/// The name a host is looked up under: `host` on port 22, `[host]:port` otherwise.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_ascii_lowercase()
    } else {
        format!("[{}]:{port}", host.to_ascii_lowercase())
    }
}

impl KnownHosts {
    /// Parses the text of a known_hosts file.
    pub fn parse(text: &str) -> KnownHosts {
        let entries = text
            .lines()
            .enumerate()
            .filter_map(|(index, line)| parse_line(index + 1, line))
            .collect();
        KnownHosts { entries }
    }

    /// Every usable line.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The plain (not certificate-authority) keys recorded for `host:port`, revoked ones included.
    pub fn keys_for(&self, host: &str, port: u16) -> Vec<&Entry> {
        let name = lookup_name(host, port);
        self.entries
            .iter()
            .filter(|e| e.marker != Some(Marker::CertAuthority) && e.matches(&name))
            .collect()
    }

    /// Decides whether `key`, offered by `host:port`, is the one this file records.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        let name = lookup_name(host, port);
        // A revoked key is refused for every host, as OpenSSH does.
        if let Some(entry) = self
            .entries
            .iter()
            .find(|e| e.marker == Some(Marker::Revoked) && same_key(&e.key, key))
        {
            return Verdict::Revoked { line: entry.line };
        }
        let for_host = self.keys_for(host, port);
        if let Some(entry) = for_host.iter().find(|e| same_key(&e.key, key)) {
            return Verdict::Trusted { line: entry.line };
        }
        let known: Vec<(usize, PublicKey)> = for_host
            .iter()
            .filter(|e| e.marker.is_none() && e.matches(&name))
            .map(|e| (e.line, e.key.clone()))
            .collect();
        if known.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Changed { known }
        }
    }
}

impl Entry {
    /// Whether this line applies to the lookup name (`host` or `[host]:port`).
    fn matches(&self, name: &str) -> bool {
        let mut matched = false;
        for pattern in &self.patterns {
            match pattern {
                HostPattern::Hashed { salt, hash } => {
                    matched |= hashed_name_matches(salt, hash, name);
                }
                HostPattern::Plain { negated, pattern } => {
                    if wildcard_match(pattern.as_bytes(), name.as_bytes()) {
                        if *negated {
                            return false;
                        }
                        matched = true;
                    }
                }
            }
        }
        matched
    }
}

/// Two keys are the same when their key data is; comments do not count.
pub fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

fn parse_line(number: usize, line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_ascii_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Some(Marker::Revoked),
        "@cert-authority" => Some(Marker::CertAuthority),
        other if other.starts_with('@') => return None,
        _ => None,
    };
    if marker.is_some() {
        first = fields.next()?;
    }
    let key_type = fields.next()?;
    let key_base64 = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{key_type} {key_base64}")).ok()?;
    let patterns = first
        .split(',')
        .filter(|p| !p.is_empty())
        .map(parse_pattern)
        .collect::<Option<Vec<_>>>()?;
    Some(Entry {
        line: number,
        marker,
        patterns,
        key,
    })
}

fn parse_pattern(text: &str) -> Option<HostPattern> {
    if let Some(rest) = text.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|')?;
        return Some(HostPattern::Hashed {
            salt: STANDARD.decode(salt).ok()?,
            hash: STANDARD.decode(hash).ok()?,
        });
    }
    let (negated, pattern) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    Some(HostPattern::Plain {
        negated,
        pattern: pattern.to_ascii_lowercase(),
    })
}

fn hashed_name_matches(salt: &[u8], hash: &[u8], name: &str) -> bool {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(hash).is_ok()
}

/// The `|1|salt|hash` form of `name` with a given salt, as `ssh-keygen -H` writes it.
pub fn hash_name(salt: &[u8], name: &str) -> String {
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(salt).expect("HMAC takes a key of any length");
    mac.update(name.as_bytes());
    let hash = mac.finalize().into_bytes();
    format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(hash))
}

/// OpenSSH's glob: `*` matches any run of bytes, `?` any one byte.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two real ed25519 public keys (from `ssh-keygen -t ed25519`).
    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBWkFcS5YbQm635qdEI48iThY84ov7oUexEczw/Sl1/3";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    #[test]
    fn plain_entries_match_by_name_and_port_form() {
        let file = KnownHosts::parse(&format!(
            "# comment\n\n10.4.0.10,node1 {KEY_A}\n[10.4.0.11]:2222 {KEY_B} a comment\n"
        ));
        assert_eq!(
            file.check("node1", 22, &key(KEY_A)),
            Verdict::Trusted { line: 3 }
        );
        assert_eq!(
            file.check("NODE1", 22, &key(KEY_A)),
            Verdict::Trusted { line: 3 },
            "host names are case-insensitive"
        );
        assert_eq!(
            file.check("10.4.0.11", 2222, &key(KEY_B)),
            Verdict::Trusted { line: 4 }
        );
        assert_eq!(
            file.check("10.4.0.11", 22, &key(KEY_B)),
            Verdict::Unknown,
            "[host]:2222 says nothing about port 22"
        );
        assert_eq!(
            file.check("10.4.0.10", 2222, &key(KEY_A)),
            Verdict::Unknown,
            "a plain name says nothing about port 2222"
        );
    }

    #[test]
    fn a_different_key_for_a_known_host_is_a_change() {
        let file = KnownHosts::parse(&format!("10.4.0.10 {KEY_A}\n"));
        match file.check("10.4.0.10", 22, &key(KEY_B)) {
            Verdict::Changed { known } => {
                assert_eq!(known.len(), 1);
                assert_eq!(known[0].0, 1);
                assert!(same_key(&known[0].1, &key(KEY_A)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hashed_entries_match_plain_and_bracketed_names() {
        let salt = b"0123456789abcdefghij";
        let plain = hash_name(salt, "10.4.0.10");
        let bracketed = hash_name(salt, "[127.0.0.1]:2222");
        let file = KnownHosts::parse(&format!("{plain} {KEY_A}\n{bracketed} {KEY_B}\n"));
        assert_eq!(
            file.check("10.4.0.10", 22, &key(KEY_A)),
            Verdict::Trusted { line: 1 }
        );
        assert_eq!(
            file.check("127.0.0.1", 2222, &key(KEY_B)),
            Verdict::Trusted { line: 2 }
        );
        assert_eq!(file.check("10.4.0.11", 22, &key(KEY_A)), Verdict::Unknown);
    }

    /// Lines written by `ssh-keygen -H` for `github.com` (KEY_A) and `[127.0.0.1]:2222` (KEY_B).
    #[test]
    fn hashed_entries_written_by_ssh_keygen_match() {
        let file = KnownHosts::parse(
            "|1|QuEuUI3Kln1LfpOd5Q91DeER7b8=|AHKcE+MO+zO68AjSwUh3Q2KyBPs= ssh-ed25519 \
             AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5\n\
             |1|un4m4sETC1WSQZNfagvKL9cq/GY=|ghdoWPnVawXUYPFx5hJjbUanexo= ssh-ed25519 \
             AAAAC3NzaC1lZDI1NTE5AAAAIBWkFcS5YbQm635qdEI48iThY84ov7oUexEczw/Sl1/3\n",
        );
        assert_eq!(
            file.check("github.com", 22, &key(KEY_A)),
            Verdict::Trusted { line: 1 }
        );
        assert_eq!(
            file.check("127.0.0.1", 2222, &key(KEY_B)),
            Verdict::Trusted { line: 2 }
        );
        assert_eq!(file.check("127.0.0.1", 22, &key(KEY_B)), Verdict::Unknown);
        let salt = STANDARD.decode("QuEuUI3Kln1LfpOd5Q91DeER7b8=").unwrap();
        assert_eq!(
            hash_name(&salt, "github.com"),
            "|1|QuEuUI3Kln1LfpOd5Q91DeER7b8=|AHKcE+MO+zO68AjSwUh3Q2KyBPs="
        );
    }

    #[test]
    fn wildcards_negation_and_markers() {
        let file = KnownHosts::parse(&format!(
            "10.4.0.*,!10.4.0.13 {KEY_A}\n@revoked * {KEY_B}\n@cert-authority *.lab {KEY_A}\n@bogus x {KEY_A}\n"
        ));
        assert_eq!(
            file.check("10.4.0.12", 22, &key(KEY_A)),
            Verdict::Trusted { line: 1 }
        );
        assert_eq!(file.check("10.4.0.13", 22, &key(KEY_A)), Verdict::Unknown);
        assert_eq!(
            file.check("10.4.0.12", 22, &key(KEY_B)),
            Verdict::Revoked { line: 2 }
        );
        assert_eq!(
            file.check("node.lab", 22, &key(KEY_A)),
            Verdict::Unknown,
            "a CA line does not trust a plain key"
        );
        assert_eq!(
            file.entries().len(),
            3,
            "the unknown marker line is skipped"
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let file = KnownHosts::parse(&format!(
            "onlyhost\nhost ssh-ed25519 not-base64!!\n|1|bad|salt {KEY_A}\n10.4.0.10 {KEY_A}\n"
        ));
        assert_eq!(file.entries().len(), 1);
        assert_eq!(
            file.check("10.4.0.10", 22, &key(KEY_A)),
            Verdict::Trusted { line: 4 }
        );
    }

    #[test]
    fn glob_matching() {
        assert!(wildcard_match(b"*", b"anything"));
        assert!(wildcard_match(b"10.4.0.?", b"10.4.0.1"));
        assert!(!wildcard_match(b"10.4.0.?", b"10.4.0.10"));
        assert!(wildcard_match(b"*.lab", b"node1.lab"));
        assert!(!wildcard_match(b"*.lab", b"node1.lab.example"));
        assert!(wildcard_match(b"[*]:2222", b"[10.0.0.1]:2222"));
        assert!(wildcard_match(b"a*b*c", b"aXXbYYc"));
        assert!(!wildcard_match(b"a*b*c", b"aXXbYY"));
    }
}
