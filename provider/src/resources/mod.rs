//! Managed resources, one file (or folder) per type.

pub mod acm_certificate;
pub mod apt_repository;
pub mod bgp_neighbor;
pub mod bgp_router;
pub mod cloudfront_distribution;
pub mod dynamic_dns_record;
pub mod file;
pub mod load_balancer;
pub mod nfs_export;
pub mod nfs_mount;
pub mod node;
pub mod packages;
