//! What a BGP router holds, in terms every back end shares: instances, neighbors, their
//! policies, the changes the resources ask for, and the sessions a router reports.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::ssh::Secret;

/// One BGP instance (`router bgp ASN` in FRR) and its router-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The local autonomous system number.
    pub asn: u32,
    /// The BGP router identifier, when it is set rather than chosen by the router.
    pub router_id: Option<String>,
    /// Whether neighbor up/down changes are logged.
    pub log_neighbor_changes: bool,
    /// Whether eBGP routes need an explicit policy (RFC 8212) before they are exchanged.
    pub ebgp_requires_policy: bool,
}

/// An IP prefix such as `10.4.0.0/24`, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address.
    pub address: IpAddr,
    /// The prefix length.
    pub length: u8,
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(text: &str) -> Result<Prefix, String> {
        let (address, length) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a prefix like 10.4.0.0/24"))?;
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IP address"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let length: u8 = length
            .parse()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("{length:?} is not a prefix length from 0 to {max}"))?;
        let prefix = Prefix { address, length };
        if prefix.network() != address {
            return Err(format!(
                "{text} has host bits set; the network is {}/{length}",
                prefix.network()
            ));
        }
        Ok(prefix)
    }
}

impl Prefix {
    /// The address with every host bit cleared.
    pub fn network(&self) -> IpAddr {
        match self.address {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.length))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.length))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.length)
    }
}

/// Who a neighbor is: one address, or every address in a range that connects (dynamic peers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A neighbor at one address.
    Address(IpAddr),
    /// Dynamic neighbors: any peer connecting from this range is accepted.
    ListenRange(Prefix),
}

impl Peer {
    /// Parses an address, or a prefix when the text has a `/`.
    pub fn parse(text: &str) -> Result<Peer, String> {
        if text.contains('/') {
            text.parse().map(Peer::ListenRange)
        } else {
            text.parse()
                .map(Peer::Address)
                .map_err(|_| format!("{text:?} is not an IP address"))
        }
    }

    /// The name of the peer group that holds a listen range's settings; routers configure
    /// dynamic peers through a group. Derived from the range, so it is stable and unique.
    pub fn peer_group(&self) -> Option<String> {
        match self {
            Peer::Address(_) => None,
            Peer::ListenRange(prefix) => Some(format!(
                "range-{}-{}",
                prefix.address.to_string().replace(':', "_"),
                prefix.length
            )),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Address(address) => address.fmt(f),
            Peer::ListenRange(prefix) => prefix.fmt(f),
        }
    }
}

/// Keepalive and hold timers, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Seconds between keepalives.
    pub keepalive: u16,
    /// Seconds without a message before the session is declared dead (0: never).
    pub hold_time: u16,
}

/// A neighbor's IPv4 unicast policy, by the names of route-maps and prefix-lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipv4UnicastPolicy {
    /// Route-map applied to routes received.
    pub route_map_in: Option<String>,
    /// Route-map applied to routes sent.
    pub route_map_out: Option<String>,
    /// Prefix-list filtering routes received.
    pub prefix_list_in: Option<String>,
    /// Prefix-list filtering routes sent.
    pub prefix_list_out: Option<String>,
}

/// A neighbor's settings, as configured or as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Who it is.
    pub peer: Peer,
    /// Its autonomous system number.
    pub remote_asn: u32,
    /// Free text shown by the router.
    pub description: Option<String>,
    /// Timers, when not the router's defaults.
    pub timers: Option<Timers>,
    /// Maximum hops to an eBGP neighbor, when more than one.
    pub ebgp_multihop: Option<u8>,
    /// The local address or interface sessions start from.
    pub update_source: Option<String>,
    /// False when the neighbor is administratively shut down.
    pub enabled: bool,
    /// IPv4 unicast route-maps and prefix-lists.
    pub ipv4_unicast: Ipv4UnicastPolicy,
    /// Whether a TCP MD5 password is set (the password itself is never read back).
    pub has_password: bool,
}

