//! `homelab_apt_repository` on a lab host against a local signed apt repository served on the
//! lab bridge (never the internet): the files apt reads, its lists refreshed, hand edits shown
//! and repaired, changes apt refuses rolled back with apt's own message, and a repository and
//! its packages in one apply.

use acceptance_tests::apt_repo::{AptLab, COMPONENT, SUITE};
use acceptance_tests::cli::{Command, Workdir};
use acceptance_tests::ssh_host::hcl_string;
use acceptance_tests::steps::{Step, TestCase, assert_converged};

const NAME: &str = "homelab-test";
const SOURCES: &str = "/etc/apt/sources.list.d/homelab-test.sources";
const KEY: &str = "/etc/apt/keyrings/homelab-test.asc";

/// A repository resource `r` named `name` with `uris`, `suites` and the key as given; `extra`
/// lines go inside the block.
fn repository(lab: &AptLab, name: &str, uri: &str, suite: &str, key: &str, extra: &str) -> String {
    format!(
        "resource \"homelab_apt_repository\" \"r\" {{\n  host        = {}\n  name        = {}\n  \
         uris        = [{}]\n  suites      = [{}]\n  components  = [\"{COMPONENT}\"]\n  \
         signing_key = {}\n{extra}}}\n",
        hcl_string(&lab.address()),
        hcl_string(name),
        hcl_string(uri),
        hcl_string(suite),
        hcl_string(key),
    )
}

#[test]
fn apt_repository_full_step_loop() {
    let lab = AptLab::up();
    let address = lab.address();
    let url = lab.repo.url();
    let key = lab.repo.public_key().to_owned();
    let config = |name: &str, suite: &str, key: &str, extra: &str| {
        format!(
            "{}\n{}",
            lab.provider(),
            repository(&lab, name, &url, suite, key, extra)
        )
    };
    let architecture = lab.repo.architecture().to_owned();
    let first = config(NAME, SUITE, &key, "");
    let second = config(
        NAME,
        SUITE,
        &key,
        &format!("  architectures = [\"{architecture}\"]\n"),
    );
    let expected_sources = lab.repo.sources_text(KEY);
    TestCase::new("apt_repository")
        .step(Step::apply(first.clone(), |state| {
            assert_eq!(
                lab.file(SOURCES).as_deref(),
                Some(expected_sources.as_str())
            );
            assert_eq!(lab.file(KEY).as_deref(), Some(key.as_str()));
            assert_eq!(lab.sh(&format!("stat -c %a {SOURCES} {KEY}")), "644\n644\n");
            assert_eq!(
                lab.available_versions("hl-hello"),
                ["1.1", "1.0"],
                "the lists were refreshed"
            );
            assert_eq!(
                state.attr_str("homelab_apt_repository.r", "id"),
                format!("{address}:{NAME}")
            );
        }))
        .step(Step::import_verify(
            "homelab_apt_repository.r",
            &format!("{address}:{NAME}"),
            &[],
        ))
        .step(Step::apply(second, |_| {
            let sources = lab.file(SOURCES).unwrap_or_default();
            assert!(
                sources.contains(&format!("\nArchitectures: {architecture}\n")),
                "{sources}"
            );
            // The repository publishes a new version; the next change of the file refreshes
            // the lists (here: the repair of the hand edit below).
            lab.repo.republish().expect("republish");
        }))
        .step(Step::drift(
            || lab.write_file(SOURCES, &format!("{expected_sources}Trusted: yes\n")),
            "sources_sha256",
        ))
        .step(Step::apply(first.clone(), |_| {
            assert_eq!(
                lab.available_versions("hl-hello"),
                ["1.2", "1.1", "1.0"],
                "the repair refreshed the lists"
            );
        }))
        .step(Step::drift(
            || {
                lab.sh(&format!(
                    "sed -i 's/^Suites: .*/Suites: testing/' {SOURCES}"
                ));
            },
            "\"testing\"",
        ))
        .step(Step::drift(
            || {
                lab.sh(&format!("rm {KEY}"));
            },
            "signing_key",
        ))
        .step(Step::drift(
            || {
                lab.sh(&format!("rm {SOURCES}"));
            },
            "will be created",
        ))
        .step(Step::expect_error(
            config("../etc/passwd", SUITE, &key, ""),
            Command::Plan,
            &["Invalid name"],
        ))
        .step(Step::expect_error(
            config(NAME, "stable\nTrusted: yes", &key, ""),
            Command::Plan,
            &["Invalid suites"],
        ))
        .step(Step::expect_error(
            config(NAME, SUITE, "5D89A43E3736F4CE", ""),
            Command::Plan,
            &["Invalid signing_key", "BEGIN PGP PUBLIC KEY BLOCK"],
        ))
        .step(Step::expect_error(
            config(NAME, SUITE, &key, "  architectures = []\n"),
            Command::Plan,
            &["Empty architectures"],
        ))
        .check_destroyed(|| {
            assert_eq!(lab.file(SOURCES), None);
            assert_eq!(lab.file(KEY), None);
            assert_eq!(
                lab.available_versions("hl-hello"),
                Vec::<String>::new(),
                "the repository's lists went with it"
            );
        })
        .run();
}

