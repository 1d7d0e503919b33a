//! Export options as exports(5) defines them (nfs-utils 2.6): which names exist, which pairs
//! contradict each other, and what a list of options means once exportfs's defaults and aliases
//! are applied, so the user's spelling can be kept while the live table is compared by meaning.

use std::collections::BTreeMap;

/// Flags that come in pairs: (default, opposite, aliases of the default, aliases of the
/// opposite). Setting both sides of a pair is a contradiction; exportfs silently keeps the last.
const PAIRS: &[(&str, &str, &[&str], &[&str])] = &[
    ("ro", "rw", &[], &[]),
    ("sync", "async", &[], &[]),
    ("wdelay", "no_wdelay", &[], &[]),
    ("hide", "nohide", &[], &[]),
    ("nocrossmnt", "crossmnt", &[], &[]),
    ("secure", "insecure", &[], &[]),
    ("root_squash", "no_root_squash", &[], &[]),
    ("no_all_squash", "all_squash", &[], &[]),
    ("no_subtree_check", "subtree_check", &[], &[]),
    (
        "secure_locks",
        "insecure_locks",
        &["auth_nlm"],
        &["no_auth_nlm"],
    ),
    ("acl", "no_acl", &[], &[]),
    ("no_pnfs", "pnfs", &[], &[]),
];

/// Flags without an opposite; the live table lists them only when set.
const LONE_FLAGS: &[&str] = &["nordirplus", "security_label"];

/// Options with a value (`name=value`); (name, default). `mp` and `mp=` are `mountpoint`.
const VALUED: &[(&str, Option<&str>)] = &[
    ("anonuid", Some("65534")),
    ("anongid", Some("65534")),
    ("sec", Some("sys")),
    ("fsid", None),
    ("mountpoint", None),
    ("refer", None),
    ("replicas", None),
];

/// The security flavors exportfs knows.
const FLAVORS: &[&str] = &["sys", "krb5", "krb5i", "krb5p", "none"];

/// Why an option list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OptionError {
    /// Not an option exports(5) knows (exportfs: `unknown keyword`).
    #[error("unknown export option {0:?} (exportfs would say: unknown keyword)")]
    Unknown(String),
    /// Characters that would break the exports line.
    #[error(
        "{0:?} holds characters an export option cannot have (spaces, quotes, parentheses, commas, backslashes, #)"
    )]
    BadCharacters(String),
    /// A value exportfs refuses (`bad fsid`, `bad anonuid`, `unknown flavor`).
    #[error("{option:?}: {reason}")]
    BadValue {
        /// The option as written.
        option: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// Both sides of a pair, or one valued option twice with different values.
    #[error("{0:?} and {1:?} contradict each other; keep one")]
    Contradiction(String, String),
}

/// One option, parsed: a flag set to one side of its pair, or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    /// Pair index and whether it is the opposite (non-default) side.
    Pair(usize, bool),
    /// A lone flag.
    Lone(&'static str),
    /// A valued option by its canonical name, and its canonical value.
    Value(&'static str, String),
}

/// What an option list means: every knob's value after defaults and aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meaning {
    knobs: BTreeMap<&'static str, String>,
}

impl Meaning {
    /// Whether `self` asks for nothing that `live` does not have. Knobs the live table never
    /// shows (`replicas`) are not compared.
    pub(crate) fn satisfied_by(&self, live: &Meaning) -> bool {
        self.knobs
            .iter()
            .filter(|(name, _)| **name != "replicas")
            .all(|(name, value)| live.knobs.get(name) == Some(value))
    }
}

