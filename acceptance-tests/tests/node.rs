//! `homelab_node` on an nspawn lab host prepared as a Raspberry Pi OS node (see
//! `node/lab.rs`): every setting applied and checked on the host, import, update, hand edits
//! shown as drift and repaired, destroy taking back exactly what was added, and bad input
//! failing at plan, or at apply with sysctl's own message and nothing changed.
//!
//! Containers share the machine's kernel, so the container tests use only what the lab makes
//! the same on every machine: network sysctls of the container's own namespace
//! (`net.ipv4.*`) and the modules the lab lists as built in. What needs a real kernel runs on
//! a QEMU VM: an unloaded module as drift and `reboot = "if_needed"` (a container cannot
//! unload a built-in module, and its volatile overlay does not survive a reboot) in
//! `node/vm.rs`, and the registry example, whose `net.bridge.*` sysctls need `br_netfilter`.

#[path = "node/lab.rs"]
mod lab;
#[path = "node/vm.rs"]
mod vm;

use acceptance_tests::cli::{Command, Workdir, require_tf_acc, workspace_root};
use acceptance_tests::ssh_host::hcl_string;
use acceptance_tests::steps::{Step, TestCase, assert_converged};

use lab::{CMDLINE, CONFIG_TXT, FSTAB_SWAP_LINE, NodeLab};

const ADDRESS: &str = "homelab_node.n";

/// A key whose comment would run a command if it ever reached a shell unquoted.
const HOSTILE_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 ops $(touch /tmp/pwned); \"q\" 'q' `id`";

fn node_lab() -> NodeLab {
    require_tf_acc();
    NodeLab::up()
}

fn resource(node: &NodeLab, body: &str) -> String {
    format!(
        "{}\nresource \"homelab_node\" \"n\" {{\n  host = \"{}\"\n{body}}}\n",
        node.provider(),
        node.address()
    )
}

/// The first configuration: every setting.
fn first_body() -> String {
    format!(
        r#"  hostname = "allyrion"
  timezone = "Europe/Berlin"
  swap     = false
  kernel_modules = ["overlay", "br_netfilter"]
  sysctl = {{
    "net.ipv4.ip_forward"                = "1"
    "net.ipv4.conf.all.rp_filter"        = "1"
  }}
  hosts_entries = {{
    "10.4.0.11" = ["bettley", "bettley.goldentooth.net"]
    "10.4.0.12" = ["cargyll"]
  }}
  authorized_keys = {{
    root = [{}]
  }}
  raspberry_pi {{
    config_txt    = ["dtparam=audio=off", "arm_64bit=1"]
    cmdline_flags = ["cgroup_enable=memory", "rootwait"]
  }}
"#,
        hcl_string(HOSTILE_KEY)
    )
}

/// The update: values changed, a module, an entry and a flag taken out.
fn second_body() -> String {
    r#"  hostname = "bettley"
  timezone = "America/New_York"
  swap     = false
  kernel_modules = ["overlay"]
  sysctl = {
    "net.ipv4.ip_forward"                = "0"
    "net.ipv4.conf.all.rp_filter"        = "1"
  }
  hosts_entries = {
    "10.4.0.10" = ["allyrion"]
  }
  authorized_keys = {
    root = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 second"]
  }
  raspberry_pi {
    config_txt    = ["dtparam=audio=off"]
    cmdline_flags = ["rootwait", "cgroup_memory=1"]
  }
"#
    .to_owned()
}

fn block(lines: &[&str]) -> String {
    format!(
        "# BEGIN homelab_node (managed by Terraform; edits inside are overwritten)\n{}# END homelab_node\n",
        lines.iter().map(|l| format!("{l}\n")).collect::<String>()
    )
}

