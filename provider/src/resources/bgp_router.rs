//! `homelab_bgp_router`: the BGP instance of a router running FRR (`router bgp ASN`), its
//! router-wide settings, and bgpd itself; plus what the BGP resources and data source share
//! about reaching a router (ASNs, import IDs, plan-time connection checks, diagnostics).

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::router::frr::{self, Frr};
use crate::router::resource_values::{
    asn_attribute, asn_of, failed, required_asn, validate_asn, with_settings_defaults,
};
use crate::router::{self, BgpBackend, Change, Instance};
use crate::ssh::resource_config;
use crate::ssh::resource_config::split_host;
use crate::tf::plan::PlannedChange;
use crate::tf::{Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value};

/// The `homelab_bgp_router` resource.
pub struct BgpRouter;

#[async_trait]
impl Resource for BgpRouter {
    fn type_name(&self) -> &'static str {
        "homelab_bgp_router"
    }

    fn schema(&self) -> Schema {
        let mut attributes = vec![
            resource_config::host_attribute(),
            asn_attribute().describe(
                "The router's autonomous system number (1 to 4294967295). FRR cannot change \
                 the AS of a running instance, so a new value replaces the instance (and every \
                 neighbor in it).",
            ),
            Attribute::optional("router_id", Type::String).describe(
                "The BGP router identifier, an IPv4 address. When unset, FRR picks one from the \
                 router's addresses.",
            ),
            Attribute::optional("log_neighbor_changes", Type::Bool)
                .default_value(true)
                .describe("Log every neighbor going up or down (`bgp log-neighbor-changes`)."),
            Attribute::optional("ebgp_requires_policy", Type::Bool)
                .default_value(true)
                .describe(
                    "Exchange no routes with eBGP neighbors that have no route-map or \
                     prefix-list (RFC 8212, FRR's default). Set to false for MetalLB-style \
                     peers that should work without policies.",
                ),
        ];
        attributes.extend(frr::save_attributes());
        attributes.extend(frr::daemon_attributes());
        attributes.push(
            Attribute::computed("id", Type::String)
                .use_state_for_unknown()
                .describe("`host:asn`, the import ID."),
        );
        Schema {
            version: 0,
            block: Block::new(
                "The BGP instance of a router running FRR, configured through vtysh over SSH. \
                 bgpd is enabled in FRR's daemons file (and FRR restarted) when needed. Every \
                 change is one transaction: FRR checks the running configuration plus the \
                 change (`vtysh -C`) before anything is applied, the result is read back and \
                 saved (`write memory`), and if any step fails what was changed is restored. \
                 Refresh reads `show running-config`, so hand edits show as drift. Changes to \
                 one router are made one at a time; there is no `timeouts` block because a \
                 transaction, once started, is always finished or rolled back (each command is \
                 bounded by the SSH `command_timeout`).",
                attributes,
            )
            .with_block(resource_config::resource_block()),
        }
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diagnostics = resource_config::validate_resource(config);
        diagnostics.extend(frr::validate_settings(config));
        validate_asn(config, "asn", &mut diagnostics);
        if let Some(id) = config.attr("router_id").as_str()
            && id.parse::<std::net::Ipv4Addr>().is_err()
        {
            diagnostics.push(
                Diagnostic::error(
                    "Invalid router_id",
                    format!("{id:?} is not an IPv4 address such as 10.4.0.1"),
                )
                .at(AttributePath::root("router_id")),
            );
        }
        diagnostics
    }

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        if let (Some(host), Some(asn)) = (config.attr("host").as_str(), asn_of(config, "asn")) {
            change
                .planned
                .set_attr("id", Value::from(format!("{host}:{asn}")));
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
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        set_instance(context, planned).await
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let frr = Frr::for_resource(&context.provider.ssh, state, &context.cancel)?;
        let asn = required_asn(state, "asn")?;
        let running = frr
            .running_config()
            .await
            .map_err(|e| failed("reading the BGP configuration", e))?;
        let Some(found) = running.bgp.instance(asn) else {
            return Ok(None);
        };
        let instance = &found.instance;
        let mut new = with_settings_defaults(state.clone());
        new.set_attr("router_id", instance.router_id.clone().into());
        new.set_attr("log_neighbor_changes", instance.log_neighbor_changes.into());
        new.set_attr("ebgp_requires_policy", instance.ebgp_requires_policy.into());
        new.set_attr("id", id_of(state, asn).into());
        Ok(Some(new))
    }

    async fn update(
        &self,
        context: &Context,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        set_instance(context, planned).await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let frr = Frr::for_resource(&context.provider.ssh, prior, &context.cancel)?;
        let asn = required_asn(prior, "asn")?;
        router::apply_change(&frr, &Change::RemoveInstance { asn }, None)
            .await
            .map(|_| ())
            .map_err(|e| failed(&format!("removing router bgp {asn}"), e))
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        let parsed = split_host(id).and_then(|(host, asn)| Some((host, asn.parse::<u32>().ok()?)));
        let Some((host, asn)) = parsed.filter(|(_, asn)| *asn > 0) else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?} is not HOST:ASN, e.g. 10.4.0.1:64500"),
            )
            .into());
        };
        let mut state = self.schema().block.null_value();
        state.set_attr("host", host.into());
        state.set_attr("asn", Value::int(i64::from(asn)));
        state.set_attr("id", id.into());
        Ok(with_settings_defaults(state))
    }
}

