//! Integration tests against a real PostgreSQL (`SCIM_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`), each in a schema of its own that it drops
//! afterwards: the store suite, races between two pools (as between two processes), the
//! layout and its version, large groups, and connecting. Without a server each test prints
//! one line and skips, unless `SCIM_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analyze;
mod cache;
mod connect;
mod edits;
mod ids;
mod layout;
mod members;
mod no_errors;
mod props;
mod pushdown;
mod races;
mod sort;
mod suite;

use scim_schema::Registry;
use scim_store_postgres::{PostgresOptions, PostgresStore};
use scim_test_support::postgres::TestSchema;

/// The options for a store in `schema` (a small pool: tests run side by side).
fn options(schema: &TestSchema) -> PostgresOptions {
    PostgresOptions::new(schema.url())
        .schema(schema.name())
        .pool_size(4)
}

/// A store in `schema`.
fn store_in(schema: &TestSchema) -> PostgresStore {
    PostgresStore::connect(
        options(schema),
        scim_core::StoreSchema::of(&Registry::standard()),
    )
    .expect("connect")
}
