use std::sync::Mutex;

use scim_test_support::postgres::TestSchema;

use super::store_in;

/// Every check of the store kit, each on a store in a fresh schema (all dropped at the end,
/// also when a check fails).
#[test]
fn postgres_passes_the_store_suite() {
    let Some(probe) = TestSchema::new("suite") else {
        return;
    };
    let schemas = Mutex::new(vec![probe]);
    scim_core::test_kit::run_store_suite(|| {
        let schema = TestSchema::new("suite").expect("the server answered a moment ago");
        let store = store_in(&schema);
        schemas.lock().unwrap().push(schema);
        store
    });
}
