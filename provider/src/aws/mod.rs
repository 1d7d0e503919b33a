//! AWS for the resources: the provider's `aws` block, lazily built Route53, ACM and CloudFront
//! clients with endpoint overrides, the Route53, ACM and CloudFront operations resources use,
//! and SDK errors turned into diagnostics in one place.

pub mod acm;
pub mod arn;
pub mod clients;
pub mod cloudfront;
pub mod config;
pub mod error;
pub mod poll;
pub mod route53;

pub use clients::AwsClients;
pub use config::{AwsSettings, Service};
pub use error::AwsError;
