//! Evaluation: compile a [`Filter`](crate::Filter) once, test it against many resources.
//!
//! Semantics of RFC 7644 §3.4.2.2 and RFC 7643 §2:
//! - attribute names are case-insensitive; strings compare case-insensitively unless the
//!   attribute is `caseExact` (schema-less: always case-insensitive, RFC 7643 §2.2 default);
//! - a multi-valued attribute matches when any of its values matches; a complex multi-valued
//!   attribute compared without a sub-attribute compares each value's `value`;
//! - `pr` is false for a missing attribute, `null`, `[]` and `{}`; `eq null` is its negation;
//! - `ne` is the negation of `eq` (so `title ne "x"` holds when there is no title);
//! - dateTime values compare as instants, offsets normalised (a literal spelled otherwise
//!   than xsd:dateTime, `2020-01-01 00:00:00Z`, is text); numbers by value; booleans
//!   only with `eq`/`ne` (ordering or substring operators on them → `invalidFilter`);
//! - a valuePath needs one value to satisfy its whole inner filter;
//! - `not` of a comparison on a missing attribute is true.

mod attr_schema;
mod compile;
mod datetime;
mod matcher;
mod text;

pub use attr_schema::{AttrInfo, AttrSchema, AttrType, CustomType, Schemaless, UrnLocation};
pub use compile::{CompileError, CompileErrorKind, CompiledFilter};
pub use datetime::Instant;

#[cfg(test)]
mod tests;
