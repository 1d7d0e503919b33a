//! `homelab_nfs_mount` on lab hosts: real systemd, real unit files, `daemon-reload`, `enable`
//! and `start`. Automounts and mounts need a kernel with autofs and the NFS client, so these
//! tests run on QEMU VMs (Debian's kernel, the same on every machine); the VM's own NFS server
//! stands in for the NAS, and a direct mount of an export it does not have fails with mount.nfs's
//! own message, which the rollback test uses. Containers, which never have autofs or an NFS
//! client, prove the refusal at plan time on every machine. Serving a real export to another
//! host is tests/nfs_vm.rs.

#[path = "nfs/lab.rs"]
mod lab;

use acceptance_tests::cli::{Command, Workdir};
use acceptance_tests::ssh_host::{TestHost, hcl_string};
use acceptance_tests::steps::{Step, TestCase, assert_converged};

use lab::{NfsLab, sh};

const UNIT_DIR: &str = "/etc/systemd/system";

fn mount(lab: &NfsLab, name: &str, mount_point: &str, body: &str) -> String {
    format!(
        "resource \"homelab_nfs_mount\" \"{name}\" {{\n  host        = \"{}\"\n  mount_point = {}\n{body}}}\n",
        lab.host(0).address,
        hcl_string(mount_point)
    )
}

fn systemctl(host: &TestHost, verb: &str, unit: &str) -> String {
    // is-enabled and is-active exit non-zero for "disabled" or "inactive"; their word is the answer.
    sh(
        host,
        "systemctl \"$1\" -- \"$2\" 2>/dev/null; true",
        &[verb, unit],
    )
    .trim()
    .to_owned()
}

fn show(host: &TestHost, property: &str, unit: &str) -> String {
    sh(
        host,
        "systemctl show -p \"$1\" --value -- \"$2\"",
        &[property, unit],
    )
    .trim_end_matches('\n')
    .to_owned()
}

fn unit_file(host: &TestHost, unit: &str) -> Option<String> {
    host.read_file(&format!("{UNIT_DIR}/{unit}"))
        .map(|bytes| String::from_utf8(bytes).expect("a UTF-8 unit file"))
}

/// Whether an autofs filesystem is mounted at `path` on the host.
fn autofs_at(host: &TestHost, path: &str) -> bool {
    sh(
        host,
        "findmnt -n -o FSTYPE --mountpoint \"$1\" || true",
        &[path],
    )
    .trim()
        == "autofs"
}

