//! The vtysh commands for a change and for its rollback, written either as `-c` arguments or as
//! configuration-file text, and the redaction of passwords in anything FRR prints.

use std::fmt;

use super::super::model::{Change, Neighbor, PasswordChange, Peer};
use super::running_config::{IPV4_UNICAST, RouterSection, RunningConfig, SectionLine};

/// Where in FRR's configuration tree a command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Context {
    /// `configure terminal`.
    Config,
    /// `router bgp ASN`.
    Router(u32),
    /// `address-family …` inside `router bgp ASN`.
    AddressFamily(u32, String),
}

/// One configuration command in its context.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Line {
    /// Where it runs.
    pub(super) context: Context,
    /// The command.
    pub(super) text: String,
    /// Whether it holds a secret: such lines never go on a command line (where any local user
    /// could read them in the process list) but on standard input.
    pub(super) secret: bool,
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if self.secret {
            redact_line(&self.text)
        } else {
            self.text.clone()
        };
        write!(f, "{:?}: {text:?}", self.context)
    }
}

impl Line {
    fn new(context: Context, text: impl Into<String>) -> Line {
        Line {
            context,
            text: text.into(),
            secret: false,
        }
    }

    fn from_section(asn: u32, line: &SectionLine) -> Line {
        Line {
            context: match &line.address_family {
                Some(family) => Context::AddressFamily(asn, family.clone()),
                None => Context::Router(asn),
            },
            text: line.text.clone(),
            secret: line.is_secret(),
        }
    }
}

/// Splits `lines` into runs that go the same way: public ones as `-c` arguments, secret ones
/// on standard input.
pub(super) fn runs(lines: &[Line]) -> Vec<&[Line]> {
    lines.chunk_by(|a, b| a.secret == b.secret).collect()
}

/// The `-c` arguments for `lines`, starting from `configure terminal`.
pub(super) fn command_arguments(lines: &[Line]) -> Vec<String> {
    let mut commands = vec!["configure terminal".to_owned()];
    let mut at = Context::Config;
    for line in lines {
        for (_, step) in transitions(&at, &line.context) {
            commands.push(step);
        }
        at = line.context.clone();
        commands.push(line.text.clone());
    }
    commands
}

/// `lines` as configuration-file text (what `vtysh -f` and `vtysh -C -f` read).
pub(super) fn file_text(lines: &[Line]) -> String {
    let mut text = String::new();
    let mut at = Context::Config;
    let indent = |context: &Context| match context {
        Context::Config => "",
        Context::Router(_) => " ",
        Context::AddressFamily(..) => "  ",
    };
    let mut push = |depth: usize, line: &str| {
        text.push_str(&" ".repeat(depth));
        text.push_str(line);
        text.push('\n');
    };
    for line in lines {
        for (depth, step) in transitions(&at, &line.context) {
            push(depth, &step);
        }
        at = line.context.clone();
        push(indent(&at).len(), &line.text);
    }
    for (depth, step) in transitions(&at, &Context::Config) {
        push(depth, &step);
    }
    text
}

/// The commands that move from one context to another, with the indentation a file gives them.
fn transitions(from: &Context, to: &Context) -> Vec<(usize, String)> {
    if from == to {
        return Vec::new();
    }
    let mut steps = Vec::new();
    // Up to the common ancestor.
    let router_of = |c: &Context| match c {
        Context::Config => None,
        Context::Router(asn) | Context::AddressFamily(asn, _) => Some(*asn),
    };
    let same_router = router_of(from).is_some() && router_of(from) == router_of(to);
    if let Context::AddressFamily(..) = from {
        steps.push((1, "exit-address-family".to_owned()));
    }
    if router_of(from).is_some() && !same_router {
        steps.push((0, "exit".to_owned()));
    }
    if let Some(asn) = router_of(to)
        && !same_router
    {
        steps.push((0, format!("router bgp {asn}")));
    }
    if let Context::AddressFamily(_, family) = to {
        steps.push((1, format!("address-family {family}")));
    }
    steps
}

