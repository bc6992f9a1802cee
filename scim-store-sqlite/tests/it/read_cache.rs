//! The read cache (`SqliteOptions::read_cache`): what it answers is never older than a
//! write this store acknowledged, and a write by another process reaches it within the
//! poll. Where a test must tell an answer from the cache apart from one read anew, it
//! changes a row behind the store's back (a connection of its own on the file) with the
//! store's poll set to an hour: only a cached answer can still show the old row.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scim_core::{block_on, Store, StoredResource};
use scim_schema::Registry;
use scim_store_sqlite::{CacheOptions, SqliteOptions, SqliteStore};
use scim_test_support::read_cache::{eventually, read, user, T};
use serde_json::{json, Value};

use super::temp_dir;

/// A store on `path` whose writer looks for other processes' commits every `poll`.
fn store_on(path: &Path, poll: Duration) -> SqliteStore {
    let mut cache = CacheOptions::default();
    cache.poll = poll;
    SqliteStore::open_with(
        path,
        scim_core::StoreSchema::of(&Registry::standard()),
        SqliteOptions::default().read_cache(cache),
    )
    .unwrap()
}

fn db(name: &str) -> PathBuf {
    temp_dir(name).join("cache.db")
}

fn hits(store: &SqliteStore) -> u64 {
    store.read_cache().unwrap().stats().hits
}

/// Reads `id` until an answer comes from the cache.
fn warm(store: &SqliteStore, id: &str) {
    scim_test_support::read_cache::warm(store, id, || hits(store));
}

fn create(store: &SqliteStore, rt: &str, body: Value) -> StoredResource {
    block_on(store.create(T, rt, body, vec![])).unwrap()
}

