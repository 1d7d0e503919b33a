//! `homelab_bgp_neighbor`'s schema and its checks, which name the attribute of any bad value
//! before anything reaches the router.

use crate::router::frr;
use crate::router::resource_values::{asn_attribute, validate_asn};
use crate::router::{Peer, Prefix};
use crate::ssh::resource_config;
use crate::tf::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type, Value,
    duration,
};

/// The nested block holding the IPv4 unicast policy.
pub(super) const IPV4_UNICAST: &str = "ipv4_unicast";

/// The policy attributes of the `ipv4_unicast` block: (attribute, what it is).
pub(super) const POLICY_ATTRIBUTES: [(&str, &str); 4] = [
    (
        "route_map_in",
        "The route-map applied to routes received from the neighbor.",
    ),
    (
        "route_map_out",
        "The route-map applied to routes sent to the neighbor.",
    ),
    (
        "prefix_list_in",
        "The prefix-list filtering routes received from the neighbor.",
    ),
    (
        "prefix_list_out",
        "The prefix-list filtering routes sent to the neighbor.",
    ),
];

/// What `password_version` reads as when the router has a password Terraform did not set.
pub(super) const PASSWORD_SET_OUTSIDE: &str = "(set outside Terraform)";

pub(super) fn schema() -> Schema {
    let mut attributes = vec![
        resource_config::host_attribute().describe("The router's name or address, as SSH connects to it."),
        asn_attribute().describe(
            "The AS number of the router's BGP instance (`homelab_bgp_router.asn`); the instance \
             must exist.",
        ),
        Attribute::optional("address", Type::String)
            .requires_replace()
            .describe("The neighbor's IPv4 or IPv6 address. Exactly one of `address` and `listen_range` is set."),
        Attribute::optional("listen_range", Type::String)
            .requires_replace()
            .describe(
                "A prefix such as `10.4.0.0/24`: any speaker connecting from it is accepted as a \
                 dynamic neighbor (`bgp listen range`). Its settings live in a peer group named \
                 after the range (`peer_group`).",
            ),
        Attribute::required("remote_asn", Type::Number)
            .describe("The neighbor's AS number; equal to `asn` for iBGP."),
        Attribute::optional("description", Type::String).describe(
            "Free text the router shows for the neighbor: printable ASCII without quotes or \
             backslashes, no leading, trailing or repeated spaces, at most 80 characters.",
        ),
        // Write-only, and deliberately not also sensitive: Terraform never stores or shows a
        // write-only value, and Terraform 1.11 stores a resource's sensitive paths in an order
        // that changes between runs, so a second one (beside `ssh.private_key`) made
        // refresh-only plans report changes that are not there.
        Attribute::optional("password", Type::String)
            .write_only()
            .describe(
                "The TCP MD5 password (RFC 2385) both sides must share: 1 to 80 printable ASCII \
                 characters without spaces. Write-only: it is never stored in plan or state, and \
                 it reaches the router on standard input, never on a command line. Set \
                 `password_version` with it, and change that to send a new password. Needs \
                 Terraform v1.11 or OpenTofu v1.11 or later; with older ones use \
                 `password_env`.",
            )
            .write_only_alternative(
                "Use password_env instead, with password_version as before: it names an \
                 environment variable of the terraform or tofu process that holds the \
                 password, works on every supported Terraform and OpenTofu, and keeps the \
                 password out of state.",
            ),
        Attribute::optional("password_env", Type::String).describe(
            "The name of an environment variable of the `terraform` or `tofu` process (for \
             example a secret variable of a Spacelift stack) that holds the TCP MD5 password, \
             for Terraform before v1.11 and OpenTofu before v1.11 (Spacelift's Terraform 1.5.7 \
             among them), which do not support the write-only `password`. Only the name is \
             stored in state; the password is read when planning (to check it is set and \
             valid) and when applying, and reaches the router as `password` does. Set at most \
             one of `password` and `password_env`, and set `password_version` with either: a \
             new value of the variable is sent when `password_version` changes. The variable \
             must be set wherever plan and apply run, and is visible to every process the CLI \
             starts; that is its cost against `password`.",
        ),
        Attribute::optional("password_version", Type::String).describe(
            "Any value that changes whenever the password (`password`, or the variable \
             `password_env` names) does (a counter, a date): the password is written when this \
             changes. Refresh checks that the router still has a \
             password: one removed by hand shows this as removed, one added by hand shows it as \
             `\"(set outside Terraform)\"`. A password changed by hand to another value cannot \
             be seen.",
        ),
        Attribute::optional("hold_time", Type::Number).describe(
            "Seconds without a message before the session is dropped: 0 (never) or 3 to 65535. \
             Set together with `keepalive`; unset, the router's defaults apply.",
        ),
        Attribute::optional("keepalive", Type::Number)
            .describe("Seconds between keepalives, 0 to 65535. Set together with `hold_time`."),
        Attribute::optional("ebgp_multihop", Type::Number)
            .describe("How many hops away an eBGP neighbor may be (1 to 255), when not directly connected."),
        Attribute::optional("update_source", Type::String)
            .describe("The local address or interface name sessions start from."),
        Attribute::optional("enabled", Type::Bool).default_value(true).describe(
            "False shuts the neighbor down (`neighbor … shutdown`): its session closes and \
             stays down, and its configuration is kept.",
        ),
        Attribute::optional("wait_for_established", Type::String)
            .write_only()
            .describe(
                "After a create or update, wait this long (a duration like `\"60s\"`) for the \
                 session to reach Established; if it does not, the change is rolled back and the \
                 apply fails with the session's last state. Only with `address`. Write-only: it \
                 changes how the neighbor is applied, not what it is, so it is not kept in state \
                 and an imported neighbor needs no value for it. Needs Terraform v1.11 or \
                 OpenTofu v1.11 or later.",
            )
            .write_only_alternative(
                "Leave it unset and check the session afterwards with the \
                 homelab_bgp_sessions data source, or use Terraform v1.11 or OpenTofu v1.11 or \
                 later.",
            ),
    ];
    attributes.extend(frr::save_attributes());
    attributes.extend([
        Attribute::computed("peer_group", Type::String).describe(
            "For a `listen_range`, the peer group holding its settings (`range-<network>-<length>`); null otherwise.",
        ),
        Attribute::computed("id", Type::String)
            .use_state_for_unknown()
            .describe("`host:address` or `host:listen_range`, the import ID."),
    ]);
    let policy = Block::new(
        "The IPv4 unicast policy, by the names of route-maps and prefix-lists defined on the \
         router (they may be defined later; FRR then warns and applies no policy until they \
         exist).",
        POLICY_ATTRIBUTES
            .iter()
            .map(|(name, text)| Attribute::optional(name, Type::String).describe(text))
            .collect(),
    );
    Schema {
        version: 0,
        block: Block::new(
            "A BGP neighbor (or a range of dynamic neighbors) of a router's FRR instance, \
             configured through vtysh over SSH as one transaction: FRR checks the candidate \
             before anything is applied, the result is read back and saved, and a failed step \
             is rolled back. Refresh reads `show running-config`, so a neighbor removed or \
             changed by hand shows as drift. Changes to one router are made one at a time; there \
             is no `timeouts` block because a transaction, once started, is always finished or \
             rolled back. Import with `HOST:ADDRESS` or `HOST:LISTEN_RANGE`.",
            attributes,
        )
        .with_block(resource_config::resource_block())
        .with_block(NestedBlock::single(IPV4_UNICAST, policy)),
    }
}

