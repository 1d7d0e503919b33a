//! The distribution's state values parsed once at the boundary into the settings CloudFront
//! gets, and what CloudFront reports written back into the state, in the user's spelling
//! wherever it is the same.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::cloudfront::{
    Distribution, DistributionSettings, GeoRestriction, HOSTED_ZONE_ID, OriginSettings,
    ViewerCertificate,
};
use crate::aws::route53::{bare_zone_id, normalize_name};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// What a planned (or prior) state asks for, every value known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Desired {
    /// What CloudFront gets.
    pub(super) settings: DistributionSettings,
    /// The zone that gets alias records, when the provider writes them.
    pub(super) alias_zone_id: Option<String>,
    /// Whether create and update wait for deployment.
    pub(super) wait_for_deployment: bool,
    /// Whether destroy only disables the distribution.
    pub(super) retain_on_delete: bool,
}

impl Desired {
    /// Reads a planned or prior state; at apply time every value it needs is known.
    pub(super) fn from_state(state: &Value) -> Result<Desired, Diagnostics> {
        let reader = Reader { state };
        let origin = state.attr("origin");
        let in_origin = Reader { state: origin };
        let settings = DistributionSettings {
            origin: OriginSettings {
                domain_name: in_origin.text("domain_name", "origin.")?,
                http_port: in_origin.number("http_port", "origin.")?,
                https_port: in_origin.number("https_port", "origin.")?,
                protocol_policy: in_origin.text("protocol_policy", "origin.")?,
                keepalive_timeout: in_origin.number("keepalive_timeout", "origin.")?,
                read_timeout: in_origin.number("read_timeout", "origin.")?,
                custom_headers: origin
                    .attr("custom_headers")
                    .as_entries()
                    .map(|headers| {
                        headers
                            .iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            aliases: reader.texts("aliases")?,
            viewer_certificate: match state.attr("certificate_arn").as_str() {
                Some(arn) => ViewerCertificate::Acm {
                    arn: arn.to_owned(),
                    ssl_support_method: reader.text("ssl_support_method", "")?,
                    minimum_protocol_version: reader.text("minimum_protocol_version", "")?,
                },
                None => ViewerCertificate::CloudFrontDefault,
            },
            price_class: reader.text("price_class", "")?,
            geo_restriction: match state.attr("geo_restriction") {
                Value::Null => GeoRestriction::none(),
                geo => GeoRestriction {
                    restriction_type: Reader { state: geo }.text("type", "geo_restriction.")?,
                    locations: Reader { state: geo }.texts("locations")?,
                },
            },
            cache_policy_id: reader.text("cache_policy_id", "")?,
            origin_request_policy_id: state
                .attr("origin_request_policy_id")
                .as_str()
                .map(str::to_owned),
            viewer_protocol_policy: reader.text("viewer_protocol_policy", "")?,
            allowed_methods: reader.texts("allowed_methods")?,
            enabled: reader.flag("enabled", true),
            ipv6: reader.flag("ipv6", true),
            comment: state
                .attr("comment")
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        Ok(Desired {
            settings,
            alias_zone_id: state
                .attr("route53_aliases")
                .attr("zone_id")
                .as_str()
                .map(|id| bare_zone_id(id).to_owned()),
            wait_for_deployment: reader.flag("wait_for_deployment", true),
            retain_on_delete: reader.flag("retain_on_delete", false),
        })
    }
}

/// Reads known values out of one object of the state.
struct Reader<'a> {
    state: &'a Value,
}

impl Reader<'_> {
    fn missing(name: &str, prefix: &str) -> Diagnostics {
        let path = prefix
            .trim_end_matches('.')
            .split('.')
            .filter(|part| !part.is_empty())
            .fold(None, |path: Option<AttributePath>, part| {
                Some(match path {
                    None => AttributePath::root(part),
                    Some(path) => path.attr(part),
                })
            });
        let path = match path {
            None => AttributePath::root(name),
            Some(path) => path.attr(name),
        };
        Diagnostic::error(
            "Value not known at apply time",
            format!("{prefix}{name} has no known value; this is a bug in the provider's plan."),
        )
        .at(path)
        .into()
    }

    fn text(&self, name: &str, prefix: &str) -> Result<String, Diagnostics> {
        self.state
            .attr(name)
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Self::missing(name, prefix))
    }

    fn number(&self, name: &str, prefix: &str) -> Result<i32, Diagnostics> {
        self.state
            .attr(name)
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| Self::missing(name, prefix))
    }

