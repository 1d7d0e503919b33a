//! `homelab_nfs_export` on nspawn lab hosts with nfs-kernel-server: exportfs validates and keeps
//! its live table there without the kernel's NFS server, so the files, `exportfs -ra`, its
//! messages and the live table (`exportfs -v`, `/var/lib/nfs/etab`) are all real. Serving to a
//! client needs the QEMU tier.

#[path = "nfs/lab.rs"]
mod lab;

use acceptance_tests::cli::{Command, Workdir};
use acceptance_tests::ssh_host::{TestHost, hcl_string};
use acceptance_tests::steps::{Step, TestCase, assert_converged};

use lab::{NfsLab, sh};

/// The drop-in file of `/srv/share`.
const SHARE_FILE: &str = "/etc/exports.d/srv-share.exports";

fn export(lab: &NfsLab, path: &str, body: &str) -> String {
    format!(
        "{}\nresource \"homelab_nfs_export\" \"e\" {{\n  host = \"{}\"\n  path = {}\n{body}}}\n",
        lab.provider(),
        lab.host(0).address,
        hcl_string(path)
    )
}

/// A `clients = [...]` attribute from (client, options) pairs.
fn clients(entries: &[(&str, &[&str])]) -> String {
    let mut text = "  clients = [\n".to_owned();
    for (client, options) in entries {
        let options: Vec<String> = options.iter().map(|o| hcl_string(o)).collect();
        text.push_str(&format!(
            "    {{\n      client  = {}\n      options = [{}]\n    }},\n",
            hcl_string(client),
            options.join(", ")
        ));
    }
    text.push_str("  ]\n");
    text
}

/// `exportfs -s` entries for `path`, as `CLIENT(OPTIONS)`.
fn live(host: &TestHost, path: &str) -> Vec<String> {
    sh(host, "exportfs -s", &[])
        .lines()
        .filter_map(|line| line.split_once(char::is_whitespace))
        .filter(|(exported, _)| decode_octal(exported) == path)
        .map(|(_, client)| client.trim().to_owned())
        .collect()
}

/// exportfs prints spaces and other special bytes of a path as `\ooo`.
fn decode_octal(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let digits = tail.get(..3).and_then(|d| std::str::from_utf8(d).ok());
        match digits.and_then(|d| u8::from_str_radix(d, 8).ok()) {
            Some(byte) if first == b'\\' => {
                bytes.push(byte);
                rest = &tail[3..];
            }
            _ => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).expect("a UTF-8 path")
}

fn has_client(lines: &[String], client: &str, options: &[&str]) -> bool {
    lines.iter().any(|line| {
        line.strip_prefix(client)
            .and_then(|rest| rest.strip_prefix('('))
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(|live| {
                let live: Vec<&str> = live.split(',').collect();
                options.iter().all(|o| live.contains(o))
            })
    })
}

fn file(host: &TestHost, path: &str) -> Option<String> {
    host.read_file(path)
        .map(|bytes| String::from_utf8(bytes).expect("a UTF-8 exports file"))
}

