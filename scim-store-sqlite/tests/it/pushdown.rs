use scim_core::test_kit::{check_query, fixture, FILTERS};
use scim_core::{block_on, Query, Store};
use serde_json::json;

use super::memory_store;

fn all(s: &impl Store, tenant: &str) -> Vec<scim_core::StoredResource> {
    block_on(s.query(
        tenant,
        "User",
        Query {
            filter: None,
            compiled: None,
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: None,
        },
    ))
    .expect("query")
    .resources
}

/// Every conformance filter is answered by SQL, dateTime comparisons included (as instants).
#[test]
fn conformance_filters_are_pushed_down() {
    let s = memory_store();
    for r in fixture() {
        block_on(s.create("t", "User", r, vec![])).expect("create");
    }
    let rows = all(&s, "t");
    let mut not_pushed = Vec::new();
    for text in FILTERS {
        if !check_query(&s, "t", "User", text, &rows) {
            not_pushed.push(*text);
        }
    }
    assert!(not_pushed.is_empty(), "not pushed down: {not_pushed:?}");
}

/// Keys that differ only in case make the evaluator's choice depend on the filter's
/// spelling: push-down is off for that type in that tenant.
#[test]
fn case_colliding_keys_turn_push_down_off() {
    let s = memory_store();
    block_on(s.create(
        "t",
        "User",
        json!({"userName": "a", "USERNAME": "b"}),
        vec![],
    ))
    .expect("create");
    block_on(s.create("t", "User", json!({"userName": "c"}), vec![])).expect("create");
    let rows = all(&s, "t");
    assert!(!check_query(&s, "t", "User", r#"userName eq "b""#, &rows));
    assert!(!check_query(&s, "t", "User", r#"USERNAME eq "b""#, &rows));
    // Other tenants are unaffected.
    block_on(s.create("u", "User", json!({"userName": "c"}), vec![])).expect("create");
    let rows = all(&s, "u");
    assert!(check_query(&s, "u", "User", r#"userName eq "C""#, &rows));
}

/// Odd shapes a schema would refuse still filter like the evaluator.
#[test]
fn odd_shapes_match_the_evaluator() {
    let s = memory_store();
    for r in [
        json!({"userName": ["a", "B"], "title": {"value": "x"}, "emails": {"value": "e@x", "type": "work"}}),
        json!({"userName": 5, "title": ["x", null, ["y"]], "emails": ["s@x", {"value": ["n@x"]}]}),
        json!({"userName": null, "name": {"givenName": ["Ann", "Bo"]}, "emails": [true, 3, "v"]}),
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "flat",
               "Name": {"GivenName": "ann"}, "EMAILS": [{"VALUE": "up@x", "Type": "WORK"}]}),
    ] {
        block_on(s.create("t", "User", r, vec![])).expect("create");
    }
    let rows = all(&s, "t");
    for text in [
        r#"userName eq "b""#,
        "userName eq 5",
        "userName pr",
        "userName eq null",
        r#"title eq "x""#,
        r#"title eq "y""#,
        "title pr",
        r#"emails.value co "@x""#,
        r#"emails.type eq "work""#,
        r#"emails[value eq "s@x"]"#,
        r#"emails[value eq "v"]"#,
        "emails[value eq true]",
        "emails[value eq 3]",
        r#"emails[type eq "work" and value sw "up"]"#,
        r#"name.givenName eq "bo""#,
        r#"name.givenName sw "a""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr"#,
        r#"not (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr)"#,
    ] {
        assert!(
            check_query(&s, "t", "User", text, &rows),
            "{text} not pushed down"
        );
    }
}

/// Literals are bound, never spliced into the SQL.
#[test]
fn quotes_in_literals_are_data() {
    let s = memory_store();
    block_on(s.create(
        "t",
        "User",
        json!({"userName": "o'hara\"; DROP TABLE resources; --"}),
        vec![],
    ))
    .expect("create");
    let rows = all(&s, "t");
    assert!(check_query(
        &s,
        "t",
        "User",
        r#"userName co "'hara\"; drop""#,
        &rows
    ));
    assert!(check_query(
        &s,
        "t",
        "User",
        r#"userName eq "x' OR '1'='1""#,
        &rows
    ));
    assert_eq!(all(&s, "t").len(), 1);
}
