//! NFS for real, on two QEMU VMs of the lab (the containers' kernel has no NFS server or client):
//! `homelab_nfs_export` on one VM serves a directory it creates, `homelab_nfs_mount` on the other
//! mounts it now and through an automount on first access; files cross in both directions; bad
//! options, refused at plan time or by exportfs at apply time, leave the previous export served
//! and the mounts working; destroy leaves neither units nor export.

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, require_tf_acc};
use acceptance_tests::lab::{Backend, Lab, LabSpec};
use acceptance_tests::ssh_host::{TestHost, hcl_string, sh};
use acceptance_tests::steps::{Step, TestCase};

/// The packages of the VM lab test too, so both tests share one cached VM image.
const PACKAGES: &[&str] = &["nfs-kernel-server"];

const EXPORT: &str = "/srv/share";
const MOUNTED: &str = "/mnt/share";
const AUTOMOUNTED: &str = "/mnt/auto";
const UNIT_DIR: &str = "/etc/systemd/system";

/// The provider block reaching both VMs with the lab's key and known_hosts file.
fn provider(lab: &Lab) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\nprovider \"homelab\" {{\n  ssh {{\n    user             = \"root\"\n    \
         private_key_path = {}\n    known_hosts_path = {}\n  }}\n}}\n",
        hcl_string(&lab.private_key_path().display().to_string()),
        hcl_string(&lab.known_hosts_path().display().to_string()),
    )
}

/// The whole configuration: the export on `server` for `clients` (HCL list items), and two
/// mounts of it on `client`, one mounted now and one on first access.
fn config(lab: &Lab, server: &TestHost, client: &TestHost, clients: &str) -> String {
    format!(
        r#"{provider}
resource "homelab_nfs_export" "share" {{
  host = "{server}"
  path = "{EXPORT}"
  clients = [
{clients}  ]
  create_path {{
    mode = "0755"
  }}
}}

resource "homelab_nfs_mount" "now" {{
  host        = "{client}"
  server      = "{server}"
  export      = homelab_nfs_export.share.path
  mount_point = "{MOUNTED}"
  options     = ["rw", "hard"]
  automount   = false
}}

resource "homelab_nfs_mount" "on_access" {{
  host        = "{client}"
  server      = "{server}"
  export      = homelab_nfs_export.share.path
  mount_point = "{AUTOMOUNTED}"
  options     = ["rw", "soft"]
  automount   = true
}}
"#,
        provider = provider(lab),
        server = server.address,
        client = client.address,
    )
}

/// One `clients` entry.
fn client_entry(client: &str, options: &[&str]) -> String {
    let options: Vec<String> = options.iter().map(|o| hcl_string(o)).collect();
    format!(
        "    {{\n      client  = {}\n      options = [{}]\n    }},\n",
        hcl_string(client),
        options.join(", ")
    )
}