/// What a change does with a neighbor's password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// Leave whatever the router has.
    Keep,
    /// Set this password.
    Set(Secret),
    /// Remove the password.
    Remove,
}

/// One change a resource asks a router for; a back end applies it as one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Creates the instance or changes its settings.
    SetInstance(Instance),
    /// Removes the instance and everything in it.
    RemoveInstance {
        /// The instance's AS number.
        asn: u32,
    },
    /// Creates a neighbor (when `create`, it must not exist yet) or changes it to `neighbor`.
    SetNeighbor {
        /// The instance the neighbor belongs to; it must exist.
        asn: u32,
        /// The settings it must end up with (`has_password` is ignored; see `password`).
        neighbor: Neighbor,
        /// What happens to its password.
        password: PasswordChange,
        /// Whether this creates the neighbor.
        create: bool,
    },
    /// Removes a neighbor.
    RemoveNeighbor {
        /// The instance it belongs to.
        asn: u32,
        /// Who it is.
        peer: Peer,
    },
}

impl Change {
    /// The instance the change is about.
    pub fn asn(&self) -> u32 {
        match self {
            Change::SetInstance(instance) => instance.asn,
            Change::RemoveInstance { asn }
            | Change::SetNeighbor { asn, .. }
            | Change::RemoveNeighbor { asn, .. } => *asn,
        }
    }

    /// The neighbor the change is about, if it is about one.
    pub fn peer(&self) -> Option<Peer> {
        match self {
            Change::SetNeighbor { neighbor, .. } => Some(neighbor.peer),
            Change::RemoveNeighbor { peer, .. } => Some(*peer),
            _ => None,
        }
    }

    /// Whether `bgp` already is what the change asks for, so nothing needs to be done.
    pub fn is_satisfied_by(&self, bgp: &BgpConfig) -> bool {
        self.verify(bgp).is_ok()
            && !matches!(
                self,
                Change::SetNeighbor {
                    password: PasswordChange::Set(_),
                    ..
                }
            )
    }