/// What the lab's own login key looks like in root's authorized_keys (it must survive).
fn lab_key(node: &NodeLab) -> String {
    let public = std::fs::read_to_string(node.lab.private_key_path().with_extension("pub"))
        .expect("the lab's public key");
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn node_full_step_loop() {
    let node = node_lab();
    let lab_key = lab_key(&node);
    let first = resource(&node, &first_body());
    let second = resource(&node, &second_body());
    let host = node.address();
    TestCase::new("node")
        .step(Step::apply(first.clone(), |state| {
            assert_eq!(node.sh("hostname").trim(), "allyrion");
            assert_eq!(node.file("/etc/hostname").as_deref(), Some("allyrion\n"));
            let hosts = node.file("/etc/hosts").unwrap();
            assert!(hosts.contains("127.0.1.1\tallyrion\n"), "{hosts}");
            assert!(
                hosts.ends_with(&block(&[
                    "10.4.0.11\tbettley bettley.goldentooth.net",
                    "10.4.0.12\tcargyll"
                ])),
                "{hosts}"
            );
            assert_eq!(
                node.sh("readlink /etc/localtime").trim(),
                "/usr/share/zoneinfo/Europe/Berlin"
            );
            let zone = node.sh("date +%Z");
            assert!(["CET", "CEST"].contains(&zone.trim()), "{zone}");
            assert_eq!(node.file("/etc/timezone").as_deref(), Some("Europe/Berlin\n"));
            let fstab = node.file("/etc/fstab").unwrap();
            assert!(fstab.contains(&format!("#homelab_node swap off# {FSTAB_SWAP_LINE}\n")), "{fstab}");
            assert_eq!(node.sh("swapon --show --noheadings"), "");
            assert_eq!(
                node.sh("systemctl is-enabled dphys-swapfile.service || true").trim(),
                "disabled"
            );
            let modules = node.file("/etc/modules-load.d/homelab.conf").unwrap();
            assert!(modules.ends_with("br_netfilter\noverlay\n"), "{modules}");
            assert_eq!(node.sysctl("net.ipv4.ip_forward"), "1");
            assert_eq!(node.sysctl("net.ipv4.conf.all.rp_filter"), "1");
            let sysctl_file = node.file("/etc/sysctl.d/99-homelab.conf").unwrap();
            assert!(sysctl_file.contains("net.ipv4.ip_forward = 1\n"), "{sysctl_file}");
            // sysctl itself agrees the file is what the next boot applies.
            node.sh("sysctl -p /etc/sysctl.d/99-homelab.conf >/dev/null");
            let keys = node.file("/root/.ssh/authorized_keys").unwrap();
            assert!(keys.contains(&lab_key), "the provider's own key survives: {keys}");
            assert!(keys.ends_with(&block(&[HOSTILE_KEY])), "{keys}");
            assert_eq!(node.sh("test -e /tmp/pwned && echo pwned || true"), "");
            assert_eq!(node.sh("stat -c %a /root/.ssh/authorized_keys").trim(), "600");
            let config_txt = node.file("/boot/firmware/config.txt").unwrap();
            assert_eq!(config_txt, format!("{CONFIG_TXT}{}", block(&["dtparam=audio=off", "arm_64bit=1"])));
            assert_eq!(
                node.file("/boot/firmware/cmdline.txt").unwrap(),
                format!("{} cgroup_enable=memory\n", CMDLINE.trim_end()),
                "rootwait was there: only the missing flag is added"
            );
            assert_eq!(state.attr(ADDRESS, "reboot_required"), &serde_json::json!(true));
            assert_eq!(state.attr_str(ADDRESS, "id"), node.address());
        }))
        .step(Step::import_verify(ADDRESS, &host, &[]))
        .step(Step::apply(second.clone(), |state| {
            assert_eq!(node.sh("hostname").trim(), "bettley");
            let hosts = node.file("/etc/hosts").unwrap();
            assert!(hosts.contains("127.0.1.1\tbettley\n") && !hosts.contains("allyrion\n127"), "{hosts}");
            assert!(hosts.ends_with(&block(&["10.4.0.10\tallyrion"])), "{hosts}");
            assert_eq!(node.file("/etc/timezone").as_deref(), Some("America/New_York\n"));
            assert_eq!(node.sysctl("net.ipv4.ip_forward"), "0");
            let modules = node.file("/etc/modules-load.d/homelab.conf").unwrap();
            assert!(modules.ends_with("edits are overwritten.\noverlay\n"), "{modules}");
            assert_eq!(
                node.file("/boot/firmware/cmdline.txt").unwrap(),
                format!("{} cgroup_memory=1\n", CMDLINE.trim_end()),
                "the flag we added and no longer want is gone, rootwait stays"
            );
            let keys = node.file("/root/.ssh/authorized_keys").unwrap();
            assert!(keys.contains(&lab_key) && !keys.contains("touch"), "{keys}");
            assert_eq!(state.attr(ADDRESS, "reboot_required"), &serde_json::json!(true));
        }))
        .step(Step::drift(
            || {
                node.sh("sed -i 's/^net.ipv4.ip_forward = 0/net.ipv4.ip_forward = 1/' /etc/sysctl.d/99-homelab.conf");
            },
            "net.ipv4.ip_forward",
        ))
        .step(Step::drift(|| drop(node.sh("sysctl -w net.ipv4.ip_forward=1")), "net.ipv4.ip_forward"))
        .step(Step::drift(
            || drop(node.sh("sed -i 's/^#homelab_node swap off# //' /etc/fstab")),
            "swap",
        ))
        .step(Step::drift(
            || drop(node.sh("systemctl enable dphys-swapfile.service 2>/dev/null")),
            "swap",
        ))
        .step(Step::drift(
            || drop(node.sh("sed -i '/^overlay$/d' /etc/modules-load.d/homelab.conf")),
            "kernel_modules",
        ))
        .step(Step::drift(|| drop(node.sh("hostname intruder")), "intruder"))
        .step(Step::drift(
            || drop(node.sh("sed -i 's/^127.0.1.1.*/127.0.1.1\tother/' /etc/hosts")),
            "hostname",
        ))
        .step(Step::drift(
            || drop(node.sh("sed -i 's/^10.4.0.10\tallyrion/10.4.0.10\tmallory/' /etc/hosts")),
            "mallory",
        ))
        .step(Step::drift(
            || drop(node.sh("ln -sf /usr/share/zoneinfo/Asia/Tokyo /etc/localtime")),
            "Asia/Tokyo",
        ))
        .step(Step::drift(
            || drop(node.sh("sed -i '/second$/d' /root/.ssh/authorized_keys")),
            "authorized_keys",
        ))
        .step(Step::drift(
            || drop(node.sh("sed -i 's/^dtparam=audio=off$/dtparam=audio=on/' /boot/firmware/config.txt")),
            "config_txt",
        ))
        .step(Step::drift(
            || drop(node.sh("sed -i 's/ cgroup_memory=1//' /boot/firmware/cmdline.txt")),
            "cmdline_flags",
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace("\"overlay\"]", "\"br netfilter;\"]")),
            Command::Plan,
            &["Invalid kernel module name", "kernel_modules"],
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace("\"overlay\"]", "\"no_such_module\"]")),
            Command::Plan,
            &["Unknown kernel module", "no_such_module"],
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace("America/New_York", "Mars/Olympus_Mons")),
            Command::Plan,
            &["Unknown time zone", "timezone", "Mars/Olympus_Mons"],
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace("America/New_York", "../../etc/passwd")),
            Command::Plan,
            &["Invalid timezone", "timezone"],
        ))
        .step(Step::expect_error(
            resource(
                &node,
                &second_body().replace("\"net.ipv4.ip_forward\"", "\"kernel.no_such_key\""),
            ),
            Command::Plan,
            &["Unknown sysctl key", "kernel.no_such_key"],
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace("\"allyrion\"]", "\"$(touch /tmp/pwned)\"]")),
            Command::Plan,
            &["Invalid host name", "hosts_entries"],
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace(" second\"", " second\\nssh-rsa AAAA evil\"")),
            Command::Plan,
            &["Invalid authorized key", "line breaks"],
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace("hostname = \"bettley\"", "hostname = \"bad_name;\"")),
            Command::Plan,
            &["Invalid hostname", "hostname"],
        ))
        .step(Step::expect_error(
            resource(&node, &second_body().replace("swap     = false", "swap     = true")),
            Command::Plan,
            &["Unsupported swap setting", "swap"],
        ))
        .check_destroyed(|| {
            assert_eq!(node.sh("hostname").trim(), "bettley", "the host name stays");
            let hosts = node.file("/etc/hosts").unwrap();
            assert!(!hosts.contains("homelab_node"), "{hosts}");
            let fstab = node.file("/etc/fstab").unwrap();
            assert!(fstab.ends_with(&format!("\n{FSTAB_SWAP_LINE}\n")), "restored: {fstab}");
            assert_eq!(node.sh("systemctl is-enabled dphys-swapfile.service").trim(), "enabled");
            for gone in [
                "/etc/modules-load.d/homelab.conf",
                "/etc/sysctl.d/99-homelab.conf",
                "/var/lib/homelab/node.record",
            ] {
                assert_eq!(node.file(gone), None, "{gone} is removed");
            }
            let keys = node.file("/root/.ssh/authorized_keys").unwrap();
            assert!(keys.contains(&lab_key) && !keys.contains("homelab_node"), "{keys}");
            assert_eq!(node.file("/boot/firmware/config.txt").as_deref(), Some(CONFIG_TXT));
            assert_eq!(node.file("/boot/firmware/cmdline.txt").as_deref(), Some(CMDLINE));
        })
        .run();
}

