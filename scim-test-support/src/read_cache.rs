//! The read-cache checks both SQL stores run (`scim-store-sqlite/tests/it/read_cache.rs`,
//! `scim-store-postgres/tests/it/cache.rs`): what `GET /Users/{id}`
//! ([`Store::get_with_references`]) answers from the cache is never older than a write the
//! store acknowledged. Each store passes how to tell its cache answered (its hit count) and
//! how to change a row behind its back (a connection of the test's own), with whatever
//! else the store would hear of switched off, so that only the store's own bookkeeping
//! keeps the cache right.

// Assertions of a test: a failed one panics, with what it found.
#![allow(clippy::panic, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scim_core::{block_on, ElementChange, Referrer, Store, StoredResource};
use serde_json::{json, Value};

/// The tenant the checks write in.
pub const T: &str = "t";

/// The question `GET /Users/{id}` asks: the groups whose `members` name the user.
pub fn groups() -> Referrer {
    Referrer::new("Group", "members")
}

/// A user named `name`.
pub fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

/// `GET /Users/{id}` as the engine asks it: the user's version, userName and groups (as
/// `id:display`, sorted).
pub fn read<S: Store>(store: &S, id: &str) -> Option<(u64, String, Vec<String>)> {
    let (user, refs) = block_on(store.get_with_references(T, "User", id, &groups())).ok()??;
    let mut in_groups: Vec<String> = refs
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let display = r.display.and_then(|d| d.as_str().map(str::to_owned));
            format!("{}:{}", r.referrer, display.unwrap_or_default())
        })
        .collect();
    in_groups.sort();
    let name = user.resource["userName"].as_str().unwrap_or_default();
    Some((user.version, name.to_owned(), in_groups))
}

/// Reads `id` until an answer comes from the cache (`hits` counts them; a first read may
/// overlap the invalidation of a write before it, which keeps it from filling).
///
/// # Panics
///
/// When no read is answered from the cache within 5 s.
pub fn warm<S: Store>(store: &S, id: &str, hits: impl Fn() -> u64) {
    let start = Instant::now();
    loop {
        let before = hits();
        let _ = read(store, id);
        if hits() > before {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{id} never cached"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits (up to 5 s) until `check` holds.
///
/// # Panics
///
/// When it does not.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn create<S: Store>(store: &S, rt: &str, body: Value) -> StoredResource {
    block_on(store.create(T, rt, body, vec![])).unwrap_or_else(|e| panic!("create: {e}"))
}

fn ok<R, E: std::fmt::Display>(r: Result<R, E>) -> R {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Answers come from the cache (a row renamed by `rename_behind(id, name)` still reads as
/// before), and each of the store's own writes evicts what it changes, read back at once:
/// a replace of the user, a member added to a group (the added user's groups), a group
/// renamed while it drops a member, a group deleted, the user deleted. Another tenant never
/// sees the entry of this one.
///
/// # Panics
///
/// When a read shows anything but the last acknowledged write.
pub fn own_writes_evict<S: Store>(
    store: &S,
    hits: impl Fn() -> u64,
    rename_behind: impl Fn(&str, &str),
) {
    let warm = |id: &str| warm(store, id, &hits);
    let read = |id: &str| read(store, id).unwrap_or_else(|| panic!("{id} not found"));
    let u = create(store, "User", user("alice"));
    let other = create(store, "User", user("bob"));
    let g = create(
        store,
        "Group",
        json!({"displayName": "Admins", "members": [{"value": u.id}]}),
    );
    assert_eq!(read(&u.id).2, [format!("{}:Admins", g.id)]);
    assert_eq!(read(&other.id).2, Vec::<String>::new());
    warm(&u.id);
    warm(&other.id);

    // Proof that answers are cached: a row changed behind the store's back still reads as
    // before.
    rename_behind(&u.id, "changed-behind");
    assert_eq!(read(&u.id).1, "alice");

    // A replace of the user.
    let v = ok(block_on(store.get(T, "User", &u.id)))
        .map(|r| r.version)
        .unwrap_or_default();
    let mut body = user("alice2");
    body["id"] = json!(u.id);
    ok(block_on(store.replace(T, "User", &u.id, v, body, vec![])));
    assert_eq!(read(&u.id).1, "alice2");
    // A member added to the group: the added user's groups change.
    warm(&other.id);
    let head = ok(block_on(store.get_head(T, "Group", &g.id))).expect("the group");
    let mut change = ElementChange::new("members");
    change.added = vec![json!({"value": other.id})];
    ok(block_on(store.patch_elements(
        T,
        "Group",
        &g.id,
        head.version,
        head.resource,
        false,
        change,
        vec![],
    )));
    assert_eq!(read(&other.id).2, [format!("{}:Admins", g.id)]);
    // The group renamed by a replace that also drops the first user.
    warm(&u.id);
    warm(&other.id);
    let head = ok(block_on(store.get(T, "Group", &g.id))).expect("the group");
    ok(block_on(store.replace(
        T,
        "Group",
        &g.id,
        head.version,
        json!({"id": g.id, "displayName": "Owners", "members": [{"value": other.id}]}),
        vec![],
    )));
    assert_eq!(read(&u.id).2, Vec::<String>::new());
    assert_eq!(read(&other.id).2, [format!("{}:Owners", g.id)]);
    // The group deleted.
    warm(&other.id);
    ok(block_on(store.delete(T, "Group", &g.id, None)));
    assert_eq!(read(&other.id).2, Vec::<String>::new());
    // The user deleted.
    warm(&u.id);
    ok(block_on(store.delete(T, "User", &u.id, None)));
    assert_eq!(self::read(store, &u.id), None);
    // Another tenant never sees the entry of this one.
    warm(&other.id);
    let elsewhere = ok(block_on(store.get_with_references(
        "other",
        "User",
        &other.id,
        &groups(),
    )));
    assert!(elsewhere.is_none());
}

/// Three readers fill the cache while the user is replaced 150 times; after each
/// acknowledged write, no read may show an older version. Returns how many reads the
/// readers made (the caller checks its cache was used).
///
/// # Panics
///
/// When a read shows a version older than one acknowledged, or the readers did not run.
pub fn no_stale_read_after_acknowledged_writes<S: Store + Send + Sync + 'static>(
    store: &Arc<S>,
) -> u32 {
    let u = create(&**store, "User", user("erin"));
    let acknowledged = Arc::new(AtomicU64::new(1));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, id) = (Arc::clone(store), u.id.clone());
            let (acknowledged, done) = (Arc::clone(&acknowledged), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut reads = 0u32;
                while !done.load(Ordering::SeqCst) {
                    let floor = acknowledged.load(Ordering::SeqCst);
                    let (version, ..) = read(&*store, &id).expect("the user");
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
        ok(block_on(store.replace(T, "User", &u.id, v, body, vec![])));
        acknowledged.store(v + 1, Ordering::SeqCst);
        assert_eq!(read(&**store, &u.id).map(|r| r.0), Some(v + 1));
    }
    done.store(true, Ordering::SeqCst);
    let reads: u32 = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_else(|_| panic!("a reader failed")))
        .sum();
    assert!(reads > 150, "the readers ran ({reads} reads)");
    reads
}
