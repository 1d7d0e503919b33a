use super::schema::{check_description, password_from_variable};
use super::*;

fn config(pairs: Vec<(&str, Value)>) -> Value {
    let mut base = Value::object([
        ("host", Value::from("10.4.0.1")),
        ("asn", Value::int(64500)),
        ("address", "10.4.0.11".into()),
        ("remote_asn", Value::int(64501)),
    ]);
    for (name, value) in pairs {
        base.set_attr(name, value);
    }
    base
}

fn paths(config: &Value) -> Vec<String> {
    BgpNeighbor
        .validate(config)
        .iter()
        .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
        .collect()
}

#[test]
fn a_plain_neighbor_and_a_full_one_are_valid() {
    assert_eq!(paths(&config(vec![])), Vec::<String>::new());
    let full = config(vec![
        ("description", "allyrion (node 0)".into()),
        ("password", "s3cr3t!".into()),
        ("password_version", "1".into()),
        ("hold_time", Value::int(9)),
        ("keepalive", Value::int(3)),
        ("ebgp_multihop", Value::int(2)),
        ("update_source", "eth0".into()),
        ("wait_for_established", "60s".into()),
        (
            IPV4_UNICAST,
            Value::object([
                ("route_map_in", Value::from("METALLB-IN")),
                ("prefix_list_out", Value::from("pl_out.v4")),
            ]),
        ),
    ]);
    assert_eq!(paths(&full), Vec::<String>::new());
    let unknown = config(vec![
        ("address", Value::unknown()),
        ("description", Value::unknown()),
        ("password", Value::unknown()),
    ]);
    assert_eq!(paths(&unknown), Vec::<String>::new());
}

#[test]
fn hostile_descriptions_are_rejected_by_name() {
    for hostile in [
        "x\nneighbor 10.9.9.9 remote-as 1",
        "x\rend",
        "say \"hi\"",
        "it's",
        "`id`",
        "back\\slash",
        " leading",
        "trailing ",
        "two  spaces",
        "",
        "tab\there",
        "ümlaut",
        &"x".repeat(81),
    ] {
        assert!(check_description(hostile).is_err(), "{hostile:?}");
        assert_eq!(
            paths(&config(vec![("description", hostile.into())])),
            ["description"],
            "{hostile:?}"
        );
    }
    assert!(check_description("node 1; $(id) | # ! {x} <y> & *").is_ok());
}

#[test]
fn bad_peers_and_values_name_their_attribute() {
    assert_eq!(
        paths(&config(vec![("address", "10.4.0.300".into())])),
        ["address"]
    );
    assert_eq!(
        paths(&config(vec![("address", "10.4.0.0/24".into())])),
        ["address"]
    );
    assert_eq!(
        paths(&config(vec![
            ("address", Value::Null),
            ("listen_range", "10.4.0.1/24".into())
        ])),
        ["listen_range"]
    );
    assert_eq!(paths(&config(vec![("address", Value::Null)])), ["address"]);
    assert_eq!(
        paths(&config(vec![("listen_range", "10.4.0.0/24".into())])),
        ["listen_range"]
    );
    assert_eq!(
        paths(&config(vec![("remote_asn", Value::int(-1))])),
        ["remote_asn"]
    );
    assert_eq!(
        paths(&config(vec![("hold_time", Value::int(9))])),
        ["keepalive"]
    );
    assert_eq!(
        paths(&config(vec![
            ("hold_time", Value::int(2)),
            ("keepalive", Value::int(1))
        ])),
        ["hold_time"]
    );
    assert_eq!(
        paths(&config(vec![("ebgp_multihop", Value::int(0))])),
        ["ebgp_multihop"]
    );
    assert_eq!(
        paths(&config(vec![("update_source", "eth0; reboot".into())])),
        ["update_source"]
    );
    assert_eq!(
        paths(&config(vec![("wait_for_established", "soon".into())])),
        ["wait_for_established"]
    );
    assert_eq!(
        paths(&config(vec![(
            IPV4_UNICAST,
            Value::object([("route_map_in", Value::from("a b"))])
        )])),
        ["ipv4_unicast.route_map_in"]
    );
}

#[test]
fn passwords_need_a_version_and_bad_ones_are_not_echoed() {
    assert_eq!(
        paths(&config(vec![("password", "pw".into())])),
        ["password_version"]
    );
    assert_eq!(
        paths(&config(vec![("password_version", "1".into())])),
        ["password"]
    );
    let bad = config(vec![
        ("password", "has space-secret".into()),
        ("password_version", "1".into()),
    ]);
    let diagnostics = BgpNeighbor.validate(&bad);
    assert_eq!(diagnostics.0.len(), 1);
    let text = format!("{:?}", diagnostics.0[0]);
    assert!(!text.contains("space-secret"), "{text}");
    assert!(text.contains("character 4"), "{text}");
}

