//! `homelab_acm_certificate`: an ACM certificate validated through Route53, issued before
//! apply returns, in us-east-1 for CloudFront unless told otherwise.
//!
//! `schema.rs` holds the schema and the checks without I/O, `plan.rs` the plan-time work
//! (replacement, the validation zone), `apply.rs` create, update and delete, `read.rs` read
//! and import, `validation.rs` the validation records in Route53, and `state.rs` the values
//! parsed once at the boundary.

mod apply;
mod plan;
mod read;
mod schema;
mod state;
mod validation;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostic, Diagnostics, IdentityAttribute, IdentitySchema, Schema, Type, Value};

/// The `homelab_acm_certificate` resource.
pub struct AcmCertificate;

#[async_trait]
impl Resource for AcmCertificate {
    fn type_name(&self) -> &'static str {
        "homelab_acm_certificate"
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
            attributes: vec![IdentityAttribute::required(
                "arn",
                Type::String,
                "The certificate's ARN.",
            )],
        })
    }

    fn identity(&self, state: &Value) -> Value {
        Value::object([("arn", state.attr("id").clone())])
    }

    async fn import_by_identity(
        &self,
        context: &Context,
        identity: &Value,
    ) -> Result<Value, Diagnostics> {
        let arn = identity.attr("arn").as_str().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Incomplete identity",
                "The identity must set arn.",
            ))
        })?;
        self.import(context, arn).await
    }
}