    /// Checks that `bgp` is what the change asked for; says what differs when it is not.
    pub fn verify(&self, bgp: &BgpConfig) -> Result<(), String> {
        match self {
            Change::SetInstance(wanted) => match bgp.instance(wanted.asn) {
                Some(found) if found.instance == *wanted => Ok(()),
                Some(found) => Err(format!("the instance reads back as {:?}", found.instance)),
                None => Err(format!("router bgp {} is not there", wanted.asn)),
            },
            Change::RemoveInstance { asn } => match bgp.instance(*asn) {
                Some(_) => Err(format!("router bgp {asn} is still there")),
                None => Ok(()),
            },
            Change::SetNeighbor {
                asn,
                neighbor,
                password,
                ..
            } => {
                let found = bgp
                    .instance(*asn)
                    .and_then(|i| i.neighbor(&neighbor.peer))
                    .ok_or_else(|| format!("neighbor {} is not there", neighbor.peer))?;
                let has_password = match password {
                    PasswordChange::Keep => found.has_password,
                    PasswordChange::Set(_) => true,
                    PasswordChange::Remove => false,
                };
                let wanted = Neighbor {
                    has_password,
                    ..neighbor.clone()
                };
                if *found == wanted {
                    Ok(())
                } else {
                    Err(format!(
                        "neighbor {} reads back as {}",
                        neighbor.peer,
                        describe_difference(&wanted, found)
                    ))
                }
            }
            Change::RemoveNeighbor { asn, peer } => {
                match bgp.instance(*asn).and_then(|i| i.neighbor(peer)) {
                    Some(_) => Err(format!("neighbor {peer} is still there")),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The fields that differ, without any secret (there is none in [`Neighbor`]).
fn describe_difference(wanted: &Neighbor, found: &Neighbor) -> String {
    let mut parts = Vec::new();
    let mut field = |name: &str, wanted: String, found: String| {
        if wanted != found {
            parts.push(format!("{name} {found} (wanted {wanted})"));
        }
    };
    field(
        "remote_asn",
        wanted.remote_asn.to_string(),
        found.remote_asn.to_string(),
    );
    field(
        "description",
        format!("{:?}", wanted.description),
        format!("{:?}", found.description),
    );
    field(
        "timers",
        format!("{:?}", wanted.timers),
        format!("{:?}", found.timers),
    );
    field(
        "ebgp_multihop",
        format!("{:?}", wanted.ebgp_multihop),
        format!("{:?}", found.ebgp_multihop),
    );
    field(
        "update_source",
        format!("{:?}", wanted.update_source),
        format!("{:?}", found.update_source),
    );
    field(
        "enabled",
        wanted.enabled.to_string(),
        found.enabled.to_string(),
    );
    field(
        "ipv4_unicast",
        format!("{:?}", wanted.ipv4_unicast),
        format!("{:?}", found.ipv4_unicast),
    );
    field(
        "password set",
        wanted.has_password.to_string(),
        found.has_password.to_string(),
    );
    parts.join(", ")
}

/// An instance with its neighbors, as read from a router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// The instance's settings.
    pub instance: Instance,
    /// Its neighbors, in the router's order.
    pub neighbors: Vec<Neighbor>,
}

impl InstanceConfig {
    /// A neighbor by who it is.
    pub fn neighbor(&self, peer: &Peer) -> Option<&Neighbor> {
        self.neighbors.iter().find(|n| n.peer == *peer)
    }
}

/// Every BGP instance of a router's default VRF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BgpConfig {
    /// The instances; FRR runs at most one per VRF.
    pub instances: Vec<InstanceConfig>,
}

impl BgpConfig {
    /// An instance by AS number.
    pub fn instance(&self, asn: u32) -> Option<&InstanceConfig> {
        self.instances.iter().find(|i| i.instance.asn == asn)
    }
}

/// One BGP session as the router reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    /// The neighbor's address (a dynamic peer's own address, not its range).
    pub address: String,
    /// The neighbor's AS number.
    pub remote_asn: u32,
    /// The finite state machine's state: `Idle`, `Connect`, `Active`, `OpenSent`,
    /// `OpenConfirm`, `Established`.
    pub state: String,
    /// How long the session has been in its current up or down state, as the router prints it.
    pub uptime: String,
    /// The same in seconds.
    pub uptime_seconds: i64,
    /// IPv4 unicast prefixes accepted from the neighbor.
    pub prefixes_received: i64,
    /// The neighbor's description.
    pub description: Option<String>,
    /// Whether the neighbor is administratively shut down.
    pub admin_shutdown: bool,
    /// Why the session last went down, as the router says.
    pub last_reset: Option<String>,
}

impl SessionState {
    /// Whether the session is up.
    pub fn is_established(&self) -> bool {
        self.state == "Established"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_must_be_networks() {
        let p: Prefix = "10.4.0.0/24".parse().unwrap();
        assert_eq!(p.to_string(), "10.4.0.0/24");
        assert!("10.4.0.1/24".parse::<Prefix>().is_err());
        assert!("10.4.0.0/33".parse::<Prefix>().is_err());
        assert!("fd00::/64".parse::<Prefix>().is_ok());
        assert!("fd00::1/64".parse::<Prefix>().is_err());
        assert!("0.0.0.0/0".parse::<Prefix>().is_ok());
        assert!("10.4.0.0".parse::<Prefix>().is_err());
    }

    #[test]
    fn peers_parse_addresses_and_ranges_and_name_range_groups() {
        assert_eq!(
            Peer::parse("10.4.0.11").unwrap(),
            Peer::Address("10.4.0.11".parse().unwrap())
        );
        let range = Peer::parse("10.4.0.0/24").unwrap();
        assert_eq!(range.peer_group().as_deref(), Some("range-10.4.0.0-24"));
        assert_eq!(
            Peer::parse("fd00::/64").unwrap().peer_group().as_deref(),
            Some("range-fd00__-64")
        );
        assert!(Peer::parse("10.4.0.300").is_err());
        assert!(Peer::parse("host1").is_err());
    }
}
