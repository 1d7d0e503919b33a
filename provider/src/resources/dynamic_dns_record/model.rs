//! `homelab_dynamic_dns_record`'s typed models: [`DnsRecordModel`] for apply and read,
//! [`PlannedDnsRecord`] for validate and plan, and [`Identity`]. Each RPC reads its values into
//! one of these once and writes the result back once.

use serde::{Deserialize, Serialize};

use crate::tf::Number;
use crate::tf::model::Planned;

/// The record as state, or as the plan at apply (computed values still unknown read as `None`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct DnsRecordModel {
    pub(super) zone_id: Option<String>,
    pub(super) zone_name: Option<String>,
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) record_type: String,
    pub(super) ttl: Option<i64>,
    pub(super) address: Option<String>,
    pub(super) allow_overwrite: Option<bool>,
    pub(super) id: Option<String>,
    pub(super) timeouts: Option<Timeouts>,
}

/// The `timeouts` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Timeouts {
    pub(super) create: Option<String>,
    pub(super) update: Option<String>,
    pub(super) delete: Option<String>,
}

/// The record as configuration or plan, where any value may still be unknown. `ttl` is a
/// [`Number`] so validate reports it as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedDnsRecord {
    pub(super) zone_id: Planned<Option<String>>,
    pub(super) zone_name: Planned<Option<String>>,
    pub(super) name: Planned<String>,
    #[serde(rename = "type")]
    pub(super) record_type: Planned<String>,
    pub(super) ttl: Planned<Option<Number>>,
    pub(super) address: Planned<Option<String>>,
    pub(super) allow_overwrite: Planned<Option<bool>>,
    pub(super) id: Planned<Option<String>>,
    pub(super) timeouts: Planned<Option<PlannedTimeouts>>,
}

/// The `timeouts` block at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedTimeouts {
    pub(super) create: Planned<Option<String>>,
    pub(super) update: Planned<Option<String>>,
    pub(super) delete: Planned<Option<String>>,
}

/// The resource identity (Terraform v1.12 on): zone, name and type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Identity {
    pub(super) zone_id: Option<String>,
    pub(super) name: Option<String>,
    #[serde(rename = "type")]
    pub(super) record_type: Option<String>,
}

impl DnsRecordModel {
    /// The configured timeout of an operation.
    pub(super) fn timeout(&self, operation: fn(&Timeouts) -> &Option<String>) -> Option<&str> {
        self.timeouts
            .as_ref()
            .and_then(|timeouts| operation(timeouts).as_deref())
    }
}
