//! End to end over real HTTP: `scim serve` on an ephemeral loopback port, driven with an
//! HTTP client through the Gluu guide's walkthrough and the protocol's edges.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim_cli::serve::ServeOptions;
use scim_core::Scopes;

mod support;
use serde_json::{json, Value};

const ADMIN: &str = "admin-token";
const READER: &str = "reader-token";

/// A server on a background runtime; stops when dropped.
struct Server {
    base: String,
    _running: support::Running,
}

impl Server {
    fn start() -> Server {
        Self::start_on(None)
    }

    /// A server on the PostgreSQL database of `schema` (in it), or in memory.
    fn start_on(schema: Option<&scim_test_support::postgres::TestSchema>) -> Server {
        let mut options = ServeOptions::new();
        if let Some(schema) = schema {
            options.db = Some(schema.url().into());
            options.postgres = options.postgres.schema(schema.name()).pool_size(2);
        }
        options.tokens.insert(ADMIN, Scopes::All);
        options
            .tokens
            .insert(READER, Scopes::of(["https://gluu.org/scim/users.read"]));
        let running = support::Running::start(options);
        Server {
            base: format!("http://{}/scim/v2", running.addr),
            _running: running,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value, ureq::Response) {
        let mut req = ureq::request(method, &format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req
                .set("Content-Type", "application/scim+json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let ct = resp.header("Content-Type").map(str::to_owned);
        let etag = resp.header("ETag").map(str::to_owned);
        let location = resp.header("Location").map(str::to_owned);
        let text = resp.into_string().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !text.is_empty() {
            assert_eq!(
                ct.as_deref(),
                Some("application/scim+json"),
                "{method} {path}"
            );
        }
        // Rebuild a response object carrying the headers the tests look at.
        let mut fake = format!("HTTP/1.1 {status} X\r\n");
        if let Some(e) = etag {
            fake.push_str(&format!("ETag: {e}\r\n"));
        }
        if let Some(l) = location {
            fake.push_str(&format!("Location: {l}\r\n"));
        }
        fake.push_str("\r\n");
        (status, value, fake.parse::<ureq::Response>().unwrap())
    }

    fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value, ureq::Response) {
        self.call(method, path, Some(ADMIN), &[], body)
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn gluu_walkthrough_over_http() {
    walkthrough(&Server::start());
}

/// The same walkthrough with `scim serve --db postgres://…`, in a schema of its own.
#[test]
fn gluu_walkthrough_over_http_on_postgres() {
    let Some(schema) = scim_test_support::postgres::TestSchema::new("gluu") else {
        return;
    };
    walkthrough(&Server::start_on(Some(&schema)));
}

fn walkthrough(s: &Server) {
    let (status, joe, resp) = s.admin(
        "POST",
        "/Users",
        Some(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ajsmith",
        "name": {"familyName": "Smith", "givenName": "Joe"}, "displayName": "Average Joe"})),
    );
    assert_eq!(status, 201, "{joe}");
    let id = joe["id"].as_str().unwrap().to_owned();
    assert_eq!(
        resp.header("Location").unwrap(),
        format!("{}/Users/{id}", s.base)
    );
    let (status, got, _) = s.admin("GET", &format!("/Users/{id}"), None);
    assert_eq!(
        (status, got["displayName"].as_str()),
        (200, Some("Average Joe"))
    );
    for u in ["mike", "amir"] {
        s.admin(
            "POST",
            "/Users",
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": u}),
            ),
        );
    }
    let (status, page, _) = s.admin(
        "GET",
        &format!(
            "/Users?filter={}&sortBy=userName&startIndex=1&count=2",
            enc("userName co \"mi\"")
        ),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(page["totalResults"], 3);
    assert_eq!(page["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(page["Resources"][0]["userName"], "ajsmith");
    let (status, put, _) = s.admin(
        "PUT",
        &format!("/Users/{id}"),
        Some(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": "ajsmith",
        "name": {"familyName": "Smith", "givenName": "Joe"}, "displayName": "Joe Smith",
        "emails": [{"value": "jsmith@example.com", "type": "work", "primary": true}]})),
    );
    assert_eq!(
        (status, put["displayName"].as_str()),
        (200, Some("Joe Smith"))
    );
    let (status, patched, _) = s.admin("PATCH", &format!("/Users/{id}"), Some(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "value": {"name": {"givenName": "Joey"}}},
            {"op": "replace", "path": "emails[type eq \"work\" or primary eq false].value", "value": "jsmith@example.com"},
            {"op": "add", "value": {"name": {"middleName": "Jhon"}}},
            {"op": "add", "value": {"emails": [{"primary": true, "value": "my@own.mail"}], "phoneNumbers": [{"type": "home", "value": "5 123 8901"}, {"value": "5 123 8902"}]}},
            {"op": "remove", "path": "name.middleName"},
            {"op": "remove", "path": "phoneNumbers[value ew \"01\"].type"}]})));
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["emails"][1],
        json!({"value": "my@own.mail", "primary": true})
    );
    assert_eq!(
        patched["phoneNumbers"],
        json!([{"value": "5 123 8901"}, {"value": "5 123 8902"}])
    );
    let (status, custom, _) = s.admin("POST", "/Users", Some(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"],
        "userName": "custom", "urn:ietf:params:scim:schemas:extension:gluu:2.0:User": {"customAttr3": 3000}})));
    assert_eq!(status, 201, "{custom}");
    let (_, found, _) = s.admin(
        "GET",
        &format!(
            "/Users?filter={}",
            enc("urn:ietf:params:scim:schemas:extension:gluu:2.0:User:customAttr3 gt 2000")
        ),
        None,
    );
    assert_eq!(found["totalResults"], 1);
    let (status, dup, _) = s.admin("POST", "/Users", Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "AJSMITH"})));
    assert_eq!(
        (status, dup["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    let (status, _, _) = s.admin("DELETE", &format!("/Users/{id}"), None);
    assert_eq!(status, 204);
    let (status, gone, _) = s.admin("GET", &format!("/Users/{id}"), None);
    assert_eq!((status, gone["status"].as_str()), (404, Some("404")));
}

#[test]
fn auth_scopes_and_fido() {
    let s = Server::start();
    let (status, body, _) = s.call("GET", "/Users", None, &[], None);
    assert_eq!((status, body["status"].as_str()), (401, Some("401")));
    let (status, _, _) = s.call("GET", "/Users", Some("wrong"), &[], None);
    assert_eq!(status, 401);
    let (status, _, _) = s.call("GET", "/Users", Some(READER), &[], None);
    assert_eq!(status, 200);
    let (status, body, _) = s.call(
        "POST",
        "/Users",
        Some(READER),
        &[],
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"})),
    );
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = s.call("GET", "/FidoDevices", Some(READER), &[], None);
    assert_eq!(status, 403);
    let (status, devices, _) = s.admin(
        "GET",
        &format!(
            "/FidoDevices?filter={}&count=10",
            enc("deviceData co \"ios\"")
        ),
        None,
    );
    assert_eq!((status, devices["totalResults"].as_i64()), (200, Some(0)));
    let (status, _, _) = s.admin("GET", "/Fido2Devices", None);
    assert_eq!(status, 200);
    let (status, _, _) = s.admin("GET", "/ServiceProviderConfig", None);
    assert_eq!(status, 200);
    let (status, _, _) = s.call("GET", "/nowhere", Some(ADMIN), &[], None);
    assert_eq!(status, 404);
    let (status, body, _) = s.call("GET", "/../etc", Some(ADMIN), &[], None);
    assert!(status == 404 || status == 400, "{status} {body}");
}

#[test]
fn groups_bulk_etags_and_entra_patch() {
    let s = Server::start();
    let ids: Vec<String> = ["babs", "mandy"]
        .iter()
        .map(|u| {
            let (_, b, _) = s.admin("POST", "/Users", Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": u, "displayName": u.to_uppercase()})));
            b["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Guides",
        "members": [{"value": ids[0]}, {"value": ids[1]}, {"value": "not-a-user"}]});
    let (status, _, _) = s.admin("POST", "/Groups", Some(&group));
    assert_eq!(status, 400);
    let (status, g, _) = s.call(
        "POST",
        "/Groups",
        Some(ADMIN),
        &[("Group-Overhead-Bypass", "true")],
        Some(&group),
    );
    assert_eq!(status, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_owned();
    let (_, g, _) = s.admin("GET", &format!("/Groups/{gid}"), None);
    assert_eq!(g["members"][0]["display"], "BABS");
    let (_, g, _) = s.admin(
        "GET",
        &format!("/Groups/{gid}?excludedAttributes=members.display"),
        None,
    );
    assert!(g["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m.get("display").is_none()));
    // Entra-shaped membership PATCH (capitalised op, remove with a value list).
    let (status, g, resp) = s.admin("PATCH", &format!("/Groups/{gid}"), Some(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "not-a-user"}, {"value": ids[1]}]}]})));
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
    let etag = resp.header("ETag").unwrap().to_owned();
    // ETags.
    let (status, _, _) = s.call(
        "GET",
        &format!("/Groups/{gid}"),
        Some(ADMIN),
        &[("If-None-Match", &etag)],
        None,
    );
    assert_eq!(status, 304);
    let (status, _, _) = s.call(
        "DELETE",
        &format!("/Groups/{gid}"),
        Some(ADMIN),
        &[("If-Match", "W/\"999\"")],
        None,
    );
    assert_eq!(status, 412);
    // Bulk with bulkId references, out of order.
    let (status, bulk, _) = s.admin("POST", "/Bulk", Some(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Bulk group", "members": [{"value": "bulkId:u1"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bulky"}}]})));
    assert_eq!(status, 200, "{bulk}");
    let statuses: Vec<&str> = bulk["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "201"]);
}

#[test]
fn body_limit_and_bad_json() {
    let s = Server::start();
    // Declared too large, and the client waits for `100 Continue`: 413 before any body
    // byte is read (raw TCP, so the client's sending cannot race the server's answer).
    // Without `Expect` the server reads the body first; hostile.rs covers that.
    use std::io::{Read, Write};
    let addr = s
        .base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        tcp,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        2 << 20
    )
    .unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"status\":\"413\""), "{answer}");
    let r = ureq::post(&format!("{}/Users", s.base))
        .set("Authorization", &format!("Bearer {ADMIN}"))
        .send_string("{oops");
    match r {
        Err(ureq::Error::Status(400, resp)) => {
            let v: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
            assert_eq!(v["scimType"], "invalidSyntax");
        }
        other => panic!("{other:?}"),
    }
}
