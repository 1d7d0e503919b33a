//! `homelab_bgp_router`, `homelab_bgp_neighbor` and `data.homelab_bgp_sessions` against FRR
//! running as a real systemd service on a lab host, with GoBGP speakers on other lab hosts
//! standing in for MetalLB (the book's AS 64500 router peering AS 64501 speakers).

#[path = "bgp/lab.rs"]
mod lab;
#[path = "bgp/password_env.rs"]
mod password_env;

use std::time::Duration;

use acceptance_tests::cli::{Command, Workdir};
use acceptance_tests::steps::{Step, TestCase, assert_converged};

use lab::{BgpLab, ROUTER_ASN, SPEAKER_ASN, service_prefix, wait_until};

/// How long a session may take to come up in these tests (it takes a few seconds).
const WAIT: &str = "90s";

fn router_resource(bgp: &BgpLab, name: &str, asn: u32, body: &str) -> String {
    format!(
        "resource \"homelab_bgp_router\" \"{name}\" {{\n  host = \"{}\"\n  asn  = {asn}\n{body}}}\n",
        bgp.router().address
    )
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

#[test]
fn bgp_router_full_step_loop() {
    let bgp = BgpLab::up(1);
    let router = bgp.router().address.to_string();
    let config = |body: &str| {
        format!(
            "{}\n{}",
            bgp.provider(),
            router_resource(&bgp, "r", ROUTER_ASN, body)
        )
    };
    let first = config(&format!(
        "  router_id            = \"{router}\"\n  ebgp_requires_policy = false\n"
    ));
    let second = config("  router_id            = \"10.0.0.1\"\n  log_neighbor_changes = false\n");
    let clash = format!("{second}\n{}", router_resource(&bgp, "other", 64999, ""));
    TestCase::new("bgp_router")
        .step(Step::apply(first, |state| {
            bgp.sh(bgp.router(), "grep -qx bgpd=yes /etc/frr/daemons");
            let lines = bgp.bgp_lines();
            for line in [
                "router bgp 64500",
                &format!("bgp router-id {router}"),
                "bgp log-neighbor-changes",
                "no bgp ebgp-requires-policy",
            ] {
                assert!(has(&lines, line), "{line:?} missing from {lines:#?}");
            }
            let saved = bgp.sh(bgp.router(), "cat /etc/frr/frr.conf");
            assert!(saved.contains("router bgp 64500\n"), "not saved: {saved}");
            assert!(saved.contains(" no bgp ebgp-requires-policy\n"), "{saved}");
            assert_eq!(
                state.attr_str("homelab_bgp_router.r", "id"),
                format!("{router}:64500")
            );
        }))
        .step(Step::import_verify(
            "homelab_bgp_router.r",
            &format!("{router}:64500"),
            &[],
        ))
        .step(Step::apply(second.clone(), |_| {
            let lines = bgp.bgp_lines();
            assert!(has(&lines, "bgp router-id 10.0.0.1"), "{lines:#?}");
            assert!(!has(&lines, "bgp log-neighbor-changes"), "{lines:#?}");
            assert!(!has(&lines, "no bgp ebgp-requires-policy"), "{lines:#?}");
        }))
        .step(Step::drift(
            || {
                bgp.vtysh(&[
                    "configure terminal",
                    "router bgp 64500",
                    "bgp router-id 10.9.9.9",
                ]);
            },
            "router_id",
        ))
        .step(Step::drift(
            || {
                bgp.vtysh(&["configure terminal", "no router bgp 64500"]);
            },
            "will be created",
        ))
        .step(Step::expect_error(
            clash,
            Command::Apply,
            &["router bgp 64500 already runs", "Nothing was changed"],
        ))
        .step(Step::expect_error(
            config("  router_id = \"10.0.0\"\n"),
            Command::Plan,
            &["Invalid router_id", "router_id"],
        ))
        .check_destroyed(|| {
            assert_eq!(bgp.bgp_lines(), Vec::<String>::new());
            let saved = bgp.sh(bgp.router(), "cat /etc/frr/frr.conf");
            assert!(!saved.contains("router bgp"), "{saved}");
        })
        .run();

    // A new AS cannot be set on a running instance: the plan replaces it.
    let workdir = Workdir::new("bgp_router_replace");
    workdir.write_config(&config(""));
    workdir.apply();
    workdir.write_config(&format!(
        "{}\n{}",
        bgp.provider(),
        router_resource(&bgp, "r", 64501, "")
    ));
    let plan = workdir.plan_json();
    assert_eq!(
        plan.actions("homelab_bgp_router.r"),
        Some(vec!["delete", "create"])
    );
    workdir.apply();
    let lines = bgp.bgp_lines();
    assert!(
        has(&lines, "router bgp 64501") && !has(&lines, "router bgp 64500"),
        "{lines:#?}"
    );
    assert_converged(&workdir, "after replacing the instance");
    workdir.destroy();
    assert_eq!(bgp.bgp_lines(), Vec::<String>::new());
}

#[test]
fn bgp_neighbor_full_step_loop() {
    let bgp = BgpLab::up(2);
    let router = bgp.router().address.to_string();
    let speaker = &bgp.speakers()[0];
    let address = speaker.address.to_string();
    bgp.start_speaker(speaker, None, &service_prefix(1));
    let octets: Vec<&str> = router.split('.').collect();
    let range = format!("{}.{}.{}.128/25", octets[0], octets[1], octets[2]);
    let group = format!("range-{}-25", range.trim_end_matches("/25"));
    // The instance is made by hand: the neighbor's own loop must not depend on another
    // resource, because `terraform import` records no dependencies and the refresh-only plan
    // after it would then report a change (exit code 2) while showing none.
    bgp.sh(
        bgp.router(),
        "sed -i 's/^bgpd=no/bgpd=yes/' /etc/frr/daemons && systemctl restart frr",
    );
    wait_until(Duration::from_secs(30), "bgpd to start", || {
        bgp.sh(
            bgp.router(),
            "vtysh -d bgpd -c 'show version' >/dev/null 2>&1 && echo up || true",
        )
        .contains("up")
    });
    bgp.vtysh(&[
        "configure terminal",
        "router bgp 64500",
        &format!("bgp router-id {router}"),
        "no bgp ebgp-requires-policy",
        "end",
        "write memory",
    ]);
    let router_block = router_resource(
        &bgp,
        "r",
        ROUTER_ASN,
        &format!("  router_id            = \"{router}\"\n  ebgp_requires_policy = false\n"),
    );
    let config = |neighbor: &str, range_body: &str| {
        format!(
            "{}\nresource \"homelab_bgp_neighbor\" \"n\" {{\n  host       = \"{router}\"\n  \
             asn        = {ROUTER_ASN}\n  address    = \"{address}\"\n  remote_asn = {SPEAKER_ASN}\n{neighbor}}}\n\n\
             resource \"homelab_bgp_neighbor\" \"range\" {{\n  host         = \"{router}\"\n  \
             asn          = {ROUTER_ASN}\n  listen_range = \"{range}\"\n{range_body}}}\n",
            bgp.provider()
        )
    };
    let up = config(
        &format!(
            "  description = \"metallb speaker host2\"\n  hold_time   = 9\n  keepalive   = 3\n  \
             wait_for_established = \"{WAIT}\"\n"
        ),
        "  remote_asn  = 64501\n  description = \"dynamic speakers\"\n  ipv4_unicast {\n    route_map_in = \"METALLB-IN\"\n  }\n",
    );
    let down = config(
        "  description = \"metallb speaker two\"\n  enabled     = false\n  ipv4_unicast {\n    prefix_list_out = \"PL-OUT\"\n  }\n",
        "  remote_asn  = 64502\n",
    );
    let hostile = config(
        "  description = \"x\\nneighbor 10.9.9.9 remote-as 1\"\n",
        "  remote_asn  = 64501\n",
    );
    let bad_address = up.replace(&format!("\"{address}\""), "\"10.231.1.300\"");
    let neighbor_line = |rest: &str| format!("neighbor {address} {rest}");
    TestCase::new("bgp_neighbor")
        .step(Step::apply(up.clone(), |state| {
            let lines = bgp.bgp_lines();
            for line in [
                neighbor_line("remote-as 64501"),
                neighbor_line("description metallb speaker host2"),
                neighbor_line("timers 3 9"),
                format!("neighbor {group} peer-group"),
                format!("neighbor {group} remote-as 64501"),
                format!("bgp listen range {range} peer-group {group}"),
                format!("neighbor {group} route-map METALLB-IN in"),
            ] {
                assert!(has(&lines, &line), "{line:?} missing from {lines:#?}");
            }
            assert!(
                bgp.router_sessions()
                    .contains(&(address.clone(), "Established".into()))
            );
            assert!(bgp.speaker_established(speaker));
            let routes = bgp.router_routes();
            assert!(
                routes.contains(&(service_prefix(1), vec![address.clone()])),
                "{routes:?}"
            );
            assert_eq!(
                state.attr_str("homelab_bgp_neighbor.range", "peer_group"),
                group
            );
        }))
        .step(Step::import_verify(
            "homelab_bgp_neighbor.n",
            &format!("{router}:{address}"),
            &[],
        ))
        .step(Step::import_verify(
            "homelab_bgp_neighbor.range",
            &format!("{router}:{range}"),
            &[],
        ))
        .step(Step::apply(down, |_| {
            let lines = bgp.bgp_lines();
            assert!(has(&lines, &neighbor_line("shutdown")), "{lines:#?}");
            assert!(
                has(&lines, &neighbor_line("prefix-list PL-OUT out")),
                "{lines:#?}"
            );
            assert!(
                !lines
                    .iter()
                    .any(|l| l.contains("timers") || l.contains("route-map")),
                "{lines:#?}"
            );
            assert!(
                has(&lines, &format!("neighbor {group} remote-as 64502")),
                "{lines:#?}"
            );
            wait_until(
                Duration::from_secs(20),
                "the speaker to see the session closed",
                || !bgp.speaker_established(speaker),
            );
        }))
        .step(Step::drift(
            || {
                bgp.vtysh(&[
                    "configure terminal",
                    "router bgp 64500",
                    &format!("no neighbor {address} shutdown"),
                    &format!("neighbor {address} description changed by hand"),
                ]);
            },
            "changed by hand",
        ))
        .step(Step::apply(up.clone(), |_| {
            assert!(
                bgp.router_sessions()
                    .contains(&(address.clone(), "Established".into()))
            );
        }))
        .step(Step::drift(
            || {
                bgp.vtysh(&[
                    "configure terminal",
                    "router bgp 64500",
                    &format!("no neighbor {address}"),
                ]);
            },
            "will be created",
        ))
        .step(Step::drift(
            || {
                bgp.vtysh(&[
                    "configure terminal",
                    "router bgp 64500",
                    &format!("neighbor {address} password added-by-hand"),
                ]);
            },
            "(set outside Terraform)",
        ))
        .step(Step::expect_error(
            hostile,
            Command::Plan,
            &["Invalid description", "description"],
        ))
        .step(Step::expect_error(
            bad_address,
            Command::Plan,
            &["Invalid address", "10.231.1.300"],
        ))
        .check_destroyed(|| {
            let lines = bgp.bgp_lines();
            assert!(
                has(&lines, "router bgp 64500"),
                "the instance stays: {lines:#?}"
            );
            assert!(!lines.iter().any(|l| l.contains("neighbor")), "{lines:#?}");
            let saved = bgp.sh(bgp.router(), "cat /etc/frr/frr.conf");
            assert!(!saved.contains("neighbor"), "{saved}");
        })
        .run();
    a_change_frr_refuses_after_the_check_is_rolled_back(&bgp, &router_block);
}

/// A listen range FRR already has under a hand-made peer group passes the check (vtysh -C only
/// checks syntax) but fails half way through the apply: the peer group created first must be
/// removed again, FRR's own message shown, and nothing saved.
fn a_change_frr_refuses_after_the_check_is_rolled_back(bgp: &BgpLab, router_block: &str) {
    let workdir = Workdir::new("bgp_rollback");
    workdir.write_config(&format!("{}\n{router_block}", bgp.provider()));
    workdir.apply();
    bgp.vtysh(&[
        "configure terminal",
        "router bgp 64500",
        "neighbor handmade peer-group",
        "neighbor handmade remote-as 64501",
        "bgp listen range 10.50.0.0/24 peer-group handmade",
    ]);
    let before = bgp.bgp_lines();
    let saved_before = bgp.sh(bgp.router(), "cat /etc/frr/frr.conf");
    workdir.write_config(&format!(
        "{}\n{router_block}\nresource \"homelab_bgp_neighbor\" \"range\" {{\n  host         = homelab_bgp_router.r.host\n  \
         asn          = homelab_bgp_router.r.asn\n  listen_range = \"10.50.0.0/24\"\n  remote_asn   = 64501\n}}\n",
        bgp.provider()
    ));
    workdir.expect_errors(
        Command::Apply,
        &[
            "Same listen range is attached to peer-group handmade",
            "The change was rolled back",
        ],
    );
    assert_eq!(bgp.bgp_lines(), before, "the router is as it was");
    assert_eq!(bgp.sh(bgp.router(), "cat /etc/frr/frr.conf"), saved_before);
    assert_eq!(
        workdir.show_state_json().managed_addresses(),
        ["homelab_bgp_router.r"]
    );
    workdir.write_config(&format!("{}\n{router_block}", bgp.provider()));
    workdir.destroy();
    assert_eq!(bgp.bgp_lines(), Vec::<String>::new());
}

/// The book's router configuration, one neighbor per speaker through `for_each`.
fn book_config(bgp: &BgpLab, speakers: &[usize], wrong_password_for: Option<usize>) -> String {
    let map: String = speakers
        .iter()
        .map(|&i| format!("    {} = \"{}\"\n", bgp.hosts[i].name, bgp.hosts[i].address))
        .collect();
    let wrong = wrong_password_for
        .map(|i| bgp.hosts[i].name.clone())
        .unwrap_or_default();
    format!(
        "{}\nlocals {{\n  speakers = {{\n{map}  }}\n  wrong = \"{wrong}\"\n}}\n\n{}\n\
         resource \"homelab_bgp_neighbor\" \"node\" {{\n  for_each = local.speakers\n\n  \
         host        = homelab_bgp_router.router.host\n  asn         = homelab_bgp_router.router.asn\n  \
         address     = each.value\n  remote_asn  = {SPEAKER_ASN}\n  description = \"metallb ${{each.key}}\"\n  \
         password         = each.key == local.wrong ? \"not-the-password\" : \"md5-${{each.key}}\"\n  \
         password_version = each.key == local.wrong ? \"2\" : \"1\"\n  \
         wait_for_established = each.key == local.wrong ? null : \"{WAIT}\"\n}}\n\n\
         data \"homelab_bgp_sessions\" \"router\" {{\n  host = homelab_bgp_router.router.host\n  \
         asn  = homelab_bgp_router.router.asn\n\n  depends_on = [homelab_bgp_neighbor.node]\n}}\n",
        bgp.provider(),
        router_resource(
            bgp,
            "router",
            ROUTER_ASN,
            &format!(
                "  router_id            = \"{}\"\n  ebgp_requires_policy = false\n",
                bgp.router().address
            )
        ),
    )
}

#[test]
fn the_books_router_config_brings_every_speaker_up_and_keeps_bad_ones_down() {
    let bgp = BgpLab::up(4);
    for (index, speaker) in bgp.speakers().iter().enumerate() {
        let password = format!("md5-{}", speaker.name);
        bgp.start_speaker(speaker, Some(&password), &service_prefix(index + 1));
    }
    let workdir = Workdir::new("bgp_book");
    let session_state = |state: &acceptance_tests::show::StateView, address: &str| {
        let sessions = state.attr("data.homelab_bgp_sessions.router", "sessions");
        sessions
            .as_array()
            .expect("a list of sessions")
            .iter()
            .find(|s| s["address"] == address)
            .cloned()
            .unwrap_or_else(|| panic!("no session for {address}: {sessions}"))
    };

    workdir.write_config(&book_config(&bgp, &[1, 2, 3], None));
    let applied = workdir.apply();
    eprintln!(
        "book config applied, three sessions Established, in {:.1?}",
        applied.elapsed
    );
    let state = workdir.show_state_json();
    for (index, speaker) in bgp.speakers().iter().enumerate() {
        let address = speaker.address.to_string();
        assert!(
            bgp.router_sessions()
                .contains(&(address.clone(), "Established".into()))
        );
        assert!(
            bgp.speaker_established(speaker),
            "{} is not up",
            speaker.name
        );
        let session = session_state(&state, &address);
        assert_eq!(session["established"], true, "{session}");
        assert_eq!(session["state"], "Established", "{session}");
        assert_eq!(session["remote_asn"], SPEAKER_ASN, "{session}");
        assert_eq!(session["prefixes_received"], 1, "{session}");
        assert!(
            bgp.router_routes()
                .contains(&(service_prefix(index + 1), vec![address.clone()])),
            "the router did not learn {}",
            service_prefix(index + 1)
        );
    }
    assert!(
        !state.json().to_string().contains("md5-host"),
        "a password reached the state"
    );
    assert_converged(&workdir, "after the book's configuration");

    // Bad input is refused at plan, naming the attribute, and the router is untouched.
    let before = bgp.bgp_lines();
    let hostile = book_config(&bgp, &[1, 2, 3], None).replace(
        "description = \"metallb ${each.key}\"",
        "description = \"metallb ${each.key}\\\" \\n neighbor 10.9.9.9 remote-as 1\"",
    );
    workdir.write_config(&hostile);
    workdir.expect_errors(Command::Plan, &["Invalid description", "description"]);
    let speaker_address = bgp.hosts[1].address.to_string();
    let bad_address = book_config(&bgp, &[1, 2, 3], None)
        .replace(&format!("\"{speaker_address}\""), "\"10.4.0.256\"");
    workdir.write_config(&bad_address);
    workdir.expect_errors(Command::Plan, &["Invalid address", "10.4.0.256", "address"]);
    assert_eq!(bgp.bgp_lines(), before, "a refused plan changed the router");

    // Removing a neighbor tears its session down.
    let removed = &bgp.hosts[3];
    workdir.write_config(&book_config(&bgp, &[1, 2], None));
    workdir.apply();
    let lines = bgp.bgp_lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains(&removed.address.to_string())),
        "{lines:#?}"
    );
    let took = wait_until(
        Duration::from_secs(20),
        "the removed speaker's session to close",
        || !bgp.speaker_established(removed),
    );
    eprintln!("removed neighbor's session seen down by the speaker after {took:.1?}");
    assert_converged(&workdir, "after removing a neighbor");

    // A wrong password keeps the session down, and the data source says so.
    let wrong = &bgp.hosts[2];
    let wrong_address = wrong.address.to_string();
    workdir.write_config(&book_config(&bgp, &[1, 2], Some(2)));
    workdir.apply();
    let state = workdir.show_state_json();
    let session = session_state(&state, &wrong_address);
    assert_eq!(session["established"], false, "{session}");
    assert_ne!(session["state"], "Established", "{session}");
    std::thread::sleep(Duration::from_secs(10));
    let sessions = bgp.router_sessions();
    let router_view = sessions.iter().find(|(a, _)| *a == wrong_address);
    assert!(
        router_view.is_some_and(|(_, s)| s != "Established"),
        "{sessions:?}"
    );
    assert!(
        !bgp.speaker_established(wrong),
        "the speaker came up with a wrong password"
    );
    assert!(
        bgp.speaker_established(&bgp.hosts[1]),
        "the other speaker went down"
    );
    assert_converged(&workdir, "after setting a wrong password");

    workdir.destroy();
    assert_eq!(bgp.bgp_lines(), Vec::<String>::new());
    wait_until(Duration::from_secs(20), "every session to close", || {
        bgp.speakers().iter().all(|s| !bgp.speaker_established(s))
    });
    the_examples_apply_on_the_lab(&bgp);
}

