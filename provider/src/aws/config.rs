//! The provider's `aws` block: which region, profile, credentials and endpoints the AWS clients
//! use; anything it leaves unset comes from the AWS SDK's usual environment variables and files.

use std::fmt;

use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Type, Value,
};

/// The region used when neither the block, the environment nor the profile names one. Route53
/// and CloudFront are global services signed in this region, and CloudFront only accepts ACM
/// certificates from it.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The region CloudFront takes its certificates from.
pub const CLOUDFRONT_CERTIFICATE_REGION: &str = "us-east-1";

/// An AWS service the provider talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Route53: hosted zones and records.
    Route53,
    /// AWS Certificate Manager.
    Acm,
    /// CloudFront distributions.
    CloudFront,
}

impl Service {
    /// Every service, in the order the `endpoints` block lists them.
    pub const ALL: [Service; 3] = [Service::Route53, Service::Acm, Service::CloudFront];

    /// The name users know it by, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Service::Route53 => "Route53",
            Service::Acm => "ACM",
            Service::CloudFront => "CloudFront",
        }
    }

    /// Its attribute in the `endpoints` block.
    pub fn endpoint_attribute(self) -> &'static str {
        match self {
            Service::Route53 => "route53",
            Service::Acm => "acm",
            Service::CloudFront => "cloudfront",
        }
    }

    /// The SDK's service-specific endpoint variable, read when the block sets no endpoint.
    pub fn endpoint_env(self) -> &'static str {
        match self {
            Service::Route53 => "AWS_ENDPOINT_URL_ROUTE_53",
            Service::Acm => "AWS_ENDPOINT_URL_ACM",
            Service::CloudFront => "AWS_ENDPOINT_URL_CLOUDFRONT",
        }
    }
}

/// Settings from the `aws` block; `None` means "ask the SDK's default chain".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// The region for regional APIs.
    pub region: Option<String>,
    /// The shared config profile.
    pub profile: Option<String>,
    /// Credentials given in the block; they win over every other source.
    pub static_credentials: Option<StaticCredentials>,
    /// Endpoint overrides per service.
    pub endpoints: Endpoints,
}

/// An access key given in the provider block. Its `Debug` form hides the secret parts.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    /// The access key id (not secret: it names the key).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Endpoint URLs that replace AWS's own, e.g. a local AWS API in tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Route53.
    pub route53: Option<String>,
    /// ACM.
    pub acm: Option<String>,
    /// CloudFront.
    pub cloudfront: Option<String>,
}

impl Endpoints {
    /// The override for one service, if the block sets one.
    pub fn get(&self, service: Service) -> Option<&str> {
        match service {
            Service::Route53 => self.route53.as_deref(),
            Service::Acm => self.acm.as_deref(),
            Service::CloudFront => self.cloudfront.as_deref(),
        }
        .map(|url| url.trim_end_matches('/'))
    }
}

/// The `aws` block of the provider schema.
pub fn provider_block() -> NestedBlock {
    let endpoint = |service: Service| {
        Attribute::optional(service.endpoint_attribute(), Type::String).describe(&format!(
            "URL of the {} API to use instead of AWS's, e.g. a local AWS API for tests. \
             Default: `{}`, then `AWS_ENDPOINT_URL`, then the profile's `endpoint_url`.",
            service.display_name(),
            service.endpoint_env()
        ))
    };
    NestedBlock::single(
        "aws",
        Block::new(
            "How the AWS APIs (Route53, ACM, CloudFront) are reached. Every value falls back to \
             the AWS SDK's usual sources: environment variables (`AWS_REGION`, `AWS_PROFILE`, \
             `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, \
             `AWS_ENDPOINT_URL_ROUTE_53`, ...), the shared config and credentials files, SSO and \
             `credential_process`; values set here win. Nothing is looked up, and no credential \
             is asked for, until a resource needs AWS.",
            vec![
                Attribute::optional("region", Type::String).describe(
                    "Region for regional APIs (ACM certificates that are not for CloudFront). \
                     Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else \
                     `us-east-1`. Route53 and CloudFront are global, and certificates for \
                     CloudFront are always requested in `us-east-1`.",
                ),
                Attribute::optional("profile", Type::String).describe(
                    "Profile of the shared config and credentials files (`~/.aws/config`, \
                     `~/.aws/credentials`). Default: `AWS_PROFILE`, else `default`.",
                ),
                Attribute::optional("access_key", Type::String).describe(
                    "Access key id; needs `secret_key`. Default: `AWS_ACCESS_KEY_ID`, else the \
                     profile's credentials.",
                ),
                Attribute::optional("secret_key", Type::String)
                    .sensitive()
                    .describe(
                        "Secret access key; needs `access_key`. Default: `AWS_SECRET_ACCESS_KEY`.",
                    ),
                Attribute::optional("session_token", Type::String)
                    .sensitive()
                    .describe(
                        "Session token of temporary credentials; needs `access_key`. Default: \
                         `AWS_SESSION_TOKEN`.",
                    ),
            ],
        )
        .with_block(NestedBlock::single(
            "endpoints",
            Block::new(
                "Custom API endpoints, one per service.",
                Service::ALL.into_iter().map(endpoint).collect(),
            ),
        )),
    )
}

