//! The repository's two files on the host: written together and checked by refreshing this
//! repository's lists (the old files put back when apt refuses), read back in one round trip
//! with a hash of the downloaded indexes, and removed with those indexes.
//!
//! The scripts are fixed texts; paths and the `.sources` text reach them as quoted positional
//! arguments, the key on standard input.

use std::time::Duration;

use super::sources::sha256_hex;
use crate::ssh::{Command, Session, SshError};

/// The exit status [`WRITE_SCRIPT`] uses when apt refused the new files and the old ones were
/// put back.
const APT_REFUSED: u32 = 3;

/// Writes the key (stdin) and the `.sources` text (`$3`) atomically, then refreshes only this
/// repository's lists. When apt fails (unreachable URI, unknown suite, a key that does not
/// verify the Release file), both files are restored as they were (or removed if they were not
/// there) and apt's output goes to stderr with exit status 3.
const WRITE_SCRIPT: &str = r#"set -u
sources=$1 key=$2 content=$3 size=$4
work=$(mktemp -d) || exit 1
trap 'rm -rf -- "$work"' EXIT
trap 'exit 1' HUP INT TERM
cat > "$work/key.new"
got=$(wc -c < "$work/key.new" | tr -d ' ')
if [ "$got" != "$size" ]; then echo "received $got of $size bytes of the key; nothing changed" >&2; exit 1; fi
printf '%s' "$content" > "$work/sources.new" || exit 1
put() {
  tmp=$(mktemp "${2%/*}/.homelab-tmp.XXXXXXXXXX") || return 1
  if cat -- "$1" > "$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$2"; then return 0; fi
  rm -f -- "$tmp"; return 1
}
restore() {
  if [ -e "$work/$1.old" ]; then put "$work/$1.old" "$2"; else rm -f -- "$2"; fi
}
if [ -e "$sources" ]; then cp -p -- "$sources" "$work/sources.old" || exit 1; fi
if [ -e "$key" ]; then cp -p -- "$key" "$work/key.old" || exit 1; fi
mkdir -p -- "${key%/*}" "${sources%/*}" || exit 1
if ! { put "$work/key.new" "$key" && put "$work/sources.new" "$sources"; }; then
  restore key "$key"; restore sources "$sources"; exit 1
fi
if ! out=$(apt-get update -q -o Dir::Etc::sourcelist="$sources" -o Dir::Etc::sourceparts=- \
    -o APT::Get::List-Cleanup=0 -o Acquire::Retries=0 --error-on=any 2>&1); then
  restore key "$key"; restore sources "$sources"
  printf '%s\n' "$out" >&2
  exit 3
fi
"#;

/// Prints each file as `SIZE\n` + bytes (or `absent\n`), then `sha256  path` of every index
/// file apt keeps for the repository.
const READ_SCRIPT: &str = r#"for f in "$1" "$2"; do
  if [ -f "$f" ]; then wc -c < "$f" | tr -d ' '; cat -- "$f"; else echo absent; fi
done
if [ -f "$1" ]; then
  apt-get indextargets -o Dir::Etc::sourcelist="$1" -o Dir::Etc::sourceparts=- \
    --format '$(FILENAME)' | sort -u | while read -r index; do
    if [ -f "$index" ]; then sha256sum -- "$index"; fi
  done
fi
"#;

/// Removes both files and the index files apt downloaded for them (only under apt's lists
/// directory), so the repository's packages stop being candidates right away.
const REMOVE_SCRIPT: &str = r#"set -u
sources=$1 key=$2
targets=
if [ -f "$sources" ]; then
  targets=$(apt-get indextargets -o Dir::Etc::sourcelist="$sources" -o Dir::Etc::sourceparts=- \
    --format '$(FILENAME) $(METAKEY)') || targets=
