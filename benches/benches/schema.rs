//! `schema/validate/*` and `schema/project/*` on an enterprise User of the shared workload.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use scim_benches::Workload;
use scim_schema::{Projection, Registry, ValidationOptions};
use serde_json::Value;

fn benches(c: &mut Criterion) {
    let workload = match Workload::load() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("skipping schema benches: {e}");
            return;
        }
    };
    let registry = Registry::standard();
    let users = registry.resource_type("User").expect("User");
    let options = ValidationOptions::default();
    // The workload user with the most attributes, enterprise extension included.
    let user = workload
        .users
        .iter()
        .filter(|u| {
            u.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
                .is_some()
        })
        .max_by_key(|u| u.to_string().len())
        .expect("an enterprise user")
        .clone();
    let text = serde_json::to_string(&user).expect("serialise");
    users
        .check_resource(user.clone(), &options)
        .expect("workload user is valid");
    users
        .validate_create(user.clone(), &options)
        .expect("workload user is valid input");

    let mut g = c.benchmark_group("schema/validate");
    // Validation takes the parsed body by value and normalises it in place; the clone that
    // feeds each iteration is not timed.
    g.bench_function("create-parsed", |b| {
        b.iter_batched(
            || user.clone(),
            |u| users.validate_create(u, &options),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("stored-parsed", |b| {
        b.iter_batched(
            || user.clone(),
            |u| users.check_resource(u, &options),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("clone-only", |b| {
        b.iter(|| std::hint::black_box(&user).clone())
    });
    g.bench_function("create-from-text", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_str(std::hint::black_box(&text)).expect("json");
            users.validate_create(v, &options).map(|v| v.resource)
        })
    });
    g.bench_function("serde-parse-only", |b| {
        b.iter(|| serde_json::from_str::<Value>(std::hint::black_box(&text)).expect("json"))
    });
    g.finish();

    let mut g = c.benchmark_group("schema/project");
    let default = Projection::default_for(&users);
    let some = Projection::parse(&users, Some("userName,name.givenName,emails.value"), None)
        .expect("parse");
    let excluded = Projection::parse(
        &users,
        None,
        Some("emails,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
    )
    .expect("parse");
    g.bench_function("default", |b| {
        b.iter(|| default.apply(std::hint::black_box(&user)))
    });
    g.bench_function("attributes", |b| {
        b.iter(|| some.apply(std::hint::black_box(&user)))
    });
    g.bench_function("excludedAttributes", |b| {
        b.iter(|| excluded.apply(std::hint::black_box(&user)))
    });
    g.bench_function("parse-attributes", |b| {
        b.iter(|| {
            Projection::parse(
                &users,
                Some(std::hint::black_box("userName,name.givenName,emails.value")),
                None,
            )
        })
    });
    g.finish();
}

criterion_group!(schema_benches, benches);
criterion_main!(schema_benches);
