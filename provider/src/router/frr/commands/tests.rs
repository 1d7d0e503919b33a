use super::*;
use crate::router::model::{Instance, Ipv4UnicastPolicy, Timers};
use crate::ssh::Secret;

const RUNNING: &str = "!
frr version 8.4.4
frr defaults traditional
!
router bgp 64500
 bgp router-id 10.4.0.1
 no bgp ebgp-requires-policy
 neighbor 10.4.0.11 remote-as 64501
 neighbor 10.4.0.11 description node one
 neighbor 10.4.0.11 password s3cr3t
 neighbor 10.4.0.12 remote-as 64501
 !
 address-family ipv4 unicast
  neighbor 10.4.0.11 route-map IN in
 exit-address-family
exit
!
end
";

fn running(text: &str) -> RunningConfig {
    RunningConfig::parse(text).unwrap()
}

fn neighbor(address: &str) -> Neighbor {
    Neighbor {
        peer: Peer::parse(address).unwrap(),
        remote_asn: 64501,
        description: None,
        timers: None,
        ebgp_multihop: None,
        update_source: None,
        enabled: true,
        ipv4_unicast: Ipv4UnicastPolicy::default(),
        has_password: false,
    }
}

fn texts(lines: &[Line]) -> Vec<String> {
    lines.iter().map(|l| l.text.clone()).collect()
}

#[test]
fn a_new_neighbor_gets_every_setting_and_its_password_as_a_secret_line() {
    let wanted = Neighbor {
        description: Some("node three".into()),
        timers: Some(Timers {
            keepalive: 3,
            hold_time: 9,
        }),
        ebgp_multihop: Some(2),
        update_source: Some("10.4.0.1".into()),
        enabled: false,
        ipv4_unicast: Ipv4UnicastPolicy {
            prefix_list_out: Some("PL".into()),
            ..Default::default()
        },
        ..neighbor("10.4.0.13")
    };
    let change = Change::SetNeighbor {
        asn: 64500,
        neighbor: wanted,
        password: PasswordChange::Set(Secret::new("pw")),
        create: true,
    };
    let lines = change_lines(&change, &running(RUNNING));
    assert_eq!(
        texts(&lines),
        [
            "neighbor 10.4.0.13 remote-as 64501",
            "neighbor 10.4.0.13 shutdown",
            "neighbor 10.4.0.13 description node three",
            "neighbor 10.4.0.13 timers 3 9",
            "neighbor 10.4.0.13 ebgp-multihop 2",
            "neighbor 10.4.0.13 update-source 10.4.0.1",
            "neighbor 10.4.0.13 password pw",
            "neighbor 10.4.0.13 prefix-list PL out",
        ]
    );
    assert!(lines[6].secret);
    assert!(!format!("{lines:?}").contains("password pw"));
    let runs = runs(&lines);
    assert_eq!(runs.len(), 3, "public, secret, public");
    assert_eq!(
        command_arguments(runs[0]),
        [
            "configure terminal",
            "router bgp 64500",
            "neighbor 10.4.0.13 remote-as 64501",
            "neighbor 10.4.0.13 shutdown",
            "neighbor 10.4.0.13 description node three",
            "neighbor 10.4.0.13 timers 3 9",
            "neighbor 10.4.0.13 ebgp-multihop 2",
            "neighbor 10.4.0.13 update-source 10.4.0.1",
        ]
    );
    assert_eq!(
        file_text(runs[1]),
        "router bgp 64500\n neighbor 10.4.0.13 password pw\nexit\n"
    );
    assert_eq!(
        command_arguments(runs[2]),
        [
            "configure terminal",
            "router bgp 64500",
            "address-family ipv4 unicast",
            "neighbor 10.4.0.13 prefix-list PL out",
        ]
    );
}

#[test]
fn an_update_sends_only_what_differs() {
    let wanted = Neighbor {
        remote_asn: 64502,
        description: None,
        ..neighbor("10.4.0.11")
    };
    let change = Change::SetNeighbor {
        asn: 64500,
        neighbor: wanted,
        password: PasswordChange::Remove,
        create: false,
    };
    assert_eq!(
        texts(&change_lines(&change, &running(RUNNING))),
        [
            "neighbor 10.4.0.11 remote-as 64502",
            "no neighbor 10.4.0.11 description",
            "no neighbor 10.4.0.11 password",
            "no neighbor 10.4.0.11 route-map IN in",
        ]
    );
    let unchanged = Change::SetNeighbor {
        asn: 64500,
        neighbor: neighbor("10.4.0.12"),
        password: PasswordChange::Keep,
        create: false,
    };
    assert!(change_lines(&unchanged, &running(RUNNING)).is_empty());
}

