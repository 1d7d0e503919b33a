//! The lab's private network: per lab a bridge with its own /24 in 10.231.0.0/16, per container
//! host a network namespace joined to it by a veth pair, per VM a tap on it; and the route check
//! made before any connection.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use super::error::{LabError, LabResult};
use super::exec::{run, run_to_completion};

/// How many labs may run at once on one machine.
pub(crate) const SLOTS: u8 = 32;

/// Slot `n` uses 10.231.(77+n).0/24.
const FIRST_THIRD_OCTET: u8 = 77;

/// Host `i` (from 1) gets `.10+i`.
const FIRST_HOST_OCTET: u8 = 10;

/// The most hosts one lab holds (addresses .11 to .210).
pub(crate) const MAX_HOSTS: usize = 200;

/// The names and addresses of one lab slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(pub(crate) u8);

impl Slot {
    /// `hl<n>`: the prefix of every name this slot creates.
    pub(crate) fn run_id(self) -> String {
        format!("hl{}", self.0)
    }

    /// The bridge, `br-hl<n>`.
    pub(crate) fn bridge(self) -> String {
        format!("br-hl{}", self.0)
    }

    /// The network address of the slot's /24.
    pub(crate) fn network(self) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, FIRST_THIRD_OCTET + self.0, 0)
    }

    /// The bridge's own address, `.1`.
    pub(crate) fn gateway(self) -> Ipv4Addr {
        self.address(1)
    }

    /// Host `index` (from 1): `.10+index`.
    pub(crate) fn host_address(self, index: usize) -> Ipv4Addr {
        self.address(FIRST_HOST_OCTET + u8::try_from(index).expect("at most MAX_HOSTS hosts"))
    }

    /// An address in the subnet that no host ever has: connections to it time out.
    pub(crate) fn unreachable_address(self) -> Ipv4Addr {
        self.address(254)
    }

    /// The network namespace of host `index`.
    pub(crate) fn netns(self, index: usize) -> String {
        format!("hl{}-host{index}", self.0)
    }

    /// The host end of host `index`'s veth pair (the other end is `eth0` in its namespace), or
    /// the tap of VM `index` (one name per host either way, so teardown deletes the same link).
    pub(crate) fn veth(self, index: usize) -> String {
        format!("hl{}h{index}", self.0)
    }

    /// The MAC address of VM `index`: QEMU's prefix 52:54:00, then `e7`, the slot and the index,
    /// so no two VMs on the machine share one.
    pub(crate) fn mac_address(self, index: usize) -> String {
        let index = u8::try_from(index).expect("at most MAX_HOSTS hosts");
        format!("52:54:00:e7:{:02x}:{index:02x}", self.0)
    }

    fn address(self, last: u8) -> Ipv4Addr {
        let [a, b, c, _] = self.network().octets();
        Ipv4Addr::new(a, b, c, last)
    }
}

/// Whether `slot`'s bridge name is unused and its /24 overlaps no address or route on the machine.
pub(crate) fn slot_is_free(slot: Slot) -> LabResult<bool> {
    if link_exists(&slot.bridge()) {
        return Ok(false);
    }
    let addresses = run(Command::new("ip").args(["-4", "-o", "addr", "show"]))?;
    let routes = run(Command::new("ip").args(["-4", "route", "show", "table", "all"]))?;
    let in_use = addresses
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next()
        })
        .chain(routes.lines().filter_map(route_destination))
        .filter_map(parse_prefix)
        .any(|prefix| overlaps(prefix, (slot.network(), 24)));
    Ok(!in_use)
}

/// The destination of an `ip route show` line, skipping a leading route type.
fn route_destination(line: &str) -> Option<&str> {
    const TYPES: &[&str] = &[
        "unicast",
        "local",
        "broadcast",
        "multicast",
        "anycast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "nat",
    ];
    let mut words = line.split_whitespace();
    let first = words.next()?;
    if TYPES.contains(&first) {
        words.next()
    } else {
        Some(first)
    }
}

/// `a.b.c.d/len` or a bare address (a /32); `default` is skipped on purpose: it is where lab
/// traffic must never go, not a subnet the lab would collide with.
fn parse_prefix(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (address, length) = text.split_once('/').unwrap_or((text, "32"));
    Some((
        address.parse().ok()?,
        length.parse().ok().filter(|l| *l <= 32)?,
    ))
}

fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let shorter = a.1.min(b.1);
    let mask = if shorter == 0 {
        0
    } else {
        u32::MAX << (32 - shorter)
    };
    u32::from(a.0) & mask == u32::from(b.0) & mask
}

