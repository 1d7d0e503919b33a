//! `password_env`, the neighbor password for clients without write-only attributes (Terraform
//! before v1.11, OpenTofu before v1.11, Spacelift's Terraform 1.5.7): read from the named
//! environment variable of the CLI process, it reaches FRR like `password`, never reaches plan
//! output or state, a new value is sent when `password_version` changes, and a missing variable
//! is refused at plan naming `password_env`.

use super::has;
use super::lab::{BgpLab, ROUTER_ASN, SPEAKER_ASN};
use super::router_resource;
use acceptance_tests::cli::{Command, Workdir};

const ADDRESS: &str = "192.0.2.11";
const VARIABLE: &str = "HOMELAB_ACC_BGP_MD5";

fn neighbor_config(bgp: &BgpLab, version: &str) -> String {
    format!(
        "{}\n{}\nresource \"homelab_bgp_neighbor\" \"n\" {{\n  host             = homelab_bgp_router.r.host\n  \
         asn              = homelab_bgp_router.r.asn\n  address          = \"{ADDRESS}\"\n  \
         remote_asn       = {SPEAKER_ASN}\n  password_env     = \"{VARIABLE}\"\n  \
         password_version = \"{version}\"\n}}\n",
        bgp.provider(),
        router_resource(bgp, "r", ROUTER_ASN, "  ebgp_requires_policy = false\n"),
    )
}

fn assert_settled(workdir: &Workdir, context: &str) {
    workdir
        .plan_detailed()
        .assert_no_changes(&format!("plan {context}"));
    for run in 1..=3 {
        workdir
            .refresh_only_plan()
            .assert_no_changes(&format!("refresh-only plan {run} of 3 {context}"));
    }
}

#[test]
fn a_password_from_the_environment_reaches_frr_and_never_the_state() {
    let bgp = BgpLab::up(1);
    let line = |password: &str| format!("neighbor {ADDRESS} password {password}");

    // Without the variable, plan refuses and names the attribute; nothing is changed.
    let unset = Workdir::new("bgp_neighbor_password_env_unset");
    unset.write_config(&neighbor_config(&bgp, "1"));
    unset.expect_errors(Command::Plan, &["Password variable not set", VARIABLE]);

    let workdir = Workdir::new("bgp_neighbor_password_env").with_env(VARIABLE, "md5-env-1");
    workdir.write_config(&neighbor_config(&bgp, "1"));
    let plan = workdir.plan();
    assert!(!plan.contains("md5-env-1"), "{plan}");
    let applied = workdir.apply();
    assert!(!applied.contains("md5-env-1"), "{applied}");
    assert!(
        has(&bgp.bgp_lines(), &line("md5-env-1")),
        "{:#?}",
        bgp.bgp_lines()
    );
    let state = workdir.show_state_json();
    assert!(
        !state.json().to_string().contains("md5-env-1"),
        "the password reached the state"
    );
    assert_eq!(
        state.attr_str("homelab_bgp_neighbor.n", "password_env"),
        VARIABLE
    );
    assert_settled(&workdir, "after create");

    // A new value with a new version reaches the router.
    let workdir = workdir.with_env(VARIABLE, "md5-env-2");
    workdir.write_config(&neighbor_config(&bgp, "2"));
    workdir.apply();
    assert!(
        has(&bgp.bgp_lines(), &line("md5-env-2")),
        "{:#?}",
        bgp.bgp_lines()
    );
    assert!(
        !workdir
            .show_state_json()
            .json()
            .to_string()
            .contains("md5-env-2")
    );
    assert_settled(&workdir, "after the password changed");

    workdir.destroy();
    assert!(!bgp.bgp_lines().iter().any(|l| l.contains("neighbor")));
}
