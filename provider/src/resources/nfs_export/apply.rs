//! Changing an export on the server: write its drop-in file atomically, activate it with
//! `exportfs -ra`, check the live table, and on any failure put the previous file back and
//! activate that again, reporting exportfs's own message. Delete removes the file and
//! unexports the same way.

use super::exports_line::{ETAB, EXPORTS_DIR, ExportLine, exports_file, parse_etab, render};
use super::read::{clients_of, host_name_clients, is_active, parse_canonical};
use super::schema::{CREATE_PATH, DEFAULT_DIRECTORY_MODE};
use crate::registry::Context;
use crate::ssh::{Command, Output, Session};
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Value};

/// Creates the directory if asked, installs standard input as the drop-in file (temporary file
/// beside it, then rename; exportfs ignores names not ending in `.exports`), runs
/// `exportfs -ra` with its messages on standard error, and prints what it did, the canonical
/// names of host-name clients, exportfs's exit status, then the live table. Exit 3: nothing was
/// activated.
const INSTALL_SCRIPT: &str = r#"set -u
file=$1 path=$2 create=$3 mode=$4 owner=$5 group=$6 dir=$7 etab=$8
shift 8
created=no
if [ "$create" = yes ] && [ ! -d "$path" ]; then
  mkdir -p -- "$path" || exit 3
  created=yes
  chmod -- "$mode" "$path" || exit 3
  if [ -n "$owner" ]; then chown -- "$owner" "$path" || exit 3; fi
  if [ -n "$group" ]; then chgrp -- "$group" "$path" || exit 3; fi
fi
mkdir -p -- "$dir" || exit 3
tmp=$(mktemp "$dir/.homelab-tmp.XXXXXXXXXX") || exit 3
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
cat > "$tmp" || exit 3
chmod 0644 "$tmp" || exit 3
mv -f -- "$tmp" "$file" || exit 3
echo "created $created"
for name do printf 'canonical %s\t%s\n' "$name" "$(getent hosts "$name" | head -n 1)"; done
exportfs -ra >/dev/null
echo "exportfs $?"
cat -- "$etab" 2>/dev/null
exit 0
"#;

/// Puts the previous file back (standard input) or removes the new one, removes a directory
/// the failed install created (only if still empty), and activates the result.
const ROLLBACK_SCRIPT: &str = r#"set -u
file=$1 had=$2 created=$3 path=$4 dir=$5
if [ "$had" = yes ]; then
  tmp=$(mktemp "$dir/.homelab-tmp.XXXXXXXXXX") || exit 3
  trap 'rm -f -- "$tmp"' EXIT
  cat > "$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$file" || exit 3
else
  rm -f -- "$file" || exit 3
fi
if [ "$created" = yes ]; then rmdir -- "$path" 2>/dev/null; fi
exportfs -ra >/dev/null 2>&1
exit 0
"#;

/// Removes the drop-in file and unexports what it held (`exportfs -ra` drops every live entry
/// no file names any more).
/// A failing `exportfs -ra` fails the delete with its message (the export may still be live);
/// running the delete again is harmless.
const DELETE_SCRIPT: &str = r#"set -u
rm -f -- "$1" || exit 3
out=$(exportfs -ra 2>&1 >/dev/null) || { printf '%s\n' "$out" >&2; exit 4; }
"#;

/// What the install script reported.
#[derive(Debug, PartialEq)]
struct Installed {
    created_directory: bool,
    canonical: Vec<(String, String)>,
    exportfs_status: Option<u32>,
    etab: String,
}

fn parse_install_output(stdout: &[u8]) -> Result<Installed, String> {
    let text = String::from_utf8_lossy(stdout);
    let mut installed = Installed {
        created_directory: false,
        canonical: Vec::new(),
        exportfs_status: None,
        etab: String::new(),
    };
    let mut lines = text.split_inclusive('\n');
    for line in lines.by_ref() {
        let line = line.trim_end_matches('\n');
        if let Some(created) = line.strip_prefix("created ") {
            installed.created_directory = created == "yes";
        } else if let Some(pair) = parse_canonical(line) {
            installed.canonical.push(pair);
        } else if let Some(status) = line.strip_prefix("exportfs ") {
            installed.exportfs_status = status.trim().parse().ok();
            break;
        } else {
            return Err(format!("unexpected line {line:?}"));
        }
    }
    installed.etab = lines.collect();
    Ok(installed)
}