#[test]
fn nfs_mount_full_step_loop_with_automount() {
    let lab = NfsLab::up_vms(1);
    let host = lab.host(0);
    let server = host.address.clone();
    let config = |body: &str| format!("{}\n{}", lab.provider(), mount(&lab, "m", "/mnt/nfs", body));
    let first = config(&format!(
        "  server      = \"{server}\"\n  export      = \"/mnt/usb1\"\n  options     = [\"rw\", \"hard\"]\n  automount   = true\n",
    ));
    let second = config(
        "  server      = \"nas.home.arpa\"\n  export      = \"/srv/media\"\n  options     = [\"ro\", \"soft\", \"vers=4.2\"]\n  fs_type     = \"nfs4\"\n  automount   = true\n",
    );
    TestCase::new("nfs_mount")
        .step(Step::apply(first, |state| {
            let text = unit_file(host, "mnt-nfs.mount").expect("the mount unit");
            assert!(
                text.contains(&format!(
                    "\n[Mount]\nWhat={server}:/mnt/usb1\nWhere=/mnt/nfs\nType=nfs\nOptions=rw,hard\n"
                )),
                "{text}"
            );
            let automount = unit_file(host, "mnt-nfs.automount").expect("the automount unit");
            assert!(automount.contains("[Automount]\nWhere=/mnt/nfs\n"), "{automount}");
            assert_eq!(systemctl(host, "is-enabled", "mnt-nfs.automount"), "enabled");
            assert_eq!(systemctl(host, "is-active", "mnt-nfs.automount"), "active");
            assert_eq!(show(host, "What", "mnt-nfs.mount"), format!("{server}:/mnt/usb1"));
            assert!(autofs_at(host, "/mnt/nfs"));
            let address = "homelab_nfs_mount.m";
            assert_eq!(state.attr_str(address, "unit_name"), "mnt-nfs.mount");
            assert_eq!(state.attr_str(address, "id"), format!("{}:/mnt/nfs", host.address));
        }))
        .step(Step::import_verify(
            "homelab_nfs_mount.m",
            &format!("{}:/mnt/nfs", host.address),
            &[],
        ))
        .step(Step::apply(second, |_| {
            assert_eq!(show(host, "What", "mnt-nfs.mount"), "nas.home.arpa:/srv/media");
            assert_eq!(show(host, "Options", "mnt-nfs.mount"), "ro,soft,vers=4.2");
            assert_eq!(show(host, "Type", "mnt-nfs.mount"), "nfs4");
            assert_eq!(systemctl(host, "is-active", "mnt-nfs.automount"), "active");
        }))
        .step(Step::drift(
            || {
                sh(
                    host,
                    "sed -i 's/^Options=ro,/Options=rw,/' \"$1\" && systemctl daemon-reload",
                    &[&format!("{UNIT_DIR}/mnt-nfs.mount")],
                );
            },
            "options",
        ))
        .step(Step::drift(
            || {
                sh(host, "systemctl stop mnt-nfs.automount", &[]);
            },
            "active",
        ))
        .step(Step::drift(
            || {
                sh(host, "systemctl disable mnt-nfs.automount", &[]);
            },
            "enabled",
        ))
        .step(Step::drift(
            || {
                sh(
                    host,
                    "systemctl disable --now mnt-nfs.automount && rm \"$1\"/mnt-nfs.* && systemctl daemon-reload",
                    &[UNIT_DIR],
                );
            },
            "will be created",
        ))
        .step(Step::expect_error(
            config("  server = \"10.4.0.10\"\n  export = \"/mnt/usb1\"\n  fs_type = \"cifs\"\n"),
            Command::Plan,
            &["Invalid fs_type", "use nfs or nfs4"],
        ))
        .step(Step::expect_error(
            config("  server = \"$(reboot)\"\n  export = \"/mnt/usb1\"\n  options = [\"rw\\n[Service]\"]\n"),
            Command::Plan,
            &["Invalid server", "Invalid mount option"],
        ))
        .step(Step::expect_error(
            format!(
                "{}\n{}",
                lab.provider(),
                mount(&lab, "m", "/mnt/../etc", "  server = \"10.4.0.10\"\n  export = \"/mnt/usb1\"\n")
            ),
            Command::Plan,
            &["Invalid mount_point", "normalized"],
        ))
        .check_destroyed(|| {
            assert_eq!(unit_file(host, "mnt-nfs.mount"), None);
            assert_eq!(unit_file(host, "mnt-nfs.automount"), None);
            assert_ne!(systemctl(host, "is-enabled", "mnt-nfs.automount"), "enabled");
            assert!(!autofs_at(host, "/mnt/nfs"));
        })
        .run();
}

/// The VM's NFS server exports nothing, so mounting its `/mnt/usb1` fails at once with
/// mount.nfs's own message (`retry=0`: no retries in the foreground): switching a working
/// automount to a direct mount fails and puts the automount back, running; a new direct mount
/// that fails leaves no unit behind.
#[test]
fn nfs_mount_that_cannot_start_is_rolled_back() {
    let lab = NfsLab::up_vms(1);
    let host = lab.host(0);
    let workdir = Workdir::new("nfs_mount_rollback");
    let body = |automount: bool| {
        format!(
            "  server    = \"{}\"\n  export    = \"/mnt/usb1\"\n  options   = [\"retry=0\"]\n  automount = {automount}\n",
            host.address
        )
    };
    let good = format!(
        "{}\n{}",
        lab.provider(),
        mount(&lab, "m", "/mnt/nfs", &body(true))
    );
    workdir.write_config(&good);
    workdir.apply();
    let before = (
        unit_file(host, "mnt-nfs.mount"),
        unit_file(host, "mnt-nfs.automount"),
    );
    assert!(before.1.is_some());

    workdir.write_config(&format!(
        "{}\n{}",
        lab.provider(),
        mount(&lab, "m", "/mnt/nfs", &body(false))
    ));
    workdir.expect_errors(
        Command::Apply,
        &[
            "systemd could not start mnt-nfs.mount",
            "mount.nfs:",
            "nothing was changed",
        ],
    );
    assert_eq!(
        (
            unit_file(host, "mnt-nfs.mount"),
            unit_file(host, "mnt-nfs.automount")
        ),
        before
    );
    assert_eq!(
        systemctl(host, "is-enabled", "mnt-nfs.automount"),
        "enabled"
    );
    assert_eq!(systemctl(host, "is-active", "mnt-nfs.automount"), "active");
    assert_ne!(systemctl(host, "is-enabled", "mnt-nfs.mount"), "enabled");
    workdir.write_config(&good);
    assert_converged(&workdir, "after the failed switch to a direct mount");

    let with_direct = format!(
        "{good}\n{}",
        mount(&lab, "direct", "/mnt/direct", &body(false))
    );
    workdir.write_config(&with_direct);
    workdir.expect_errors(
        Command::Apply,
        &["systemd could not start mnt-direct.mount", "mount.nfs:"],
    );
    assert_eq!(unit_file(host, "mnt-direct.mount"), None);
    assert_eq!(systemctl(host, "is-failed", "mnt-direct.mount"), "inactive");
    assert!(!host.exists("/etc/systemd/system/remote-fs.target.wants/mnt-direct.mount"));
    workdir.write_config(&good);
    workdir.destroy();
    assert_eq!(unit_file(host, "mnt-nfs.mount"), None);
    assert_eq!(unit_file(host, "mnt-nfs.automount"), None);
}

