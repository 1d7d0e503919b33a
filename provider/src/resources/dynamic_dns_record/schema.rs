//! The schema of `homelab_dynamic_dns_record` and the checks that need no I/O.

use std::net::IpAddr;
use std::time::Duration;

use super::model::PlannedDnsRecord;
use super::record::{RecordType, check_dns_name};
use crate::tf::model;
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value, timeouts,
};

/// How long create, update and delete may take by default: Route53 usually reports a change
/// INSYNC within a minute.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The TTL planned when configuration sets none.
pub(super) const DEFAULT_TTL: i64 = 300;

/// The largest TTL Route53 accepts.
const MAX_TTL: i64 = 2_147_483_647;

pub(super) fn schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new(
            "A Route53 `A` or `AAAA` record that follows the home's public IP address. With \
             `address` unset, the address is asked of the provider's `public_ip` sources on \
             every plan, so `plan` shows an update as soon as the home's address moves, and \
             `apply` moves the record. Every change waits until Route53 reports it in sync. \
             Edits and deletions made outside Terraform show as drift. Import with \
             `ZONE_ID/NAME/TYPE`.",
            vec![
                Attribute::optional_computed("zone_id", Type::String)
                    .requires_replace()
                    .use_state_for_unknown()
                    .describe(
                        "Id of the hosted zone, e.g. `Z0123456789ABC`. Set exactly one of \
                         `zone_id` and `zone_name`; the other is filled in. Changing the zone \
                         replaces the record.",
                    ),
                Attribute::optional_computed("zone_name", Type::String)
                    .requires_replace()
                    .use_state_for_unknown()
                    .describe(
                        "Name of the hosted zone, e.g. `goldentooth.net`, looked up at plan \
                         time; it must name exactly one zone. Set exactly one of `zone_id` and \
                         `zone_name`.",
                    ),
                Attribute::required("name", Type::String)
                    .requires_replace()
                    .describe(
                        "Fully qualified name of the record, e.g. \
                         `clearbrook.goldentooth.net`, inside the zone. Case and a trailing dot \
                         do not matter: the state keeps your spelling. Changing the name \
                         replaces the record.",
                    ),
                Attribute::required("type", Type::String)
                    .requires_replace()
                    .describe(
                        "`\"A\"` (IPv4) or `\"AAAA\"` (IPv6). Changing the type replaces the \
                         record.",
                    ),
                Attribute::optional("ttl", Type::Number)
                    .default_value(Value::int(DEFAULT_TTL))
                    .describe(
                        "Seconds resolvers may cache the answer, 0 to 2147483647. Default: \
                         `300`. A low TTL makes a moved address reach clients sooner.",
                    ),
                Attribute::optional_computed("address", Type::String).describe(
                    "The address the record points at. Unset: the home's public IP, asked of \
                     the provider's `public_ip` sources at plan time (IPv4 for `A`, IPv6 for \
                     `AAAA`), so a moved address shows in `plan` as an update of this \
                     attribute alone. After a refresh it holds what Route53 answers.",
                ),
                Attribute::optional("allow_overwrite", Type::Bool)
                    .default_value(false)
                    .describe(
                        "Whether creating the resource may take over a record of the same name \
                         and type that points elsewhere. Default: `false`, which makes such a \
                         record an error naming it (a record that already holds the planned \
                         address is always adopted).",
                    ),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("`ZONE_ID/NAME/TYPE`, the name in lowercase without trailing dot."),
            ],
        )
        .with_block(timeouts::block(&[
            ("create", DEFAULT_TIMEOUT),
            ("update", DEFAULT_TIMEOUT),
            ("delete", DEFAULT_TIMEOUT),
        ])),
    }
}

/// Checks configuration that may hold unknown values; every error names its attribute.
pub(super) fn validate(config: &Value) -> Diagnostics {
    match model::from_value::<PlannedDnsRecord>(config) {
        Ok(config) => check(&config),
        Err(e) => e.into(),
    }
}

