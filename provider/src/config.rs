//! The provider block: its schema, its validation, and the settings and clients it produces.

use std::time::Duration;

use tokio::sync::OnceCell;

use crate::public_ip::{self, FoundIp, IpVersion, PublicIpError, PublicIpSettings};
use crate::tf::duration;
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type, Value,
};

/// Environment variable with comma-separated public IP sources, used when the block sets none.
pub const ENV_PUBLIC_IP_SOURCES: &str = "HOMELAB_PUBLIC_IP_SOURCES";
/// Environment variable with the per-source timeout, used when the block sets none.
pub const ENV_PUBLIC_IP_TIMEOUT: &str = "HOMELAB_PUBLIC_IP_TIMEOUT";

const DEFAULT_PUBLIC_IP_TIMEOUT: Duration = Duration::from_secs(10);

/// The provider block's schema.
pub fn provider_schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new(
            "The `homelab` provider plans and applies a homelab: Linux nodes over SSH, a kubeadm \
             cluster behind an HAProxy load balancer, the router's BGP peers, NFS exports and \
             mounts, a Route53 record that follows the home's public IP, and a CloudFront \
             distribution with its ACM certificate.",
            vec![],
        )
        .with_block(NestedBlock::single(
            "public_ip",
            Block::new(
                "How the home's public IP address is found (by `data.homelab_public_ip` and by \
                 records that follow it).",
                vec![
                    Attribute::optional("sources", Type::list(Type::String)).describe(
                        "HTTP(S) echo services that answer with the caller's address as plain \
                         text, tried in order: one that cannot be reached or answers with an HTTP \
                         error is skipped; one that answers with anything but a public address \
                         is an error. Default: `HOMELAB_PUBLIC_IP_SOURCES` (comma-separated), \
                         else checkip.amazonaws.com, api.ipify.org, ifconfig.me.",
                    ),
                    Attribute::optional("timeout", Type::String).describe(
                        "How long one source may take, as a duration like `\"5s\"`. Default: \
                         `HOMELAB_PUBLIC_IP_TIMEOUT`, else `\"10s\"`.",
                    ),
                ],
            ),
        ))
        .with_block(crate::ssh::config::provider_block())
        .with_block(crate::aws::config::provider_block()),
    }
}

/// Checks the provider block; values may still be unknown.
pub fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = crate::ssh::config::validate_provider_block(config);
    diagnostics.extend(crate::aws::config::validate(config.attr("aws")));
    let public_ip = config.attr("public_ip");
    let timeout = public_ip.attr("timeout");
    if let Some(text) = timeout.as_str()
        && let Err(e) = duration::parse(text)
    {
        diagnostics.push(
            Diagnostic::error("Invalid duration", e.to_string())
                .at(AttributePath::root("public_ip").attr("timeout")),
        );
    }
    if let Some(sources) = public_ip.attr("sources").as_elements() {
        for (i, source) in sources.iter().enumerate() {
            if let Some(url) = source.as_str()
                && let Err(reason) = check_source_url(url)
            {
                diagnostics.push(
                    Diagnostic::error(
                        "Invalid public IP source",
                        format!("{:?}: {reason}", shortened(url)),
                    )
                    .at(AttributePath::root("public_ip")
                        .attr("sources")
                        .index(i as i64)),
                );
            }
        }
    }
    diagnostics
}

/// A value cut to a length a diagnostic can show.
fn shortened(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_CHARS).collect();
        format!("{head}… ({} bytes)", text.len())
    }
}

fn check_source_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(()),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!("scheme {other:?} is not http or https")),
    }
}

/// The configured provider: settings and the shared clients built from them.
#[derive(Debug)]
pub struct ProviderData {
    /// Where the public IP is asked for.
    pub public_ip: PublicIpSettings,
    public_ipv4: OnceCell<FoundIp>,
    public_ipv6: OnceCell<FoundIp>,
    /// SSH settings and the connection pool every host-side resource shares.
    pub ssh: crate::ssh::Ssh,
    /// AWS clients, built on first use: runs that touch no AWS resource never look for
    /// AWS settings or credentials.
    pub aws: crate::aws::AwsClients,
}

