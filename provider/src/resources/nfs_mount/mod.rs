//! `homelab_nfs_mount`: an NFS mount as systemd `.mount` (and `.automount`) units named by the
//! escaped mount point, enabled and started, rolled back when systemd cannot start them, and
//! read back from the unit files and systemd's view.

mod apply;
mod capability;
mod plan;
mod read;
mod schema;
pub(crate) mod unit_file;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostics, Schema, Value};

/// The `homelab_nfs_mount` resource.
pub struct NfsMount;

#[async_trait]
impl Resource for NfsMount {
    fn type_name(&self) -> &'static str {
        "homelab_nfs_mount"
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
        // Writing the same units again is harmless, and it re-enables and restarts what was
        // disabled or stopped by hand.
        apply::install(context, planned).await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        apply::delete(context, prior).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        read::imported_state(&self.schema(), id)
    }
}