    /// The strings of a set or list; null reads as empty.
    fn texts(&self, name: &str) -> Result<Vec<String>, Diagnostics> {
        let value = self.state.attr(name);
        if !value.is_fully_known() {
            return Err(Self::missing(name, ""));
        }
        Ok(value
            .as_elements()
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect())
    }

    fn flag(&self, name: &str, default: bool) -> bool {
        self.state.attr(name).as_bool().unwrap_or(default)
    }
}

/// Whether two settings ask CloudFront for the same thing: the order of set members and the
/// case of names do not count.
pub(super) fn same_settings(a: &DistributionSettings, b: &DistributionSettings) -> bool {
    canonical(a) == canonical(b)
}

fn canonical(settings: &DistributionSettings) -> DistributionSettings {
    let mut settings = settings.clone();
    settings.aliases = sorted(settings.aliases.iter().map(|a| normalize_name(a)));
    settings.allowed_methods = sorted(settings.allowed_methods.iter().cloned());
    settings.geo_restriction.locations = sorted(settings.geo_restriction.locations.iter().cloned());
    settings.origin.domain_name = normalize_name(&settings.origin.domain_name);
    settings
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    items.collect::<BTreeSet<_>>().into_iter().collect()
}

/// Writes the distribution's own values (id, ARN, name, status) into `state`.
pub(super) fn write_distribution(state: &mut Value, distribution: &Distribution) {
    state.set_attr("id", Value::from(distribution.id.clone()));
    state.set_attr("arn", Value::from(distribution.arn.clone()));
    state.set_attr("domain_name", Value::from(distribution.domain_name.clone()));
    state.set_attr("hosted_zone_id", Value::from(HOSTED_ZONE_ID));
    state.set_attr("status", Value::from(distribution.status.clone()));
}

/// Writes the settings CloudFront reports into `state`, keeping the state's spelling of
/// values that are the same.
pub(super) fn write_settings(state: &mut Value, read: &DistributionSettings) {
    let aliases = names_value(state.attr("aliases"), &read.aliases);
    state.set_attr("aliases", aliases);
    match &read.viewer_certificate {
        ViewerCertificate::Acm {
            arn,
            ssl_support_method,
            minimum_protocol_version,
        } => {
            state.set_attr("certificate_arn", Value::from(arn.clone()));
            state.set_attr(
                "ssl_support_method",
                Value::from(ssl_support_method.clone()),
            );
            state.set_attr(
                "minimum_protocol_version",
                Value::from(minimum_protocol_version.clone()),
            );
        }
        // Without an ACM certificate the protocol settings mean nothing: they keep what the
        // state has (after import, the defaults).
        ViewerCertificate::CloudFrontDefault => {
            state.set_attr("certificate_arn", Value::Null);
            default_when_null(state, "ssl_support_method", "sni-only");
            default_when_null(
                state,
                "minimum_protocol_version",
                super::schema::DEFAULT_MINIMUM_PROTOCOL_VERSION,
            );
        }
        ViewerCertificate::Other { description } => {
            state.set_attr("certificate_arn", Value::from(description.clone()));
        }
    }
    state.set_attr("price_class", Value::from(read.price_class.clone()));
    state.set_attr("cache_policy_id", Value::from(read.cache_policy_id.clone()));
    state.set_attr(
        "origin_request_policy_id",
        Value::from(read.origin_request_policy_id.clone()),
    );
    state.set_attr(
        "viewer_protocol_policy",
        Value::from(read.viewer_protocol_policy.clone()),
    );
    let methods = set_value(state.attr("allowed_methods"), &read.allowed_methods, false);
    state.set_attr("allowed_methods", methods);
    state.set_attr("enabled", Value::from(read.enabled));
    state.set_attr("ipv6", Value::from(read.ipv6));
    state.set_attr("comment", Value::from(read.comment.clone()));
    let origin = origin_value(state.attr("origin"), &read.origin);
    state.set_attr("origin", origin);
    let geo = geo_value(state.attr("geo_restriction"), &read.geo_restriction);
    state.set_attr("geo_restriction", geo);
    default_when_null(state, "wait_for_deployment", true);
    default_when_null(state, "retain_on_delete", false);
}

