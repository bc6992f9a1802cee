//! PATCH of one email of a user with many, through the engine, for profiles (perf,
//! callgrind) of what `engine/<n>-emails/patch-one-email` in the store bench times:
//!
//!     cargo build --profile profiling -p scim-benches --example patch_emails
//!     perf record -g target/profiling/examples/patch_emails memory 25000 200
//!     perf record -g target/profiling/examples/patch_emails /tmp/e.db 25000 200
//!
//! Arguments: the store (`memory`, or a SQLite file, removed first), the number of emails,
//! the number of PATCHes, and optionally `204` to answer them without the resource
//! (`patch_no_content`) or `get` to send that many `GET /Users/{id}` of the user instead.
//! Prints the mean time of a PATCH (or GET).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use scim_core::{
    block_on, Config, Engine, MemoryStore, Method, Request, RequestContext, Store, StoreSchema,
};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::{json, Value};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn run<S: Store>(store: S, n: usize, patches: usize, mode: &str) {
    let no_content = mode == "204";
    let mut config = Config::new("https://example.com/scim/v2");
    config.max_payload = 64 << 20;
    config.patch_no_content = no_content;
    let engine = Engine::new(Registry::standard(), store, config);
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant("t");
    let emails: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("u.{i}@example.com"), "type": "work", "primary": i == 0}))
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "u", "emails": emails});
    let started = Instant::now();
    let resp = block_on(engine.handle(&ctx, Request::new(Method::Post, "/Users").with_json(&body)));
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    eprintln!("create: {:?}", started.elapsed());
    let id = resp.body_json()["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let mut old = format!("u.{}@example.com", n / 2);
    let started = Instant::now();
    if mode == "get" {
        for _ in 0..patches {
            let resp = block_on(engine.handle(&ctx, Request::new(Method::Get, path.as_str())));
            assert_eq!(resp.status, 200);
            assert!(resp.body.len() > n * 30);
        }
        eprintln!("get: {:?} each", started.elapsed() / patches.max(1) as u32);
        return;
    }
    for k in 0..patches {
        let new = format!("moved-{k}@example.net");
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": format!("emails[value eq \"{old}\"].value"),
                "value": new}]});
        let resp = block_on(engine.handle(
            &ctx,
            Request::new(Method::Patch, path.as_str()).with_json(&body),
        ));
        let expected = if no_content { 204 } else { 200 };
        assert_eq!(
            resp.status,
            expected,
            "{}",
            String::from_utf8_lossy(&resp.body)
        );
        old = new;
    }
    eprintln!(
        "patch: {:?} each",
        started.elapsed() / patches.max(1) as u32
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = args.get(1).map(String::as_str).unwrap_or("memory");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(25_000);
    let patches: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100);
    let mode = args.get(4).map_or("", String::as_str);
    if store == "memory" {
        run(MemoryStore::new(), n, patches, mode);
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{store}{suffix}"));
        }
        let schema = StoreSchema::of(&Registry::standard());
        run(SqliteStore::open(store, schema).unwrap(), n, patches, mode);
    }
}
