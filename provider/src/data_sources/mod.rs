//! Data sources, one file per type.

pub mod bgp_sessions;
pub mod node;
pub mod public_ip;