/// Writes and activates the planned export; returns the new state.
pub(super) async fn install(context: &Context, planned: &Value) -> Result<Value, Diagnostics> {
    let session = context.provider.ssh.session_for(planned, &context.cancel)?;
    let path = planned
        .attr("path")
        .as_str()
        .ok_or_else(|| not_known("path"))?;
    let file = exports_file(path).map_err(|reason| {
        Diagnostics::from(Diagnostic::error("Invalid path", reason).at(AttributePath::root("path")))
    })?;
    let line = ExportLine {
        path: path.to_owned(),
        clients: clients_of(planned),
    };
    let create = planned.attr(CREATE_PATH);
    let host = session.target().host.clone();
    // Every export change on a host goes one at a time: each one's `exportfs -ra` and check
    // must see the files as that change left them.
    let _guard = session.lock_file(EXPORTS_DIR).await;
    let previous = session
        .read_file(&file)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic(&format!("reading {file} on {host}"))))?;
    let command = Command::shell_script(INSTALL_SCRIPT)
        .args([
            file.as_str(),
            path,
            if create.is_null() { "no" } else { "yes" },
            create
                .attr("mode")
                .as_str()
                .unwrap_or(DEFAULT_DIRECTORY_MODE),
            create.attr("owner").as_str().unwrap_or_default(),
            create.attr("group").as_str().unwrap_or_default(),
            EXPORTS_DIR,
            ETAB,
        ])
        .args(host_name_clients(&line.clients))
        .stdin(render(&line));
    let output = session
        .run(&command)
        .await
        .map_err(|e| Diagnostics::from(e.to_diagnostic(&format!("exporting {path} on {host}"))))?;
    if output.status.code() == Some(3) {
        return Err(Diagnostic::error(
            "Cannot write the export",
            format!(
                "Writing {file} (or creating {path}) on {host} failed; nothing was activated:\n{}",
                output.stderr_text()
            ),
        )
        .into());
    }
    let installed = match parse_install_output(&output.stdout) {
        Ok(installed) if output.success() => installed,
        result => {
            rollback(
                &session,
                &file,
                previous.as_ref().map(|f| f.content.as_slice()),
                false,
                path,
            )
            .await;
            let detail = result.err().unwrap_or_else(|| output.stderr_text());
            return Err(Diagnostic::error(
                "Export failed",
                format!("Exporting {path} on {host} failed: {detail}. The previous export file was restored."),
            )
            .into());
        }
    };
    let live = parse_etab(&installed.etab);
    // exportfs keeps some refused exports in the table (a directory it cannot stat) and only
    // says so in its exit status and messages; messages about other exports are not ours.
    let messages = exportfs_messages(&String::from_utf8_lossy(&output.stderr), &file);
    let complained = installed.exportfs_status != Some(0) && concerns(&messages, &file, &line);
    if complained || !is_active(&line, &live, &installed.canonical) {
        rollback(
            &session,
            &file,
            previous.as_ref().map(|f| f.content.as_slice()),
            installed.created_directory,
            path,
        )
        .await;
        return Err(refused(&host, path, &file, &line, &installed, &output));
    }
    let mut state = planned.clone();
    state.set_attr("active", true.into());
    state.set_attr("file", file.into());
    state.set_attr("id", format!("{host}:{path}").into());
    Ok(state)
}

/// Puts the previous file back and activates it. Best effort: the apply fails either way, and
/// the next refresh shows whatever the server has.
async fn rollback(
    session: &Session<'_>,
    file: &str,
    previous: Option<&[u8]>,
    created: bool,
    path: &str,
) {
    let command = Command::shell_script(ROLLBACK_SCRIPT)
        .args([
            file,
            if previous.is_some() { "yes" } else { "no" },
            if created { "yes" } else { "no" },
            path,
            EXPORTS_DIR,
        ])
        .stdin(previous.unwrap_or_default().to_vec());
    let _ = session.run(&command).await;
}

