//! `homelab_node`: the base settings of a Linux node (host name, time zone, swap off, kernel
//! modules, sysctls, `/etc/hosts` entries, authorized keys, Raspberry Pi boot files), read in
//! one SSH round trip and changed in one more.
//!
//! `schema.rs` holds the schema and the checks without I/O, `plan.rs` the plan-time checks on
//! the host, `read.rs` read and import, `apply.rs` create, update, delete and the reboot,
//! `changes.rs` what must change (pure), `host_state.rs` the read script and its output,
//! `settings.rs` the values parsed from plan and state, `record.rs` the record kept on the
//! host, and `marked_block.rs`, `hosts_file.rs`, `sysctl.rs`, `fstab.rs`, `raspberry_pi.rs`
//! the files' formats.

mod apply;
mod changes;
mod fstab;
mod host_state;
mod hosts_file;
mod marked_block;
mod plan;
mod raspberry_pi;
mod read;
mod record;
mod schema;
mod settings;
mod sysctl;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostics, Schema, Value};

/// The `homelab_node` resource.
pub struct Node;

#[async_trait]
impl Resource for Node {
    fn type_name(&self) -> &'static str {
        "homelab_node"
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
        plan::modify_plan(context, prior, config, change).await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        apply::apply(context, planned, "create").await
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
        apply::apply(context, planned, "update").await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        apply::delete(context, prior).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        read::import(id)
    }
}