/// The commands that make `change` on a router whose running configuration is `running`.
pub(super) fn change_lines(change: &Change, running: &RunningConfig) -> Vec<Line> {
    let bgp = running.bgp();
    match change {
        Change::SetInstance(wanted) => {
            let router = Context::Router(wanted.asn);
            let current = bgp.instance(wanted.asn).map(|i| &i.instance);
            let creating = current.is_none();
            let mut lines = Vec::new();
            if creating || current.map(|c| &c.router_id) != Some(&wanted.router_id) {
                match (
                    &wanted.router_id,
                    current.and_then(|c| c.router_id.as_ref()),
                ) {
                    (Some(id), _) => {
                        lines.push(Line::new(router.clone(), format!("bgp router-id {id}")))
                    }
                    (None, Some(old)) => {
                        lines.push(Line::new(router.clone(), format!("no bgp router-id {old}")));
                    }
                    (None, None) => {}
                }
            }
            let flag = |name: &str, on: bool| {
                if on {
                    format!("bgp {name}")
                } else {
                    format!("no bgp {name}")
                }
            };
            if creating
                || current.map(|c| c.log_neighbor_changes) != Some(wanted.log_neighbor_changes)
            {
                lines.push(Line::new(
                    router.clone(),
                    flag("log-neighbor-changes", wanted.log_neighbor_changes),
                ));
            }
            if creating
                || current.map(|c| c.ebgp_requires_policy) != Some(wanted.ebgp_requires_policy)
            {
                lines.push(Line::new(
                    router,
                    flag("ebgp-requires-policy", wanted.ebgp_requires_policy),
                ));
            }
            lines
        }
        Change::RemoveInstance { asn } => {
            vec![Line::new(Context::Config, format!("no router bgp {asn}"))]
        }
        Change::SetNeighbor {
            asn,
            neighbor,
            password,
            ..
        } => {
            let current = bgp.instance(*asn).and_then(|i| i.neighbor(&neighbor.peer));
            neighbor_lines(*asn, neighbor, current, password)
        }
        Change::RemoveNeighbor { asn, peer } => {
            let text = match peer.peer_group() {
                Some(group) => format!("no neighbor {group} peer-group"),
                None => format!("no neighbor {peer}"),
            };
            vec![Line::new(Context::Router(*asn), text)]
        }
    }
}

/// The commands that turn `current` (none when it is new) into `wanted`.
fn neighbor_lines(
    asn: u32,
    wanted: &Neighbor,
    current: Option<&Neighbor>,
    password: &PasswordChange,
) -> Vec<Line> {
    let router = Context::Router(asn);
    let family = Context::AddressFamily(asn, IPV4_UNICAST.to_owned());
    let key = wanted
        .peer
        .peer_group()
        .unwrap_or_else(|| wanted.peer.to_string());
    let mut lines = Vec::new();
    let mut push = |context: &Context, text: String| lines.push(Line::new(context.clone(), text));
    let neighbor = |rest: &str| format!("neighbor {key} {rest}");
    let no_neighbor = |rest: &str| format!("no neighbor {key} {rest}");
    match (current, wanted.peer) {
        (None, Peer::ListenRange(prefix)) => {
            push(&router, neighbor("peer-group"));
            push(
                &router,
                neighbor(&format!("remote-as {}", wanted.remote_asn)),
            );
            push(
                &router,
                format!("bgp listen range {prefix} peer-group {key}"),
            );
        }
        (Some(c), _) if c.remote_asn == wanted.remote_asn => {}
        _ => push(
            &router,
            neighbor(&format!("remote-as {}", wanted.remote_asn)),
        ),
    }
    let was_enabled = current.is_none_or(|c| c.enabled);
    if !wanted.enabled && was_enabled {
        push(&router, neighbor("shutdown"));
    }
    let mut setting = |name: &str, wanted: Option<String>, current: Option<String>| {
        if wanted != current {
            match wanted {
                Some(value) => push(&router, neighbor(&format!("{name} {value}"))),
                None => push(&router, no_neighbor(name)),
            }
        }
    };
    setting(
        "description",
        wanted.description.clone(),
        current.and_then(|c| c.description.clone()),
    );
    setting(
        "timers",
        wanted
            .timers
            .map(|t| format!("{} {}", t.keepalive, t.hold_time)),
        current
            .and_then(|c| c.timers)
            .map(|t| format!("{} {}", t.keepalive, t.hold_time)),
    );
    setting(
        "ebgp-multihop",
        wanted.ebgp_multihop.map(|h| h.to_string()),
        current.and_then(|c| c.ebgp_multihop).map(|h| h.to_string()),
    );
    setting(
        "update-source",
        wanted.update_source.clone(),
        current.and_then(|c| c.update_source.clone()),
    );
    match password {
        PasswordChange::Keep => {}
        PasswordChange::Set(secret) => lines.push(Line {
            context: router.clone(),
            text: neighbor(&format!("password {}", secret.expose())),
            secret: true,
        }),
        PasswordChange::Remove => {
            if current.is_some_and(|c| c.has_password) {
                lines.push(Line::new(router.clone(), no_neighbor("password")));
            }
        }
    }
    let empty = Default::default();
    let current_policy = current.map_or(&empty, |c| &c.ipv4_unicast);
    let policy = &wanted.ipv4_unicast;
    for (kind, direction, wanted, current) in [
        (
            "route-map",
            "in",
            &policy.route_map_in,
            &current_policy.route_map_in,
        ),
        (
            "route-map",
            "out",
            &policy.route_map_out,
            &current_policy.route_map_out,
        ),
        (
            "prefix-list",
            "in",
            &policy.prefix_list_in,
            &current_policy.prefix_list_in,
        ),
        (
            "prefix-list",
            "out",
            &policy.prefix_list_out,
            &current_policy.prefix_list_out,
        ),
    ] {
        match (wanted, current) {
            (w, c) if w == c => {}
            (Some(name), _) => lines.push(Line::new(
                family.clone(),
                format!("neighbor {key} {kind} {name} {direction}"),
            )),
            (None, Some(old)) => lines.push(Line::new(
                family.clone(),
                format!("no neighbor {key} {kind} {old} {direction}"),
            )),
            (None, None) => {}
        }
    }
    if wanted.enabled && !was_enabled {
        lines.push(Line::new(router, no_neighbor("shutdown")));
    }
    lines
}

