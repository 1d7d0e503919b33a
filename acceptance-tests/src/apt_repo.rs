//! A local signed apt repository for the lab hosts: tiny `.deb` packages built with `dpkg-deb`,
//! indexed and signed with a throwaway key (private `GNUPGHOME`), and served over HTTP on the
//! lab bridge's machine address only, so the hosts never reach the internet for packages.
//!
//! ```no_run
//! use acceptance_tests::apt_repo::AptRepo;
//! use acceptance_tests::lab::{Lab, LabSpec};
//!
//! let lab = Lab::up(LabSpec::default()).unwrap();
//! let repo = AptRepo::serve(lab.gateway()).unwrap();
//! println!("{} signed by\n{}", repo.url(), repo.public_key());
//! repo.republish().unwrap(); // hl-hello 1.2 appears
//! ```
//!
//! Packages (all `Architecture: all`): `hl-hello` 1.0 and 1.1 (1.2 after [`AptRepo::republish`]),
//! `hl-tools` 2.0 depending on `hl-hello (>= 1.0)`, `hl-needs-new` 1.0 depending on
//! `hl-hello (>= 1.2)`, and `hl-old` 0.1. Needs `dpkg-deb` (dpkg) and `gpg` (gnupg).

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::cli::REQUIRED_PROVIDERS;
use crate::lab::{Host, Lab, LabSpec};
use crate::ssh_host::hcl_string;

/// The suite the repository publishes.
pub const SUITE: &str = "stable";
/// Its one component.
pub const COMPONENT: &str = "main";

/// The key user id that signs the repository.
const SIGNER: &str = "homelab test repository <repo@lab.invalid>";
/// Another key in the same keyring that signs nothing: the wrong key for this repository.
const STRANGER: &str = "homelab stranger key <stranger@lab.invalid>";