#[test]
fn nfs_export_full_step_loop() {
    let lab = NfsLab::up(1);
    let host = lab.host(0);
    sh(host, "mkdir -p /srv/share", &[]);
    let address = host.address.clone();
    let book = ["rw", "sync", "no_root_squash", "no_subtree_check"];
    let first = export(
        &lab,
        "/srv/share",
        &clients(&[("*", &book), ("10.4.0.0/24", &["ro", "no_subtree_check"])]),
    );
    // Same meaning for `*` in another spelling (auth_nlm is secure_locks, the default), the
    // network dropped, a netgroup added.
    let second = export(
        &lab,
        "/srv/share",
        &clients(&[
            ("*", &["ro", "auth_nlm", "no_subtree_check", "anonuid=1000"]),
            ("@trusted", &["rw", "no_subtree_check"]),
        ]),
    );
    let bad_option = export(
        &lab,
        "/srv/share",
        &clients(&[("*", &["rw", "no_subtree_check", "bogus"])]),
    );
    let contradiction = export(
        &lab,
        "/srv/share",
        &clients(&[("*", &["rw", "ro", "no_subtree_check"])]),
    );
    let bad_network = export(
        &lab,
        "/srv/share",
        &clients(&[("10.1.0.0/33", &["rw", "no_subtree_check"])]),
    );
    TestCase::new("nfs_export")
        .step(Step::apply(first, |state| {
            let text = file(host, SHARE_FILE).expect("the drop-in file");
            assert!(
                text.contains("\n/srv/share *(rw,sync,no_root_squash,no_subtree_check) 10.4.0.0/24(ro,no_subtree_check)\n"),
                "{text}"
            );
            let lines = live(host, "/srv/share");
            assert!(has_client(&lines, "*", &["rw", "sync", "no_root_squash"]), "{lines:?}");
            assert!(has_client(&lines, "10.4.0.0/24", &["ro", "root_squash"]), "{lines:?}");
            let address = "homelab_nfs_export.e";
            assert_eq!(state.attr_str(address, "id"), format!("{}:/srv/share", host.address));
            assert_eq!(state.attr_str(address, "file"), SHARE_FILE);
            assert_eq!(state.attr(address, "active"), &serde_json::Value::Bool(true));
        }))
        .step(Step::import_verify(
            "homelab_nfs_export.e",
            &format!("{address}:/srv/share"),
            &[],
        ))
        .step(Step::apply(second, |state| {
            let lines = live(host, "/srv/share");
            assert!(has_client(&lines, "*", &["ro", "anonuid=1000"]), "{lines:?}");
            assert!(has_client(&lines, "@trusted", &["rw"]), "{lines:?}");
            assert!(!lines.iter().any(|l| l.starts_with("10.4.0.0/24")), "{lines:?}");
            // The user's spelling is kept in state.
            let clients = state.attr("homelab_nfs_export.e", "clients");
            assert_eq!(clients[0]["options"][1], "auth_nlm", "{clients}");
        }))
        .step(Step::drift(
            || {
                sh(host, "sed -i 's/\\*(ro,/*(rw,/' \"$1\"", &[SHARE_FILE]);
            },
            "clients",
        ))
        .step(Step::drift(
            || {
                sh(host, "exportfs -u '*:/srv/share'", &[]);
                assert!(!has_client(&live(host, "/srv/share"), "*", &[]));
            },
            "active",
        ))
        .step(Step::drift(
            || {
                sh(host, "rm -f \"$1\" && exportfs -ra", &[SHARE_FILE]);
            },
            "will be created",
        ))
        .step(Step::expect_error(
            bad_option,
            Command::Plan,
            &["Invalid export option", "unknown keyword"],
        ))
        .step(Step::expect_error(
            contradiction,
            Command::Plan,
            &["\"rw\" and \"ro\" contradict each other"],
        ))
        .step(Step::expect_error(
            bad_network,
            Command::Plan,
            &["Invalid client", "Invalid prefix"],
        ))
        .check_destroyed(|| {
            assert_eq!(file(host, SHARE_FILE), None);
            assert_eq!(live(host, "/srv/share"), Vec::<String>::new());
            assert!(host.exists("/srv/share"), "delete unexports; it never removes the data");
        })
        .run();
}