/// A value the kernel refuses (`vm.*` is read-only in the container, as sysctl reports) fails
/// the apply with sysctl's own message; the value that sysctl -p had already set is restored,
/// and no file changed.
#[test]
fn node_refused_sysctl_value_changes_nothing_on_the_host() {
    let node = node_lab();
    let good = resource(
        &node,
        "  kernel_modules = [\"bridge\"]\n  sysctl = {\n    \"net.ipv4.ip_forward\" = \"0\"\n  }\n",
    );
    let bad = resource(
        &node,
        "  kernel_modules = [\"bridge\", \"br_netfilter\"]\n  sysctl = {\n    \"net.ipv4.ip_forward\" = \"1\"\n    \"vm.swappiness\"       = \"10\"\n  }\n",
    );
    let workdir = Workdir::new("node_refused_sysctl");
    workdir.write_config(&good);
    workdir.apply();
    let snapshot = || {
        (
            node.sysctl("net.ipv4.ip_forward"),
            node.sysctl("vm.swappiness"),
            node.file("/etc/sysctl.d/99-homelab.conf"),
            node.file("/etc/modules-load.d/homelab.conf"),
            node.sh("ls -A /etc/sysctl.d"),
        )
    };
    let before = snapshot();
    let state_before = workdir.show_state_json();
    // A value that would run a command if it reached a shell is written literally, and the
    // kernel refuses it.
    let hostile = resource(
        &node,
        "  kernel_modules = [\"bridge\"]\n  sysctl = {\n    \"net.ipv4.ip_forward\" = \"1; $(touch /tmp/pwned) `touch /tmp/pwned` '\\\"\"\n  }\n",
    );
    for (config, message) in [
        (&bad, "permission denied on key \"vm.swappiness\""),
        (
            &hostile,
            "setting key \"net.ipv4.ip_forward\": Invalid argument",
        ),
    ] {
        workdir.write_config(config);
        workdir.expect_errors(
            Command::Apply,
            &[
                "sysctl refused the settings",
                message,
                "Every value was restored",
            ],
        );
        assert_eq!(snapshot(), before, "the failed apply changed the host");
        assert!(
            workdir.show_state_json() == state_before,
            "the failed apply changed the state"
        );
    }
    assert_eq!(node.sh("test -e /tmp/pwned && echo pwned || true"), "");
    workdir.write_config(&good);
    assert_converged(&workdir, "after the refused change");
    workdir.destroy();
    assert_eq!(node.file("/etc/sysctl.d/99-homelab.conf"), None);
}

