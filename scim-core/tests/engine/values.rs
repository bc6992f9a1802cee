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
