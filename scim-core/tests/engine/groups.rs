//! Group semantics: members exist, display and User.groups derived at read time,
//! Group-Overhead-Bypass, deleting a user removes it from its groups.

use scim_core::{Config, Engine, MemoryStore, Method};
use serde_json::json;

use super::{ctx, engine, req, send, BASE};

fn user(e: &Engine<MemoryStore>, name: &str, display: &str) -> String {
    let (s, body, _) = send(e, &ctx(), req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "displayName": display})));
    assert_eq!(s, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn group_body(members: &[&str]) -> serde_json::Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides",
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()})
}

#[test]
fn members_must_exist_unless_bypassed() {
    let e = engine();
    let u1 = user(&e, "babs", "Babs Jensen");
    let (s, body, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups").with_json(&group_body(&[&u1, "nope"])),
    );
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue");
    assert!(body["detail"].as_str().unwrap().contains("nope"));
    for bypass in [
        req(Method::Post, "/Groups").with_header("Group-Overhead-Bypass", "true"),
        req(Method::Post, "/Groups").with_query("Group-Overhead-Bypass", "1"),
    ] {
        let (s, body, _) = send(&e, &ctx(), bypass.with_json(&group_body(&[&u1, "nope"])));
        assert_eq!(s, 201, "{body}");
    }
}

#[test]
fn display_and_groups_are_derived_at_read_time() {
    let e = engine();
    let u1 = user(&e, "babs", "Babs Jensen");
    let u2 = user(&e, "mandy", "Mandy Pepperidge");
    let (s, group, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups").with_json(&group_body(&[&u1, &u2])),
    );
    assert_eq!(s, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(
        group["members"][0],
        json!({"value": u1, "display": "Babs Jensen", "type": "User",
            "$ref": format!("{BASE}/Users/{u1}")})
    );
    assert_eq!(group["members"][1]["display"], "Mandy Pepperidge");
    // Not stored: renaming the user shows up in the group.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "Barbara Jensen"}]});
    let (s, _, _) = send(
        &e,
        &ctx(),
        req(Method::Patch, &format!("/Users/{u1}")).with_json(&patch),
    );
    assert_eq!(s, 200);
    let (_, g, _) = send(&e, &ctx(), req(Method::Get, &format!("/Groups/{gid}")));
    assert_eq!(g["members"][0]["display"], "Barbara Jensen");
    // Excluded, or bypassed: no display.
    for r in [
        req(Method::Get, &format!("/Groups/{gid}"))
            .with_query("excludedAttributes", "members.display"),
        req(Method::Get, &format!("/Groups/{gid}")).with_query("attributes", "members.value"),
        req(Method::Get, &format!("/Groups/{gid}")).with_header("Group-Overhead-Bypass", "true"),
    ] {
        let (_, g, _) = send(&e, &ctx(), r);
        assert!(
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m.get("display").is_none()),
            "{g}"
        );
    }
    // In a list too.
    let (_, list, _) = send(
        &e,
        &ctx(),
        req(Method::Get, "/Groups").with_query("filter", "displayName eq \"Tour Guides\""),
    );
    assert_eq!(
        list["Resources"][0]["members"][1]["display"],
        "Mandy Pepperidge"
    );
    // User.groups.
    let (_, u, _) = send(&e, &ctx(), req(Method::Get, &format!("/Users/{u1}")));
    assert_eq!(
        u["groups"],
        json!([{"value": gid, "$ref": format!("{BASE}/Groups/{gid}"), "display": "Tour Guides", "type": "direct"}])
    );
    let (_, users, _) = send(
        &e,
        &ctx(),
        req(Method::Get, "/Users").with_query("sortBy", "userName"),
    );
    assert_eq!(users["Resources"][0]["groups"][0]["value"], gid);
    assert_eq!(users["Resources"][1]["groups"][0]["value"], gid);
}

