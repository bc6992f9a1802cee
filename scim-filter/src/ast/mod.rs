//! The typed syntax tree of filters and paths.
//!
//! Every node implements [`Display`](std::fmt::Display) with a canonical text form that
//! parses back to an equal tree, and [`FromStr`](std::str::FromStr) with the default
//! [`Limits`](crate::Limits).

mod attr_path;
mod comp_value;
mod compare_op;
mod filter;
mod patch_path;

pub use attr_path::AttrPath;
pub use comp_value::CompValue;
pub use compare_op::{CompareOp, UnknownOperator};
pub use filter::{Filter, ValuePath};
pub use patch_path::PatchPath;
