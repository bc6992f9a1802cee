//! `core/<op>/<n>`: whole requests through the engine over a `MemoryStore` holding the shared
//! workload's 10,000 users, and 100,000 (the workload ten times, with distinct userNames and
//! externalIds). Each request's response is checked once before it is timed. Then
//! `core/group/*`: reading a 100,000-member Group, with and without `members.display`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use scim_benches::{Workload, WorkloadFilter};
use scim_core::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext, Store};
use scim_schema::Registry;
use serde_json::{json, Value};

const BASE: &str = "https://example.com/scim/v2";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn send(engine: &Engine<MemoryStore>, ctx: &RequestContext, req: Request) -> (u16, Value) {
    let resp = block_on(engine.handle(ctx, req));
    (resp.status, resp.body_json())
}

/// POSTs every workload user `replicas` times (copy `r > 0` gets `r<r>.` before its userName
/// and `-r<r>` after its externalId); returns the ids in order.
fn load(
    engine: &Engine<MemoryStore>,
    ctx: &RequestContext,
    users: &[Value],
    replicas: usize,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(users.len() * replicas);
    for r in 0..replicas {
        for user in users {
            let mut u = user.clone();
            let m = u.as_object_mut().unwrap();
            m.remove("id");
            m.remove("meta");
            if r > 0 {
                let name = format!("r{r}.{}", m["userName"].as_str().unwrap());
                m.insert("userName".into(), json!(name));
                if let Some(ext) = m.get("externalId").and_then(Value::as_str) {
                    let ext = format!("{ext}-r{r}");
                    m.insert("externalId".into(), json!(ext));
                }
            }
            let (status, body) = send(
                engine,
                ctx,
                Request::new(Method::Post, "/Users").with_json(&u),
            );
            assert_eq!(status, 201, "{body}");
            ids.push(body["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

fn filter<'w>(workload: &'w Workload, id: &str) -> &'w WorkloadFilter {
    workload.filters.iter().find(|f| f.id == id).unwrap()
}

fn users(
    c: &mut Criterion,
    workload: &Workload,
    replicas: usize,
) -> (Engine<MemoryStore>, Vec<String>) {
    let n = workload.users.len() * replicas;
    let label = format!("{}k", n / 1000);
    let ctx = RequestContext::new(Default::default());
    let engine = Engine::new(Registry::standard(), MemoryStore::new(), Config::new(BASE));
    let started = Instant::now();
    let ids = load(&engine, &ctx, &workload.users, replicas);
    eprintln!("core: loaded {n} users in {:.2?}", started.elapsed());
    assert_eq!(engine.store().len("default", "User"), n);

    // GET one workload user (in the middle of the store).
    let get_id = &ids[n / 2];
    let get = Request::new(Method::Get, format!("/Users/{get_id}"));
    let (status, body) = send(&engine, &ctx, get.clone());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], json!(get_id));
    let mut g = c.benchmark_group("core/get");
    g.bench_function(&label, |b| {
        b.iter(|| block_on(engine.handle(&ctx, get.clone())))
    });
    g.finish();

    // PATCH replace displayName on a user of our own (its names match neither list filter);
    // each iteration writes a new value, so every PATCH really stores a new version.
    let (status, target) = send(
        &engine,
        &ctx,
        Request::new(Method::Post, "/Users").with_json(&json!({
            "schemas": [USER], "userName": "bench.target@example.net", "displayName": "Bench Target"})),
    );
    assert_eq!(status, 201, "{target}");
    let target_path = format!("/Users/{}", target["id"].as_str().unwrap());
    let patch = |i: u64| {
        Request::new(Method::Patch, target_path.as_str()).with_json(&json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": format!("Bench Target {i}")}]}))
    };
    let (status, body) = send(&engine, &ctx, patch(0));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "Bench Target 0");
    let mut i = 0;
    let mut g = c.benchmark_group("core/patch");
    g.bench_function(format!("replace-displayName/{label}"), |b| {
        b.iter(|| {
            i += 1;
            let resp = block_on(engine.handle(&ctx, patch(i)));
            assert_eq!(resp.status, 200);
            resp
        })
    });
    g.finish();

    // Filtered lists: one userName (f01, one match) and a `co` (f11) paged to 20.
    let eq = filter(workload, "f01");
    let co = filter(workload, "f11");
    let list_eq = Request::new(Method::Get, "/Users").with_query("filter", eq.filter.as_str());
    let list_co = Request::new(Method::Get, "/Users")
        .with_query("filter", co.filter.as_str())
        .with_query("count", "20");
    let (status, body) = send(&engine, &ctx, list_eq.clone());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], json!(eq.count), "{}", eq.filter);
    assert_eq!(
        body["Resources"][0]["userName"],
        "paul.johnson1030@example.com"
    );
    let (status, body) = send(&engine, &ctx, list_co.clone());
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["totalResults"],
        json!(co.count * replicas as u64),
        "{}",
        co.filter
    );
    assert_eq!(body["itemsPerPage"], 20);
    let mut g = c.benchmark_group("core/list");
    if replicas > 1 {
        g.sample_size(20);
    }
    g.bench_function(format!("eq-userName/{label}"), |b| {
        b.iter(|| block_on(engine.handle(&ctx, list_eq.clone())))
    });
    g.bench_function(format!("co-displayName-count20/{label}"), |b| {
        b.iter(|| block_on(engine.handle(&ctx, list_co.clone())))
    });
    g.finish();

    // POST a new user per iteration (the store grows by the iterations run; last, so the
    // checks above saw exactly the workload).
    let create = |i: u64| {
        Request::new(Method::Post, "/Users").with_json(&json!({
            "schemas": [USER], "userName": format!("bench.create.{i}@example.net"),
            "name": {"givenName": "Bench", "familyName": "Create"}, "displayName": "Bench Create",
            "emails": [{"value": format!("bench.create.{i}@example.net"), "type": "work", "primary": true}],
            "active": true}))
    };
    let (status, body) = send(&engine, &ctx, create(0));
    assert_eq!(status, 201, "{body}");
    let mut i = 0;
    let mut g = c.benchmark_group("core/create");
    g.bench_function(&label, |b| {
        b.iter(|| {
            i += 1;
            let resp = block_on(engine.handle(&ctx, create(i)));
            assert_eq!(resp.status, 201);
            resp
        })
    });
    g.finish();
    (engine, ids)
}