/// The registry examples, with the book's addresses mapped onto the lab: the router and one
/// neighbor per speaker come up, then the data source example reports no session down.
fn the_examples_apply_on_the_lab(bgp: &BgpLab) {
    const PASSWORD: &str = "example-md5-password";
    for (index, speaker) in bgp.speakers().iter().enumerate() {
        bgp.start_speaker(speaker, Some(PASSWORD), &service_prefix(index + 1));
    }
    let examples = acceptance_tests::cli::workspace_root().join("examples");
    let read = |path: &str| {
        let text = std::fs::read_to_string(examples.join(path)).expect("read an example");
        let mut text = text.replace("\"10.4.0.1\"", &format!("\"{}\"", bgp.router().address));
        for (index, speaker) in bgp.speakers().iter().enumerate() {
            text = text.replace(
                &format!("\"10.4.0.1{}\"", index + 1),
                &format!("\"{}\"", speaker.address),
            );
        }
        assert!(
            !text.contains("10.4.0."),
            "an address of the book is left in {path}:\n{text}"
        );
        text
    };
    let resources = format!(
        "{}\n{}\n{}",
        bgp.provider(),
        read("resources/homelab_bgp_router/resource.tf"),
        read("resources/homelab_bgp_neighbor/resource.tf")
    );
    let with_sessions = format!(
        "{resources}\n{}",
        read("data-sources/homelab_bgp_sessions/data-source.tf")
    );
    let workdir = Workdir::new("bgp_examples").with_env("TF_VAR_metallb_bgp_password", PASSWORD);
    TestCase::new("bgp_examples")
        .step(Step::apply(resources, |_| {
            for speaker in bgp.speakers() {
                assert!(
                    bgp.speaker_established(speaker),
                    "{} is not up",
                    speaker.name
                );
            }
        }))
        .step(Step::apply(with_sessions, |state| {
            assert_eq!(
                state.output("bgp_sessions_down"),
                Some(&serde_json::json!({}))
            );
            let sessions = state.attr("data.homelab_bgp_sessions.home", "sessions");
            assert_eq!(sessions.as_array().map(Vec::len), Some(3), "{sessions}");
        }))
        .check_destroyed(|| assert_eq!(bgp.bgp_lines(), Vec::<String>::new()))
        .run_in(&workdir);
}