/// A user owns `~/.ssh` and can point `authorized_keys` (or any file next to it) anywhere.
/// Root must never follow those links: a key file linked to `/etc/shadow` is neither read
/// into the new file nor written through, and `/etc/shadow` stays root's and unchanged.
#[test]
fn node_authorized_keys_never_follow_a_users_links_as_root() {
    let node = node_lab();
    // The links: the key file to /etc/shadow, and the temporary name an earlier version of the
    // resource wrote first to /etc/passwd.
    node.sh("useradd -m mallory && runuser -u mallory -- sh -c \
         'mkdir -m 700 -p ~/.ssh && ln -s /etc/shadow ~/.ssh/authorized_keys && \
          ln -s /etc/passwd ~/.ssh/.authorized_keys.homelab-new'");
    let system_files =
        || node.sh("sha256sum /etc/shadow /etc/passwd; stat -c '%U %a' /etc/shadow /etc/passwd");
    let before = system_files();
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 mallory";
    let config = resource(
        &node,
        &format!(
            "  authorized_keys = {{\n    mallory = [{}]\n  }}\n",
            hcl_string(key)
        ),
    );
    let workdir = Workdir::new("node_authorized_keys_links");
    workdir.write_config(&config);
    workdir.apply();
    assert_eq!(
        system_files(),
        before,
        "a system file was written through the user's links"
    );
    assert_eq!(
        node.sh("stat -c '%F %U %a' /home/mallory/.ssh/authorized_keys")
            .trim(),
        "regular file mallory 600"
    );
    assert_eq!(
        node.file("/home/mallory/.ssh/authorized_keys").as_deref(),
        Some(block(&[key]).as_str()),
        "the new key file holds more than the managed block"
    );
    assert_converged(&workdir, "after writing a user's keys");
    workdir.destroy();
    assert_eq!(system_files(), before);
}

