//! The countries of `geo_restriction`: officially assigned ISO 3166-1 alpha-2 codes only, and
//! as many as the restriction's type needs.

use super::validate::Check;
use crate::tf::Value;

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted: what CloudFront's geo
/// restriction takes.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG \
    BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV \
    CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH \
    GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG \
    MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM \
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK \
    SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM \
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// The countries of a geo restriction: real ISO 3166-1 alpha-2 codes, as many as its type
/// needs.
pub(super) fn check_locations(restriction_type: &Value, locations: &Value) -> Check {
    if !locations.is_fully_known() {
        return Ok(());
    }
    let codes: Vec<&str> = locations
        .as_elements()
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let unknown: Vec<String> = codes
        .iter()
        .filter(|code| !is_country_code(code))
        .map(|code| format!("{code:?}"))
        .collect();
    if !unknown.is_empty() {
        return Err((
            "Unknown country code".into(),
            format!(
                "geo_restriction.locations: {} {} not ISO 3166-1 alpha-2 country {} (two \
                 capital letters, e.g. \"US\", \"GB\", \"DE\").",
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
                if unknown.len() == 1 { "code" } else { "codes" },
            ),
        ));
    }
    match restriction_type.as_str() {
        Some("none") if !codes.is_empty() => Err((
            "Locations without a restriction".into(),
            "geo_restriction.type \"none\" takes no locations; use \"whitelist\" or \
             \"blacklist\", or remove locations."
                .into(),
        )),
        Some(kind @ ("whitelist" | "blacklist")) if codes.is_empty() => Err((
            "No locations".into(),
            format!("geo_restriction.type {kind:?} needs at least one country in locations."),
        )),
        _ => Ok(()),
    }
}

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code.
fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRY_CODES.split_whitespace().any(|known| known == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &str, codes: &[&str]) -> Check {
        check_locations(
            &Value::from(kind),
            &Value::Set(codes.iter().map(|c| Value::from(*c)).collect()),
        )
    }

    #[test]
    fn geo_restrictions_take_real_country_codes() {
        assert!(check("blacklist", &["KP"]).is_ok());
        assert!(check("whitelist", &["US", "CA", "GB", "DE", "DK", "ES"]).is_ok());
        for (kind, codes) in [
            ("whitelist", &["US", "XX"][..]),
            ("whitelist", &["us"][..]),
            ("whitelist", &["USA"][..]),
            ("whitelist", &[][..]),
            ("none", &["US"][..]),
        ] {
            assert!(check(kind, codes).is_err(), "{kind} {codes:?}");
        }
        let (_, detail) = check("whitelist", &["US", "XX", "uk"]).unwrap_err();
        assert!(
            detail.contains(r#""XX", "uk" are not ISO 3166-1"#),
            "{detail}"
        );
        assert!(check_locations(&Value::from("whitelist"), &Value::unknown()).is_ok());
        assert_eq!(COUNTRY_CODES.split_whitespace().count(), 249);
    }
}
