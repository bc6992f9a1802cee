//! Multi-valued attributes kept out of line (group members): element changes by key;
//! through the engine, members held once with their type.

use scim_schema::Registry;
use serde_json::{json, Value};

use crate::{block_on, ElementChange, Store, StoreError, StoredResource};

use super::{
    assert_get_put_round_trip, compile, engine_over, everything, group, member_values, patch_op,
    post_user, send, user, GROUP, T,
};

/// A store that keeps `members` of groups out of line ([`Store::out_of_line`]): the head
/// without them, element changes by key, versions as for any write, `get` and `query` with
/// the members in order. Skipped for stores that keep nothing out of line.
pub(super) fn out_of_line_elements<S: Store>(s: &S) {
    const GROUP: &str = "Group";
    let Some(attr) = s.out_of_line(GROUP).map(str::to_owned) else {
        return;
    };
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "g",
        attr.clone(): [{"value": "u1", "display": "One"}, {"value": "u2"}]});
    let created = block_on(s.create(T, GROUP, group, vec![])).expect("create group");
    let id = created.id.clone();
    let full = block_on(s.get(T, GROUP, &id))
        .expect("get")
        .expect("exists");
    assert_eq!(
        member_values(&full.resource, &attr),
        ["u1", "u2"],
        "get has the elements in order"
    );
    assert_eq!(
        full.resource[&attr][0]["display"], "One",
        "elements are kept whole"
    );
    let head = block_on(s.get_head(T, GROUP, &id))
        .expect("get_head")
        .expect("exists");
    assert!(
        head.resource.get(&attr).is_none(),
        "get_head leaves the elements out"
    );
    assert_eq!(head.version, 1);
    assert_eq!(head.resource["displayName"], "g");

    let patch = |version: u64, head: &Value, head_changed: bool, f: &dyn Fn(&mut ElementChange)| {
        let mut change = ElementChange::new(attr.clone());
        f(&mut change);
        block_on(s.patch_elements(
            T,
            GROUP,
            &id,
            version,
            head.clone(),
            head_changed,
            change,
            vec![],
        ))
    };
    let h = head.resource.clone();
    // Add one new and one present (in another case): only the new one counts.
    let done = patch(1, &h, false, &|c| {
        c.added = vec![
            json!({"value": "u3"}),
            json!({"value": "U1", "display": "dup"}),
        ];
    })
    .expect("add");
    assert!(
        done.changed && done.version == 2,
        "adding an element is a write: {done:?}"
    );
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["u1", "u2", "u3"]);
    assert_eq!(
        got.resource[&attr][0]["display"], "One",
        "a present value is not replaced"
    );
    assert_eq!(got.version, 2);

    // Nothing new: no write, the version stays.
    let done = patch(2, &h, false, &|c| c.added = vec![json!({"value": "u2"})]).expect("no-op");
    assert!(
        !done.changed && done.version == 2,
        "a no-op keeps the version: {done:?}"
    );
    let done = patch(2, &h, false, &|c| c.removed = vec!["absent".into()]).expect("no-op");
    assert!(!done.changed && done.version == 2);

    // A stale version is refused and changes nothing.
    assert_eq!(
        patch(1, &h, false, &|c| c.removed = vec!["u1".into()]),
        Err(StoreError::VersionMismatch)
    );
    assert_eq!(
        member_values(
            &block_on(s.get(T, GROUP, &id)).unwrap().unwrap().resource,
            &attr
        ),
        ["u1", "u2", "u3"]
    );

    // Remove (case-insensitively, as `value eq` compares), then re-add: at the end.
    let done = patch(2, &h, false, &|c| {
        c.removed = vec!["U1".into()];
        c.added = vec![json!({"value": "u1"})];
    })
    .expect("remove and re-add");
    assert_eq!(done.version, 3);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["u2", "u3", "u1"]);

    // The head alone changes: written, with the elements kept.
    let mut renamed = h.clone();
    renamed["displayName"] = json!("renamed");
    let done = patch(3, &renamed, true, &|_| {}).expect("head change");
    assert!(done.changed && done.version == 4);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(got.resource["displayName"], "renamed");
    assert_eq!(member_values(&got.resource, &attr), ["u2", "u3", "u1"]);

    // Clear, then add.
    let done = patch(4, &renamed, false, &|c| {
        c.clear = true;
        c.added = vec![json!({"value": "u9"})];
    })
    .expect("clear");
    assert_eq!(done.version, 5);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["u9"]);

    // Which groups hold u9: a filter on the out-of-line elements.
    let registry = Registry::standard();
    let compiled = compile(r#"members.value eq "u9""#, &registry, GROUP);
    let mut q = everything();
    q.filter = Some(&compiled);
    let found = block_on(s.query(T, GROUP, q)).expect("query");
    let hits: Vec<&StoredResource> = found
        .resources
        .iter()
        .filter(|r| compiled.matches(&r.resource))
        .collect();
    assert_eq!(hits.len(), 1, "the group holding u9 is found by its member");
    assert_eq!(
        member_values(&hits[0].resource, &attr),
        ["u9"],
        "query results have their elements"
    );

    // A full replace rewrites the elements; delete removes everything.
    let replaced = block_on(s.replace(
        T,
        GROUP,
        &id,
        5,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id,
               "displayName": "r", attr.clone(): [{"value": "a"}, {"value": "b"}]}),
        vec![],
    ))
    .expect("replace");
    assert_eq!(replaced.version, 6);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["a", "b"]);
    block_on(s.delete(T, GROUP, &id, None)).expect("delete");
    assert_eq!(
        patch(6, &h, false, &|c| c.added = vec![json!({"value": "x"})]),
        Err(StoreError::NotFound)
    );
    let found = block_on(s.query(T, GROUP, q)).expect("query");
    assert!(
        found.resources.is_empty(),
        "a deleted group's elements are gone"
    );
}

