//! The WAL is copied into the database file by the store's checkpoint thread, while the
//! writer goes on committing: the writer's own automatic checkpoints are off.

use std::time::{Duration, Instant};

use scim_core::{block_on, Store};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::json;

use super::temp_dir;

fn main_file_holds(path: &std::path::Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).expect("read");
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A committed write reaches the main file within moments, without a thousand pages of WAL
/// first (the threshold of SQLite's automatic checkpoint), without closing the store and
/// without more writes coming.
#[test]
fn the_wal_is_checkpointed_in_the_background() {
    let dir = temp_dir("checkpoints");
    let path = dir.join("c.db");
    let store =
        SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard())).expect("open");
    let needle = "needle-7f3a9c";
    // Committed right after opening: under load the writer asks for a checkpoint at most
    // every 500 ms, but it asks as soon as it has nothing to do for 20 ms.
    block_on(store.create("t", "User", json!({"userName": needle}), vec![])).expect("create");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !main_file_holds(&path, needle) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        main_file_holds(&path, needle),
        "not checkpointed into the main file"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Under a steady stream of writes from many callers, the WAL starts over now and then
/// rather than growing with every write (a passive checkpoint alone never catches up): here
/// with `max_wal_frames` at 1,000 and random ids (the most pages per write).
#[test]
fn the_wal_stays_bounded_under_steady_writes() {
    let dir = temp_dir("wal-bounded");
    let path = dir.join("w.db");
    let mut pool = scim_store_sqlite::PoolOptions::default();
    pool.max_wal_frames = 1000;
    let store = SqliteStore::open_with(
        &path,
        scim_core::StoreSchema::of(&Registry::standard()),
        scim_store_sqlite::SqliteOptions::default()
            .pool(pool)
            .time_ordered_ids(false),
    )
    .expect("open");
    std::thread::scope(|s| {
        for t in 0..8 {
            let store = &store;
            s.spawn(move || {
                for i in 0..1000 {
                    let user = json!({"userName": format!("steady-{t}-{i}"),
                        "displayName": format!("Steady {t} {i}"),
                        "emails": [{"value": format!("steady-{t}-{i}@example.com")}]});
                    block_on(store.create("t", "User", user, vec![])).expect("create");
                }
            });
        }
    });
    let wal = std::fs::metadata(dir.join("w.db-wal")).map_or(0, |m| m.len());
    // 8,000 writes leave over 300 MB of frames; a WAL started over stays near the
    // 1,000-frame limit (4 MB of pages) plus one batch: the writer counts the frames after
    // each commit and finishes the copy itself past the limit, however fast the commits
    // come (before, it waited for 500 ms of them: 140 MB on a machine this fast).
    assert!(wal < 16 << 20, "the WAL grew to {wal} bytes");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
