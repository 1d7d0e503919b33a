//! The examples folder is a contract: every example is formatted and applied here with the real CLI.

#[path = "bgp/lab.rs"]
#[allow(dead_code)] // The BGP tests' lab helpers: this test uses the router and speaker ones.
mod bgp_lab;

use std::path::{Path, PathBuf};
use std::time::Duration;

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir, workspace_root};
use acceptance_tests::echo::EchoServer;
use acceptance_tests::lab::{Backend, Host, Lab, LabSpec};
use acceptance_tests::moto::{Moto, REGION};
use acceptance_tests::show::StateView;
use acceptance_tests::ssh_host::hcl_string;
use acceptance_tests::steps::{Step, TestCase};
use bgp_lab::{BgpLab, ROUTER_ASN, SPEAKER_ASN, service_prefix, wait_until};
use serde_json::json;

const DEMO_ADDRESS: &str = "81.2.69.160";

fn examples_dir() -> PathBuf {
    workspace_root().join("examples")
}

/// The `.tf` files of one example directory, concatenated in name order into one configuration.
fn example_config(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .tf files in {}", dir.display());
    files
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("read an example file"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn provider_block_for(echo: &EchoServer) -> String {
    format!(
        "provider \"homelab\" {{\n  public_ip {{\n    sources = [\"{}\"]\n  }}\n}}\n",
        echo.url()
    )
}

#[test]
fn examples_are_formatted() {
    let workdir = Workdir::new("examples_are_formatted");
    let examples = examples_dir();
    let examples = examples.to_str().expect("a UTF-8 path");
    workdir.run_ok(&[
        "fmt",
        "-check",
        "-recursive",
        "-diff",
        "-no-color",
        examples,
    ]);
}

/// The homelab example's nodes, mapped onto lab hosts 1, 2 and 3 as ./scripts/demo maps them;
/// the router is host 4.
const NODE_NAMES: [&str; 3] = ["allyrion", "bettley", "cargyll"];

/// The Debian packages of the homelab example's lab: the list ./scripts/demo uses, so the test
/// and the demo share one cached image.
const HOMELAB_LAB_PACKAGES: &str = include_str!("../../scripts/demo-lab-packages");

/// The package names in that list, without its comments and blank lines.
fn homelab_lab_packages() -> Vec<&'static str> {
    HOMELAB_LAB_PACKAGES
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// `TF_VAR_nodes` for the homelab example: each node's lab address and pinned host key.
fn nodes_variable(nodes: &[Host]) -> String {
    let nodes: serde_json::Map<String, serde_json::Value> = NODE_NAMES
        .iter()
        .zip(nodes)
        .map(|(name, host)| {
            let node = json!({"address": host.address.to_string(), "host_key": host.host_key});
            ((*name).to_owned(), node)
        })
        .collect();
    serde_json::Value::Object(nodes).to_string()
}

/// A Raspberry Pi OS boot partition, as the node tests write it: the lab's containers are
/// nodes in their sysctls and modules, but have no Pi firmware files for the example's
/// `raspberry_pi` block to edit.
const RASPBERRY_PI_BOOT_FILES: &str = "mkdir -p /boot/firmware
printf '%s\\n' '# For more options see http://rptl.io/configtxt' dtparam=audio=on '[all]' > /boot/firmware/config.txt
echo 'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 rootwait' > /boot/firmware/cmdline.txt";

/// Runs a fixed `script` on a lab host with OpenSSH's client; its stdout, panicking on failure.
fn lab_sh(lab: &Lab, host: &Host, script: &str) -> String {
    let output = lab.ssh(host).arg(script).output().expect("run ssh");
    assert!(
        output.status.success(),
        "`{script}` on {}: {}",
        host.name,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A file's content on a lab host, read with OpenSSH's client; `None` when it does not exist.
fn lab_file(lab: &Lab, host: &Host, path: &str) -> Option<String> {
    let output = lab
        .ssh(host)
        .arg(format!("cat '{path}' 2>/dev/null || echo absent >&2"))
        .output()
        .expect("run ssh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ssh to {}: {stderr}", host.name);
    (!stderr.contains("absent")).then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The whole example, as ./scripts/demo applies it, on QEMU VMs: every node mounts allyrion's
/// export through an automount, which needs a kernel with autofs and the NFS client (no
/// container has either), so the nodes and the router are VMs, whose kernel is Debian's on every
/// machine. A file written through one node's automount is read on allyrion's disk.
#[test]
fn homelab_example_applies_on_lab_hosts_with_a_local_echo_source() {
    let echo = EchoServer::start(&format!("{DEMO_ADDRESS}\n")).expect("start an echo server");
    let sources = serde_json::to_string(&[echo.url()]).expect("strings serialize");
    // The same variables ./scripts/demo sets.
    let workdir = Workdir::new("homelab_example").with_env("TF_VAR_public_ip_sources", &sources);
    let lab = Lab::up(LabSpec {
        hosts: NODE_NAMES.len() + 1,
        packages: &homelab_lab_packages(),
        backend: Backend::Qemu,
        boot_timeout: Backend::Qemu.default_boot_timeout(),
    })
    .expect("bring up a lab for the example's nodes and router");
    let (nodes, router) = lab.hosts().split_at(NODE_NAMES.len());
    let (nodes, router) = (nodes.to_vec(), router[0].clone());
    let workdir = workdir
        .with_env("TF_VAR_nodes", &nodes_variable(&nodes))
        .with_env("TF_VAR_router_address", &router.address.to_string())
        .with_env(
            "TF_VAR_ssh_private_key_path",
            &lab.private_key_path().display().to_string(),
        )
        .with_env("TF_VAR_router_host_key", &router.host_key);
    // The BGP tests' view of a lab: the router first, then the speakers.
    let bgp = BgpLab {
        lab,
        hosts: std::iter::once(router).chain(nodes).collect(),
    };
    let (lab, nodes) = (&bgp.lab, bgp.speakers());
    // Every node runs a GoBGP speaker in MetalLB's place, announcing one service address.
    for (index, node) in nodes.iter().enumerate() {
        bgp.start_speaker(node, None, &service_prefix(index + 1));
    }
    for node in nodes {
        lab_sh(lab, node, RASPBERRY_PI_BOOT_FILES);
    }
    // The control-plane nodes' API servers, until kubeadm runs there: TCP listeners on :6443,
    // as the demo starts them.
    for node in &nodes[1..] {
        lab_sh(lab, node, API_SERVER_STANDIN);
    }
    // The home proxy goes to a local AWS API holding the book's hosted zone, as in the demo.
    let moto = Moto::start();
    let zone = moto.create_hosted_zone("goldentooth.net");
    let workdir = moto.configure(workdir);
    TestCase::new("homelab_example")
        .step(Step::apply(
            example_config(&examples_dir().join("homelab")),
            |state| {
                assert_eq!(state.output("home_public_ip"), Some(&json!(DEMO_ADDRESS)));
                assert_eq!(
                    state.output("home_public_ip_source"),
                    Some(&json!(echo.url()))
                );
                let facts = state.output("nodes").expect("the nodes output");
                for (name, host) in NODE_NAMES.iter().zip(nodes) {
                    assert_eq!(facts[name]["hostname"], json!(name), "{facts}");
                    assert_eq!(facts[name]["os"], json!("debian 12"), "{facts}");
                    let motd = lab_file(lab, host, "/etc/motd").expect("a motd");
                    assert!(
                        motd.starts_with(&format!("{name}: a Goldentooth node (debian 12, ")),
                        "{motd}"
                    );
                    expect_node_baseline(lab, host, name, nodes);
                }
                expect_nfs(lab, nodes);
                expect_api_load_balancer(lab, nodes, state);
                expect_metallb_peering(&bgp, state);
                expect_home_proxy(&moto, &zone, state);
            },
        ))
        .check_destroyed(|| {
            for host in nodes {
                assert_eq!(lab_file(lab, host, "/etc/motd"), None);
                let hosts = lab_file(lab, host, "/etc/hosts").expect("/etc/hosts");
                assert!(!hosts.contains("goldentooth.net"), "{hosts}");
                assert_eq!(lab_file(lab, host, MODULES_FILE), None);
                assert_eq!(lab_sh(lab, host, AUTOMOUNT_STATE).trim(), "inactive");
            }
            let haproxy_cfg = lab_file(lab, &nodes[0], "/etc/haproxy/haproxy.cfg");
            assert!(
                !haproxy_cfg.unwrap_or_default().contains("k8s_api"),
                "the load balancer's configuration is still in place"
            );
            assert!(
                !lab_sh(lab, &nodes[0], "exportfs -v").contains("/mnt/usb1"),
                "the export is still live"
            );
            assert_eq!(bgp.bgp_lines(), Vec::<String>::new());
            expect_nothing_left_in_aws(&moto, &zone);
        })
        .run_in(&workdir);
}

/// A stand-in for a control-plane node's API server: systemd's socket activator on :6443,
/// handing each connection to `cat` as its standard input and output (`--inetd`), so it echoes.
const API_SERVER_STANDIN: &str = "systemd-run --quiet --unit=api-server-standin systemd-socket-activate --inetd --accept --listen=6443 /bin/cat";

/// HAProxy on allyrion sends the API port to bettley and cargyll, both UP, as the example's
/// output and HAProxy's own configuration check say; a connection through allyrion:6443 reaches
/// a back end (the stand-in echoes what it gets).
fn expect_api_load_balancer(lab: &Lab, nodes: &[Host], state: &StateView) {
    let output = state
        .output("api_load_balancer")
        .expect("the api_load_balancer output");
    assert_eq!(output["servers_up"], json!(2), "{output}");
    for name in ["bettley", "cargyll"] {
        let status = output["servers"][name].as_str().unwrap_or_default();
        assert!(status.starts_with("UP"), "{name}: {output}");
    }
    lab_sh(lab, &nodes[0], "haproxy -c -q -f /etc/haproxy/haproxy.cfg");
    let echoed = lab_sh(
        lab,
        &nodes[1],
        &format!(
            "exec 3<>/dev/tcp/{}/6443 && echo through-the-lb >&3 && head -n 1 <&3",
            nodes[0].address
        ),
    );
    assert_eq!(echoed.trim(), "through-the-lb");
}

/// The file homelab_node lists its kernel modules in, for systemd-modules-load at boot.
const MODULES_FILE: &str = "/etc/modules-load.d/homelab.conf";

/// The automount unit's state, as `systemctl is-active` says it (which exits non-zero when it
/// is not active: the word is the answer).
const AUTOMOUNT_STATE: &str = "systemctl is-active mnt-nfs.automount || true";

/// The book's baseline on one node, as its operator would check it: the node's name, a
/// Kubernetes sysctl live, the modules listed for boot, every node in /etc/hosts (the API
/// server's name on allyrion), and the Pi's cgroup flags in the kernel command line.
fn expect_node_baseline(lab: &Lab, host: &Host, name: &str, nodes: &[Host]) {
    assert_eq!(lab_sh(lab, host, "hostname").trim(), name);
    assert_eq!(
        lab_sh(
            lab,
            host,
            "sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables"
        ),
        "1\n1\n"
    );
    let modules = lab_file(lab, host, MODULES_FILE).expect("the modules-load file");
    assert!(modules.ends_with("br_netfilter\noverlay\n"), "{modules}");
    let hosts = lab_file(lab, host, "/etc/hosts").expect("/etc/hosts");
    for (other, other_host) in NODE_NAMES.iter().zip(nodes) {
        let api_server = if *other == "allyrion" {
            " lb-apiserver.kubernetes.local"
        } else {
            ""
        };
        let line = format!(
            "\n{}\t{other} {other}.goldentooth.net{api_server}\n",
            other_host.address
        );
        assert!(hosts.contains(&line), "{line:?} missing from {hosts}");
    }
    let cmdline = lab_file(lab, host, "/boot/firmware/cmdline.txt").expect("cmdline.txt");
    for flag in [
        "cgroup_enable=cpuset",
        "cgroup_enable=memory",
        "cgroup_enable=hugetlb",
        "cgroup_memory=1",
    ] {
        assert!(
            cmdline.contains(&format!(" {flag}")),
            "{flag} missing from {cmdline}"
        );
    }
    let zone = lab_sh(lab, host, "readlink /etc/localtime");
    assert!(zone.trim().ends_with("/America/New_York"), "{zone}");
}

/// allyrion's live export table has /mnt/usb1 for every host, every node's automount unit is
/// active, and a first access mounts for real: a file written through bettley's /mnt/nfs lands
/// on allyrion's /mnt/usb1, and cargyll reads it back through its own automount.
fn expect_nfs(lab: &Lab, nodes: &[Host]) {
    let exports = lab_sh(lab, &nodes[0], "exportfs -v");
    assert!(exports.contains("/mnt/usb1"), "{exports}");
    assert!(
        exports.contains("<world>(") || exports.contains("*("),
        "{exports}"
    );
    for option in ["rw", "sync", "no_root_squash", "no_subtree_check"] {
        assert!(exports.contains(option), "{option} missing from {exports}");
    }
    for node in nodes {
        assert_eq!(
            lab_sh(lab, node, AUTOMOUNT_STATE).trim(),
            "active",
            "{}",
            node.name
        );
    }
    lab_sh(
        lab,
        &nodes[1],
        "echo written-by-bettley > /mnt/nfs/from-bettley",
    );
    assert_eq!(
        lab_file(lab, &nodes[0], "/mnt/usb1/from-bettley").as_deref(),
        Some("written-by-bettley\n")
    );
    assert_eq!(
        lab_file(lab, &nodes[2], "/mnt/nfs/from-bettley").as_deref(),
        Some("written-by-bettley\n")
    );
    let fs_type = lab_sh(lab, &nodes[2], "findmnt -n -o FSTYPE /mnt/nfs | tail -n 1");
    assert!(
        fs_type.trim().starts_with("nfs"),
        "cargyll's /mnt/nfs is an NFS mount after the first access, not {fs_type:?}"
    );
}

/// The router runs AS 64500 with one neighbor per node, every node's speaker has its session
/// up and its service address learned by the router, and the example's output says so.
fn expect_metallb_peering(bgp: &BgpLab, state: &StateView) {
    let lines = bgp.bgp_lines();
    let expected_lines = std::iter::once(format!("router bgp {ROUTER_ASN}")).chain(
        NODE_NAMES
            .iter()
            .zip(bgp.speakers())
            .flat_map(|(name, node)| {
                [
                    format!("neighbor {} remote-as {SPEAKER_ASN}", node.address),
                    format!(
                        "neighbor {} description metallb speaker on {name}",
                        node.address
                    ),
                ]
            }),
    );
    for line in expected_lines {
        assert!(lines.contains(&line), "{line:?} missing from {lines:#?}");
    }
    let sessions = bgp.router_sessions();
    let expected: serde_json::Map<String, serde_json::Value> = NODE_NAMES
        .iter()
        .map(|name| ((*name).to_owned(), json!("Established")))
        .collect();
    assert_eq!(
        state.output("bgp_sessions"),
        Some(&serde_json::Value::Object(expected)),
        "the router reports {sessions:?}"
    );
    for (index, node) in bgp.speakers().iter().enumerate() {
        let address = node.address.to_string();
        assert!(
            sessions.contains(&(address.clone(), "Established".to_owned())),
            "{sessions:?}"
        );
        assert!(bgp.speaker_established(node), "{} is not up", node.name);
        // The announcement follows the session's opening by a moment.
        wait_until(
            Duration::from_secs(20),
            "the router to learn the node's service address",
            || {
                bgp.router_routes()
                    .contains(&(service_prefix(index + 1), vec![address.clone()]))
            },
        );
    }
}

/// The `homelab_file` example on lab hosts (its two addresses mapped onto hosts 1 and 2, its
/// pinned key replaced by host 2's), imported by the ID its `import.sh` shows.
#[test]
fn file_resource_example_applies_and_imports_on_lab_hosts() {
    let dir = examples_dir().join("resources/homelab_file");
    let example = example_config(&dir);
    let import = std::fs::read_to_string(dir.join("import.sh")).expect("read import.sh");
    let import_id = import
        .lines()
        .find_map(|line| line.strip_prefix("tofu import homelab_file.motd "))
        .expect("import.sh imports homelab_file.motd")
        .trim()
        .to_owned();
    const PINNED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5";
    for expected in ["\"10.4.0.10\"", "\"10.4.0.11\"", PINNED] {
        assert!(
            example.contains(expected),
            "the example no longer has {expected}"
        );
    }
    let workdir = Workdir::new("file_resource_example");
    let lab = Lab::up(LabSpec {
        hosts: 2,
        ..LabSpec::default()
    })
    .expect("bring up a lab");
    let hosts = lab.hosts();
    let (first, second) = (hosts[0].address.to_string(), hosts[1].address.to_string());
    let config = format!(
        "{REQUIRED_PROVIDERS}\nprovider \"homelab\" {{\n  ssh {{\n    private_key_path = {}\n    \
         known_hosts_path = {}\n  }}\n}}\n{}",
        hcl_string(&lab.private_key_path().display().to_string()),
        hcl_string(&lab.known_hosts_path().display().to_string()),
        example
            .replace("\"10.4.0.10\"", &format!("\"{first}\""))
            .replace("\"10.4.0.11\"", &format!("\"{second}\""))
            .replace(PINNED, &hosts[1].host_key)
    );
    TestCase::new("file_resource_example")
        .step(Step::apply(config, |_| {
            let motd = lab_file(&lab, &hosts[0], "/etc/motd").expect("the motd");
            assert!(motd.starts_with("Goldentooth node 1"), "{motd}");
            let script = "/usr/local/lib/homelab/healthcheck.sh";
            let healthcheck = lab_file(&lab, &hosts[1], script).expect("the script");
            assert!(healthcheck.starts_with("#!/bin/sh\n"), "{healthcheck}");
        }))
        .step(Step::import_verify(
            "homelab_file.motd",
            &import_id.replace("10.4.0.10", &first),
            &[],
        ))
        .check_destroyed(|| assert_eq!(lab_file(&lab, &hosts[0], "/etc/motd"), None))
        .run_in(&workdir);
}

#[test]
fn provider_example_is_accepted_by_the_provider_schema() {
    // Terraform validates and configures a provider only when something uses it; a data source
    // with count = 0 does, without reading the example's real echo services.
    let uses_the_provider = "\ndata \"homelab_public_ip\" \"unused\" {\n  count = 0\n}\n";
    let example = example_config(&examples_dir().join("provider"));
    let broken = example.replace("timeout = \"5s\"", "timeout = \"five seconds\"");
    assert_ne!(
        broken, example,
        "the provider example no longer sets timeout = \"5s\""
    );
    TestCase::new("provider_example")
        .step(Step::apply(example + uses_the_provider, |state| {
            assert!(state.resources().is_empty(), "{:#}", state.json());
        }))
        // Proves the provider block really was checked against the schema above.
        .step(Step::expect_error(
            broken + uses_the_provider,
            Command::Plan,
            &["five seconds"],
        ))
        .run();
}

#[test]
fn public_ip_data_source_example_applies() {
    let echo = EchoServer::start(DEMO_ADDRESS).expect("start an echo server");
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{}\n{}",
        provider_block_for(&echo),
        example_config(&examples_dir().join("data-sources/homelab_public_ip"))
    );
    TestCase::new("public_ip_data_source_example")
        .step(Step::apply(config, |state| {
            assert_eq!(state.output("home_ip"), Some(&json!(DEMO_ADDRESS)));
        }))
        .run();
}

#[test]
fn dynamic_dns_record_example_applies_against_the_local_aws_api() {
    let moto = Moto::start();
    let zone = moto.create_hosted_zone("goldentooth.net");
    let echo = EchoServer::start(DEMO_ADDRESS).expect("start an echo server");
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{}\n{}",
        provider_block_for(&echo),
        example_config(&examples_dir().join("resources/homelab_dynamic_dns_record"))
    );
    let values = |name: &str| moto.record(&zone, name, "A").map(|record| record.values);
    let workdir = moto.configure(Workdir::new("dynamic_dns_record_example"));
    TestCase::new("dynamic_dns_record_example")
        .step(Step::apply(config, |_| {
            assert_eq!(
                values("clearbrook.goldentooth.net"),
                Some(vec![DEMO_ADDRESS.to_owned()])
            );
            assert_eq!(
                values("bastion.goldentooth.net"),
                Some(vec!["81.2.69.142".to_owned()])
            );
        }))
        .check_destroyed(|| {
            assert_eq!(values("clearbrook.goldentooth.net"), None);
            assert_eq!(values("bastion.goldentooth.net"), None);
        })
        .run_in(&workdir);
}

/// The homelab example's home proxy in moto: the dynamic record at the demo address, the
/// certificate issued, the distribution in front of clearbrook with both alias records.
fn expect_home_proxy(moto: &Moto, zone_id: &str, state: &StateView) {
    assert_eq!(
        state.output("clearbrook_address"),
        Some(&json!(DEMO_ADDRESS))
    );
    assert_eq!(
        moto.record(zone_id, "clearbrook.goldentooth.net", "A")
            .map(|record| record.values),
        Some(vec![DEMO_ADDRESS.to_owned()])
    );
    let arn = state
        .output("home_proxy_certificate_arn")
        .and_then(|arn| arn.as_str())
        .expect("the certificate output");
    let certificate = moto.certificate(REGION, arn).expect("the certificate");
    assert_eq!(certificate.status().map(|s| s.as_str()), Some("ISSUED"));
    let domain_name = state
        .output("home_proxy_domain_name")
        .and_then(|name| name.as_str())
        .expect("the distribution output");
    let [id] = moto
        .distribution_ids()
        .try_into()
        .expect("one distribution");
    let distribution = moto.distribution(&id).expect("the distribution");
    assert_eq!(distribution.domain_name, domain_name);
    let origin = &distribution.config.origins().expect("origins").items()[0];
    assert_eq!(origin.domain_name(), "clearbrook.goldentooth.net");
    for alias in ["home-proxy.goldentooth.net", "*.home-proxy.goldentooth.net"] {
        assert_eq!(
            moto.alias_target(zone_id, alias, "A").as_deref(),
            Some(domain_name),
            "{alias}"
        );
    }
}

/// Nothing of the home proxy is left in moto but the hosted zone itself.
fn expect_nothing_left_in_aws(moto: &Moto, zone_id: &str) {
    assert_eq!(moto.distribution_ids(), Vec::<String>::new());
    assert_eq!(moto.certificate_arns(REGION), Vec::<String>::new());
    let types: Vec<String> = moto
        .records(zone_id)
        .into_iter()
        .map(|record| record.record_type)
        .collect();
    assert_eq!(types, ["NS", "SOA"]);
}

/// The `homelab_acm_certificate` example against moto, with the zone id it asks for.
#[test]
fn acm_certificate_example_applies_against_the_local_aws_api() {
    let workdir = Workdir::new("acm_certificate_example");
    let moto = Moto::start();
    let zone = moto.create_hosted_zone("goldentooth.net");
    let workdir = moto
        .configure(workdir)
        .with_env("TF_VAR_goldentooth_zone_id", &zone);
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{}",
        example_config(&examples_dir().join("resources/homelab_acm_certificate"))
    );
    TestCase::new("acm_certificate_example")
        .step(Step::apply(config, |state| {
            let arn = state
                .output("home_proxy_certificate_arn")
                .and_then(|arn| arn.as_str())
                .expect("the certificate output");
            let certificate = moto.certificate(REGION, arn).expect("the certificate");
            assert_eq!(certificate.status().map(|s| s.as_str()), Some("ISSUED"));
            let types: Vec<String> = moto
                .records(&zone)
                .into_iter()
                .map(|record| record.record_type)
                .collect();
            assert_eq!(types, ["NS", "SOA", "CNAME"]);
        }))
        .check_destroyed(|| {
            assert_eq!(moto.certificate_arns(REGION), Vec::<String>::new());
            assert_eq!(moto.records(&zone).len(), 2, "only NS and SOA are left");
        })
        .run_in(&workdir);
}

/// The `homelab_cloudfront_distribution` example against moto, with the zone id and a
/// us-east-1 certificate it asks for.
#[test]
fn cloudfront_distribution_example_applies_against_the_local_aws_api() {
    let workdir = Workdir::new("cloudfront_distribution_example");
    let moto = Moto::start();
    let zone = moto.create_hosted_zone("goldentooth.net");
    let certificate = moto.request_certificate(
        REGION,
        "home-proxy.goldentooth.net",
        &["*.home-proxy.goldentooth.net"],
    );
    let workdir = moto
        .configure(workdir)
        .with_env("TF_VAR_goldentooth_zone_id", &zone)
        .with_env("TF_VAR_home_proxy_certificate_arn", &certificate);
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{}",
        example_config(&examples_dir().join("resources/homelab_cloudfront_distribution"))
    );
    TestCase::new("cloudfront_distribution_example")
        .step(Step::apply(config, |state| {
            let domain_name = state
                .output("home_proxy_domain_name")
                .and_then(|name| name.as_str())
                .expect("the distribution output");
            let [id] = moto
                .distribution_ids()
                .try_into()
                .expect("one distribution");
            let distribution = moto.distribution(&id).expect("the distribution");
            assert_eq!(distribution.domain_name, domain_name);
            assert_eq!(
                distribution
                    .config
                    .viewer_certificate()
                    .and_then(|c| c.acm_certificate_arn()),
                Some(certificate.as_str())
            );
            for alias in ["home-proxy.goldentooth.net", "*.home-proxy.goldentooth.net"] {
                assert_eq!(
                    moto.alias_target(&zone, alias, "A").as_deref(),
                    Some(domain_name),
                    "{alias}"
                );
            }
        }))
        .check_destroyed(|| {
            assert_eq!(moto.distribution_ids(), Vec::<String>::new());
            assert_eq!(moto.records(&zone).len(), 2, "only NS and SOA are left");
        })
        .run_in(&workdir);
}