/// `exportfs -v` on the server with every run of blanks (it aligns and wraps with tabs and
/// newlines) made one space: `/srv/share 10.0.0.2/32(sync,...) /srv/other ...`.
fn exportfs_v(server: &TestHost) -> String {
    sh(server, "exportfs -v", &[])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The file system type and source mounted at `path` on `host`, empty when nothing is.
fn mounted_at(host: &TestHost, path: &str) -> String {
    sh(
        host,
        "findmnt -n -o FSTYPE,SOURCE --mountpoint \"$1\" | tail -n 1 || true",
        &[path],
    )
    .trim()
    .to_owned()
}

/// Writes `text` to `name` through the client's mount at `mount_point` and reads it back on the
/// server from the exported directory: the data really crossed the network.
fn write_through_mount(
    client: &TestHost,
    server: &TestHost,
    mount_point: &str,
    name: &str,
    text: &str,
) {
    sh(
        client,
        "printf %s \"$3\" > \"$1/$2\" && sync",
        &[mount_point, name, text],
    );
    assert_eq!(
        sh(server, "cat -- \"$1/$2\"", &[EXPORT, name]),
        text,
        "{name} written through {mount_point} on the client, read on the server"
    );
}

#[test]
fn nfs_served_and_mounted_between_two_vms_survives_bad_options() {
    require_tf_acc();
    let lab = Lab::up(LabSpec {
        hosts: 2,
        packages: PACKAGES,
        backend: Backend::Qemu,
        boot_timeout: Backend::Qemu.default_boot_timeout(),
    })
    .expect("bring up two VMs");
    let server = TestHost::of_lab_host(&lab.hosts()[0]);
    let client = TestHost::of_lab_host(&lab.hosts()[1]);
    let client_network = format!("{}/32", client.address);
    let book = ["rw", "sync", "no_root_squash", "no_subtree_check"];
    let good = config(
        &lab,
        &server,
        &client,
        &client_entry(&client_network, &book),
    );
    let unknown_option = config(
        &lab,
        &server,
        &client,
        &client_entry(
            &client_network,
            &["rw", "sync", "no_subtree_check", "bogus"],
        ),
    );
    // Only exportfs on the server can tell that a name does not resolve: this one reaches the
    // host, and the provider must put the previous export back.
    let unresolvable = config(
        &lab,
        &server,
        &client,
        &format!(
            "{}{}",
            client_entry(&client_network, &book),
            client_entry("nosuchhost.invalid", &["ro", "no_subtree_check"])
        ),
    );

    TestCase::new("nfs_vm")
        .step(Step::apply(good.clone(), |_| {
            assert_eq!(server.stat(EXPORT), "755 root root");
            let exports = exportfs_v(&server);
            assert!(
                exports.contains(&format!("{EXPORT} {client_network}(")),
                "{exports}"
            );
            assert_eq!(
                sh(&server, "systemctl is-active nfs-server", &[]).trim(),
                "active"
            );
            let source = format!("{}:{EXPORT}", server.address);
            let now = mounted_at(&client, MOUNTED);
            assert!(now.starts_with("nfs") && now.ends_with(&source), "{now:?}");
            write_through_mount(
                &client,
                &server,
                MOUNTED,
                "from-client",
                "written on host2\n",
            );
            // And the other way: the server's file is visible through the mount.
            sh(
                &server,
                "echo 'written on host1' > \"$1/from-server\"",
                &[EXPORT],
            );
            assert_eq!(
                sh(&client, "cat -- \"$1/from-server\"", &[MOUNTED]).trim(),
                "written on host1"
            );
            // The automount is an autofs trap until something looks inside.
            assert_eq!(
                mounted_at(&client, AUTOMOUNTED),
                format!("autofs systemd-1")
            );
            assert_eq!(
                sh(&client, "cat -- \"$1/from-client\"", &[AUTOMOUNTED]),
                "written on host2\n",
                "reading through the automount point mounts the export"
            );
            let on_access = mounted_at(&client, AUTOMOUNTED);
            assert!(
                on_access.starts_with("nfs") && on_access.ends_with(&source),
                "{on_access:?}"
            );
            write_through_mount(&client, &server, AUTOMOUNTED, "via-automount", "auto\n");
        }))
        .step(Step::expect_error(
            unknown_option,
            Command::Plan,
            &["Invalid export option", "unknown keyword"],
        ))
        .step(Step::expect_error(
            unresolvable,
            Command::Apply,
            &[
                "exportfs refused the export",
                "exportfs: Failed to resolve nosuchhost.invalid",
            ],
        ))
        // The same configuration again: nothing to change, and the checks see the export that was
        // there before the refused change still served, and the mounts still writable.
        .step(Step::apply(good, |_| {
            let exports = exportfs_v(&server);
            assert!(
                exports.contains(&format!("{EXPORT} {client_network}(")),
                "{exports}"
            );
            assert!(!exports.contains("nosuchhost"), "{exports}");
            write_through_mount(&client, &server, MOUNTED, "after-refusal", "still served\n");
            write_through_mount(&client, &server, AUTOMOUNTED, "after-refusal-auto", "too\n");
        }))
        .check_destroyed(|| {
            for unit in ["mnt-share.mount", "mnt-auto.mount", "mnt-auto.automount"] {
                assert!(
                    !client.exists(&format!("{UNIT_DIR}/{unit}")),
                    "{unit} left on the client"
                );
                let state = sh(
                    &client,
                    "systemctl is-active -- \"$1\" 2>/dev/null; true",
                    &[unit],
                );
                assert_eq!(state.trim(), "inactive", "{unit}");
            }
            assert_eq!(mounted_at(&client, MOUNTED), "");
            assert_eq!(mounted_at(&client, AUTOMOUNTED), "");
            let exports = exportfs_v(&server);
            assert!(!exports.contains(EXPORT), "{exports}");
            assert!(
                server.exists(&format!("{EXPORT}/from-client")),
                "destroy unexports; it never removes the data"
            );
        })
        .run();
    lab.down().expect("tear the lab down");
}
