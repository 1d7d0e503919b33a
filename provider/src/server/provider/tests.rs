//! Tests of the provider service's plumbing that need no terraform: what reaches a resource's
//! plan and what goes back.

use async_trait::async_trait;

use super::*;
use crate::public_ip::PublicIpSettings;
use crate::registry::Resource;
use crate::tf::plan::PlannedChange;
use crate::tf::{Attribute, Block, msgpack};

/// A resource that plans, into `seen`, the private bytes its plan was given, and plans
/// private bytes of its own.
struct RemembersItsPlan;

#[async_trait]
impl Resource for RemembersItsPlan {
    fn type_name(&self) -> &'static str {
        "homelab_remembers_its_plan"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new(
                "test",
                vec![
                    Attribute::computed("prior", Type::String).describe("prior private"),
                    Attribute::computed("earlier", Type::String).describe("earlier private"),
                ],
            ),
        }
    }

    async fn modify_plan(
        &self,
        _context: &Context,
        _prior: &Value,
        _config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        let text = |bytes: &[u8]| Value::from(String::from_utf8_lossy(bytes).into_owned());
        let (prior, earlier) = (text(&change.private), text(&change.earlier_private));
        change.planned.set_attr("prior", prior);
        change.planned.set_attr("earlier", earlier);
        change.private = b"planned now".to_vec();
        Diagnostics::new()
    }

    async fn create(&self, _: &Context, _: &Value, _: &Value) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error("not in this test", "").into())
    }

    async fn read(&self, _: &Context, _: &Value) -> Result<Option<Value>, Diagnostics> {
        Err(Diagnostic::error("not in this test", "").into())
    }

    async fn update(
        &self,
        _: &Context,
        _: &Value,
        _: &Value,
        _: &Value,
    ) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error("not in this test", "").into())
    }

    async fn delete(&self, _: &Context, _: &Value) -> Result<(), Diagnostics> {
        Err(Diagnostic::error("not in this test", "").into())
    }
}

fn configured_service() -> ProviderService {
    let registry = Registry {
        resources: vec![Box::new(RemembersItsPlan)],
        data_sources: vec![],
        ephemeral_resources: vec![],
        functions: vec![],
    };
    let service = ProviderService::new(registry, CancellationToken::new());
    *service.configured.write().unwrap() = Some(Arc::new(ProviderData::new(PublicIpSettings {
        sources: vec![],
        timeout: std::time::Duration::from_secs(1),
    })));
    service
}

#[tokio::test]
async fn a_plan_sees_prior_and_earlier_private_bytes_and_returns_its_own() {
    let service = configured_service();
    let ty = RemembersItsPlan.schema().block.value_type();
    let empty = Value::object([("prior", Value::Null), ("earlier", Value::Null)]);
    let dynamic = |value: &Value| {
        Some(pb::DynamicValue {
            msgpack: msgpack::encode(value, &ty).unwrap(),
            json: Vec::new(),
        })
    };
    let answer = service
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "homelab_remembers_its_plan".into(),
            prior_state: dynamic(&Value::Null),
            proposed_new_state: dynamic(&empty),
            config: dynamic(&empty),
            prior_private: b"from the state".to_vec(),
            planned_private: b"from the first plan".to_vec(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let planned = msgpack::decode(&answer.planned_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(planned.attr("prior").as_str(), Some("from the state"));
    assert_eq!(
        planned.attr("earlier").as_str(),
        Some("from the first plan")
    );
    assert_eq!(answer.planned_private, b"planned now");
}

/// A resource named by one identity attribute, `name`, whose objects all exist.
struct Named;

#[async_trait]
impl Resource for Named {
    fn type_name(&self) -> &'static str {
        "homelab_named"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new(
                "test",
                vec![
                    Attribute::required("name", Type::String).describe("name"),
                    Attribute::computed("size", Type::Number).describe("size"),
                ],
            ),
        }
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema {
            version: 1,
            attributes: vec![crate::tf::IdentityAttribute::required(
                "name",
                Type::String,
                "name",
            )],
        })
    }

    fn identity(&self, state: &Value) -> Value {
        Value::object([("name", state.attr("name").clone())])
    }

    async fn import_by_identity(
        &self,
        _: &Context,
        identity: &Value,
    ) -> Result<Value, Diagnostics> {
        Ok(Value::object([
            ("name", identity.attr("name").clone()),
            ("size", Value::int(7)),
        ]))
    }

    async fn create(&self, _: &Context, _: &Value, _: &Value) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error("not in this test", "").into())
    }

    async fn read(&self, _: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        Ok(Some(state.clone()))
    }

    async fn update(
        &self,
        _: &Context,
        _: &Value,
        _: &Value,
        _: &Value,
    ) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error("not in this test", "").into())
    }

    async fn delete(&self, _: &Context, _: &Value) -> Result<(), Diagnostics> {
        Err(Diagnostic::error("not in this test", "").into())
    }
}

fn service_with(resource: Box<dyn Resource>) -> ProviderService {
    let service = configured_service();
    let mut registry = service.registry;
    registry.resources = vec![resource];
    let service = ProviderService::new(registry, CancellationToken::new());
    *service.configured.write().unwrap() = Some(Arc::new(ProviderData::new(PublicIpSettings {
        sources: vec![],
        timeout: std::time::Duration::from_secs(1),
    })));
    service
}

#[tokio::test]
async fn identities_are_declared_read_back_and_imported_by() {
    let service = service_with(Box::new(Named));
    let schemas = service
        .get_resource_identity_schemas(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    let declared = &schemas.identity_schemas["homelab_named"];
    assert_eq!(declared.version, 1);
    assert_eq!(declared.identity_attributes[0].name, "name");
    assert!(declared.identity_attributes[0].required_for_import);

    let identity_type = Named.identity_schema().unwrap().value_type();
    let identity = pb::ResourceIdentityData {
        identity_data: Some(pb::DynamicValue {
            msgpack: msgpack::encode(&Value::object([("name", "disk".into())]), &identity_type)
                .unwrap(),
            json: Vec::new(),
        }),
    };
    let imported = service
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "homelab_named".into(),
            id: String::new(),
            identity: Some(identity.clone()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        imported.diagnostics.is_empty(),
        "{:?}",
        imported.diagnostics
    );
    let resource = &imported.imported_resources[0];
    let ty = Named.schema().block.value_type();
    let state = msgpack::decode(&resource.state.as_ref().unwrap().msgpack, &ty).unwrap();
    assert_eq!(state.attr("size").as_i64(), Some(7));
    assert_eq!(resource.identity, Some(identity.clone()));

    let read = service
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "homelab_named".into(),
            current_state: resource.state.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    assert_eq!(read.new_identity, Some(identity));
}

#[tokio::test]
async fn stored_identities_of_another_version_are_refused() {
    let service = service_with(Box::new(Named));
    let answer = service
        .upgrade_resource_identity(Request::new(pb::upgrade_resource_identity::Request {
            type_name: "homelab_named".into(),
            version: 0,
            raw_identity: Some(pb::RawState {
                json: br#"{"name":"disk"}"#.to_vec(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.upgraded_identity.is_none());
    assert!(answer.diagnostics[0].detail.contains("version 0"));
}
