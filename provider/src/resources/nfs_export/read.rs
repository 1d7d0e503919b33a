//! Reading an export back: its drop-in file and exportfs's live table in one round trip, and the
//! state they make, keeping the user's spelling of options whose meaning did not change.

use super::exports_line::{
    ETAB, ExportClient, ExportLine, LiveExport, exports_file, parse_etab, parse_exports,
};
use super::options::meaning;
use crate::registry::Context;
use crate::ssh::{Command, Session};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Schema, Value};

/// Prints whether the directory exists, each host-name client's canonical name, the drop-in
/// file (its size, then its bytes), then the live table.
const READ_SCRIPT: &str = r#"file=$1 path=$2 etab=$3
shift 3
if [ -d "$path" ]; then echo 'directory yes'; else echo 'directory no'; fi
for name do printf 'canonical %s\t%s\n' "$name" "$(getent hosts "$name" | head -n 1)"; done
if [ -f "$file" ]; then
  printf 'file %s\n' "$(wc -c < "$file" | tr -d ' ')"
  cat -- "$file"
else
  echo 'file absent'
fi
cat -- "$etab" 2>/dev/null
exit 0
"#;

/// What the server shows about one export.
#[derive(Debug, Default)]
pub(super) struct HostView {
    /// Whether the exported directory exists.
    pub(super) directory: bool,
    /// The drop-in file's text, when it exists.
    pub(super) file: Option<String>,
    /// The live table.
    pub(super) live: Vec<LiveExport>,
    /// Host-name clients and the canonical names exportfs stores them under.
    pub(super) canonical: Vec<(String, String)>,
}

/// The clients whose names exportfs may replace by the canonical name, which the scripts look
/// up with `getent hosts`.
pub(super) fn host_name_clients(clients: &[ExportClient]) -> Vec<String> {
    clients
        .iter()
        .map(|c| c.client.as_str())
        .filter(|c| {
            !c.starts_with('@')
                && !c.contains(['*', '?', '/'])
                && c.parse::<std::net::IpAddr>().is_err()
        })
        .map(str::to_owned)
        .collect()
}

/// Parses the `canonical NAME<TAB>getent line` lines.
pub(super) fn parse_canonical(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("canonical ")?;
    let (name, getent) = rest.split_once('\t')?;
    let canonical = getent.split_whitespace().nth(1).unwrap_or(name);
    Some((name.to_owned(), canonical.to_owned()))
}

/// Reads the export's directory, file and the live table.
pub(super) async fn host_view(
    session: &Session<'_>,
    path: &str,
    clients: &[ExportClient],
) -> Result<HostView, Diagnostics> {
    let file = exports_file(path).map_err(|reason| {
        Diagnostics::from(Diagnostic::error("Invalid path", reason).at(AttributePath::root("path")))
    })?;
    let command = Command::shell_script(READ_SCRIPT)
        .args([file.as_str(), path, ETAB])
        .args(host_name_clients(clients));
    let output = session.run_checked(&command).await.map_err(|e| {
        Diagnostics::from(e.to_diagnostic(&format!(
            "reading the export of {path} on {}",
            session.target().host
        )))
    })?;
    parse_read_output(&output.stdout).map_err(|detail| {
        Diagnostic::error(
            "Unexpected output",
            format!(
                "Reading the export of {path} on {}: {detail}",
                session.target().host
            ),
        )
        .into()
    })
}

fn parse_read_output(stdout: &[u8]) -> Result<HostView, String> {
    let mut view = HostView::default();
    let mut rest = stdout;
    loop {
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("the output ended early")?;
        let line = String::from_utf8_lossy(&rest[..newline]).into_owned();
        rest = &rest[newline + 1..];
        if let Some(answer) = line.strip_prefix("directory ") {
            view.directory = answer == "yes";
        } else if let Some(pair) = parse_canonical(&line) {
            view.canonical.push(pair);
        } else if line == "file absent" {
            break;
        } else if let Some(size) = line.strip_prefix("file ") {
            let size: usize = size
                .trim()
                .parse()
                .map_err(|_| format!("bad size {size:?}"))?;
            let content = rest.get(..size).ok_or("the file was cut short")?;
            view.file = Some(String::from_utf8_lossy(content).into_owned());
            rest = &rest[size..];
            break;
        } else {
            return Err(format!("unexpected line {line:?}"));
        }
    }
    view.live = parse_etab(&String::from_utf8_lossy(rest));
    Ok(view)
}

