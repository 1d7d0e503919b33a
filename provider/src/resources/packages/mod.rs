//! `homelab_packages`: Debian packages on a host (present or absent, pinned, held), changed in
//! one apt transaction that is checked and simulated at plan.
//!
//! `schema.rs` holds the schema and the checks without I/O, `model.rs` the wanted packages, the
//! host's status and the transaction between them, `apt.rs` the commands on the host,
//! `plan.rs` the plan-time checks, `apply.rs` create, update and delete, `read.rs` read and
//! import.

mod apply;
mod apt;
mod model;
mod plan;
mod read;
mod schema;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostics, Schema, Value};

/// The `homelab_packages` resource.
pub struct Packages;

#[async_trait]
impl Resource for Packages {
    fn type_name(&self) -> &'static str {
        "homelab_packages"
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
        apply::converge(context, &Value::Null, planned, "create").await
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        read::read(context, state).await
    }

    async fn update(
        &self,
        context: &Context,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        apply::converge(context, prior, planned, "update").await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        apply::delete(context, prior).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        read::import(&self.schema(), id)
    }
}
