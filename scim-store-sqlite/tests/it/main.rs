//! Integration tests: the store suite, what is pushed down, random filters against the
//! in-memory evaluator, the indexes and their migration, and out-of-line group members.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod capped;
mod cascade;
mod checkpoints;
mod group_commit;
mod indexes;
mod members;
mod no_errors;
mod props;
mod pushdown;
mod read_cache;
mod scan_limit;
mod secrets;
mod sort;
mod suite;

use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;

/// A fresh directory for this test process's files of test `name`.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scim-sqlite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn memory_store() -> SqliteStore {
    SqliteStore::open_in_memory(scim_core::StoreSchema::of(&Registry::standard())).expect("open")
}

/// A store that indexes at most one value of an attribute per resource: any user with two
/// emails (or an odd `userName` array) is over the cap.
fn capped_store() -> SqliteStore {
    SqliteStore::open_in_memory_with(
        scim_core::StoreSchema::of(&Registry::standard()),
        scim_store_sqlite::SqliteOptions::default().max_indexed_values(1),
    )
    .expect("open")
}
