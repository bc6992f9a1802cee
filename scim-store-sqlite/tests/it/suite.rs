use scim_core::{block_on, Store};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::json;

use super::memory_store;

#[test]
fn in_memory_database_passes_the_store_suite() {
    scim_core::test_kit::run_store_suite(memory_store);
}

#[test]
fn file_database_passes_the_store_suite() {
    let dir = std::env::temp_dir().join(format!("scim-sqlite-suite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let n = std::sync::atomic::AtomicUsize::new(0);
    scim_core::test_kit::run_store_suite(|| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SqliteStore::open(
            dir.join(format!("{i}.db")),
            scim_core::StoreSchema::of(&Registry::standard()),
        )
        .expect("open")
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn writes_survive_reopening() {
    let dir = std::env::temp_dir().join(format!("scim-sqlite-reopen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("db.sqlite");
    let (id, id2) = {
        let s = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
            .expect("open");
        let r = block_on(s.create("t", "User", json!({"userName": "a"}), vec![])).expect("create");
        let r = block_on(s.replace("t", "User", &r.id, 1, json!({"userName": "b"}), vec![]))
            .expect("replace");
        let r2 = block_on(s.create("t", "User", json!({"userName": "c"}), vec![])).expect("c");
        (r.id, r2.id)
    };
    let s = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
        .expect("reopen");
    let got = block_on(s.get("t", "User", &id))
        .expect("get")
        .expect("present");
    assert_eq!(got.version, 2);
    assert_eq!(got.resource["userName"], json!("b"));
    // New ids after reopening do not collide with stored ones.
    let r3 = block_on(s.create("t", "User", json!({"userName": "d"}), vec![])).expect("create");
    assert!(r3.id != id && r3.id != id2);
    let mode: String = {
        let c = rusqlite_mode(&path);
        c.to_lowercase()
    };
    assert_eq!(mode, "wal");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

fn rusqlite_mode(path: &std::path::Path) -> String {
    let c = rusqlite::Connection::open(path).expect("open");
    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma")
}
