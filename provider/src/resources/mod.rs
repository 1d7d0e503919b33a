//! Managed resources, one file (or folder) per type.

pub mod bgp_neighbor;
pub mod bgp_router;
pub mod dynamic_dns_record;
pub mod file;
