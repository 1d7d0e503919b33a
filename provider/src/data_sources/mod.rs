//! Data sources, one file per type.

pub mod node;
pub mod public_ip;
