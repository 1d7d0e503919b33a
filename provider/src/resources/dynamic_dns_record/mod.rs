//! `homelab_dynamic_dns_record`: a Route53 A or AAAA record that follows the home's public IP,
//! planned at plan time so `plan` shows when the address moved.
//!
//! `schema.rs` holds the schema and the checks without I/O, `plan.rs` the plan-time work (zone,
//! name, address), `apply.rs` create, update and delete, `read.rs` read and import,
//! `model.rs` the typed models every RPC reads its values into, and `record.rs` the values
//! parsed once at the boundary.

mod apply;
mod model;
mod plan;
mod read;
mod record;
mod schema;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::tf::model::{self as typed, ModelShape};
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

    fn models(&self) -> Vec<ModelShape> {
        vec![
            ModelShape::of::<model::DnsRecordModel>(),
            ModelShape::of::<model::PlannedDnsRecord>(),
        ]
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
        let Ok(state) = typed::from_value::<model::DnsRecordModel>(state) else {
            return Value::Null;
        };
        let identity = model::Identity {
            zone_id: state.zone_id,
            name: Some(state.name),
            record_type: Some(state.record_type),
        };
        identity_value(&identity, self.identity_schema())
    }

    async fn import_by_identity(
        &self,
        context: &Context,
        identity: &Value,
    ) -> Result<Value, Diagnostics> {
        let identity: model::Identity = typed::from_value(identity)?;
        let part = |name: &str, value: Option<String>| {
            value.ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Incomplete identity",
                    format!("The identity must set {name}."),
                ))
            })
        };
        let id = format!(
            "{}/{}/{}",
            part("zone_id", identity.zone_id)?,
            part("name", identity.name)?,
            part("type", identity.record_type)?
        );
        self.import(context, &id).await
    }
}

/// The identity as a value of the identity schema's type.
fn identity_value(identity: &model::Identity, schema: Option<IdentitySchema>) -> Value {
    schema
        .and_then(|schema| typed::to_value(identity, &schema.value_type()).ok())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_zone_name_and_type_of_the_state() {
        let state = read::import("Z1/Clearbrook.goldentooth.net./A").unwrap();
        assert_eq!(
            DynamicDnsRecord.identity(&state),
            Value::object([
                ("zone_id", Value::from("Z1")),
                ("name", "Clearbrook.goldentooth.net.".into()),
                ("type", "A".into()),
            ])
        );
    }
}
