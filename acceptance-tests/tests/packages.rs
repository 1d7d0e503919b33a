//! `homelab_packages` on a lab host installing from a local signed apt repository (served on
//! the lab bridge, never the internet): installs, pins, holds, upgrades and removals, hand
//! changes shown and repaired, and bad input refused at plan with nothing installed.

use acceptance_tests::apt_repo::AptLab;
use acceptance_tests::cli::Command;
use acceptance_tests::ssh_host::hcl_string;
use acceptance_tests::steps::{Step, TestCase};

/// The repository's file stem on the host when it is added by hand.
const REPOSITORY: &str = "homelab-test";

fn packages_resource(lab: &AptLab, name: &str, body: &str) -> String {
    format!(
        "resource \"homelab_packages\" \"{name}\" {{\n  host = {}\n  packages = {{\n{body}  }}\n}}\n",
        hcl_string(&lab.address())
    )
}

fn has(installed: &[(String, String)], name: &str, version: &str) -> bool {
    installed.iter().any(|(n, v)| n == name && v == version)
}

#[test]
fn packages_full_step_loop() {
    let lab = AptLab::up();
    // The repository is added by hand: an imported resource records no dependencies, so the
    // packages' own loop must not depend on another resource.
    lab.add_repository_by_hand(REPOSITORY);
    lab.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q hl-old=0.1");
    let address = lab.address();
    let config = |main: &str, extra: &str| {
        format!(
            "{}\n{}\n{}",
            lab.provider(),
            packages_resource(&lab, "p", main),
            packages_resource(&lab, "extra", extra)
        )
    };
    let pinned = |version: &str| {
        format!(
            "    \"hl-hello\" = {{ version = \"{version}\", hold = true }}\n    \"hl-tools\" = {{}}\n"
        )
    };
    let absent_old = "    \"hl-old\" = { state = \"absent\" }\n";
    let first = config(&pinned("1.0"), absent_old);
    let upgraded = config(&pinned("1.1"), absent_old);
    let newest = config(&pinned("1.2"), absent_old);
    let with = |extra_line: &str| config(&format!("{}{extra_line}", pinned("1.1")), absent_old);
    TestCase::new("packages")
        .step(Step::apply(first, |state| {
            let installed = lab.installed();
            assert!(has(&installed, "hl-hello", "1.0"), "{installed:?}");
            assert!(has(&installed, "hl-tools", "2.0"), "{installed:?}");
            assert!(
                !installed.iter().any(|(n, _)| n == "hl-old"),
                "{installed:?}"
            );
            assert_eq!(lab.holds(), ["hl-hello"]);
            let packages = state.attr("homelab_packages.p", "packages");
            assert_eq!(packages["hl-tools"]["installed_version"], "2.0");
            assert_eq!(packages["hl-tools"]["hold"], false);
            assert_eq!(packages["hl-hello"]["state"], "present");
            assert_eq!(
                state.attr_str("homelab_packages.p", "id"),
                format!("{address}:hl-hello,hl-tools")
            );
        }))
        .step(Step::import_verify(
            "homelab_packages.p",
            &format!("{address}:hl-hello=1.0,hl-tools"),
            &[],
        ))
        .step(Step::import_verify(
            "homelab_packages.extra",
            &format!("{address}:hl-old"),
            &[],
        ))
        .step(Step::apply(upgraded.clone(), |_| {
            let installed = lab.installed();
            assert!(
                has(&installed, "hl-hello", "1.1"),
                "a held package upgraded by its pin: {installed:?}"
            );
            assert_eq!(lab.holds(), ["hl-hello"], "and still held");
            // A new version in the repository is no drift: hl-tools is unpinned and hl-hello
            // pinned. The step demands empty plans right after this check.
            lab.repo.republish().expect("republish");
            lab.refresh_lists(REPOSITORY);
            assert!(
                lab.available_versions("hl-hello")
                    .contains(&"1.2".to_owned())
            );
        }))
        .step(Step::drift(
            || {
                lab.sh("apt-mark unhold hl-hello");
            },
            "hold",
        ))
        .step(Step::drift(
            || {
                lab.sh("DEBIAN_FRONTEND=noninteractive apt-get remove -y -q hl-tools");
            },
            "\"absent\" -> \"present\"",
        ))
        .step(Step::drift(
            || {
                lab.sh(
                    "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades \
                     --allow-change-held-packages hl-hello=1.0",
                );
            },
            "\"1.0\" -> \"1.1\"",
        ))
        .step(Step::drift(
            || {
                lab.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q hl-old");
            },
            "\"present\" -> \"absent\"",
        ))
        .step(Step::apply(newest, |_| {
            assert!(has(&lab.installed(), "hl-hello", "1.2"));
        }))
        .step(Step::apply(upgraded.clone(), |_| {
            assert!(
                has(&lab.installed(), "hl-hello", "1.1"),
                "a pin downgrades too"
            );
        }))
        .step(Step::expect_error(
            with("    \"hl-nope\" = {}\n"),
            Command::Plan,
            &["Package not available", "hl-nope"],
        ))
        .step(Step::expect_error(
            config(&pinned("9.9"), absent_old),
            Command::Plan,
            &["Version not available", "hl-hello 9.9", "1.2, 1.1, 1.0"],
        ))
        .step(Step::expect_error(
            with("    \"hl-needs-new\" = {}\n"),
            Command::Plan,
            &[
                "apt refuses the transaction",
                "unmet dependencies",
                "hl-hello (>= 1.2)",
            ],
        ))
        .step(Step::expect_error(
            config(
                "    \"hl-hello\" = { state = \"absent\" }\n    \"hl-tools\" = {}\n",
                absent_old,
            ),
            Command::Plan,
            &["Transaction would remove other packages", "hl-tools"],
        ))
        .step(Step::expect_error(
            with("    \"$(touch /tmp/hl-pwned)\" = {}\n"),
            Command::Plan,
            &["Invalid package name"],
        ))
        .step(Step::expect_error(
            config(&pinned("1.1;touch /tmp/hl-pwned"), absent_old),
            Command::Plan,
            &["Invalid version"],
        ))
        .step(Step::expect_error(
            config(
                &pinned("1.1"),
                "    \"hl-old\" = { state = \"gone\", hold = true }\n",
            ),
            Command::Plan,
            &["Invalid state"],
        ))
        .step(Step::apply(upgraded, |_| {
            // Every refused plan above left the host as it was.
            let installed = lab.installed();
            assert!(has(&installed, "hl-hello", "1.1"), "{installed:?}");
            assert!(has(&installed, "hl-tools", "2.0"), "{installed:?}");
            assert!(
                !installed
                    .iter()
                    .any(|(n, _)| n == "hl-needs-new" || n == "hl-nope"),
                "{installed:?}"
            );
            assert_eq!(lab.sh("ls /tmp/hl-pwned 2>/dev/null || true"), "");
        }))
        .check_destroyed(|| {
            assert_eq!(lab.installed(), Vec::<(String, String)>::new());
            assert_eq!(lab.holds(), Vec::<String>::new());
        })
        .run();
}
