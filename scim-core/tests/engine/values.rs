//! Values and projection through `Engine::handle`: xsd:dateTime (RFC 7643 §2.3.5), empty
//! strings for required attributes (§2.5), no empty values from `attributes` (RFC 7644 §3.9).

use scim_core::Method;
use serde_json::{json, Value};

use super::{ctx, engine, req, send};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GLUU: &str = "urn:ietf:params:scim:schemas:extension:gluu:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn create(e: &scim_core::Engine<scim_core::MemoryStore>, body: Value) -> Value {
    let (s, body, _) = send(e, &ctx(), req(Method::Post, "/Users").with_json(&body));
    assert_eq!(s, 201, "{body}");
    body
}

fn refused(status: u16, body: &Value, attribute: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue", "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(attribute), "{body}");
}

#[test]
fn datetimes_must_be_xsd() {
    let e = engine();
    let c = ctx();
    for when in [
        "2016-02-23 15:35:22Z",
        "2016-02-23t15:35:22Z",
        "2016-02-23T15:35:22z",
    ] {
        let (s, body, _) = send(
            &e,
            &c,
            req(Method::Post, "/Users").with_json(&json!({
            "schemas": [USER, GLUU], "userName": "bjensen", GLUU: {"customAttr2": [when]}})),
        );
        refused(s, &body, "customAttr2");
        assert!(!body.to_string().contains("2016-02-23"), "{body}");
    }
    let user = create(
        &e,
        json!({"schemas": [USER, GLUU], "userName": "bjensen",
        "title": "2016-02-23T15:35:22Z", GLUU: {"customAttr2": ["2016-02-23T15:35:22Z"]}}),
    );
    let id = user["id"].as_str().unwrap();
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Patch, &format!("/Users/{id}")).with_json(&json!({
        "schemas": [PATCH], "Operations": [{"op": "add", "path": format!("{GLUU}:customAttr2"),
            "value": ["2016-02-24 15:35:22Z"]}]})),
    );
    refused(s, &body, "customAttr2");
    // In a filter, such a literal is text: against a string attribute it no longer equals
    // the instant it would name, and a dateTime attribute refuses it.
    let list = |filter: &str| {
        send(
            &e,
            &c,
            req(Method::Get, "/Users").with_query("filter", filter),
        )
    };
    let (s, body, _) = list(r#"title eq "2016-02-23T15:35:22.000Z""#);
    assert_eq!((s, body["totalResults"].as_u64()), (200, Some(1)), "{body}");
    let (s, body, _) = list(r#"title eq "2016-02-23 15:35:22Z""#);
    assert_eq!((s, body["totalResults"].as_u64()), (200, Some(0)), "{body}");
    let (s, body, _) = list(r#"meta.lastModified gt "2016-02-23 15:35:22Z""#);
    assert_eq!(
        (s, body["scimType"].as_str()),
        (400, Some("invalidFilter")),
        "{body}"
    );
}

#[test]
fn required_strings_refuse_the_empty_string() {
    let e = engine();
    let c = ctx();
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Post, "/Users").with_json(&json!({
        "schemas": [USER], "userName": ""})),
    );
    refused(s, &body, "userName");
    let user = create(&e, json!({"schemas": [USER], "userName": "bjensen"}));
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Put, &path).with_json(&json!({
        "schemas": [USER], "userName": ""})),
    );
    refused(s, &body, "userName");
    for op in [
        json!({"op": "replace", "path": "userName", "value": ""}),
        json!({"op": "replace", "value": {"userName": ""}}),
        json!({"op": "add", "path": "userName", "value": ""}),
    ] {
        let (s, body, _) = send(
            &e,
            &c,
            req(Method::Patch, &path).with_json(&json!({
            "schemas": [PATCH], "Operations": [op]})),
        );
        refused(s, &body, "userName");
    }
    let (s, body, _) = send(&e, &c, req(Method::Get, &path));
    assert_eq!((s, &body["userName"]), (200, &json!("bjensen")));
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Post, "/Groups").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": ""})),
    );
    refused(s, &body, "displayName");
}

