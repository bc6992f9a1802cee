//! New ids: version-7 UUIDs by default (time first, so that they land at the end of every
//! B-tree keyed by id), version-4 with `time_ordered_ids(false)`. That neither can be
//! guessed from another is the store suite's `hostile` check, run on every store.

use scim_core::{block_on, Store};
use scim_schema::Registry;
use scim_store_postgres::{PostgresOptions, PostgresStore};
use scim_test_support::postgres::TestSchema;
use serde_json::json;

fn four_ids(options: PostgresOptions) -> Vec<String> {
    let store = PostgresStore::connect(options, scim_core::StoreSchema::of(&Registry::standard()))
        .expect("connect");
    (0..4)
        .map(|n| {
            block_on(store.create("t", "User", json!({"userName": format!("u{n}")}), vec![]))
                .expect("create")
                .id
        })
        .collect()
}

#[test]
fn ids_are_time_ordered_unless_asked_otherwise() {
    let Some(schema) = TestSchema::new("ids") else {
        return;
    };
    scim_test_support::assert_time_ordered(&four_ids(super::options(&schema)));

    let random = four_ids(super::options(&schema).time_ordered_ids(false));
    for id in &random {
        assert_eq!(&id[14..15], "4", "{id}");
    }
}
