//! `patch/apply/<id>` for every PATCH of the shared workload (each result checked first), and
//! the large-group cases: one member added and removed on 100,000 members.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use scim_benches::Workload;
use scim_patch::{PatchOptions, PatchRequest, Patcher};
use scim_schema::Registry;
use serde_json::{json, Value};

fn values(v: &Value, attr: &str) -> Vec<String> {
    v[attr]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What each workload PATCH must do (from the request's intent and `check`).
fn check(id: &str, before: &Value, after: &Value, check: &Value) {
    let ids = |k: &str| -> Vec<String> {
        check[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    match id {
        "p01" => assert_eq!(after["displayName"], "Barbara J. Jensen"),
        "p02" => assert_eq!(after["active"], false),
        "p03" => {
            let emails = after["emails"].as_array().unwrap();
            let primaries: Vec<&Value> = emails.iter().filter(|e| e["primary"] == true).collect();
            assert_eq!(primaries.len(), 1, "{emails:?}");
            assert_eq!(primaries[0]["value"], "new.primary@example.com");
        }
        "p04" => {
            let work: Vec<&Value> = after["emails"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "work")
                .collect();
            assert!(work.iter().all(|e| e["value"] == "changed@example.com"));
            assert!(!work.is_empty());
        }
        "p05" => {
            let phones = values(after, "phoneNumbers");
            assert!(phones.iter().all(|p| !p.ends_with("01")), "{phones:?}");
            assert_eq!(
                phones.len(),
                values(before, "phoneNumbers")
                    .iter()
                    .filter(|p| !p.ends_with("01"))
                    .count()
            );
        }
        "p06" => {
            assert_eq!(after["active"], false);
            assert_eq!(after["displayName"], "Okta Name");
            assert_eq!(after["title"], "Staff Engineer");
        }
        "p07" => assert_eq!(after[ext]["department"], "R&D"),
        "p08" => {
            assert_eq!(after["name"]["givenName"], "Babs");
            assert_eq!(after["title"], "Tour Guide");
            assert!(after[ext].get("costCenter").is_none());
        }
        "p09" => {
            let members = values(after, "members");
            assert_eq!(members.len(), values(before, "members").len() + 100);
            assert!(ids("add_ids").iter().all(|i| members.contains(i)));
        }
        "p10" | "p11" => {
            let members = values(after, "members");
            assert_eq!(members.len(), values(before, "members").len() - 100);
            assert!(ids("rm_ids").iter().all(|i| !members.contains(i)));
        }
        other => panic!("no check for {other}"),
    }
}

fn benches(c: &mut Criterion) {
    let workload = match Workload::load() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("skipping patch benches: {e}");
            return;
        }
    };
    let registry = Registry::standard();
    let options = PatchOptions::lenient();
    let patches = &workload.patches;
    let mut g = c.benchmark_group("patch/apply");
    let mut hot = Vec::new();
    for p in patches["patches"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let target = p["target"].as_str().unwrap();
        let rt = registry
            .resource_type(if target == "user" { "User" } else { "Group" })
            .unwrap();
        let patcher = Patcher::new(rt, options);
        let request = PatchRequest::from_json(&p["request"], &options).unwrap();
        let before = patches[target].clone();
        let mut after = before.clone();
        patcher
            .apply(&mut after, &request)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        check(id, &before, &after, &patches["check"]);
        g.bench_function(format!("{id}-{}", p["name"].as_str().unwrap()), |b| {
            b.iter_batched_ref(
                || before.clone(),
                |r| patcher.apply(r, &request).map(|o| o.changed),
                BatchSize::SmallInput,
            )
        });
        if target == "group" {
            hot.push((
                format!("{id}-{}", p["name"].as_str().unwrap()),
                patcher.clone(),
                request,
                before,
            ));
        }
    }
    g.finish();

    // The group PATCHes on a group copied just before, as the engine applies a PATCH right
    // after reading the resource: with `SmallInput` criterion first makes a whole batch of
    // 1,000-member copies, which leaves each one out of the cache when its turn comes.
    let mut g = c.benchmark_group("patch/apply-hot");
    for (name, patcher, request, before) in &hot {
        g.bench_function(name.as_str(), |b| {
            b.iter_batched_ref(
                || before.clone(),
                |r| patcher.apply(r, request).map(|o| o.changed),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();

    // The same work without a fresh copy per iteration: remove the 100 members of p10 and
    // add them back (the group returns to its state), on the 1,000-member group.
    let mut g = c.benchmark_group("patch/cycle");
    let groups = registry.resource_type("Group").unwrap();
    let patcher = Patcher::new(groups, options);
    let by_id = |id: &str| {
        let p = patches["patches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap();
        PatchRequest::from_json(&p["request"], &options).unwrap()
    };
    let removed: Vec<Value> = patches["group"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            patches["check"]["rm_ids"]
                .as_array()
                .unwrap()
                .contains(&m["value"])
        })
        .cloned()
        .collect();
    let readd = PatchRequest::from_json(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": removed}]}),
        &options,
    )
    .unwrap();
    let mut group = patches["group"].clone();
    for id in ["p10", "p11"] {
        let remove = by_id(id);
        g.bench_function(format!("{id}-then-readd-100-on-1000"), |b| {
            b.iter(|| {
                patcher.apply(&mut group, &remove).unwrap();
                patcher.apply(&mut group, &readd).unwrap();
            })
        });
    }
    g.finish();

    // 100,000 members: add one, remove one.
    let groups = registry.resource_type("Group").unwrap();
    let patcher = Patcher::new(groups, PatchOptions::default());
    let members: Vec<Value> = (0..100_000)
        .map(|i| json!({"value": format!("{:08x}-0000-4000-8000-{:012x}", i, i), "display": format!("member {i}"), "type": "User"}))
        .collect();
    let mut big = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "big", "displayName": "Everyone", "members": members});
    let msg = |ops: Value| {
        PatchRequest::from_json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}), &PatchOptions::default()).unwrap()
    };
    let add = msg(
        json!([{"op": "add", "path": "members", "value": [{"value": "ffffffff-0000-4000-8000-000000000001", "type": "User"}]}]),
    );
    let remove = msg(
        json!([{"op": "remove", "path": "members[value eq \"ffffffff-0000-4000-8000-000000000001\"]"}]),
    );
    let remove_existing = msg(
        json!([{"op": "remove", "path": "members[value eq \"0000c350-0000-4000-8000-00000000c350\"]"}]),
    );
    let readd_existing = msg(
        json!([{"op": "add", "path": "members", "value": [{"value": "0000c350-0000-4000-8000-00000000c350", "display": "member 50000", "type": "User"}]}]),
    );
    assert!(patcher.apply(&mut big, &add).unwrap().changed);
    assert_eq!(big["members"].as_array().unwrap().len(), 100_001);
    assert!(patcher.apply(&mut big, &remove).unwrap().changed);
    assert_eq!(big["members"].as_array().unwrap().len(), 100_000);
    let mut g = c.benchmark_group("patch/large");
    g.sample_size(20);
    g.bench_function("add1-then-remove1-100k", |b| {
        b.iter(|| {
            patcher.apply(&mut big, &add).unwrap();
            patcher.apply(&mut big, &remove).unwrap();
        })
    });
    g.bench_function("remove1-then-add1-100k", |b| {
        b.iter(|| {
            patcher.apply(&mut big, &remove_existing).unwrap();
            patcher.apply(&mut big, &readd_existing).unwrap();
        })
    });
    // The floor: one pass over the members reading each `value`, nothing else.
    g.bench_function("floor-scan-values-100k", |b| {
        b.iter(|| {
            big["members"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| {
                    m.get("value").and_then(Value::as_str)
                        == Some(std::hint::black_box("ffffffff-0000-4000-8000-000000000001"))
                })
                .count()
        })
    });
    // The same PATCHes for members kept out of line (`Patcher::split`; how the SQLite store
    // keeps them): the split, then the change by key on a table of the 100,000 members.
    let mut table: std::collections::HashMap<String, Value> = big["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["value"].as_str().unwrap().to_lowercase(), m.clone()))
        .collect();
    let by_key = |table: &mut std::collections::HashMap<String, Value>, req: &PatchRequest| {
        let split = patcher.split(req, "members").unwrap().unwrap();
        assert!(split.rest.operations.is_empty() && !split.clear);
        let mut changed = false;
        for v in &split.removed {
            changed |= table.remove(&v.to_lowercase()).is_some();
        }
        for m in split.added {
            let key = m["value"].as_str().unwrap().to_lowercase();
            if let std::collections::hash_map::Entry::Vacant(e) = table.entry(key) {
                e.insert(m);
                changed = true;
            }
        }
        changed
    };
    assert!(by_key(&mut table, &add));
    assert_eq!(table.len(), 100_001);
    assert!(by_key(&mut table, &remove));
    assert_eq!(table.len(), 100_000);
    g.bench_function("split-add1-then-remove1-100k", |b| {
        b.iter(|| {
            by_key(&mut table, &add);
            by_key(&mut table, &remove);
        })
    });
    g.bench_function("add1-100k", |b| {
        b.iter_batched_ref(
            || big.clone(),
            |r| patcher.apply(r, &add).map(|o| o.changed),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(patch_benches, benches);
criterion_main!(patch_benches);
