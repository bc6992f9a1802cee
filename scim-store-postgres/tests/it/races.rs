//! Two stores on one schema, each with its own pool and runtime, as two `scim serve`
//! replicas on one database: the database, not a lock in a process, keeps them consistent.

use std::sync::Barrier;

use scim_core::{
    block_on, Cascade, ElementChange, ReferenceCheck, Referrer, Store, StoreError, UniqueKey,
};
use scim_store_postgres::PostgresStore;
use scim_test_support::postgres::TestSchema;
use serde_json::{json, Value};

use super::store_in;

const T: &str = "t";

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

fn members_of(store: &PostgresStore, group: &str) -> Vec<String> {
    let g = block_on(store.get(T, "Group", group)).unwrap().unwrap();
    g.resource["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|e| e["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Adds `member` to `group` through `store` with the check inside the write, retrying a
/// stale version as the engine does: whether the member was added.
fn add_member(store: &PostgresStore, group: &str, member: &str) -> bool {
    loop {
        let head = block_on(store.get_head(T, "Group", group))
            .unwrap()
            .unwrap();
        let mut change = ElementChange::new("members");
        change.added = vec![json!({"value": member, "type": "User"})];
        let check = ReferenceCheck::new("members", ["User", "Group"], [member]);
        match block_on(store.patch_elements_checked(
            T,
            "Group",
            group,
            head.version,
            head.resource,
            false,
            change,
            vec![],
            Some(check),
        )) {
            Ok(done) => return done.changed,
            Err(StoreError::VersionMismatch) => continue,
            Err(StoreError::MissingReference { .. }) => return false,
            Err(e) => panic!("add {member}: {e}"),
        }
    }
}

/// 200 races of "delete user U" on one store against "add U to G" on the other, started
/// together: afterwards G holds no member that does not exist, whichever won each race.
#[test]
fn deletes_and_member_adds_on_two_pools_leave_no_dangling_member() {
    const RACES: usize = 200;
    let Some(schema) = TestSchema::new("races_delete_add") else {
        return;
    };
    let (a, b) = (store_in(&schema), store_in(&schema));
    let group = block_on(a.create(
        T,
        "Group",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "raced"}),
        vec![],
    ))
    .unwrap()
    .id;
    let mut added = 0;
    for i in 0..RACES {
        let u = block_on(a.create(T, "User", user(&format!("race-{i}")), vec![]))
            .unwrap()
            .id;
        let barrier = Barrier::new(2);
        let (deleted, was_added) = std::thread::scope(|scope| {
            let delete = scope.spawn(|| {
                barrier.wait();
                let cascade = Cascade::new(
                    vec![Referrer::new("Group", "members")],
                    "2030-01-01T00:00:00.000Z",
                );
                block_on(a.delete_cascade(T, "User", &u, None, cascade))
            });
            let add = scope.spawn(|| {
                barrier.wait();
                add_member(&b, &group, &u)
            });
            (delete.join().unwrap(), add.join().unwrap())
        });
        assert!(deleted.unwrap().deleted, "race {i}: the delete");
        added += usize::from(was_added);
    }
    let dangling = members_of(&a, &group);
    assert!(
        dangling.is_empty(),
        "{} of {RACES} races left a deleted user in the group ({added} adds won)",
        dangling.len()
    );
}

/// Eight writers on two pools replace one user with the same expected version (the same
/// `If-Match`): exactly one wins, the others are told the version moved, and the winner's
/// write is the one stored (no lost update).
#[test]
fn concurrent_if_match_replaces_on_two_pools_have_one_winner() {
    let Some(schema) = TestSchema::new("races_if_match") else {
        return;
    };
    let (a, b) = (store_in(&schema), store_in(&schema));
    let id = block_on(a.create(T, "User", user("target"), vec![]))
        .unwrap()
        .id;
    let barrier = Barrier::new(8);
    let outcomes: Vec<Result<String, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (store, barrier, id) = (if i % 2 == 0 { &a } else { &b }, &barrier, &id);
                scope.spawn(move || {
                    barrier.wait();
                    let mut next = user("target");
                    next["displayName"] = json!(format!("writer {i}"));
                    block_on(store.replace(T, "User", id, 1, next, vec![]))
                        .map(|s| s.resource["displayName"].as_str().unwrap().to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| o.is_ok() || o == &Err(StoreError::VersionMismatch)));
    let stored = block_on(b.get(T, "User", &id)).unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored.resource["displayName"].as_str(),
        Some(winners[0].as_str())
    );
}

/// Eight creates of one userName on two pools: the database's unique key lets one in and
/// refuses the others with a conflict on `userName`.
#[test]
fn concurrent_creates_of_one_user_name_on_two_pools_have_one_winner() {
    let Some(schema) = TestSchema::new("races_unique") else {
        return;
    };
    let (a, b) = (store_in(&schema), store_in(&schema));
    let barrier = Barrier::new(8);
    let outcomes: Vec<Result<String, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (store, barrier) = (if i % 2 == 0 { &a } else { &b }, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let key = UniqueKey::normalised("userName", "Same", false);
                    block_on(store.create(T, "User", user(&format!("same{i}")), vec![key]))
                        .map(|s| s.id)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    let conflict = Err(StoreError::Conflict {
        attribute: "userName".into(),
    });
    assert!(
        outcomes.iter().all(|o| o.is_ok() || *o == conflict),
        "{outcomes:?}"
    );
}
