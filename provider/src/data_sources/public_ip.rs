//! `homelab_public_ip`: the home's public address, as the provider's echo sources see it.

use async_trait::async_trait;

use crate::public_ip::IpVersion;
use crate::registry::{Context, DataSource};
use crate::tf::{Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value};

/// The `homelab_public_ip` data source.
pub struct PublicIp;

#[async_trait]
impl DataSource for PublicIp {
    fn type_name(&self) -> &'static str {
        "homelab_public_ip"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new(
                "The home's public IP address, asked of the echo services in the provider's \
                 `public_ip` block. It is read on every plan, so a moved address shows up in \
                 `plan` before anything is applied.",
                vec![
                    Attribute::optional("ip_version", Type::String).describe(
                        "`\"ipv4\"` (default) or `\"ipv6\"`: the family the request leaves with \
                         and the answer must have.",
                    ),
                    Attribute::computed("ip", Type::String).describe("The public address."),
                    Attribute::computed("source", Type::String)
                        .describe("The echo service URL that answered."),
                    Attribute::computed("id", Type::String).describe("The public address."),
                ],
            ),
        }
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        if let Err(d) = ip_version(config) {
            diagnostics.push(d);
        }
        diagnostics
    }

    async fn read(&self, context: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let version = ip_version(config).map_err(Diagnostics::from)?;
        let found = context
            .provider
            .public_ip(version, &context.cancel)
            .await
            .map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Cannot find the public IP address",
                    e.to_string(),
                ))
            })?;
        let ip = found.ip.to_string();
        Ok(Value::object([
            ("ip_version", config.attr("ip_version").clone()),
            ("ip", Value::from(ip.clone())),
            ("source", Value::from(found.source)),
            ("id", Value::from(ip)),
        ]))
    }
}

fn ip_version(config: &Value) -> Result<IpVersion, Diagnostic> {
    match config.attr("ip_version") {
        Value::Null | Value::Unknown(_) => Ok(IpVersion::V4),
        Value::String(s) if s == "ipv4" => Ok(IpVersion::V4),
        Value::String(s) if s == "ipv6" => Ok(IpVersion::V6),
        other => Err(Diagnostic::error(
            "Invalid IP version",
            format!(
                "ip_version must be \"ipv4\" or \"ipv6\", not {}",
                describe(other)
            ),
        )
        .at(AttributePath::root("ip_version"))),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_version_is_checked_at_validate() {
        let bad = Value::object([("ip_version", Value::from("ipv5"))]);
        let diagnostics = PublicIp.validate(&bad);
        assert!(diagnostics.has_errors());
        assert_eq!(
            diagnostics.0[0]
                .attribute
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("ip_version")
        );
        assert!(
            PublicIp
                .validate(&Value::object([("ip_version", Value::unknown())]))
                .is_empty()
        );
    }
}