/// A mount point holding `%`, shell syntax, quotes and spaces names its units as
/// `systemd-escape --path` does on the host, reaches systemd exactly, runs nothing, and
/// imports by the same text.
#[test]
fn nfs_mount_round_trips_a_hostile_mount_point() {
    let lab = NfsLab::up_vms(1);
    let host = lab.host(0);
    let path = "/mnt/a b%c $(touch /tmp/pwned)'q\"d;e";
    let escaped = sh(host, "systemd-escape --path -- \"$1\"", &[path])
        .trim()
        .to_owned();
    let config = format!(
        "{}\n{}",
        lab.provider(),
        mount(
            &lab,
            "m",
            path,
            &format!(
                "  server    = \"{}\"\n  export    = \"/srv/50%\"\n  automount = true\n",
                host.address
            )
        )
    );
    let automount = format!("{escaped}.automount");
    TestCase::new("nfs_mount_hostile")
        .step(Step::apply(config, |state| {
            assert_eq!(
                state.attr_str("homelab_nfs_mount.m", "unit_name"),
                format!("{escaped}.mount")
            );
            assert_eq!(show(host, "Where", &automount), path);
            assert_eq!(
                show(host, "What", &format!("{escaped}.mount")),
                format!("{}:/srv/50%", host.address)
            );
            assert_eq!(systemctl(host, "is-active", &automount), "active");
            assert!(!host.exists("/tmp/pwned"), "a mount point ran a command");
        }))
        .step(Step::import_verify(
            "homelab_nfs_mount.m",
            &format!("{}:{path}", host.address),
            &[],
        ))
        .check_destroyed(|| {
            assert_eq!(unit_file(host, &automount), None);
            assert!(!autofs_at(host, path));
            assert!(!host.exists("/tmp/pwned"));
        })
        .run();
}

/// Every container is a host whose kernel offers no autofs and no NFS client, on every machine
/// (the lab withholds both), so this runs everywhere: the plan fails on `automount` and on
/// `fs_type`, naming the host and what it lacks, and nothing reaches the host. With the host
/// known only after apply, plan cannot ask it; apply asks first and refuses in the same words,
/// again before anything is written.
#[test]
fn nfs_mount_on_a_host_without_autofs_or_nfs_is_refused_at_plan() {
    let lab = NfsLab::up(1);
    let host = lab.host(0);
    let workdir = Workdir::new("nfs_mount_capabilities");
    let body = format!(
        "  server    = \"{}\"\n  export    = \"/mnt/usb1\"\n  automount = true\n",
        host.address
    );
    let expected = [
        "Host cannot run automount units",
        "has no /dev/autofs",
        "Host has no NFS client support",
        "fs-nfs",
        host.address.as_str(),
    ];
    workdir.write_config(&format!(
        "{}\n{}",
        lab.provider(),
        mount(&lab, "m", "/mnt/nfs", &body)
    ));
    let plan = workdir.expect_errors(Command::Plan, &expected);
    assert!(
        plan.contains("automount = true"),
        "the diagnostic points at automount: {plan}"
    );
    assert_eq!(unit_file(host, "mnt-nfs.mount"), None);

    // The host comes from a value known only after apply.
    workdir.write_config(&format!(
        "{}\nresource \"terraform_data\" \"host\" {{\n  input = \"{}\"\n}}\n\
         resource \"homelab_nfs_mount\" \"m\" {{\n  host        = terraform_data.host.output\n  \
         mount_point = \"/mnt/nfs\"\n{body}}}\n",
        lab.provider(),
        host.address
    ));
    workdir.expect_errors(Command::Apply, &expected);
    assert_eq!(unit_file(host, "mnt-nfs.mount"), None);
    assert_eq!(unit_file(host, "mnt-nfs.automount"), None);
    assert_ne!(
        systemctl(host, "is-enabled", "mnt-nfs.automount"),
        "enabled"
    );
}