/// Creates the slot's bridge with `.1/24` and brings it up.
pub(crate) fn create_bridge(slot: Slot) -> LabResult<()> {
    let bridge = slot.bridge();
    run(Command::new("ip").args(["link", "add", &bridge, "type", "bridge"]))?;
    run(Command::new("ip").args([
        "addr",
        "add",
        &format!("{}/24", slot.gateway()),
        "dev",
        &bridge,
    ]))?;
    run(Command::new("ip").args(["link", "set", &bridge, "up"]))?;
    Ok(())
}

/// Creates host `index`'s namespace and veth pair, the host end enslaved to the bridge.
pub(crate) fn create_host_link(slot: Slot, index: usize) -> LabResult<()> {
    let (netns, veth, bridge) = (slot.netns(index), slot.veth(index), slot.bridge());
    run(Command::new("ip").args(["netns", "add", &netns]))?;
    run(Command::new("ip").args([
        "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &netns,
    ]))?;
    run(Command::new("ip").args(["link", "set", &veth, "master", &bridge, "up"]))?;
    run(Command::new("ip").args(["-n", &netns, "link", "set", "lo", "up"]))?;
    Ok(())
}

/// Creates VM `index`'s tap device on the bridge, for QEMU to attach to by name.
pub(crate) fn create_tap(slot: Slot, index: usize) -> LabResult<()> {
    let (tap, bridge) = (slot.veth(index), slot.bridge());
    run(Command::new("ip").args(["tuntap", "add", "dev", &tap, "mode", "tap"]))?;
    run(Command::new("ip").args(["link", "set", &tap, "master", &bridge, "up"]))?;
    Ok(())
}

/// Fails unless the kernel routes `address` out of `bridge` (and so nowhere off the machine).
pub(crate) fn check_route(address: Ipv4Addr, bridge: &str) -> LabResult<()> {
    let route = run(Command::new("ip").args(["route", "get", &address.to_string()]))?;
    let first_line = route.lines().next().unwrap_or_default().trim().to_owned();
    let mut words = first_line.split_whitespace();
    let via_bridge = words.any(|w| w == "dev") && words.next() == Some(bridge);
    if via_bridge && !first_line.contains(" via ") {
        Ok(())
    } else {
        Err(LabError::RouteNotOnBridge {
            address,
            bridge: bridge.to_owned(),
            route: first_line,
        })
    }
}

/// Whether a network interface of this name exists in the machine's namespace.
pub(crate) fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Whether a named network namespace exists.
pub(crate) fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Deletes a link (a veth also takes its peer along) if it exists.
pub(crate) fn delete_link(name: &str) -> LabResult<()> {
    if link_exists(name) {
        run_to_completion(Command::new("ip").args(["link", "del", name]))?;
    }
    Ok(())
}

/// Deletes a named network namespace if it exists.
pub(crate) fn delete_netns(name: &str) -> LabResult<()> {
    if netns_exists(name) {
        run_to_completion(Command::new("ip").args(["netns", "del", name]))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_fit_linux_interface_names() {
        let slot = Slot(SLOTS - 1);
        assert!(slot.bridge().len() <= 15);
        assert!(slot.veth(MAX_HOSTS).len() <= 15);
        assert_eq!(Slot(0).host_address(1), Ipv4Addr::new(10, 231, 77, 11));
        assert_eq!(Slot(0).gateway(), Ipv4Addr::new(10, 231, 77, 1));
    }

    #[test]
    fn mac_addresses_differ_by_slot_and_index() {
        assert_eq!(Slot(3).mac_address(1), "52:54:00:e7:03:01");
        assert_eq!(Slot(31).mac_address(MAX_HOSTS), "52:54:00:e7:1f:c8");
        assert_ne!(Slot(1).mac_address(2), Slot(2).mac_address(1));
    }

    #[test]
    fn overlap_is_checked_by_the_shorter_prefix() {
        let lab = (Ipv4Addr::new(10, 231, 77, 0), 24);
        assert!(overlaps((Ipv4Addr::new(10, 0, 0, 0), 8), lab));
        assert!(overlaps((Ipv4Addr::new(10, 231, 77, 9), 32), lab));
        assert!(!overlaps((Ipv4Addr::new(10, 231, 78, 0), 24), lab));
        assert!(!overlaps((Ipv4Addr::new(192, 0, 2, 0), 24), lab));
    }

    #[test]
    fn route_lines_give_their_destination() {
        assert_eq!(
            route_destination("local 10.1.2.3 dev x table local"),
            Some("10.1.2.3")
        );
        assert_eq!(
            route_destination("192.0.2.0/24 dev eth0 proto kernel"),
            Some("192.0.2.0/24")
        );
        assert_eq!(parse_prefix("default"), None);
    }
}
