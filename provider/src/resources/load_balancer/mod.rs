//! `homelab_load_balancer`: HAProxy on one host as the TCP load balancer in front of the
//! Kubernetes API servers; its file checked with `haproxy -c` before it replaces anything,
//! reloaded without dropping connections, rolled back on failure, and read back with the
//! servers' live state from its own stats socket.

mod apply;
mod convert;
pub(crate) mod haproxy_cfg;
mod model;
mod plan;
mod read;
mod schema;
pub(crate) mod settings;
pub(crate) mod stats;
pub(crate) mod values;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::ssh::Session;
use crate::tf::model::{self as typed, ModelShape};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostics, Schema, Value};
use model::{LoadBalancerModel, PlannedLoadBalancer};
use schema::state_type;

/// The `homelab_load_balancer` resource.
pub struct LoadBalancer;

#[async_trait]
impl Resource for LoadBalancer {
    fn type_name(&self) -> &'static str {
        "homelab_load_balancer"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn models(&self) -> Vec<ModelShape> {
        vec![
            ModelShape::of::<LoadBalancerModel>(),
            ModelShape::of::<PlannedLoadBalancer>(),
        ]
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        match typed::from_value::<PlannedLoadBalancer>(config) {
            Ok(config) => plan::validate(&config),
            Err(e) => e.into(),
        }
    }

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        plan::modify_plan(context, prior, config, change)
            .await
            .unwrap_or_else(|diagnostics| diagnostics)
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let planned: LoadBalancerModel = typed::from_planned_value(planned)?;
        let session = session(context, &planned)?;
        let state = apply::install(&session, planned).await?;
        Ok(typed::to_value(&state, &state_type())?)
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state: LoadBalancerModel = typed::from_value(state)?;
        let session = session(context, &state)?;
        match read::read(&session, &state).await? {
            Some(new) => Ok(Some(typed::to_value(&new, &state_type())?)),
            None => Ok(None),
        }
    }

    async fn update(
        &self,
        context: &Context,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        // Writing and reloading again is harmless, and it repairs every kind of drift at once:
        // the file, the unit's state, and servers put into maintenance at runtime.
        let planned: LoadBalancerModel = typed::from_planned_value(planned)?;
        let session = session(context, &planned)?;
        let state = apply::install(&session, planned).await?;
        Ok(typed::to_value(&state, &state_type())?)
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let prior: LoadBalancerModel = typed::from_value(prior)?;
        let session = session(context, &prior)?;
        apply::delete(&session).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        Ok(typed::to_value(&read::imported_state(id)?, &state_type())?)
    }
}

/// The one session of an RPC, to the model's host with its `ssh` settings.
fn session<'a>(context: &'a Context, lb: &LoadBalancerModel) -> Result<Session<'a>, Diagnostics> {
    context
        .provider
        .ssh
        .session_to(&lb.host, lb.ssh.as_ref(), &context.cancel)
}
