//! Create, read, replace and delete with versions (ETags); what is gone answers not found;
//! tenants and resource types never see each other; concurrent writers lose no update.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::{block_on, Store, StoreError};

use super::{everything, ids, user, T, USER};

pub(super) fn crud_and_versions<S: Store>(s: &S) {
    let created = block_on(s.create(T, USER, user("alice"), vec![])).expect("create");
    assert_eq!(created.version, 1, "create gives version 1");
    assert!(!created.id.is_empty(), "create assigns an id");
    assert_eq!(
        created.resource.get("id"),
        Some(&Value::String(created.id.clone())),
        "create sets `id` in the JSON"
    );
    let got = block_on(s.get(T, USER, &created.id)).expect("get");
    assert_eq!(
        got.as_ref(),
        Some(&created),
        "get returns what create stored"
    );

    let other = block_on(s.create(T, USER, user("bob"), vec![])).expect("create");
    assert_ne!(other.id, created.id, "ids are distinct");

    let mut changed = created.resource.clone();
    changed["displayName"] = json!("Alice");
    assert_eq!(
        block_on(s.replace(T, USER, &created.id, 7, changed.clone(), vec![])),
        Err(StoreError::VersionMismatch),
        "replace with a wrong version"
    );
    let replaced =
        block_on(s.replace(T, USER, &created.id, 1, changed.clone(), vec![])).expect("replace");
    assert_eq!(replaced.version, 2, "replace increments the version");
    let got = block_on(s.get(T, USER, &created.id))
        .expect("get")
        .expect("present");
    assert_eq!(
        (got.version, &got.resource),
        (2, &changed),
        "get after replace"
    );
    assert_eq!(
        block_on(s.replace(T, USER, &created.id, 1, changed.clone(), vec![])),
        Err(StoreError::VersionMismatch),
        "replace with the old version"
    );

    assert_eq!(
        block_on(s.delete(T, USER, &created.id, Some(1))),
        Err(StoreError::VersionMismatch),
        "delete with a wrong version"
    );
    block_on(s.delete(T, USER, &created.id, Some(2))).expect("delete with the version");
    assert_eq!(block_on(s.get(T, USER, &created.id)).expect("get"), None);
    block_on(s.delete(T, USER, &other.id, None)).expect("delete without a version");
    assert_eq!(block_on(s.get(T, USER, &other.id)).expect("get"), None);
}

pub(super) fn not_found<S: Store>(s: &S) {
    assert_eq!(block_on(s.get(T, USER, "nope")).expect("get"), None);
    assert_eq!(
        block_on(s.replace(T, USER, "nope", 1, user("x"), vec![])),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        block_on(s.delete(T, USER, "nope", None)),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        block_on(s.delete(T, USER, "nope", Some(1))),
        Err(StoreError::NotFound)
    );
    let r = block_on(s.create(T, USER, user("gone"), vec![])).expect("create");
    block_on(s.delete(T, USER, &r.id, None)).expect("delete");
    assert_eq!(
        block_on(s.delete(T, USER, &r.id, None)),
        Err(StoreError::NotFound),
        "delete twice"
    );
    assert_eq!(
        block_on(s.replace(T, USER, &r.id, 1, user("gone"), vec![])),
        Err(StoreError::NotFound),
        "replace after delete"
    );
}

pub(super) fn tenants_and_types_are_isolated<S: Store>(s: &S) {
    let a = block_on(s.create("a", USER, user("x"), vec![])).expect("create");
    let b = block_on(s.create("b", USER, user("x"), vec![])).expect("create");
    let g = block_on(s.create("a", "Group", json!({"displayName": "x"}), vec![])).expect("create");
    assert_eq!(block_on(s.get("b", USER, &a.id)).expect("get"), None);
    assert_eq!(block_on(s.get("a", "Group", &a.id)).expect("get"), None);
    assert_eq!(
        block_on(s.delete("b", USER, &a.id, None)),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        block_on(s.replace("b", USER, &a.id, 1, user("y"), vec![])),
        Err(StoreError::NotFound)
    );
    let in_a = block_on(s.query("a", USER, everything())).expect("query");
    assert_eq!(ids(&in_a), BTreeSet::from([a.id.clone()]));
    let in_b = block_on(s.query("b", USER, everything())).expect("query");
    assert_eq!(ids(&in_b), BTreeSet::from([b.id.clone()]));
    let groups = block_on(s.query("a", "Group", everything())).expect("query");
    assert_eq!(ids(&groups), BTreeSet::from([g.id]));
    let none = block_on(s.query("c", USER, everything())).expect("query");
    assert!(none.resources.is_empty());
}

pub(super) fn concurrent_writers<S: Store>(s: &S) {
    const THREADS: u64 = 4;
    const EACH: u64 = 25;
    let r = block_on(s.create(T, USER, json!({"userName": "counter", "n": 0}), vec![]))
        .expect("create");
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..EACH {
                    loop {
                        let cur = block_on(s.get(T, USER, &r.id))
                            .expect("get")
                            .expect("present");
                        let mut next = cur.resource.clone();
                        next["n"] = json!(next["n"].as_u64().unwrap_or(0) + 1);
                        match block_on(s.replace(T, USER, &r.id, cur.version, next, vec![])) {
                            Ok(_) => break,
                            Err(StoreError::VersionMismatch) => continue,
                            Err(e) => panic!("concurrent replace: {e}"),
                        }
                    }
                }
            });
        }
    });
    let end = block_on(s.get(T, USER, &r.id))
        .expect("get")
        .expect("present");
    assert_eq!(end.version, 1 + THREADS * EACH, "no lost update (version)");
    assert_eq!(
        end.resource["n"],
        json!(THREADS * EACH),
        "no lost update (value)"
    );
}
