//! # scim-filter
//!
//! The SCIM 2.0 filter and path language: the `filter` query parameter of
//! RFC 7644 §3.4.2.2 and the PATCH `path` of RFC 7644 §3.5.2.
//!
//! - a [pest](https://pest.rs) grammar (`src/grammar/scim.pest`) whose rules name their RFC
//!   sections;
//! - a typed AST ([`Filter`], [`AttrPath`], [`ValuePath`], [`CompareOp`], [`CompValue`],
//!   [`PatchPath`]) with [`FromStr`](std::str::FromStr) and a canonical
//!   [`Display`](std::fmt::Display) that parses back to the same tree;
//! - [`ParseError`] with byte offset, what was expected and what was found, mapping to the
//!   SCIM [`ScimType`] `invalidFilter` or `invalidPath`; input [`Limits`];
//! - evaluation: a filter is [compiled](CompiledFilter::compile) once against what an
//!   [`AttrSchema`] knows about the attributes (type, caseExact, multiValued) and then tested
//!   against many resources;
//! - a [`Visitor`] for hosts that translate filters into their own query language.
//!
//! No I/O, no runtime; builds for `wasm32-unknown-unknown`.
//!
//! ```
//! use scim_filter::{CompiledFilter, Filter};
//! use serde_json::json;
//!
//! let filter: Filter = r#"emails[type eq "work" and value co "@example.com"] and active eq true"#.parse()?;
//! let compiled = CompiledFilter::compile_schemaless(&filter)?;
//!
//! let bjensen = json!({
//!     "userName": "bjensen", "active": true,
//!     "emails": [
//!         {"type": "home", "value": "babs@jensen.org"},
//!         {"type": "work", "value": "bjensen@EXAMPLE.com"}
//!     ]
//! });
//! assert!(compiled.matches(&bjensen));
//! assert!(!compiled.matches(&json!({"userName": "x", "active": true})));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ast;
mod error;
mod eval;
mod lenient;
mod limits;
pub mod names;
mod parser;
mod scim_type;
mod visitor;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath, UnknownOperator, ValuePath};
pub use error::{InputKind, ParseError, ParseErrorKind};
pub use eval::{
    AttrInfo, AttrSchema, AttrType, CompileError, CompileErrorKind, CompiledFilter, Condition,
    CustomType, Instant, Location, NumberLiteral, NumberTest, ResolvedAttr, ResolvedNode,
    Schemaless, TextSet, TextTest, UrnLocation,
};
pub use limits::Limits;
pub use scim_type::{ScimType, UnknownScimType};
pub use visitor::{walk, Visitor};

/// Internals exposed for the differential tests and fuzz targets; not a stable API.
#[doc(hidden)]
pub mod __private {
    /// Parses a filter with the pest grammar only (no fast path, no limits).
    pub fn reference_parse_filter(input: &str) -> Result<crate::Filter, crate::ParseError> {
        crate::parser::reference_filter(input)
    }

    /// Parses a filter with the hand-written fast path only (no grammar fallback).
    pub fn fast_parse_filter(input: &str) -> Option<crate::Filter> {
        crate::parser::fast_filter(input)
    }

    /// Parses a PATCH path with the hand-written fast path only.
    pub fn fast_parse_patch_path(input: &str) -> Option<crate::PatchPath> {
        crate::parser::fast_patch_path(input)
    }

    /// Parses a PATCH path with the pest grammar only (no fast path, no limits).
    pub fn reference_parse_patch_path(input: &str) -> Result<crate::PatchPath, crate::ParseError> {
        crate::parser::reference_patch_path(input)
    }

    /// `filter` with the ASCII case of every attribute name, sub-attribute name and URN flipped.
    pub fn respell(filter: &crate::Filter) -> crate::Filter {
        fn flip(s: &str) -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect()
        }
        fn path(p: &crate::AttrPath) -> crate::AttrPath {
            crate::AttrPath {
                urn: p.urn.as_deref().map(flip),
                name: flip(&p.name),
                sub_attr: p.sub_attr.as_deref().map(flip),
            }
        }
        match filter {
            crate::Filter::Present(p) => crate::Filter::Present(path(p)),
            crate::Filter::Compare { path: p, op, value } => {
                crate::Filter::compare(path(p), *op, value.clone())
            }
            crate::Filter::ValuePath(vp) => crate::Filter::ValuePath(crate::ValuePath {
                attr: path(&vp.attr),
                filter: Box::new(respell(&vp.filter)),
            }),
            crate::Filter::Not(inner) => crate::Filter::Not(Box::new(respell(inner))),
            crate::Filter::And(ops) => crate::Filter::And(ops.iter().map(respell).collect()),
            crate::Filter::Or(ops) => crate::Filter::Or(ops.iter().map(respell).collect()),
        }
    }
}
