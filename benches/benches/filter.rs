//! `filter/parse/<id>` and `filter/eval/<id>` for every filter of the shared workload.
//! Each compiled filter is checked against `expected.json` (count and idxsum) before it is
//! timed; a wrong answer aborts the run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use scim_benches::{count_and_idxsum, Workload};
use scim_filter::{CompiledFilter, Filter};

fn benches(c: &mut Criterion) {
    let workload = match Workload::load() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("skipping filter benches: {e}");
            return;
        }
    };
    let mut parse = c.benchmark_group("filter/parse");
    for f in &workload.filters {
        parse.bench_function(&f.id, |b| {
            b.iter(|| Filter::parse(std::hint::black_box(&f.filter)))
        });
    }
    parse.finish();

    let mut compile = c.benchmark_group("filter/compile");
    for f in workload
        .filters
        .iter()
        .filter(|f| f.id == "f01" || f.id == "f34")
    {
        let filter = Filter::parse(&f.filter).expect("workload filter parses");
        compile.bench_function(&f.id, |b| {
            b.iter_batched(
                || filter.clone(),
                |f| CompiledFilter::compile_schemaless(&f),
                BatchSize::SmallInput,
            )
        });
    }
    compile.finish();

    // The floor: serde_json's own lookup plus a plain `contains`, no filter at all.
    let mut floor = c.benchmark_group("filter/floor");
    floor.throughput(Throughput::Elements(workload.users.len() as u64));
    floor.bench_function("userName-contains", |b| {
        b.iter(|| {
            workload
                .users
                .iter()
                .filter(|u| {
                    u.get("userName")
                        .and_then(|v| v.as_str())
                        .is_some_and(|s| s.contains(std::hint::black_box("son")))
                })
                .count()
        })
    });
    floor.bench_function("userName-scan-contains", |b| {
        b.iter(|| {
            workload
                .users
                .iter()
                .filter(|u| {
                    u.as_object()
                        .and_then(|o| {
                            o.iter()
                                .find(|(k, _)| k.len() == 8 && k.as_str() == "userName")
                                .map(|(_, v)| v)
                        })
                        .and_then(|v| v.as_str())
                        .is_some_and(|s| s.contains(std::hint::black_box("son")))
                })
                .count()
        })
    });
    floor.finish();

    let mut eval = c.benchmark_group("filter/eval");
    eval.throughput(Throughput::Elements(workload.users.len() as u64));
    for f in &workload.filters {
        let filter = Filter::parse(&f.filter).expect("workload filter parses");
        let compiled =
            CompiledFilter::compile_schemaless(&filter).expect("workload filter compiles");
        let got = count_and_idxsum(&workload.users, |u| compiled.matches(u));
        assert_eq!(
            got,
            (f.count, f.idxsum),
            "{} ({}) `{}`: (count, idxsum) differs from expected.json",
            f.id,
            f.class,
            f.filter
        );
        eval.bench_function(&f.id, |b| {
            b.iter(|| {
                workload
                    .users
                    .iter()
                    .filter(|u| compiled.matches(u))
                    .count()
            })
        });
    }
    eval.finish();
}

criterion_group!(filter_benches, benches);
criterion_main!(filter_benches);