/// Terraform 1.11 stores a resource's sensitive paths in an order that changes from run to run,
/// so a resource with two sensitive paths made `plan -refresh-only -detailed-exitcode` exit 2
/// ("No changes", yet changes) at random. A neighbor with its own `ssh` block (whose
/// `private_key` is sensitive) and a write-only `password` must have one sensitive path only:
/// every refresh-only plan finds nothing.
#[test]
fn refresh_only_plans_of_a_neighbor_with_an_ssh_block_and_a_password_find_nothing() {
    let bgp = BgpLab::up(1);
    let router = bgp.router();
    let config = format!(
        "{}\n{}\nresource \"homelab_bgp_neighbor\" \"n\" {{\n  host             = homelab_bgp_router.r.host\n  \
         asn              = homelab_bgp_router.r.asn\n  address          = \"192.0.2.10\"\n  \
         remote_asn       = {SPEAKER_ASN}\n  password         = \"md5-secret\"\n  \
         password_version = \"1\"\n\n  ssh {{\n    host_key = \"{}\"\n  }}\n}}\n",
        bgp.provider(),
        router_resource(&bgp, "r", ROUTER_ASN, "  ebgp_requires_policy = false\n"),
        router.host_key,
    );
    let workdir = Workdir::new("bgp_neighbor_sensitive_paths");
    workdir.write_config(&config);
    // Not sensitive, yet never shown: Terraform keeps write-only values out of plans.
    let plan = workdir.plan();
    assert!(
        plan.contains("password         = (write-only attribute)") && !plan.contains("md5-secret"),
        "{plan}"
    );
    let applied = workdir.apply();
    assert!(!applied.contains("md5-secret"), "{applied}");
    assert!(
        has(&bgp.bgp_lines(), "neighbor 192.0.2.10 password md5-secret"),
        "{:#?}",
        bgp.bgp_lines()
    );
    workdir
        .plan_detailed()
        .assert_no_changes("plan after apply");
    for run in 1..=5 {
        workdir
            .refresh_only_plan()
            .assert_no_changes(&format!("refresh-only plan {run} of 5"));
    }
    assert!(
        !workdir
            .show_state_json()
            .json()
            .to_string()
            .contains("md5-secret"),
        "the password reached the state"
    );
    workdir.destroy();
    assert!(!bgp.bgp_lines().iter().any(|l| l.contains("neighbor")));
}
