//! `homelab_nfs_export`'s checks before anything reaches the server: the path, each client and
//! its options as exportfs would read them (with exportfs's own words where it has them), and
//! the values known at plan time.

use super::exports_line::{check_client, check_path, exports_file};
use super::options::{check_options, has_subtree_option};
use super::schema::CREATE_PATH;
use crate::registry::Context;
use crate::ssh::resource_config;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = resource_config::validate_resource(config);
    if let Some(path) = config.attr("path").as_str()
        && let Err(reason) = check_path(path)
    {
        diagnostics.push(
            Diagnostic::error("Invalid path", format!("{:?}: {reason}", shown(path)))
                .at(AttributePath::root("path")),
        );
    }
    if let Some(clients) = config.attr("clients").as_elements() {
        if clients.is_empty() {
            diagnostics.push(
                Diagnostic::error(
                    "No clients",
                    "An export needs at least one client; use \"*\" for every host.",
                )
                .at(AttributePath::root("clients")),
            );
        }
        validate_clients(config.attr("path").as_str(), clients, &mut diagnostics);
    }
    let create = config.attr(CREATE_PATH);
    let at = |name: &str| AttributePath::root(CREATE_PATH).attr(name);
    if let Some(mode) = create.attr("mode").as_str()
        && !((3..=4).contains(&mode.len()) && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)))
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid mode",
                format!(
                    "{:?} is not an octal mode like \"0755\" (3 or 4 digits 0-7)",
                    shown(mode)
                ),
            )
            .at(at("mode")),
        );
    }
    for name in ["owner", "group"] {
        if let Some(value) = create.attr(name).as_str()
            && (value.is_empty()
                || value.starts_with('-')
                || value.contains(|c: char| c == ':' || c.is_whitespace() || c.is_control()))
        {
            diagnostics.push(
                Diagnostic::error(
                    format!("Invalid {name}"),
                    format!("{:?} is not a user or group name or id", shown(value)),
                )
                .at(at(name)),
            );
        }
    }
    diagnostics
}

fn validate_clients(path: Option<&str>, clients: &[Value], diagnostics: &mut Diagnostics) {
    let mut seen: Vec<&str> = Vec::new();
    for (index, entry) in clients.iter().enumerate() {
        let at = AttributePath::root("clients").index(index as i64);
        if let Some(client) = entry.attr("client").as_str() {
            if let Err(reason) = check_client(client) {
                diagnostics.push(
                    Diagnostic::error("Invalid client", shown(&reason))
                        .at(at.clone().attr("client")),
                );
            }
            if seen.contains(&client) {
                diagnostics.push(
                    Diagnostic::error(
                        "Duplicate client",
                        format!(
                            "{:?} appears twice; exportfs would ignore one of them \
                             (\"incompatible duplicated export entries\"). Give each client one \
                             entry.",
                            shown(client)
                        ),
                    )
                    .at(at.clone().attr("client")),
                );
            }
            seen.push(client);
        }
        let options = entry.attr("options");
        let Some(elements) = options.as_elements() else {
            if options.is_null() {
                subtree_warning(path, entry, &at, diagnostics);
            }
            continue;
        };
        if !elements.iter().all(Value::is_known) {
            continue;
        }
        let names: Vec<&str> = elements.iter().filter_map(Value::as_str).collect();
        for (option_index, error) in check_options(&names) {
            diagnostics.push(
                Diagnostic::error("Invalid export option", shown(&error.to_string()))
                    .at(at.clone().attr("options").index(option_index as i64)),
            );
        }
        if !has_subtree_option(&names) {
            subtree_warning(path, entry, &at, diagnostics);
        }
    }
}

/// exportfs's own warning for an export without a subtree option, said at plan time.
fn subtree_warning(
    path: Option<&str>,
    entry: &Value,
    at: &AttributePath,
    diagnostics: &mut Diagnostics,
) {
    let client = entry.attr("client").as_str().unwrap_or("CLIENT");
    diagnostics.push(
        Diagnostic::warning(
            "No subtree option",
            format!(
                "exportfs will say: Neither 'subtree_check' or 'no_subtree_check' specified for \
                 export \"{}:{}\". Assuming default behaviour ('no_subtree_check'). Add one of \
                 them to options to say which you mean.",
                shown(client),
                shown(path.unwrap_or("PATH"))
            ),
        )
        .at(at.clone().attr("options")),
    );
}

pub(super) async fn modify_plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Diagnostics {
    let planned = &mut change.planned;
    if let (Some(host), Some(path)) = (config.attr("host").as_str(), config.attr("path").as_str()) {
        planned.set_attr("id", Value::from(format!("{host}:{path}")));
    }
    match config.attr("path").as_str().map(exports_file) {
        Some(Ok(file)) => planned.set_attr("file", file.into()),
        _ => planned.set_attr("file", Value::unknown()),
    }
    planned.set_attr("active", true.into());
    context
        .provider
        .ssh
        .check_connection(prior, config, &context.cancel)
        .await
}

/// A user value cut to a length a diagnostic can show.
fn shown(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::Severity;

    fn config(clients: Vec<(&str, Option<Vec<&str>>)>) -> Value {
        let clients = clients
            .into_iter()
            .map(|(client, options)| {
                Value::object([
                    ("client", Value::from(client)),
                    (
                        "options",
                        options.map_or(Value::Null, |o| {
                            Value::List(o.into_iter().map(Value::from).collect())
                        }),
                    ),
                ])
            })
            .collect();
        Value::object([
            ("host", Value::from("10.4.0.10")),
            ("path", "/mnt/usb1".into()),
            ("clients", Value::List(clients)),
        ])
    }

    fn described(diagnostics: &Diagnostics) -> Vec<(Severity, String)> {
        diagnostics
            .iter()
            .map(|d| {
                (
                    d.severity,
                    d.attribute
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn the_books_export_is_valid() {
        let book = config(vec![(
            "*",
            Some(vec!["rw", "sync", "no_root_squash", "no_subtree_check"]),
        )]);
        assert!(validate(&book).is_empty(), "{:?}", validate(&book));
    }

    #[test]
    fn bad_clients_and_options_name_their_element() {
        let bad = config(vec![
            ("10.1.0.0/33", Some(vec!["rw", "no_subtree_check"])),
            ("*", Some(vec!["rw", "ro", "bogus", "no_subtree_check"])),
            ("*", Some(vec!["no_subtree_check"])),
        ]);
        assert_eq!(
            described(&validate(&bad)),
            [
                (Severity::Error, "clients[0].client".to_owned()),
                (Severity::Error, "clients[1].options[1]".to_owned()),
                (Severity::Error, "clients[1].options[2]".to_owned()),
                (Severity::Error, "clients[2].client".to_owned()),
            ]
        );
    }

    #[test]
    fn a_missing_subtree_option_warns_like_exportfs() {
        let diagnostics = validate(&config(vec![("*", Some(vec!["rw"])), ("10.0.0.0/8", None)]));
        assert_eq!(
            described(&diagnostics),
            [
                (Severity::Warning, "clients[0].options".to_owned()),
                (Severity::Warning, "clients[1].options".to_owned()),
            ]
        );
        assert!(diagnostics.0[0].detail.contains(
            "Neither 'subtree_check' or 'no_subtree_check' specified for export \"*:/mnt/usb1\""
        ));
    }

    #[test]
    fn unknown_values_are_not_judged_yet() {
        let mut config = config(vec![("*", Some(vec!["rw"]))]);
        config.set_attr("clients", Value::unknown());
        config.set_attr("path", Value::unknown());
        assert!(validate(&config).is_empty());
    }
}
