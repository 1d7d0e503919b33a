//! `homelab_load_balancer`: HAProxy on one host as the TCP load balancer in front of the
//! Kubernetes API servers; its file checked with `haproxy -c` before it replaces anything,
//! reloaded without dropping connections, rolled back on failure, and read back with the
//! servers' live state from its own stats socket.

mod apply;
mod from_value;
pub(crate) mod haproxy_cfg;
pub(crate) mod model;
mod plan;
mod read;
mod schema;
pub(crate) mod stats;
pub(crate) mod values;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostics, Schema, Value};

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

    fn validate(&self, config: &Value) -> Diagnostics {
        plan::validate(config)
    }

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        plan::modify_plan(context, prior, config, change).await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        apply::install(context, planned).await
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        read::read(context, state).await
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
        apply::install(context, planned).await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        apply::delete(context, prior).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        read::imported_state(&self.schema(), id)
    }
}