#[test]
fn patching_members_and_deleting_users() {
    let e = engine();
    let u1 = user(&e, "babs", "Babs");
    let u2 = user(&e, "mandy", "Mandy");
    let u3 = user(&e, "jim", "Jim");
    let (_, group, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups").with_json(&group_body(&[&u1, &u2])),
    );
    let gid = group["id"].as_str().unwrap().to_owned();
    let add = |v: &str| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": v}]}]});
    let (s, body, _) = send(
        &e,
        &ctx(),
        req(Method::Patch, &format!("/Groups/{gid}")).with_json(&add("ghost")),
    );
    assert_eq!(s, 400, "{body}");
    let (s, body, _) = send(
        &e,
        &ctx(),
        req(Method::Patch, &format!("/Groups/{gid}")).with_json(&add(&u3)),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["members"].as_array().unwrap().len(), 3);
    // Deleting a user removes it from its groups.
    let (s, _, _) = send(&e, &ctx(), req(Method::Delete, &format!("/Users/{u1}")));
    assert_eq!(s, 204);
    let (_, g, _) = send(&e, &ctx(), req(Method::Get, &format!("/Groups/{gid}")));
    let values: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, [u2.as_str(), u3.as_str()]);
}

#[test]
fn entra_shaped_member_patch() {
    let registry = scim_schema::Registry::standard();
    let e = Engine::new(
        registry,
        MemoryStore::new(),
        Config::new(BASE).patch_options(scim_patch::PatchOptions::entra_id()),
    );
    let u1 = user(&e, "babs", "Babs");
    let u2 = user(&e, "mandy", "Mandy");
    let (_, group, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups").with_json(&group_body(&[&u1, &u2])),
    );
    let gid = group["id"].as_str().unwrap().to_owned();
    let (s, body, _) = send(
        &e,
        &ctx(),
        req(Method::Patch, &format!("/Groups/{gid}")).with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": u1}]},
                       {"op": "Replace", "path": "displayName", "value": "Guides"}]})),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["displayName"], "Guides");
    assert_eq!(body["members"].as_array().unwrap().len(), 1);
    assert_eq!(body["members"][0]["value"], u2);
}

/// Counts store queries, to show which requests look members up.
struct Counting(MemoryStore, std::sync::atomic::AtomicUsize);

impl scim_core::Store for Counting {
    fn get(
        &self,
        t: &str,
        rt: &str,
        id: &str,
    ) -> impl std::future::Future<
        Output = Result<Option<scim_core::StoredResource>, scim_core::StoreError>,
    > + Send {
        self.0.get(t, rt, id)
    }
    fn create(
        &self,
        t: &str,
        rt: &str,
        r: serde_json::Value,
        u: Vec<scim_core::UniqueKey>,
    ) -> impl std::future::Future<Output = Result<scim_core::StoredResource, scim_core::StoreError>> + Send
    {
        self.0.create(t, rt, r, u)
    }
    fn replace(
        &self,
        t: &str,
        rt: &str,
        id: &str,
        v: u64,
        r: serde_json::Value,
        u: Vec<scim_core::UniqueKey>,
    ) -> impl std::future::Future<Output = Result<scim_core::StoredResource, scim_core::StoreError>> + Send
    {
        self.0.replace(t, rt, id, v, r, u)
    }
    fn delete(
        &self,
        t: &str,
        rt: &str,
        id: &str,
        v: Option<u64>,
    ) -> impl std::future::Future<Output = Result<(), scim_core::StoreError>> + Send {
        self.0.delete(t, rt, id, v)
    }
    fn query(
        &self,
        t: &str,
        rt: &str,
        q: scim_core::Query<'_>,
    ) -> impl std::future::Future<Output = Result<scim_core::QueryResult, scim_core::StoreError>> + Send
    {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.query(t, rt, q)
    }
}

