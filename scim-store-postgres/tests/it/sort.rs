//! Sorting (RFC 7644 §3.4.2.3): the PostgreSQL-backed engine lists resources in the order
//! of the engine over the in-memory reference store (the property of
//! `scim_test_support::sorting`, as for the SQLite store), a tenant per case.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use scim_core::{Config, Engine, MemoryStore, StoreSchema};
use scim_store_postgres::PostgresStore;
use scim_test_support::postgres::TestSchema;
use scim_test_support::sorting::{extension, registry, sorted_in_store, sorts_agree};

use super::options;

fn store(schema: &TestSchema) -> PostgresStore {
    PostgresStore::connect(options(schema), StoreSchema::of(&registry())).expect("connect")
}

#[test]
fn postgres_sorts_as_the_memory_store() {
    let Some(schema) = TestSchema::new("sort") else {
        return;
    };
    let config = || Config::new("https://example.com/scim/v2");
    let postgres = Engine::new(registry(), store(&schema), config());
    let memory = Engine::new(registry(), MemoryStore::new(), config());
    let strategy = (
        prop::collection::vec(extension(), 0..12),
        any::<bool>(),
        prop::option::of((1usize..6, 0usize..6)),
    );
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = TestRunner::new(RunnerConfig::with_cases(64)).run(
        &strategy,
        |(users, descending, page)| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tenant = format!("t{n}");
            sorts_agree(&postgres, &memory, &tenant, &users, descending, page);
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    // The cases created users (the property compares orders of something).
    let created: usize = schema
        .scalar("SELECT count(*) FROM resources")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(created > 64, "{created} users created");
}

/// Sorts by the single-valued string and boolean attributes are SQL's (`sorted: true`), so
/// the property above compares SQL's order with the engine's; numbers, dateTimes and the
/// multi-valued attribute are left to the engine.
#[test]
fn string_and_boolean_sorts_are_pushed_down() {
    let Some(schema) = TestSchema::new("sort_pushed") else {
        return;
    };
    for (attr, sorted) in sorted_in_store(&store(&schema)) {
        assert_eq!(sorted, ["s", "x", "b"].contains(&attr), "{attr}");
    }
}