/// exportfs drops a client whose name does not resolve (exit 0, "Failed to resolve"), and
/// refuses a directory that does not exist: the apply fails with exportfs's words, and the
/// previous file is back and exported; plan-time errors never reach the host.
#[test]
fn nfs_export_refused_by_exportfs_leaves_the_previous_export_active() {
    let lab = NfsLab::up(1);
    let host = lab.host(0);
    sh(host, "mkdir -p /srv/share", &[]);
    let workdir = Workdir::new("nfs_export_refused");
    let good = export(
        &lab,
        "/srv/share",
        &clients(&[("10.4.0.0/24", &["rw", "no_subtree_check"])]),
    );
    workdir.write_config(&good);
    workdir.apply();
    let before = file(host, SHARE_FILE).expect("the drop-in file");
    let live_before = live(host, "/srv/share");
    assert!(
        has_client(&live_before, "10.4.0.0/24", &["rw"]),
        "{live_before:?}"
    );
    let unchanged = |what: &str| {
        assert_eq!(
            file(host, SHARE_FILE).as_deref(),
            Some(before.as_str()),
            "{what}"
        );
        assert_eq!(live(host, "/srv/share"), live_before, "{what}");
    };

    workdir.write_config(&export(
        &lab,
        "/srv/share",
        &clients(&[
            ("10.4.0.0/24", &["ro", "no_subtree_check"]),
            ("nosuchhost.invalid", &["rw", "no_subtree_check"]),
        ]),
    ));
    workdir.expect_errors(
        Command::Apply,
        &[
            "exportfs refused the export",
            "exportfs: Failed to resolve nosuchhost.invalid",
            "nothing was changed",
        ],
    );
    unchanged("after exportfs dropped an unresolvable client");

    workdir.write_config(&export(
        &lab,
        "/srv/share",
        &clients(&[("*", &["rw", "sync", "no_subtree_check", "fsid=abc"])]),
    ));
    workdir.expect_errors(Command::Plan, &["Invalid export option", "bad fsid"]);
    unchanged("after a plan-time error");

    workdir.write_config(&good);
    assert_converged(&workdir, "after the failed changes");

    // A second export of a directory that does not exist: nothing of it is left behind.
    let missing = format!(
        "{good}\nresource \"homelab_nfs_export\" \"missing\" {{\n  host = \"{}\"\n  path = \"/srv/missing\"\n{}}}\n",
        host.address,
        clients(&[("*", &["ro", "no_subtree_check"])])
    );
    workdir.write_config(&missing);
    workdir.expect_errors(
        Command::Apply,
        &["exportfs: Failed to stat /srv/missing: No such file or directory"],
    );
    assert_eq!(file(host, "/etc/exports.d/srv-missing.exports"), None);
    unchanged("after a failed export beside it");
    workdir.write_config(&good);
    workdir.destroy();
    assert_eq!(file(host, SHARE_FILE), None);
    assert_eq!(live(host, "/srv/share"), Vec::<String>::new());
}

/// A directory name holding shell syntax, quotes and spaces is created with the asked mode,
/// exported under exactly that name, and runs nothing; removing it by hand shows as the export
/// being created again.
#[test]
fn nfs_export_creates_and_round_trips_a_hostile_path() {
    let lab = NfsLab::up(1);
    let host = lab.host(0);
    let path = "/srv/h $(touch /tmp/pwned) 'q' \"d\";e#f(g)";
    let config = export(
        &lab,
        path,
        &format!(
            "{}  create_path {{\n    mode = \"0750\"\n  }}\n",
            clients(&[("*", &["ro", "no_subtree_check"])])
        ),
    );
    TestCase::new("nfs_export_hostile_path")
        .step(Step::apply(config, |state| {
            assert_eq!(host.stat(path), "750 root root");
            let lines = live(host, path);
            assert!(has_client(&lines, "*", &["ro"]), "{lines:?}");
            assert!(!host.exists("/tmp/pwned"), "a path ran a command");
            let file_name = state.attr_str("homelab_nfs_export.e", "file").to_owned();
            assert!(
                file_name.starts_with("/etc/exports.d/srv-h\\x20\\x24\\x28touch"),
                "{file_name}"
            );
            assert!(host.exists(&file_name));
        }))
        .step(Step::drift(|| host.remove(path), "will be created"))
        .check_destroyed(|| {
            assert_eq!(live(host, path), Vec::<String>::new());
            let left = sh(host, "ls /etc/exports.d", &[]);
            assert_eq!(left.trim(), "", "{left}");
            assert!(!host.exists("/tmp/pwned"));
        })
        .run();
}
