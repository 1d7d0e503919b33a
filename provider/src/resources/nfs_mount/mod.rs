//! `homelab_nfs_mount`: an NFS mount as systemd `.mount` (and `.automount`) units named by the
//! escaped mount point, enabled and started, rolled back when systemd cannot start them, and
//! read back from the unit files and systemd's view.

mod apply;
mod capability;
mod model;
mod plan;
mod read;
mod schema;
pub(crate) mod unit_file;

use async_trait::async_trait;

use crate::registry::{Context, Resource};
use crate::ssh::Session;
use crate::tf::model::{self as typed, ModelShape};
use crate::tf::plan::PlannedChange;
use crate::tf::{Diagnostics, Schema, Value};
use model::{MountModel, PlannedMount};
use schema::state_type;

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

    fn models(&self) -> Vec<ModelShape> {
        vec![
            ModelShape::of::<MountModel>(),
            ModelShape::of::<PlannedMount>(),
        ]
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        match typed::from_value::<PlannedMount>(config) {
            Ok(config) => plan::validate(&config),
            Err(e) => e.into(),
        }
    }

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        plan::modify_plan(context, prior, config, change)
            .await
            .unwrap_or_else(|diagnostics| diagnostics)
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let planned: MountModel = typed::from_planned_value(planned)?;
        let session = session(context, &planned)?;
        let state = apply::install(&session, planned).await?;
        Ok(typed::to_value(&state, &state_type())?)
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state: MountModel = typed::from_value(state)?;
        let session = session(context, &state)?;
        match read::read(&session, &state).await? {
            Some(new) => Ok(Some(typed::to_value(&new, &state_type())?)),
            None => Ok(None),
        }
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
        let planned: MountModel = typed::from_planned_value(planned)?;
        let session = session(context, &planned)?;
        let state = apply::install(&session, planned).await?;
        Ok(typed::to_value(&state, &state_type())?)
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let prior: MountModel = typed::from_value(prior)?;
        let session = session(context, &prior)?;
        apply::delete(&session, &prior).await
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        Ok(typed::to_value(&read::imported_state(id)?, &state_type())?)
    }
}

/// The one session of an RPC, to the model's host with its `ssh` settings.
fn session<'a>(context: &'a Context, mount: &MountModel) -> Result<Session<'a>, Diagnostics> {
    context
        .provider
        .ssh
        .session_to(&mount.host, mount.ssh.as_ref(), &context.cancel)
}