/// Renames `id`'s userName behind the store's back (another connection: another process,
/// as far as the store can tell).
fn rename_in_sql(path: &Path, id: &str, name: &str) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    let n = c
        .execute(
            "UPDATE resources SET resource = json_set(resource, '$.userName', ?1), \
             version = version + 1 WHERE id = ?2",
            rusqlite::params![name, id],
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn answers_come_from_the_cache_and_the_stores_own_writes_evict_them() {
    let path = db("cache-own-writes");
    // Another process's commits are never looked for: only the store's own writes evict.
    let store = store_on(&path, Duration::from_secs(3600));
    scim_test_support::read_cache::own_writes_evict(
        &store,
        || hits(&store),
        |id, name| rename_in_sql(&path, id, name),
    );
}

#[test]
fn a_write_by_another_process_is_seen_within_the_poll() {
    let path = db("cache-elsewhere");
    let a = store_on(&path, Duration::from_millis(10));
    let b = store_on(&path, Duration::from_millis(10));
    let u = create(&b, "User", user("carol"));
    assert_eq!(read(&a, &u.id).unwrap().1, "carol");
    warm(&a, &u.id);
    // Written by the other store: A's writer is idle and finds it by polling.
    let mut body = user("carol2");
    body["id"] = json!(u.id);
    block_on(b.replace(T, "User", &u.id, 1, body, vec![])).unwrap();
    eventually("A reads B's replace", || {
        read(&a, &u.id).unwrap().1 == "carol2"
    });
    // A group holding the user, created by the other store.
    warm(&a, &u.id);
    let g = create(
        &b,
        "Group",
        json!({"displayName": "Ops", "members": [{"value": u.id}]}),
    );
    eventually("A sees the user's new group", || {
        read(&a, &u.id).unwrap().2 == [format!("{}:Ops", g.id)]
    });
    // Written by hand in SQL, by no store at all.
    warm(&a, &u.id);
    rename_in_sql(&path, &u.id, "carol-sql");
    eventually("A reads the SQL update", || {
        read(&a, &u.id).unwrap().1 == "carol-sql"
    });
    // Deleted by the other store.
    warm(&a, &u.id);
    block_on(b.delete(T, "User", &u.id, None)).unwrap();
    eventually("A finds the user gone", || read(&a, &u.id).is_none());
}

/// Readers fill the cache while a writer replaces the user over and over; after each
/// acknowledged write, no read may show an older version. With the poll at an hour, only
/// the store's own eviction and the fill check keep it so.
#[test]
fn no_read_after_an_acknowledged_write_shows_an_older_version() {
    let path = db("cache-no-stale");
    let store = Arc::new(store_on(&path, Duration::from_secs(3600)));
    scim_test_support::read_cache::no_stale_read_after_acknowledged_writes(&store);
    let stats = store.read_cache().unwrap().stats();
    assert!(
        stats.hits > 0 && stats.fills > 0,
        "the cache was used: {stats:?}"
    );
}

#[test]
fn with_the_cache_off_every_read_is_fresh() {
    let path = db("cache-off");
    let store = SqliteStore::open_with(
        &path,
        scim_core::StoreSchema::of(&Registry::standard()),
        SqliteOptions::default().read_cache(CacheOptions::off()),
    )
    .unwrap();
    assert!(store.read_cache().is_none());
    let u = create(&store, "User", user("frank"));
    assert_eq!(read(&store, &u.id).unwrap().1, "frank");
    assert_eq!(read(&store, &u.id).unwrap().1, "frank");
    rename_in_sql(&path, &u.id, "frank-sql");
    assert_eq!(read(&store, &u.id).unwrap().1, "frank-sql");
}

#[test]
fn a_batch_naming_more_keys_than_it_lists_clears_everything() {
    let path = db("cache-many");
    let store = store_on(&path, Duration::from_secs(3600));
    let u = create(&store, "User", user("gina"));
    warm(&store, &u.id);
    // A group of 12,000 members, the user among them: more keys than one batch lists.
    let mut members: Vec<Value> = (0..12_000)
        .map(|i| json!({"value": format!("x{i}")}))
        .collect();
    members.push(json!({"value": u.id}));
    let g = create(
        &store,
        "Group",
        json!({"displayName": "Big", "members": members}),
    );
    assert_eq!(read(&store, &u.id).unwrap().2, [format!("{}:Big", g.id)]);
}

/// The store's own checkpoints (another connection copying the WAL into the file, and the
/// writer finishing the copy so the WAL starts over) change no content: they do not empty
/// the cache, whose answers stay good across them.
#[test]
fn checkpoints_do_not_empty_the_cache() {
    let path = db("cache-checkpoints");
    let store = store_on(&path, Duration::from_millis(5));
    let u = create(&store, "User", user("hana"));
    warm(&store, &u.id);
    for round in 0..3 {
        for i in 0..50 {
            create(&store, "User", user(&format!("x{round}-{i}")));
        }
        // Idle: the writer asks for a checkpoint after 20 ms, and polls every 5 ms.
        std::thread::sleep(Duration::from_millis(150));
        let before = hits(&store);
        assert_eq!(read(&store, &u.id).unwrap().1, "hana");
        assert_eq!(hits(&store), before + 1, "round {round}: the entry went");
    }
    let wal = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
    assert!(wal > 0, "the WAL was written");
}

/// A read for a response (`Store::get_text`) gives the document's text as stored, alone
/// for one too big for the cache (the store builds no resource for it: that saving shows
/// in instruction counts, not here), and from the cache without a copy of the resource.
#[test]
fn reads_for_responses_give_the_text_and_cached_answers_no_copy() {
    let path = db("text-reads");
    let mut cache = CacheOptions::default();
    cache.bytes = 1 << 20; // answers of up to 64 KiB are kept
    let store = SqliteStore::open_with(
        &path,
        scim_core::StoreSchema::of(&Registry::standard()),
        SqliteOptions::default().read_cache(cache),
    )
    .unwrap();
    let groups = scim_core::Referrer::new("Group", "members");
    let small = create(&store, "User", json!({"userName": "small"}));
    let big = create(
        &store,
        "User",
        json!({"userName": "big", "title": "x".repeat(100_000)}),
    );
    let read = |id: &str| {
        let (found, references) = block_on(store.get_text(T, "User", id, Some(&groups)))
            .unwrap()
            .unwrap();
        assert_eq!(references, Some(vec![]));
        found
    };
    for _ in 0..3 {
        let found = read(&big.id);
        assert!(found.is_text_only(), "too big for the cache: never built");
        let text = found.text.as_deref().unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), big.resource);
    }
    // Read until it comes from the cache: then as its text only, with no copy built.
    let mut from_cache = false;
    for _ in 0..50 {
        let before = hits(&store);
        let found = read(&small.id);
        assert_eq!(
            serde_json::from_str::<Value>(found.text.as_deref().unwrap()).unwrap(),
            small.resource
        );
        if hits(&store) > before {
            assert!(found.is_text_only(), "a cached answer is given as its text");
            from_cache = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(from_cache, "never answered from the cache");
    // `get` still builds the resource.
    let got = block_on(store.get(T, "User", &big.id)).unwrap().unwrap();
    assert_eq!(got.resource, big.resource);
}