/// Checks the `aws` block (`block` is the block's value, null when absent); values may still be
/// unknown. Paths start at `aws`.
pub fn validate(block: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if block.is_null() || !block.is_known() {
        return diagnostics;
    }
    let path = |name: &str| AttributePath::root("aws").attr(name);
    if let Some(region) = block.attr("region").as_str()
        && !is_region_name(region)
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid AWS region",
                format!(
                    "{region:?} is not a region name: expected lowercase letters, digits and \
                     dashes, like \"us-east-1\"."
                ),
            )
            .at(path("region")),
        );
    }
    if block.attr("profile").as_str() == Some("") {
        diagnostics.push(
            Diagnostic::error("Invalid AWS profile", "The profile name is empty.")
                .at(path("profile")),
        );
    }
    // A half-given key is an error only when the other half is certainly absent (null, not
    // unknown).
    let access_key = block.attr("access_key");
    let secret_key = block.attr("secret_key");
    if !access_key.is_null() && secret_key.is_null() {
        diagnostics.push(
            Diagnostic::error(
                "Incomplete AWS credentials",
                "access_key is set but secret_key is not; set both, or neither to use the \
                 environment or a profile.",
            )
            .at(path("secret_key")),
        );
    }
    for name in ["secret_key", "session_token"] {
        if !block.attr(name).is_null() && access_key.is_null() {
            diagnostics.push(
                Diagnostic::error(
                    "Incomplete AWS credentials",
                    format!(
                        "{name} is set but access_key is not; set access_key too, or neither \
                         to use the environment or a profile."
                    ),
                )
                .at(path(name)),
            );
        }
    }
    let endpoints = block.attr("endpoints");
    for service in Service::ALL {
        let name = service.endpoint_attribute();
        if let Some(url) = endpoints.attr(name).as_str()
            && let Err(reason) = check_endpoint_url(url)
        {
            diagnostics.push(
                Diagnostic::error(
                    "Invalid AWS endpoint",
                    format!(
                        "{url:?} is not a usable {} endpoint: {reason}",
                        service.display_name()
                    ),
                )
                .at(AttributePath::root("aws").attr("endpoints").attr(name)),
            );
        }
    }
    diagnostics
}