/// Whether the live table shows every client of `line` with at least the options it asks for.
pub(super) fn is_active(
    line: &ExportLine,
    live: &[LiveExport],
    canonical: &[(String, String)],
) -> bool {
    line.clients
        .iter()
        .all(|client| live_entry(line, client, live, canonical).is_some())
}

/// The live entry that serves `client`, if any matches in meaning.
pub(super) fn live_entry<'a>(
    line: &ExportLine,
    client: &ExportClient,
    live: &'a [LiveExport],
    canonical: &[(String, String)],
) -> Option<&'a LiveExport> {
    let canonical_name = canonical
        .iter()
        .find(|(name, _)| *name == client.client)
        .map(|(_, canonical)| canonical.as_str());
    let wanted = meaning(&option_refs(client));
    live.iter().find(|entry| {
        entry.path == line.path
            && (entry.client == client.client || Some(entry.client.as_str()) == canonical_name)
            && wanted.satisfied_by(&meaning(
                &entry.options.iter().map(String::as_str).collect::<Vec<_>>(),
            ))
    })
}

pub(super) fn option_refs(client: &ExportClient) -> Vec<&str> {
    client
        .options
        .iter()
        .flatten()
        .map(String::as_str)
        .collect()
}

/// The clients a state or plan holds.
pub(super) fn clients_of(value: &Value) -> Vec<ExportClient> {
    value
        .attr("clients")
        .as_elements()
        .unwrap_or_default()
        .iter()
        .map(|entry| ExportClient {
            client: entry.attr("client").as_str().unwrap_or_default().to_owned(),
            options: entry.attr("options").as_elements().map(|options| {
                options
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
        })
        .collect()
}

/// The state as the server has it now; `None` when the export is gone (no file, or no
/// directory to export).
pub(super) fn state_from_host(
    state: &Value,
    host: &str,
    path: &str,
    view: &HostView,
) -> Option<Value> {
    let text = view.file.as_ref()?;
    if !view.directory {
        return None;
    }
    let on_host: Vec<ExportClient> = parse_exports(text)
        .into_iter()
        .filter(|line| line.path == path)
        .flat_map(|line| line.clients)
        .collect();
    let known = clients_of(state);
    let clients: Vec<Value> = on_host
        .iter()
        .map(|found| {
            // The user's spelling wins while it means the same.
            let kept = known.iter().find(|k| {
                k.client == found.client
                    && meaning(&option_refs(k)) == meaning(&option_refs(found))
                    && k.options.is_some() == found.options.is_some()
            });
            client_value(kept.unwrap_or(found))
        })
        .collect();
    let line = ExportLine {
        path: path.to_owned(),
        clients: on_host,
    };
    let mut new = state.clone();
    new.set_attr("clients", Value::List(clients));
    new.set_attr(
        "active",
        is_active(&line, &view.live, &view.canonical).into(),
    );
    new.set_attr("file", exports_file(path).ok().into());
    new.set_attr("id", format!("{host}:{path}").into());
    Some(new)
}

fn client_value(client: &ExportClient) -> Value {
    Value::object([
        ("client", Value::from(client.client.as_str())),
        (
            "options",
            client.options.as_ref().map_or(Value::Null, |options| {
                Value::List(options.iter().map(|o| Value::from(o.as_str())).collect())
            }),
        ),
    ])
}

pub(super) async fn read(context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
    let session = context.provider.ssh.session_for(state, &context.cancel)?;
    let path = state.attr("path").as_str().ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error("path not known", "The path must be known here.")
                .at(AttributePath::root("path")),
        )
    })?;
    // Canonical names are looked up for the clients the state knows; a hand edit's new host
    // name is compared verbatim until the next apply.
    let view = host_view(&session, path, &clients_of(state)).await?;
    Ok(state_from_host(
        state,
        session.target().host.as_str(),
        path,
        &view,
    ))
}

