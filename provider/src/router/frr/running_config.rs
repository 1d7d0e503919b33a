//! FRR's `show running-config` (and its saved `frr.conf`, the same format) parsed into the
//! `router bgp` sections, line by line, and into the shared BGP model.

use super::super::model::{
    BgpConfig, Instance, InstanceConfig, Ipv4UnicastPolicy, Neighbor, Peer, Timers,
};

/// The address family whose policies the neighbor resource manages.
pub(super) const IPV4_UNICAST: &str = "ipv4 unicast";

/// A running configuration: its body (header and trailing `end` removed, so it can be
/// checked with more lines appended) and its BGP sections.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct RunningConfig {
    /// The configuration text, starting at the first `!`.
    pub(super) body: String,
    /// `frr defaults traditional` or `datacenter`: the defaults unset settings have.
    pub(super) datacenter_defaults: bool,
    /// Every `router bgp` section, in order.
    pub(super) routers: Vec<RouterSection>,
}

/// One `router bgp ASN [vrf NAME]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RouterSection {
    /// The AS number.
    pub(super) asn: u32,
    /// The VRF, when not the default one.
    pub(super) vrf: Option<String>,
    /// Its lines, without indentation, `!` separators or address-family markers.
    pub(super) lines: Vec<SectionLine>,
}

/// One configuration line inside a `router bgp` section.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct SectionLine {
    /// The address family block it sits in (`ipv4 unicast`), or none for the router level.
    pub(super) address_family: Option<String>,
    /// The command, e.g. `neighbor 10.4.0.11 remote-as 64501`.
    pub(super) text: String,
}

impl std::fmt::Debug for SectionLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neighbor lines may hold passwords.
        let text = super::commands::redact_line(&self.text);
        write!(f, "{:?}/{text:?}", self.address_family)
    }
}

impl SectionLine {
    /// The neighbor or peer group a line configures: `neighbor KEY …` lines belong to KEY,
    /// `bgp listen range PREFIX peer-group GROUP` to GROUP; router-wide lines to nobody.
    pub(super) fn owner(&self) -> Option<&str> {
        let words: Vec<&str> = self.text.split_whitespace().collect();
        match words.as_slice() {
            ["neighbor", key, ..] => Some(key),
            ["bgp", "listen", "range", _, "peer-group", group] => Some(group),
            _ => None,
        }
    }

    /// Whether the line holds a secret (a neighbor's password).
    pub(super) fn is_secret(&self) -> bool {
        let words: Vec<&str> = self.text.split_whitespace().collect();
        matches!(words.as_slice(), ["neighbor", _, "password", ..])
    }
}

impl RouterSection {
    /// Whether `key` is a peer group in this section.
    pub(super) fn is_peer_group(&self, key: &str) -> bool {
        self.lines.iter().any(|line| {
            line.address_family.is_none()
                && line.text.split_whitespace().collect::<Vec<_>>()
                    == ["neighbor", key, "peer-group"]
        })
    }
}

impl RunningConfig {
    /// Parses `show running-config` output or a configuration file.
    pub(super) fn parse(text: &str) -> Result<RunningConfig, String> {
        let start = text
            .lines()
            .position(|line| line.starts_with('!') || line.starts_with("frr "))
            .unwrap_or(0);
        let mut body_lines: Vec<&str> = text.lines().skip(start).collect();
        while body_lines
            .last()
            .is_some_and(|line| line.trim().is_empty() || line.trim() == "end")
        {
            body_lines.pop();
        }
        let mut routers = Vec::new();
        let mut datacenter_defaults = false;
        let mut current: Option<RouterSection> = None;
        let mut address_family: Option<String> = None;
        for raw in &body_lines {
            let line = raw.trim_end();
            let trimmed = line.trim();
            if let Some(section) = current.as_mut() {
                if line == "exit" || (!line.starts_with(' ') && !trimmed.is_empty()) {
                    routers.push(current.take().expect("a section is open"));
                    address_family = None;
                    if line == "exit" {
                        continue;
                    }
                } else {
                    if trimmed.is_empty() || trimmed == "!" {
                        continue;
                    }
                    if let Some(family) = trimmed.strip_prefix("address-family ") {
                        address_family = Some(family.to_owned());
                        continue;
                    }
                    if trimmed == "exit-address-family" {
                        address_family = None;
                        continue;
                    }
                    section.lines.push(SectionLine {
                        address_family: address_family.clone(),
                        text: trimmed.to_owned(),
                    });
                    continue;
                }
            }
            let words: Vec<&str> = trimmed.split_whitespace().collect();
            match words.as_slice() {
                ["frr", "defaults", profile] => datacenter_defaults = *profile == "datacenter",
                ["router", "bgp", asn, rest @ ..] => {
                    let asn = asn
                        .parse()
                        .map_err(|_| format!("bad AS number in {trimmed:?}"))?;
                    let vrf = match rest {
                        [] => None,
                        ["vrf", name] => Some((*name).to_owned()),
                        // `router bgp N view NAME` and the like: not ours, kept apart.
                        _ => Some(rest.join(" ")),
                    };
                    current = Some(RouterSection {
                        asn,
                        vrf,
                        lines: Vec::new(),
                    });
                }
                _ => {}
            }
        }
        if let Some(section) = current {
            routers.push(section);
        }
        Ok(RunningConfig {
            body: body_lines.join("\n") + "\n",
            datacenter_defaults,
            routers,
        })
    }