/// Checks one option's spelling and value.
fn parse_option(option: &str) -> Result<Parsed, OptionError> {
    if option.is_empty()
        || option.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '(' | ')' | ',' | '"' | '\\' | '#')
        })
    {
        return Err(OptionError::BadCharacters(option.to_owned()));
    }
    for (index, (default, opposite, default_aliases, opposite_aliases)) in PAIRS.iter().enumerate()
    {
        if option == *default || default_aliases.contains(&option) {
            return Ok(Parsed::Pair(index, false));
        }
        if option == *opposite || opposite_aliases.contains(&option) {
            return Ok(Parsed::Pair(index, true));
        }
    }
    if let Some(flag) = LONE_FLAGS.iter().find(|f| **f == option) {
        return Ok(Parsed::Lone(flag));
    }
    if option == "mountpoint" || option == "mp" {
        return Ok(Parsed::Value("mountpoint", String::new()));
    }
    let Some((name, value)) = option.split_once('=') else {
        return Err(OptionError::Unknown(option.to_owned()));
    };
    let name = if name == "mp" { "mountpoint" } else { name };
    let Some((name, _)) = VALUED.iter().find(|(n, _)| *n == name) else {
        return Err(OptionError::Unknown(option.to_owned()));
    };
    let bad = |reason: &str| OptionError::BadValue {
        option: option.to_owned(),
        reason: reason.to_owned(),
    };
    let value = match *name {
        "anonuid" | "anongid" => match value.parse::<i64>() {
            Ok(n) if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&n) => n.to_string(),
            _ => return Err(bad("not a user or group id (a whole number)")),
        },
        "fsid" => canonical_fsid(value)
            .ok_or_else(|| bad("exportfs would say: bad fsid; use a number, `root` or a UUID"))?,
        "sec" => {
            let flavors: Vec<&str> = value.split(':').collect();
            if let Some(unknown) = flavors.iter().find(|f| !FLAVORS.contains(f)) {
                return Err(bad(&format!(
                    "exportfs would say: unknown flavor {unknown}; use {}",
                    FLAVORS.join(", ")
                )));
            }
            value.to_owned()
        }
        "mountpoint" | "refer" | "replicas" if value.is_empty() => {
            return Err(bad("the value is empty"));
        }
        _ => value.to_owned(),
    };
    Ok(Parsed::Value(name, value))
}

/// `fsid=` as the live table shows it: `root` is 0, numbers without leading zeros, UUIDs as
/// written.
fn canonical_fsid(value: &str) -> Option<String> {
    if value == "root" {
        return Some("0".to_owned());
    }
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u32>().ok().map(|n| n.to_string());
    }
    let hex: String = value.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| value.to_owned())
}

/// Checks a whole option list: every option known and well formed, and no contradictions.
/// Errors carry the index of the option they are about.
pub(crate) fn check_options(options: &[&str]) -> Vec<(usize, OptionError)> {
    let mut errors = Vec::new();
    let mut seen: Vec<(usize, Parsed)> = Vec::new();
    for (index, option) in options.iter().enumerate() {
        let parsed = match parse_option(option) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push((index, e));
                continue;
            }
        };
        let clash = seen.iter().find(|(_, earlier)| match (earlier, &parsed) {
            (Parsed::Pair(a, side_a), Parsed::Pair(b, side_b)) => a == b && side_a != side_b,
            (Parsed::Value(a, value_a), Parsed::Value(b, value_b)) => a == b && value_a != value_b,
            _ => false,
        });
        if let Some((earlier, _)) = clash {
            errors.push((
                index,
                OptionError::Contradiction(options[*earlier].to_owned(), (*option).to_owned()),
            ));
        }
        seen.push((index, parsed));
    }
    errors
}

/// Whether the list names a subtree option; without one exportfs warns and assumes
/// `no_subtree_check`.
pub(crate) fn has_subtree_option(options: &[&str]) -> bool {
    options
        .iter()
        .any(|o| *o == "subtree_check" || *o == "no_subtree_check")
}

/// The meaning of an option list the user wrote (already checked) or exportfs printed.
/// Unknown options are skipped: the live table may show options newer than this list.
pub(crate) fn meaning(options: &[&str]) -> Meaning {
    let parsed: Vec<Parsed> = options
        .iter()
        .filter_map(|o| parse_option(o).ok())
        .collect();
    meaning_of_parsed(&parsed)
}

