//! `homelab_load_balancer` on nspawn lab hosts with Debian's HAProxy 2.6: the first host runs
//! HAProxy, the second serves the back ends (socat echo listeners run as transient units), and
//! the test process talks through the front end over the lab bridge. Looked at with OpenSSH's
//! own client and socat, never with the provider's code.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use acceptance_tests::cli::{Command, REQUIRED_PROVIDERS, Workdir, require_tf_acc};
use acceptance_tests::lab::{Lab, LabSpec};
use acceptance_tests::ssh_host::{TestHost, hcl_string, sh};
use acceptance_tests::steps::{Step, TestCase, assert_converged};

/// The packages the hosts get: HAProxy and keepalived for the resource, socat for the back
/// ends and for the test's own use of the stats socket.
const PACKAGES: &[&str] = &["haproxy", "keepalived", "socat"];

const CONFIG: &str = "/etc/haproxy/haproxy.cfg";
const SOCKET: &str = "/run/haproxy/homelab.sock";
const RECORD: &str = "/etc/haproxy/.homelab-load-balancer.record";
const ADDRESS: &str = "homelab_load_balancer.lb";

struct LbLab {
    lab: Lab,
    hosts: Vec<TestHost>,
}

impl LbLab {
    fn up() -> LbLab {
        require_tf_acc();
        let lab = Lab::up(LabSpec {
            hosts: 2,
            packages: PACKAGES,
            ..LabSpec::default()
        })
        .expect("bring up the load balancer lab");
        let hosts = lab.hosts().iter().map(TestHost::of_lab_host).collect();
        LbLab { lab, hosts }
    }

    fn balancer(&self) -> &TestHost {
        &self.hosts[0]
    }

    fn backends(&self) -> &TestHost {
        &self.hosts[1]
    }

    fn provider(&self) -> String {
        format!(
            "{REQUIRED_PROVIDERS}\nprovider \"homelab\" {{\n  ssh {{\n    user             = \"root\"\n    \
             private_key_path = {}\n    known_hosts_path = {}\n  }}\n}}\n",
            hcl_string(&self.lab.private_key_path().display().to_string()),
            hcl_string(&self.lab.known_hosts_path().display().to_string()),
        )
    }

    /// A load balancer with one front end `api` on :7000 (plus `extra_bind`), the given
    /// servers (name, port on the back-end host, weight), `inter`, and a stats page.
    fn config(&self, servers: &[(&str, u16, Option<u32>)], inter: &str, extra: &str) -> String {
        let mut server_text = String::new();
        for (name, port, weight) in servers {
            let weight = weight.map_or(String::new(), |w| format!(", weight = {w}"));
            server_text.push_str(&format!(
                "      {} = {{ address = \"{}\", port = {port}{weight} }}\n",
                hcl_string(name),
                self.backends().address
            ));
        }
        format!(
            "{}\nresource \"homelab_load_balancer\" \"lb\" {{\n  host = \"{}\"\n  frontend {{\n    \
             name           = \"api\"\n    bind           = [\"0.0.0.0:7000\"]\n    \
             timeout_client = \"10m\"\n    timeout_server = \"10m\"\n    inter          = \"{inter}\"\n    \
             fall           = 2\n    rise           = 1\n    servers = {{\n{server_text}    }}\n  }}\n  \
             stats {{\n    bind = \"*:8404\"\n  }}\n{extra}}}\n",
            self.provider(),
            self.balancer().address,
        )
    }
}

/// Starts an echo listener on `port` as a transient unit `echo-PORT`.
fn start_echo(host: &TestHost, port: u16) {
    sh(
        host,
        "systemctl reset-failed \"echo-$1\" 2>/dev/null; systemd-run --unit=\"echo-$1\" socat \"TCP-LISTEN:$1,fork,reuseaddr\" EXEC:cat >/dev/null 2>&1",
        &[&port.to_string()],
    );
}

fn stop_echo(host: &TestHost, port: u16) {
    sh(host, "systemctl stop \"echo-$1\"", &[&port.to_string()]);
}

fn socket(host: &TestHost, command: &str) -> String {
    sh(
        host,
        "echo \"$1\" | socat - \"UNIX-CONNECT:$2\"",
        &[command, SOCKET],
    )
}

fn unit_state(host: &TestHost) -> String {
    sh(
        host,
        "echo \"$(systemctl is-enabled haproxy) $(systemctl is-active haproxy)\"",
        &[],
    )
}

