//! Errors and preconditions: every failure is a SCIM error with the right status/scimType.

use scim_core::{Method, Scopes};
use serde_json::json;

use super::{ctx, engine, req, send};

fn create_user(e: &scim_core::Engine<scim_core::MemoryStore>) -> String {
    let (s, body, _) = send(e, &ctx(), req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "password": "t1meMa$heen"})));
    assert_eq!(s, 201);
    body["id"].as_str().unwrap().to_owned()
}

#[test]
fn error_statuses_and_types() {
    let e = engine();
    let id = create_user(&e);
    let c = ctx();
    let cases = [
        (req(Method::Get, "/Nope"), 404, None),
        (req(Method::Delete, "/ServiceProviderConfig"), 405, None),
        (req(Method::Put, "/Users"), 405, None),
        (req(Method::Post, "/Users").with_json(&json!([1])), 400, Some("invalidSyntax")),
        (req(Method::Post, "/Users").with_json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})), 400, Some("invalidValue")),
        (req(Method::Get, "/Users").with_query("filter", "userName eq"), 400, Some("invalidFilter")),
        (req(Method::Get, "/Users").with_query("filter", "active gt true"), 400, Some("invalidFilter")),
        (req(Method::Get, "/Users").with_query("attributes", "name."), 400, Some("invalidPath")),
        (req(Method::Get, "/Users").with_query("count", "many"), 400, Some("invalidValue")),
        (req(Method::Patch, &format!("/Users/{id}")).with_json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove"}]})), 400, Some("noTarget")),
        (req(Method::Patch, &format!("/Users/{id}")).with_json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "id", "value": "x"}]})), 400, Some("mutability")),
        (req(Method::Get, "/Users/unknown-id"), 404, None),
        (req(Method::Get, "/Users/unknown-id").with_query("attributes", "name."), 400, Some("invalidPath")),
        (req(Method::Get, "/Groups/unknown-id").with_query("attributes", "name."), 404, None),
        (req(Method::Get, "/Me"), 501, None),
        (req(Method::Get, "/Me/a/b/c"), 501, None),
        (req(Method::Get, &format!("/Users/{id}/x")), 404, None),
        (req(Method::Get, &format!("/Users/{id}/x/y/z")), 404, None),
        (req(Method::Post, "/Users").with_header("x", "y").with_json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x".repeat(2 << 20)})), 413, None),
    ];
    for (r, status, scim_type) in cases {
        let label = format!("{:?} {}", r.method, r.path);
        let mut r = r;
        if r.path == "/Users" && r.method == Method::Post && r.body.is_empty() {
            r.body = b"{".to_vec();
        }
        let (s, body, resp) = send(&e, &c, r);
        assert_eq!(s, status, "{label}: {body}");
        assert_eq!(
            body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{label}"
        );
        assert_eq!(body["status"], status.to_string(), "{label}");
        assert_eq!(
            body.get("scimType").and_then(|v| v.as_str()),
            scim_type,
            "{label}: {body}"
        );
        assert_eq!(resp.header("Content-Type"), Some("application/scim+json"));
    }
    let (s, body, _) = send(&e, &c, req(Method::Post, "/Users").with_json(&json!("x")));
    assert_eq!((s, body["scimType"].as_str()), (400, Some("invalidSyntax")));
    let mut bad = req(Method::Post, "/Users");
    bad.body = b"{not json".to_vec();
    let (s, body, _) = send(&e, &c, bad);
    assert_eq!((s, body["scimType"].as_str()), (400, Some("invalidSyntax")));
}

#[test]
fn password_never_in_any_response() {
    let e = engine();
    let id = create_user(&e);
    let c = ctx();
    for r in [
        req(Method::Get, &format!("/Users/{id}")),
        req(Method::Get, &format!("/Users/{id}")).with_query("attributes", "password,userName"),
        req(Method::Get, "/Users"),
        req(Method::Get, "/Users").with_query("filter", "password pr"),
        req(Method::Post, "/.search").with_json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "attributes": ["password"]})),
        req(Method::Patch, &format!("/Users/{id}")).with_json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "password", "value": "n3wS3cret"}]})),
        req(Method::Patch, &format!("/Users/{id}")).with_json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "password", "value": 12345}]})),
    ] {
        let (_, _, resp) = send(&e, &c, r);
        let text = String::from_utf8_lossy(&resp.body);
        assert!(!text.contains("t1meMa$heen") && !text.contains("n3wS3cret") && !text.contains("12345"), "{text}");
        assert!(!text.to_ascii_lowercase().contains("\"password\""), "{text}");
    }
}

