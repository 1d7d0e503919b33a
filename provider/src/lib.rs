//! terraform-provider-homelab: plans and applies a homelab through Terraform's plugin protocol.
//!
//! `server` speaks gRPC to terraform/tofu, `tf` holds Terraform's value and plan model,
//! `resources` and `data_sources` hold one file per type, and the I/O layers sit below them.

pub mod aws;
pub mod config;
pub mod data_sources;
pub mod docs;
pub mod log;
pub mod public_ip;
pub mod registry;
pub mod resources;
pub mod router;
pub mod server;
pub mod ssh;
pub mod systemd;
pub mod tf;
