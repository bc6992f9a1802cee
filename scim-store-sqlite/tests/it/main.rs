//! Integration tests: the store suite, what is pushed down, random filters against the
//! in-memory evaluator, the indexes and their migration, and out-of-line group members.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cascade;
mod checkpoints;
mod group_commit;
mod indexes;
mod members;
mod no_errors;
mod props;
mod pushdown;
mod scan_limit;
mod secrets;
mod sort;
mod suite;

use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;

fn memory_store() -> SqliteStore {
    SqliteStore::open_in_memory(scim_core::StoreSchema::of(&Registry::standard())).expect("open")
}
