//! Read and import: the state as the host has it now, for the settings the state manages (on
//! import: the settings the host's record says the resource manages), in one SSH round trip.

use std::collections::BTreeMap;

use super::host_state::{HostState, MODULES_FILE, read_command};
use super::hosts_file;
use super::marked_block::block_lines;
use super::raspberry_pi;
use super::settings::{Settings, list_map_value, list_value};
use super::sysctl::{SYSCTL_FILE, normalize_value, parse_file};
use crate::registry::Context;
use crate::ssh::Session;
use crate::tf::{Diagnostic, Diagnostics, Value};

/// Runs the read script for the settings in `state` (the users, modules and keys it names).
pub(super) async fn read_host(
    session: &Session<'_>,
    settings: &Settings,
) -> Result<HostState, Diagnostics> {
    let users: Vec<&str> = settings
        .authorized_keys
        .iter()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let modules: Vec<&str> = settings
        .kernel_modules
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let keys: Vec<&str> = settings
        .sysctl
        .iter()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let host = session.target().host.clone();
    let output = session
        .run_checked(&read_command(users, modules, keys))
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic(&format!("reading {host}"))))?;
    HostState::parse(&String::from_utf8_lossy(&output.stdout)).map_err(|detail| {
        Diagnostics::from(Diagnostic::error(
            "Unexpected answer from host",
            format!("reading {host}: {detail}"),
        ))
    })
}

pub(super) async fn read(context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
    let session = context.provider.ssh.session_for(state, &context.cancel)?;
    // An imported state has no `reboot` yet (every other state has its default): its settings
    // come from the record the resource left on the host.
    let importing = state.attr("reboot").is_null();
    let mut settings = Settings::from_value(state);
    let host = if importing {
        let first = read_host(&session, &settings).await?;
        settings = imported_settings(&first);
        if settings.authorized_keys.is_some() {
            read_host(&session, &settings).await?
        } else {
            first
        }
    } else {
        read_host(&session, &settings).await?
    };
    let mut new = state.clone();
    if importing {
        let reboot = if host.record().reboot_if_needed {
            "if_needed"
        } else {
            "never"
        };
        new.set_attr("reboot", reboot.into());
    }
    write_settings(&mut new, &settings, &host);
    new.set_attr("id", Value::from(session.target().host.clone()));
    Ok(Some(new))
}

/// The state an import starts from: the host; read fills in the rest.
pub(super) fn import(id: &str) -> Result<Value, Diagnostics> {
    if id.trim().is_empty() || id.contains(char::is_whitespace) {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!("{id:?} is not a host: import homelab_node with the host's name or address."),
        )
        .into());
    }
    let schema = super::schema::schema();
    let mut state = Value::object(
        schema
            .block
            .attributes
            .iter()
            .map(|a| a.name.clone())
            .chain(schema.block.blocks.iter().map(|b| b.type_name.clone()))
            .map(|name| (name, Value::Null)),
    );
    state.set_attr("host", Value::from(id));
    state.set_attr("id", Value::from(id));
    Ok(state)
}

