//! One engine shared by 100 threads: each PATCH adds a distinct member to the same Group
//! at the same moment; optimistic retries must make every PATCH succeed and lose none.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;

use scim_core::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext};
use serde_json::{json, Value};

const THREADS: usize = 100;

fn ctx() -> RequestContext {
    RequestContext::new(chrono::DateTime::UNIX_EPOCH)
}

fn send(engine: &Engine<MemoryStore>, req: Request) -> (u16, Value) {
    let resp = block_on(engine.handle(&ctx(), req));
    (resp.status, resp.body_json())
}

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine<MemoryStore>>();
}

#[test]
fn hundred_threads_add_one_member_each() {
    let engine = Arc::new(Engine::new(
        scim_schema::Registry::standard(),
        MemoryStore::new(),
        Config::new("https://example.com/scim/v2"),
    ));
    let ids: Vec<String> = (0..THREADS)
        .map(|i| {
            let (status, body) = send(
                &engine,
                Request::new(Method::Post, "/Users").with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("member{i}")})),
            );
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let (status, group) = send(
        &engine,
        Request::new(Method::Post, "/Groups").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Crowd"})),
    );
    assert_eq!(status, 201, "{group}");
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());

    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = ids
        .iter()
        .cloned()
        .map(|id| {
            let engine = Arc::clone(&engine);
            let barrier = Arc::clone(&barrier);
            let path = path.clone();
            thread::spawn(move || {
                let req = Request::new(Method::Patch, path).with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]}));
                barrier.wait();
                let resp = block_on(engine.handle(&ctx(), req));
                (id, resp.status, resp.body_json())
            })
        })
        .collect();
    let results: Vec<(String, u16, Value)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let failed: Vec<_> = results.iter().filter(|(_, s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {THREADS} PATCHes failed, first: {:?}",
        failed.len(),
        failed.first()
    );

    let (status, group) = send(&engine, Request::new(Method::Get, path.as_str()));
    assert_eq!(status, 200, "{group}");
    let members: Vec<String> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(members.len(), THREADS, "{group}");
    let got: BTreeSet<&String> = members.iter().collect();
    let want: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(got, want);
    // 1 for the POST, then one version per PATCH.
    assert_eq!(group["meta"]["version"], format!("W/\"{}\"", THREADS + 1));
}