#[test]
fn listen_ranges_go_through_their_peer_group() {
    let change = Change::SetNeighbor {
        asn: 64500,
        neighbor: neighbor("10.4.0.0/24"),
        password: PasswordChange::Keep,
        create: true,
    };
    assert_eq!(
        texts(&change_lines(&change, &running(RUNNING))),
        [
            "neighbor range-10.4.0.0-24 peer-group",
            "neighbor range-10.4.0.0-24 remote-as 64501",
            "bgp listen range 10.4.0.0/24 peer-group range-10.4.0.0-24",
        ]
    );
    let remove = Change::RemoveNeighbor {
        asn: 64500,
        peer: Peer::parse("10.4.0.0/24").unwrap(),
    };
    assert_eq!(
        texts(&change_lines(&remove, &running(RUNNING))),
        ["no neighbor range-10.4.0.0-24 peer-group"]
    );
}

#[test]
fn instance_changes_set_only_what_differs_and_a_new_instance_everything() {
    let wanted = Instance {
        asn: 64500,
        router_id: None,
        log_neighbor_changes: true,
        ebgp_requires_policy: false,
    };
    assert_eq!(
        texts(&change_lines(
            &Change::SetInstance(wanted.clone()),
            &running(RUNNING)
        )),
        ["no bgp router-id 10.4.0.1", "bgp log-neighbor-changes"]
    );
    let empty = running("!\nfrr version 8.4.4\n!\nend\n");
    let lines = change_lines(&Change::SetInstance(wanted), &empty);
    assert_eq!(
        texts(&lines),
        ["bgp log-neighbor-changes", "no bgp ebgp-requires-policy"]
    );
    assert_eq!(
        file_text(&lines),
        "router bgp 64500\n bgp log-neighbor-changes\n no bgp ebgp-requires-policy\nexit\n"
    );
}

#[test]
fn a_rollback_restores_one_neighbor_exactly_and_leaves_the_others() {
    let before = running(RUNNING);
    let now = running(
        &RUNNING
            .replace(" neighbor 10.4.0.11 description node one\n", "")
            .replace(
                " neighbor 10.4.0.12 remote-as 64501\n",
                " neighbor 10.4.0.12 remote-as 65000\n",
            ),
    );
    let scope = Scope::Neighbor(64500, "10.4.0.11".into());
    let lines = rollback_lines(&before, &now, &scope);
    assert_eq!(
        texts(&lines),
        [
            "no neighbor 10.4.0.11",
            "neighbor 10.4.0.11 remote-as 64501",
            "neighbor 10.4.0.11 description node one",
            "neighbor 10.4.0.11 password s3cr3t",
            "neighbor 10.4.0.11 route-map IN in",
        ]
    );
    assert!(
        lines[3].secret,
        "a replayed password goes on standard input"
    );
    assert_eq!(
        lines[4].context,
        Context::AddressFamily(64500, "ipv4 unicast".into())
    );
    // A neighbor that did not exist before is removed.
    let added = running(&RUNNING.replace(
        " neighbor 10.4.0.12 remote-as 64501\n",
        " neighbor 10.4.0.12 remote-as 64501\n neighbor 10.4.0.13 remote-as 1\n",
    ));
    let scope = Scope::Neighbor(64500, "10.4.0.13".into());
    assert_eq!(
        texts(&rollback_lines(&before, &added, &scope)),
        ["no neighbor 10.4.0.13"]
    );
    assert!(rollback_lines(&before, &before, &scope).is_empty());
}

#[test]
fn an_instance_rollback_negates_new_lines_and_replays_old_ones() {
    let before = running(RUNNING);
    let now = running(&RUNNING.replace(
        " bgp router-id 10.4.0.1\n no bgp ebgp-requires-policy\n",
        " bgp router-id 10.4.0.2\n bgp log-neighbor-changes\n",
    ));
    assert_eq!(
        texts(&rollback_lines(&before, &now, &Scope::Instance(64500))),
        [
            "no bgp router-id 10.4.0.2",
            "no bgp log-neighbor-changes",
            "bgp router-id 10.4.0.1",
            "no bgp ebgp-requires-policy",
        ]
    );
    let empty = running("!\nend\n");
    assert_eq!(
        texts(&rollback_lines(&empty, &before, &Scope::Instance(64500))),
        ["no router bgp 64500"]
    );
    let restored = rollback_lines(&before, &empty, &Scope::Instance(64500));
    assert_eq!(restored.len(), 7, "the whole instance is replayed");
}

#[test]
fn passwords_never_survive_redaction() {
    let output = "line 12: % Unknown command[25]:  neighbor 10.4.0.11 password hunter2 x\nok";
    let shown = redact(output, &["hunter2"]);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("neighbor 10.4.0.11 password (hidden)"),
        "{shown}"
    );
    assert_eq!(
        redact("the secret is xyz", &["xyz"]),
        "the secret is (hidden)"
    );
}
