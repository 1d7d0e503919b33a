//! Host key policy: a pinned key, a known_hosts file, or the explicit opt-out; and the errors that
//! tell a user exactly which key a host offered and how to trust it.

use std::path::{Path, PathBuf};

use russh::keys::{Algorithm, HashAlg, PublicKey};

use super::known_hosts::{KnownHosts, Verdict, lookup_name, same_key};

/// How a server's host key is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum HostKeyPolicy {
    /// Only these keys (from a `host_key` setting) are accepted.
    Pinned(Vec<PublicKey>),
    /// Keys recorded in this known_hosts file are accepted.
    KnownHosts(PathBuf),
    /// Any key is accepted, with a warning on every connection (`insecure_ignore_host_key`).
    InsecureIgnore,
}

/// A host key was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    /// No pin was set and the known_hosts file has no entry for the host.
    #[error(
        "the host key of {host}:{port} is not known: the server offered {algorithm} key \
         {fingerprint}, and {known_hosts} has no entry for {lookup_name}.\n\
         Check this fingerprint on the host itself (for example `ssh-keygen -lf \
         /etc/ssh/ssh_host_{key_type}_key.pub`), then either pin the key in the resource's ssh \
         block:\n  host_key = \"{pin}\"\nor add it to the known_hosts file:\n  \
         {keyscan} >> {known_hosts}"
    )]
    Unknown {
        /// The host as configured.
        host: String,
        /// The port.
        port: u16,
        /// The key's algorithm name, e.g. `ssh-ed25519`.
        algorithm: String,
        /// `ssh-keyscan`'s name for the key type, e.g. `ed25519`.
        key_type: String,
        /// `SHA256:…` as OpenSSH prints it.
        fingerprint: String,
        /// The key in `host_key` form.
        pin: String,
        /// The file that was searched.
        known_hosts: String,
        /// The name the file was searched for.
        lookup_name: String,
        /// The `ssh-keyscan` command that prints the line to add.
        keyscan: String,
    },
    /// The key differs from the pinned `host_key`.
    #[error(
        "the host key of {host}:{port} does not match the pinned host_key: the server offered \
         {fingerprint}, the pin allows {expected}. If the host was rebuilt and the new key is \
         genuine, pin it instead:\n  host_key = \"{pin}\"\nOtherwise someone may be \
         intercepting the connection."
    )]
    PinMismatch {
        /// The host as configured.
        host: String,
        /// The port.
        port: u16,
        /// The offered key's fingerprint.
        fingerprint: String,
        /// The pinned keys' fingerprints.
        expected: String,
        /// The offered key in `host_key` form.
        pin: String,
    },
    /// The known_hosts file records a different key for the host.
    #[error(
        "the host key of {host}:{port} has changed: the server offered {fingerprint}, but \
         {known_hosts} records {expected}. Someone may be intercepting the connection, or the \
         host was rebuilt. If the new key is genuine, remove the old entry with\n  \
         ssh-keygen -f {known_hosts} -R '{lookup_name}'\nand add the new one, or pin it:\n  \
         host_key = \"{pin}\""
    )]
    Changed {
        /// The host as configured.
        host: String,
        /// The port.
        port: u16,
        /// The offered key's fingerprint.
        fingerprint: String,
        /// The recorded keys' fingerprints and line numbers.
        expected: String,
        /// The offered key in `host_key` form.
        pin: String,
        /// The file that holds the old key.
        known_hosts: String,
        /// The name the file knows the host by.
        lookup_name: String,
    },
    /// The known_hosts file marks the key `@revoked`.
    #[error(
        "the host key of {host}:{port} ({fingerprint}) is marked @revoked at line {line} of \
         {known_hosts}; it is never accepted"
    )]
    Revoked {
        /// The host as configured.
        host: String,
        /// The port.
        port: u16,
        /// The offered key's fingerprint.
        fingerprint: String,
        /// The file.
        known_hosts: String,
        /// The `@revoked` line.
        line: usize,
    },
    /// The known_hosts file exists but cannot be read.
    #[error("cannot read known_hosts file {path}: {source}")]
    KnownHostsUnreadable {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A key's fingerprint as OpenSSH prints it: `SHA256:` and unpadded base64.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// A key as a `host_key` value and as the key part of a known_hosts line: `ssh-ed25519 AAAA…`.
pub fn pin_line(key: &PublicKey) -> String {
    let mut plain = key.clone();
    plain.set_comment("");
    plain
        .to_openssh()
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|_| key.algorithm().to_string())
}