/// The diagnostic for an export exportfs did not activate, with exportfs's own words.
fn refused(
    host: &str,
    path: &str,
    file: &str,
    line: &ExportLine,
    installed: &Installed,
    output: &Output,
) -> Diagnostics {
    let messages = exportfs_messages(&String::from_utf8_lossy(&output.stderr), file);
    let status = installed.exportfs_status.map_or_else(
        || "no exit status".to_owned(),
        |code| format!("exit status {code}"),
    );
    let clients: Vec<&str> = line.clients.iter().map(|c| c.client.as_str()).collect();
    let hint = if installed.exportfs_status == Some(127) {
        "\nexportfs is not installed: install nfs-kernel-server on the server."
    } else {
        ""
    };
    let said = if messages.is_empty() {
        "exportfs printed nothing, but the live table does not show the export.".to_owned()
    } else {
        format!("exportfs said:\n{messages}")
    };
    let attribute = if messages.contains("Failed to stat") {
        "path"
    } else {
        "clients"
    };
    Diagnostic::error(
        "exportfs refused the export",
        format!(
            "exportfs -ra on {host} ({status}) did not export {path} to {}.\n{said}{hint}\nThe \
             previous export file was restored and exported again; nothing was changed.",
            clients.join(", ")
        ),
    )
    .at(AttributePath::root(attribute))
    .into()
}

/// exportfs's messages that concern this export: its subtree warnings about other files are
/// left out.
fn exportfs_messages(stderr: &str, file: &str) -> String {
    let mut kept = Vec::new();
    let mut skipping = false;
    for line in stderr.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if !skipping {
                kept.push(line.trim());
            }
            continue;
        }
        let about_other_file = line.starts_with("exportfs: /etc/exports") && !line.contains(file);
        skipping = about_other_file;
        if !about_other_file {
            kept.push(line);
        }
    }
    kept.dedup();
    kept.join("\n")
}

/// Whether exportfs's messages name this export's file, directory or one of its clients.
fn concerns(messages: &str, file: &str, line: &ExportLine) -> bool {
    let mut words = vec![file, line.path.as_str()];
    words.extend(line.clients.iter().map(|c| c.client.as_str()));
    messages
        .lines()
        .any(|message| words.iter().any(|word| mentions(message, word)))
}

/// Whether `word` appears in `message` as a whole word: after a space, quote or backquote and
/// before the end, a space, a quote, `:`, `(` or `,`.
fn mentions(message: &str, word: &str) -> bool {
    message.match_indices(word).any(|(at, _)| {
        let before = message[..at].chars().next_back();
        let after = message[at + word.len()..].chars().next();
        matches!(before, Some(' ' | '"' | '`' | '\''))
            && matches!(after, None | Some(' ' | '"' | '\'' | ':' | '(' | ','))
    })
}

/// Removes the export's file and unexports it.
pub(super) async fn delete(context: &Context, prior: &Value) -> Result<(), Diagnostics> {
    let session = context.provider.ssh.session_for(prior, &context.cancel)?;
    let path = prior
        .attr("path")
        .as_str()
        .ok_or_else(|| not_known("path"))?;
    let file = exports_file(path)
        .map_err(|reason| Diagnostics::from(Diagnostic::error("Invalid path", reason)))?;
    let host = session.target().host.clone();
    let _guard = session.lock_file(EXPORTS_DIR).await;
    session
        .run_checked(&Command::shell_script(DELETE_SCRIPT).arg(&file))
        .await
        .map(|_| ())
        .map_err(|e| {
            Diagnostics::from(e.to_diagnostic(&format!("removing the export of {path} on {host}")))
        })
}

