//! The HAProxy configuration file the resource writes, and the reader of that file: the
//! reader understands exactly what the renderer writes, so a file whose re-rendering differs
//! from what is on disk has been edited by hand.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::settings::{
    Bind, CheckKind, Frontend, HealthCheck, LoadBalancer, Prometheus, Server, Stats,
};
use super::values::parse_bind;

/// The stats socket the resource owns: root only, admin level (its refresh reads `show stat`).
pub(crate) const SOCKET_PATH: &str = "/run/haproxy/homelab.sock";

/// The first line of every file the resource writes.
pub(crate) const HEADER: &str = "# Written by terraform-provider-homelab (homelab_load_balancer): \
     a hand edit shows in the next plan and is reverted by apply.";

/// The file's text. Every value was checked on its way into the settings, so none holds a
/// space, quote, newline or `#`, and each is written as one HAProxy word.
pub(crate) fn render(lb: &LoadBalancer) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADER}");
    out.push_str("global\n");
    out.push_str("    log /dev/log local0\n");
    out.push_str("    log /dev/log local1 notice\n");
    out.push_str("    chroot /var/lib/haproxy\n");
    let _ = writeln!(
        out,
        "    stats socket {SOCKET_PATH} mode 600 level admin expose-fd listeners"
    );
    out.push_str("    stats timeout 30s\n");
    out.push_str("    user haproxy\n");
    out.push_str("    group haproxy\n");
    out.push_str("    daemon\n\n");
    out.push_str("defaults\n");
    out.push_str("    log global\n");
    out.push_str("    mode tcp\n");
    out.push_str("    option tcplog\n");
    out.push_str("    option dontlognull\n");
    out.push_str("    timeout connect 5s\n");
    out.push_str("    timeout client 1m\n");
    out.push_str("    timeout server 1m\n");
    for frontend in &lb.frontends {
        render_frontend(&mut out, frontend);
    }
    if let Some(stats) = &lb.stats {
        out.push_str("\nlisten homelab_stats\n");
        out.push_str("    mode http\n");
        let _ = writeln!(out, "    bind {}", stats.bind);
        out.push_str("    stats enable\n");
        let _ = writeln!(out, "    stats uri {}", stats.uri);
        out.push_str("    stats refresh 10s\n");
    }
    if let Some(prometheus) = &lb.prometheus {
        out.push_str("\nfrontend homelab_prometheus\n");
        out.push_str("    mode http\n");
        let _ = writeln!(out, "    bind {}", prometheus.bind);
        let _ = writeln!(
            out,
            "    http-request use-service prometheus-exporter if {{ path {} }}",
            prometheus.path
        );
        out.push_str("    no log\n");
    }
    out
}

fn render_frontend(out: &mut String, frontend: &Frontend) {
    let name = &frontend.name;
    let _ = writeln!(out, "\nfrontend {name}");
    for bind in &frontend.binds {
        let _ = writeln!(out, "    bind {bind}");
    }
    let _ = writeln!(out, "    timeout client {}", frontend.timeout_client);
    let _ = writeln!(out, "    default_backend {name}");
    let _ = writeln!(out, "\nbackend {name}");
    let _ = writeln!(out, "    balance {}", frontend.balance);
    let _ = writeln!(out, "    timeout connect {}", frontend.timeout_connect);
    let _ = writeln!(out, "    timeout server {}", frontend.timeout_server);
    let check = &frontend.check;
    let mut default_server = format!(
        "    default-server inter {} fall {} rise {}",
        check.inter, check.fall, check.rise
    );
    if let CheckKind::Https { path, ca_file } = &check.kind {
        let _ = writeln!(out, "    option httpchk GET {path}");
        out.push_str("    http-check expect status 200\n");
        match ca_file {
            Some(ca) => {
                let _ = write!(default_server, " check-ssl verify required ca-file {ca}");
            }
            None => default_server.push_str(" check-ssl verify none"),
        }
    }
    let _ = writeln!(out, "{default_server}");
    for (server_name, server) in &frontend.servers {
        let _ = write!(
            out,
            "    server {server_name} {}:{} check weight {}",
            server.address, server.port, server.weight
        );
        if server.backup {
            out.push_str(" backup");
        }
        out.push('\n');
    }
}

/// A section of the file: its header words and its directive lines split into words.
struct Section<'a> {
    header: Vec<&'a str>,
    lines: Vec<Vec<&'a str>>,
}

