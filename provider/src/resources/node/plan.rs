//! Plan-time work: the ID, `reboot_required`, and the checks that need the host (the time zone
//! exists, each new module can be loaded, each new sysctl key exists, the Raspberry Pi files
//! exist), made in one SSH round trip and only for values the plan changes.

use super::raspberry_pi::{CMDLINE_TXT_PATHS, CONFIG_TXT_PATHS};
use super::schema::known_strings;
use crate::registry::Context;
use crate::ssh::Command;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// The fixed check script. `$1` a time zone or empty, `$2` modules and `$3` sysctl keys as
/// newline-separated lists, `$4` `1` to look for the Raspberry Pi files. Prints one
/// `KIND<TAB>NAME` line per problem.
const CHECK_SCRIPT: &str = r#"LC_ALL=C
export LC_ALL
if [ -n "$1" ] && [ ! -f "/usr/share/zoneinfo/$1" ]; then printf 'timezone\t%s\n' "$1"; fi
builtin=/lib/modules/$(uname -r)/modules.builtin
printf '%s\n' "$2" | while read -r m; do
  case $m in ''|-*|*[!A-Za-z0-9_-]*) continue ;; esac
  n=$(printf '%s' "$m" | tr - _)
  grep -q "^$n " /proc/modules 2>/dev/null && continue
  [ -d "/sys/module/$n" ] && continue
  if modprobe -n -q -- "$m" 2>/dev/null; then printf 'pending\t%s\n' "$m"; else printf 'module\t%s\n' "$m"; fi
done
printf '%s\n' "$3" | while read -r k; do
  case $k in ''|-*|*..*|*[!A-Za-z0-9_./-]*) continue ;; esac
  [ -e "/proc/sys/$(printf '%s' "$k" | tr './' '/.')" ] || printf 'sysctl\t%s\n' "$k"
done
if [ "$4" = 1 ]; then
  for f in "$5" "$6"; do [ -f "$f" ] && printf 'pi_config\t%s\n' "$f"; done
  for f in "$7" "$8"; do [ -f "$f" ] && printf 'pi_cmdline\t%s\n' "$f"; done
fi
exit 0
"#;

pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Diagnostics {
    let planned = &mut change.planned;
    if let Some(host) = config.attr("host").as_str() {
        planned.set_attr("id", Value::from(host));
    }
    // A replaced node is a new one as far as its computed values go.
    let creating = prior.is_null() || !change.requires_replace.is_empty();
    let pi_set = !config.attr("raspberry_pi").is_null();
    let pi_changed = !config
        .attr("raspberry_pi")
        .semantically_equal(prior.attr("raspberry_pi"));
    let reboot_if_needed = planned.attr("reboot").as_str() == Some("if_needed");
    let reboot_required = if reboot_if_needed {
        // Apply reboots whenever a change is waiting for one, so none is left waiting.
        Value::from(false)
    } else if (creating && pi_set) || (!creating && pi_changed) {
        // Whether the boot files change is known once apply has read them.
        Value::unknown()
    } else if creating {
        Value::from(false)
    } else if prior.attr("reboot_required").as_bool() == Some(true) && updating(prior, planned) {
        // Apply reads it again, and a reboot since the last refresh has cleared it.
        Value::unknown()
    } else {
        prior.attr("reboot_required").clone()
    };
    planned.set_attr("reboot_required", reboot_required);
    check_on_host(context, prior, config, creating).await
}

/// Whether the plan changes anything but `reboot_required` (so apply runs and reads it again).
fn updating(prior: &Value, planned: &Value) -> bool {
    let without = |value: &Value| {
        let mut value = value.clone();
        value.set_attr("reboot_required", Value::Null);
        value
    };
    !without(planned).semantically_equal(&without(prior))
}

/// The values a plan introduces that the host must support, checked in one round trip.
async fn check_on_host(
    context: &Context,
    prior: &Value,
    config: &Value,
    creating: bool,
) -> Diagnostics {
    if !config.attr("host").is_known() || !config.attr("ssh").is_fully_known() {
        return Diagnostics::new();
    }
    let host_changed = creating
        || !config.attr("host").semantically_equal(prior.attr("host"))
        || !config.attr("ssh").semantically_equal(prior.attr("ssh"));
    let zone = config
        .attr("timezone")
        .as_str()
        .filter(|zone| host_changed || prior.attr("timezone").as_str() != Some(zone))
        .unwrap_or("");
    let prior_modules: Vec<&str> = known_strings(prior.attr("kernel_modules")).collect();
    let modules: Vec<&str> = known_strings(config.attr("kernel_modules"))
        .filter(|m| host_changed || !prior_modules.contains(m))
        .collect();
    let keys: Vec<&str> = config
        .attr("sysctl")
        .as_entries()
        .map(|entries| {
            entries
                .keys()
                .map(String::as_str)
                .filter(|k| {
                    host_changed
                        || prior
                            .attr("sysctl")
                            .as_entries()
                            .is_none_or(|p| !p.contains_key(*k))
                })
                .collect()
        })
        .unwrap_or_default();
    let pi = config.attr("raspberry_pi");
    let check_pi = !pi.is_null()
        && pi.is_known()
        && (host_changed || !pi.semantically_equal(prior.attr("raspberry_pi")));
    if zone.is_empty() && modules.is_empty() && keys.is_empty() && !check_pi {
        return Diagnostics::new();
    }
    let session = match context.provider.ssh.session_for(config, &context.cancel) {
        Ok(session) => session,
        Err(d) => return d,
    };
    let command = Command::shell_script(CHECK_SCRIPT)
        .arg(zone)
        .arg(modules.join("\n"))
        .arg(keys.join("\n"))
        .arg(if check_pi { "1" } else { "0" })
        .args(CONFIG_TXT_PATHS)
        .args(CMDLINE_TXT_PATHS);
    let host = session.target().host.clone();
    let output = match session.run_checked(&command).await {
        Ok(output) => output,
        Err(e) => {
            return e
                .to_diagnostic(&format!("checking the plan on {host}"))
                .into();
        }
    };
    problems(&String::from_utf8_lossy(&output.stdout), &host, pi)
}