impl AwsSettings {
    /// Settings from the `aws` block's value (null when the block is absent). Every value must
    /// be known: the provider is configured before any resource is planned.
    pub fn from_block(block: &Value) -> Result<AwsSettings, Diagnostics> {
        let diagnostics = validate(block);
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        if block.is_null() {
            return Ok(AwsSettings::default());
        }
        let mut unknown = Diagnostics::new();
        let mut check_known = |value: &Value, path: AttributePath| {
            if !value.is_fully_known() {
                unknown.push(
                    Diagnostic::error(
                        "Value not known when configuring the provider",
                        "The provider's aws settings must be known before any resource is \
                         planned; do not derive them from resources of this configuration.",
                    )
                    .at(path),
                );
            }
        };
        for name in [
            "region",
            "profile",
            "access_key",
            "secret_key",
            "session_token",
        ] {
            check_known(block.attr(name), AttributePath::root("aws").attr(name));
        }
        check_known(
            block.attr("endpoints"),
            AttributePath::root("aws").attr("endpoints"),
        );
        if unknown.has_errors() {
            return Err(unknown);
        }
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let endpoints = block.attr("endpoints");
        let static_credentials = match (
            text(block.attr("access_key")),
            text(block.attr("secret_key")),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(StaticCredentials {
                access_key_id,
                secret_access_key,
                session_token: text(block.attr("session_token")),
            }),
            _ => None,
        };
        Ok(AwsSettings {
            region: text(block.attr("region")),
            profile: text(block.attr("profile")),
            static_credentials,
            endpoints: Endpoints {
                route53: text(endpoints.attr("route53")),
                acm: text(endpoints.attr("acm")),
                cloudfront: text(endpoints.attr("cloudfront")),
            },
        })
    }
}

fn is_region_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check_endpoint_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(()),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!("scheme {other:?} is not http or https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(entries: Vec<(&str, Value)>) -> Value {
        let mut block = Value::object([
            ("region", Value::Null),
            ("profile", Value::Null),
            ("access_key", Value::Null),
            ("secret_key", Value::Null),
            ("session_token", Value::Null),
            (
                "endpoints",
                Value::object([
                    ("route53", Value::Null),
                    ("acm", Value::Null),
                    ("cloudfront", Value::Null),
                ]),
            ),
        ]);
        for (name, value) in entries {
            block.set_attr(name, value);
        }
        block
    }

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn an_absent_block_means_the_sdk_defaults() {
        assert_eq!(
            AwsSettings::from_block(&Value::Null).unwrap(),
            AwsSettings::default()
        );
    }

    #[test]
    fn block_values_are_parsed_into_settings() {
        let settings = AwsSettings::from_block(&block(vec![
            ("region", "eu-west-1".into()),
            ("profile", "lab".into()),
            ("access_key", "AKIDEXAMPLE".into()),
            ("secret_key", "wJalrXUtnFEMI".into()),
            (
                "endpoints",
                Value::object([
                    ("route53", "http://127.0.0.1:5000/".into()),
                    ("acm", Value::Null),
                    ("cloudfront", "http://127.0.0.1:5001".into()),
                ]),
            ),
        ]))
        .unwrap();
        assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(settings.profile.as_deref(), Some("lab"));
        let credentials = settings.static_credentials.clone().unwrap();
        assert_eq!(credentials.access_key_id, "AKIDEXAMPLE");
        assert_eq!(credentials.session_token, None);
        assert_eq!(
            settings.endpoints.get(Service::Route53),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(settings.endpoints.get(Service::Acm), None);
        assert_eq!(
            settings.endpoints.get(Service::CloudFront),
            Some("http://127.0.0.1:5001")
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings = AwsSettings::from_block(&block(vec![
            ("access_key", "AKIDEXAMPLE".into()),
            ("secret_key", "very-secret-key".into()),
            ("session_token", "very-secret-token".into()),
        ]))
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[test]
    fn half_given_credentials_and_bad_values_name_their_attribute() {
        let diagnostics = validate(&block(vec![
            ("region", "US East".into()),
            ("access_key", "AKIDEXAMPLE".into()),
            (
                "endpoints",
                Value::object([
                    ("route53", "ftp://127.0.0.1/".into()),
                    ("acm", Value::Null),
                    ("cloudfront", Value::Null),
                ]),
            ),
        ]));
        assert_eq!(
            paths(&diagnostics),
            ["aws.region", "aws.secret_key", "aws.endpoints.route53"]
        );
        let diagnostics = validate(&block(vec![("session_token", "t".into())]));
        assert_eq!(paths(&diagnostics), ["aws.session_token"]);
    }

    #[test]
    fn unknown_values_pass_validation_but_not_configuration() {
        let b = block(vec![
            ("access_key", Value::unknown()),
            ("secret_key", Value::unknown()),
        ]);
        assert!(validate(&b).is_empty());
        let error = AwsSettings::from_block(&b).unwrap_err();
        assert_eq!(paths(&error), ["aws.access_key", "aws.secret_key"]);
    }
}
