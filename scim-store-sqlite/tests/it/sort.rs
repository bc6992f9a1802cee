//! Sorting (RFC 7644 §3.4.2.3): the SQLite-backed engine lists resources in the order of the
//! engine over the in-memory reference store (the property of
//! `scim_test_support::sorting`).

use proptest::prelude::*;
use scim_core::{Config, Engine, MemoryStore, StoreSchema};
use scim_store_sqlite::SqliteStore;
use scim_test_support::sorting::{extension, registry, sorted_in_store, sorts_agree};

fn engines() -> (Engine<SqliteStore>, Engine<MemoryStore>) {
    let config = || Config::new("https://example.com/scim/v2");
    let sqlite = SqliteStore::open_in_memory(StoreSchema::of(&registry())).expect("open");
    (
        Engine::new(registry(), sqlite, config()),
        Engine::new(registry(), MemoryStore::new(), config()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sqlite_sorts_as_the_memory_store(
        users in prop::collection::vec(extension(), 0..12),
        descending in any::<bool>(),
        page in prop::option::of((1usize..6, 0usize..6)),
    ) {
        let (sqlite, memory) = engines();
        sorts_agree(&sqlite, &memory, "default", &users, descending, page);
    }
}

/// The single-valued attributes' sorts are SQL's (`sorted: true`), so the property above
/// compares SQL's order with the engine's; the multi-valued one is left to the engine.
#[test]
fn single_valued_sorts_are_pushed_down() {
    let store = SqliteStore::open_in_memory(StoreSchema::of(&registry())).expect("open");
    for (attr, sorted) in sorted_in_store(&store) {
        assert_eq!(sorted, !attr.starts_with('m'), "{attr}");
    }
}
