//! The store runs `ANALYZE` after many writes (`PostgresOptions::analyze_after_writes`): a
//! schema filled in one go gets the planner's statistics without waiting for autovacuum.

use std::time::{Duration, Instant};

use scim_core::{block_on, Store};
use scim_schema::Registry;
use scim_store_postgres::{PostgresOptions, PostgresStore};
use scim_test_support::postgres::TestSchema;
use serde_json::json;

/// Creates `n` users through a store with `options`.
fn load(options: PostgresOptions, n: usize) -> PostgresStore {
    let store = PostgresStore::connect(options, scim_core::StoreSchema::of(&Registry::standard()))
        .expect("connect");
    for i in 0..n {
        block_on(store.create("t", "User", json!({"userName": format!("u{i}")}), vec![]))
            .expect("create");
    }
    store
}

/// Whether `ANALYZE` (not autovacuum's) ran on the schema's `resources`.
fn analyzed(schema: &TestSchema) -> bool {
    schema
        .scalar(&format!(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables \
             WHERE schemaname = '{}' AND relname = 'resources'",
            schema.name()
        ))
        .as_deref()
        == Some("t")
}

#[test]
fn many_writes_bring_an_analyze() {
    let Some(schema) = TestSchema::new("analyze_on") else {
        return;
    };
    let _store = load(super::options(&schema).analyze_after_writes(100), 150);
    let start = Instant::now();
    while !analyzed(&schema) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no ANALYZE after 150 writes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn with_zero_it_is_left_to_autovacuum() {
    let Some(schema) = TestSchema::new("analyze_off") else {
        return;
    };
    let _store = load(super::options(&schema).analyze_after_writes(0), 150);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!analyzed(&schema));
}
