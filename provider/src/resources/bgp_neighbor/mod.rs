//! `homelab_bgp_neighbor`: one neighbor (or a listen range of dynamic neighbors) of a router's
//! FRR BGP instance. Its schema and checks are in `schema.rs`; here are the lifecycle and the
//! translation between Terraform values and the router model.

mod schema;

use async_trait::async_trait;

use self::schema::{
    IPV4_UNICAST, PASSWORD_SET_OUTSIDE, POLICY_ATTRIBUTES, password_from_environment,
};
use crate::registry::{Context, Resource};
use crate::router::frr::Frr;
use crate::router::resource_values::{failed, required_asn, with_settings_defaults};
use crate::router::{
    self, BgpBackend, Change, Ipv4UnicastPolicy, Neighbor, PasswordChange, Peer, Timers,
    WaitForEstablished,
};
use crate::ssh::Secret;
use crate::ssh::resource_config::split_host;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Schema, Value, duration};

/// The `homelab_bgp_neighbor` resource.
pub struct BgpNeighbor;

#[async_trait]
impl Resource for BgpNeighbor {
    fn type_name(&self) -> &'static str {
        "homelab_bgp_neighbor"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        schema::validate(config)
    }

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        let planned = &mut change.planned;
        let peer_text = [config.attr("address"), config.attr("listen_range")]
            .into_iter()
            .find(|v| !v.is_null());
        match peer_text {
            Some(Value::String(text)) => {
                let peer = Peer::parse(text).ok();
                planned.set_attr("peer_group", peer.and_then(|p| p.peer_group()).into());
                if let (Some(host), Some(peer)) = (config.attr("host").as_str(), peer) {
                    planned.set_attr("id", Value::from(format!("{host}:{peer}")));
                }
            }
            _ => planned.set_attr("peer_group", Value::unknown()),
        }
        // A password from the environment is checked here, where plan still stops bad input,
        // and read again at apply; the plan never holds it.
        if let Some(name) = config.attr("password_env").as_str()
            && let Err(problem) = password_from_environment(name)
        {
            return problem.into();
        }
        context
            .provider
            .ssh
            .check_connection(prior, config, &context.cancel)
            .await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics> {
        let password = match configured_password(config)? {
            Some(text) => PasswordChange::Set(Secret::new(&text)),
            None => PasswordChange::Remove,
        };
        set_neighbor(context, planned, config, password, true).await
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let frr = Frr::for_resource(&context.provider.ssh, state, &context.cancel)?;
        let peer = peer_of(state)?;
        let running = frr
            .running_config()
            .await
            .map_err(|e| failed("reading the BGP configuration", e))?;
        // An imported neighbor does not know its instance yet: it is the one that has it.
        let found = running.bgp.instances.iter().find_map(|instance| {
            let asn = instance.instance.asn;
            let wanted = state.attr("asn").as_i64();
            let matches = wanted.is_none() || wanted == Some(i64::from(asn));
            matches
                .then(|| instance.neighbor(&peer))
                .flatten()
                .map(|neighbor| (asn, neighbor))
        });
        let Some((asn, neighbor)) = found else {
            return Ok(None);
        };
        Ok(Some(state_from_router(state, asn, neighbor)))
    }

    async fn update(
        &self,
        context: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics> {
        let version_changed = planned.attr("password_version") != prior.attr("password_version");
        let password = match version_changed {
            false => PasswordChange::Keep,
            true => match configured_password(config)? {
                Some(text) => PasswordChange::Set(Secret::new(&text)),
                None => PasswordChange::Remove,
            },
        };
        set_neighbor(context, planned, config, password, false).await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let frr = Frr::for_resource(&context.provider.ssh, prior, &context.cancel)?;
        let asn = required_asn(prior, "asn")?;
        let peer = peer_of(prior)?;
        router::apply_change(&frr, &Change::RemoveNeighbor { asn, peer }, None)
            .await
            .map(|_| ())
            .map_err(|e| failed(&format!("removing neighbor {peer}"), e))
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        let parsed = split_host(id).and_then(|(host, peer)| Some((host, Peer::parse(peer).ok()?)));
        let Some((host, peer)) = parsed else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!(
                    "{id:?} is not HOST:ADDRESS or HOST:LISTEN_RANGE, e.g. 10.4.0.1:10.4.0.11 \
                     or [fd00::1]:10.4.0.0/24"
                ),
            )
            .into());
        };
        let mut state = self.schema().block.null_value();
        state.set_attr("host", host.into());
        let attribute = match peer {
            Peer::Address(_) => "address",
            Peer::ListenRange(_) => "listen_range",
        };
        state.set_attr(attribute, peer.to_string().into());
        state.set_attr("id", id.into());
        Ok(with_settings_defaults(state))
    }
}