#[test]
fn projection_leaves_out_what_projects_to_nothing() {
    let e = engine();
    let c = ctx();
    let user = create(
        &e,
        json!({"schemas": [USER], "userName": "bjensen",
        "name": {"familyName": "Jensen"},
        "emails": [{"value": "a@example.com"}, {"value": "b@example.com", "display": "B"}]}),
    );
    let id = user["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Get, &path).with_query("attributes", "emails.display"),
    );
    assert_eq!(s, 200);
    assert_eq!(
        body,
        json!({"schemas": [USER], "id": id, "emails": [{"display": "B"}]})
    );
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Get, &path).with_query("attributes", "emails.type,name.givenName"),
    );
    assert_eq!(s, 200);
    assert_eq!(body, json!({"schemas": [USER], "id": id}));
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Get, "/Users").with_query("attributes", "emails.type"),
    );
    assert_eq!(s, 200);
    assert_eq!(
        body["Resources"],
        json!([{"schemas": [USER], "id": id}]),
        "{body}"
    );
}

/// `Config::max_values`: no write may grow a multi-valued attribute past it, whatever the
/// path (POST, PUT, PATCH `add`, PATCH `replace` of the whole array, Bulk); a resource over
/// it (the limit was lowered) can still be changed and shrunk.
#[test]
fn attributes_grow_no_further_than_max_values() {
    let registry = || {
        scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
            .build()
            .unwrap()
    };
    let with_limit = |max: usize| {
        let mut config = scim_core::Config::new(crate::BASE);
        config.max_values = max;
        scim_core::Engine::new(registry(), crate::sequential_store(), config)
    };
    let emails = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"value": format!("u{i}@example.com")}))
            .collect()
    };
    let e = with_limit(3);
    let c = ctx();
    let user = |n: usize| json!({"schemas": [USER], "userName": "u", "emails": emails(n)});
    let (s, body, _) = send(&e, &c, req(Method::Post, "/Users").with_json(&user(4)));
    refused(s, &body, "`emails` would hold 4 values");
    let (s, body, _) = send(&e, &c, req(Method::Post, "/Users").with_json(&user(3)));
    assert_eq!(s, 201, "{body}");
    let path = format!("/Users/{}", body["id"].as_str().unwrap());
    let patch = |ops: Value| {
        req(Method::Patch, &path).with_json(&json!({"schemas": [PATCH], "Operations": ops}))
    };
    let add_one = json!([{"op": "add", "path": "emails", "value": [{"value": "x@example.com"}]}]);
    for refused_write in [
        patch(add_one.clone()),
        patch(json!([{"op": "replace", "path": "emails", "value": emails(4)}])),
        patch(json!([{"op": "add", "value": {"emails": emails(5)}}])),
        req(Method::Put, &path).with_json(&user(4)),
        req(Method::Post, "/Bulk").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "PATCH", "path": path,
                "data": {"schemas": [PATCH], "Operations": add_one}}]})),
    ] {
        let (s, body, _) = send(&e, &c, refused_write);
        let (s, body) = if s == 200 && body["Operations"].is_array() {
            let op = &body["Operations"][0];
            (
                op["status"].as_str().unwrap().parse().unwrap(),
                op["response"].clone(),
            )
        } else {
            (s, body)
        };
        refused(s, &body, "max_values");
    }
    // Nothing of them was kept.
    let (_, body, _) = send(&e, &c, req(Method::Get, &path));
    assert_eq!(body["emails"].as_array().map(Vec::len), Some(3), "{body}");
    // Over a lowered limit (the user stored as it was, then the limit set to 2): a change
    // that does not add values passes, one that does not.
    let lowered = with_limit(2);
    let stored = scim_core::block_on(scim_core::Store::create(
        lowered.store(),
        "default",
        "User",
        body,
        Vec::new(),
    ))
    .unwrap();
    let path = format!("/Users/{}", stored.id);
    let patch = |ops: Value| {
        req(Method::Patch, &path).with_json(&json!({"schemas": [PATCH], "Operations": ops}))
    };
    let (s, body, _) = send(
        &lowered,
        &c,
        patch(
            json!([{"op": "replace", "path": "emails[value eq \"u0@example.com\"].type",
            "value": "work"}]),
        ),
    );
    assert_eq!(s, 200, "{body}");
    let (s, body, _) = send(&lowered, &c, patch(add_one.clone()));
    refused(s, &body, "`emails` would hold 4 values");
    let (s, body, _) = send(
        &lowered,
        &c,
        patch(json!([{"op": "remove", "path": "emails[value eq \"u0@example.com\"]"}])),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["emails"].as_array().map(Vec::len), Some(2), "{body}");
}
