//! The schema of `homelab_cloudfront_distribution`.

use std::time::Duration;

use crate::tf::{Attribute, Block, NestedBlock, Schema, Type, Value, timeouts};

/// How long create, update and delete may take by default: CloudFront deploys a change to
/// every edge location in about five to fifteen minutes.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(40 * 60);

/// AWS's managed cache policy `Managed-CachingOptimized`, the console's default.
pub(super) const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";

/// The security policy planned when configuration sets none.
pub(super) const DEFAULT_MINIMUM_PROTOCOL_VERSION: &str = "TLSv1.2_2021";

/// The methods allowed when configuration sets none.
pub(super) const DEFAULT_ALLOWED_METHODS: [&str; 2] = ["GET", "HEAD"];

pub(super) fn schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new(
            "A CloudFront distribution in front of one custom origin, such as the home proxy \
             in front of the dynamic DNS name: aliases with an ACM certificate from \
             `us-east-1`, a cache policy and an origin request policy, a country allow or \
             deny list, and optionally Route53 alias records for every alias. Updates send \
             the configuration with the current ETag (`If-Match`) and try once more when \
             someone changed the distribution in between. Destroy disables the distribution, \
             waits until that is deployed and deletes it, or only disables it with \
             `retain_on_delete`. Edits made outside Terraform to anything configured here show \
             as drift. Import with the distribution's id.",
            vec![
                Attribute::optional("aliases", Type::set(Type::String)).describe(
                    "Alternate domain names (CNAMEs) the distribution answers for, e.g. \
                     `[\"home-proxy.goldentooth.net\", \"*.home-proxy.goldentooth.net\"]`. They \
                     need `certificate_arn`, a certificate that covers them.",
                ),
                Attribute::optional("certificate_arn", Type::String).describe(
                    "ARN of the ACM certificate viewers see, which must be in `us-east-1` \
                     (CloudFront takes certificates from nowhere else): a certificate in any \
                     other region is an error at plan time. Unset: CloudFront's own \
                     `*.cloudfront.net` certificate, which allows no aliases.",
                ),
                Attribute::optional("minimum_protocol_version", Type::String)
                    .default_value(DEFAULT_MINIMUM_PROTOCOL_VERSION)
                    .describe(
                        "The security policy for viewer connections with `certificate_arn`, \
                         e.g. `TLSv1.2_2019`. Default: `\"TLSv1.2_2021\"`. Only with a \
                         certificate: CloudFront's own certificate has its own policy, so \
                         setting this without `certificate_arn` is an error.",
                    ),
                Attribute::optional("ssl_support_method", Type::String)
                    .default_value("sni-only")
                    .describe(
                        "How CloudFront serves HTTPS with `certificate_arn`: `sni-only` \
                         (default), `vip` (dedicated IPs, charged extra) or `static-ip`. Only \
                         with a certificate, like `minimum_protocol_version`.",
                    ),
                Attribute::optional("price_class", Type::String)
                    .default_value("PriceClass_All")
                    .describe(
                        "Which edge locations serve the distribution: `PriceClass_100` (North \
                         America and Europe), `PriceClass_200` or `PriceClass_All` (default).",
                    ),
                Attribute::optional("cache_policy_id", Type::String)
                    .default_value(CACHING_OPTIMIZED)
                    .describe(
                        "Id of the cache policy of the default cache behaviour. Default: \
                         `Managed-CachingOptimized` \
                         (`658327ea-f89d-4fab-a63d-7e88639e58f6`). A proxy to a home server \
                         usually wants `Managed-CachingDisabled` \
                         (`4135ea2d-6df8-44a3-9df3-4b5a84be39ad`).",
                    ),
                Attribute::optional("origin_request_policy_id", Type::String).describe(
                    "Id of the origin request policy: which viewer headers, cookies and query \
                     strings reach the origin, e.g. `Managed-AllViewer` \
                     (`216adef6-5c7f-47e4-b989-5492eafa07d3`). Unset: none.",
                ),
                Attribute::optional("viewer_protocol_policy", Type::String)
                    .default_value("redirect-to-https")
                    .describe(
                        "What viewers may use: `allow-all`, `https-only` or \
                         `redirect-to-https` (default).",
                    ),
                Attribute::optional("allowed_methods", Type::set(Type::String))
                    .default_value(Value::Set(
                        DEFAULT_ALLOWED_METHODS.map(Value::from).to_vec(),
                    ))
                    .describe(
                        "HTTP methods CloudFront passes to the origin: `[\"GET\", \"HEAD\"]` \
                         (default), those and `OPTIONS`, or all seven (`GET`, `HEAD`, \
                         `OPTIONS`, `PUT`, `POST`, `PATCH`, `DELETE`).",
                    ),
                Attribute::optional("enabled", Type::Bool)
                    .default_value(true)
                    .describe("Whether the distribution serves requests. Default: `true`."),
                Attribute::optional("ipv6", Type::Bool)
                    .default_value(true)
                    .describe(
                        "Whether the distribution answers over IPv6; with `route53_aliases` it \
                         also gets `AAAA` alias records. Default: `true`.",
                    ),
                Attribute::optional("comment", Type::String)
                    .default_value("")
                    .describe("A comment of up to 128 characters. Default: empty."),
                Attribute::optional("wait_for_deployment", Type::Bool)
                    .default_value(true)
                    .describe(
                        "Whether create and update wait until CloudFront reports the change \
                         deployed to every edge location. Default: `true`.",
                    ),
                Attribute::optional("retain_on_delete", Type::Bool)
                    .default_value(false)
                    .describe(
                        "Whether destroy only disables the distribution and leaves it in the \
                         account (without waiting), instead of deleting it. Default: `false`.",
                    ),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("The distribution's id, e.g. `E2QWRUHAPOMQZL`."),
                Attribute::computed("arn", Type::String)
                    .use_state_for_unknown()
                    .describe("The distribution's ARN."),
                Attribute::computed("domain_name", Type::String)
                    .use_state_for_unknown()
                    .describe("The distribution's own name, e.g. `d111111abcdef8.cloudfront.net`."),
                Attribute::computed("hosted_zone_id", Type::String).describe(
                    "The hosted zone id alias records to CloudFront use: always \
                     `Z2FDTNDATAQYW2`.",
                ),
                Attribute::computed("status", Type::String).describe(
                    "`Deployed` once the last change reached every edge location, else \
                     `InProgress`.",
                ),
            ],
        )
        .with_block(NestedBlock {
            min_items: 1,
            max_items: 1,
            ..NestedBlock::single("origin", origin_block())
        })
        .with_block(NestedBlock::single(
            "geo_restriction",
            geo_restriction_block(),
        ))
        .with_block(NestedBlock::single(
            "route53_aliases",
            route53_aliases_block(),
        ))
        .with_block(timeouts::block(&[
            ("create", DEFAULT_TIMEOUT),
            ("update", DEFAULT_TIMEOUT),
            ("delete", DEFAULT_TIMEOUT),
        ])),
    }
}