fn meaning_of_parsed(parsed: &[Parsed]) -> Meaning {
    // Pairs are keyed by their default side's name and hold the side chosen.
    let mut knobs = BTreeMap::new();
    for (default, _, _, _) in PAIRS {
        knobs.insert(*default, (*default).to_owned());
    }
    for (name, default) in VALUED {
        if let Some(default) = default {
            knobs.insert(*name, (*default).to_owned());
        }
    }
    for item in parsed {
        match item {
            Parsed::Pair(index, opposite) => {
                let (default, other, _, _) = PAIRS[*index];
                knobs.insert(default, if *opposite { other } else { default }.to_owned());
            }
            Parsed::Lone(flag) => {
                knobs.insert(flag, String::new());
            }
            Parsed::Value(name, value) => {
                knobs.insert(name, value.clone());
            }
        }
    }
    Meaning { knobs }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options of an etab line the lab's exportfs wrote for `*(rw,no_root_squash)`.
    const LIVE: &str = "rw,sync,wdelay,hide,nocrossmnt,secure,no_root_squash,no_all_squash,\
                        no_subtree_check,secure_locks,acl,no_pnfs,anonuid=65534,anongid=65534,\
                        sec=sys,rw,no_root_squash,no_all_squash";

    fn live() -> Meaning {
        meaning(&LIVE.split(',').collect::<Vec<_>>())
    }

    #[test]
    fn the_books_options_are_valid_and_match_the_live_table() {
        let book = ["rw", "sync", "no_root_squash", "no_subtree_check"];
        assert!(check_options(&book).is_empty());
        assert!(meaning(&book).satisfied_by(&live()));
        assert!(meaning(&["rw", "no_root_squash"]).satisfied_by(&live()));
        assert!(!meaning(&["ro"]).satisfied_by(&live()));
        assert!(
            !meaning(&["rw"]).satisfied_by(&live()),
            "root_squash is the default"
        );
        assert!(!meaning(&["rw", "no_root_squash", "fsid=1"]).satisfied_by(&live()));
    }

    #[test]
    fn aliases_mean_the_same_as_their_names() {
        assert_eq!(meaning(&["no_auth_nlm"]), meaning(&["insecure_locks"]));
        assert_eq!(meaning(&["mp"]), meaning(&["mountpoint"]));
        assert_eq!(meaning(&["mp=/x"]), meaning(&["mountpoint=/x"]));
        assert_eq!(meaning(&["fsid=root"]), meaning(&["fsid=0"]));
        assert_eq!(meaning(&["ro", "sync"]), meaning(&[]));
        assert_ne!(meaning(&["rw"]), meaning(&[]));
    }

    #[test]
    fn unknown_names_bad_values_and_contradictions_are_refused() {
        let errors = check_options(&[
            "rw",
            "bogus",
            "ro",
            "fsid=abc",
            "anonuid=x",
            "sec=krb5:bad",
            "sync",
            "async",
            "root_squash",
            "no_root_squash",
            "a b",
            "anonuid=1",
            "anonuid=2",
            "rw=x",
        ]);
        let described: Vec<(usize, String)> =
            errors.iter().map(|(i, e)| (*i, e.to_string())).collect();
        let indexes: Vec<usize> = described.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [1, 2, 3, 4, 5, 7, 9, 10, 12, 13], "{described:#?}");
        assert!(described[0].1.contains("unknown keyword"));
        assert!(described[1].1.contains("\"rw\" and \"ro\" contradict"));
        assert!(described[2].1.contains("bad fsid"));
        assert!(described[4].1.contains("unknown flavor bad"));
        assert!(
            check_options(&["fsid=6f7e6f7e-0000-0000-0000-000000000000", "mp=/srv"]).is_empty()
        );
        assert!(check_options(&["sec=sys:krb5:krb5i:krb5p", "anonuid=-2", "fsid=root"]).is_empty());
        assert!(
            check_options(&["rw", "rw"]).is_empty(),
            "repeating is not contradicting"
        );
    }

    #[test]
    fn the_subtree_warning_needs_either_subtree_option() {
        assert!(!has_subtree_option(&["rw", "sync"]));
        assert!(has_subtree_option(&["rw", "subtree_check"]));
        assert!(has_subtree_option(&["no_subtree_check"]));
    }
}