/// Creates or changes the neighbor as planned, waiting for its session when the configuration
/// (which alone holds the write-only `wait_for_established`) asks.
async fn set_neighbor(
    context: &Context,
    planned: &Value,
    config: &Value,
    password: PasswordChange,
    create: bool,
) -> Result<Value, Diagnostics> {
    let frr = Frr::for_resource(&context.provider.ssh, planned, &context.cancel)?;
    let asn = required_asn(planned, "asn")?;
    let neighbor = neighbor_from(planned)?;
    let wait = match (config.attr("wait_for_established").as_str(), neighbor.peer) {
        (Some(text), Peer::Address(address)) => Some(WaitForEstablished {
            address,
            timeout: duration::parse(text).map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error("Invalid duration", e.to_string())
                        .at(AttributePath::root("wait_for_established")),
                )
            })?,
        }),
        _ => None,
    };
    let peer = neighbor.peer;
    let change = Change::SetNeighbor {
        asn,
        neighbor,
        password,
        create,
    };
    router::apply_change(&frr, &change, wait)
        .await
        .map_err(|e| failed(&format!("configuring neighbor {peer}"), e))?;
    let mut state = planned.clone();
    state.set_attr("peer_group", peer.peer_group().into());
    state.set_attr("id", id_of(planned, &peer).into());
    Ok(state)
}

fn id_of(state: &Value, peer: &Peer) -> String {
    format!("{}:{peer}", state.attr("host").as_str().unwrap_or_default())
}

/// The neighbor a state or plan describes.
fn peer_of(value: &Value) -> Result<Peer, Diagnostics> {
    let text = value
        .attr("address")
        .as_str()
        .or_else(|| value.attr("listen_range").as_str());
    text.and_then(|t| Peer::parse(t).ok()).ok_or_else(|| {
        Diagnostic::error(
            "Neighbor not known",
            "address or listen_range must be a known, valid value here.",
        )
        .at(AttributePath::root("address"))
        .into()
    })
}

/// The router model of a planned neighbor (values known at apply).
fn neighbor_from(planned: &Value) -> Result<Neighbor, Diagnostics> {
    let number = |name: &str| planned.attr(name).as_i64();
    let text = |name: &str| planned.attr(name).as_str().map(str::to_owned);
    let policy = planned.attr(IPV4_UNICAST);
    let policy_name = |name: &str| policy.attr(name).as_str().map(str::to_owned);
    let timers = match (number("keepalive"), number("hold_time")) {
        (Some(keepalive), Some(hold_time)) => Some(Timers {
            keepalive: u16::try_from(keepalive).unwrap_or(u16::MAX),
            hold_time: u16::try_from(hold_time).unwrap_or(u16::MAX),
        }),
        _ => None,
    };
    Ok(Neighbor {
        peer: peer_of(planned)?,
        remote_asn: required_asn(planned, "remote_asn")?,
        description: text("description"),
        timers,
        ebgp_multihop: number("ebgp_multihop").and_then(|h| u8::try_from(h).ok()),
        update_source: text("update_source"),
        enabled: planned.attr("enabled").as_bool().unwrap_or(true),
        ipv4_unicast: Ipv4UnicastPolicy {
            route_map_in: policy_name("route_map_in"),
            route_map_out: policy_name("route_map_out"),
            prefix_list_in: policy_name("prefix_list_in"),
            prefix_list_out: policy_name("prefix_list_out"),
        },
        has_password: false,
    })
}

/// The password configuration asks for: the write-only one, or the one in the environment
/// variable `password_env` names (validate lets at most one be set).
fn configured_password(config: &Value) -> Result<Option<String>, Diagnostics> {
    if let Some(text) = config.attr("password").as_str() {
        return Ok(Some(text.to_owned()));
    }
    match config.attr("password_env").as_str() {
        Some(name) => Ok(Some(password_from_environment(name)?)),
        None => Ok(None),
    }
}

/// The state as the router has it now, keeping what only Terraform knows (connection and FRR
/// settings, the password's version while the router has a password).
fn state_from_router(state: &Value, asn: u32, neighbor: &Neighbor) -> Value {
    let mut new = with_settings_defaults(state.clone());
    let int = |n: Option<i64>| n.map_or(Value::Null, Value::int);
    new.set_attr("asn", Value::int(i64::from(asn)));
    new.set_attr("remote_asn", Value::int(i64::from(neighbor.remote_asn)));
    new.set_attr("description", neighbor.description.clone().into());
    let timers = neighbor.timers;
    new.set_attr("keepalive", int(timers.map(|t| i64::from(t.keepalive))));
    new.set_attr("hold_time", int(timers.map(|t| i64::from(t.hold_time))));
    new.set_attr("ebgp_multihop", int(neighbor.ebgp_multihop.map(i64::from)));
    new.set_attr("update_source", neighbor.update_source.clone().into());
    new.set_attr("enabled", neighbor.enabled.into());
    let version = state.attr("password_version");
    let version = match (neighbor.has_password, version.is_null()) {
        (true, true) => Value::from(PASSWORD_SET_OUTSIDE),
        (true, false) => version.clone(),
        (false, _) => Value::Null,
    };
    new.set_attr("password_version", version);
    let policy = &neighbor.ipv4_unicast;
    let values = [
        &policy.route_map_in,
        &policy.route_map_out,
        &policy.prefix_list_in,
        &policy.prefix_list_out,
    ];
    let block = if values.iter().all(|v| v.is_none()) && state.attr(IPV4_UNICAST).is_null() {
        Value::Null
    } else {
        Value::object(
            POLICY_ATTRIBUTES
                .iter()
                .zip(values)
                .map(|((name, _), value)| (*name, value.clone().into())),
        )
    };
    new.set_attr(IPV4_UNICAST, block);
    new.set_attr("peer_group", neighbor.peer.peer_group().into());
    new.set_attr("id", id_of(state, &neighbor.peer).into());
    new
}

#[cfg(test)]
mod tests;
