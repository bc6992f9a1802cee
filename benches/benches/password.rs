//! `password/<op>/<with|without>`: what storing a password costs a write through the engine
//! (in-memory store, OWASP's Argon2id parameters: 19 MiB, 2 passes, 1 lane), beside the same
//! write without one. Each request's answer is checked once before it is timed, and the
//! stored password once after: a hash that verifies, never the cleartext.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use scim_core::secret::Cleartext;
use scim_core::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext, Store};
use scim_schema::Registry;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PASSWORD: &str = "correct horse battery staple";

fn user(name: &str, password: bool) -> Value {
    let mut u = json!({"schemas": [USER], "userName": name, "displayName": "Bench User",
        "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true}]});
    if password {
        u["password"] = json!(PASSWORD);
    }
    u
}

fn status(engine: &Engine<MemoryStore>, ctx: &RequestContext, req: Request) -> (u16, Value) {
    let resp = block_on(engine.handle(ctx, req));
    (resp.status, resp.body_json())
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new(
        Registry::standard(),
        MemoryStore::new(),
        Config::new("https://example.com/scim/v2"),
    );
    let ctx = RequestContext::new(Default::default());
    let n = AtomicU64::new(0);
    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    for with in [false, true] {
        let label = if with { "with" } else { "without" };
        let (s, created) = status(
            &engine,
            &ctx,
            Request::new(Method::Post, "/Users").with_json(&user(&format!("fixed-{label}"), with)),
        );
        assert_eq!(s, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        if with {
            let stored = block_on(engine.store().get("default", "User", &id))
                .unwrap()
                .unwrap();
            let hash = stored.resource["password"].as_str().unwrap();
            assert!(!stored.resource.to_string().contains(PASSWORD));
            assert!(engine
                .config()
                .passwords
                .verify(&Cleartext::new(PASSWORD), hash)
                .unwrap());
        }
        group.bench_function(format!("create/{label}"), |b| {
            b.iter(|| {
                let name = format!("u{}", n.fetch_add(1, Ordering::Relaxed));
                let (s, _) = status(
                    &engine,
                    &ctx,
                    Request::new(Method::Post, "/Users").with_json(&user(&name, with)),
                );
                assert_eq!(s, 201);
            })
        });
        group.bench_function(format!("put/{label}"), |b| {
            b.iter(|| {
                let (s, _) = status(
                    &engine,
                    &ctx,
                    Request::new(Method::Put, format!("/Users/{id}"))
                        .with_json(&user(&format!("fixed-{label}"), with)),
                );
                assert_eq!(s, 200);
            })
        });
        let op = if with {
            json!({"op": "replace", "path": "password", "value": PASSWORD})
        } else {
            json!({"op": "replace", "path": "displayName", "value": "Renamed"})
        };
        group.bench_function(format!("patch/{label}"), |b| {
            b.iter(|| {
                let (s, _) = status(
                    &engine,
                    &ctx,
                    Request::new(Method::Patch, format!("/Users/{id}"))
                        .with_json(&json!({"schemas": [PATCH_OP], "Operations": [op]})),
                );
                assert_eq!(s, 200);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
