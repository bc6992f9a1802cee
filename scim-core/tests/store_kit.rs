//! Runs the store test kit against the in-memory reference store.

#[test]
fn memory_store_passes_the_store_suite() {
    scim_core::test_kit::run_store_suite(scim_core::MemoryStore::new);
}
