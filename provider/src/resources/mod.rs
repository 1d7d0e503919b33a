//! Managed resources, one file (or folder) per type.

pub mod dynamic_dns_record;
pub mod file;