/// Enables bgpd when needed, then creates or changes the instance as planned.
async fn set_instance(context: &Context, planned: &Value) -> Result<Value, Diagnostics> {
    let frr = Frr::for_resource(&context.provider.ssh, planned, &context.cancel)?;
    let asn = required_asn(planned, "asn")?;
    frr.enable_bgp()
        .await
        .map_err(|e| failed("enabling bgpd", e))?;
    let instance = Instance {
        asn,
        router_id: planned.attr("router_id").as_str().map(str::to_owned),
        log_neighbor_changes: planned
            .attr("log_neighbor_changes")
            .as_bool()
            .unwrap_or(true),
        ebgp_requires_policy: planned
            .attr("ebgp_requires_policy")
            .as_bool()
            .unwrap_or(true),
    };
    router::apply_change(&frr, &Change::SetInstance(instance), None)
        .await
        .map_err(|e| failed(&format!("configuring router bgp {asn}"), e))?;
    let mut state = planned.clone();
    state.set_attr("id", id_of(planned, asn).into());
    Ok(state)
}

fn id_of(state: &Value, asn: u32) -> String {
    format!("{}:{asn}", state.attr("host").as_str().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let mut base = Value::object([
            ("host", Value::from("10.4.0.1")),
            ("asn", Value::int(64500)),
        ]);
        for (name, value) in pairs {
            base.set_attr(name, value);
        }
        base
    }

    fn paths(diagnostics: &Diagnostics) -> Vec<String> {
        diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect()
    }

    #[test]
    fn bad_values_are_named_at_validate() {
        assert!(BgpRouter.validate(&config(vec![])).is_empty());
        let diagnostics = BgpRouter.validate(&config(vec![
            ("asn", Value::int(0)),
            ("router_id", "10.4.0".into()),
            ("config_path", "frr.conf".into()),
        ]));
        assert_eq!(paths(&diagnostics), ["config_path", "asn", "router_id"]);
        assert!(
            BgpRouter
                .validate(&config(vec![("asn", Value::int(4_294_967_296))]))
                .has_errors()
        );
        assert!(
            BgpRouter
                .validate(&config(vec![("asn", Value::unknown())]))
                .is_empty()
        );
    }

    #[test]
    fn import_ids_take_a_host_and_an_asn() {
        assert_eq!(split_host("10.4.0.1:64500"), Some(("10.4.0.1", "64500")));
        assert_eq!(split_host("[fd00::1]:64500"), Some(("fd00::1", "64500")));
        assert_eq!(split_host("router:fd00::11"), Some(("router", "fd00::11")));
        assert_eq!(split_host("10.4.0.1"), None);
        assert_eq!(split_host(":64500"), None);
    }

    #[test]
    fn imported_states_get_the_default_settings() {
        let state = with_settings_defaults(BgpRouter.schema().block.null_value());
        assert_eq!(
            state.attr("config_path").as_str(),
            Some("/etc/frr/frr.conf")
        );
        assert_eq!(state.attr("service").as_str(), Some("frr"));
        assert_eq!(
            state.attr("save_command").as_elements().map(<[Value]>::len),
            Some(3)
        );
        assert!(state.attr("router_id").is_null());
    }
}
