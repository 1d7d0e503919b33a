//! A local AWS API for the tests: starts `moto_server` on a free port of 127.0.0.1, hands the
//! provider the environment that points it there, and reads and edits Route53, ACM
//! (`moto/acm.rs`) and CloudFront (`moto/cloudfront.rs`) behind terraform's back through the SDK.
//!
//! moto has gaps (listed in LAB.md): Route53 change ids are constant and always INSYNC, ACM
//! certificates turn ISSUED without validation, CloudFront ETags never change. Tests never
//! assert on them.

mod acm;
mod cloudfront;

pub use cloudfront::DistributionView;

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use aws_sdk_route53::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HostedZoneConfig, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::cli::Workdir;

/// How to install the server when it is missing.
pub const INSTALL_COMMAND: &str = "pip install 'moto[server]'";

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// The fake access key moto accepts (it checks no signature).
pub const ACCESS_KEY_ID: &str = "testing";

/// The fake secret key.
pub const SECRET_ACCESS_KEY: &str = "testing";

/// Seconds moto keeps a requested certificate `PENDING_VALIDATION` before it reports it
/// `ISSUED` (its default is 60): short, but long enough that the provider really waits.
pub const ACM_VALIDATION_WAIT_SECONDS: u64 = 2;

/// How long moto may take to answer its first request (it is ready in about half a second).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `moto_server` on 127.0.0.1; killed (by its process id) on drop.
pub struct Moto {
    child: Child,
    address: SocketAddr,
    dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    route53: aws_sdk_route53::Client,
}

/// One record set as moto holds it, the name normalized (lowercase, no trailing dot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's name.
    pub name: String,
    /// Its type, e.g. `A`.
    pub record_type: String,
    /// Its TTL; `None` for an alias.
    pub ttl: Option<i64>,
    /// Its values, e.g. addresses.
    pub values: Vec<String>,
}

