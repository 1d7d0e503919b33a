//! `homelab_nfs_export`: one NFS export in its own drop-in file under `/etc/exports.d`,
//! validated at plan time as exportfs would read it, activated with `exportfs -ra` and rolled
//! back when exportfs refuses it, and read back from the file and the live table.

mod apply;
mod exports_line;
mod options;
mod plan;
mod read;
mod schema;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostics, Schema, Value};

/// The `homelab_nfs_export` resource.
pub struct NfsExport;

#[async_trait]
impl Resource for NfsExport {
    fn type_name(&self) -> &'static str {
        "homelab_nfs_export"
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
        // Writing the same file again is harmless, and it re-exports what the live table lost.
        apply::install(context, planned).await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        apply::delete(context, prior).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        read::imported_state(&self.schema(), id)
    }
}
