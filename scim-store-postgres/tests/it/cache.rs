//! The read cache (`PostgresOptions::read_cache`): what it answers is never older than a
//! write this store acknowledged, and a write anywhere else reaches it through the
//! database's notifications. Where a test must tell an answer from the cache apart from one
//! read anew, it switches the schema's notification triggers off and changes a row behind
//! the store's back: only a cached answer can still show the old row.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scim_core::{block_on, ElementChange, Referrer, Store, StoredResource};
use scim_store_postgres::PostgresStore;
use scim_test_support::postgres::TestSchema;
use serde_json::{json, Value};

use super::store_in;

const T: &str = "t";

fn groups() -> Referrer {
    Referrer::new("Group", "members")
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

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

/// `GET /Users/{id}` as the engine asks it: the user's version, userName and group ids.
fn read(store: &PostgresStore, id: &str) -> Option<(u64, String, Vec<String>)> {
    let (user, refs) = block_on(store.get_with_references(T, "User", id, &groups())).unwrap()?;
    let mut in_groups: Vec<String> = refs
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let display = r.display.and_then(|d| d.as_str().map(str::to_owned));
            format!("{}:{}", r.referrer, display.unwrap_or_default())
        })
        .collect();
    in_groups.sort();
    Some((
        user.version,
        user.resource["userName"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        in_groups,
    ))
}

/// Reads `id` until an answer comes from the cache (the first reads may overlap the
/// notifications of the writes before them, which keep them from filling).
fn warm(store: &PostgresStore, id: &str) {
    let start = Instant::now();
    loop {
        let hits = store.read_cache().unwrap().stats().hits;
        read(store, id).unwrap();
        if store.read_cache().unwrap().stats().hits > hits {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{id} never cached"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
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

/// Waits (up to 5 s) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn answers_come_from_the_cache_and_the_stores_own_writes_evict_them() {
    let Some(schema) = TestSchema::new("cache_own_writes") else {
        return;
    };
    let store = caching_store(&schema);
    // With no notification in flight, nothing but the store's own writes evicts.
    notifications(&schema, false);
    let u = create(&store, "User", user("alice"));
    let other = create(&store, "User", user("bob"));
    let g = create(
        &store,
        "Group",
        json!({"displayName": "Admins", "members": [{"value": u.id}]}),
    );
    assert_eq!(read(&store, &u.id).unwrap().2, [format!("{}:Admins", g.id)]);
    assert_eq!(read(&store, &other.id).unwrap().2, Vec::<String>::new());
    warm(&store, &u.id);
    warm(&store, &other.id);

    // Proof that answers are cached: with notifications off, a row changed behind the
    // store's back still reads as before.
    rename_in_sql(&schema, &u.id, "changed-in-sql");
    assert_eq!(read(&store, &u.id).unwrap().1, "alice");

    // The store's own writes, each read back at once with no notification to help.
    // A replace of the user.
    let v = block_on(store.get(T, "User", &u.id))
        .unwrap()
        .unwrap()
        .version;
    let mut body = user("alice2");
    body["id"] = json!(u.id);
    block_on(store.replace(T, "User", &u.id, v, body, vec![])).unwrap();
    assert_eq!(read(&store, &u.id).unwrap().1, "alice2");
    // A member added to the group: the added user's groups change.
    let head = block_on(store.get_head(T, "Group", &g.id))
        .unwrap()
        .unwrap();
    let mut change = ElementChange::new("members");
    change.added = vec![json!({"value": other.id})];
    block_on(store.patch_elements(
        T,
        "Group",
        &g.id,
        head.version,
        head.resource,
        false,
        change,
        vec![],
    ))
    .unwrap();
    assert_eq!(
        read(&store, &other.id).unwrap().2,
        [format!("{}:Admins", g.id)]
    );
    // The group renamed by a replace that also drops the first user.
    let head = block_on(store.get(T, "Group", &g.id)).unwrap().unwrap();
    block_on(store.replace(
        T,
        "Group",
        &g.id,
        head.version,
        json!({"id": g.id, "displayName": "Owners", "members": [{"value": other.id}]}),
        vec![],
    ))
    .unwrap();
    assert_eq!(read(&store, &u.id).unwrap().2, Vec::<String>::new());
    assert_eq!(
        read(&store, &other.id).unwrap().2,
        [format!("{}:Owners", g.id)]
    );
    // The group deleted.
    block_on(store.delete(T, "Group", &g.id, None)).unwrap();
    assert_eq!(read(&store, &other.id).unwrap().2, Vec::<String>::new());
    // The user deleted.
    block_on(store.delete(T, "User", &u.id, None)).unwrap();
    assert_eq!(read(&store, &u.id), None);
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
    let u = create(&store, "User", user("erin"));
    notifications(&schema, false);
    let acknowledged = Arc::new(AtomicU64::new(1));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, id) = (Arc::clone(&store), u.id.clone());
            let (acknowledged, done) = (Arc::clone(&acknowledged), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut reads = 0u32;
                while !done.load(Ordering::SeqCst) {
                    let floor = acknowledged.load(Ordering::SeqCst);
                    let (version, ..) = read(&store, &id).unwrap();
                    assert!(
                        version >= floor,
                        "read v{version} after v{floor} was acknowledged"
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for v in 1..=150u64 {
        let mut body = user(&format!("erin{v}"));
        body["id"] = json!(u.id);
        block_on(store.replace(T, "User", &u.id, v, body, vec![])).unwrap();
        acknowledged.store(v + 1, Ordering::SeqCst);
        assert_eq!(read(&store, &u.id).unwrap().0, v + 1);
    }
    done.store(true, Ordering::SeqCst);
    let reads: u32 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 150, "the readers ran ({reads} reads)");
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
