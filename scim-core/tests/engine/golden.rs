//! Golden protocol messages: whole response bodies (and status, Location, ETag) compared
//! with `tests/golden/*.json`. The clock and ids are deterministic. To regenerate after a
//! deliberate change: `UPDATE_GOLDEN=1 cargo test -p scim-core --test engine golden`, then
//! review the diff.

use scim_core::{Method, Response};
use serde_json::{json, Value};

use super::{ctx, engine, req, send};

fn golden(name: &str, resp: &Response) {
    let actual = json!({
        "status": resp.status,
        "location": resp.header("Location"),
        "etag": resp.header("ETag"),
        "contentType": resp.header("Content-Type"),
        "body": resp.body_json(),
    });
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (UPDATE_GOLDEN=1 creates it)"));
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(actual, expected, "{name} differs from {path}");
}

#[test]
fn protocol_messages() {
    let e = engine();
    let c = ctx();
    let (_, _, created) = send(&e, &c, req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "password": "t1meMa$heen",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": "Tour Operations"}
    })));
    golden("create-user", &created);
    let id = created.body_json()["id"].as_str().unwrap().to_owned();
    let (_, _, got) = send(
        &e,
        &c,
        req(Method::Get, &format!("/Users/{id}")).with_query("attributes", "userName,emails.value"),
    );
    golden("get-user-attributes", &got);
    let (_, _, patched) = send(&e, &c, req(Method::Patch, &format!("/Users/{id}")).with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home", "primary": true}]},
                       {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]})));
    golden("patch-user", &patched);
    let (_, _, group) = send(&e, &c, req(Method::Post, "/Groups").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides", "members": [{"value": id}]})));
    golden("create-group", &group);
    let (_, _, list) = send(
        &e,
        &c,
        req(Method::Get, "/Users")
            .with_query("filter", "emails[type eq \"home\" and primary eq true]")
            .with_query("excludedAttributes", "groups,name"),
    );
    golden("list-users", &list);
    let (_, _, spc) = send(&e, &c, req(Method::Get, "/ServiceProviderConfig"));
    golden("service-provider-config", &spc);
    let (_, _, rt) = send(&e, &c, req(Method::Get, "/ResourceTypes/User"));
    golden("resource-type-user", &rt);
    let (_, _, e404) = send(&e, &c, req(Method::Get, "/Users/nope"));
    golden("error-404", &e404);
    let (_, _, e409) = send(&e, &c, req(Method::Post, "/Users").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "BJENSEN@example.com"})));
    golden("error-409", &e409);
    let (_, _, e400) = send(
        &e,
        &c,
        req(Method::Get, "/Users").with_query("filter", "userName eq 'bjensen'"),
    );
    golden("error-invalid-filter", &e400);
    let (_, _, bulk) = send(&e, &c, req(Method::Post, "/Bulk").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Tour Guides 2", "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Alice", "password": "s3cr3t"}}
        ]})));
    golden("bulk", &bulk);
}
