//! The texts a store hands over ([`StoredResource::text`]): each is exactly what
//! `serde_json` writes for the resource it stands for, and the reads for responses
//! ([`Store::get_text`], [`Store::query_text`]) answer what `get` and `query` answer.

use std::collections::BTreeMap;

use scim_schema::Registry;
use serde_json::{json, Value};

use super::filters::FILTERS;
use super::{compile, everything, T, USER};
use crate::{block_on, Query, Referrer, Store, StoredResource};

/// `stored`'s text, when it has one, is its resource's (or, for a text-only answer, some
/// resource's); the resource it stands for.
fn resource_of(stored: &StoredResource, context: &str) -> Value {
    match (&stored.text, stored.is_text_only()) {
        (Some(text), true) => serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{context}: the text of {} is not JSON: {e}", stored.id)),
        (Some(text), false) => {
            let written = serde_json::to_string(&stored.resource).expect("serialise");
            assert_eq!(
                **text, written,
                "{context}: the text of {} is not its resource's",
                stored.id
            );
            stored.resource.clone()
        }
        (None, _) => stored.resource.clone(),
    }
}

/// Writes give texts true to their resources; reads for responses agree with `get`,
/// `get_with_references` and `query` over the filter fixture (`ids`).
pub(super) fn texts_agree_with_resources<S: Store>(s: &S, ids: &[String]) {
    // A write's answer.
    let created = block_on(s.create(
        T,
        USER,
        json!({"userName": "texts", "title": "Tour \"Guide\"\n", "x-n": 1.5e300}),
        vec![],
    ))
    .expect("create");
    resource_of(&created, "create");
    let replaced = block_on(s.replace(
        T,
        USER,
        &created.id,
        created.version,
        json!({"id": created.id, "userName": "texts", "title": "é"}),
        vec![],
    ))
    .expect("replace");
    resource_of(&replaced, "replace");
    // A group, whose members a store may keep out of line.
    let members: Vec<Value> = ids.iter().take(2).map(|id| json!({"value": id})).collect();
    let group = block_on(s.create(
        T,
        "Group",
        json!({"displayName": "texts", "members": members}),
        vec![],
    ))
    .expect("create a group");
    resource_of(&group, "create a group");
    let group_got = block_on(s.get(T, "Group", &group.id))
        .expect("get")
        .expect("found");
    let (group_text, _) = block_on(s.get_text(T, "Group", &group.id, None))
        .expect("get_text")
        .expect("found");
    assert_eq!(
        resource_of(&group_text, "get_text of a group"),
        resource_of(&group_got, "get of a group")
    );

    let groups = Referrer::new("Group", "members");
    for id in ids.iter().chain(std::iter::once(&created.id)) {
        let got = block_on(s.get(T, USER, id)).expect("get").expect("found");
        let expected = resource_of(&got, "get");
        let (plain, none) = block_on(s.get_text(T, USER, id, None))
            .expect("get_text")
            .expect("found by get_text");
        assert_eq!(none, None, "get_text without a referrer: no references");
        assert_eq!((&plain.id, plain.version), (&got.id, got.version));
        assert_eq!(
            resource_of(&plain, "get_text"),
            expected,
            "get_text of {id}"
        );
        let (referred, references) = block_on(s.get_text(T, USER, id, Some(&groups)))
            .expect("get_text")
            .expect("found by get_text");
        assert_eq!(resource_of(&referred, "get_text"), expected);
        let (_, known) = block_on(s.get_with_references(T, USER, id, &groups))
            .expect("get_with_references")
            .expect("found");
        assert_eq!(references, known, "get_text's references of {id}");
    }
    assert!(
        block_on(s.get_text(T, USER, "no-such-id", None))
            .expect("get_text")
            .is_none(),
        "get_text of an unknown id"
    );

    let registry = Registry::standard();
    for text in FILTERS {
        let compiled = compile(text, &registry, USER);
        let query = Query {
            filter: Some(&compiled),
            ..everything()
        };
        let plain = block_on(s.query(T, USER, query)).unwrap_or_else(|e| panic!("{text}: {e}"));
        let texts =
            block_on(s.query_text(T, USER, query)).unwrap_or_else(|e| panic!("{text}: {e}"));
        let by_id = |r: &crate::QueryResult, what: &str| -> BTreeMap<String, (u64, Value)> {
            r.resources
                .iter()
                .map(|x| (x.id.clone(), (x.version, resource_of(x, what))))
                .collect()
        };
        // What the store filtered is compared as is; what it did not, as the engine reads it.
        let mut a = by_id(&plain, "query");
        let mut b = by_id(&texts, "query_text");
        if !plain.filtered {
            a.retain(|_, (_, r)| compiled.matches(r));
        }
        if !texts.filtered {
            b.retain(|_, (_, r)| compiled.matches(r));
        }
        assert_eq!(a, b, "{text}: query_text differs from query");
        for r in texts.resources.iter().filter(|r| r.is_text_only()) {
            assert!(
                texts.filtered,
                "{text}: texts only for results the store did not filter ({})",
                r.id
            );
        }
    }
}
