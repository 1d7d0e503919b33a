//! `homelab_dynamic_dns_record`: a Route53 A or AAAA record that follows the home's public IP,
//! planned at plan time so `plan` shows when the address moved.
//!
//! `schema.rs` holds the schema and the checks without I/O, `plan.rs` the plan-time work (zone,
//! name, address), `apply.rs` create, update and delete, `read.rs` read and import, and
//! `record.rs` the values parsed once at the boundary.

mod apply;
mod plan;
mod read;
mod record;
mod schema;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostic, Diagnostics, IdentityAttribute, IdentitySchema, Schema, Type, Value};

/// The `homelab_dynamic_dns_record` resource.
pub struct DynamicDnsRecord;

#[async_trait]
impl Resource for DynamicDnsRecord {
    fn type_name(&self) -> &'static str {
        "homelab_dynamic_dns_record"
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
        apply::create(context, planned).await
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
        apply::update(context, prior, planned).await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        apply::delete(context, prior).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        read::import(id)
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema {
            version: 0,
            attributes: vec![
                IdentityAttribute::required("zone_id", Type::String, "The hosted zone's ID."),
                IdentityAttribute::required("name", Type::String, "The record's name."),
                IdentityAttribute::required("type", Type::String, "`A` or `AAAA`."),
            ],
        })
    }

    fn identity(&self, state: &Value) -> Value {
        Value::object(["zone_id", "name", "type"].map(|a| (a, state.attr(a).clone())))
    }

    async fn import_by_identity(
        &self,
        context: &Context,
        identity: &Value,
    ) -> Result<Value, Diagnostics> {
        let part = |name: &str| {
            identity
                .attr(name)
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| {
                    Diagnostics::from(Diagnostic::error(
                        "Incomplete identity",
                        format!("The identity must set {name}."),
                    ))
                })
        };
        let id = format!("{}/{}/{}", part("zone_id")?, part("name")?, part("type")?);
        self.import(context, &id).await
    }
}