/// Parses a `host_key` value: one or more lines `ssh-ed25519 AAAA… [comment]`; a leading host
/// pattern (as in a copied known_hosts line) is allowed and ignored.
pub fn parse_pinned(text: &str) -> Result<Vec<PublicKey>, String> {
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let parsed = PublicKey::from_openssh(&fields.join(" ")).or_else(|first_error| {
            // `host ssh-ed25519 AAAA…`, as ssh-keyscan prints it.
            match fields.get(1..3) {
                Some(rest) => PublicKey::from_openssh(&rest.join(" ")),
                None => Err(first_error),
            }
        });
        match parsed {
            Ok(key) => keys.push(key),
            Err(e) => {
                return Err(format!(
                    "{line:?} is not a public key in OpenSSH form (\"ssh-ed25519 AAAA…\"): {e}"
                ));
            }
        }
    }
    if keys.is_empty() {
        return Err("no key given: expected a line like \"ssh-ed25519 AAAA…\"".into());
    }
    Ok(keys)
}

impl HostKeyPolicy {
    /// Accepts `key` offered by `host:port`, or says why not.
    pub fn verify(&self, host: &str, port: u16, key: &PublicKey) -> Result<(), Box<HostKeyError>> {
        match self {
            HostKeyPolicy::InsecureIgnore => {
                crate::log::warn(
                    "ssh host key NOT verified (insecure_ignore_host_key = true): anyone on the \
                     path can impersonate this host",
                    &[
                        ("host", &host),
                        ("port", &port),
                        ("fingerprint", &fingerprint(key)),
                    ],
                );
                Ok(())
            }
            HostKeyPolicy::Pinned(pins) => {
                if pins.iter().any(|pin| same_key(pin, key)) {
                    Ok(())
                } else {
                    Err(Box::new(HostKeyError::PinMismatch {
                        host: host.to_owned(),
                        port,
                        fingerprint: fingerprint(key),
                        expected: pins.iter().map(fingerprint).collect::<Vec<_>>().join(", "),
                        pin: pin_line(key),
                    }))
                }
            }
            HostKeyPolicy::KnownHosts(path) => {
                let file = read_known_hosts(path)?;
                let shown = path.display().to_string();
                match file.check(host, port, key) {
                    Verdict::Trusted { .. } => Ok(()),
                    Verdict::Revoked { line } => Err(Box::new(HostKeyError::Revoked {
                        host: host.to_owned(),
                        port,
                        fingerprint: fingerprint(key),
                        known_hosts: shown,
                        line,
                    })),
                    Verdict::Changed { known } => Err(Box::new(HostKeyError::Changed {
                        host: host.to_owned(),
                        port,
                        fingerprint: fingerprint(key),
                        expected: known
                            .iter()
                            .map(|(line, k)| format!("{} (line {line})", fingerprint(k)))
                            .collect::<Vec<_>>()
                            .join(", "),
                        pin: pin_line(key),
                        known_hosts: shown,
                        lookup_name: lookup_name(host, port),
                    })),
                    Verdict::Unknown => Err(Box::new(unknown_key(host, port, key, &shown))),
                }
            }
        }
    }

    /// Host key algorithms to ask the server for first: those of the keys this policy already
    /// trusts, so a host with several keys offers the one we can check (as OpenSSH does).
    pub fn known_algorithms(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let keys: Vec<PublicKey> = match self {
            HostKeyPolicy::Pinned(pins) => pins.clone(),
            HostKeyPolicy::KnownHosts(path) => read_known_hosts(path)
                .map(|file| {
                    file.keys_for(host, port)
                        .into_iter()
                        .filter(|e| e.marker.is_none())
                        .map(|e| e.key.clone())
                        .collect()
                })
                .unwrap_or_default(),
            HostKeyPolicy::InsecureIgnore => Vec::new(),
        };
        let mut algorithms: Vec<Algorithm> = Vec::new();
        for key in keys {
            let algorithm = key.algorithm();
            if !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
        algorithms
    }
}

fn read_known_hosts(path: &Path) -> Result<KnownHosts, Box<HostKeyError>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(KnownHosts::parse(&text)),
        // A missing file knows no host; the "unknown key" error then says how to create it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KnownHosts::default()),
        Err(source) => Err(Box::new(HostKeyError::KnownHostsUnreadable {
            path: path.display().to_string(),
            source,
        })),
    }
}