fn default_when_null(state: &mut Value, name: &str, default: impl Into<Value>) {
    if state.attr(name).is_null() {
        state.set_attr(name, default.into());
    }
}

/// DNS names as a set: the state's value when it holds the same names, else what was read
/// (null when nothing was read and the state has null).
fn names_value(in_state: &Value, read: &[String]) -> Value {
    set_value(in_state, read, true)
}

fn set_value(in_state: &Value, read: &[String], names: bool) -> Value {
    let key = |text: &str| {
        if names {
            normalize_name(text)
        } else {
            text.to_owned()
        }
    };
    let read_keys: BTreeSet<String> = read.iter().map(|t| key(t)).collect();
    let state_keys: Option<BTreeSet<String>> = in_state
        .as_elements()
        .map(|items| items.iter().filter_map(Value::as_str).map(key).collect());
    match state_keys {
        Some(keys) if keys == read_keys => in_state.clone(),
        None if read.is_empty() => Value::Null,
        _ => Value::Set(read.iter().map(|t| Value::from(t.clone())).collect()),
    }
}

fn origin_value(in_state: &Value, read: &OriginSettings) -> Value {
    let domain_name = match in_state.attr("domain_name").as_str() {
        Some(spelled) if normalize_name(spelled) == normalize_name(&read.domain_name) => {
            Value::from(spelled)
        }
        _ => Value::from(read.domain_name.clone()),
    };
    let custom_headers =
        if read.custom_headers.is_empty() && in_state.attr("custom_headers").is_null() {
            Value::Null
        } else {
            Value::Map(
                read.custom_headers
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
    Value::object([
        ("domain_name", domain_name),
        ("http_port", Value::int(read.http_port.into())),
        ("https_port", Value::int(read.https_port.into())),
        ("protocol_policy", Value::from(read.protocol_policy.clone())),
        (
            "keepalive_timeout",
            Value::int(read.keepalive_timeout.into()),
        ),
        ("read_timeout", Value::int(read.read_timeout.into())),
        ("custom_headers", custom_headers),
    ])
}

fn geo_value(in_state: &Value, read: &GeoRestriction) -> Value {
    if read.restriction_type == "none" && read.locations.is_empty() {
        return match in_state.attr("type").as_str() {
            Some("none") => in_state.clone(),
            _ => Value::Null,
        };
    }
    Value::object([
        ("type", Value::from(read.restriction_type.clone())),
        (
            "locations",
            set_value(in_state.attr("locations"), &read.locations, false),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned() -> Value {
        Value::object([
            (
                "aliases",
                Value::Set(vec![
                    "Home-Proxy.goldentooth.net".into(),
                    "*.home-proxy.goldentooth.net".into(),
                ]),
            ),
            (
                "certificate_arn",
                "arn:aws:acm:us-east-1:123456789012:certificate/x".into(),
            ),
            ("minimum_protocol_version", "TLSv1.2_2019".into()),
            ("ssl_support_method", "sni-only".into()),
            ("price_class", "PriceClass_100".into()),
            (
                "cache_policy_id",
                "4135ea2d-6df8-44a3-9df3-4b5a84be39ad".into(),
            ),
            ("origin_request_policy_id", Value::Null),
            ("viewer_protocol_policy", "allow-all".into()),
            (
                "allowed_methods",
                Value::Set(vec!["HEAD".into(), "GET".into()]),
            ),
            ("enabled", true.into()),
            ("ipv6", false.into()),
            ("comment", "".into()),
            ("wait_for_deployment", false.into()),
            ("retain_on_delete", true.into()),
            (
                "origin",
                Value::object([
                    ("domain_name", "clearbrook.goldentooth.net".into()),
                    ("http_port", Value::int(7463)),
                    ("https_port", Value::int(7464)),
                    ("protocol_policy", "http-only".into()),
                    ("keepalive_timeout", Value::int(5)),
                    ("read_timeout", Value::int(30)),
                    ("custom_headers", Value::Null),
                ]),
            ),
            (
                "geo_restriction",
                Value::object([
                    ("type", "whitelist".into()),
                    ("locations", Value::Set(vec!["US".into(), "CA".into()])),
                ]),
            ),
            (
                "route53_aliases",
                Value::object([
                    ("zone_id", "/hostedzone/Z1".into()),
                    ("records", Value::unknown()),
                ]),
            ),
        ])
    }

    #[test]
    fn a_planned_state_becomes_settings() {
        let desired = Desired::from_state(&planned()).unwrap();
        assert_eq!(desired.alias_zone_id.as_deref(), Some("Z1"));
        assert!(!desired.wait_for_deployment);
        assert!(desired.retain_on_delete);
        assert_eq!(desired.settings.origin.http_port, 7463);
        assert_eq!(
            desired.settings.geo_restriction.locations,
            ["US".to_owned(), "CA".to_owned()]
        );
        let mut unknown = planned();
        unknown.set_attr("aliases", Value::unknown());
        assert!(Desired::from_state(&unknown).is_err());
    }

    #[test]
    fn reading_back_what_was_sent_changes_nothing_in_the_state() {
        let state = planned();
        let desired = Desired::from_state(&state).unwrap();
        // CloudFront answers in its own order and case.
        let mut answered = desired.settings.clone();
        answered.aliases = vec![
            "*.home-proxy.goldentooth.net".into(),
            "home-proxy.goldentooth.net".into(),
        ];
        answered.allowed_methods.reverse();
        answered.geo_restriction.locations.reverse();
        assert!(same_settings(&answered, &desired.settings));
        let mut read = state.clone();
        write_settings(&mut read, &answered);
        assert_eq!(read, state);
    }

    #[test]
    fn real_changes_show_in_the_state() {
        let state = planned();
        let desired = Desired::from_state(&state).unwrap();
        let mut answered = desired.settings.clone();
        answered.price_class = "PriceClass_All".into();
        answered.geo_restriction = GeoRestriction::none();
        answered.viewer_certificate = ViewerCertificate::CloudFrontDefault;
        answered.origin.custom_headers = BTreeMap::from([("X-A".into(), "b".into())]);
        assert!(!same_settings(&answered, &desired.settings));
        let mut read = state.clone();
        write_settings(&mut read, &answered);
        assert_eq!(read.attr("price_class").as_str(), Some("PriceClass_All"));
        assert!(read.attr("geo_restriction").is_null());
        assert!(read.attr("certificate_arn").is_null());
        assert_eq!(
            read.attr("origin")
                .attr("custom_headers")
                .as_entries()
                .and_then(|m| m.get("X-A"))
                .and_then(Value::as_str),
            Some("b")
        );
    }

    #[test]
    fn an_import_fills_bookkeeping_with_the_defaults() {
        let desired = Desired::from_state(&planned()).unwrap();
        let mut imported = Value::object([("id", "E2QWRUHAPOMQZL".into())]);
        write_settings(&mut imported, &desired.settings);
        assert_eq!(imported.attr("wait_for_deployment"), &Value::from(true));
        assert_eq!(imported.attr("retain_on_delete"), &Value::from(false));
        assert_eq!(
            imported.attr("aliases").as_elements().map(<[Value]>::len),
            Some(2)
        );
    }
}
