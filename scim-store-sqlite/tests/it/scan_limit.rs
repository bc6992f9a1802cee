//! A filter sure to cost more than the query budget allows is refused before it runs: 400
//! `tooMany` through the engine, with a detail that says why; a filter an index narrows, or
//! one within the limit, runs.

use scim_core::{block_on, Config, Engine, Method, Request, RequestContext};
use scim_schema::Registry;
use scim_store_sqlite::{PoolOptions, SqliteOptions, SqliteStore};
use serde_json::json;

use super::temp_dir;

fn terms(n: usize) -> String {
    (0..n)
        .map(|i| format!(r#"title co "zq{i}x""#))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[test]
fn sure_scans_are_refused_up_front() {
    let dir = temp_dir("scan-limit");
    let mut pool = PoolOptions::default();
    // 200 resources: 10 unindexed terms make 2,000 tests.
    pool.max_scan = 1_000;
    let store = SqliteStore::open_with(
        dir.join("s.db"),
        scim_core::StoreSchema::of(&Registry::standard()),
        SqliteOptions::default().pool(pool),
    )
    .expect("open");
    let users = (0..200)
        .map(|i| {
            (
                json!({"userName": format!("u{i}"), "title": format!("t{i}")}),
                vec![],
            )
        })
        .collect();
    store.create_batch("default", "User", users).expect("load");
    let engine = Engine::new(
        Registry::standard(),
        store,
        Config::new("https://example.com/scim/v2"),
    );
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let list = |filter: &str| {
        let resp = block_on(engine.handle(
            &ctx,
            Request::new(Method::Get, "/Users").with_query("filter", filter),
        ));
        (resp.status, resp.body_json())
    };
    let (status, body) = list(&terms(10));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "tooMany");
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("10 terms") && detail.contains("200 resources"),
        "{detail}"
    );
    // Within the limit: runs.
    let (status, body) = list(&terms(4));
    assert_eq!((status, &body["totalResults"]), (200, &json!(0)), "{body}");
    // Narrowed by an index: runs, however many terms follow.
    let (status, body) = list(&format!(r#"userName eq "u7" and ({})"#, terms(50)));
    assert_eq!(status, 200, "{body}");
    let (status, body) = list(&format!(
        r#"userName eq "u7" and (title eq "t7" or {})"#,
        terms(50)
    ));
    assert_eq!((status, &body["totalResults"]), (200, &json!(1)), "{body}");
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