pub(super) fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = resource_config::validate_resource(config);
    diagnostics.extend(frr::validate_settings(config));
    validate_asn(config, "asn", &mut diagnostics);
    validate_asn(config, "remote_asn", &mut diagnostics);
    let mut error = |name: &str, summary: &str, detail: String| {
        diagnostics.push(Diagnostic::error(summary, detail).at(AttributePath::root(name)));
    };
    let (address, range) = (config.attr("address"), config.attr("listen_range"));
    if address.is_null() && range.is_null() {
        error(
            "address",
            "Missing address",
            "Set address or listen_range.".into(),
        );
    } else if !address.is_null() && !range.is_null() {
        error(
            "listen_range",
            "Conflicting peers",
            "Set address or listen_range, not both.".into(),
        );
    }
    if let Some(text) = address.as_str()
        && !matches!(Peer::parse(text), Ok(Peer::Address(_)))
    {
        error(
            "address",
            "Invalid address",
            format!("{:?} is not an IPv4 or IPv6 address", shown(text)),
        );
    }
    if let Some(text) = range.as_str()
        && let Err(reason) = text.parse::<Prefix>()
    {
        error("listen_range", "Invalid listen_range", shown(&reason));
    }
    if let Some(text) = config.attr("description").as_str()
        && let Err(reason) = check_description(text)
    {
        error("description", "Invalid description", reason);
    }
    if let Some(text) = config.attr("password").as_str()
        && let Err(reason) = check_password(text)
    {
        error("password", "Invalid password", reason);
    }
    if let Some(name) = config.attr("password_env").as_str()
        && !is_environment_variable_name(name)
    {
        error(
            "password_env",
            "Invalid password_env",
            format!(
                "{:?} is not an environment variable name (letters, digits and _, not \
                 starting with a digit)",
                shown(name)
            ),
        );
    }
    let (password, version) = (config.attr("password"), config.attr("password_version"));
    let from_env = config.attr("password_env");
    if !password.is_null() && !from_env.is_null() {
        error(
            "password_env",
            "Conflicting passwords",
            "Set password (write-only, Terraform and OpenTofu v1.11 on) or password_env (every \
             CLI), not both."
                .into(),
        );
    }
    let either = if password.is_null() {
        from_env
    } else {
        password
    };
    if either.is_known() && version.is_known() {
        if !either.is_null() && version.is_null() {
            error(
                "password_version",
                "Missing password_version",
                "Terraform never sees the password itself change: set password_version with \
                 password or password_env, and change that value whenever the password changes."
                    .into(),
            );
        } else if either.is_null() && !version.is_null() {
            error(
                "password",
                "Missing password",
                "password_version is set but neither password nor password_env is.".into(),
            );
        }
    }
    let number = |name: &str| config.attr(name).as_i64();
    let (hold, keepalive) = (config.attr("hold_time"), config.attr("keepalive"));
    if hold.is_known() && keepalive.is_known() && hold.is_null() != keepalive.is_null() {
        let missing = if hold.is_null() {
            "hold_time"
        } else {
            "keepalive"
        };
        error(
            missing,
            "Incomplete timers",
            "Set hold_time and keepalive together.".into(),
        );
    }
    if let Some(h) = number("hold_time")
        && !(h == 0 || (3..=65535).contains(&h))
    {
        error(
            "hold_time",
            "Invalid hold_time",
            format!("{h} is not 0 or 3 to 65535"),
        );
    }
    if let Some(k) = number("keepalive")
        && !(0..=65535).contains(&k)
    {
        error(
            "keepalive",
            "Invalid keepalive",
            format!("{k} is not 0 to 65535"),
        );
    }
    if let Some(hops) = number("ebgp_multihop")
        && !(1..=255).contains(&hops)
    {
        error(
            "ebgp_multihop",
            "Invalid ebgp_multihop",
            format!("{hops} is not 1 to 255"),
        );
    }
    if let Some(source) = config.attr("update_source").as_str()
        && source.parse::<std::net::IpAddr>().is_err()
        && !(is_name(source) && source.len() <= 15)
    {
        error(
            "update_source",
            "Invalid update_source",
            format!(
                "{:?} is not an IP address or an interface name",
                shown(source)
            ),
        );
    }
    if let Some(text) = config.attr("wait_for_established").as_str() {
        if let Err(e) = duration::parse(text) {
            error("wait_for_established", "Invalid duration", e.to_string());
        }
        if !range.is_null() {
            error(
                "wait_for_established",
                "Cannot wait for a range",
                "Dynamic neighbors connect when they like; wait_for_established needs an address."
                    .into(),
            );
        }
    }
    for (name, _) in POLICY_ATTRIBUTES {
        if let Some(text) = config.attr(IPV4_UNICAST).attr(name).as_str()
            && !(is_name(text) && text.len() <= 63)
        {
            diagnostics.push(
                Diagnostic::error(
                    "Invalid name",
                    format!(
                        "{:?} is not a route-map or prefix-list name (1 to 63 letters, digits, \
                         and . _ : -)",
                        shown(text)
                    ),
                )
                .at(AttributePath::root(IPV4_UNICAST).attr(name)),
            );
        }
    }
    diagnostics
}

