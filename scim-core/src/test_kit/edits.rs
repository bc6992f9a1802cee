//! A PATCH of some elements of a large multi-valued attribute, which the engine applies to
//! the stored text when the store [applies edits](crate::Store::applies_edits): it answers
//! and stores what patching the whole resource does (checked against an engine that patches
//! every resource whole over a memory store), and what it stores is found by filters.

use serde_json::{json, Value};

use super::T;
use crate::{
    block_on, Config, Engine, MemoryStore, Method, Request, RequestContext, Response, Store,
};

const EMAILS: usize = 300;

fn user() -> Value {
    let emails: Vec<Value> = (0..EMAILS)
        .map(|i| {
            let value = if i == 3 {
                "ü3@example.com".to_owned()
            } else {
                format!("u{i}@example.com")
            };
            let kind = if i % 2 == 0 { "work" } else { "home" };
            json!({"value": value, "type": kind, "primary": i == 5})
        })
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjensen", "displayName": "Barbara", "emails": emails,
        "phoneNumbers": [{"value": "555-0100", "type": "work"}]})
}

fn patch(ops: Value) -> Request {
    Request::new(Method::Patch, "/Users/u1").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops}))
}

/// Requests a user with 300 emails may get, the first ones patched on the text, the
/// others (adds, removes, unnarrowed filters, errors) left to the whole path.
fn requests() -> Vec<Request> {
    let one = |op: &str, path: &str, value: Value| {
        patch(json!([{"op": op, "path": path, "value": value}]))
    };
    vec![
        one(
            "replace",
            r#"emails[value eq "u7@example.com"].value"#,
            json!("moved@example.org"),
        ),
        one(
            "replace",
            r#"emails[value eq "MOVED@example.org"].type"#,
            json!("other"),
        ),
        // The single-primary rule: u5 is primary no more.
        one(
            "replace",
            r#"emails[value eq "u9@example.com"].primary"#,
            json!(true),
        ),
        one(
            "replace",
            r#"emails[value eq "u10@example.com" or value eq "u11@example.com"].type"#,
            json!("home"),
        ),
        one(
            "add",
            r#"emails[value eq "u12@example.com"].display"#,
            json!("Twelve"),
        ),
        one(
            "remove",
            r#"emails[value eq "u12@example.com"].display"#,
            Value::Null,
        ),
        one(
            "replace",
            r#"emails[value eq "ü3@example.com"].type"#,
            json!("home"),
        ),
        one(
            "replace",
            r#"emails[value sw "u2" and type eq "work"].display"#,
            json!("Twenty-something"),
        ),
        patch(json!([
            {"op": "replace", "path": "displayName", "value": "Babs"},
            {"op": "replace", "path": r#"emails[value ew "14@example.com"].value"#, "value": "x@y.org"},
            {"op": "add", "value": {"nickName": "B", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}}}
        ])),
        // Unchanged: the same version.
        one(
            "replace",
            r#"emails[value eq "u30@example.com"].type"#,
            json!("work"),
        ),
        one(
            "remove",
            r#"emails[value eq "u20@example.com"]"#,
            Value::Null,
        ),
        one("add", "emails", json!([{"value": "new@example.org"}])),
        one(
            "replace",
            r#"emails[value eq "absent@example.org"].type"#,
            json!("work"),
        ),
        one("replace", r#"emails[value ne "x"].display"#, json!("all")),
        one(
            "replace",
            r#"emails[value eq "u40@example.com"].nope"#,
            json!("x"),
        ),
        one(
            "replace",
            r#"emails[type eq "home"].display"#,
            json!("Home"),
        ),
    ]
}

/// Every request of [`requests`] answers the same through an engine over `store` (which
/// patches on the text where it can) and one that patches whole; the stored user reads the
/// same afterwards, filters on its emails find it by its new values only, and a stale
/// `If-Match` is refused.
pub(super) fn engine_edits_answer_as_whole<S: Store>(store: S) {
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant(T);
    let fast = Engine::new(
        scim_schema::Registry::standard(),
        store,
        Config::new("https://example.com/scim/v2"),
    );
    let created = ask(
        &fast,
        &ctx,
        Request::new(Method::Post, "/Users").with_json(&user()),
    );
    assert_eq!(created.status, 201, "{}", created.body_json());
    let id = created.body_json()["id"].as_str().expect("id").to_owned();
    let mut config = Config::new("https://example.com/scim/v2");
    config.min_values_patched_in_text = usize::MAX;
    let given = id.clone();
    let whole = Engine::new(
        scim_schema::Registry::standard(),
        MemoryStore::with_id_generator(move || given.clone()),
        config,
    );
    let again = ask(
        &whole,
        &ctx,
        Request::new(Method::Post, "/Users").with_json(&user()),
    );
    assert_eq!(again.body, created.body);
    let path = format!("/Users/{id}");
    for (i, mut req) in requests().into_iter().enumerate() {
        req.path = path.clone();
        let a = ask(&fast, &ctx, req.clone());
        let b = ask(&whole, &ctx, req);
        assert_eq!(a.status, b.status, "edits: request {i}: {}", a.body_json());
        assert_eq!(a.header("ETag"), b.header("ETag"), "edits: request {i}");
        assert_eq!(
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body),
            "edits: request {i}"
        );
    }
    let get = || Request::new(Method::Get, path.as_str());
    assert_eq!(ask(&fast, &ctx, get()).body, ask(&whole, &ctx, get()).body);
    for (filter, found) in [
        (r#"emails.value eq "MOVED@example.org""#, 1),
        (r#"emails.value eq "x@y.org""#, 1),
        (r#"emails.value eq "u7@example.com""#, 0),
        (
            r#"emails[value eq "u9@example.com" and primary eq true]"#,
            1,
        ),
        (r#"emails.value co "y.org""#, 1),
        (r#"emails.value sw "U8@""#, 1),
    ] {
        let on_fast = |r| ask(&fast, &ctx, r);
        let on_whole = |r| ask(&whole, &ctx, r);
        for e in [&on_fast as &dyn Fn(Request) -> Response, &on_whole] {
            let list = e(Request::new(Method::Get, "/Users").with_query("filter", filter));
            assert_eq!(list.status, 200, "{filter}: {}", list.body_json());
            assert_eq!(
                list.body_json()["totalResults"],
                json!(found),
                "edits: {filter}"
            );
        }
    }
    // `If-Match` is checked on the text too.
    let version = ask(&fast, &ctx, get()).header("ETag").map(str::to_owned);
    let req = patch(json!([{"op": "replace",
        "path": r#"emails[value eq "u17@example.com"].type"#, "value": "other"}]));
    let req = Request {
        path: path.clone(),
        ..req
    };
    let stale = ask(
        &fast,
        &ctx,
        req.clone().with_header("If-Match", "W/\"999\""),
    );
    assert_eq!(stale.status, 412, "{}", stale.body_json());
    let fresh = ask(
        &fast,
        &ctx,
        req.with_header("If-Match", version.unwrap_or_default()),
    );
    assert_eq!(fresh.status, 200, "{}", fresh.body_json());
    assert_eq!(fresh.body_json()["emails"][17]["type"], "other");
    // The whole attribute replaced, on both.
    let all =
        patch(json!([{"op": "replace", "value": {"emails": [{"value": "only@example.org"}]}}]));
    let all = Request { path, ..all };
    let (a, b) = (ask(&fast, &ctx, all.clone()), ask(&whole, &ctx, all));
    assert_eq!(
        (a.status, a.body_json()["emails"].clone()),
        (200, b.body_json()["emails"].clone())
    );
}

fn ask<S: Store>(e: &Engine<S>, ctx: &RequestContext, req: Request) -> Response {
    block_on(e.handle(ctx, req))
}