#[test]
fn member_lookups_one_query_and_none_when_not_needed() {
    let e = Engine::new(
        scim_schema::Registry::standard(),
        Counting(MemoryStore::new(), std::sync::atomic::AtomicUsize::new(0)),
        Config::new(BASE),
    );
    let users: Vec<String> = (0..50)
        .map(|i| {
            let (s, body, _) = send(&e, &ctx(), req(Method::Post, "/Users").with_json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}")})));
            assert_eq!(s, 201);
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let count = |e: &Engine<Counting>| e.store().1.swap(0, std::sync::atomic::Ordering::SeqCst);
    count(&e);
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let (s, group, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups")
            .with_query("excludedAttributes", "members.display")
            .with_json(&group_body(&refs)),
    );
    assert_eq!(s, 201, "{group}");
    assert_eq!(count(&e), 1, "50 members checked with one query");
    let gid = group["id"].as_str().unwrap().to_owned();
    let (_, _, _) = send(
        &e,
        &ctx(),
        req(Method::Get, &format!("/Groups/{gid}"))
            .with_query("excludedAttributes", "members.display"),
    );
    assert_eq!(count(&e), 0, "no member look-ups when display is excluded");
    let (_, _, _) = send(
        &e,
        &ctx(),
        req(Method::Get, &format!("/Groups/{gid}")).with_header("Group-Overhead-Bypass", "1"),
    );
    assert_eq!(count(&e), 0, "none when bypassed");
    let (_, g, _) = send(&e, &ctx(), req(Method::Get, &format!("/Groups/{gid}")));
    assert_eq!(g["members"][49]["display"], "u49");
    assert_eq!(count(&e), 2, "one query per member type for display");
}

#[test]
fn re_adding_a_member_with_another_display_does_not_duplicate_it() {
    // Okta's incremental membership PATCH re-adds a member already present, with a display
    // that differs from the stored one; the member is identified by its value.
    let e = engine();
    let u1 = user(&e, "babs", "Babs Jensen");
    let (_, g, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups").with_json(&group_body(&[&u1])),
    );
    let gid = g["id"].as_str().unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members",
            "value": [{"value": u1, "display": "babs@example.com"}]}]});
    let (s, body, _) = send(
        &e,
        &ctx(),
        req(Method::Patch, &format!("/Groups/{gid}")).with_json(&patch),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["members"].as_array().unwrap().len(), 1, "{body}");
    // A PUT listing the same member twice keeps it once.
    let mut put = group_body(&[&u1, &u1]);
    put["members"][1]["display"] = json!("other");
    let (s, body, _) = send(
        &e,
        &ctx(),
        req(Method::Put, &format!("/Groups/{gid}")).with_json(&put),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["members"].as_array().unwrap().len(), 1, "{body}");
}

#[test]
fn lenient_filters_read_entra_value_path_sub_attribute() {
    let text = r#"emails[type eq "work"].value eq "babs@example.com""#;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "babs",
        "emails": [{"type": "work", "value": "babs@example.com"}]});
    // Strict by default: invalidFilter.
    let strict = engine();
    send(
        &strict,
        &ctx(),
        req(Method::Post, "/Users").with_json(&body),
    );
    let (s, resp, _) = send(
        &strict,
        &ctx(),
        req(Method::Get, "/Users").with_query("filter", text),
    );
    assert_eq!(s, 400, "{resp}");
    assert_eq!(resp["scimType"], "invalidFilter");
    // With lenient filters: the work email matches.
    let registry = scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .unwrap();
    let lenient = Engine::new(
        registry,
        MemoryStore::new(),
        Config::new(BASE).lenient_filters(true),
    );
    send(
        &lenient,
        &ctx(),
        req(Method::Post, "/Users").with_json(&body),
    );
    let (s, resp, _) = send(
        &lenient,
        &ctx(),
        req(Method::Get, "/Users").with_query("filter", text),
    );
    assert_eq!(s, 200, "{resp}");
    assert_eq!(resp["totalResults"], 1, "{resp}");
    let (_, resp, _) = send(
        &lenient,
        &ctx(),
        req(Method::Get, "/Users").with_query(
            "filter",
            r#"emails[type eq "home"].value eq "babs@example.com""#,
        ),
    );
    assert_eq!(resp["totalResults"], 0, "{resp}");
}

