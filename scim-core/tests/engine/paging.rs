//! Index and cursor paging (RFC 7644 §3.4.2.4, RFC 9865), a store that pushes nothing down
//! (the engine completes filter, sort and paging), and `tooMany`.

use std::future::Future;

use scim_core::{
    Config, Engine, MemoryStore, Method, Query, QueryResult, Store, StoreError, StoredResource,
    UniqueKey,
};
use serde_json::{json, Value};

use super::{ctx, req, send, BASE};

/// Delegates to a MemoryStore but never filters, sorts or pages.
struct NoPushDown(MemoryStore);

impl Store for NoPushDown {
    fn get(
        &self,
        t: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.0.get(t, rt, id)
    }
    fn create(
        &self,
        t: &str,
        rt: &str,
        r: Value,
        u: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        self.0.create(t, rt, r, u)
    }
    fn replace(
        &self,
        t: &str,
        rt: &str,
        id: &str,
        v: u64,
        r: Value,
        u: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        self.0.replace(t, rt, id, v, r, u)
    }
    fn delete(
        &self,
        t: &str,
        rt: &str,
        id: &str,
        v: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.delete(t, rt, id, v)
    }
    fn query(
        &self,
        t: &str,
        rt: &str,
        _q: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        let all = Query {
            filter: None,
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: None,
        };
        let inner = scim_core::block_on(self.0.query(t, rt, all));
        std::future::ready(inner.map(|r| QueryResult {
            filtered: false,
            sorted: false,
            paged: false,
            ..r
        }))
    }
}

fn populate<S: Store>(e: &Engine<S>, n: usize) {
    for i in 0..n {
        let (s, body, _) = send_any(e, req(Method::Post, "/Users").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("user{i:03}"), "active": i % 2 == 0})));
        assert_eq!(s, 201, "{body}");
    }
}

fn send_any<S: Store>(e: &Engine<S>, r: scim_core::Request) -> (u16, Value, scim_core::Response) {
    let resp = scim_core::block_on(e.handle(&ctx(), r));
    (resp.status, resp.body_json(), resp)
}

fn names(page: &Value) -> Vec<String> {
    page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn engine_completes_what_the_store_does_not() {
    let pushed = Engine::new(
        scim_schema::Registry::standard(),
        crate::sequential_store(),
        Config::new(BASE),
    );
    let plain = Engine::new(
        scim_schema::Registry::standard(),
        NoPushDown(crate::sequential_store()),
        Config::new(BASE),
    );
    populate(&pushed, 30);
    populate(&plain, 30);
    for query in [
        vec![
            ("filter", "active eq true"),
            ("sortBy", "userName"),
            ("sortOrder", "descending"),
            ("startIndex", "3"),
            ("count", "4"),
        ],
        vec![("filter", "userName sw \"user01\""), ("count", "100")],
        vec![("sortBy", "userName"), ("startIndex", "29")],
    ] {
        let make = || {
            query
                .iter()
                .fold(req(Method::Get, "/Users"), |r, (k, v)| r.with_query(*k, *v))
        };
        let (_, a, _) = send_any(&pushed, make());
        let (_, b, _) = send_any(&plain, make());
        assert_eq!(a["totalResults"], b["totalResults"], "{query:?}");
        assert_eq!(names(&a), names(&b), "{query:?}");
    }
    let (_, page, _) = send_any(
        &plain,
        req(Method::Get, "/Users")
            .with_query("filter", "active eq true")
            .with_query("sortBy", "userName")
            .with_query("sortOrder", "descending")
            .with_query("startIndex", "3")
            .with_query("count", "4"),
    );
    assert_eq!(page["totalResults"], 15);
    assert_eq!(names(&page), ["user024", "user022", "user020", "user018"]);
}

#[test]
fn too_many_when_the_engine_would_filter_beyond_its_limit() {
    let mut config = Config::new(BASE);
    config.max_filter_scan = 10;
    let e = Engine::new(
        scim_schema::Registry::standard(),
        NoPushDown(crate::sequential_store()),
        config,
    );
    populate(&e, 11);
    let (s, body, _) = send_any(
        &e,
        req(Method::Get, "/Users").with_query("filter", "active eq true"),
    );
    assert_eq!(
        (s, body["scimType"].as_str()),
        (400, Some("tooMany")),
        "{body}"
    );
    // Without a filter nothing has to be scanned.
    let (s, _, _) = send_any(&e, req(Method::Get, "/Users"));
    assert_eq!(s, 200);
}

#[test]
fn index_paging_edges() {
    let e = super::engine();
    populate(&e, 5);
    let c = ctx();
    let (_, p, _) = send(
        &e,
        &c,
        req(Method::Get, "/Users")
            .with_query("sortBy", "userName")
            .with_query("startIndex", "0")
            .with_query("count", "2"),
    );
    assert_eq!(
        (p["startIndex"].as_i64(), names(&p)),
        (Some(1), vec!["user000".to_owned(), "user001".to_owned()])
    );
    let (_, p, _) = send(&e, &c, req(Method::Get, "/Users").with_query("count", "0"));
    assert_eq!(
        (p["totalResults"].as_i64(), p["itemsPerPage"].as_i64()),
        (Some(5), Some(0))
    );
    let (_, p, _) = send(
        &e,
        &c,
        req(Method::Get, "/Users").with_query("startIndex", "9"),
    );
    assert_eq!(
        (p["totalResults"].as_i64(), p["itemsPerPage"].as_i64()),
        (Some(5), Some(0))
    );
    let (_, p, _) = send(&e, &c, req(Method::Get, "/Users").with_query("count", "-3"));
    assert_eq!(p["itemsPerPage"], 0);
}

#[test]
fn cursor_paging_walks_every_resource_once() {
    let e = super::engine();
    populate(&e, 7);
    let c = ctx();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (s, page, _) = send(
            &e,
            &c,
            req(Method::Get, "/Users")
                .with_query("sortBy", "userName")
                .with_query("count", "3")
                .with_query("cursor", cursor.clone()),
        );
        assert_eq!(s, 200, "{page}");
        assert!(page.get("startIndex").is_none());
        if pages > 0 {
            assert!(page.get("previousCursor").is_some());
        }
        seen.extend(names(&page));
        pages += 1;
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        (0..7).map(|i| format!("user{i:03}")).collect::<Vec<_>>()
    );
    let (s, body, _) = send(
        &e,
        &c,
        req(Method::Get, "/Users").with_query("cursor", "not-ours"),
    );
    assert_eq!((s, body["scimType"].as_str()), (400, Some("invalidCursor")));
    let (_, spc, _) = send(&e, &c, req(Method::Get, "/ServiceProviderConfig"));
    assert_eq!(spc["pagination"]["cursor"], true);
}