/// The state an import starts from; the read that follows fills in the rest.
pub(super) fn imported_state(schema: &Schema, id: &str) -> Result<Value, Diagnostics> {
    let parsed = id.find(":/").map(|split| (&id[..split], &id[split + 1..]));
    let Some((host, path)) = parsed
        .filter(|(host, path)| !host.is_empty() && super::exports_line::check_path(path).is_ok())
    else {
        return Err(Diagnostic::error(
            "Invalid import ID",
            format!("{id:?} is not HOST:PATH with an absolute path, e.g. 10.4.0.10:/mnt/usb1"),
        )
        .into());
    };
    let mut state = schema.block.null_value();
    state.set_attr("host", host.into());
    state.set_attr("path", path.into());
    state.set_attr("id", id.into());
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(file: &str, etab: &str) -> HostView {
        let output = format!("directory yes\nfile {}\n{file}{etab}", file.len());
        parse_read_output(output.as_bytes()).unwrap()
    }

    fn state(options: &[&str]) -> Value {
        Value::object([
            ("host", Value::from("10.4.0.10")),
            ("path", "/mnt/usb1".into()),
            (
                "clients",
                Value::List(vec![Value::object([
                    ("client", Value::from("*")),
                    (
                        "options",
                        Value::List(options.iter().map(|o| Value::from(*o)).collect()),
                    ),
                ])]),
            ),
        ])
    }

    const FILE: &str = "# header\n/mnt/usb1 *(rw,sync,no_root_squash,no_subtree_check)\n";
    const ETAB_LINE: &str = "/mnt/usb1\t*(rw,sync,wdelay,hide,nocrossmnt,secure,no_root_squash,no_all_squash,no_subtree_check,secure_locks,acl,no_pnfs,anonuid=65534,anongid=65534,sec=sys,rw,no_root_squash,no_all_squash)\n";

    #[test]
    fn same_meaning_keeps_the_users_spelling() {
        let spelled = state(&["no_root_squash", "rw", "no_subtree_check", "wdelay"]);
        let new =
            state_from_host(&spelled, "10.4.0.10", "/mnt/usb1", &view(FILE, ETAB_LINE)).unwrap();
        assert_eq!(new.attr("clients"), spelled.attr("clients"));
        assert_eq!(new.attr("active"), &Value::Bool(true));
        assert_eq!(new.attr("id").as_str(), Some("10.4.0.10:/mnt/usb1"));
    }

    #[test]
    fn hand_edits_and_the_live_table_show_as_drift() {
        let spelled = state(&["rw", "sync", "no_root_squash", "no_subtree_check"]);
        let edited = FILE.replace("(rw,", "(ro,");
        let new = state_from_host(&spelled, "h", "/mnt/usb1", &view(&edited, ETAB_LINE)).unwrap();
        let options = new.attr("clients").as_elements().unwrap()[0]
            .attr("options")
            .clone();
        assert_eq!(
            options,
            Value::List(vec![
                "ro".into(),
                "sync".into(),
                "no_root_squash".into(),
                "no_subtree_check".into()
            ])
        );
        assert_eq!(
            new.attr("active"),
            &Value::Bool(false),
            "the table still says rw"
        );
        let unexported = state_from_host(&spelled, "h", "/mnt/usb1", &view(FILE, "")).unwrap();
        assert_eq!(unexported.attr("active"), &Value::Bool(false));
        let absent = parse_read_output(b"directory yes\nfile absent\n").unwrap();
        assert!(state_from_host(&spelled, "h", "/mnt/usb1", &absent).is_none());
    }

    #[test]
    fn canonical_names_match_live_entries() {
        assert_eq!(
            parse_canonical("canonical host2\t10.231.85.12    host2.lab host2"),
            Some(("host2".to_owned(), "host2.lab".to_owned()))
        );
        assert_eq!(
            parse_canonical("canonical nosuch\t"),
            Some(("nosuch".to_owned(), "nosuch".to_owned()))
        );
        let line = ExportLine {
            path: "/srv".into(),
            clients: vec![ExportClient {
                client: "host2".into(),
                options: Some(vec!["ro".into()]),
            }],
        };
        let live = parse_etab("/srv\thost2.lab(ro,sync)\n");
        assert!(!is_active(&line, &live, &[]));
        assert!(is_active(
            &line,
            &live,
            &[("host2".into(), "host2.lab".into())]
        ));
        assert_eq!(host_name_clients(&line.clients), ["host2"]);
    }

    #[test]
    fn import_ids_split_before_the_path() {
        let schema = super::super::schema::schema();
        let state = imported_state(&schema, "10.4.0.10:/mnt/usb1").unwrap();
        assert_eq!(state.attr("path").as_str(), Some("/mnt/usb1"));
        assert!(imported_state(&schema, "10.4.0.10:mnt").is_err());
    }
}