impl Moto {
    /// Starts the server and waits until it answers; panics with the install command when
    /// `moto_server` is not on the PATH, and with its log when it does not come up.
    pub fn start() -> Moto {
        let program = find_on_path("moto_server").unwrap_or_else(|| {
            panic!(
                "moto_server is not on the PATH; the AWS tests run against this local AWS API. \
                 Install it with: {INSTALL_COMMAND} (./scripts/test does)"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("moto-")
            .tempdir()
            .expect("create a directory for moto's log");
        let log_path = dir.path().join("moto.log");
        let log = std::fs::File::create(&log_path).expect("create moto's log");
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env(
                "MOTO_ACM_VALIDATION_WAIT",
                ACM_VALIDATION_WAIT_SECONDS.to_string(),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the AWS SDK");
        let route53 = aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(REGION))
                .credentials_provider(Credentials::new(
                    ACCESS_KEY_ID,
                    SECRET_ACCESS_KEY,
                    None,
                    None,
                    "moto",
                ))
                .endpoint_url(format!("http://{address}"))
                .build(),
        );
        let mut moto = Moto {
            child,
            address,
            dir,
            runtime,
            route53,
        };
        moto.wait_until_ready(&log_path);
        moto
    }

    /// The URL every AWS service is reached at, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The environment that points the provider (and the AWS SDK in it) at this server with
    /// fake credentials, and keeps it away from the instance metadata service and from the
    /// caller's own `~/.aws` files.
    pub fn provider_env(&self) -> Vec<(String, String)> {
        let endpoint = self.endpoint();
        let missing_file = self.dir.path().join("no-such-aws-file");
        let missing_file = missing_file.to_string_lossy().into_owned();
        [
            ("AWS_ENDPOINT_URL_ROUTE_53", endpoint.as_str()),
            ("AWS_ENDPOINT_URL_ACM", endpoint.as_str()),
            ("AWS_ENDPOINT_URL_CLOUDFRONT", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", missing_file.as_str()),
            ("AWS_SHARED_CREDENTIALS_FILE", missing_file.as_str()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
    }

    /// `workdir` with [`Moto::provider_env`] added to every CLI run.
    pub fn configure(&self, workdir: Workdir) -> Workdir {
        self.provider_env()
            .iter()
            .fold(workdir, |workdir, (key, value)| {
                workdir.with_env(key, value)
            })
    }

    /// Forgets every object in every service (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let status = post(self.address, "/moto-api/reset")
            .unwrap_or_else(|e| panic!("reset moto at {}: {e}", self.address));
        assert_eq!(status, 200, "moto answered the reset with HTTP {status}");
    }

    /// The Route53 client the helpers use, for calls they do not cover.
    pub fn route53(&self) -> &aws_sdk_route53::Client {
        &self.route53
    }

    /// Runs an SDK future to completion (tests are synchronous).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Creates a public hosted zone; returns its id without the `/hostedzone/` prefix.
    pub fn create_hosted_zone(&self, name: &str) -> String {
        let output = self
            .block_on(
                self.route53
                    .create_hosted_zone()
                    .name(name)
                    .caller_reference(format!("acceptance-{name}-{}", unique_suffix()))
                    .hosted_zone_config(
                        HostedZoneConfig::builder()
                            .private_zone(false)
                            .comment("acceptance test")
                            .build(),
                    )
                    .send(),
            )
            .unwrap_or_else(|e| panic!("create hosted zone {name}: {e:?}"));
        let zone = output
            .hosted_zone()
            .expect("CreateHostedZone returns the zone");
        zone.id().trim_start_matches("/hostedzone/").to_owned()
    }

    /// Every record set of a zone (SOA and NS included).
    pub fn records(&self, zone_id: &str) -> Vec<Record> {
        let output = self
            .block_on(
                self.route53
                    .list_resource_record_sets()
                    .hosted_zone_id(zone_id)
                    .max_items(1000)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("list records of {zone_id}: {e:?}"));
        output
            .resource_record_sets()
            .iter()
            .map(|set| Record {
                name: normalize(set.name()),
                record_type: set.r#type().as_str().to_owned(),
                ttl: set.ttl(),
                values: set
                    .resource_records()
                    .iter()
                    .map(|r| r.value().to_owned())
                    .collect(),
            })
            .collect()
    }

    /// The record set with this name (compared case-insensitively) and type, if any.
    pub fn record(&self, zone_id: &str, name: &str, record_type: &str) -> Option<Record> {
        let name = normalize(name);
        let mut matching: Vec<Record> = self
            .records(zone_id)
            .into_iter()
            .filter(|r| r.name == name && r.record_type == record_type)
            .collect();
        assert!(
            matching.len() <= 1,
            "{zone_id} holds {} {record_type} records named {name}: {matching:?}",
            matching.len()
        );
        matching.pop()
    }

    /// Creates or replaces a record set, as someone editing the zone by hand would.
    pub fn upsert_record(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
        ttl: i64,
        values: &[&str],
    ) {
        let mut set = ResourceRecordSet::builder()
            .name(format!("{}.", normalize(name)))
            .r#type(RrType::from(record_type))
            .ttl(ttl);
        for value in values {
            set = set.resource_records(
                ResourceRecord::builder()
                    .value(*value)
                    .build()
                    .expect("a record value"),
            );
        }
        self.change(
            zone_id,
            ChangeAction::Upsert,
            set.build().expect("a record set"),
        );
    }

    /// Deletes a record set (which must exist), as someone editing the zone by hand would.
    pub fn delete_record(&self, zone_id: &str, name: &str, record_type: &str) {
        let record = self
            .record(zone_id, name, record_type)
            .unwrap_or_else(|| panic!("no {record_type} record {name} in {zone_id} to delete"));
        let mut set = ResourceRecordSet::builder()
            .name(format!("{}.", record.name))
            .r#type(RrType::from(record_type));
        if let Some(ttl) = record.ttl {
            set = set.ttl(ttl);
        }
        for value in &record.values {
            set = set.resource_records(
                ResourceRecord::builder()
                    .value(value)
                    .build()
                    .expect("a record value"),
            );
        }
        self.change(
            zone_id,
            ChangeAction::Delete,
            set.build().expect("a record set"),
        );
    }

    fn change(&self, zone_id: &str, action: ChangeAction, set: ResourceRecordSet) {
        let description = format!("{action:?} {} {:?}", set.name(), set.r#type());
        let batch = ChangeBatch::builder()
            .changes(
                Change::builder()
                    .action(action)
                    .resource_record_set(set)
                    .build()
                    .expect("a change"),
            )
            .build()
            .expect("a change batch");
        self.block_on(
            self.route53
                .change_resource_record_sets()
                .hosted_zone_id(zone_id)
                .change_batch(batch)
                .send(),
        )
        .unwrap_or_else(|e| panic!("{description} in {zone_id}: {e:?}"));
    }

    fn wait_until_ready(&mut self, log_path: &Path) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("check on moto_server") {
                panic!(
                    "moto_server exited ({status}) before answering on {}; its log:\n{}",
                    self.address,
                    std::fs::read_to_string(log_path).unwrap_or_default()
                );
            }
            if post(self.address, "/moto-api/reset").is_ok_and(|status| status == 200) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "moto_server did not answer on {} within {STARTUP_TIMEOUT:?}; its log:\n{}",
                    self.address,
                    std::fs::read_to_string(log_path).unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Kills exactly the process this harness started, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A DNS name as compared here: lowercase, without the trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}

/// A bodiless HTTP POST to 127.0.0.1; returns the status code.
fn post(address: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP response: {response:.80}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_without_case_or_trailing_dot() {
        assert_eq!(
            normalize("Clearbrook.Goldentooth.net."),
            "clearbrook.goldentooth.net"
        );
    }
}
