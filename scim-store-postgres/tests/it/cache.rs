//! The read cache (`PostgresOptions::read_cache`): what it answers is never older than a
//! write this store acknowledged, and a write anywhere else reaches it through the
//! database's notifications. Where a test must tell an answer from the cache apart from one
//! read anew, it switches the schema's notification triggers off and changes a row behind
//! the store's back: only a cached answer can still show the old row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scim_core::{block_on, Store, StoredResource};
use scim_store_postgres::PostgresStore;
use scim_test_support::postgres::TestSchema;
use scim_test_support::read_cache::{eventually, read, user, T};
use serde_json::{json, Value};

use super::store_in;

/// A store whose cache listens (waits for it).
fn caching_store(schema: &TestSchema) -> PostgresStore {
    let store = store_in(schema);
    let start = Instant::now();
    while !store.caching() {
        assert!(start.elapsed() < Duration::from_secs(10), "never listening");
        std::thread::sleep(Duration::from_millis(5));
    }
    store
}

/// Reads `id` until an answer comes from the cache.
fn warm(store: &PostgresStore, id: &str) {
    scim_test_support::read_cache::warm(store, id, || hits(store));
}

fn hits(store: &PostgresStore) -> u64 {
    store.read_cache().unwrap().stats().hits
}

fn create(store: &PostgresStore, rt: &str, body: Value) -> StoredResource {
    block_on(store.create(T, rt, body, vec![])).unwrap()
}

/// Turns the schema's notifications off (`false`) or on: with them off, only the store's
/// own bookkeeping keeps its cache right.
fn notifications(schema: &TestSchema, on: bool) {
    let how = if on { "ENABLE" } else { "DISABLE" };
    schema.execute(&format!(
        "ALTER TABLE {s}.resources {how} TRIGGER USER; \
         ALTER TABLE {s}.members {how} TRIGGER USER",
        s = schema.name()
    ));
}

/// Renames `id`'s userName behind the store's back (a hand-written UPDATE).
fn rename_in_sql(schema: &TestSchema, id: &str, name: &str) {
    schema.execute(&format!(
        "UPDATE {s}.resources SET resource = jsonb_set(resource::jsonb, '{{userName}}', \
         to_jsonb('{name}'::text))::json, version = version + 1 WHERE id = '{id}'",
        s = schema.name()
    ));
}

#[test]
fn answers_come_from_the_cache_and_the_stores_own_writes_evict_them() {
    let Some(schema) = TestSchema::new("cache_own_writes") else {
        return;
    };
    let store = caching_store(&schema);
    // With no notification in flight, nothing but the store's own writes evicts.
    notifications(&schema, false);
    scim_test_support::read_cache::own_writes_evict(
        &store,
        || hits(&store),
        |id, name| rename_in_sql(&schema, id, name),
    );
    notifications(&schema, true);
}

#[test]
fn a_write_elsewhere_reaches_the_cache_through_a_notification() {
    let Some(schema) = TestSchema::new("cache_elsewhere") else {
        return;
    };
    let a = caching_store(&schema);
    let b = caching_store(&schema);
    let u = create(&a, "User", user("carol"));
    assert_eq!(read(&b, &u.id).unwrap().1, "carol");
    warm(&b, &u.id);
    // Written by the other replica.
    let mut body = user("carol2");
    body["id"] = json!(u.id);
    block_on(a.replace(T, "User", &u.id, 1, body, vec![])).unwrap();
    eventually("B reads A's replace", || {
        read(&b, &u.id).unwrap().1 == "carol2"
    });
    // A group holding the user, created by the other replica.
    warm(&b, &u.id);
    let g = create(
        &a,
        "Group",
        json!({"displayName": "Ops", "members": [{"value": u.id}]}),
    );
    eventually("B sees the user's new group", || {
        read(&b, &u.id).unwrap().2 == [format!("{}:Ops", g.id)]
    });
    // A group of more members than a notification names one by one (everything goes).
    warm(&b, &u.id);
    let mut many: Vec<Value> = (0..1200)
        .map(|i| json!({"value": format!("x{i}")}))
        .collect();
    many.push(json!({"value": u.id}));
    let big = create(&a, "Group", json!({"displayName": "Big", "members": many}));
    eventually("B sees the big group", || {
        read(&b, &u.id)
            .unwrap()
            .2
            .contains(&format!("{}:Big", big.id))
    });
    // Written by hand in SQL, by no store at all.
    warm(&b, &u.id);
    rename_in_sql(&schema, &u.id, "carol-sql");
    eventually("B reads the SQL update", || {
        read(&b, &u.id).unwrap().1 == "carol-sql"
    });
    // Deleted by the other replica.
    warm(&b, &u.id);
    block_on(a.delete(T, "User", &u.id, None)).unwrap();
    eventually("B finds the user gone", || read(&b, &u.id).is_none());
}

#[test]
fn a_gap_in_listening_empties_the_cache_and_reads_go_to_the_database() {
    let Some(schema) = TestSchema::new("cache_gap") else {
        return;
    };
    let store = caching_store(&schema);
    notifications(&schema, false);
    let u = create(&store, "User", user("dave"));
    assert_eq!(read(&store, &u.id).unwrap().1, "dave");
    warm(&store, &u.id);
    rename_in_sql(&schema, &u.id, "dave-sql");
    assert_eq!(read(&store, &u.id).unwrap().1, "dave", "cached");
    // The listening connection dies (a restart, a failover, an operator).
    schema.execute(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'scim-listen {}'",
        schema.name()
    ));
    eventually("the gap drops the cached answer", || {
        read(&store, &u.id).unwrap().1 == "dave-sql"
    });
    // And the store listens again.
    eventually("listening again", || store.caching());
    notifications(&schema, true);
    rename_in_sql(&schema, &u.id, "dave-again");
    eventually("heard after the reconnect", || {
        read(&store, &u.id).unwrap().1 == "dave-again"
    });
}

/// Readers fill the cache while a writer replaces the user over and over; after each
/// acknowledged write, no read on the same store may show an older version. With the
/// notifications off, only the store's own eviction and the fill check keep it so.
#[test]
fn no_read_after_an_acknowledged_write_shows_an_older_version() {
    let Some(schema) = TestSchema::new("cache_no_stale") else {
        return;
    };
    let store = Arc::new(caching_store(&schema));
    notifications(&schema, false);
    scim_test_support::read_cache::no_stale_read_after_acknowledged_writes(&store);
    let stats = store.read_cache().unwrap().stats();
    assert!(
        stats.hits > 0 && stats.fills > 0,
        "the cache was used: {stats:?}"
    );
    notifications(&schema, true);
}

#[test]
fn with_the_cache_off_no_trigger_is_installed_and_every_read_is_fresh() {
    let Some(schema) = TestSchema::new("cache_off") else {
        return;
    };
    let store = PostgresStore::connect(
        super::options(&schema).read_cache(0),
        scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
    )
    .unwrap();
    assert!(!store.caching());
    let u = create(&store, "User", user("frank"));
    assert_eq!(read(&store, &u.id).unwrap().1, "frank");
    rename_in_sql(&schema, &u.id, "frank-sql");
    assert_eq!(read(&store, &u.id).unwrap().1, "frank-sql");
    assert_eq!(
        schema
            .scalar(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND t.tgname LIKE 'scim_notify%'"
            )
            .as_deref(),
        Some("0")
    );
}