fn unknown_key(host: &str, port: u16, key: &PublicKey, known_hosts: &str) -> HostKeyError {
    let algorithm = key.algorithm();
    let key_type = match &algorithm {
        Algorithm::Ed25519 => "ed25519".to_owned(),
        Algorithm::Ecdsa { .. } => "ecdsa".to_owned(),
        Algorithm::Rsa { .. } => "rsa".to_owned(),
        other => other.to_string(),
    };
    let port_flag = if port == 22 {
        String::new()
    } else {
        format!("-p {port} ")
    };
    HostKeyError::Unknown {
        host: host.to_owned(),
        port,
        algorithm: algorithm.to_string(),
        keyscan: format!("ssh-keyscan {port_flag}-t {key_type} {host}"),
        key_type,
        fingerprint: fingerprint(key),
        pin: pin_line(key),
        known_hosts: known_hosts.to_owned(),
        lookup_name: lookup_name(host, port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 root@vm";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBWkFcS5YbQm635qdEI48iThY84ov7oUexEczw/Sl1/3";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    /// `ssh-keygen -lf` printed these for the two keys.
    #[test]
    fn fingerprints_match_openssh() {
        assert_eq!(
            fingerprint(&key(KEY_A)),
            "SHA256:0sd97LAYMR62vQJCwcbyQ2c6QmHK8vGKgfiLd7hfKlY"
        );
        assert_eq!(
            fingerprint(&key(KEY_B)),
            "SHA256:3E0b97/i3brySiHGy3jCDfKTeBxUZTHTKPWCFuk0PGM"
        );
    }

    #[test]
    fn pin_lines_drop_the_comment() {
        assert_eq!(
            pin_line(&key(KEY_A)),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5"
        );
    }

    #[test]
    fn pins_parse_with_comments_and_keyscan_host_prefixes() {
        let keys = parse_pinned(&format!("{KEY_A}\n\n10.4.0.10 {KEY_B}\n")).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(parse_pinned("").is_err());
        let error = parse_pinned("ssh-ed25519 garbage").unwrap_err();
        assert!(error.contains("ssh-ed25519 garbage"), "{error}");
    }

    #[test]
    fn a_wrong_pin_names_host_fingerprint_and_the_line_to_pin() {
        let policy = HostKeyPolicy::Pinned(vec![key(KEY_A)]);
        assert!(policy.verify("10.4.0.10", 22, &key(KEY_A)).is_ok());
        let message = policy
            .verify("10.4.0.10", 2222, &key(KEY_B))
            .unwrap_err()
            .to_string();
        assert!(message.contains("10.4.0.10:2222"), "{message}");
        assert!(
            message.contains("SHA256:3E0b97/i3brySiHGy3jCDfKTeBxUZTHTKPWCFuk0PGM"),
            "{message}"
        );
        assert!(
            message.contains(&format!("host_key = \"{KEY_B}\"")),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_host_gets_the_pin_line_and_keyscan_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let policy = HostKeyPolicy::KnownHosts(path.clone());
        let message = policy
            .verify("127.0.0.1", 2222, &key(KEY_B))
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("the host key of 127.0.0.1:2222 is not known"));
        assert!(
            message.contains(&format!("host_key = \"{KEY_B}\"")),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "ssh-keyscan -p 2222 -t ed25519 127.0.0.1 >> {}",
                path.display()
            )),
            "{message}"
        );
        assert!(message.contains("[127.0.0.1]:2222"), "{message}");

        std::fs::write(&path, format!("[127.0.0.1]:2222 {KEY_A}\n")).unwrap();
        let changed = policy
            .verify("127.0.0.1", 2222, &key(KEY_B))
            .unwrap_err()
            .to_string();
        assert!(changed.contains("has changed"), "{changed}");
        assert!(changed.contains("(line 1)"), "{changed}");
        assert_eq!(
            policy.known_algorithms("127.0.0.1", 2222),
            vec![Algorithm::Ed25519]
        );
        std::fs::write(&path, format!("[127.0.0.1]:2222 {KEY_B}\n")).unwrap();
        assert!(policy.verify("127.0.0.1", 2222, &key(KEY_B)).is_ok());
    }
}
