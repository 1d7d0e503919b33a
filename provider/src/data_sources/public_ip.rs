//! `homelab_public_ip`: the home's public address, as the provider's echo sources see it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::public_ip::IpVersion;
use crate::registry::{Context, DataSource};
use crate::tf::model::{self as typed, ModelShape, Planned};
use crate::tf::{Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value};

/// The `homelab_public_ip` data source.
pub struct PublicIp;

/// The data source's configuration at read, and its result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct PublicIpModel {
    ip_version: Option<String>,
    ip: Option<String>,
    source: Option<String>,
    id: Option<String>,
}

/// The configuration at validate, where `ip_version` may still be unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PlannedPublicIp {
    ip_version: Planned<Option<String>>,
    ip: Planned<Option<String>>,
    source: Planned<Option<String>>,
    id: Planned<Option<String>>,
}

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

    fn models(&self) -> Vec<ModelShape> {
        vec![
            ModelShape::of::<PublicIpModel>(),
            ModelShape::of::<PlannedPublicIp>(),
        ]
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let config: PlannedPublicIp = match typed::from_value(config) {
            Ok(config) => config,
            Err(e) => return e.into(),
        };
        let mut diagnostics = Diagnostics::new();
        if let Err(d) = ip_version(config.ip_version.as_str()) {
            diagnostics.push(d);
        }
        diagnostics
    }

    async fn read(&self, context: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let config: PublicIpModel = typed::from_value(config)?;
        let version = ip_version(config.ip_version.as_deref()).map_err(Diagnostics::from)?;
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
        let state = PublicIpModel {
            ip_version: config.ip_version,
            ip: Some(ip.clone()),
            source: Some(found.source),
            id: Some(ip),
        };
        Ok(typed::to_value(&state, &self.schema().block.value_type())?)
    }
}

/// The configured family; unset (or not yet known) is IPv4.
fn ip_version(configured: Option<&str>) -> Result<IpVersion, Diagnostic> {
    match configured {
        None | Some("ipv4") => Ok(IpVersion::V4),
        Some("ipv6") => Ok(IpVersion::V6),
        Some(other) => Err(Diagnostic::error(
            "Invalid IP version",
            format!("ip_version must be \"ipv4\" or \"ipv6\", not {other:?}"),
        )
        .at(AttributePath::root("ip_version"))),
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
