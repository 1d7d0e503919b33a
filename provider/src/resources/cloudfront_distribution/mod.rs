//! `homelab_cloudfront_distribution`: a CloudFront distribution in front of one custom origin,
//! with aliases, an ACM certificate from us-east-1, and optional Route53 alias records.
//!
//! `schema.rs` holds the schema and `validate.rs` (with `geo_restriction.rs`) the checks
//! without I/O, `plan.rs` the plan-time work, `apply.rs` create, update and delete, `read.rs`
//! read and import, `aliases.rs` the alias records in Route53, and `values.rs` the values
//! parsed once at the boundary and read back.

mod aliases;
mod apply;
mod geo_restriction;
mod plan;
mod read;
mod schema;
mod validate;
mod values;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostic, Diagnostics, IdentityAttribute, IdentitySchema, Schema, Type, Value};

/// The `homelab_cloudfront_distribution` resource.
pub struct CloudfrontDistribution;

#[async_trait]
impl Resource for CloudfrontDistribution {
    fn type_name(&self) -> &'static str {
        "homelab_cloudfront_distribution"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate::validate(config)
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
            attributes: vec![IdentityAttribute::required(
                "id",
                Type::String,
                "The distribution's id.",
            )],
        })
    }

    fn identity(&self, state: &Value) -> Value {
        Value::object([("id", state.attr("id").clone())])
    }

    async fn import_by_identity(
        &self,
        context: &Context,
        identity: &Value,
    ) -> Result<Value, Diagnostics> {
        let id = identity.attr("id").as_str().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Incomplete identity",
                "The identity must set id.",
            ))
        })?;
        self.import(context, id).await
    }
}