fi
rm -f -- "$sources" "$key" || exit 1
printf '%s\n' "$targets" | while read -r index metakey; do
  case $index in /var/lib/apt/lists/?*) ;; *) continue ;; esac
  prefix=${index%"$(printf '%s' "$metakey" | tr / _)"}
  rm -f -- "$index" "$index".* "${prefix}InRelease" "${prefix}Release" "${prefix}Release.gpg"
done
"#;

/// What the host has for one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OnHost {
    /// The `.sources` file's bytes.
    pub(super) sources: Vec<u8>,
    /// The key file's bytes, when it exists.
    pub(super) key: Option<Vec<u8>>,
    /// SHA-256 over the index files' hashes.
    pub(super) index_sha256: String,
}

/// Why the repository's files could not be changed.
#[derive(Debug, thiserror::Error)]
pub(super) enum WriteError {
    /// apt could not fetch or verify the repository; the previous files are back.
    #[error("{0}")]
    AptRefused(String),
    /// The connection or the script failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
}

/// Writes both files and refreshes the repository's lists, restoring the old files if apt
/// refuses them.
pub(super) async fn write(
    session: &Session<'_>,
    sources_path: &str,
    key_path: &str,
    sources_text: &str,
    key: &[u8],
    timeout: Duration,
) -> Result<(), WriteError> {
    let command = Command::shell_script(WRITE_SCRIPT)
        .args([sources_path, key_path, sources_text, &key.len().to_string()])
        .stdin(key)
        .timeout(timeout);
    let output = session.run(&command).await?;
    if output.success() {
        return Ok(());
    }
    if output.status.code() == Some(APT_REFUSED) {
        return Err(WriteError::AptRefused(apt_errors(&output.stderr_text())));
    }
    let stderr = output.stderr_text();
    Err(WriteError::Ssh(SshError::CommandFailed {
        target: session.target().display(),
        command: format!("writing {sources_path} and {key_path}"),
        status: output.status,
        stderr,
    }))
}

/// Reads both files and the index hash; `None` when the `.sources` file is gone.
pub(super) async fn read(
    session: &Session<'_>,
    sources_path: &str,
    key_path: &str,
) -> Result<Option<OnHost>, SshError> {
    let command = Command::shell_script(READ_SCRIPT).args([sources_path, key_path]);
    let output = session.run_checked(&command).await?;
    parse_read_output(&output.stdout).map_err(|detail| SshError::UnexpectedOutput {
        target: session.target().display(),
        command: format!("reading {sources_path}"),
        detail,
    })
}

/// Removes both files and the repository's downloaded indexes.
pub(super) async fn remove(
    session: &Session<'_>,
    sources_path: &str,
    key_path: &str,
    timeout: Duration,
) -> Result<(), SshError> {
    let command = Command::shell_script(REMOVE_SCRIPT)
        .args([sources_path, key_path])
        .timeout(timeout);
    session.run_checked(&command).await.map(|_| ())
}

/// The lines of apt's output that say what went wrong (`E:`, `W:`, `Err:` and the indented
/// detail after it); all of it when it has none of those.
pub(super) fn apt_errors(output: &str) -> String {
    let mut kept = Vec::new();
    let mut after_err = false;
    for line in output.lines() {
        if line.starts_with("Err:") {
            after_err = true;
            kept.push(line);
        } else if line.starts_with(' ') && after_err {
            kept.push(line);
        } else {
            after_err = false;
            if line.starts_with("E:") || line.starts_with("W:") {
                kept.push(line);
            }
        }
    }
    if kept.is_empty() {
        output.trim().to_owned()
    } else {
        kept.join("\n")
    }
}

