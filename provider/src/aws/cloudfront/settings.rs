//! A distribution's settings as this provider models them, and their conversion to and from
//! the SDK's `DistributionConfig`. What is sent is built here, and what AWS answers is read
//! back through exactly the same fields, so anything else an API echoes (legacy
//! `ForwardedValues` and TTLs, `CloudFrontDefaultCertificate` beside an ACM certificate) never
//! counts as a difference, while a real change of a modelled field always does.

use std::collections::BTreeMap;

use aws_sdk_cloudfront::error::BuildError;
use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CachedMethods, CustomHeaders, CustomOriginConfig,
    DefaultCacheBehavior, DistributionConfig, GeoRestrictionType, HttpVersion, Method,
    MinimumProtocolVersion, Origin, OriginCustomHeader, OriginProtocolPolicy, OriginSslProtocols,
    Origins, PriceClass, Restrictions, SslProtocol, SslSupportMethod, ViewerProtocolPolicy,
};

/// The id of the one origin; the default cache behaviour targets it.
pub const ORIGIN_ID: &str = "homelab-origin";

/// The methods CloudFront caches responses of.
const CACHED_METHODS: [&str; 2] = ["GET", "HEAD"];

/// Everything this provider sets on a distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributionSettings {
    /// The one custom origin.
    pub origin: OriginSettings,
    /// Alternate domain names (CNAMEs), in the order given.
    pub aliases: Vec<String>,
    /// The certificate viewers see.
    pub viewer_certificate: ViewerCertificate,
    /// `PriceClass_100`, `PriceClass_200` or `PriceClass_All`.
    pub price_class: String,
    /// Which countries may use the distribution.
    pub geo_restriction: GeoRestriction,
    /// The cache policy of the default cache behaviour.
    pub cache_policy_id: String,
    /// The origin request policy of the default cache behaviour, if any.
    pub origin_request_policy_id: Option<String>,
    /// `allow-all`, `https-only` or `redirect-to-https`.
    pub viewer_protocol_policy: String,
    /// The HTTP methods CloudFront passes to the origin.
    pub allowed_methods: Vec<String>,
    /// Whether the distribution serves requests.
    pub enabled: bool,
    /// Whether it answers over IPv6.
    pub ipv6: bool,
    /// A free-form comment (may be empty).
    pub comment: String,
}

/// A custom origin: a web server CloudFront reaches over HTTP or HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginSettings {
    /// The origin's DNS name.
    pub domain_name: String,
    /// The HTTP port.
    pub http_port: i32,
    /// The HTTPS port.
    pub https_port: i32,
    /// `http-only`, `https-only` or `match-viewer`.
    pub protocol_policy: String,
    /// Seconds CloudFront keeps an idle connection to the origin open.
    pub keepalive_timeout: i32,
    /// Seconds CloudFront waits for the origin's response.
    pub read_timeout: i32,
    /// Headers CloudFront adds to every request to the origin.
    pub custom_headers: BTreeMap<String, String>,
}

/// The certificate a distribution shows viewers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerCertificate {
    /// CloudFront's own `*.cloudfront.net` certificate.
    CloudFrontDefault,
    /// An ACM certificate (which CloudFront takes from us-east-1 only).
    Acm {
        /// The certificate's ARN.
        arn: String,
        /// `sni-only`, `vip` or `static-ip`.
        ssl_support_method: String,
        /// The security policy, e.g. `TLSv1.2_2021`.
        minimum_protocol_version: String,
    },
    /// A certificate this provider does not manage (an IAM server certificate), as read.
    Other {
        /// Names it, for the plan output.
        description: String,
    },
}

/// A country allow or deny list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoRestriction {
    /// `none`, `whitelist` or `blacklist`.
    pub restriction_type: String,
    /// ISO 3166-1 alpha-2 country codes, in the order given.
    pub locations: Vec<String>,
}

impl GeoRestriction {
    /// No restriction.
    pub fn none() -> GeoRestriction {
        GeoRestriction {
            restriction_type: "none".to_owned(),
            locations: Vec::new(),
        }
    }
}

