//! Integration tests of scim-patch: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod canonical_keys;
mod conformance;
mod extension_urns;
mod immutable;
mod nulls;
mod properties;
mod rfc;
mod split;