/// Sends a line through an open connection and reads the echo.
fn echo_through(stream: &mut BufReader<TcpStream>, line: &str) {
    stream
        .get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .expect("write through the front end");
    let mut answer = String::new();
    stream.read_line(&mut answer).expect("read the echo");
    assert_eq!(answer.trim_end(), line, "the echo through the front end");
}

fn connect(host: &TestHost, port: u16) -> BufReader<TcpStream> {
    let stream =
        TcpStream::connect((host.address.as_str(), port)).expect("connect to the front end");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    BufReader::new(stream)
}

fn status(state: &acceptance_tests::show::StateView, server: &str) -> String {
    state.attr(ADDRESS, "server_status")[format!("api/{server}")]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn load_balancer_full_step_loop() {
    let lab = LbLab::up();
    let (balancer, backends) = (lab.balancer(), lab.backends());
    for port in [9001, 9002, 9003] {
        start_echo(backends, port);
    }
    let original = balancer
        .read_file(CONFIG)
        .expect("the package's haproxy.cfg");
    let unit_before = unit_state(balancer);
    let first = lab.config(&[("a", 9001, None), ("b", 9002, None)], "1s", "");
    let second = lab.config(&[("a", 9001, None), ("c", 9003, Some(2))], "2s", "");
    let open_connection: RefCell<Option<BufReader<TcpStream>>> = RefCell::new(None);
    let hostile = |server: &str, extra: &str| {
        format!(
            "{}\nresource \"homelab_load_balancer\" \"lb\" {{\n  host = \"{}\"\n  frontend {{\n    \
             name = \"api\"\n    bind = [\"0.0.0.0:7000\"]\n{extra}    servers = {{\n      {server}\n    }}\n  }}\n}}\n",
            lab.provider(),
            balancer.address
        )
    };
    let fine_server = "a = { address = \"10.0.0.1\", port = 9001 }";
    // The front end also binds :7100, which a listener on the balancer already holds: only
    // HAProxy finds that out, when it binds.
    start_echo(balancer, 7100);
    let held_port = first.replace("[\"0.0.0.0:7000\"]", "[\"0.0.0.0:7000\", \"0.0.0.0:7100\"]");
    TestCase::new("load_balancer")
        .step(Step::apply(first.clone(), |state| {
            sh(balancer, "haproxy -c -f \"$1\"", &[CONFIG]);
            assert!(socket(balancer, "show info").contains("Name: HAProxy"));
            assert_eq!(
                state.attr(ADDRESS, "servers_up"),
                2,
                "{:?}",
                state.values(ADDRESS)
            );
            assert_eq!(status(state, "a"), "UP");
            assert_eq!(state.attr_str(ADDRESS, "id"), balancer.address);
            let mut stream = connect(balancer, 7000);
            echo_through(&mut stream, "before the update");
            *open_connection.borrow_mut() = Some(stream);
        }))
        .step(Step::import_verify(ADDRESS, &balancer.address, &[]))
        .step(Step::apply(second.clone(), |state| {
            // The connection opened before the reload still works through the old worker.
            let mut stream = open_connection
                .borrow_mut()
                .take()
                .expect("the open connection");
            echo_through(&mut stream, "after the update");
            let statuses = state.attr(ADDRESS, "server_status");
            assert!(
                statuses.get("api/c").is_some() && statuses.get("api/b").is_none(),
                "{statuses}"
            );
            let text = String::from_utf8(balancer.read_file(CONFIG).unwrap()).unwrap();
            assert!(
                text.contains("default-server inter 2s fall 2 rise 1\n"),
                "{text}"
            );
            assert!(text.contains(":9003 check weight 2\n"), "{text}");
        }))
        .step(Step::drift(
            || {
                sh(
                    balancer,
                    "sed -i 's/check weight 2/check weight 5/' \"$1\"",
                    &[CONFIG],
                );
            },
            "weight",
        ))
        .step(Step::drift(
            || {
                sh(
                    balancer,
                    "sed -i 's/^    balance roundrobin$/&\\n    maxconn 1/' \"$1\"",
                    &[CONFIG],
                );
            },
            "config_in_sync",
        ))
        .step(Step::drift(
            || {
                socket(balancer, "disable server api/a");
                assert!(socket(balancer, "show stat").contains("api,a,"));
            },
            "runtime_in_sync",
        ))
        .step(Step::drift(
            || {
                sh(balancer, "systemctl stop haproxy", &[]);
            },
            "active",
        ))
        .step(Step::drift(
            || {
                sh(balancer, "systemctl disable haproxy 2>/dev/null", &[]);
            },
            "enabled",
        ))
        .step(Step::expect_error(
            held_port,
            Command::Apply,
            &[
                "HAProxy could not start the configuration",
                "cannot bind socket",
                "0.0.0.0:7100",
            ],
        ))
        .step(Step::drift(
            || {
                // The failed apply left the previous file, and HAProxy still serves it.
                let text = String::from_utf8(balancer.read_file(CONFIG).unwrap()).unwrap();
                assert!(!text.contains("7100"), "{text}");
                echo_through(&mut connect(balancer, 7000), "after the failed apply");
                assert!(unit_state(balancer).starts_with("enabled active"));
                sh(balancer, "sed -i 's/:9003 /:9004 /' \"$1\"", &[CONFIG]);
            },
            "9004",
        ))
        .step(Step::expect_error(
            hostile(
                "\"a\\nlisten evil\" = { address = \"10.0.0.1\", port = 9001 }",
                "",
            ),
            Command::Plan,
            &["Invalid server name"],
        ))
        .step(Step::expect_error(
            hostile(
                fine_server,
                "    check = \"https\"\n    check_path = \"/$(touch /tmp/pwned)\"\n",
            ),
            Command::Plan,
            &[
                "Invalid check_path",
                "check_path = \"/$(touch /tmp/pwned)\"",
            ],
        ))
        .step(Step::expect_error(
            hostile("a = { address = \"10.0.0.1;reboot\", port = 70000 }", ""),
            Command::Plan,
            &["Invalid address", "Invalid port", "70000 is out of range"],
        ))
        .step(Step::expect_error(
            hostile(fine_server, "    name = \"x'\"\n").replace("    name = \"api\"\n", ""),
            Command::Plan,
            &["Invalid name"],
        ))
        .step(Step::expect_error(
            hostile(fine_server, "    check = \"https\"\n"),
            Command::Plan,
            &["Missing check_path"],
        ))
        .check_destroyed(|| {
            assert!(!balancer.exists("/tmp/pwned"));
            assert_eq!(
                balancer.read_file(CONFIG),
                Some(original.clone()),
                "the package's file is back"
            );
            assert!(!balancer.exists(RECORD));
            assert_eq!(unit_state(balancer), unit_before);
        })
        .run();
    stop_echo(balancer, 7100);
}

/// Servers go DOWN within the check interval when their listener stops and UP again when it
/// starts; a back end with no server up is a plan warning naming it.
#[test]
fn load_balancer_health_follows_the_back_ends() {
    let lab = LbLab::up();
    let (balancer, backends) = (lab.balancer(), lab.backends());
    for port in [9001, 9002] {
        start_echo(backends, port);
    }
    let workdir = Workdir::new("load_balancer_health");
    workdir.write_config(&lab.config(&[("a", 9001, None), ("b", 9002, None)], "1s", ""));
    workdir.apply();
    assert_converged(&workdir, "after create");
    let refreshed = |want_a: &str| {
        // fall 2 x inter 1s: DOWN within about 2 s; allow the check interval twice over.
        let start = Instant::now();
        loop {
            workdir.run_ok(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
            let state = workdir.show_state_json();
            if status(&state, "a") == want_a {
                return (state, start.elapsed());
            }
            assert!(
                start.elapsed() < Duration::from_secs(8),
                "a never became {want_a}"
            );
        }
    };
    stop_echo(backends, 9001);
    let (state, took) = refreshed("DOWN");
    eprintln!("server a DOWN seen after {took:?}");
    assert_eq!(state.attr(ADDRESS, "servers_up"), 1);
    let last_check = &state.attr(ADDRESS, "server_status")["api/a"]["last_check"];
    assert!(
        last_check.as_str().unwrap_or_default().starts_with("L4CON"),
        "{last_check}"
    );
    start_echo(backends, 9001);
    let (state, took) = refreshed("UP");
    eprintln!("server a UP again after {took:?}");
    assert_eq!(state.attr(ADDRESS, "servers_up"), 2);
    stop_echo(backends, 9001);
    stop_echo(backends, 9002);
    std::thread::sleep(Duration::from_secs(4));
    let plan = workdir.run_ok(&["plan", "-no-color"]);
    let text = format!("{}{}", plan.stdout, plan.stderr);
    assert!(text.contains("Back end api has no server up"), "{text}");
    workdir.destroy();
    assert!(!balancer.exists(RECORD));
}