/// Changes apt refuses (a key that does not sign the repository, a URI nothing answers, a
/// suite it does not publish, a hostile suite) fail the apply with apt's own message and leave
/// the previous files byte for byte, or no files when there were none.
#[test]
fn apt_repository_changes_apt_refuses_are_rolled_back() {
    let lab = AptLab::up();
    let url = lab.repo.url();
    let key = lab.repo.public_key().to_owned();
    let workdir = Workdir::new("apt_repository_refused");
    let config = |uri: &str, suite: &str, key: &str| {
        format!(
            "{}\n{}",
            lab.provider(),
            repository(&lab, NAME, uri, suite, key, "")
        )
    };
    // Created with a suite apt cannot find: nothing stays behind.
    workdir.write_config(&config(&url, "nosuch", &key));
    workdir.expect_errors(
        Command::Apply,
        &[
            "apt cannot use the repository",
            "does not have a Release file",
            "previous files were put back",
        ],
    );
    assert_eq!((lab.file(SOURCES), lab.file(KEY)), (None, None));
    assert!(workdir.show_state_json().managed_addresses().is_empty());

    workdir.write_config(&config(&url, SUITE, &key));
    workdir.apply();
    let before = (lab.file(SOURCES), lab.file(KEY));
    let refused = [
        (config(&url, SUITE, lab.repo.stranger_key()), "NO_PUBKEY"),
        (
            config(&format!("http://{}:9/", lab.lab.gateway()), SUITE, &key),
            "Could not connect",
        ),
        (
            config(&url, "$(touch${IFS}/tmp/hl-pwned)", &key),
            "does not have a Release file",
        ),
    ];
    for (bad, message) in refused {
        let state = workdir.show_state_json();
        workdir.write_config(&bad);
        workdir.expect_errors(
            Command::Apply,
            &["apt cannot use the repository", message, "nothing changed"],
        );
        assert_eq!((lab.file(SOURCES), lab.file(KEY)), before, "{message}");
        assert!(
            workdir.show_state_json() == state,
            "{message}: state changed"
        );
    }
    assert_eq!(lab.sh("ls /tmp/hl-pwned 2>/dev/null || true"), "");
    assert_eq!(lab.available_versions("hl-hello"), ["1.1", "1.0"]);
    workdir.write_config(&config(&url, SUITE, &key));
    assert_converged(&workdir, "after the refused changes");
    workdir.destroy();
    assert_eq!((lab.file(SOURCES), lab.file(KEY)), (None, None));
}

/// The kubeadm pattern on a fresh host: the repository and pinned, held packages from it in one
/// apply. The packages' availability check waits for the repository through `repositories`.
#[test]
fn a_repository_and_its_packages_in_one_apply() {
    let lab = AptLab::up();
    let url = lab.repo.url();
    let key = lab.repo.public_key().to_owned();
    let config = format!(
        "{}\n{}\nresource \"homelab_packages\" \"p\" {{\n  host         = {}\n  \
         repositories = [homelab_apt_repository.r.index_sha256]\n  packages = {{\n    \
         \"hl-hello\" = {{ version = \"1.0\", hold = true }}\n    \"hl-tools\" = {{ hold = true }}\n  }}\n}}\n",
        lab.provider(),
        repository(&lab, NAME, &url, SUITE, &key, ""),
        hcl_string(&lab.address()),
    );
    let workdir = Workdir::new("apt_repository_packages");
    workdir.write_config(&config);
    workdir.apply();
    let installed = lab.installed();
    assert_eq!(
        installed,
        [
            ("hl-hello".to_owned(), "1.0".to_owned()),
            ("hl-tools".to_owned(), "2.0".to_owned())
        ]
    );
    assert_eq!(lab.holds(), ["hl-hello", "hl-tools"]);
    assert_converged(&workdir, "after the first apply");
    workdir.destroy();
    assert_eq!(lab.installed(), Vec::<(String, String)>::new());
    assert_eq!(lab.file(SOURCES), None);
}
