//! Random filters over random resources: whatever SQL answers (`filtered: true`) equals the
//! in-memory evaluator. Users cover the indexed attributes (`userName`, `externalId`,
//! `displayName`, `emails.value`, `id`, including documents whose `id` is not their row id);
//! groups cover out-of-line `members` (regular, irregular and inline shapes).

use proptest::prelude::*;
use scim_filter::Filter;
use scim_test_support::filters::{
    change, filter, group, group_filter, groups_agree, id_change, resource, substring_filter,
    substrings_agree, text_user, users_agree,
};

use super::{capped_store, memory_store};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sql_agrees_with_the_evaluator(
        resources in prop::collection::vec((resource(), id_change()), 0..8),
        filters in prop::collection::vec(filter(), 1..6),
    ) {
        users_agree(&memory_store(), "t", resources, filters);
    }

    #[test]
    fn sql_agrees_with_the_evaluator_on_groups(
        groups in prop::collection::vec(group(), 0..6),
        filters in prop::collection::vec(group_filter(), 1..6),
    ) {
        groups_agree(&memory_store(), "t", groups, filters);
    }

    /// `co`, `sw`, `ew` (and `eq`) on the indexed attributes, through the trigram index and
    /// the key scans, equal the evaluator after creates, replaces and deletes.
    #[test]
    fn substring_filters_agree_with_the_evaluator(
        users in prop::collection::vec((text_user(), change()), 0..8),
        filters in prop::collection::vec(substring_filter(), 1..6),
    ) {
        substrings_agree(&memory_store(), "t", users, filters);
    }

    /// The same, with resources over the index cap (one value per attribute) beside
    /// resources under it: the capped ones are read apart and the answer is the same.
    #[test]
    fn capped_resources_agree_with_the_evaluator(
        resources in prop::collection::vec((resource(), id_change()), 0..8),
        filters in prop::collection::vec(filter(), 1..6),
    ) {
        users_agree(&capped_store(), "t", resources, filters);
    }

    #[test]
    fn capped_substring_filters_agree_with_the_evaluator(
        users in prop::collection::vec((text_user(), change()), 0..8),
        filters in prop::collection::vec(substring_filter(), 1..6),
    ) {
        substrings_agree(&capped_store(), "t", users, filters);
    }
}

/// How many of the filters `strategy` draws compile for `rt` (the others are skipped by the
/// properties above, as the engine would refuse them).
fn compiling_share(strategy: impl Strategy<Value = Filter>, rt: &str) -> (usize, usize) {
    use proptest::strategy::ValueTree;
    let registry = scim_schema::Registry::standard();
    let rt = registry.resource_type(rt).expect("resource type");
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let total = 2_000;
    let compiled = (0..total)
        .filter(|_| {
            let f = strategy.new_tree(&mut runner).expect("draw").current();
            scim_filter::CompiledFilter::compile(&f, &rt).is_ok()
        })
        .count();
    (compiled, total)
}

/// The properties cannot pass by skipping: most filters they draw reach the store.
#[test]
fn the_properties_check_most_filters_they_draw() {
    for (name, (compiled, total)) in [
        ("User", compiling_share(filter(), "User")),
        ("Group", compiling_share(group_filter(), "Group")),
    ] {
        eprintln!("{name}: {compiled} of {total} drawn filters compile and are checked");
        assert!(
            compiled * 10 >= total * 7,
            "{name}: only {compiled} of {total} drawn filters compile"
        );
    }
}
