//! What the resource asks for and what the host has, as plain values: the wanted packages, the
//! host's dpkg status and holds, the versions apt offers, and the one apt transaction that
//! turns one into the other. Pure code, tested here.

use std::collections::{BTreeMap, BTreeSet};

/// Whether a package should be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// Installed (at `version` when pinned).
    Present,
    /// Not installed (removed if it is).
    Absent,
}

impl Wanted {
    /// `present` or `absent`, as the schema spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Wanted::Present => "present",
            Wanted::Absent => "absent",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Wanted> {
        match text {
            "present" => Some(Wanted::Present),
            "absent" => Some(Wanted::Absent),
            _ => None,
        }
    }
}

/// One package as the configuration wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Desired {
    /// Installed or not.
    pub(crate) state: Wanted,
    /// An exact version, or any.
    pub(crate) version: Option<String>,
    /// Held (`apt-mark hold`).
    pub(crate) hold: bool,
}

/// One package as dpkg has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installed {
    /// The installed version.
    pub(crate) version: String,
}

/// The host's view of the packages asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostPackages {
    /// Installed packages by name.
    pub(crate) installed: BTreeMap<String, Installed>,
    /// Held packages.
    pub(crate) held: BTreeSet<String>,
}

/// Separates the dpkg-query part from the apt-mark part of the status script's output.
pub(crate) const HOLDS_MARKER: &str = "--homelab-holds--";

impl HostPackages {
    /// Parses `dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'`, then
    /// [`HOLDS_MARKER`], then `apt-mark showhold`. A package counts as installed when dpkg's
    /// status is installed or only waiting for triggers; half-installed or config-files-only
    /// packages count as not installed, so an apply installs them properly.
    pub(crate) fn parse(output: &str) -> Result<HostPackages, String> {
        let (status, holds) = output
            .split_once(HOLDS_MARKER)
            .ok_or("the holds marker is missing")?;
        let mut host = HostPackages::default();
        for line in status.lines().filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, version, abbrev] = fields[..] else {
                return Err(format!("unexpected dpkg-query line {line:?}"));
            };
            let status = abbrev.as_bytes().get(1).copied();
            if matches!(status, Some(b'i' | b'W' | b't')) {
                host.installed.insert(
                    name.to_owned(),
                    Installed {
                        version: version.to_owned(),
                    },
                );
            }
        }
        host.held = holds
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(host)
    }
}

/// Versions apt can install, by package, from `apt-cache madison`.
pub(crate) fn parse_madison(output: &str) -> BTreeMap<String, Vec<String>> {
    let mut available: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in output.lines() {
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [name, version, source] = fields[..]
            && !source.ends_with("Sources")
        {
            let versions = available.entry(name.to_owned()).or_default();
            if !versions.iter().any(|v| v == version) {
                versions.push(version.to_owned());
            }
        }
    }
    available
}

/// The packages apt's simulation (`apt-get -s`) would remove: its `Remv NAME …` lines.
pub(crate) fn simulated_removals(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("Remv "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|name| name.split(':').next().unwrap_or(name).to_owned())
        .collect()
}

/// One apt-get run and the holds around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Transaction {
    /// `NAME=VERSION` or `NAME` to install, in name order.
    pub(crate) install: Vec<String>,
    /// Names to remove (passed as `NAME-`).
    pub(crate) remove: Vec<String>,
    /// Whether a held package is among them (apt then needs `--allow-change-held-packages`).
    pub(crate) touches_held: bool,
    /// Names to `apt-mark hold` afterwards.
    pub(crate) hold: Vec<String>,
    /// Names to `apt-mark unhold` afterwards.
    pub(crate) unhold: Vec<String>,
}

