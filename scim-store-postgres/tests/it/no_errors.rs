//! Filters the engine accepts never make the store fail (the SQLite store's cases, from
//! `scim_test_support::filters`): what SQL cannot express exactly is reported as not
//! applied, and filters as wide and as deep as the parser lets through stay within
//! PostgreSQL's limits (parameters, stack depth).

use scim_core::test_kit::check_query;
use scim_core::{block_on, Query, Store};
use scim_test_support::filters::{odd_users, wide_and_deep, UNTRANSLATABLE};
use scim_test_support::postgres::TestSchema;

use super::store_in;

#[test]
fn untranslatable_wide_and_deep_filters_are_not_errors() {
    let Some(schema) = TestSchema::new("no_errors") else {
        return;
    };
    let s = store_in(&schema);
    for u in odd_users() {
        block_on(s.create("t", "User", u, vec![])).expect("create");
    }
    let everything = Query {
        filter: None,
        sort: None,
        start_index: 1,
        count: usize::MAX,
        attributes: None,
    };
    let all = block_on(s.query("t", "User", everything))
        .expect("all")
        .resources;
    for text in UNTRANSLATABLE {
        // Panics on a store error or an answer other than the evaluator's.
        check_query(&s, "t", "User", text, &all);
    }
    for text in wide_and_deep() {
        check_query(&s, "t", "User", &text, &all);
    }
}
