//! Filters the engine accepts never make the store fail: what SQL cannot express exactly is
//! reported as not applied and the engine finishes it in memory. The audit's examples
//! (`userName pr or title eq 9007199254740993`, a literal with a NUL character) answered
//! 500 on SQLite and 200 in memory.

use scim_core::test_kit::check_query;
use scim_core::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext, Store};
use scim_schema::Registry;
use serde_json::{json, Value};

use scim_test_support::filters::{odd_users, wide_and_deep, UNTRANSLATABLE};

use super::memory_store;

/// Through [`Store::query`]: no error, and the answer is the evaluator's.
#[test]
fn untranslatable_parts_are_not_errors() {
    let s = memory_store();
    for u in odd_users() {
        block_on(s.create("t", "User", u, vec![])).expect("create");
    }
    let all = block_on(s.query(
        "t",
        "User",
        scim_core::Query {
            filter: None,
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: None,
        },
    ))
    .expect("all")
    .resources;
    for text in UNTRANSLATABLE {
        // Panics on a store error or an answer other than the evaluator's.
        check_query(&s, "t", "User", text, &all);
    }
}

fn list(engine: &Engine<impl Store>, filter: &str, paged: bool) -> (u16, Value) {
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let mut req = Request::new(Method::Get, "/Users").with_query("filter", filter);
    if paged {
        req = req
            .with_query("sortBy", "userName")
            .with_query("startIndex", "2")
            .with_query("count", "2");
    }
    let resp = block_on(engine.handle(&ctx, req));
    (resp.status, resp.body_json())
}

/// Through the engine: the SQLite-backed engine answers 200 with the `totalResults` of the
/// engine over the in-memory reference store, sorted and paged or not.
#[test]
fn the_engine_answers_200_like_the_memory_store() {
    let config = || Config::new("https://example.com/scim/v2");
    let sqlite = Engine::new(Registry::standard(), memory_store(), config());
    let memory = Engine::new(Registry::standard(), MemoryStore::new(), config());
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    for mut u in odd_users() {
        u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
        // The schema refuses some odd shapes; both engines see the same outcome.
        let post = || Request::new(Method::Post, "/Users").with_json(&u);
        let a = block_on(sqlite.handle(&ctx, post())).status;
        let b = block_on(memory.handle(&ctx, post())).status;
        assert_eq!(a, b, "{u}");
    }
    for text in UNTRANSLATABLE {
        for paged in [false, true] {
            let (status, body) = list(&sqlite, text, paged);
            let (expected_status, expected) = list(&memory, text, paged);
            assert_eq!(expected_status, 200, "{text}: {expected}");
            assert_eq!(status, 200, "{text}: {body}");
            assert_eq!(
                body["totalResults"], expected["totalResults"],
                "{text} (paged: {paged})"
            );
            let ids = |b: &Value| {
                b["Resources"]
                    .as_array()
                    .map(|a| a.iter().map(|r| r["userName"].clone()).collect::<Vec<_>>())
            };
            if paged {
                assert_eq!(ids(&body), ids(&expected), "{text}");
            }
        }
    }
}

/// Filters as wide and as deep as the parser lets through: SQLite's limits (expression
/// depth 1000, 500 terms in a compound SELECT, the parser's stack) are never reached.
#[test]
fn wide_and_deep_filters_are_not_errors() {
    let s = memory_store();
    for u in odd_users() {
        block_on(s.create("t", "User", u, vec![])).expect("create");
    }
    let all = block_on(s.query(
        "t",
        "User",
        scim_core::Query {
            filter: None,
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: None,
        },
    ))
    .expect("all")
    .resources;
    for text in wide_and_deep() {
        check_query(&s, "t", "User", &text, &all);
    }
}
