//! `peers/parse/<id>/<impl>` and `peers/eval/<id>/<impl>`: our `scim-filter` beside
//! `scim-filter` 0.2 and `scim_v2` from crates.io, on every filter of the shared workload that
//! each implementation can handle.
//!
//! Setup first checks every implementation's answer against `expected.json`: a wrong answer
//! from ours aborts the run; a peer's parse error, panic or wrong answer is recorded and
//! printed in a summary table on stderr. A peer's eval is timed whenever it parsed, right or
//! wrong (the summary says which). `scim_v2` only parses, so it has no eval benches.

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scim_benches::Workload;
use scim_peer_benches::{
    peer_matches, peer_parse, prepare, scim_v2_parse, summary_table, OURS, PEER_SCIM_FILTER,
    SCIM_V2,
};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let workload = Workload::load().expect("the shared workload loads (or set SCIM_WORKLOAD_DIR)");
    let prepared = prepare(&workload);
    let reports: Vec<_> = prepared.iter().map(|p| p.report.clone()).collect();
    eprintln!(
        "\npeer correctness on {} users (an Err from a peer's evaluator reads as no match):\n\n{}",
        workload.users.len(),
        summary_table(&reports)
    );

    let mut parse = c.benchmark_group("peers/parse");
    for p in &prepared {
        let text = p.filter.filter.as_str();
        parse.bench_function(BenchmarkId::new(&p.filter.id, OURS), |b| {
            b.iter(|| scim_filter::Filter::parse(black_box(text)))
        });
        if p.report.peer_scim_filter.0.is_ok() {
            parse.bench_function(BenchmarkId::new(&p.filter.id, PEER_SCIM_FILTER), |b| {
                b.iter(|| peer_parse(black_box(text)))
            });
        }
        if p.scim_v2.is_some() {
            parse.bench_function(BenchmarkId::new(&p.filter.id, SCIM_V2), |b| {
                b.iter(|| scim_v2_parse(black_box(text)))
            });
        }
    }
    parse.finish();

    let users = workload.users.as_slice();
    let mut eval = c.benchmark_group("peers/eval");
    eval.throughput(Throughput::Elements(users.len() as u64));
    for p in &prepared {
        let ours = &p.ours;
        eval.bench_function(BenchmarkId::new(&p.filter.id, OURS), |b| {
            b.iter(|| users.iter().filter(|u| ours.matches(u)).count())
        });
        if let Some(peer) = &p.peer_scim_filter {
            eval.bench_function(BenchmarkId::new(&p.filter.id, PEER_SCIM_FILTER), |b| {
                b.iter(|| users.iter().filter(|u| peer_matches(peer, u)).count())
            });
        }
    }
    eval.finish();
}

criterion_group!(peer_benches, benches);
criterion_main!(peer_benches);