/// Through the engine, a group holds each member once, with the `type` of the resource its
/// `value` names (set by the server: a client's `type` is not trusted) and no stored `$ref`
/// (computed for responses: `{base}/Users/{id}`, `{base}/Groups/{id}`) — whether members
/// come by POST, PUT, PATCH add or Bulk; the GET body of the group is a valid PUT body.
pub(super) fn engine_members_once_with_their_type<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let base = "https://example.com/scim/v2";
    let new_user = |name: &str| {
        let (status, body) = post_user(&e, user(name));
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    };
    let u1 = new_user("typed-1");
    let u2 = new_user("typed-2");
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Groups").with_json(&group("typed-inner", &[])),
    );
    assert_eq!(status, 201, "{body}");
    let inner = body["id"].as_str().expect("id").to_owned();
    let group_with = |name: &str, members: Value| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": name, "members": members})
    };
    // What the store holds, and what a response shows, for a group.
    let check = |id: &str, expected: &[(&str, &str)], context: &str| {
        let stored = block_on(e.store().get("default", GROUP, id))
            .expect("get")
            .expect("group")
            .resource;
        let want: Vec<Value> = expected
            .iter()
            .map(|(v, t)| json!({"value": v, "type": t}))
            .collect();
        assert_eq!(
            stored["members"],
            Value::Array(want),
            "{context}: stored members"
        );
        let (status, shown) = send(&e, Request::new(Method::Get, format!("/Groups/{id}")));
        assert_eq!(status, 200, "{context}: {shown}");
        let refs: Vec<Value> = shown["members"]
            .as_array()
            .map(|m| m.iter().map(|x| x["$ref"].clone()).collect())
            .unwrap_or_default();
        let want: Vec<Value> = expected
            .iter()
            .map(|(v, t)| json!(format!("{base}/{t}s/{v}")))
            .collect();
        assert_eq!(refs, want, "{context}: $ref shown: {shown}");
        assert_get_put_round_trip(&e, &format!("/Groups/{id}"), context);
    };

    // POST: a wrong type, a repeat, a client `$ref`.
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Groups").with_json(&group_with(
            "typed",
            json!([{"value": u1, "type": "Group", "$ref": "https://elsewhere.example/x"},
                   {"value": u1},
                   {"value": inner, "type": "User"},
                   {"value": u1, "type": "User", "display": "again"}]),
        )),
    );
    assert_eq!(status, 201, "{body}");
    let g = body["id"].as_str().expect("id").to_owned();
    check(&g, &[(&u1, "User"), (&inner, "Group")], "POST");

    // PATCH add: a member again under another type, a new one with a wrong type.
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": u1, "type": "Group"}]}]),
        json!([{"op": "add", "path": "members", "value": [{"value": u2, "type": "Group"},
                                                           {"value": u2, "type": "User"}]},
               {"op": "add", "value": {"members": [{"value": inner, "type": "User"}]}}]),
    ] {
        let (status, body) = send(
            &e,
            Request::new(Method::Patch, format!("/Groups/{g}")).with_json(&patch_op(ops)),
        );
        assert_eq!(status, 200, "PATCH: {body}");
    }
    check(
        &g,
        &[(&u1, "User"), (&inner, "Group"), (&u2, "User")],
        "PATCH add",
    );
    // `members.value` is not caseExact: a member spelt in another case is there already,
    // even where nothing is looked up.
    let (status, body) = send(
        &e,
        Request::new(Method::Patch, format!("/Groups/{g}"))
            .with_header(crate::OVERHEAD_BYPASS, "1")
            .with_json(&patch_op(json!([{"op": "add", "path": "members",
                "value": [{"value": u1.to_uppercase()}]}]))),
    );
    assert_eq!(status, 200, "PATCH: {body}");
    check(
        &g,
        &[(&u1, "User"), (&inner, "Group"), (&u2, "User")],
        "PATCH add in another case",
    );

    // PUT: repeats and wrong types, for members kept and members added.
    let (status, body) = send(
        &e,
        Request::new(Method::Put, format!("/Groups/{g}")).with_json(&group_with(
            "typed",
            json!([{"value": u2, "type": "Group"}, {"value": u2},
                   {"value": u1, "type": "Group", "$ref": "https://elsewhere.example/y"}]),
        )),
    );
    assert_eq!(status, 200, "PUT: {body}");
    check(&g, &[(&u2, "User"), (&u1, "User")], "PUT");

    // Bulk: a POST with repeats, then a PATCH adding a member it has.
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Bulk").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": group_with("typed-bulk", json!([{"value": u1, "type": "Group"},
                                                     {"value": u1, "type": "User"}]))},
            {"method": "PATCH", "path": "/Groups/bulkId:g",
             "data": patch_op(json!([{"op": "add", "path": "members",
                 "value": [{"value": u1, "type": "Group"}, {"value": inner}]}]))}
        ]})),
    );
    assert_eq!(status, 200, "Bulk: {body}");
    let location = body["Operations"][0]["location"].as_str().unwrap_or("");
    let bulk = location.rsplit('/').next().unwrap_or("").to_owned();
    assert!(!bulk.is_empty(), "Bulk: {body}");
    assert_eq!(body["Operations"][1]["status"], "200", "Bulk: {body}");
    check(&bulk, &[(&u1, "User"), (&inner, "Group")], "Bulk");
}
