//! The record's values parsed once at the boundary: its type, its id and import id, names and
//! addresses compared as Route53 compares them.

use std::net::IpAddr;

use super::model::DnsRecordModel;
use crate::aws::route53::{RecordData, RecordSet, bare_zone_id, normalize_name};
use crate::public_ip::IpVersion;
use crate::tf::{AttributePath, Diagnostic, Diagnostics};

/// The record types this resource manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RecordType {
    /// An IPv4 address record.
    A,
    /// An IPv6 address record.
    Aaaa,
}

impl RecordType {
    /// The type as written in configuration and sent to Route53.
    pub(super) fn parse(text: &str) -> Option<RecordType> {
        match text {
            "A" => Some(RecordType::A),
            "AAAA" => Some(RecordType::Aaaa),
            _ => None,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
        }
    }

    /// The address family the public IP is asked in.
    pub(super) fn ip_version(self) -> IpVersion {
        match self {
            RecordType::A => IpVersion::V4,
            RecordType::Aaaa => IpVersion::V6,
        }
    }

    /// Whether `ip` belongs in a record of this type.
    pub(super) fn holds(self, ip: IpAddr) -> bool {
        matches!(
            (self, ip),
            (RecordType::A, IpAddr::V4(_)) | (RecordType::Aaaa, IpAddr::V6(_))
        )
    }
}

/// The record as a planned state asks for it, every value known: what create and update send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DesiredRecord {
    /// The zone id without prefix.
    pub(super) zone_id: String,
    /// The name as the user spelled it.
    pub(super) name: String,
    pub(super) record_type: RecordType,
    pub(super) ttl: i64,
    pub(super) address: IpAddr,
    pub(super) allow_overwrite: bool,
}

impl DesiredRecord {
    /// Reads a planned state; at apply time every value it needs is known.
    pub(super) fn from_model(state: &DnsRecordModel) -> Result<DesiredRecord, Diagnostics> {
        let missing = |name: &str| {
            Diagnostics::from(
                Diagnostic::error(
                    "Value not known at apply time",
                    format!("{name} has no known value; this is a bug in the provider's plan."),
                )
                .at(AttributePath::root(name)),
            )
        };
        let record_type = RecordType::parse(&state.record_type).ok_or_else(|| missing("type"))?;
        let address: IpAddr = state
            .address
            .as_deref()
            .ok_or_else(|| missing("address"))?
            .parse()
            .map_err(|_| missing("address"))?;
        let zone_id = state.zone_id.as_deref().ok_or_else(|| missing("zone_id"))?;
        Ok(DesiredRecord {
            zone_id: bare_zone_id(zone_id).to_owned(),
            name: state.name.clone(),
            record_type,
            ttl: state.ttl.ok_or_else(|| missing("ttl"))?,
            address,
            allow_overwrite: state.allow_overwrite.unwrap_or(false),
        })
    }

    /// The record set Route53 should hold.
    pub(super) fn record_set(&self) -> RecordSet {
        RecordSet {
            name: normalize_name(&self.name),
            record_type: self.record_type.as_str().to_owned(),
            data: RecordData::Values {
                ttl: self.ttl,
                values: vec![self.address.to_string()],
            },
        }
    }

    /// Whether an existing record set already points where this one would.
    pub(super) fn has_the_address_of(&self, existing: &RecordSet) -> bool {
        match &existing.data {
            RecordData::Values { values, .. } => {
                values.len() == 1 && same_address(&values[0], &self.address.to_string())
            }
            RecordData::Alias { .. } => false,
        }
    }
}

/// The resource's id and import id: `ZONE_ID/NAME/TYPE`, the name normalized.
pub(super) fn record_id(zone_id: &str, name: &str, record_type: &str) -> String {
    format!(
        "{}/{}/{record_type}",
        bare_zone_id(zone_id),
        normalize_name(name)
    )
}

/// Splits an import id `ZONE_ID/NAME/TYPE` (the zone id may keep its `/hostedzone/` prefix).
pub(super) fn parse_import_id(id: &str) -> Result<(String, String, RecordType), String> {
    let usage = format!(
        "{id:?} is not an import id of the form ZONE_ID/NAME/TYPE, e.g. \
         Z0123456789ABC/clearbrook.goldentooth.net/A"
    );
    let (rest, record_type) = id.rsplit_once('/').ok_or_else(|| usage.clone())?;
    let (zone_id, name) = rest.rsplit_once('/').ok_or_else(|| usage.clone())?;
    let zone_id = bare_zone_id(zone_id);
    if zone_id.is_empty() || name.is_empty() {
        return Err(usage);
    }
    let record_type = RecordType::parse(record_type).ok_or_else(|| {
        format!("{id:?}: the type must be \"A\" or \"AAAA\", not {record_type:?}")
    })?;
    Ok((zone_id.to_owned(), name.to_owned(), record_type))
}