/// What a rollback restores: the router-wide settings, or one neighbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
    /// The instance's own lines (every line no neighbor owns); the whole instance when it
    /// was created or removed.
    Instance(u32),
    /// The lines of one neighbor or peer group.
    Neighbor(u32, String),
}

impl Scope {
    /// What `change` touches.
    pub(super) fn of(change: &Change) -> Scope {
        match change.peer() {
            Some(peer) => Scope::Neighbor(
                change.asn(),
                peer.peer_group().unwrap_or_else(|| peer.to_string()),
            ),
            None => Scope::Instance(change.asn()),
        }
    }

    fn asn(&self) -> u32 {
        match self {
            Scope::Instance(asn) | Scope::Neighbor(asn, _) => *asn,
        }
    }

    fn contains(&self, line: &SectionLine) -> bool {
        match self {
            Scope::Instance(_) => line.owner().is_none(),
            Scope::Neighbor(_, key) => line.owner() == Some(key.as_str()),
        }
    }

    /// The lines of `section` within the scope, in order.
    pub(super) fn lines<'a>(&self, section: Option<&'a RouterSection>) -> Vec<&'a SectionLine> {
        section
            .map(|s| s.lines.iter().filter(|l| self.contains(l)).collect())
            .unwrap_or_default()
    }
}

/// The commands that bring what `scope` covers from `now` back to `before`.
pub(super) fn rollback_lines(
    before: &RunningConfig,
    now: &RunningConfig,
    scope: &Scope,
) -> Vec<Line> {
    let asn = scope.asn();
    let (old, new) = (before.router(asn), now.router(asn));
    let replay = |lines: Vec<&SectionLine>| -> Vec<Line> {
        lines
            .into_iter()
            .map(|l| Line::from_section(asn, l))
            .collect()
    };
    match (old, new) {
        (None, None) => Vec::new(),
        (None, Some(_)) => vec![Line::new(Context::Config, format!("no router bgp {asn}"))],
        (Some(old), None) => {
            let mut lines = replay(old.lines.iter().collect());
            if lines.is_empty() {
                // An instance with no settings of its own is still created by entering it.
                lines.push(Line::new(Context::Router(asn), "bgp ebgp-requires-policy"));
            }
            lines
        }
        (Some(old), Some(new)) => {
            let (old_lines, new_lines) = (scope.lines(Some(old)), scope.lines(Some(new)));
            if old_lines == new_lines {
                return Vec::new();
            }
            match scope {
                Scope::Neighbor(_, key) => {
                    let mut lines = Vec::new();
                    if !new_lines.is_empty() {
                        let text = if new.is_peer_group(key) {
                            format!("no neighbor {key} peer-group")
                        } else {
                            format!("no neighbor {key}")
                        };
                        lines.push(Line::new(Context::Router(asn), text));
                    }
                    lines.extend(replay(old_lines));
                    lines
                }
                Scope::Instance(_) => {
                    let mut lines: Vec<Line> = new_lines
                        .iter()
                        .filter(|l| !old_lines.contains(l))
                        .map(|l| Line {
                            text: negate(&l.text),
                            ..Line::from_section(asn, l)
                        })
                        .collect();
                    lines.extend(replay(
                        old_lines
                            .into_iter()
                            .filter(|l| !new_lines.contains(l))
                            .collect(),
                    ));
                    lines
                }
            }
        }
    }
}

/// `no X` for `X`, and `X` for `no X`.
fn negate(text: &str) -> String {
    match text.strip_prefix("no ") {
        Some(positive) => positive.to_owned(),
        None => format!("no {text}"),
    }
}

/// A configuration line with any password replaced by `(hidden)`.
pub(crate) fn redact_line(line: &str) -> String {
    match line.find("password") {
        Some(at) => format!("{}password (hidden)", &line[..at]),
        None => line.to_owned(),
    }
}

/// FRR's output made safe to show: password lines cut, and every known secret replaced.
pub(super) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut shown: String = text.lines().map(redact_line).collect::<Vec<_>>().join("\n");
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        shown = shown.replace(secret, "(hidden)");
    }
    shown.trim().to_owned()
}

#[cfg(test)]
mod tests;
