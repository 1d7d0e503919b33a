//! The deb822 `.sources` file of one repository: rendered from the resource's values, parsed
//! back from the host, and the checks that keep every value one deb822 word.

use sha2::{Digest, Sha256};

/// Where apt reads one-file-per-repository sources.
pub(crate) const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// Where signing keys live, as Debian recommends for keys of third-party repositories.
pub(crate) const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

const KEY_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const KEY_END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// A repository as its `.sources` stanza says it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Sources {
    /// `URIs`.
    pub(crate) uris: Vec<String>,
    /// `Suites`; a suite ending in `/` is a flat repository (no components).
    pub(crate) suites: Vec<String>,
    /// `Components`; empty for flat repositories.
    pub(crate) components: Vec<String>,
    /// `Architectures`; empty means apt's default.
    pub(crate) architectures: Vec<String>,
    /// False writes `Enabled: no`.
    pub(crate) enabled: bool,
    /// `Signed-By`: the key file.
    pub(crate) signed_by: Option<String>,
}

/// `/etc/apt/sources.list.d/NAME.sources`.
pub(crate) fn sources_path(name: &str) -> String {
    format!("{SOURCES_DIR}/{name}.sources")
}

/// `/etc/apt/keyrings/NAME.asc`.
pub(crate) fn key_path(name: &str) -> String {
    format!("{KEYRINGS_DIR}/{name}.asc")
}

impl Sources {
    /// The file text: one stanza, fields in apt's documented order.
    pub(crate) fn render(&self) -> String {
        let mut text = String::from("Types: deb\n");
        let mut field = |name: &str, values: &[String]| {
            if !values.is_empty() {
                text.push_str(&format!("{name}: {}\n", values.join(" ")));
            }
        };
        field("URIs", &self.uris);
        field("Suites", &self.suites);
        field("Components", &self.components);
        field("Architectures", &self.architectures);
        if !self.enabled {
            text.push_str("Enabled: no\n");
        }
        if let Some(key) = &self.signed_by {
            text.push_str(&format!("Signed-By: {key}\n"));
        }
        text
    }

    /// Parses the first stanza of a `.sources` file. Field names are matched as apt matches
    /// them (without case); continuation lines join their field; comments are skipped. Fields
    /// this resource does not manage are left out here and show up through the file's hash.
    pub(crate) fn parse(text: &str) -> Sources {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            if line.trim().is_empty() {
                if fields.is_empty() {
                    continue;
                }
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let words = |name: &str| -> Vec<String> {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let enabled = words("enabled")
            .first()
            .is_none_or(|v| !matches!(v.to_ascii_lowercase().as_str(), "no" | "false" | "0"));
        Sources {
            uris: words("uris"),
            suites: words("suites"),
            components: words("components"),
            architectures: words("architectures"),
            enabled,
            signed_by: fields
                .iter()
                .find(|(n, _)| n == "signed-by")
                .map(|(_, v)| v.clone()),
        }
    }
}

/// Why a list element cannot be one deb822 word, if it cannot.
pub(crate) fn check_word(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty".to_owned());
    }
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "it contains {c:?}; each value must be one word without spaces or line breaks"
        ));
    }
    if value.starts_with('#') {
        return Err("it starts with #, which apt reads as a comment".to_owned());
    }
    Ok(())
}

/// Why a URI is not one apt can fetch from, if it is not.
pub(crate) fn check_uri(uri: &str) -> Result<(), String> {
    check_word(uri)?;
    let scheme = uri.split_once("://").map(|(s, _)| s);
    match scheme {
        Some("http" | "https" | "file" | "ftp" | "mirror" | "mirror+http" | "mirror+https") => {
            Ok(())
        }
        Some(other) if other.starts_with("tor+") => Ok(()),
        _ => Err(
            "it must be an absolute URI such as https://pkgs.k8s.io/core:/stable:/v1.30/deb/"
                .to_owned(),
        ),
    }
}

/// Why a repository name cannot be a file stem under `sources.list.d`, if it cannot. apt itself
/// ignores files whose names use other characters.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if name.is_empty() || !valid_chars {
        return Err("use lowercase letters, digits, dots, underscores and hyphens only".to_owned());
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("it must start with a letter or digit".to_owned());
    }
    if name.len() > 100 {
        return Err("it is longer than 100 characters".to_owned());
    }
    Ok(())
}