/// Kernel parameters that exist only once a module is loaded, by the prefix of their keys: on a
/// fresh node, `net.bridge.*` appears when `br_netfilter` loads.
const SYSCTL_PREFIXES_OF_MODULES: &[(&str, &str)] = &[
    ("net.bridge.", "br_netfilter"),
    ("net.netfilter.nf_conntrack_", "nf_conntrack"),
    ("net.ipv4.vs.", "ip_vs"),
];

/// The diagnostics for the check script's output.
///
/// A sysctl key missing now may come with a module this resource loads first (apply runs
/// modprobe before `sysctl -p`): a key whose module is among those pending is fine, and while
/// any module is pending an unknown key is only a warning, which `sysctl -p` at apply settles
/// (its refusal restores every value); with nothing pending it is an error.
fn problems(output: &str, host: &str, pi: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    let (mut config_txt, mut cmdline_txt) = (false, false);
    let pending: Vec<String> = output
        .lines()
        .filter_map(|line| line.strip_prefix("pending\t"))
        .map(|module| module.replace('-', "_"))
        .collect();
    let provided_by_pending = |key: &str| {
        SYSCTL_PREFIXES_OF_MODULES
            .iter()
            .any(|(prefix, module)| key.starts_with(prefix) && pending.iter().any(|p| p == module))
    };
    for line in output.lines() {
        let Some((kind, name)) = line.split_once('\t') else {
            continue;
        };
        match kind {
            "timezone" => diagnostics.push(
                Diagnostic::error(
                    "Unknown time zone",
                    format!("{host} has no time zone {name:?} (/usr/share/zoneinfo/{name})."),
                )
                .at(AttributePath::root("timezone")),
            ),
            "module" => diagnostics.push(
                Diagnostic::error(
                    "Unknown kernel module",
                    format!(
                        "{host} cannot load kernel module {name:?}: `modprobe -n {name}` does \
                         not find it, and it is not loaded or built in."
                    ),
                )
                .at(AttributePath::root("kernel_modules")),
            ),
            "sysctl" if provided_by_pending(name) => {}
            "sysctl" if !pending.is_empty() => diagnostics.push(
                Diagnostic::warning(
                    "Sysctl key not there yet",
                    format!(
                        "{host} has no kernel parameter {name:?} under /proc/sys now; apply loads \
                         {} first and then checks it with sysctl -p, restoring every value if \
                         it is still unknown.",
                        pending.join(", ")
                    ),
                )
                .at(AttributePath::root("sysctl").key(name)),
            ),
            "sysctl" => diagnostics.push(
                Diagnostic::error(
                    "Unknown sysctl key",
                    format!("{host} has no kernel parameter {name:?} under /proc/sys."),
                )
                .at(AttributePath::root("sysctl").key(name)),
            ),
            "pi_config" => config_txt = true,
            "pi_cmdline" => cmdline_txt = true,
            _ => {}
        }
    }
    let missing = [
        (
            "config_txt",
            config_txt,
            "/boot/firmware/config.txt nor /boot/config.txt",
        ),
        (
            "cmdline_flags",
            cmdline_txt,
            "/boot/firmware/cmdline.txt nor /boot/cmdline.txt",
        ),
    ];
    for (name, found, files) in missing {
        if !found && !pi.attr(name).is_null() && pi.is_known() && !pi.is_null() {
            diagnostics.push(
                Diagnostic::warning(
                    "Raspberry Pi boot file not found",
                    format!(
                        "raspberry_pi.{name} is not managed on {host}: neither {files} exists."
                    ),
                )
                .at(AttributePath::root("raspberry_pi").attr(name)),
            );
        }
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_names_its_attribute() {
        let pi = Value::object([
            ("config_txt", Value::List(vec![])),
            ("cmdline_flags", Value::Null),
        ]);
        let diagnostics = problems(
            "timezone\tMars/Olympus\nmodule\tnope\nsysctl\tkernel.nope\npi_cmdline\t/boot/cmdline.txt\n",
            "n1",
            &pi,
        );
        let paths: Vec<String> = diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(
            paths,
            [
                "timezone",
                "kernel_modules",
                "sysctl[\"kernel.nope\"]",
                "raspberry_pi.config_txt"
            ]
        );
        assert!(!Diagnostics(vec![diagnostics.0[3].clone()]).has_errors());
    }

    /// The book's baseline on a fresh node: `net.bridge.*` is missing until `br_netfilter`,
    /// which the same resource loads, is loaded; that is no problem at plan. Another missing key
    /// is only a warning while a module is pending, and an error when none is.
    #[test]
    fn keys_of_a_module_loaded_first_are_not_unknown() {
        let pi = Value::Null;
        let fresh = "pending\tbr_netfilter\nsysctl\tnet.bridge.bridge-nf-call-iptables\n";
        assert!(problems(fresh, "n1", &pi).is_empty());
        let other = problems(&format!("{fresh}sysctl\tkernel.nope\n"), "n1", &pi);
        assert_eq!(other.iter().count(), 1);
        assert!(!other.has_errors());
        let nothing_pending = problems("sysctl\tnet.bridge.bridge-nf-call-iptables\n", "n1", &pi);
        assert!(nothing_pending.has_errors());
    }
}