/// Reads a file the renderer wrote (or one edited by hand) back into the settings. Lines it
/// does not know are skipped: the caller compares the re-rendered text with the file to see
/// them.
pub(crate) fn parse(text: &str) -> Result<LoadBalancer, String> {
    let mut sections: Vec<Section<'_>> = Vec::new();
    for line in text.lines() {
        let content = line.split('#').next().unwrap_or_default();
        let words: Vec<&str> = content.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(section) = sections.last_mut() {
                section.lines.push(words);
            }
        } else {
            sections.push(Section {
                header: words,
                lines: Vec::new(),
            });
        }
    }
    let backends: BTreeMap<&str, &Section<'_>> = sections
        .iter()
        .filter(|s| s.header.len() == 2 && s.header[0] == "backend")
        .map(|s| (s.header[1], s))
        .collect();
    let mut lb = LoadBalancer {
        frontends: Vec::new(),
        stats: None,
        prometheus: None,
    };
    for section in &sections {
        match section.header.as_slice() {
            ["frontend", "homelab_prometheus"] => lb.prometheus = Some(parse_prometheus(section)?),
            ["listen", "homelab_stats"] => lb.stats = Some(parse_stats(section)?),
            ["frontend", name] => {
                let backend = backends
                    .get(name)
                    .ok_or_else(|| format!("frontend {name} has no backend {name}"))?;
                lb.frontends.push(parse_frontend(name, section, backend)?);
            }
            _ => {}
        }
    }
    Ok(lb)
}

fn binds(section: &Section<'_>) -> Result<Vec<Bind>, String> {
    section
        .lines
        .iter()
        .filter(|words| words.len() == 2 && words[0] == "bind")
        .map(|words| parse_bind(words[1]))
        .collect()
}

fn value_of<'a>(section: &'a Section<'_>, key: &[&str]) -> Option<&'a str> {
    section
        .lines
        .iter()
        .find(|words| words.len() == key.len() + 1 && words[..key.len()] == *key)
        .map(|words| words[key.len()])
}

fn parse_stats(section: &Section<'_>) -> Result<Stats, String> {
    Ok(Stats {
        bind: binds(section)?
            .into_iter()
            .next()
            .ok_or("the stats section has no bind")?,
        uri: value_of(section, &["stats", "uri"])
            .ok_or("the stats section has no uri")?
            .to_owned(),
    })
}

fn parse_prometheus(section: &Section<'_>) -> Result<Prometheus, String> {
    let path = section
        .lines
        .iter()
        .find_map(|words| match words.as_slice() {
            [
                "http-request",
                "use-service",
                "prometheus-exporter",
                "if",
                "{",
                "path",
                path,
                "}",
            ] => Some((*path).to_owned()),
            _ => None,
        })
        .ok_or("the prometheus section has no use-service line")?;
    Ok(Prometheus {
        bind: binds(section)?
            .into_iter()
            .next()
            .ok_or("the prometheus section has no bind")?,
        path,
    })
}

fn parse_frontend(
    name: &str,
    frontend: &Section<'_>,
    backend: &Section<'_>,
) -> Result<Frontend, String> {
    let text = |section: &Section<'_>, key: &[&str]| {
        value_of(section, key)
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} has no `{}` line", key.join(" ")))
    };
    let mut check = HealthCheck {
        kind: CheckKind::Tcp,
        inter: String::new(),
        fall: 0,
        rise: 0,
    };
    let mut ssl: Option<Option<String>> = None;
    let mut servers = BTreeMap::new();
    let mut http_path = None;
    for words in &backend.lines {
        match words.as_slice() {
            ["default-server", rest @ ..] => parse_default_server(rest, &mut check, &mut ssl),
            ["option", "httpchk", "GET", path] => http_path = Some((*path).to_owned()),
            ["server", server_name, address, rest @ ..] => {
                servers.insert((*server_name).to_owned(), parse_server(address, rest)?);
            }
            _ => {}
        }
    }
    if let Some(path) = http_path {
        check.kind = CheckKind::Https {
            path,
            ca_file: ssl.flatten(),
        };
    }
    Ok(Frontend {
        name: name.to_owned(),
        binds: binds(frontend)?,
        timeout_client: text(frontend, &["timeout", "client"])?,
        timeout_connect: text(backend, &["timeout", "connect"])?,
        timeout_server: text(backend, &["timeout", "server"])?,
        balance: text(backend, &["balance"])?,
        check,
        servers,
    })
}