impl Transaction {
    /// What turns `host` into `desired`, also removing `dropped` (packages the resource no
    /// longer manages and had installed). An unpinned package that is installed is left at its
    /// version: only a pin upgrades or downgrades.
    pub(crate) fn between(
        desired: &BTreeMap<String, Desired>,
        dropped: &[String],
        host: &HostPackages,
    ) -> Transaction {
        let mut transaction = Transaction::default();
        for (name, want) in desired {
            let installed = host.installed.get(name);
            let held = host.held.contains(name);
            let change = match (want.state, installed, &want.version) {
                (Wanted::Present, None, None) => Some(name.clone()),
                (Wanted::Present, None, Some(version)) => Some(format!("{name}={version}")),
                (Wanted::Present, Some(have), Some(version)) if &have.version != version => {
                    Some(format!("{name}={version}"))
                }
                _ => None,
            };
            let changed = change.is_some();
            if let Some(argument) = change {
                transaction.install.push(argument);
                transaction.touches_held |= held;
            }
            if want.state == Wanted::Absent && installed.is_some() {
                transaction.remove.push(name.clone());
                transaction.touches_held |= held;
            }
            let keep_held = want.state == Wanted::Present && want.hold;
            // apt drops the hold of a held package it installs another version of.
            if keep_held && (!held || changed) {
                transaction.hold.push(name.clone());
            }
            // A removed package loses its hold with it.
            if !keep_held && held && want.state == Wanted::Present {
                transaction.unhold.push(name.clone());
            }
        }
        for name in dropped {
            if desired.contains_key(name) || !host.installed.contains_key(name) {
                continue;
            }
            transaction.remove.push(name.clone());
            transaction.touches_held |= host.held.contains(name);
        }
        transaction
    }

    /// Whether apt has to run at all.
    pub(crate) fn changes_packages(&self) -> bool {
        !self.install.is_empty() || !self.remove.is_empty()
    }

    /// The package arguments of `apt-get install`: installs, then removals as `NAME-`.
    pub(crate) fn apt_arguments(&self) -> Vec<String> {
        self.install
            .iter()
            .cloned()
            .chain(self.remove.iter().map(|name| format!("{name}-")))
            .collect()
    }

    /// Packages apt would remove beyond those asked for: dependents of a removed package, or
    /// packages that conflict with an installed one.
    pub(crate) fn unexpected_removals(&self, simulated: &BTreeSet<String>) -> Vec<String> {
        simulated
            .iter()
            .filter(|name| !self.remove.contains(name))
            .cloned()
            .collect()
    }
}

/// Why `name` is not a Debian package name, if it is not (Debian Policy 5.6.1: lowercase
/// letters, digits, `+`, `-`, `.`; at least two characters; starting with a letter or digit).
pub(crate) fn check_package_name(name: &str) -> Result<(), String> {
    let valid = name.len() >= 2
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(
            "a Debian package name has lowercase letters, digits, +, - and . only, starts with a \
             letter or digit, and is at least two characters long"
                .to_owned(),
        )
    }
}

