//! Data sources, one file per type.

pub mod public_ip;
