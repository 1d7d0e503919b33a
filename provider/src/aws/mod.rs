//! AWS for the resources: the provider's `aws` block, lazily built Route53, ACM and CloudFront
//! clients with endpoint overrides, Route53 zone and record operations, and SDK errors turned
//! into diagnostics in one place.

pub mod clients;
pub mod config;
pub mod error;
pub mod route53;

pub use clients::AwsClients;
pub use config::{AwsSettings, Service};
pub use error::AwsError;