/// Why `version` is not a Debian version, if it is not (Debian Policy 5.6.12:
/// `[epoch:]upstream[-revision]`, the upstream part starting with a digit).
pub(crate) fn check_version(version: &str) -> Result<(), String> {
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) => (Some(epoch), rest),
        None => (None, version),
    };
    let epoch_ok = epoch.is_none_or(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = rest.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+~-:".contains(&b));
    if epoch_ok && rest_ok {
        Ok(())
    } else {
        Err(
            "a Debian version looks like 1.30.2-1.1 or 1:2.36-9: an optional numeric epoch and \
             colon, then a digit, then letters, digits and . + ~ - : only"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(installed: &[(&str, &str)], held: &[&str]) -> HostPackages {
        HostPackages {
            installed: installed
                .iter()
                .map(|(n, v)| {
                    (
                        (*n).to_owned(),
                        Installed {
                            version: (*v).to_owned(),
                        },
                    )
                })
                .collect(),
            held: held.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    fn want(state: Wanted, version: Option<&str>, hold: bool) -> Desired {
        Desired {
            state,
            version: version.map(str::to_owned),
            hold,
        }
    }

    #[test]
    fn status_output_counts_only_installed_packages() {
        let output = "hl-hello\t1.0\tii \nhl-gone\t2.0\trc \nhl-half\t3\tiF \nhl-trig\t4\tiW \n\
                      --homelab-holds--\nhl-hello\n";
        let parsed = HostPackages::parse(output).unwrap();
        assert_eq!(
            parsed.installed.keys().collect::<Vec<_>>(),
            ["hl-hello", "hl-trig"]
        );
        assert!(parsed.held.contains("hl-hello"));
        assert!(HostPackages::parse("hl\t1\tii \n").is_err());
    }

    #[test]
    fn madison_lists_binary_versions_per_package() {
        let output = "  hl-hello |        1.1 | http://x stable/main amd64 Packages\n  \
                      hl-hello |        1.0 | http://x stable/main amd64 Packages\n  \
                      hl-hello |        1.0 | http://x stable/main Sources\n";
        let available = parse_madison(output);
        assert_eq!(available["hl-hello"], ["1.1", "1.0"]);
    }

    #[test]
    fn the_transaction_installs_pins_removes_and_moves_holds() {
        let desired = BTreeMap::from([
            ("a-new".to_owned(), want(Wanted::Present, None, false)),
            (
                "b-pinned".to_owned(),
                want(Wanted::Present, Some("2.0"), true),
            ),
            ("c-unpinned".to_owned(), want(Wanted::Present, None, false)),
            ("d-gone".to_owned(), want(Wanted::Absent, None, false)),
            ("e-same".to_owned(), want(Wanted::Present, Some("1"), true)),
        ]);
        let on_host = host(
            &[
                ("b-pinned", "1.0"),
                ("c-unpinned", "0.1"),
                ("d-gone", "1"),
                ("e-same", "1"),
                ("f-dropped", "1"),
            ],
            &["b-pinned", "c-unpinned"],
        );
        let dropped = vec!["f-dropped".to_owned(), "g-never-installed".to_owned()];
        let transaction = Transaction::between(&desired, &dropped, &on_host);
        assert_eq!(transaction.install, ["a-new", "b-pinned=2.0"]);
        assert_eq!(transaction.remove, ["d-gone", "f-dropped"]);
        assert!(transaction.touches_held);
        assert_eq!(transaction.hold, ["b-pinned", "e-same"]);
        assert_eq!(transaction.unhold, ["c-unpinned"]);
        assert_eq!(
            transaction.apt_arguments(),
            ["a-new", "b-pinned=2.0", "d-gone-", "f-dropped-"]
        );
        let simulated =
            simulated_removals("Remv d-gone [1]\nRemv f-dropped [1]\nRemv other:amd64 [3]\n");
        assert_eq!(transaction.unexpected_removals(&simulated), ["other"]);
    }

    #[test]
    fn an_unchanged_host_needs_no_transaction() {
        let desired = BTreeMap::from([("a".to_owned(), want(Wanted::Present, Some("1"), true))]);
        let transaction = Transaction::between(&desired, &[], &host(&[("a", "1")], &["a"]));
        assert_eq!(transaction, Transaction::default());
        assert!(!transaction.changes_packages());
    }

    #[test]
    fn names_and_versions_follow_debian_policy() {
        for good in ["hl-hello", "libc6", "g++", "kubeadm"] {
            assert!(check_package_name(good).is_ok(), "{good}");
        }
        for bad in [
            "a",
            "Hello",
            "-x",
            "$(touch /x)",
            "a b",
            "x;y",
            "hl-hello=1.0",
        ] {
            assert!(check_package_name(bad).is_err(), "{bad}");
        }
        for good in ["1.0", "1.30.2-1.1", "1:2.36-9+deb12u4", "2.0~rc1"] {
            assert!(check_version(good).is_ok(), "{good}");
        }
        for bad in ["", "v1.0", "1.0 ", ":1", "1.0;rm", "$(id)"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