/// Whether two address texts name the same address (`2A00::1` and `2a00::1` do).
pub(super) fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Checks a DNS name as written in configuration; a trailing dot is allowed.
pub(super) fn check_dns_name(name: &str) -> Result<(), String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("the name is empty".into());
    }
    if trimmed.len() > 253 {
        return Err(format!(
            "the name is {} characters long; DNS allows 253",
            trimmed.len()
        ));
    }
    for (index, label) in trimmed.split('.').enumerate() {
        if label.is_empty() {
            return Err("the name has an empty label (two dots in a row)".into());
        }
        if label.len() > 63 {
            return Err(format!("the label {label:?} is longer than 63 characters"));
        }
        if label == "*" && index == 0 {
            continue;
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "{bad:?} is not allowed in a DNS label (letters, digits, '-', '_', and '*' as \
                 the whole first label)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_split_into_zone_name_and_type() {
        assert_eq!(
            parse_import_id("Z1/clearbrook.goldentooth.net/A").unwrap(),
            (
                "Z1".into(),
                "clearbrook.goldentooth.net".into(),
                RecordType::A
            )
        );
        assert_eq!(
            parse_import_id("/hostedzone/Z1/Clearbrook.goldentooth.net./AAAA").unwrap(),
            (
                "Z1".into(),
                "Clearbrook.goldentooth.net.".into(),
                RecordType::Aaaa
            )
        );
        assert!(parse_import_id("Z1/x.net").is_err());
        assert!(parse_import_id("/x.net/A").is_err());
        let error = parse_import_id("Z1/x.net/CNAME").unwrap_err();
        assert!(error.contains("CNAME"), "{error}");
    }

    #[test]
    fn ids_use_the_normalized_name() {
        assert_eq!(
            record_id("/hostedzone/Z1", "Clearbrook.Goldentooth.net.", "A"),
            "Z1/clearbrook.goldentooth.net/A"
        );
    }

    #[test]
    fn addresses_compare_by_value_not_spelling() {
        assert!(same_address(
            "2A00:1450:4001:80B::200E",
            "2a00:1450:4001:80b::200e"
        ));
        assert!(!same_address("81.2.69.160", "81.2.69.142"));
        assert!(!same_address("81.2.69.160, 81.2.69.142", "81.2.69.160"));
    }

    #[test]
    fn dns_names_are_checked_label_by_label() {
        for good in [
            "clearbrook.goldentooth.net",
            "Clearbrook.goldentooth.net.",
            "*.home-proxy.goldentooth.net",
            "_acme-challenge.goldentooth.net",
        ] {
            assert_eq!(check_dns_name(good), Ok(()), "{good}");
        }
        for bad in ["", ".", "a..b", "a b.net", "a.*.net", &"x".repeat(64)] {
            assert!(check_dns_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn desired_record_comes_from_a_known_planned_state() {
        let state = DnsRecordModel {
            zone_id: Some("/hostedzone/Z1".into()),
            name: "Clearbrook.goldentooth.net".into(),
            record_type: "AAAA".into(),
            ttl: Some(60),
            address: Some("2A00:1450:4001:80B::200E".into()),
            allow_overwrite: Some(false),
            ..DnsRecordModel::default()
        };
        let desired = DesiredRecord::from_model(&state).unwrap();
        assert_eq!(desired.zone_id, "Z1");
        let set = desired.record_set();
        assert_eq!(set.name, "clearbrook.goldentooth.net");
        assert_eq!(
            set.data,
            RecordData::Values {
                ttl: 60,
                values: vec!["2a00:1450:4001:80b::200e".into()]
            }
        );
        assert!(desired.has_the_address_of(&set));
        // An address still unknown at apply reads as None (`from_planned_value`).
        let unknown = DnsRecordModel {
            address: None,
            ..state
        };
        assert!(DesiredRecord::from_model(&unknown).is_err());
    }
}
