//! Finds the home's public IP address by asking HTTP echo services in order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Where to ask and how long to wait for each answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIpSettings {
    /// Echo service URLs, tried in order until one answers.
    pub sources: Vec<String>,
    /// How long one source may take.
    pub timeout: Duration,
}

/// Echo services used when the provider block names none. They answer with the caller's
/// address as plain text, which is all this module parses.
pub const DEFAULT_SOURCES: &[&str] = &[
    "https://checkip.amazonaws.com/",
    "https://api.ipify.org/",
    "https://ifconfig.me/ip",
];

/// The address family asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4: the request leaves over IPv4 and the answer must be an IPv4 address.
    V4,
    /// IPv6: the request leaves over IPv6 and the answer must be an IPv6 address.
    V6,
}

/// A public address and the source that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundIp {
    /// The address.
    pub ip: IpAddr,
    /// The URL that answered.
    pub source: String,
}

/// Why no public address was found.
#[derive(Debug, thiserror::Error)]
pub enum PublicIpError {
    /// A source answered with something that is not a public address of the asked family.
    #[error("{source_url} answered {answer:?}, which is not a public {family} address")]
    NotPublic {
        /// The URL that answered.
        source_url: String,
        /// The answer, shortened.
        answer: String,
        /// "IPv4" or "IPv6".
        family: &'static str,
    },
    /// No source could be reached or none answered successfully.
    #[error("no public IP source answered:\n{}", .0.iter().map(|(s, e)| format!("  - {s}: {e}")).collect::<Vec<_>>().join("\n"))]
    AllFailed(Vec<(String, String)>),
    /// No sources were configured.
    #[error("no public IP sources are configured")]
    NoSources,
    /// Terraform asked the provider to stop.
    #[error("cancelled")]
    Cancelled,
}

/// The most of an answer read: an address is never longer than this.
const MAX_ANSWER_BYTES: usize = 256;

/// Asks each source in order; a source that cannot be reached, times out or answers with an
/// HTTP error is skipped, while one that answers with something other than a public address
/// stops the search: a broken or hijacked echo service must not move a DNS record silently.
pub async fn lookup(
    settings: &PublicIpSettings,
    version: IpVersion,
    cancel: &CancellationToken,
) -> Result<FoundIp, PublicIpError> {
    if settings.sources.is_empty() {
        return Err(PublicIpError::NoSources);
    }
    let local: IpAddr = match version {
        IpVersion::V4 => Ipv4Addr::UNSPECIFIED.into(),
        IpVersion::V6 => Ipv6Addr::UNSPECIFIED.into(),
    };
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .local_address(local)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| PublicIpError::AllFailed(vec![("(client)".into(), e.to_string())]))?;
    let mut failures = Vec::new();
    for source in &settings.sources {
        let answer = tokio::select! {
            _ = cancel.cancelled() => return Err(PublicIpError::Cancelled),
            answer = fetch(&client, source) => answer,
        };
        match answer {
            Ok(text) => return parse_answer(source, &text, version),
            Err(reason) => {
                crate::log::debug(
                    "public IP source failed",
                    &[("source", source), ("error", &reason)],
                );
                failures.push((source.clone(), reason));
            }
        }
    }
    Err(PublicIpError::AllFailed(failures))
}

async fn fetch(client: &reqwest::Client, source: &str) -> Result<String, String> {
    let mut response = client
        .get(source)
        .send()
        .await
        .map_err(describe_request_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP status {status}"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe_request_error)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            break;
        }
    }
    body.truncate(MAX_ANSWER_BYTES);
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn describe_request_error(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            text = format!("{text}: {inner}");
            source = inner.source();
        }
        text
    }
}

/// Parses an echo service's answer and insists on a public address of the asked family.
pub fn parse_answer(
    source: &str,
    text: &str,
    version: IpVersion,
) -> Result<FoundIp, PublicIpError> {
    let trimmed = text.trim();
    let family = match version {
        IpVersion::V4 => "IPv4",
        IpVersion::V6 => "IPv6",
    };
    let not_public = || PublicIpError::NotPublic {
        source_url: source.to_owned(),
        answer: trimmed.chars().take(64).collect(),
        family,
    };
    let ip: IpAddr = trimmed.parse().map_err(|_| not_public())?;
    let family_matches = matches!(
        (version, ip),
        (IpVersion::V4, IpAddr::V4(_)) | (IpVersion::V6, IpAddr::V6(_))
    );
    if !family_matches || !is_public(ip) {
        return Err(not_public());
    }
    Ok(FoundIp {
        ip,
        source: source.to_owned(),
    })
}

/// Whether an address is globally routable: not private, loopback, link-local, shared
/// (carrier-grade NAT), documentation, benchmarking, multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 0 && c == 0))
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let global_unicast = (segments[0] & 0xe000) == 0x2000;
            let documentation = segments[0] == 0x2001 && segments[1] == 0x0db8;
            global_unicast && !documentation && v6.to_ipv4_mapped().is_none()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_are_told_apart_from_local_ones() {
        for public in ["81.2.69.160", "8.8.8.8", "2a00:1450:4001:80b::200e"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for local in [
            "10.4.0.10",
            "192.168.1.1",
            "172.16.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "203.0.113.5",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(local.parse().unwrap()), "{local}");
        }
    }

    #[test]
    fn answers_are_trimmed_and_checked() {
        let found = parse_answer("http://echo/", "81.2.69.160\n", IpVersion::V4).unwrap();
        assert_eq!(found.ip.to_string(), "81.2.69.160");
        let error =
            parse_answer("http://echo/", "<html>captive</html>", IpVersion::V4).unwrap_err();
        assert!(error.to_string().contains("http://echo/"), "{error}");
        assert!(
            error.to_string().contains("not a public IPv4 address"),
            "{error}"
        );
        assert!(parse_answer("s", "2a00:1450:4001:80b::200e", IpVersion::V4).is_err());
        assert!(parse_answer("s", "10.0.0.1", IpVersion::V4).is_err());
    }
}