    /// The default VRF's `router bgp` section for `asn`.
    pub(super) fn router(&self, asn: u32) -> Option<&RouterSection> {
        self.routers
            .iter()
            .find(|r| r.asn == asn && r.vrf.is_none())
    }

    /// The default VRF's BGP configuration in the shared model.
    pub(super) fn bgp(&self) -> BgpConfig {
        BgpConfig {
            instances: self
                .routers
                .iter()
                .filter(|r| r.vrf.is_none())
                .map(|r| self.instance(r))
                .collect(),
        }
    }

    fn instance(&self, section: &RouterSection) -> InstanceConfig {
        let router_lines: Vec<&str> = section
            .lines
            .iter()
            .filter(|l| l.address_family.is_none() && l.owner().is_none())
            .map(|l| l.text.as_str())
            .collect();
        let has = |line: &str| router_lines.contains(&line);
        let router_id = router_lines
            .iter()
            .find_map(|l| l.strip_prefix("bgp router-id "))
            .map(str::to_owned);
        let log_neighbor_changes = if has("bgp log-neighbor-changes") {
            true
        } else if has("no bgp log-neighbor-changes") {
            false
        } else {
            self.datacenter_defaults
        };
        let instance = Instance {
            asn: section.asn,
            router_id,
            log_neighbor_changes,
            ebgp_requires_policy: !has("no bgp ebgp-requires-policy"),
        };
        InstanceConfig {
            instance,
            neighbors: neighbors(section),
        }
    }
}

/// The neighbors of a section: one per address, and one per listen range whose peer group has
/// the name this provider gives it. Neighbors named by interface are left out.
fn neighbors(section: &RouterSection) -> Vec<Neighbor> {
    let mut keys: Vec<&str> = Vec::new();
    for line in &section.lines {
        if let Some(key) = line.owner()
            && !keys.contains(&key)
        {
            keys.push(key);
        }
    }
    let mut found = Vec::new();
    for key in &keys {
        if let Ok(address) = key.parse() {
            found.push(neighbor(section, key, Peer::Address(address)));
        }
    }
    for line in &section.lines {
        let words: Vec<&str> = line.text.split_whitespace().collect();
        if let ["bgp", "listen", "range", prefix, "peer-group", group] = words.as_slice()
            && let Ok(prefix) = prefix.parse()
        {
            let peer = Peer::ListenRange(prefix);
            if peer.peer_group().as_deref() == Some(*group) {
                found.push(neighbor(section, group, peer));
            }
        }
    }
    found
}