fn not_known(name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("{name} not known"),
        format!("{name} must be known here."),
    )
    .at(AttributePath::root(name))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_output_parses() {
        let out = b"created no\ncanonical host2\t10.0.0.2 host2.lab\nexportfs 0\n/srv\t*(rw)\n";
        let installed = parse_install_output(out).unwrap();
        assert_eq!(installed.exportfs_status, Some(0));
        assert_eq!(
            installed.canonical,
            [("host2".to_owned(), "host2.lab".to_owned())]
        );
        assert_eq!(installed.etab, "/srv\t*(rw)\n");
        assert!(parse_install_output(b"garbage\n").is_err());
    }

    /// Measured: exportfs -ra with a hand-written file beside ours that lacks a subtree option.
    #[test]
    fn messages_about_other_files_are_left_out() {
        let stderr = "exportfs: /etc/exports.d/a.exports [1]: Neither 'subtree_check' or 'no_subtree_check' specified for export \"10.0.0.0/24:/srv/a\".\n  Assuming default behaviour ('no_subtree_check').\n  NOTE: this default has changed since nfs-utils version 1.0.x\n\nexportfs: Failed to resolve nosuchhost.invalid\nexportfs: Failed to resolve nosuchhost.invalid\nexportfs: /etc/exports.d/srv-b.exports:1: unknown keyword \"bogus\"\n";
        assert_eq!(
            exportfs_messages(stderr, "/etc/exports.d/srv-b.exports"),
            "exportfs: Failed to resolve nosuchhost.invalid\nexportfs: /etc/exports.d/srv-b.exports:1: unknown keyword \"bogus\""
        );
    }

    #[test]
    fn only_messages_about_this_export_make_it_fail() {
        let line = ExportLine {
            path: "/srv/missing".into(),
            clients: vec![super::super::exports_line::ExportClient {
                client: "10.1.0.0/33".into(),
                options: None,
            }],
        };
        let file = "/etc/exports.d/srv-missing.exports";
        assert!(concerns(
            "exportfs: Failed to stat /srv/missing: No such file or directory",
            file,
            &line
        ));
        assert!(concerns(
            "exportfs: Invalid prefix `33' for 10.1.0.0/33",
            file,
            &line
        ));
        assert!(!concerns(
            "exportfs: Failed to stat /srv/missing-not: No such file",
            "x",
            &ExportLine {
                path: "/srv/other".into(),
                clients: vec![]
            }
        ));
        assert!(!concerns(
            "exportfs: Failed to resolve elsewhere",
            file,
            &line
        ));
    }

    /// The scripts run by a real local shell with a fake exportfs: a hostile path and file
    /// name reach them only as arguments, and a rollback restores the previous bytes.
    #[test]
    fn scripts_install_and_roll_back_with_hostile_paths() {
        use std::io::Write;
        use std::process::{Command as Process, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let fake = bin.join("exportfs");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'exportfs: Failed to resolve x' >&2\nexit 0\n",
        )
        .unwrap();
        Process::new("chmod")
            .arg("755")
            .arg(&fake)
            .status()
            .unwrap();
        let exports = dir.path().join("exports.d");
        let export_path = dir.path().join("x $(touch pwned) ';\"");
        let file = exports.join("x.exports");
        let etab = dir.path().join("etab");
        std::fs::write(&etab, "/srv\t*(ro)\n").unwrap();
        let run = |script: &str, args: &[&std::ffi::OsStr], stdin: &[u8]| {
            let mut child = Process::new("sh")
                .arg("-c")
                .arg(script)
                .arg("sh")
                .args(args)
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                .current_dir(dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(stdin).unwrap();
            child.wait_with_output().unwrap()
        };
        let os = |s: &str| std::ffi::OsString::from(s);
        let args = [
            file.as_os_str().to_owned(),
            export_path.as_os_str().to_owned(),
            os("yes"),
            os("0750"),
            os(""),
            os(""),
            exports.as_os_str().to_owned(),
            etab.as_os_str().to_owned(),
            os("localhost"),
        ];
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let output = run(INSTALL_SCRIPT, &refs, b"new\n");
        assert!(output.status.success(), "{output:?}");
        let installed = parse_install_output(&output.stdout).unwrap();
        assert!(installed.created_directory);
        assert_eq!(installed.exportfs_status, Some(0));
        assert_eq!(installed.etab, "/srv\t*(ro)\n");
        assert!(String::from_utf8_lossy(&output.stderr).contains("Failed to resolve x"));
        assert_eq!(std::fs::read(&file).unwrap(), b"new\n");
        assert!(export_path.is_dir());

        let rollback = [
            file.as_os_str().to_owned(),
            os("yes"),
            os("yes"),
            export_path.as_os_str().to_owned(),
            exports.as_os_str().to_owned(),
        ];
        let refs: Vec<&std::ffi::OsStr> = rollback.iter().map(|a| a.as_os_str()).collect();
        assert!(run(ROLLBACK_SCRIPT, &refs, b"old\n").status.success());
        assert_eq!(std::fs::read(&file).unwrap(), b"old\n");
        assert!(
            !export_path.exists(),
            "the directory the failed install made is gone"
        );
        assert_eq!(
            std::fs::read_dir(&exports).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(!dir.path().join("pwned").exists());

        let output = run(DELETE_SCRIPT, &[file.as_os_str()], b"");
        assert!(output.status.success(), "{output:?}");
        assert!(!file.exists());
    }
}