/// A description FRR stores exactly as given and that cannot break out of its command.
pub(super) fn check_description(text: &str) -> Result<(), String> {
    let rule = "a description is 1 to 80 printable ASCII characters without quotes, backquotes \
                or backslashes, and no leading, trailing or repeated spaces";
    let bad = text
        .chars()
        .find(|c| !(' '..='~').contains(c) || matches!(c, '"' | '\'' | '`' | '\\'));
    if let Some(c) = bad {
        return Err(format!("{rule}; it contains {c:?}"));
    }
    if text.is_empty() || text.len() > 80 {
        return Err(format!("{rule}; it has {} characters", text.len()));
    }
    if text.starts_with(' ') || text.ends_with(' ') || text.contains("  ") {
        return Err(format!("{rule}; FRR would not keep its spaces as written"));
    }
    Ok(())
}

/// A password FRR stores exactly as given. The message never shows it.
fn check_password(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 80 {
        return Err(format!(
            "a password is 1 to 80 characters; this one has {}",
            text.chars().count()
        ));
    }
    if let Some(at) = text.chars().position(|c| !('!'..='~').contains(&c)) {
        return Err(format!(
            "a password is printable ASCII without spaces; character {} is not",
            at + 1
        ));
    }
    Ok(())
}

/// The password an environment variable named by `password_env` holds, checked as a
/// configured one is; errors name `password_env` and never show the value.
pub(super) fn password_from_environment(name: &str) -> Result<String, Diagnostic> {
    password_from_variable(name, std::env::var(name).ok())
}

/// Checks the value (`None` when unset or not UTF-8) of the variable `password_env` names.
pub(super) fn password_from_variable(
    name: &str,
    value: Option<String>,
) -> Result<String, Diagnostic> {
    let at = AttributePath::root("password_env");
    let text = value.ok_or_else(|| {
        Diagnostic::error(
            "Password variable not set",
            format!(
                "password_env names {name}, but the terraform or tofu process has no such \
                 environment variable with a UTF-8 value: set it wherever plan and apply run."
            ),
        )
        .at(at.clone())
    })?;
    check_password(&text).map_err(|reason| {
        Diagnostic::error("Invalid password", format!("the value of {name}: {reason}")).at(at)
    })?;
    Ok(text)
}

/// A portable environment variable name.
fn is_environment_variable_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A word FRR takes as a name: letters, digits, `.`, `_`, `:` and `-`.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// A user value cut to a length a diagnostic can show.
fn shown(text: &str) -> String {
    text.chars().take(100).collect()
}