/// Why a text is not an ASCII-armored OpenPGP public key block, if it is not. apt hands the
/// file to gpgv, which only tells at update time; this catches a pasted fingerprint, a binary
/// key or a private key at plan.
pub(crate) fn check_signing_key(text: &str) -> Result<(), String> {
    if text.contains("PRIVATE KEY BLOCK") {
        return Err("this is a private key; give the repository's public key".to_owned());
    }
    let Some(begin) = text.find(KEY_BEGIN) else {
        return Err(format!(
            "it does not contain {KEY_BEGIN:?}; give the ASCII-armored public key (e.g. the \
             Release.key a repository publishes, or `gpg --armor --export`)"
        ));
    };
    let Some(end) = text[begin..].find(KEY_END) else {
        return Err(format!("the key block has no {KEY_END:?} line"));
    };
    let body = &text[begin + KEY_BEGIN.len()..begin + end];
    let has_data = body.lines().any(|line| {
        let line = line.trim();
        line.len() > 16
            && line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    });
    if !has_data {
        return Err("the key block holds no base64 data".to_owned());
    }
    if !text.is_ascii() {
        return Err("an armored key is ASCII text; this one is not".to_owned());
    }
    Ok(())
}

/// SHA-256 in hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubernetes() -> Sources {
        Sources {
            uris: vec!["https://pkgs.k8s.io/core:/stable:/v1.30/deb/".into()],
            suites: vec!["/".into()],
            components: vec![],
            architectures: vec!["arm64".into()],
            enabled: true,
            signed_by: Some(key_path("kubernetes")),
        }
    }

    #[test]
    fn a_rendered_file_parses_back_to_the_same_values() {
        let sources = kubernetes();
        let text = sources.render();
        assert_eq!(
            text,
            "Types: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.30/deb/\nSuites: /\n\
             Architectures: arm64\nSigned-By: /etc/apt/keyrings/kubernetes.asc\n"
        );
        assert_eq!(Sources::parse(&text), sources);
        let disabled = Sources {
            enabled: false,
            components: vec!["main".into(), "contrib".into()],
            ..kubernetes()
        };
        assert_eq!(Sources::parse(&disabled.render()), disabled);
    }

    #[test]
    fn parsing_follows_deb822_rules() {
        let text = "# comment\n\nTypes: deb\nuris: http://a/ \n  http://b/\nSUITES: x y\n\
                    Enabled: No\nTrusted: yes\n\nTypes: deb-src\nURIs: http://c/\n";
        let parsed = Sources::parse(text);
        assert_eq!(parsed.uris, ["http://a/", "http://b/"]);
        assert_eq!(parsed.suites, ["x", "y"]);
        assert!(!parsed.enabled);
        assert_eq!(parsed.signed_by, None);
    }

    #[test]
    fn values_that_would_change_the_stanza_are_rejected() {
        assert!(check_word("stable").is_ok());
        assert!(check_word("$(touch /tmp/x)").is_err(), "a space");
        assert!(check_word("main\nTrusted: yes").is_err());
        assert!(check_word("#x").is_err());
        assert!(check_uri("http://10.0.0.1:8080/").is_ok());
        assert!(check_uri("10.0.0.1/debian").is_err());
        assert!(check_name("kubernetes-1.30").is_ok());
        for bad in ["", "../x", "A", "-x", "a b", "a/b", ".hidden"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_armored_public_keys_pass() {
        let key = format!(
            "{KEY_BEGIN}\n\nmDMEZ0VjYRYJKwYBBAHaRw8BAQdAabcdefghijklmnop\n=abcd\n{KEY_END}\n"
        );
        assert!(check_signing_key(&key).is_ok());
        assert!(check_signing_key("5D89A43E3736F4CE").is_err());
        assert!(check_signing_key(&key.replace(KEY_END, "")).is_err());
        assert!(
            check_signing_key(&format!("{KEY_BEGIN}\n$(touch /x)\n{KEY_END}\n")).is_err(),
            "no base64 body"
        );
        assert!(
            check_signing_key("-----BEGIN PGP PRIVATE KEY BLOCK-----\n").is_err(),
            "a private key"
        );
    }
}