fn check(config: &PlannedDnsRecord) -> Diagnostics {
    let mut diagnostics = match config.timeouts.known() {
        Some(Some(t)) => timeouts::validate_durations([
            ("create", t.create.as_str()),
            ("delete", t.delete.as_str()),
            ("update", t.update.as_str()),
        ]),
        _ => Diagnostics::new(),
    };
    let mut error = |summary: &str, detail: String, attribute: &str| {
        diagnostics.push(Diagnostic::error(summary, detail).at(AttributePath::root(attribute)));
    };
    let (zone_id, zone_name) = (&config.zone_id, &config.zone_name);
    if zone_id.is_null() && zone_name.is_null() {
        error(
            "Missing hosted zone",
            "Set zone_id or zone_name to say which hosted zone holds the record.".into(),
            "zone_id",
        );
    } else if !zone_id.is_null() && !zone_name.is_null() {
        error(
            "Conflicting hosted zone",
            "Set only one of zone_id and zone_name; the other is filled in.".into(),
            "zone_name",
        );
    }
    if zone_id.as_str().is_some_and(|id| id.trim().is_empty()) {
        error(
            "Invalid hosted zone id",
            "zone_id is empty.".into(),
            "zone_id",
        );
    }
    for (attribute, text) in [
        ("zone_name", zone_name.as_str()),
        ("name", config.name.known().map(String::as_str)),
    ] {
        if let Some(text) = text
            && let Err(reason) = check_dns_name(text)
        {
            error(
                "Invalid DNS name",
                format!("{attribute} {text:?}: {reason}."),
                attribute,
            );
        }
    }
    let record_type = config.record_type.known().map(String::as_str);
    let parsed_type = record_type.and_then(RecordType::parse);
    if let Some(text) = record_type
        && parsed_type.is_none()
    {
        error(
            "Unsupported record type",
            format!(
                "type must be \"A\" or \"AAAA\", not {text:?}: this resource points a name at \
                 an address."
            ),
            "type",
        );
    }
    if let Some(number) = config.ttl.value() {
        match number.as_i64() {
            Some(seconds) if (0..=MAX_TTL).contains(&seconds) => {}
            _ => error(
                "Invalid TTL",
                format!("ttl must be a whole number of seconds from 0 to {MAX_TTL}, not {number}."),
                "ttl",
            ),
        }
    }
    if let Some(text) = config.address.as_str() {
        match text.parse::<IpAddr>() {
            Err(_) => error(
                "Invalid address",
                format!("address {text:?} is not an IPv4 or IPv6 address."),
                "address",
            ),
            Ok(ip) => {
                if let Some(record_type) = parsed_type
                    && !record_type.holds(ip)
                {
                    error(
                        "Address does not match the record type",
                        format!(
                            "address {text:?} cannot go in an {} record: use {} for it.",
                            record_type.as_str(),
                            if ip.is_ipv4() {
                                "type \"A\""
                            } else {
                                "type \"AAAA\""
                            }
                        ),
                        "address",
                    );
                }
            }
        }
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entries: Vec<(&str, Value)>) -> Value {
        let mut config = Value::object([
            ("zone_id", "Z1".into()),
            ("zone_name", Value::Null),
            ("name", "clearbrook.goldentooth.net".into()),
            ("type", "A".into()),
            ("ttl", Value::Null),
            ("address", Value::Null),
            ("allow_overwrite", Value::Null),
            ("id", Value::Null),
            ("timeouts", Value::Null),
        ]);
        for (name, value) in entries {
            config.set_attr(name, value);
        }
        config
    }

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn a_good_configuration_passes() {
        assert!(validate(&config(vec![])).is_empty());
        assert!(
            validate(&config(vec![
                ("type", "AAAA".into()),
                ("address", "2a00:1450:4001:80b::200e".into()),
                ("ttl", Value::int(60)),
            ]))
            .is_empty()
        );
    }

    #[test]
    fn each_bad_value_names_its_attribute() {
        assert_eq!(
            paths(&validate(&config(vec![("type", "CNAME".into())]))),
            ["type"]
        );
        assert_eq!(
            paths(&validate(&config(vec![("ttl", Value::int(-1))]))),
            ["ttl"]
        );
        assert_eq!(
            paths(&validate(&config(vec![
                ("address", "81.2.69.160".into()),
                ("type", "AAAA".into())
            ]))),
            ["address"]
        );
        assert_eq!(
            paths(&validate(&config(vec![("address", "home".into())]))),
            ["address"]
        );
        assert_eq!(
            paths(&validate(&config(vec![("name", "a b.net".into())]))),
            ["name"]
        );
        assert_eq!(
            paths(&validate(&config(vec![(
                "zone_name",
                "goldentooth.net".into()
            )]))),
            ["zone_name"]
        );
        assert_eq!(
            paths(&validate(&config(vec![("zone_id", Value::Null)]))),
            ["zone_id"]
        );
    }

    #[test]
    fn unknown_values_are_not_judged_yet() {
        let unknown = config(vec![
            ("zone_id", Value::unknown()),
            ("type", Value::unknown()),
            ("ttl", Value::unknown()),
            ("address", Value::unknown()),
        ]);
        assert!(validate(&unknown).is_empty());
    }

    #[test]
    fn the_schema_keeps_terraform_core_rules() {
        assert!(schema().block.validity_errors().is_empty());
    }
}
