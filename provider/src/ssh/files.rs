//! Files on a host: byte-exact reads with their metadata in one round trip, atomic writes
//! (temporary file in the same directory, owner and mode set, then rename), and deletes.
//!
//! The scripts here are fixed texts; paths, modes and owners reach them only as quoted
//! positional arguments (`"$1"`), and content only on standard input.

use super::command::{Command, Output};
use super::error::SshError;
use super::session::Session;

/// Reads metadata and content in one round trip. Prints a header line, then the raw bytes.
const READ_SCRIPT: &str = r#"f=$1
if [ -d "$f" ]; then echo 'homelab-file directory'; exit 0; fi
if [ ! -e "$f" ]; then echo 'homelab-file absent'; exit 0; fi
meta=$(stat -L -c '%a %u %g %U %G' -- "$f") || exit 1
printf 'homelab-file present %s\n' "$meta"
exec cat -- "$f"
"#;

/// Writes standard input to a temporary file beside the target, checks that every byte
/// arrived, sets owner, group and mode, then renames it over the target; prints the new
/// metadata. A failure, a cut connection or a stop signal leaves the old file and no temporary.
const WRITE_SCRIPT: &str = r#"set -eu
path=$1 mode=$2 owner=$3 group=$4 parents=$5 size=$6
dir=${path%/*}
[ -n "$dir" ] || dir=/
if [ "$parents" = yes ]; then mkdir -p -- "$dir"; fi
if [ -d "$path" ]; then echo "$path is a directory" >&2; exit 1; fi
tmp=$(mktemp "$dir/.homelab-tmp.XXXXXXXXXX")
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
cat > "$tmp"
got=$(wc -c < "$tmp" | tr -d ' ')
if [ "$got" != "$size" ]; then echo "received $got of $size bytes; not installed" >&2; exit 1; fi
if [ -n "$owner" ]; then chown -- "$owner" "$tmp"; fi
if [ -n "$group" ]; then chgrp -- "$group" "$tmp"; fi
chmod -- "$mode" "$tmp"
mv -f -- "$tmp" "$path"
trap - EXIT
stat -c '%a %u %g %U %G' -- "$path"
"#;

/// Removes a file; a missing file is not an error. Prints whether it existed.
const REMOVE_SCRIPT: &str = r#"if [ -d "$1" ]; then echo "$1 is a directory" >&2; exit 1; fi
if [ -e "$1" ] || [ -L "$1" ]; then rm -f -- "$1"; echo removed; else echo absent; fi
"#;

/// A file's owner, group and permission bits as the host reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetadata {
    /// Permission bits, e.g. `0o644` (setuid, setgid and sticky included).
    pub mode: u32,
    /// Owner's numeric id.
    pub uid: u32,
    /// Group's numeric id.
    pub gid: u32,
    /// Owner's name (`UNKNOWN` when the id has none).
    pub owner: String,
    /// Group's name (`UNKNOWN` when the id has none).
    pub group: String,
}

impl FileMetadata {
    /// The mode as four octal digits, e.g. `0644`.
    pub fn mode_text(&self) -> String {
        format!("{:04o}", self.mode)
    }
}

/// A file read from a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Its bytes, exactly.
    pub content: Vec<u8>,
    /// Its metadata.
    pub metadata: FileMetadata,
}

/// What to write and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite<'a> {
    /// The bytes, exactly.
    pub content: &'a [u8],
    /// Octal mode text, e.g. `0644`.
    pub mode: &'a str,
    /// Owner name or id; `None` keeps the connecting user's.
    pub owner: Option<&'a str>,
    /// Group name or id; `None` keeps the connecting user's.
    pub group: Option<&'a str>,
    /// Create missing parent directories.
    pub create_directories: bool,
}

impl Session<'_> {
    /// Reads a file byte for byte with its metadata; `None` when it does not exist.
    pub async fn read_file(&self, path: &str) -> Result<Option<RemoteFile>, SshError> {
        let command = Command::shell_script(READ_SCRIPT).arg(path);
        let output = self.run(&command).await?;
        let what = format!("reading {path}");
        if !output.success() {
            return Err(self.failed(&what, &output));
        }
        parse_read_output(&output.stdout).map_err(|detail| self.unexpected(&what, detail))
    }

    /// Writes a file atomically; returns the metadata it ended up with.
    pub async fn write_file(
        &self,
        path: &str,
        file: &FileWrite<'_>,
    ) -> Result<FileMetadata, SshError> {
        let parents = if file.create_directories { "yes" } else { "no" };
        let size = file.content.len().to_string();
        let command = Command::shell_script(WRITE_SCRIPT)
            .args([
                path,
                file.mode,
                file.owner.unwrap_or(""),
                file.group.unwrap_or(""),
                parents,
                &size,
            ])
            .stdin(file.content);
        let output = self.run(&command).await?;
        let what = format!("writing {path}");
        if !output.success() {
            return Err(self.failed(&what, &output));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        parse_metadata(text.trim()).map_err(|detail| self.unexpected(&what, detail))
    }

    /// Removes a file; returns whether it existed.
    pub async fn remove_file(&self, path: &str) -> Result<bool, SshError> {
        let output = self
            .run(&Command::shell_script(REMOVE_SCRIPT).arg(path))
            .await?;
        let what = format!("removing {path}");
        if !output.success() {
            return Err(self.failed(&what, &output));
        }
        Ok(output.stdout.starts_with(b"removed"))
    }

    fn failed(&self, what: &str, output: &Output) -> SshError {
        SshError::CommandFailed {
            target: self.target().display(),
            command: what.to_owned(),
            status: output.status.clone(),
            stderr: output.stderr_text(),
        }
    }

    fn unexpected(&self, what: &str, detail: String) -> SshError {
        SshError::UnexpectedOutput {
            target: self.target().display(),
            command: what.to_owned(),
            detail,
        }
    }
}

fn parse_read_output(stdout: &[u8]) -> Result<Option<RemoteFile>, String> {
    let newline = stdout
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| "no header line".to_owned())?;
    let header = String::from_utf8_lossy(&stdout[..newline]);
    let content = &stdout[newline + 1..];
    match header.strip_prefix("homelab-file ") {
        Some("absent") => Ok(None),
        Some("directory") => Err("the path is a directory, not a file".into()),
        Some(rest) => match rest.strip_prefix("present ") {
            Some(metadata) => Ok(Some(RemoteFile {
                content: content.to_vec(),
                metadata: parse_metadata(metadata)?,
            })),
            None => Err(format!("unknown header {header:?}")),
        },
        None => Err(format!("unknown header {header:?}")),
    }
}

/// Parses `stat -c '%a %u %g %U %G'`.
fn parse_metadata(text: &str) -> Result<FileMetadata, String> {
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let [mode, uid, gid, owner, group] = fields[..] else {
        return Err(format!("expected mode, ids and names, got {text:?}"));
    };
    let number = |field: &str, radix: u32| {
        u32::from_str_radix(field, radix).map_err(|_| format!("bad number {field:?} in {text:?}"))
    };
    Ok(FileMetadata {
        mode: number(mode, 8)?,
        uid: number(uid, 10)?,
        gid: number(gid, 10)?,
        owner: owner.to_owned(),
        group: group.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::process::{Command as Process, Stdio};

    fn metadata() -> FileMetadata {
        FileMetadata {
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
        }
    }

    #[test]
    fn read_output_keeps_content_bytes_exactly() {
        let out = b"homelab-file present 644 0 0 root root\n\xff\x00line\n\n".to_vec();
        let file = parse_read_output(&out).unwrap().unwrap();
        assert_eq!(file.content, b"\xff\x00line\n\n");
        assert_eq!(file.metadata, metadata());
        assert_eq!(file.metadata.mode_text(), "0644");
        assert_eq!(
            parse_read_output(b"homelab-file present 4755 0 0 root root\n")
                .unwrap()
                .unwrap()
                .metadata
                .mode_text(),
            "4755"
        );
        assert_eq!(parse_read_output(b"homelab-file absent\n").unwrap(), None);
        assert!(parse_read_output(b"homelab-file directory\n").is_err());
        assert!(parse_read_output(b"garbage").is_err());
    }

    /// Runs a script locally with `sh -c SCRIPT sh ARGS…`, as the host's shell would.
    fn run_locally(script: &str, args: &[&[u8]], stdin: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child = Process::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(args.iter().map(|a| std::ffi::OsStr::from_bytes(a)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A script that fails early never reads its input; the pipe then breaks, which is fine.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    /// The scripts, run by a real local shell with hostile paths and contents: bytes round-trip
    /// exactly, nothing in a path runs, and the write leaves no temporary file behind.
    #[test]
    fn scripts_round_trip_hostile_paths_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pwned");
        let hostile_dir = format!(
            "{}/new dir/$(touch {})/`touch {}`;'\"\n",
            dir.path().display(),
            marker.display(),
            marker.display()
        );
        let path = format!("{hostile_dir}/file; rm -rf x 'quoted'");
        let content: &[u8] = b"\xff\xfe\x00binary\n$(touch /tmp/never)\n";

        let output = run_locally(
            WRITE_SCRIPT,
            &[
                path.as_bytes(),
                b"0640",
                b"",
                b"",
                b"yes",
                content.len().to_string().as_bytes(),
            ],
            content,
        );
        assert!(output.status.success(), "{output:?}");
        let written = parse_metadata(String::from_utf8_lossy(&output.stdout).trim()).unwrap();
        assert_eq!(written.mode, 0o640);
        assert_eq!(
            std::fs::read(std::ffi::OsStr::from_bytes(path.as_bytes())).unwrap(),
            content
        );

        let output = run_locally(READ_SCRIPT, &[path.as_bytes()], b"");
        let file = parse_read_output(&output.stdout).unwrap().unwrap();
        assert_eq!(file.content, content);
        assert_eq!(file.metadata.mode, 0o640);

        let leftovers: Vec<_> =
            std::fs::read_dir(std::ffi::OsStr::from_bytes(hostile_dir.as_bytes()))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");

        let output = run_locally(REMOVE_SCRIPT, &[path.as_bytes()], b"");
        assert_eq!(output.stdout, b"removed\n");
        let output = run_locally(REMOVE_SCRIPT, &[path.as_bytes()], b"");
        assert_eq!(output.stdout, b"absent\n");
        let output = run_locally(READ_SCRIPT, &[path.as_bytes()], b"");
        assert_eq!(parse_read_output(&output.stdout).unwrap(), None);
        assert!(!marker.exists(), "a path ran a command");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let path_bytes = path.as_os_str().as_bytes();
        // An invalid mode makes chmod fail after the content was written.
        let output = run_locally(
            WRITE_SCRIPT,
            &[path_bytes, b"9999", b"", b"", b"no"],
            b"new",
        );
        assert!(!output.status.success());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Writing over a directory is refused instead of moving the file into it.
        let output = run_locally(
            WRITE_SCRIPT,
            &[
                dir.path().as_os_str().as_bytes(),
                b"0644",
                b"",
                b"",
                b"no",
                b"1",
            ],
            b"x",
        );
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("is a directory"));
        // Fewer bytes than announced (a connection cut mid-write): nothing is installed.
        let output = run_locally(
            WRITE_SCRIPT,
            &[path_bytes, b"0644", b"", b"", b"no", b"10"],
            b"short",
        );
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("received 5 of 10 bytes"));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