/// The settings of `key` from its lines.
fn neighbor(section: &RouterSection, key: &str, peer: Peer) -> Neighbor {
    let mut neighbor = Neighbor {
        peer,
        remote_asn: 0,
        description: None,
        timers: None,
        ebgp_multihop: None,
        update_source: None,
        enabled: true,
        ipv4_unicast: Ipv4UnicastPolicy::default(),
        has_password: false,
    };
    for line in section.lines.iter().filter(|l| l.owner() == Some(key)) {
        let Some(rest) = line
            .text
            .strip_prefix("neighbor ")
            .and_then(|r| r.strip_prefix(key))
            .and_then(|r| r.strip_prefix(' '))
        else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        match (line.address_family.as_deref(), words.as_slice()) {
            (None, ["remote-as", asn]) => {
                neighbor.remote_asn = match *asn {
                    "internal" => section.asn,
                    other => other.parse().unwrap_or(0),
                };
            }
            (None, ["description", ..]) => {
                neighbor.description = rest.strip_prefix("description ").map(str::to_owned);
            }
            (None, ["password", ..]) => neighbor.has_password = true,
            (None, ["timers", keepalive, hold_time]) => {
                if let (Ok(keepalive), Ok(hold_time)) = (keepalive.parse(), hold_time.parse()) {
                    neighbor.timers = Some(Timers {
                        keepalive,
                        hold_time,
                    });
                }
            }
            (None, ["ebgp-multihop"]) => neighbor.ebgp_multihop = Some(255),
            (None, ["ebgp-multihop", hops]) => neighbor.ebgp_multihop = hops.parse().ok(),
            (None, ["update-source", source]) => {
                neighbor.update_source = Some((*source).to_owned());
            }
            (None, ["shutdown", ..]) => neighbor.enabled = false,
            (Some(IPV4_UNICAST), [kind @ ("route-map" | "prefix-list"), name, direction]) => {
                let policy = &mut neighbor.ipv4_unicast;
                let slot = match (*kind, *direction) {
                    ("route-map", "in") => &mut policy.route_map_in,
                    ("route-map", "out") => &mut policy.route_map_out,
                    ("prefix-list", "in") => &mut policy.prefix_list_in,
                    ("prefix-list", "out") => &mut policy.prefix_list_out,
                    _ => continue,
                };
                *slot = Some((*name).to_owned());
            }
            _ => {}
        }
    }
    neighbor
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname host1
log syslog informational
service integrated-vtysh-config
!
router bgp 64500
 bgp router-id 10.4.0.1
 no bgp ebgp-requires-policy
 neighbor range-10.4.0.0-24 peer-group
 neighbor range-10.4.0.0-24 remote-as 64501
 neighbor 10.4.0.11 remote-as 64501
 neighbor 10.4.0.11 description node one
 neighbor 10.4.0.11 shutdown
 neighbor 10.4.0.11 password s3cr3t
 neighbor 10.4.0.11 ebgp-multihop 2
 neighbor 10.4.0.11 update-source 10.4.0.1
 neighbor 10.4.0.11 timers 3 9
 neighbor 10.4.0.12 remote-as 64501
 bgp listen range 10.4.0.0/24 peer-group range-10.4.0.0-24
 !
 address-family ipv4 unicast
  network 10.9.0.0/24
  neighbor 10.4.0.11 prefix-list PL out
  neighbor 10.4.0.11 route-map IN in
 exit-address-family
exit
!
router bgp 65000 vrf blue
 neighbor 10.9.9.9 remote-as 1
exit
!
end
";

    #[test]
    fn sections_lines_and_owners_are_read() {
        let config = RunningConfig::parse(SAMPLE).unwrap();
        assert!(config.body.starts_with("!\nfrr version 8.4.4\n"));
        assert!(config.body.ends_with(
            "exit\n!\nrouter bgp 65000 vrf blue\n neighbor 10.9.9.9 remote-as 1\nexit\n!\n"
        ));
        assert_eq!(config.routers.len(), 2);
        let router = config.router(64500).unwrap();
        assert_eq!(router.lines.len(), 16);
        assert_eq!(router.lines[0].owner(), None);
        assert_eq!(router.lines[3].owner(), Some("range-10.4.0.0-24"));
        assert_eq!(router.lines[12].owner(), Some("range-10.4.0.0-24"));
        assert!(router.lines[7].is_secret());
        assert_eq!(
            router.lines[13].address_family.as_deref(),
            Some("ipv4 unicast")
        );
        assert!(router.is_peer_group("range-10.4.0.0-24"));
        assert!(!router.is_peer_group("10.4.0.11"));
        assert!(
            config.router(65000).is_none(),
            "a VRF's instance is not the default one"
        );
        assert!(!format!("{:?}", router.lines).contains("s3cr3t"));
    }

    #[test]
    fn the_model_holds_every_setting_and_no_password() {
        let bgp = RunningConfig::parse(SAMPLE).unwrap().bgp();
        assert_eq!(bgp.instances.len(), 1);
        let instance = &bgp.instances[0];
        assert_eq!(
            instance.instance,
            Instance {
                asn: 64500,
                router_id: Some("10.4.0.1".into()),
                log_neighbor_changes: false,
                ebgp_requires_policy: false,
            }
        );
        let one = instance
            .neighbor(&Peer::parse("10.4.0.11").unwrap())
            .unwrap();
        assert_eq!(one.remote_asn, 64501);
        assert_eq!(one.description.as_deref(), Some("node one"));
        assert!(!one.enabled);
        assert!(one.has_password);
        assert_eq!(one.ebgp_multihop, Some(2));
        assert_eq!(one.update_source.as_deref(), Some("10.4.0.1"));
        assert_eq!(
            one.timers,
            Some(Timers {
                keepalive: 3,
                hold_time: 9
            })
        );
        assert_eq!(one.ipv4_unicast.route_map_in.as_deref(), Some("IN"));
        assert_eq!(one.ipv4_unicast.prefix_list_out.as_deref(), Some("PL"));
        let two = instance
            .neighbor(&Peer::parse("10.4.0.12").unwrap())
            .unwrap();
        assert!(two.enabled && !two.has_password && two.description.is_none());
        let range = instance
            .neighbor(&Peer::parse("10.4.0.0/24").unwrap())
            .unwrap();
        assert_eq!(range.remote_asn, 64501);
        assert_eq!(instance.neighbors.len(), 3);
    }

    #[test]
    fn datacenter_defaults_log_neighbor_changes() {
        let text = "!\nfrr defaults datacenter\n!\nrouter bgp 1\nexit\n!\nend\n";
        let bgp = RunningConfig::parse(text).unwrap().bgp();
        assert!(bgp.instances[0].instance.log_neighbor_changes);
        let text =
            "!\nfrr defaults datacenter\n!\nrouter bgp 1\n no bgp log-neighbor-changes\nexit\n";
        let bgp = RunningConfig::parse(text).unwrap().bgp();
        assert!(!bgp.instances[0].instance.log_neighbor_changes);
    }

    #[test]
    fn a_configuration_without_bgp_has_no_instances() {
        let text =
            "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n!\nend\n";
        let config = RunningConfig::parse(text).unwrap();
        assert!(config.bgp().instances.is_empty());
        assert_eq!(config.body, "!\nfrr version 8.4.4\n!\n");
    }
}
