//! Terraform's value model, types, schemas, attribute paths, diagnostics and plan rules; no I/O, no gRPC.

pub mod diagnostics;
pub mod duration;
pub mod json;
pub mod model;
pub mod msgpack;
pub mod path;
pub mod plan;
pub mod schema;
pub mod timeouts;
pub mod types;
pub mod value;
pub mod write_only;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use path::{AttributePath, PathStep};
pub use schema::{
    Attribute, Block, IdentityAttribute, IdentitySchema, NestedBlock, NestingMode, Schema,
};
pub use types::{ObjectType, Type};
pub use value::{Number, Refinements, Value};