/// One package of the repository: name, version, `Depends` (empty for none).
pub type PackageSpec = (&'static str, &'static str, &'static str);

/// The first publication.
const FIRST: &[PackageSpec] = &[
    ("hl-hello", "1.0", ""),
    ("hl-hello", "1.1", ""),
    ("hl-tools", "2.0", "hl-hello (>= 1.0)"),
    ("hl-needs-new", "1.0", "hl-hello (>= 1.2)"),
    ("hl-old", "0.1", ""),
];

/// What [`AptRepo::republish`] adds.
const SECOND: &[PackageSpec] = &[("hl-hello", "1.2", "")];

/// A served repository; stops serving and removes its files (and its gpg-agent) on drop.
#[derive(Debug)]
pub struct AptRepo {
    dir: TempDir,
    architecture: String,
    public_key: String,
    stranger_key: String,
    server: Server,
}

impl AptRepo {
    /// Builds, indexes and signs the first publication and serves it on `address` (the lab's
    /// [`crate::lab::Lab::gateway`]) at a free port.
    pub fn serve(address: Ipv4Addr) -> io::Result<AptRepo> {
        AptRepo::serve_packages(address, FIRST)
    }

    /// Like [`AptRepo::serve`], but the repository holds exactly `packages` (each a tiny
    /// `Architecture: all` package), e.g. stand-ins for kubeadm, kubelet and kubectl at the
    /// version a benchmark pins.
    pub fn serve_packages(address: Ipv4Addr, packages: &[PackageSpec]) -> io::Result<AptRepo> {
        let dir = tempfile::Builder::new().prefix("hl-apt").tempdir()?;
        let gnupg = dir.path().join("g");
        fs::create_dir(&gnupg)?;
        set_mode(&gnupg, 0o700)?;
        let architecture = output(Command::new("dpkg").arg("--print-architecture"))?
            .trim()
            .to_owned();
        let mut repo = AptRepo {
            server: Server::start(SocketAddr::from((address, 0)), dir.path().join("www"))?,
            dir,
            architecture,
            public_key: String::new(),
            stranger_key: String::new(),
        };
        for user in [SIGNER, STRANGER] {
            repo.gpg()
                .args(["--quick-gen-key", user, "ed25519", "sign", "never"])
                .status_ok()?;
        }
        repo.public_key = output(repo.gpg().args(["--armor", "--export", "repo@lab.invalid"]))?;
        repo.stranger_key =
            output(
                repo.gpg()
                    .args(["--armor", "--export", "stranger@lab.invalid"]),
            )?;
        for package in packages {
            repo.build(package)?;
        }
        repo.index()?;
        Ok(repo)
    }

    /// `http://GATEWAY:PORT/`, the `URIs` value.
    pub fn url(&self) -> String {
        format!("http://{}/", self.server.address)
    }

    /// The armored public key that signs the repository.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// A valid armored public key that did not sign the repository.
    pub fn stranger_key(&self) -> &str {
        &self.stranger_key
    }

    /// The machine's dpkg architecture, the one the indexes are for.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// Publishes `hl-hello` 1.2 as well, re-indexed and re-signed (hosts see it after their
    /// next `apt-get update`).
    pub fn republish(&self) -> io::Result<()> {
        for package in SECOND {
            self.build(package)?;
        }
        self.index()
    }

    /// The deb822 `.sources` text for this repository signed by `key_path`, as the provider
    /// writes it.
    pub fn sources_text(&self, key_path: &str) -> String {
        format!(
            "Types: deb\nURIs: {}\nSuites: {SUITE}\nComponents: {COMPONENT}\nSigned-By: {key_path}\n",
            self.url()
        )
    }

    fn www(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    fn gpg(&self) -> Command {
        let mut command = Command::new("gpg");
        command
            .env("GNUPGHOME", self.dir.path().join("g"))
            .args(["--batch", "--quiet", "--pinentry-mode", "loopback"])
            .args(["--passphrase", ""]);
        command
    }

    /// `pool/NAME_VERSION_all.deb` with a control file and one data file naming the version.
    fn build(&self, (name, version, depends): &PackageSpec) -> io::Result<()> {
        let root = self.dir.path().join(format!("build/{name}-{version}"));
        fs::create_dir_all(root.join("DEBIAN"))?;
        fs::create_dir_all(root.join(format!("usr/share/{name}")))?;
        fs::write(root.join("DEBIAN/control"), control(name, version, depends))?;
        fs::write(
            root.join(format!("usr/share/{name}/version")),
            format!("{name} {version}\n"),
        )?;
        let pool = self.www().join("pool");
        fs::create_dir_all(&pool)?;
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zgzip", "--build"])
            .arg(&root)
            .arg(pool.join(format!("{name}_{version}_all.deb")))
            .stdout_quiet()
            .status_ok()
    }

    /// Writes `Packages` for every built `.deb`, a `Release` with its checksum, and signs it
    /// (`InRelease` and `Release.gpg`).
    fn index(&self) -> io::Result<()> {
        let www = self.www();
        let mut debs: Vec<PathBuf> = fs::read_dir(www.join("pool"))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        debs.sort();
        let mut packages = String::new();
        for deb in &debs {
            let fields = output(Command::new("dpkg-deb").arg("--field").arg(deb))?;
            let bytes = fs::read(deb)?;
            let file_name = deb.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            packages.push_str(fields.trim_end());
            packages.push_str(&format!(
                "\nFilename: pool/{file_name}\nSize: {}\nSHA256: {}\n\n",
                bytes.len(),
                hex(&Sha256::digest(&bytes))
            ));
        }
        let suite_dir = www.join(format!("dists/{SUITE}"));
        let relative = format!("{COMPONENT}/binary-{}/Packages", self.architecture);
        let packages_path = suite_dir.join(&relative);
        fs::create_dir_all(packages_path.parent().expect("a parent"))?;
        fs::write(&packages_path, &packages)?;
        let date = output(Command::new("date").args(["-R", "-u"]))?;
        let release = format!(
            "Origin: homelab-test\nLabel: homelab-test\nSuite: {SUITE}\nCodename: {SUITE}\n\
             Date: {}\nArchitectures: {}\nComponents: {COMPONENT}\nSHA256:\n {} {} {relative}\n",
            date.trim(),
            self.architecture,
            hex(&Sha256::digest(packages.as_bytes())),
            packages.len(),
        );
        let release_path = suite_dir.join("Release");
        fs::write(&release_path, release)?;
        for (mode, name) in [
            ("--clearsign", "InRelease"),
            ("--detach-sign", "Release.gpg"),
        ] {
            let _ = fs::remove_file(suite_dir.join(name));
            self.gpg()
                .args([
                    "--local-user",
                    "repo@lab.invalid",
                    "--armor",
                    mode,
                    "--output",
                ])
                .arg(suite_dir.join(name))
                .arg(&release_path)
                .status_ok()?;
        }
        Ok(())
    }
}

impl Drop for AptRepo {
    fn drop(&mut self) {
        // gpg started an agent for this GNUPGHOME; stop exactly that one.
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.dir.path().join("g"))
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

fn control(name: &str, version: &str, depends: &str) -> String {
    let depends = if depends.is_empty() {
        String::new()
    } else {
        format!("Depends: {depends}\n")
    };
    format!(
        "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: homelab tests \
         <tests@lab.invalid>\n{depends}Description: homelab acceptance test package {name}\n"
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Runs a command and returns its stdout, failing with its stderr.
fn output(command: &mut Command) -> io::Result<String> {
    let out = command.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Small conveniences on `std::process::Command`.
trait CommandExt {
    fn status_ok(&mut self) -> io::Result<()>;
    fn stdout_quiet(&mut self) -> &mut Self;
}

impl CommandExt for Command {
    fn status_ok(&mut self) -> io::Result<()> {
        output(self).map(|_| ())
    }

    fn stdout_quiet(&mut self) -> &mut Self {
        self.stdout(std::process::Stdio::null())
    }
}

/// A static file server: GET and HEAD of files under `root`, keep-alive, one thread per
/// connection; stops on drop.
#[derive(Debug)]
struct Server {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(bind: SocketAddr, root: PathBuf) -> io::Result<Server> {
        fs::create_dir_all(&root)?;
        let listener = TcpListener::bind(bind)?;
        let address = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopping);
        // Non-blocking accepts polled with the stop flag: the lab's bridge (and with it the
        // address) may be gone before the server stops, so no connection could wake it.
        listener.set_nonblocking(true)?;
        let accept_thread = thread::Builder::new()
            .name(format!("apt-repo-{}", address.port()))
            .spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = stream.set_nonblocking(false);
                            let root = root.clone();
                            let _ = thread::Builder::new()
                                .name("apt-repo-connection".to_owned())
                                .spawn(move || serve_connection(stream, &root));
                        }
                        Err(_) => thread::sleep(std::time::Duration::from_millis(20)),
                    }
                }
            })?;
        Ok(Server {
            address,
            stopping,
            accept_thread: Some(accept_thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_connection(stream: TcpStream, root: &Path) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut close = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            close |= header.to_ascii_lowercase().starts_with("connection: close");
        }
        let mut words = request_line.split_whitespace();
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
        let body = file_for(root, target).and_then(|path| fs::read(path).ok());
        let head = method == "HEAD";
        let written = match (&body, method) {
            (Some(bytes), "GET" | "HEAD") => {
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
                    bytes.len()
                );
                writer.write_all(header.as_bytes()).and_then(|()| {
                    if head {
                        Ok(())
                    } else {
                        writer.write_all(bytes)
                    }
                })
            }
            _ => writer.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        };
        if written.is_err() || close {
            return;
        }
    }
}

/// The file a request path names under `root`; `None` for anything that could leave it.
fn file_for(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split('?').next()?.trim_start_matches('/');
    if path
        .split('/')
        .any(|part| part.is_empty() || part == ".." || part.starts_with('.'))
    {
        return None;
    }
    let file = root.join(path);
    file.is_file().then_some(file)
}

/// One lab host with the repository served to it: what the apt acceptance tests share.
#[derive(Debug)]
pub struct AptLab {
    /// The repository, served on the lab's gateway address (declared first: it stops before
    /// the lab takes the address away).
    pub repo: AptRepo,
    /// The lab (one host, the default image: apt and gpgv are all the repository needs).
    pub lab: Lab,
}

impl AptLab {
    /// Boots one host and serves the repository to it.
    pub fn up() -> AptLab {
        crate::cli::require_tf_acc();
        let lab = Lab::up(LabSpec::default()).expect("bring up the lab");
        let repo = AptRepo::serve(lab.gateway()).expect("build and serve the apt repository");
        AptLab { lab, repo }
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.lab.hosts()[0]
    }

    /// The host's address, as resources name it.
    pub fn address(&self) -> String {
        self.host().address.to_string()
    }

    /// `terraform { … }` and the provider block reaching the host with the lab's key and
    /// known_hosts file.
    pub fn provider(&self) -> String {
        format!(
            "{REQUIRED_PROVIDERS}\nprovider \"homelab\" {{\n  ssh {{\n    user             = \"root\"\n    \
             private_key_path = {}\n    known_hosts_path = {}\n  }}\n}}\n",
            hcl_string(&self.lab.private_key_path().display().to_string()),
            hcl_string(&self.lab.known_hosts_path().display().to_string()),
        )
    }

    /// Runs `script` with `sh -c` on the host (OpenSSH's client, not the provider), with
    /// `stdin`; returns the raw output.
    pub fn sh_output(&self, script: &str, stdin: &[u8]) -> std::process::Output {
        let mut child = self
            .lab
            .ssh(self.host())
            .arg(format!("sh -c {}", sh_quote(script)))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run ssh");
        let _ = child.stdin.take().expect("stdin").write_all(stdin);
        child.wait_with_output().expect("wait for ssh")
    }

    /// Runs `script` on the host; returns stdout, panicking on failure.
    pub fn sh(&self, script: &str) -> String {
        let output = self.sh_output(script, b"");
        assert!(
            output.status.success(),
            "`{script}` failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A file's bytes on the host, `None` when it does not exist.
    pub fn file(&self, path: &str) -> Option<String> {
        let output = self.sh_output(&format!("cat -- {}", sh_quote(path)), b"");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Writes a file on the host by hand.
    pub fn write_file(&self, path: &str, content: &str) {
        let output = self.sh_output(&format!("cat > {}", sh_quote(path)), content.as_bytes());
        assert!(output.status.success(), "writing {path}: {output:?}");
    }

    /// Configures the repository as `name` by hand (key, `.sources`, refresh of its lists), the
    /// way an operator would, without the provider.
    pub fn add_repository_by_hand(&self, name: &str) {
        let key_path = format!("/etc/apt/keyrings/{name}.asc");
        self.sh("mkdir -p /etc/apt/keyrings");
        self.write_file(&key_path, self.repo.public_key());
        self.write_file(
            &format!("/etc/apt/sources.list.d/{name}.sources"),
            &self.repo.sources_text(&key_path),
        );
        self.refresh_lists(name);
    }

    /// `apt-get update` of the repository `name` only (the host has no other reachable source).
    pub fn refresh_lists(&self, name: &str) {
        self.sh(&format!(
            "apt-get update -q -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/{name}.sources \
             -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 --error-on=any"
        ));
    }

    /// The versions `apt-cache madison` lists for `package`.
    pub fn available_versions(&self, package: &str) -> Vec<String> {
        self.sh(&format!("apt-cache madison {}", sh_quote(package)))
            .lines()
            .filter_map(|line| line.split('|').nth(1).map(|v| v.trim().to_owned()))
            .collect()
    }

    /// The installed `hl-*` test packages and their versions, as dpkg reports them.
    pub fn installed(&self) -> Vec<(String, String)> {
        self.sh("dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' 'hl-*' 2>/dev/null || true")
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                match fields[..] {
                    [name, version, status] if status.as_bytes().get(1) == Some(&b'i') => {
                        Some((name.to_owned(), version.to_owned()))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The held packages (`apt-mark showhold`).
    pub fn holds(&self) -> Vec<String> {
        self.sh("apt-mark showhold")
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// POSIX single-quoting for the check commands' own lines.
fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}
