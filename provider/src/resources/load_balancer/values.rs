//! The checks every user value passes before it may reach the HAProxy file or a remote shell:
//! names, listen addresses, server addresses, HAProxy durations, URL and file paths.

use std::net::Ipv4Addr;

use super::settings::{Bind, RESERVED_NAMES};

/// A section or server name: HAProxy's identifier characters, no more.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("use 1 to 64 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("use only letters, digits, `_`, `-` and `.`".into());
    }
    if RESERVED_NAMES.contains(&name) {
        return Err("this name is the resource's own".into());
    }
    Ok(())
}

/// `ADDRESS:PORT` with an IPv4 address or `*`.
pub(crate) fn parse_bind(text: &str) -> Result<Bind, String> {
    let (address, port) = text
        .rsplit_once(':')
        .ok_or("expected ADDRESS:PORT, e.g. \"0.0.0.0:6443\"")?;
    if address != "*" && address.parse::<Ipv4Addr>().is_err() {
        return Err(format!(
            "{:?} is not an IPv4 address or `*`",
            shown(address)
        ));
    }
    let port = parse_port(port)?;
    Ok(Bind {
        address: address.to_owned(),
        port,
    })
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u32>() {
        Ok(port) if (1..=65535).contains(&port) && !text.starts_with('0') => Ok(port as u16),
        _ => Err(format!("{:?} is not a port (1..=65535)", shown(text))),
    }
}

/// An IPv4 address or a DNS name.
pub(crate) fn check_server_address(text: &str) -> Result<(), String> {
    if text.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if text.len() <= 253
        && text.split('.').all(label_ok)
        && !text.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        Ok(())
    } else {
        Err("not an IPv4 address or a host name".into())
    }
}

/// HAProxy's time format: digits and an optional unit.
pub(crate) fn check_duration(text: &str) -> Result<(), String> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    if !digits.is_empty()
        && digits.len() <= 9
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["", "us", "ms", "s", "m", "h", "d"].contains(&unit)
    {
        Ok(())
    } else {
        Err("use digits and a unit (us, ms, s, m, h, d), e.g. \"2s\"".into())
    }
}

/// A URL path: starts with `/`, printable ASCII without spaces, quotes, `#` or `\`.
pub(crate) fn check_url_path(text: &str) -> Result<(), String> {
    if !text.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if text.len() > 256
        || !text.chars().all(|c| {
            c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '#' | '\\' | '$' | '`' | ';')
        })
    {
        return Err(
            "use printable ASCII without spaces, quotes, `#`, `\\`, `$`, `` ` `` or `;`".into(),
        );
    }
    Ok(())
}

/// An absolute file path without spaces, quotes or control characters.
pub(crate) fn check_file_path(text: &str) -> Result<(), String> {
    if !text.starts_with('/') {
        return Err("must be absolute".into());
    }
    check_url_path(text)
        .map_err(|_| "use a path without spaces, quotes, `#`, `\\`, `$`, `` ` `` or `;`".into())
}

pub(crate) fn one_of(text: &str, choices: &[&str]) -> Result<(), String> {
    if choices.contains(&text) {
        Ok(())
    } else {
        Err(format!("use one of {}", choices.join(", ")))
    }
}

/// A user value cut to a length a diagnostic can show.
pub(crate) fn shown(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_addresses_and_durations() {
        assert_eq!(parse_bind("*:8404").unwrap().to_string(), "*:8404");
        assert_eq!(parse_bind("10.4.0.10:6443").unwrap().port, 6443);
        for bad in [
            "10.4.0.10",
            "host:80",
            "1.2.3.4:65536",
            "1.2.3.4:080",
            "[::1]:80",
            ":80",
        ] {
            assert!(parse_bind(bad).is_err(), "{bad}");
        }
        assert!(check_server_address("bettley.goldentooth.net").is_ok());
        for bad in ["a b", "$(reboot)", "x;y", "10.4.0.300", "-x", "a\nb"] {
            assert!(check_server_address(bad).is_err(), "{bad}");
        }
        for good in ["2s", "500ms", "1m", "3000"] {
            assert!(check_duration(good).is_ok(), "{good}");
        }
        for bad in ["", "s", "2 s", "2sec", "-1s", "1s\n"] {
            assert!(check_duration(bad).is_err(), "{bad}");
        }
        assert!(check_url_path("/healthz").is_ok());
        for bad in ["healthz", "/a b", "/a\"b", "/a#b", "/$(x)", "/a\nb"] {
            assert!(check_url_path(bad).is_err(), "{bad}");
        }
    }
}
