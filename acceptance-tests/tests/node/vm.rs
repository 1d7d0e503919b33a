//! `homelab_node` where a real kernel matters, on a QEMU VM: a module unloaded by hand shows as
//! drift and is loaded again, the module list brings it back at boot, and `reboot =
//! "if_needed"` reboots after a boot file change and waits until SSH answers with a new boot ID.

use acceptance_tests::cli::require_tf_acc;
use acceptance_tests::steps::{Step, TestCase};

use super::lab::{CMDLINE, NodeLab};

const ADDRESS: &str = "homelab_node.vm";

#[test]
fn node_on_a_vm_unloaded_module_is_drift_and_reboot_if_needed_comes_back() {
    require_tf_acc();
    let node = NodeLab::up_vm();
    let boot_id = || {
        node.sh("cat /proc/sys/kernel/random/boot_id")
            .trim()
            .to_owned()
    };
    let loaded = || {
        node.sh("grep -c '^br_netfilter ' /proc/modules || true")
            .trim()
            == "1"
    };
    let config = |flag: &str| {
        format!(
            "{}\nresource \"homelab_node\" \"vm\" {{\n  host           = \"{}\"\n  \
             kernel_modules = [\"br_netfilter\"]\n  reboot         = \"if_needed\"\n  \
             raspberry_pi {{\n    cmdline_flags = [\"{flag}\"]\n  }}\n}}\n",
            node.provider(),
            node.address()
        )
    };
    assert!(!loaded(), "br_netfilter is not loaded before the test");
    let first_boot = boot_id();
    let second_boot = std::cell::RefCell::new(String::new());
    TestCase::new("node_vm")
        .step(Step::apply(config("cgroup_enable=memory"), |state| {
            let now = boot_id();
            assert_ne!(now, first_boot, "the boot file change rebooted the VM");
            assert!(loaded(), "loaded again at boot from modules-load.d");
            assert_eq!(
                node.file("/boot/firmware/cmdline.txt").unwrap(),
                format!("{} cgroup_enable=memory\n", CMDLINE.trim_end())
            );
            assert_eq!(
                state.attr(ADDRESS, "reboot_required"),
                &serde_json::json!(false)
            );
            *second_boot.borrow_mut() = now;
        }))
        .step(Step::drift(
            || {
                node.sh("modprobe -r br_netfilter");
                assert!(!loaded());
            },
            "br_netfilter",
        ))
        .step(Step::apply(config("cgroup_memory=1"), |state| {
            assert!(loaded());
            assert_ne!(boot_id(), *second_boot.borrow(), "rebooted again");
            assert_eq!(
                node.file("/boot/firmware/cmdline.txt").unwrap(),
                format!("{} cgroup_memory=1\n", CMDLINE.trim_end())
            );
            assert_eq!(
                state.attr(ADDRESS, "reboot_required"),
                &serde_json::json!(false)
            );
        }))
        .step(Step::import_verify(ADDRESS, &node.address(), &[]))
        .check_destroyed(|| {
            assert_eq!(
                node.file("/boot/firmware/cmdline.txt").as_deref(),
                Some(CMDLINE)
            );
            assert_eq!(node.file("/etc/modules-load.d/homelab.conf"), None);
        })
        .run();
}
