//! The Gluu 4.5 guide's walkthrough (seed 002), through the engine on the in-memory store.

use scim_core::{Method, RequestContext, Store};
use serde_json::json;

use super::{at, ctx, engine, req, send, BASE};

#[test]
fn walkthrough() {
    let e = engine();
    let c = ctx();
    // Create Average Joe.
    let (status, joe, resp) = send(
        &e,
        &c,
        req(Method::Post, "/Users").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ajsmith",
            "name": {"familyName": "Smith", "givenName": "Joe"},
            "displayName": "Average Joe"
        })),
    );
    assert_eq!(status, 201, "{joe}");
    let id = joe["id"].as_str().unwrap().to_owned();
    assert_eq!(
        resp.header("Location"),
        Some(format!("{BASE}/Users/{id}").as_str())
    );
    assert_eq!(resp.header("Content-Type"), Some("application/scim+json"));
    assert_eq!(joe["meta"]["resourceType"], "User");
    assert_eq!(joe["meta"]["location"], format!("{BASE}/Users/{id}"));
    assert_eq!(joe["meta"]["version"], "W/\"1\"");
    assert_eq!(resp.header("ETag"), Some("W/\"1\""));

    // Retrieve.
    let (status, got, _) = send(&e, &c, req(Method::Get, &format!("/Users/{id}")));
    assert_eq!(status, 200);
    assert_eq!(got["displayName"], "Average Joe");

    // More users, then filter + sort + paginate: userName co "mi".
    for (u, g) in [
        ("mike", "Mike"),
        ("smithers", "Waylon"),
        ("jim", "Jim"),
        ("amir", "Amir"),
    ] {
        let (s, _, _) = send(&e, &c, req(Method::Post, "/Users").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": u, "name": {"givenName": g}})));
        assert_eq!(s, 201);
    }
    let (status, page, _) = send(
        &e,
        &c,
        req(Method::Get, "/Users")
            .with_query("filter", "userName co \"mi\"")
            .with_query("sortBy", "userName")
            .with_query("sortOrder", "descending")
            .with_query("startIndex", "2")
            .with_query("count", "2")
            .with_query("attributes", "userName"),
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(page["totalResults"], 4); // ajsmith, mike, smithers, amir
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    let names: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mike", "amir"]); // descending: smithers, mike, amir, ajsmith
    assert!(
        page["Resources"][0].get("name").is_none(),
        "attributes=userName"
    );
    assert!(
        page["Resources"][0].get("id").is_some(),
        "id is returned always"
    );

    // PUT.
    let (status, put, resp) = send(
        &e,
        &c,
        req(Method::Put, &format!("/Users/{id}")).with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": id,
            "userName": "ajsmith",
            "name": {"familyName": "Smith", "givenName": "Joe"},
            "displayName": "Joe Smith",
            "emails": [{"value": "jsmith@example.com", "type": "work", "primary": true}]
        })),
    );
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["displayName"], "Joe Smith");
    assert_eq!(put["emails"][0]["value"], "jsmith@example.com");
    assert_eq!(resp.header("ETag"), Some("W/\"2\""));
    assert_eq!(put["meta"]["created"], joe["meta"]["created"]);

    // The guide's PATCH (RFC single-primary outcome).
    let c2 = RequestContext::new(at(60));
    let (status, patched, _) = send(&e, &c2, req(Method::Patch, &format!("/Users/{id}")).with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "value": {"name": {"givenName": "Joey"}}},
            {"op": "replace", "path": "emails[type eq \"work\" or primary eq false].value", "value": "jsmith@example.com"},
            {"op": "add", "value": {"name": {"middleName": "Jhon"}}},
            {"op": "add", "value": {"emails": [{"primary": true, "value": "my@own.mail"}],
                "phoneNumbers": [{"type": "home", "value": "5 123 8901"}, {"value": "5 123 8902"}]}},
            {"op": "remove", "path": "name.middleName"},
            {"op": "remove", "path": "phoneNumbers[value ew \"01\"].type"}
        ]
    })));
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["name"],
        json!({"familyName": "Smith", "givenName": "Joey"})
    );
    assert_eq!(
        patched["emails"],
        json!([{"value": "jsmith@example.com", "type": "work", "primary": false}, {"value": "my@own.mail", "primary": true}])
    );
    assert_eq!(
        patched["phoneNumbers"],
        json!([{"value": "5 123 8901"}, {"value": "5 123 8902"}])
    );
    assert_ne!(patched["meta"]["lastModified"], put["meta"]["lastModified"]);

    // Custom attributes and a filter on them.
    let (status, custom, _) = send(&e, &c, req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"],
        "userName": "custom",
        "urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {"customAttr1": "String single-valued", "customAttr2": ["2016-02-23T15:35:22Z"], "customAttr3": 3000}
    })));
    assert_eq!(status, 201, "{custom}");
    let (_, found, _) = send(
        &e,
        &c,
        req(Method::Get, "/Users").with_query(
            "filter",
            "urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr3 gt 2000",
        ),
    );
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["userName"], "custom");

    // FIDO devices are enrolled outside SCIM; search them with a filter.
    let device = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:FidoDevice"], "userId": id,
        "deviceData": "{\"uuid\":\"ABC123\", \"type\":\"iPhone\", \"platform\":\"ios\"}", "displayName": "Joe's iPhone",
        "meta": {"resourceType": "FidoDevice", "created": "2024-01-01T00:00:00Z", "lastModified": "2024-01-01T00:00:00Z"}});
    scim_core::block_on(e.store().create("default", "FidoDevice", device, vec![])).unwrap();
    let (status, devices, _) = send(
        &e,
        &c,
        req(Method::Get, "/FidoDevices")
            .with_query("filter", "deviceData co \"ios\"")
            .with_query("count", "10"),
    );
    assert_eq!(status, 200);
    assert_eq!(devices["totalResults"], 1);
    assert_eq!(devices["Resources"][0]["displayName"], "Joe's iPhone");

    // 409 on a duplicate userName (case-insensitive).
    let (status, dup, _) = send(
        &e,
        &c,
        req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "AJSmith"})),
    );
    assert_eq!(status, 409);
    assert_eq!(dup["scimType"], "uniqueness");
    assert_eq!(dup["status"], "409");

    // DELETE, then 404 with a SCIM error body.
    let (status, _, resp) = send(&e, &c, req(Method::Delete, &format!("/Users/{id}")));
    assert_eq!(status, 204);
    assert!(resp.body.is_empty());
    let (status, gone, _) = send(&e, &c, req(Method::Get, &format!("/Users/{id}")));
    assert_eq!(status, 404);
    assert_eq!(
        gone,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": format!("Resource {id} not found")})
    );
}
