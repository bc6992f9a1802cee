//! Integration tests: the store suite, what is pushed down, and random filters against the
//! in-memory evaluator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod props;
mod pushdown;
mod suite;

use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;

fn memory_store() -> SqliteStore {
    SqliteStore::open_in_memory(Registry::standard()).expect("open")
}
