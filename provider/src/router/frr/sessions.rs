//! FRR's `show bgp neighbors json` read into session states.

use serde_json::Value as Json;

use super::super::model::SessionState;

/// The sessions of the default VRF's instance `asn`, from `show bgp neighbors json`.
///
/// FRR prints `{}` when there are no neighbors; peers of another local AS (a VRF's instance
/// does not show here, but a `local-as` override does) are kept, since they belong to the
/// instance all the same.
pub(super) fn parse(text: &str) -> Result<Vec<SessionState>, String> {
    let json: Json = serde_json::from_str(text.trim())
        .map_err(|e| format!("not JSON ({e}): {}", first_line(text)))?;
    let peers = json
        .as_object()
        .ok_or_else(|| "expected an object of neighbors".to_owned())?;
    let mut sessions = Vec::new();
    for (address, peer) in peers {
        if !peer.is_object() {
            continue;
        }
        let number = |name: &str| peer.get(name).and_then(Json::as_i64);
        let text = |name: &str| peer.get(name).and_then(Json::as_str).map(str::to_owned);
        let state = text("bgpState").unwrap_or_else(|| "Unknown".to_owned());
        let established = state == "Established";
        let uptime_ms = number("bgpTimerUpMsec").unwrap_or(0);
        let uptime = if established {
            text("bgpTimerUpString").unwrap_or_else(|| format_uptime(uptime_ms / 1000))
        } else {
            "never".to_owned()
        };
        let prefixes_received = peer
            .pointer("/addressFamilyInfo/ipv4Unicast/acceptedPrefixCounter")
            .and_then(Json::as_i64)
            .unwrap_or(0);
        sessions.push(SessionState {
            address: address.clone(),
            remote_asn: number("remoteAs")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            state,
            uptime,
            uptime_seconds: if established { uptime_ms / 1000 } else { 0 },
            prefixes_received,
            description: text("nbrDesc"),
            admin_shutdown: peer
                .get("adminShutDown")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            last_reset: text("lastResetDueTo"),
        });
    }
    Ok(sessions)
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or("")
}

/// Seconds as FRR prints short uptimes: `hh:mm:ss`.
fn format_uptime(seconds: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from FRR 8.4.4 on a lab host: one session up, one refused by a password.
    const NEIGHBORS: &str = r#"{
  "10.231.106.12":{
    "remoteAs":64501,
    "localAs":64500,
    "nbrDesc":"speaker two",
    "bgpState":"Established",
    "bgpTimerUpMsec":12000,
    "bgpTimerUpString":"00:00:12",
    "bgpTimerUpEstablishedEpoch":1795324542,
    "addressFamilyInfo":{"ipv4Unicast":{"acceptedPrefixCounter":1}},
    "lastResetDueTo":"No AFI\/SAFI activated for peer"
  },
  "10.231.106.13":{
    "remoteAs":64501,
    "localAs":64500,
    "adminShutDown":true,
    "bgpState":"Idle",
    "bgpTimerUpMsec":0,
    "addressFamilyInfo":{"ipv4Unicast":{"acceptedPrefixCounter":0}}
  }
}"#;

    #[test]
    fn sessions_report_state_uptime_and_prefixes() {
        let sessions = parse(NEIGHBORS).unwrap();
        assert_eq!(sessions.len(), 2);
        let up = &sessions[0];
        assert_eq!(up.address, "10.231.106.12");
        assert!(up.is_established());
        assert_eq!(up.uptime, "00:00:12");
        assert_eq!(up.uptime_seconds, 12);
        assert_eq!(up.prefixes_received, 1);
        assert_eq!(up.description.as_deref(), Some("speaker two"));
        let down = &sessions[1];
        assert_eq!(down.state, "Idle");
        assert_eq!(down.uptime, "never");
        assert!(down.admin_shutdown);
        assert_eq!(parse("{}").unwrap(), vec![]);
        assert!(parse("% BGP instance not found").is_err());
        assert_eq!(format_uptime(3723), "01:02:03");
    }
}