#[test]
fn a_password_from_the_environment_needs_a_version_and_a_valid_name_and_value() {
    assert!(
        paths(&config(vec![
            ("password_env", "HOMELAB_TEST_BGP_MD5".into()),
            ("password_version", "1".into()),
        ]))
        .is_empty()
    );
    assert_eq!(
        paths(&config(vec![(
            "password_env",
            "HOMELAB_TEST_BGP_MD5".into()
        )])),
        ["password_version"]
    );
    assert_eq!(
        paths(&config(vec![
            ("password", "pw".into()),
            ("password_env", "HOMELAB_TEST_BGP_MD5".into()),
            ("password_version", "1".into()),
        ])),
        ["password_env"]
    );
    for bad in ["", "1ABC", "A-B", "A B", "$(id)", "A;B"] {
        assert_eq!(
            paths(&config(vec![
                ("password_env", bad.into()),
                ("password_version", "1".into()),
            ])),
            ["password_env"],
            "{bad:?}"
        );
    }
    // The variable itself: unset, invalid, then valid; errors never show the value.
    let name = "HOMELAB_TEST_BGP_MD5";
    let unset = password_from_variable(name, None).expect_err("unset");
    assert_eq!(
        unset.attribute.map(|p| p.to_string()).as_deref(),
        Some("password_env")
    );
    assert!(unset.detail.contains(name), "{}", unset.detail);
    let invalid =
        password_from_variable(name, Some("has space-secret".into())).expect_err("a space");
    assert!(
        !format!("{invalid:?}").contains("space-secret"),
        "{invalid:?}"
    );
    assert_eq!(
        password_from_variable(name, Some("md5-ok".into())).expect("valid"),
        "md5-ok"
    );
    // A variable nobody sets reads as unset through the real environment too.
    let missing = configured_password(&config(vec![(
        "password_env",
        "HOMELAB_TEST_NEVER_SET_7F3A".into(),
    )]));
    assert!(missing.is_err());
}

fn router_neighbor(has_password: bool) -> Neighbor {
    Neighbor {
        peer: Peer::parse("10.4.0.11").unwrap(),
        remote_asn: 64501,
        description: Some("hand edited".into()),
        timers: None,
        ebgp_multihop: None,
        update_source: None,
        enabled: false,
        ipv4_unicast: Ipv4UnicastPolicy::default(),
        has_password,
    }
}

#[test]
fn refresh_reports_hand_edits_and_the_password_only_by_its_presence() {
    let mut state = config(vec![
        ("password_version", "1".into()),
        ("enabled", true.into()),
    ]);
    state.set_attr("config_path", Value::Null);
    let new = state_from_router(&state, 64500, &router_neighbor(true));
    assert_eq!(new.attr("description").as_str(), Some("hand edited"));
    assert_eq!(new.attr("enabled").as_bool(), Some(false));
    assert_eq!(new.attr("password_version").as_str(), Some("1"));
    assert_eq!(new.attr("config_path").as_str(), Some("/etc/frr/frr.conf"));
    assert!(new.attr(IPV4_UNICAST).is_null());
    assert_eq!(new.attr("id").as_str(), Some("10.4.0.1:10.4.0.11"));

    let removed = state_from_router(&state, 64500, &router_neighbor(false));
    assert!(
        removed.attr("password_version").is_null(),
        "a removed password shows"
    );
    let added = state_from_router(&config(vec![]), 64500, &router_neighbor(true));
    assert_eq!(
        added.attr("password_version").as_str(),
        Some(PASSWORD_SET_OUTSIDE)
    );
}

#[test]
fn a_configured_empty_policy_block_stays_an_object() {
    let empty = Value::object(
        POLICY_ATTRIBUTES
            .iter()
            .map(|(name, _)| (*name, Value::Null)),
    );
    let state = config(vec![(IPV4_UNICAST, empty.clone())]);
    let new = state_from_router(&state, 64500, &router_neighbor(false));
    assert_eq!(new.attr(IPV4_UNICAST), &empty);
}

#[test]
fn neighbors_import_by_router_and_address_or_range() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let context = Context {
        provider: std::sync::Arc::new(crate::config::ProviderData::new(
            crate::public_ip::PublicIpSettings {
                sources: vec![],
                timeout: std::time::Duration::from_secs(1),
            },
        )),
        cancel: tokio_util::sync::CancellationToken::new(),
    };
    let state = runtime
        .block_on(BgpNeighbor.import(&context, "10.4.0.1:10.4.0.0/24"))
        .unwrap();
    assert_eq!(state.attr("listen_range").as_str(), Some("10.4.0.0/24"));
    assert!(state.attr("address").is_null());
    assert_eq!(
        state.attr("save_command").as_elements().map(<[Value]>::len),
        Some(3)
    );
    let state = runtime
        .block_on(BgpNeighbor.import(&context, "[fd00::1]:fd00::11"))
        .unwrap();
    assert_eq!(state.attr("host").as_str(), Some("fd00::1"));
    assert_eq!(state.attr("address").as_str(), Some("fd00::11"));
    assert!(
        runtime
            .block_on(BgpNeighbor.import(&context, "10.4.0.1"))
            .is_err()
    );
    assert!(
        runtime
            .block_on(BgpNeighbor.import(&context, "10.4.0.1:nope"))
            .is_err()
    );
}