fn origin_block() -> Block {
    Block::new(
        "The custom origin every request goes to (exactly one).",
        vec![
            Attribute::required("domain_name", Type::String).describe(
                "The origin's DNS name, e.g. `clearbrook.goldentooth.net` (the dynamic DNS \
                 record of the home).",
            ),
            Attribute::optional("http_port", Type::Number)
                .default_value(Value::int(80))
                .describe("The origin's HTTP port: 80, 443 or 1024 to 65535. Default: `80`."),
            Attribute::optional("https_port", Type::Number)
                .default_value(Value::int(443))
                .describe("The origin's HTTPS port: 80, 443 or 1024 to 65535. Default: `443`."),
            Attribute::optional("protocol_policy", Type::String)
                .default_value("https-only")
                .describe(
                    "How CloudFront talks to the origin: `http-only`, `https-only` (default) \
                     or `match-viewer`.",
                ),
            Attribute::optional("keepalive_timeout", Type::Number)
                .default_value(Value::int(5))
                .describe(
                    "Seconds an idle connection to the origin stays open, 1 to 180. Default: \
                     `5`.",
                ),
            Attribute::optional("read_timeout", Type::Number)
                .default_value(Value::int(30))
                .describe(
                    "Seconds CloudFront waits for the origin's response, 1 to 180. Default: \
                     `30`.",
                ),
            Attribute::optional("custom_headers", Type::map(Type::String))
                .describe("Headers CloudFront adds to every request to the origin, name to value."),
        ],
    )
}

fn geo_restriction_block() -> Block {
    Block::new(
        "Which countries may use the distribution. Unset: all.",
        vec![
            Attribute::required("type", Type::String).describe(
                "`whitelist` (only `locations`), `blacklist` (all but `locations`) or `none`.",
            ),
            Attribute::optional("locations", Type::set(Type::String)).describe(
                "ISO 3166-1 alpha-2 country codes in capitals, e.g. `[\"US\", \"CA\", \
                 \"GB\"]`; needed by `whitelist` and `blacklist`, refused by `none`.",
            ),
        ],
    )
}

fn route53_aliases_block() -> Block {
    Block::new(
        "Route53 alias records for every alias: an `A` record, and an `AAAA` record when \
         `ipv6` is on, pointing at the distribution. Creating the distribution refuses names \
         that already have such a record pointing elsewhere. Destroy removes the records.",
        vec![
            Attribute::required("zone_id", Type::String).describe(
                "Id of the public hosted zone that holds every alias, e.g. `Z0123456789ABC`.",
            ),
            Attribute::computed("records", Type::set(Type::String)).describe(
                "The alias records found in the zone pointing at the distribution, as \
                 `NAME/TYPE`. A record deleted or changed outside Terraform drops out of this \
                 set, so `plan` shows it and `apply` writes it again.",
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_keeps_terraform_core_rules() {
        assert!(schema().block.validity_errors().is_empty());
    }
}
