//! Cascades are atomic and repairable: what a crash between a delete and its cascade left
//! (the old engine's two steps) is cleaned by a repeated DELETE, and a cascade that fails
//! half-way leaves the old state, not a mix.

use scim_core::{block_on, Config, Engine, Method, Request, RequestContext, Store};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::{json, Value};

fn temp_db(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = super::temp_dir(name);
    let path = dir.join("db.sqlite");
    (dir, path)
}

fn engine(path: &std::path::Path) -> Engine<SqliteStore> {
    let store =
        SqliteStore::open(path, scim_core::StoreSchema::of(&Registry::standard())).expect("open");
    Engine::new(
        Registry::standard(),
        store,
        Config::new("https://example.com/scim/v2"),
    )
}

fn send(e: &Engine<SqliteStore>, req: Request) -> (u16, Value) {
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let resp = block_on(e.handle(&ctx, req));
    let body = if resp.body.is_empty() {
        Value::Null
    } else {
        resp.body_json()
    };
    (resp.status, body)
}

fn post(e: &Engine<SqliteStore>, path: &str, body: Value) -> String {
    let (status, body) = send(e, Request::new(Method::Post, path).with_json(&body));
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

fn members(e: &Engine<SqliteStore>, group: &str) -> Vec<String> {
    let got = block_on(e.store().get("default", "Group", group))
        .expect("get")
        .expect("group");
    got.resource
        .get("members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|x| x["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Rows of the members table naming `value`, read straight from the file.
fn member_rows(path: &std::path::Path, value: &str) -> i64 {
    let c = rusqlite::Connection::open(path).expect("open");
    c.query_row(
        "SELECT COUNT(*) FROM members WHERE value_key = ?1",
        [value.to_lowercase()],
        |r| r.get(0),
    )
    .expect("count")
}

/// The audit's `kill -9`: the old engine deleted the user in one transaction and removed
/// it from its 20,000-member group in a later one; killed in between, the file has the user
/// gone and the membership kept, and the retried DELETE answered 404 and cleaned nothing.
/// Now the retried DELETE still answers 404 (the user is gone, RFC 7644 §3.6) but removes
/// the membership first.
#[test]
fn a_repeated_delete_cleans_what_a_crash_mid_cascade_left() {
    let (dir, path) = temp_db("crash-left");
    let (u, g) = {
        let e = engine(&path);
        let u = post(&e, "/Users", user("crash-victim"));
        let mut all: Vec<Value> = (0..20_000)
            .map(|i| json!({"value": format!("m{i}")}))
            .collect();
        all.insert(10_000, json!({"value": u}));
        let g = block_on(e.store().create(
            "default",
            "Group",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "big", "members": all}),
            vec![],
        ))
        .expect("group")
        .id;
        (u, g)
    };
    // The state the old code's first transaction committed: the user's rows gone, its
    // membership kept.
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        for table in ["resources", "attr_index", "unique_keys"] {
            c.execute(
                &format!("DELETE FROM {table} WHERE resource_type = 'User' AND id = ?1"),
                [&u],
            )
            .expect("simulate the crash");
        }
    }
    assert_eq!(member_rows(&path, &u), 1, "the crash left the membership");
    let e = engine(&path);
    let (status, _) = send(&e, Request::new(Method::Get, format!("/Users/{u}")));
    assert_eq!(status, 404);
    let version = block_on(e.store().get_head("default", "Group", &g))
        .expect("head")
        .expect("group")
        .version;
    let (status, body) = send(&e, Request::new(Method::Delete, format!("/Users/{u}")));
    assert_eq!(status, 404, "the user is gone: {body}");
    assert_eq!(
        member_rows(&path, &u),
        0,
        "the repeated DELETE removed the membership"
    );
    let left = members(&e, &g);
    assert_eq!(left.len(), 20_000, "the other members stay");
    assert!(!left.contains(&u));
    let head = block_on(e.store().get_head("default", "Group", &g))
        .expect("head")
        .expect("group");
    assert_eq!(
        head.version,
        version + 1,
        "the group changed: a new version"
    );
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One transaction: a statement failing half-way through the cascade (a trigger refuses
/// the update of a group's row once the user's row and a membership are deleted) rolls
/// back all of it — the user is still there and still a
/// member of both groups, at the same versions. The old engine had committed the user's
/// delete before touching any group.
#[test]
fn a_cascade_that_fails_half_way_changes_nothing() {
    let (dir, path) = temp_db("crash-atomic");
    let e = engine(&path);
    let u = post(&e, "/Users", user("atomic"));
    let other = post(&e, "/Users", user("other"));
    let group = |name: &str, ids: &[&str]| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
               "members": ids.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()})
    };
    let g1 = post(&e, "/Groups", group("one", &[&u]));
    let g2 = post(&e, "/Groups", group("two", &[&other, &u]));
    let versions = |e: &Engine<SqliteStore>| {
        [&g1, &g2].map(|g| {
            block_on(e.store().get("default", "Group", g))
                .expect("get")
                .expect("group")
                .version
        })
    };
    let before = versions(&e);
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        for g in [&g1, &g2] {
            // Fires once a membership of `u` is gone: mid-cascade, whichever group is first.
            c.execute_batch(&format!(
                "CREATE TRIGGER fail_{n} BEFORE UPDATE ON resources \
                 WHEN OLD.id = '{g}' AND (SELECT COUNT(*) FROM members WHERE value_key = '{u}') < 2 \
                 BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;",
                n = if g == &g1 { 1 } else { 2 },
            ))
            .expect("trigger");
        }
    }
    let (status, body) = send(&e, Request::new(Method::Delete, format!("/Users/{u}")));
    assert_eq!(status, 500, "the cascade failed: {body}");
    let (status, _) = send(&e, Request::new(Method::Get, format!("/Users/{u}")));
    assert_eq!(status, 200, "the user's delete was rolled back");
    assert_eq!(members(&e, &g1), [u.as_str()], "g1 unchanged");
    assert_eq!(members(&e, &g2), [other.clone(), u.clone()], "g2 unchanged");
    assert_eq!(versions(&e), before, "no version moved");
    assert_eq!(member_rows(&path, &u), 2);
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch("DROP TRIGGER fail_1; DROP TRIGGER fail_2;")
            .expect("drop");
    }
    let (status, body) = send(&e, Request::new(Method::Delete, format!("/Users/{u}")));
    assert_eq!(status, 204, "{body}");
    assert!(members(&e, &g1).is_empty());
    assert_eq!(members(&e, &g2), [other]);
    assert_eq!(versions(&e), before.map(|v| v + 1));
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}