/// The registry example, with its address mapped onto the lab host, applies, imports with
/// the ID of `import.sh`, and is destroyed. On a VM: the example is the book's baseline, whose
/// `br_netfilter` and `net.bridge.*` sysctls need a kernel that really has the module (a
/// container's is the machine's, which differs between machines).
#[test]
fn node_resource_example_applies_and_imports_on_a_lab_host() {
    require_tf_acc();
    let node = NodeLab::up_vm();
    let dir = workspace_root().join("examples/resources/homelab_node");
    let example = std::fs::read_to_string(dir.join("resource.tf")).expect("resource.tf");
    let import = std::fs::read_to_string(dir.join("import.sh")).expect("import.sh");
    let id = import
        .lines()
        .find_map(|line| line.strip_prefix("tofu import homelab_node.allyrion "))
        .expect("import.sh imports homelab_node.allyrion");
    assert_eq!(id, "10.4.0.10");
    assert!(example.contains("\"10.4.0.10\""));
    let config = format!(
        "{}\n{}",
        node.provider(),
        example.replacen(
            "host     = \"10.4.0.10\"",
            &format!("host     = \"{}\"", node.address()),
            1
        )
    );
    TestCase::new("node_example")
        .step(Step::apply(config, |_| {
            assert_eq!(node.sh("hostname").trim(), "allyrion");
            assert_eq!(node.sysctl("net.bridge.bridge-nf-call-iptables"), "1");
            assert_eq!(
                node.sh("grep -c '^br_netfilter ' /proc/modules").trim(),
                "1"
            );
        }))
        .step(Step::import_verify(
            "homelab_node.allyrion",
            &node.address(),
            &[],
        ))
        .run();
}