#[test]
fn etag_preconditions() {
    let e = engine();
    let id = create_user(&e);
    let c = ctx();
    let path = format!("/Users/{id}");
    let (s, _, resp) = send(
        &e,
        &c,
        req(Method::Get, &path).with_header("If-None-Match", "W/\"1\""),
    );
    assert_eq!(s, 304);
    assert!(resp.body.is_empty());
    let (s, _, _) = send(
        &e,
        &c,
        req(Method::Get, &path).with_header("If-None-Match", "W/\"0\""),
    );
    assert_eq!(s, 200);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]});
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Patch, &path)
            .with_header("If-Match", "W/\"7\"")
            .with_json(&patch),
    );
    assert_eq!(s, 412, "{body}");
    let (s, body, resp) = send(
        &e,
        &c,
        req(Method::Patch, &path)
            .with_header("If-Match", "W/\"1\"")
            .with_json(&patch),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(resp.header("ETag"), Some("W/\"2\""));
    // A PATCH that changes nothing keeps the version.
    let (_, _, resp) = send(&e, &c, req(Method::Patch, &path).with_json(&patch));
    assert_eq!(resp.header("ETag"), Some("W/\"2\""));
    let (s, _, _) = send(
        &e,
        &c,
        req(Method::Delete, &path).with_header("If-Match", "W/\"1\""),
    );
    assert_eq!(s, 412);
    let (s, _, _) = send(&e, &c, req(Method::Put, &path).with_header("If-Match", "W/\"1\"").with_json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"})));
    assert_eq!(s, 412);
    let (s, _, _) = send(
        &e,
        &c,
        req(Method::Delete, &path).with_header("If-Match", "*"),
    );
    assert_eq!(s, 204);
}

#[test]
fn scopes_are_enforced() {
    let e = engine();
    let id = create_user(&e);
    let reader = ctx().scopes(Scopes::of(["https://gluu.org/scim/users.read"]));
    let (s, _, _) = send(&e, &reader, req(Method::Get, &format!("/Users/{id}")));
    assert_eq!(s, 200);
    let (s, body, _) = send(&e, &reader, req(Method::Delete, &format!("/Users/{id}")));
    assert_eq!(s, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("users.write"));
    let (s, _, _) = send(&e, &reader, req(Method::Get, "/Groups"));
    assert_eq!(s, 403);
    let (s, _, _) = send(
        &e,
        &reader,
        req(Method::Post, "/.search").with_json(&json!({})),
    );
    assert_eq!(s, 403);
    // Discovery needs no scope.
    let (s, _, _) = send(&e, &reader, req(Method::Get, "/ServiceProviderConfig"));
    assert_eq!(s, 200);
}

#[test]
fn discovery_endpoints() {
    let e = engine();
    let c = ctx();
    let (s, spc, _) = send(&e, &c, req(Method::Get, "/ServiceProviderConfig"));
    assert_eq!(s, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 200);
    let (_, types, _) = send(&e, &c, req(Method::Get, "/ResourceTypes"));
    assert_eq!(types["totalResults"], 4);
    let (s, user_type, _) = send(&e, &c, req(Method::Get, "/ResourceTypes/User"));
    assert_eq!(s, 200);
    assert_eq!(user_type["endpoint"], "/Users");
    let (s, schema, _) = send(
        &e,
        &c,
        req(
            Method::Get,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        ),
    );
    assert_eq!(s, 200);
    assert_eq!(schema["attributes"][0]["name"], "userName");
    assert_eq!(schema["meta"]["resourceType"], "Schema");
    let (s, _, _) = send(&e, &c, req(Method::Get, "/Schemas/urn:nope"));
    assert_eq!(s, 404);
}

#[test]
fn search_across_types_and_tenants() {
    let e = engine();
    create_user(&e);
    let c = ctx();
    let (s, _, _) = send(&e, &c, req(Method::Post, "/Groups").with_json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Bjensen fans"})));
    assert_eq!(s, 201);
    let (s, all, _) = send(&e, &c, req(Method::Post, "/.search").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "displayName co \"bjensen\" or userName eq \"bjensen\""})));
    assert_eq!(s, 200, "{all}");
    assert_eq!(all["totalResults"], 2);
    let other = ctx().tenant("other");
    let (_, none, _) = send(&e, &other, req(Method::Get, "/Users"));
    assert_eq!(none["totalResults"], 0);
    let (s, _, _) = send(
        &e,
        &c,
        req(Method::Post, "/Users/.search").with_json(&json!({"schemas": ["urn:wrong"]})),
    );
    assert_eq!(s, 400);
}