fn parse_default_server(words: &[&str], check: &mut HealthCheck, ssl: &mut Option<Option<String>>) {
    let mut index = 0;
    while index < words.len() {
        let next = words.get(index + 1).copied().unwrap_or_default();
        match words[index] {
            "inter" => check.inter = next.to_owned(),
            "fall" => check.fall = next.parse().unwrap_or_default(),
            "rise" => check.rise = next.parse().unwrap_or_default(),
            "ca-file" => *ssl = Some(Some(next.to_owned())),
            "check-ssl" => {
                ssl.get_or_insert(None);
                index += 1;
                continue;
            }
            _ => {
                index += 1;
                continue;
            }
        }
        index += 2;
    }
}

fn parse_server(address: &str, words: &[&str]) -> Result<Server, String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("server address {address:?} has no port"))?;
    let mut server = Server {
        address: host.to_owned(),
        port: port
            .parse()
            .map_err(|_| format!("server address {address:?} has a bad port"))?,
        weight: 1,
        backup: false,
    };
    let mut index = 0;
    while index < words.len() {
        match words[index] {
            "weight" => {
                server.weight = words
                    .get(index + 1)
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(1);
                index += 1;
            }
            "backup" => server.backup = true,
            _ => {}
        }
        index += 1;
    }
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn book() -> LoadBalancer {
        let server = |address: &str| Server {
            address: address.into(),
            port: 6443,
            weight: 1,
            backup: false,
        };
        LoadBalancer {
            frontends: vec![Frontend {
                name: "k8s_api".into(),
                binds: vec![parse_bind("0.0.0.0:6443").unwrap()],
                timeout_client: "1m".into(),
                timeout_connect: "5s".into(),
                timeout_server: "1m".into(),
                balance: "roundrobin".into(),
                check: HealthCheck {
                    kind: CheckKind::Tcp,
                    inter: "2s".into(),
                    fall: 3,
                    rise: 2,
                },
                servers: [
                    ("bettley".to_owned(), server("10.4.0.11")),
                    ("cargyll".to_owned(), server("10.4.0.12")),
                    ("dalt".to_owned(), server("10.4.0.13")),
                ]
                .into(),
            }],
            stats: Some(Stats {
                bind: parse_bind("*:8404").unwrap(),
                uri: "/stats".into(),
            }),
            prometheus: Some(Prometheus {
                bind: parse_bind("*:8405").unwrap(),
                path: "/metrics".into(),
            }),
        }
    }

    #[test]
    fn the_books_file_reads_back_as_written() {
        let lb = book();
        let text = render(&lb);
        assert!(
            text.contains("\nfrontend k8s_api\n    bind 0.0.0.0:6443\n"),
            "{text}"
        );
        assert!(
            text.contains("    server bettley 10.4.0.11:6443 check weight 1\n"),
            "{text}"
        );
        assert!(text.contains(SOCKET_PATH));
        assert_eq!(parse(&text).unwrap(), lb);
    }

    #[test]
    fn https_checks_and_backups_read_back() {
        let mut lb = book();
        let frontend = &mut lb.frontends[0];
        frontend.check.kind = CheckKind::Https {
            path: "/healthz".into(),
            ca_file: None,
        };
        frontend.servers.get_mut("dalt").unwrap().backup = true;
        frontend.servers.get_mut("dalt").unwrap().weight = 10;
        let text = render(&lb);
        assert!(text.contains("    option httpchk GET /healthz\n"), "{text}");
        assert!(text.contains("check-ssl verify none\n"), "{text}");
        assert!(text.contains("check weight 10 backup\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), lb);
        lb.frontends[0].check.kind = CheckKind::Https {
            path: "/readyz".into(),
            ca_file: Some("/etc/kubernetes/pki/ca.crt".into()),
        };
        assert_eq!(parse(&render(&lb)).unwrap(), lb);
    }

    #[test]
    fn a_hand_edit_changes_the_rendering() {
        let text = render(&book());
        let edited = text.replace("10.4.0.12:6443", "10.4.0.99:6443");
        let parsed = parse(&edited).unwrap();
        assert_eq!(parsed.frontends[0].servers["cargyll"].address, "10.4.0.99");
        assert_eq!(render(&parsed), edited);
        // A line the renderer never writes is skipped by the reader, so the file no longer
        // matches its re-rendering.
        let extra = text.replace(
            "    balance roundrobin\n",
            "    balance roundrobin\n    maxconn 1\n",
        );
        assert_ne!(render(&parse(&extra).unwrap()), extra);
        assert!(parse("frontend a\n    bind 1.2.3.4:5\n").is_err());
    }
}
