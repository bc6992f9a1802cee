//! Integration tests of scim-schema: one binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod filters;
mod projection;
mod properties;
mod validation;

use scim_schema::{Registry, ValidationOptions};
use serde_json::Value;

pub(crate) fn rfc_example(name: &str) -> Value {
    let text = include_str!("../data/rfc7643_examples.json");
    let all: Value = serde_json::from_str(text).unwrap();
    all.get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no example {name}"))
}

pub(crate) fn strict() -> ValidationOptions {
    ValidationOptions::default()
}

pub(crate) fn registry() -> Registry {
    scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .unwrap()
}
