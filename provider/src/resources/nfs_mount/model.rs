//! `homelab_nfs_mount`'s typed models: [`MountModel`] for apply and read, [`PlannedMount`] for
//! validate and plan. Each RPC reads its values into one of these once and writes the result
//! back once.

use serde::{Deserialize, Serialize};

use super::unit_file::MountSpec;
use crate::ssh::resource_config::{PlannedSshOverride, SshOverride};
use crate::tf::model::Planned;

/// The mount as state, or as the plan at apply (computed values still unknown read as `None`).
/// An imported state has empty `server` and `export` until its first read fills them in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct MountModel {
    pub(super) host: String,
    pub(super) server: String,
    pub(super) export: String,
    pub(super) mount_point: String,
    pub(super) options: Option<Vec<String>>,
    pub(super) fs_type: Option<String>,
    pub(super) automount: Option<bool>,
    pub(super) unit_name: Option<String>,
    pub(super) enabled: Option<bool>,
    pub(super) active: Option<bool>,
    pub(super) id: Option<String>,
    pub(super) ssh: Option<SshOverride>,
}

/// The mount as configuration or plan, where any value may still be unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedMount {
    pub(super) host: Planned<String>,
    pub(super) server: Planned<String>,
    pub(super) export: Planned<String>,
    pub(super) mount_point: Planned<String>,
    pub(super) options: Planned<Option<Vec<Planned<String>>>>,
    pub(super) fs_type: Planned<Option<String>>,
    pub(super) automount: Planned<Option<bool>>,
    pub(super) unit_name: Planned<Option<String>>,
    pub(super) enabled: Planned<Option<bool>>,
    pub(super) active: Planned<Option<bool>>,
    pub(super) id: Planned<Option<String>>,
    pub(super) ssh: Planned<Option<PlannedSshOverride>>,
}

impl MountModel {
    /// The mount it describes.
    pub(super) fn spec(&self) -> MountSpec {
        MountSpec {
            server: self.server.clone(),
            export: self.export.clone(),
            mount_point: self.mount_point.clone(),
            fs_type: self.fs_type.clone().unwrap_or_else(|| "nfs".to_owned()),
            options: self.options.clone(),
        }
    }

    /// Whether the mount is started through a `.automount` unit.
    pub(super) fn automount(&self) -> bool {
        self.automount.unwrap_or(false)
    }
}

impl PlannedMount {
    /// The `ssh` block with every value known, or `None` when absent; `Err` while any part is
    /// unknown.
    pub(super) fn known_ssh(&self) -> Result<Option<SshOverride>, ()> {
        match &self.ssh {
            Planned::Known(None) => Ok(None),
            Planned::Known(Some(ssh)) => ssh.known().map(Some).ok_or(()),
            Planned::Unknown => Err(()),
        }
    }
}
