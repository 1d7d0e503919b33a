//! `data.homelab_bgp_sessions`: the BGP sessions of a router's FRR instance as the router
//! reports them now (`show bgp neighbors json`): state, uptime, prefixes received.

use async_trait::async_trait;

use crate::registry::{Context, DataSource};
use crate::router::frr::Frr;
use crate::router::resource_values::{failed, required_asn, validate_asn};
use crate::router::{BgpBackend, SessionState};
use crate::ssh::resource_config;
use crate::tf::{Attribute, Block, Diagnostics, NestingMode, Schema, Type, Value};

/// The `homelab_bgp_sessions` data source.
pub struct BgpSessions;

#[async_trait]
impl DataSource for BgpSessions {
    fn type_name(&self) -> &'static str {
        "homelab_bgp_sessions"
    }

    fn schema(&self) -> Schema {
        let session = |name: &str, t: Type, text: &str| Attribute::computed(name, t).describe(text);
        Schema {
            version: 0,
            block: Block::new(
                "The BGP sessions of a router's FRR instance, read over SSH when the data source \
                 is read: one entry per neighbor (a dynamic neighbor by its own address), with \
                 the session's state, how long it has been up, and how many IPv4 unicast \
                 prefixes it sent that were accepted.",
                vec![
                    resource_config::host_attribute()
                        .describe("The router's name or address, as SSH connects to it."),
                    Attribute::required("asn", Type::Number).describe(
                        "The AS number of the router's BGP instance; reading fails when there \
                         is no such instance.",
                    ),
                    Attribute {
                        computed: true,
                        ..Attribute::nested(
                        "sessions",
                        NestingMode::List,
                        vec![
                            session("address", Type::String, "The neighbor's address."),
                            session("remote_asn", Type::Number, "The neighbor's AS number."),
                            session(
                                "state",
                                Type::String,
                                "`Idle`, `Connect`, `Active`, `OpenSent`, `OpenConfirm` or \
                                 `Established`.",
                            ),
                            session("established", Type::Bool, "Whether the session is up."),
                            session(
                                "uptime",
                                Type::String,
                                "How long the session has been up, as FRR prints it \
                                 (`00:04:12`, `2d03h11m`); `never` when it is not up.",
                            ),
                            session(
                                "uptime_seconds",
                                Type::Number,
                                "The same in seconds; 0 when it is not up.",
                            ),
                            session(
                                "prefixes_received",
                                Type::Number,
                                "IPv4 unicast prefixes received from the neighbor and accepted.",
                            ),
                            session("description", Type::String, "The neighbor's description."),
                            session(
                                "admin_shutdown",
                                Type::Bool,
                                "Whether the neighbor is shut down (`enabled = false`).",
                            ),
                            session(
                                "last_reset",
                                Type::String,
                                "Why the session last went down, as FRR says.",
                            ),
                        ],
                    )
                    }
                    .describe("The sessions, ordered by address as FRR lists them."),
                ],
            )
            .with_block(resource_config::resource_block()),
        }
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diagnostics = resource_config::validate_resource(config);
        validate_asn(config, "asn", &mut diagnostics);
        diagnostics
    }

    async fn read(&self, context: &Context, config: &Value) -> Result<Value, Diagnostics> {
        let frr = Frr::for_resource(&context.provider.ssh, config, &context.cancel)?;
        let asn = required_asn(config, "asn")?;
        let sessions = frr
            .sessions(asn)
            .await
            .map_err(|e| failed("reading the BGP sessions", e))?;
        let mut state = config.clone();
        state.set_attr(
            "sessions",
            Value::List(sessions.iter().map(session_value).collect()),
        );
        Ok(state)
    }
}

fn session_value(session: &SessionState) -> Value {
    Value::object([
        ("address", Value::from(session.address.clone())),
        ("remote_asn", Value::int(i64::from(session.remote_asn))),
        ("state", session.state.clone().into()),
        ("established", session.is_established().into()),
        ("uptime", session.uptime.clone().into()),
        ("uptime_seconds", Value::int(session.uptime_seconds)),
        ("prefixes_received", Value::int(session.prefixes_received)),
        ("description", session.description.clone().into()),
        ("admin_shutdown", session.admin_shutdown.into()),
        ("last_reset", session.last_reset.clone().into()),
    ])
}