impl DistributionSettings {
    /// The SDK configuration to send, with `caller_reference` (new on create, the existing one
    /// on update).
    pub fn to_sdk(&self, caller_reference: &str) -> Result<DistributionConfig, BuildError> {
        DistributionConfig::builder()
            .caller_reference(caller_reference)
            .aliases(
                Aliases::builder()
                    .quantity(len(&self.aliases))
                    .set_items(Some(self.aliases.clone()))
                    .build()?,
            )
            .origins(
                Origins::builder()
                    .quantity(1)
                    .items(self.origin.to_sdk()?)
                    .build()?,
            )
            .default_cache_behavior(self.default_cache_behavior()?)
            .comment(&self.comment)
            .price_class(PriceClass::from(self.price_class.as_str()))
            .enabled(self.enabled)
            .viewer_certificate(self.viewer_certificate.to_sdk())
            .restrictions(
                Restrictions::builder()
                    .geo_restriction(
                        aws_sdk_cloudfront::types::GeoRestriction::builder()
                            .restriction_type(GeoRestrictionType::from(
                                self.geo_restriction.restriction_type.as_str(),
                            ))
                            .quantity(len(&self.geo_restriction.locations))
                            .set_items(Some(self.geo_restriction.locations.clone()))
                            .build()?,
                    )
                    .build(),
            )
            .http_version(HttpVersion::Http2)
            .is_ipv6_enabled(self.ipv6)
            .build()
    }

    /// The settings a configuration holds, read through the same fields [`Self::to_sdk`]
    /// writes and nothing else.
    pub fn from_sdk(config: &DistributionConfig) -> DistributionSettings {
        let behavior = config.default_cache_behavior();
        let origins = config.origins().map(|o| o.items()).unwrap_or_default();
        let target = behavior.map(|b| b.target_origin_id());
        let origin = origins
            .iter()
            .find(|o| Some(o.id()) == target)
            .or_else(|| origins.first());
        let geo = config.restrictions().and_then(|r| r.geo_restriction());
        DistributionSettings {
            origin: origin.map_or_else(OriginSettings::missing, OriginSettings::from_sdk),
            aliases: config
                .aliases()
                .map(|a| a.items().to_vec())
                .unwrap_or_default(),
            viewer_certificate: ViewerCertificate::from_sdk(config.viewer_certificate()),
            price_class: config
                .price_class()
                .map_or("PriceClass_All", PriceClass::as_str)
                .to_owned(),
            geo_restriction: geo.map_or_else(GeoRestriction::none, |g| GeoRestriction {
                restriction_type: g.restriction_type().as_str().to_owned(),
                locations: g.items().to_vec(),
            }),
            cache_policy_id: behavior
                .and_then(|b| b.cache_policy_id())
                .unwrap_or_default()
                .to_owned(),
            origin_request_policy_id: behavior
                .and_then(|b| b.origin_request_policy_id())
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            viewer_protocol_policy: behavior
                .map(|b| b.viewer_protocol_policy().as_str())
                .unwrap_or_default()
                .to_owned(),
            allowed_methods: behavior
                .and_then(|b| b.allowed_methods())
                .map(|m| m.items().iter().map(|m| m.as_str().to_owned()).collect())
                .unwrap_or_default(),
            enabled: config.enabled(),
            ipv6: config.is_ipv6_enabled().unwrap_or(false),
            comment: config.comment().to_owned(),
        }
    }

    fn default_cache_behavior(&self) -> Result<DefaultCacheBehavior, BuildError> {
        let mut cached = CachedMethods::builder().quantity(len(CACHED_METHODS));
        for method in CACHED_METHODS {
            cached = cached.items(Method::from(method));
        }
        let mut allowed = AllowedMethods::builder()
            .quantity(len(&self.allowed_methods))
            .cached_methods(cached.build()?);
        for method in &self.allowed_methods {
            allowed = allowed.items(Method::from(method.as_str()));
        }
        DefaultCacheBehavior::builder()
            .target_origin_id(ORIGIN_ID)
            .viewer_protocol_policy(ViewerProtocolPolicy::from(
                self.viewer_protocol_policy.as_str(),
            ))
            .allowed_methods(allowed.build()?)
            .cache_policy_id(&self.cache_policy_id)
            .set_origin_request_policy_id(self.origin_request_policy_id.clone())
            .compress(true)
            .build()
    }
}

