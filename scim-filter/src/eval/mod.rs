//! Evaluation: compile a [`Filter`](crate::Filter) once, test it against many resources.
//!
//! Semantics of RFC 7644 §3.4.2.2 and RFC 7643 §2:
//! - attribute names are case-insensitive; strings compare case-insensitively unless the
//!   attribute is `caseExact` (schema-less: always case-insensitive, RFC 7643 §2.2 default);
//! - a document with keys duplicated by case (`userName` and `usernaMe`) holds the values of
//!   all of them: a test matches when any of them does, whatever the filter's spelling;
//! - every operator holds when it holds for any value of a multi-valued attribute;
//! - a complex attribute compared without a sub-attribute compares its `value`
//!   sub-attribute, for every operator and with that sub-attribute's type (`emails co "x"`
//!   is `emails.value co "x"`); `pr` and `eq null` stay on the attribute;
//! - `pr` is false for a missing attribute, `null`, `""`, `[]` and `{}`; `eq null` is its
//!   negation and `ne null` is `pr`;
//! - `ne` holds when some value (string, number or boolean) is not identical to the
//!   literal: false on a missing attribute (`not (title eq "x")` holds there);
//! - a URN prefix the schema says is not one of the resource type's names nothing;
//! - dateTime values compare as instants, offsets normalised (a literal spelled otherwise
//!   than xsd:dateTime, `2020-01-01 00:00:00Z`, is text); numbers by value; booleans
//!   only with `eq`/`ne` (ordering or substring operators on them → `invalidFilter`);
//! - a valuePath needs one value to satisfy its whole inner filter;
//! - `not` of a comparison on a missing attribute is true.

mod attr_schema;
mod compile;
mod datetime;
mod matcher;
mod resolved;
mod text;

pub use attr_schema::{AttrInfo, AttrSchema, AttrType, CustomType, Schemaless, UrnLocation};
pub use compile::{CompileError, CompileErrorKind, CompiledFilter};
pub use datetime::Instant;
pub use resolved::{
    Condition, Location, NumberLiteral, NumberTest, ResolvedAttr, ResolvedNode, TextSet, TextTest,
};

#[cfg(test)]
mod tests;