impl ProviderData {
    /// Settings from the provider block, falling back to environment variables and defaults.
    pub fn from_config(config: &Value) -> Result<ProviderData, Diagnostics> {
        let diagnostics = validate(config);
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        let block = config.attr("public_ip");
        let mut unknown = Diagnostics::new();
        for name in ["sources", "timeout"] {
            if !block.attr(name).is_fully_known() {
                unknown.push(
                    Diagnostic::error(
                        "Value not known when configuring the provider",
                        "The provider's public_ip settings must be known before any resource \
                         is planned; do not derive them from resources of this configuration.",
                    )
                    .at(AttributePath::root("public_ip").attr(name)),
                );
            }
        }
        if unknown.has_errors() {
            return Err(unknown);
        }
        let sources = match block.attr("sources").as_elements() {
            Some(list) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            None => match std::env::var(ENV_PUBLIC_IP_SOURCES) {
                Ok(text) if !text.trim().is_empty() => text
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                _ => public_ip::DEFAULT_SOURCES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            },
        };
        let timeout_text = block
            .attr("timeout")
            .as_str()
            .map(str::to_owned)
            .or_else(|| std::env::var(ENV_PUBLIC_IP_TIMEOUT).ok());
        let timeout = match timeout_text {
            Some(text) => duration::parse(&text).map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error("Invalid duration", format!("{ENV_PUBLIC_IP_TIMEOUT}: {e}"))
                        .at(AttributePath::root("public_ip").attr("timeout")),
                )
            })?,
            None => DEFAULT_PUBLIC_IP_TIMEOUT,
        };
        let ssh = crate::ssh::Ssh::new(crate::ssh::config::settings_from_config(config)?);
        let aws =
            crate::aws::AwsClients::new(crate::aws::AwsSettings::from_block(config.attr("aws"))?);
        Ok(ProviderData {
            ssh,
            aws,
            ..ProviderData::new(PublicIpSettings { sources, timeout })
        })
    }

    /// Settings as given, with empty caches.
    pub fn new(public_ip: PublicIpSettings) -> ProviderData {
        ProviderData {
            public_ip,
            public_ipv4: OnceCell::new(),
            public_ipv6: OnceCell::new(),
            ssh: crate::ssh::Ssh::new(crate::ssh::SshDefaults::builtin()),
            aws: crate::aws::AwsClients::new(crate::aws::AwsSettings::default()),
        }
    }

    /// The home's public address, looked up once per provider process: every resource planned
    /// in one run sees the same answer, and the echo services are asked only once.
    pub async fn public_ip(
        &self,
        version: IpVersion,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<FoundIp, PublicIpError> {
        let cell = match version {
            IpVersion::V4 => &self.public_ipv4,
            IpVersion::V6 => &self.public_ipv6,
        };
        cell.get_or_try_init(|| public_ip::lookup(&self.public_ip, version, cancel))
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(sources: Value, timeout: Value) -> Value {
        Value::object([(
            "public_ip",
            Value::object([("sources", sources), ("timeout", timeout)]),
        )])
    }

    #[test]
    fn bad_timeout_and_source_name_their_attribute() {
        let diagnostics = validate(&config(
            Value::List(vec!["ftp://x/".into(), "http://ok/".into()]),
            "5 minutes".into(),
        ));
        let paths: Vec<String> = diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(paths, vec!["public_ip.timeout", "public_ip.sources[0]"]);
    }

    #[test]
    fn unknown_values_pass_validation_but_not_configuration() {
        let c = config(Value::unknown(), Value::unknown());
        assert!(validate(&c).is_empty());
        assert!(ProviderData::from_config(&c).is_err());
    }

    #[test]
    fn block_values_are_taken_as_given() {
        let data = ProviderData::from_config(&config(
            Value::List(vec!["http://127.0.0.1:9/".into()]),
            "2s".into(),
        ))
        .unwrap();
        assert_eq!(data.public_ip.sources, vec!["http://127.0.0.1:9/"]);
        assert_eq!(data.public_ip.timeout, Duration::from_secs(2));
    }
}