/// The settings the host's record says the resource manages, as the files hold them.
fn imported_settings(host: &HostState) -> Settings {
    let record = host.record();
    let managed = |name: &str| record.managed.contains(name);
    let owned_lines = |path: &str| -> Vec<String> {
        host.file(path)
            .unwrap_or("")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    Settings {
        hostname: managed("hostname").then(|| host.hostname.clone()),
        timezone: managed("timezone").then(|| host.timezone().unwrap_or("").to_owned()),
        swap: managed("swap").then_some(false),
        kernel_modules: managed("kernel_modules").then(|| owned_lines(MODULES_FILE)),
        sysctl: managed("sysctl").then(|| parse_file(host.file(SYSCTL_FILE).unwrap_or(""))),
        hosts_entries: managed("hosts_entries").then(|| {
            hosts_file::entries(host.file("/etc/hosts").unwrap_or("")).unwrap_or_default()
        }),
        authorized_keys: managed("authorized_keys").then(|| {
            record
                .authorized_keys_users
                .iter()
                .map(|user| (user.clone(), Vec::new()))
                .collect()
        }),
        raspberry_pi: managed("raspberry_pi").then(|| super::settings::RaspberryPi {
            config_txt: host.config_txt().and_then(|(_, text)| block_lines(text)),
            cmdline_flags: Some(record.cmdline_flags.clone()).filter(|f| !f.is_empty()),
        }),
        reboot_if_needed: false,
    }
}

/// Sets each managed setting of `state` to what the host has; an equal value keeps the
/// state's spelling, so only real differences show as drift.
pub(super) fn write_settings(state: &mut Value, settings: &Settings, host: &HostState) {
    if let Some(wanted) = &settings.hostname {
        state.set_attr("hostname", Value::from(read_hostname(wanted, host)));
    }
    if let Some(wanted) = &settings.timezone {
        state.set_attr("timezone", Value::from(read_timezone(wanted, host)));
    }
    if settings.swap.is_some() {
        state.set_attr("swap", Value::from(host.swap_on()));
    }
    if let Some(wanted) = &settings.kernel_modules {
        let listed = host.file(MODULES_FILE).unwrap_or("");
        let present: Vec<Value> = wanted
            .iter()
            .filter(|m| host.module_loaded(m) && listed.lines().any(|l| l.trim() == m.as_str()))
            .map(|m| Value::from(m.as_str()))
            .collect();
        state.set_attr("kernel_modules", Value::Set(present));
    }
    if let Some(wanted) = &settings.sysctl {
        state.set_attr("sysctl", read_sysctl(wanted, host));
    }
    if settings.hosts_entries.is_some() {
        let entries =
            hosts_file::entries(host.file("/etc/hosts").unwrap_or("")).unwrap_or_default();
        state.set_attr("hosts_entries", list_map_value(&entries));
    }
    if let Some(wanted) = &settings.authorized_keys {
        let keys: BTreeMap<String, Vec<String>> = wanted
            .keys()
            .map(|user| {
                let text = host.authorized_keys.get(user).cloned().flatten();
                let lines = text.as_deref().and_then(block_lines).unwrap_or_default();
                (user.clone(), lines)
            })
            .collect();
        state.set_attr("authorized_keys", list_map_value(&keys));
    }
    if let Some(pi) = &settings.raspberry_pi {
        let mut block =
            Value::object([("config_txt", Value::Null), ("cmdline_flags", Value::Null)]);
        if let Some(lines) = &pi.config_txt {
            // Files that do not exist are not managed (plan warns): they read as configured.
            let read = match host.config_txt() {
                Some((_, text)) => block_lines(text).unwrap_or_default(),
                None => lines.clone(),
            };
            block.set_attr("config_txt", list_value(&read));
        }
        if let Some(flags) = &pi.cmdline_flags {
            let read = match host.cmdline_txt() {
                Some((_, text)) => {
                    let present = raspberry_pi::flags(text);
                    flags
                        .iter()
                        .filter(|f| present.contains(f))
                        .cloned()
                        .collect()
                }
                None => flags.clone(),
            };
            block.set_attr("cmdline_flags", list_value(&read));
        }
        state.set_attr("raspberry_pi", block);
    }
    let pending = host.record().reboot_pending;
    state.set_attr(
        "reboot_required",
        Value::from(pending.as_deref() == Some(host.boot_id.as_str())),
    );
}

/// The host name as the host has it: the configured one when the kernel, `/etc/hostname` and
/// the `127.0.1.1` line all agree, else a text saying which of them differs.
fn read_hostname(wanted: &str, host: &HostState) -> String {
    if host.hostname != wanted {
        return host.hostname.clone();
    }
    let file = host.file("/etc/hostname").map(str::trim);
    if file != Some(wanted) {
        return format!("{wanted}, but /etc/hostname says {:?}", file.unwrap_or(""));
    }
    let names = hosts_file::self_line_names(host.file("/etc/hosts").unwrap_or(""));
    if names.as_deref() != Some(&[wanted.to_owned()][..]) {
        return format!("{wanted}, but /etc/hosts has no \"127.0.1.1 {wanted}\" line");
    }
    wanted.to_owned()
}

/// The time zone as `/etc/localtime` links it, and whether `/etc/timezone` agrees.
fn read_timezone(wanted: &str, host: &HostState) -> String {
    let Some(zone) = host.timezone() else {
        return format!("(/etc/localtime links to {:?})", host.localtime);
    };
    if zone != wanted {
        return zone.to_owned();
    }
    match host.file("/etc/timezone").map(str::trim) {
        Some(named) if named == wanted => wanted.to_owned(),
        Some(named) => format!("{wanted}, but /etc/timezone says {named:?}"),
        None => format!("{wanted}, but /etc/timezone is missing"),
    }
}

/// Each managed key's value: the configured spelling when the live value and the file agree
/// with it; the live value when it differs; left out when the file does not keep it.
fn read_sysctl(wanted: &BTreeMap<String, String>, host: &HostState) -> Value {
    let file = parse_file(host.file(SYSCTL_FILE).unwrap_or(""));
    let mut read = BTreeMap::new();
    for (key, value) in wanted {
        let normalized = normalize_value(value);
        let live = host.sysctl.get(key).cloned().flatten();
        let persisted = file.get(key).map(|v| normalize_value(v));
        match live {
            None => {}
            Some(live) if live != normalized => {
                read.insert(key.clone(), Value::from(live));
            }
            Some(_) if persisted.as_deref() == Some(normalized.as_str()) => {
                read.insert(key.clone(), Value::from(value.as_str()));
            }
            Some(_) => {}
        }
    }
    Value::Map(read)
}