fn parse_read_output(stdout: &[u8]) -> Result<Option<OnHost>, String> {
    let mut rest = stdout;
    let mut files = Vec::new();
    for _ in 0..2 {
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("a file header is missing")?;
        let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
        rest = &rest[newline + 1..];
        if header == "absent" {
            files.push(None);
            continue;
        }
        let size: usize = header
            .parse()
            .map_err(|_| format!("bad file header {header:?}"))?;
        if rest.len() < size {
            return Err(format!("expected {size} bytes, got {}", rest.len()));
        }
        files.push(Some(rest[..size].to_vec()));
        rest = &rest[size..];
    }
    let key = files.pop().flatten();
    let Some(sources) = files.pop().flatten() else {
        return Ok(None);
    };
    let mut lines: Vec<&str> = std::str::from_utf8(rest)
        .map_err(|_| "index hashes are not text")?
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort_unstable();
    let index_sha256 = sha256_hex(lines.join("\n").as_bytes());
    Ok(Some(OnHost {
        sources,
        key,
        index_sha256,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_output_splits_files_and_hashes_the_index_lines() {
        let out = b"4\nab\ncabsent\nh2  /var/lib/apt/lists/b\nh1  /var/lib/apt/lists/a\n";
        let host = parse_read_output(out).unwrap().unwrap();
        assert_eq!(host.sources, b"ab\nc");
        assert_eq!(host.key, None);
        assert_eq!(
            host.index_sha256,
            sha256_hex(b"h1  /var/lib/apt/lists/a\nh2  /var/lib/apt/lists/b")
        );
        assert_eq!(parse_read_output(b"absent\n3\nkey").unwrap(), None);
        assert!(parse_read_output(b"10\nshort").is_err());
    }

    #[test]
    fn apt_errors_keep_what_went_wrong() {
        let output = "Ign:1 http://x stable InRelease\nErr:2 http://x stable Release\n  404  File not found\n\
                      Reading package lists...\nE: The repository 'http://x stable Release' does not have a Release file.";
        assert_eq!(
            apt_errors(output),
            "Err:2 http://x stable Release\n  404  File not found\nE: The repository 'http://x stable Release' does not have a Release file."
        );
    }

    /// The write script run by a real local shell with a fake `apt-get`: a refused update puts
    /// the old files back (or removes new ones), an accepted one keeps the new files, and
    /// hostile text in the `.sources` content is written, never run.
    #[test]
    fn a_refused_update_restores_the_previous_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let apt = bin.join("apt-get");
        std::fs::write(
            &apt,
            "#!/bin/sh\nif [ -e \"$APT_FAILS\" ]; then echo 'E: no Release file' >&2; exit 100; fi\n",
        )
        .unwrap();
        std::fs::set_permissions(&apt, std::fs::Permissions::from_mode(0o755)).unwrap();
        let sources = dir.path().join("d/x.sources");
        let key = dir.path().join("k/x.asc");
        let fails = dir.path().join("fails");
        let run = |content: &str, key_text: &str| {
            use std::io::Write;
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(WRITE_SCRIPT)
                .arg("sh")
                .arg(&sources)
                .arg(&key)
                .arg(content)
                .arg(key_text.len().to_string())
                .env(
                    "PATH",
                    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
                )
                .env("APT_FAILS", &fails)
                .current_dir(dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(key_text.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        };
        std::fs::write(&fails, "").unwrap();
        let output = run("Suites: $(touch pwned)\n", "key1");
        assert_eq!(output.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&output.stderr).contains("E: no Release file"));
        assert!(!sources.exists() && !key.exists(), "new files removed");
        std::fs::remove_file(&fails).unwrap();
        let output = run("Suites: $(touch pwned)\n", "key1");
        assert!(output.status.success(), "{output:?}");
        assert_eq!(
            std::fs::read_to_string(&sources).unwrap(),
            "Suites: $(touch pwned)\n"
        );
        std::fs::write(&fails, "").unwrap();
        let output = run("Suites: other\n", "key2");
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(
            std::fs::read_to_string(&sources).unwrap(),
            "Suites: $(touch pwned)\n"
        );
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "key1");
        let leftovers = std::fs::read_dir(sources.parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary files");
        assert!(!dir.path().join("pwned").exists());
    }
}