/// A Group whose members are the first 100,000 users, stored directly (the body is larger
/// than the engine's request limit), then read with and without `members.display`.
fn group(c: &mut Criterion, engine: &Engine<MemoryStore>, ids: &[String]) {
    let ctx = RequestContext::new(Default::default());
    let members: Vec<Value> = ids[..100_000]
        .iter()
        .map(|id| json!({"value": id, "type": "User", "$ref": format!("{BASE}/Users/{id}")}))
        .collect();
    let resource = json!({"schemas": [GROUP], "displayName": "Everyone", "members": members,
        "meta": {"resourceType": "Group", "created": "2024-01-01T00:00:00.000Z",
                 "lastModified": "2024-01-01T00:00:00.000Z"}});
    let stored = block_on(
        engine
            .store()
            .create("default", "Group", resource, Vec::new()),
    )
    .unwrap();
    let path = format!("/Groups/{}", stored.id);
    let plain = Request::new(Method::Get, path.as_str());
    let excluded = Request::new(Method::Get, path.as_str())
        .with_query("excludedAttributes", "members.display");
    let (status, body) = send(engine, &ctx, plain.clone());
    assert_eq!(status, 200);
    let got = body["members"].as_array().unwrap();
    assert_eq!(got.len(), 100_000);
    let with_display = got.iter().filter(|m| m.get("display").is_some()).count();
    eprintln!("core/group: plain read shows display on {with_display} of 100000 members");
    let (status, body) = send(engine, &ctx, excluded.clone());
    assert_eq!(status, 200);
    let got = body["members"].as_array().unwrap();
    assert_eq!(got.len(), 100_000);
    assert!(got.iter().all(|m| m.get("display").is_none()));
    assert!(got.iter().all(|m| m["value"].is_string()));

    let mut g = c.benchmark_group("core/group");
    g.sample_size(10);
    g.bench_function("get-100k-members", |b| {
        b.iter(|| block_on(engine.handle(&ctx, plain.clone())))
    });
    g.bench_function("get-100k-members-excluded-display", |b| {
        b.iter(|| block_on(engine.handle(&ctx, excluded.clone())))
    });
    g.finish();

    // A member of that group, read by id (`User.groups` may be derived at read time).
    let member = Request::new(Method::Get, format!("/Users/{}", ids[50_000]));
    let (status, body) = send(engine, &ctx, member.clone());
    assert_eq!(status, 200, "{body}");
    let mut g = c.benchmark_group("core/get");
    g.sample_size(20);
    g.bench_function("100k-member-of-100k-group", |b| {
        b.iter(|| block_on(engine.handle(&ctx, member.clone())))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let workload = match Workload::load() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("skipping core benches: {e}");
            return;
        }
    };
    drop(users(c, &workload, 1));
    let (engine, ids) = users(c, &workload, 10);
    group(c, &engine, &ids);
}

criterion_group!(core_benches, benches);
criterion_main!(core_benches);