/// A member's `type` is the server's (from the resource its `value` names), `$ref` is
/// computed for responses (`{base}/Users/{id}`, `{base}/Groups/{id}`), and neither a client's
/// `type` nor its `$ref` is stored. Under Group-Overhead-Bypass nothing is looked up: a new
/// member is stored without a `type`, and a later read without bypass shows the right one.
#[test]
fn member_type_and_ref_come_from_the_server() {
    let e = engine();
    let u1 = user(&e, "babs", "Babs Jensen");
    let (_, inner, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups").with_json(&group_body(&[])),
    );
    let inner = inner["id"].as_str().unwrap().to_owned();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Mixed", "members": [
            {"value": u1, "type": "Group", "$ref": "https://elsewhere.example/Users/x"},
            {"value": inner, "type": "User"},
            {"value": "ghost", "type": "User"}]});
    let (s, created, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups")
            .with_header("Group-Overhead-Bypass", "1")
            .with_json(&body),
    );
    assert_eq!(s, 201, "{created}");
    let gid = created["id"].as_str().unwrap().to_owned();
    let stored = scim_core::block_on(scim_core::Store::get(e.store(), "default", "Group", &gid))
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.resource["members"],
        json!([{"value": u1}, {"value": inner}, {"value": "ghost"}]),
        "bypassed: no unchecked type, no client $ref"
    );
    let (_, g, _) = send(&e, &ctx(), req(Method::Get, &format!("/Groups/{gid}")));
    assert_eq!(
        g["members"],
        json!([
            {"value": u1, "type": "User", "display": "Babs Jensen", "$ref": format!("{BASE}/Users/{u1}")},
            {"value": inner, "type": "Group", "display": "Tour Guides", "$ref": format!("{BASE}/Groups/{inner}")},
            {"value": "ghost"}]),
        "{g}"
    );
    // Projections: `$ref` is an ordinary sub-attribute of the response.
    let (_, g, _) = send(
        &e,
        &ctx(),
        req(Method::Get, &format!("/Groups/{gid}")).with_query("attributes", "members.value"),
    );
    assert_eq!(g["members"][0], json!({"value": u1}), "{g}");
    let (_, g, _) = send(
        &e,
        &ctx(),
        req(Method::Get, &format!("/Groups/{gid}"))
            .with_query("excludedAttributes", "members.$ref"),
    );
    assert!(g["members"][0].get("$ref").is_none(), "{g}");
    assert_eq!(g["members"][0]["display"], "Babs Jensen", "{g}");

    // Checked writes store the type found, whatever the client says.
    let (s, checked, _) = send(
        &e,
        &ctx(),
        req(Method::Post, "/Groups").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Typed",
            "members": [{"value": u1, "type": "Group"}, {"value": inner, "type": "User"}]})),
    );
    assert_eq!(s, 201, "{checked}");
    let cid = checked["id"].as_str().unwrap().to_owned();
    let stored = scim_core::block_on(scim_core::Store::get(e.store(), "default", "Group", &cid))
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.resource["members"],
        json!([{"value": u1, "type": "User"}, {"value": inner, "type": "Group"}])
    );
    // With bypass, a read computes `$ref` from the stored type, without look-ups.
    let (_, g, _) = send(
        &e,
        &ctx(),
        req(Method::Get, &format!("/Groups/{cid}")).with_header("Group-Overhead-Bypass", "1"),
    );
    assert_eq!(
        g["members"],
        json!([{"value": u1, "type": "User", "$ref": format!("{BASE}/Users/{u1}")},
               {"value": inner, "type": "Group", "$ref": format!("{BASE}/Groups/{inner}")}])
    );

    // A member's value and type are immutable (RFC 7643 §4.2): a filtered replace that
    // would change them is refused; one naming another member twice by case is malformed.
    for (ops, scim_type) in [
        (
            json!([{"op": "replace", "path": format!("members[value eq \"{u1}\"]"),
                    "value": {"value": inner}}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": format!("members[value eq \"{u1}\"]"),
                    "value": {"type": "Group"}}]),
            "mutability",
        ),
        (
            json!([{"op": "add", "path": "members", "value": [{"value": u1, "VALUE": inner}]}]),
            "invalidSyntax",
        ),
    ] {
        let (s, body, _) = send(
            &e,
            &ctx(),
            req(Method::Patch, &format!("/Groups/{cid}")).with_json(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})),
        );
        assert_eq!(s, 400, "{ops}: {body}");
        assert_eq!(body["scimType"], scim_type, "{ops}: {body}");
    }
    let after = scim_core::block_on(scim_core::Store::get(e.store(), "default", "Group", &cid))
        .unwrap()
        .unwrap();
    assert_eq!(
        after.version, stored.version,
        "refused PATCHes changed the group"
    );
}
