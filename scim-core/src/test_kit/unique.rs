//! Unique keys: a taken key is a conflict naming the attribute, kept across replace, freed
//! by replace and delete, per tenant and type, and won by exactly one of concurrent
//! creates.

use crate::{block_on, Store, StoreError, StoredResource};

use super::{key, user, T, USER};

fn conflict(attribute: &str) -> StoreError {
    StoreError::Conflict {
        attribute: attribute.to_owned(),
    }
}

pub(super) fn unique_keys<S: Store>(s: &S) {
    let a = block_on(s.create(T, USER, user("a"), vec![key("userName", "a")])).expect("create");
    assert_eq!(
        block_on(s.create(T, USER, user("a"), vec![key("userName", "a")])).map(|r| r.id),
        Err(conflict("userName")),
        "a taken key"
    );
    // Keeping one's own key is no conflict.
    let a = block_on(s.replace(T, USER, &a.id, 1, user("a"), vec![key("userName", "a")]))
        .expect("replace keeping the key");
    // Replacing frees the old key and takes the new one.
    let a = block_on(s.replace(T, USER, &a.id, 2, user("a2"), vec![key("userName", "a2")]))
        .expect("replace with a new key");
    let b = block_on(s.create(T, USER, user("a"), vec![key("userName", "a")]))
        .expect("the old key is free after replace");
    assert_eq!(
        block_on(s.replace(T, USER, &b.id, 1, user("a2"), vec![key("userName", "a2")]))
            .map(|r| r.id),
        Err(conflict("userName")),
        "replace onto a taken key"
    );
    assert_eq!(
        block_on(s.get(T, USER, &b.id))
            .expect("get")
            .map(|r| r.version),
        Some(1),
        "a refused replace changes nothing"
    );
    // Several keys: the taken one is named.
    assert_eq!(
        block_on(s.create(
            T,
            USER,
            user("c"),
            vec![
                key("userName", "c"),
                key("externalId", "x"),
                key("userName", "a2")
            ]
        ))
        .map(|r| r.id),
        Err(conflict("userName"))
    );
    block_on(s.create(T, USER, user("c"), vec![key("userName", "c")]))
        .expect("a refused create took no key");
    block_on(s.delete(T, USER, &a.id, None)).expect("delete");
    block_on(s.create(T, USER, user("a2"), vec![key("userName", "a2")]))
        .expect("the key is free after delete");
    // Keys are per tenant and per type.
    block_on(s.create("other", USER, user("a"), vec![key("userName", "a")]))
        .expect("another tenant");
    block_on(s.create(T, "Group", user("a"), vec![key("userName", "a")])).expect("another type");
}

pub(super) fn concurrent_unique_creates<S: Store>(s: &S) {
    let results: Vec<Result<StoredResource, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    block_on(s.create(T, USER, user("race"), vec![key("userName", "race")]))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "exactly one create wins a unique key");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r, &conflict("userName"));
    }
}