impl OriginSettings {
    fn to_sdk(&self) -> Result<Origin, BuildError> {
        let mut headers = CustomHeaders::builder().quantity(len(&self.custom_headers));
        for (name, value) in &self.custom_headers {
            headers = headers.items(
                OriginCustomHeader::builder()
                    .header_name(name)
                    .header_value(value)
                    .build()?,
            );
        }
        Origin::builder()
            .id(ORIGIN_ID)
            .domain_name(&self.domain_name)
            .origin_path("")
            .custom_headers(headers.build()?)
            .custom_origin_config(
                CustomOriginConfig::builder()
                    .http_port(self.http_port)
                    .https_port(self.https_port)
                    .origin_protocol_policy(OriginProtocolPolicy::from(
                        self.protocol_policy.as_str(),
                    ))
                    .origin_ssl_protocols(
                        OriginSslProtocols::builder()
                            .quantity(1)
                            .items(SslProtocol::TlSv12)
                            .build()?,
                    )
                    .origin_read_timeout(self.read_timeout)
                    .origin_keepalive_timeout(self.keepalive_timeout)
                    .build()?,
            )
            .connection_attempts(3)
            .connection_timeout(10)
            .build()
    }

    fn from_sdk(origin: &Origin) -> OriginSettings {
        let custom = origin.custom_origin_config();
        OriginSettings {
            domain_name: origin.domain_name().to_owned(),
            http_port: custom.map_or(0, CustomOriginConfig::http_port),
            https_port: custom.map_or(0, CustomOriginConfig::https_port),
            // An S3 origin has no custom configuration: it reads as an empty policy, which
            // differs from any configured one.
            protocol_policy: custom
                .map(|c| c.origin_protocol_policy().as_str())
                .unwrap_or_default()
                .to_owned(),
            keepalive_timeout: custom
                .and_then(CustomOriginConfig::origin_keepalive_timeout)
                .unwrap_or(0),
            read_timeout: custom
                .and_then(CustomOriginConfig::origin_read_timeout)
                .unwrap_or(0),
            custom_headers: origin
                .custom_headers()
                .map(|h| {
                    h.items()
                        .iter()
                        .map(|h| (h.header_name().to_owned(), h.header_value().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn missing() -> OriginSettings {
        OriginSettings {
            domain_name: String::new(),
            http_port: 0,
            https_port: 0,
            protocol_policy: String::new(),
            keepalive_timeout: 0,
            read_timeout: 0,
            custom_headers: BTreeMap::new(),
        }
    }
}

impl ViewerCertificate {
    fn to_sdk(&self) -> aws_sdk_cloudfront::types::ViewerCertificate {
        let builder = aws_sdk_cloudfront::types::ViewerCertificate::builder();
        match self {
            ViewerCertificate::Acm {
                arn,
                ssl_support_method,
                minimum_protocol_version,
            } => builder
                .cloud_front_default_certificate(false)
                .acm_certificate_arn(arn)
                .ssl_support_method(SslSupportMethod::from(ssl_support_method.as_str()))
                .minimum_protocol_version(MinimumProtocolVersion::from(
                    minimum_protocol_version.as_str(),
                )),
            // Never sent: a certificate not managed here is replaced by what configuration says.
            ViewerCertificate::CloudFrontDefault | ViewerCertificate::Other { .. } => {
                builder.cloud_front_default_certificate(true)
            }
        }
        .build()
    }

    /// What a configuration's certificate is. An ACM or IAM certificate wins over a
    /// `CloudFrontDefaultCertificate: true` next to it, which some APIs echo regardless.
    fn from_sdk(certificate: Option<&aws_sdk_cloudfront::types::ViewerCertificate>) -> Self {
        let Some(certificate) = certificate else {
            return ViewerCertificate::CloudFrontDefault;
        };
        let non_empty = |text: Option<&str>| text.filter(|t| !t.is_empty()).map(str::to_owned);
        if let Some(arn) = non_empty(certificate.acm_certificate_arn()) {
            return ViewerCertificate::Acm {
                arn,
                ssl_support_method: certificate
                    .ssl_support_method()
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default(),
                minimum_protocol_version: certificate
                    .minimum_protocol_version()
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default(),
            };
        }
        if let Some(id) = non_empty(certificate.iam_certificate_id()) {
            return ViewerCertificate::Other {
                description: format!("IAM server certificate {id}"),
            };
        }
        ViewerCertificate::CloudFrontDefault
    }
}

fn len<T>(items: impl IntoIterator<Item = T>) -> i32 {
    i32::try_from(items.into_iter().count()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudfront::types::{CookiePreference, ForwardedValues, ItemSelection};

    /// The book's home proxy.
    fn home_proxy() -> DistributionSettings {
        DistributionSettings {
            origin: OriginSettings {
                domain_name: "clearbrook.goldentooth.net".into(),
                http_port: 7463,
                https_port: 7464,
                protocol_policy: "http-only".into(),
                keepalive_timeout: 5,
                read_timeout: 30,
                custom_headers: BTreeMap::from([("X-Home-Proxy".into(), "1".into())]),
            },
            aliases: vec![
                "home-proxy.goldentooth.net".into(),
                "*.home-proxy.goldentooth.net".into(),
            ],
            viewer_certificate: ViewerCertificate::Acm {
                arn: "arn:aws:acm:us-east-1:123456789012:certificate/x".into(),
                ssl_support_method: "sni-only".into(),
                minimum_protocol_version: "TLSv1.2_2019".into(),
            },
            price_class: "PriceClass_100".into(),
            geo_restriction: GeoRestriction {
                restriction_type: "whitelist".into(),
                locations: vec!["US".into(), "CA".into()],
            },
            cache_policy_id: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad".into(),
            origin_request_policy_id: Some("216adef6-5c7f-47e4-b989-5492eafa07d3".into()),
            viewer_protocol_policy: "allow-all".into(),
            allowed_methods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
                .map(str::to_owned)
                .to_vec(),
            enabled: true,
            ipv6: false,
            comment: String::new(),
        }
    }

    /// Also checks that no legacy `ForwardedValues` are sent (a deprecated SDK field).
    #[test]
    #[allow(deprecated)]
    fn settings_round_trip_through_the_sdk_configuration() {
        let settings = home_proxy();
        let config = settings.to_sdk("ref-1").unwrap();
        assert_eq!(config.caller_reference(), "ref-1");
        let behavior = config.default_cache_behavior().unwrap();
        assert_eq!(behavior.target_origin_id(), ORIGIN_ID);
        assert!(behavior.forwarded_values().is_none());
        assert_eq!(
            config
                .viewer_certificate()
                .unwrap()
                .cloud_front_default_certificate(),
            Some(false)
        );
        assert_eq!(DistributionSettings::from_sdk(&config), settings);
    }

    /// moto answers with `CloudFrontDefaultCertificate: true` beside the ACM certificate and
    /// with legacy `ForwardedValues` and zero TTLs that were never sent: none of it may count.
    /// The SDK marks those legacy fields deprecated; the test sets them as moto does.
    #[test]
    #[allow(deprecated)]
    fn echoed_fields_that_were_never_sent_do_not_count() {
        let settings = home_proxy();
        let mut echoed = settings.to_sdk("ref-1").unwrap();
        let certificate = echoed.viewer_certificate.take().unwrap();
        echoed.viewer_certificate = Some(
            aws_sdk_cloudfront::types::ViewerCertificate::builder()
                .cloud_front_default_certificate(true)
                .iam_certificate_id("")
                .set_acm_certificate_arn(certificate.acm_certificate_arn().map(str::to_owned))
                .set_ssl_support_method(certificate.ssl_support_method().cloned())
                .set_minimum_protocol_version(certificate.minimum_protocol_version().cloned())
                .build(),
        );
        let behavior = echoed.default_cache_behavior.as_mut().unwrap();
        behavior.forwarded_values = Some(
            ForwardedValues::builder()
                .query_string(false)
                .cookies(
                    CookiePreference::builder()
                        .forward(ItemSelection::None)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        );
        behavior.min_ttl = Some(0);
        behavior.default_ttl = Some(0);
        behavior.max_ttl = Some(0);
        assert_eq!(DistributionSettings::from_sdk(&echoed), settings);
    }

    #[test]
    fn real_changes_of_modelled_fields_are_seen() {
        let settings = home_proxy();
        let base = settings.to_sdk("ref-1").unwrap();

        // Switched to CloudFront's certificate: the ACM ARN is gone.
        let mut changed = base.clone();
        changed.viewer_certificate = Some(
            aws_sdk_cloudfront::types::ViewerCertificate::builder()
                .cloud_front_default_certificate(true)
                .build(),
        );
        assert_eq!(
            DistributionSettings::from_sdk(&changed).viewer_certificate,
            ViewerCertificate::CloudFrontDefault
        );

        // Switched from a cache policy to legacy forwarding: the policy id is gone.
        let mut changed = base.clone();
        changed
            .default_cache_behavior
            .as_mut()
            .unwrap()
            .cache_policy_id = None;
        assert_eq!(DistributionSettings::from_sdk(&changed).cache_policy_id, "");

        let mut changed = base.clone();
        changed.price_class = Some(PriceClass::PriceClassAll);
        changed.is_ipv6_enabled = Some(true);
        let read = DistributionSettings::from_sdk(&changed);
        assert_eq!(
            (read.price_class.as_str(), read.ipv6),
            ("PriceClass_All", true)
        );
    }
}
