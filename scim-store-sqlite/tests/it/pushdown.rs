use scim_core::test_kit::{check_query, fixture, FILTERS};
use scim_core::{block_on, Query, Store};
use scim_filter::{CompiledFilter, Filter};
use serde_json::json;

use super::memory_store;

fn all(s: &impl Store, tenant: &str) -> Vec<scim_core::StoredResource> {
    block_on(s.query(
        tenant,
        "User",
        Query {
            filter: None,
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

/// Keys that differ only in case all hold the attribute's values for the evaluator, while
/// the search document (keys lower-cased) keeps one of them: such a resource is filtered by
/// the engine, the others of its type by SQL (one odd row does not send the whole type to
/// memory).
#[test]
fn case_colliding_keys_are_left_to_the_engine() {
    let s = memory_store();
    block_on(s.create(
        "t",
        "User",
        json!({"userName": "a", "USERNAME": "b", "title": "t"}),
        vec![],
    ))
    .expect("create");
    let users = (0..200)
        .map(|i| {
            (
                json!({"userName": format!("u{i}"), "title": format!("t{}", i % 3)}),
                vec![],
            )
        })
        .collect();
    s.create_batch("t", "User", users).expect("batch");
    let rows = all(&s, "t");
    let registry = scim_schema::Registry::standard();
    let users = registry.resource_type("User").expect("User");
    for text in [
        r#"userName eq "b""#,
        r#"USERNAME eq "b""#,
        r#"userName eq "a""#,
        r#"userName eq "u7""#,
        r#"userName sw "u1" and title eq "t1""#,
        r#"title eq "t""#,
        "userName pr",
        r#"not (userName eq "u3")"#,
    ] {
        // Exactly the evaluator's answers (`check_query` compares), with the engine
        // finishing only the ambiguous resource: SQL sends back its matches and that one.
        assert!(!check_query(&s, "t", "User", text, &rows), "{text}");
        let filter = Filter::parse(text).expect("parse");
        let compiled = CompiledFilter::compile(&filter, &users).expect("compile");
        let result = block_on(s.query(
            "t",
            "User",
            Query {
                filter: Some(&compiled),
                sort: None,
                start_index: 1,
                count: usize::MAX,
                attributes: None,
            },
        ))
        .expect("query");
        let normal_matches = rows
            .iter()
            .filter(|r| r.resource.get("USERNAME").is_none() && compiled.matches(&r.resource))
            .count();
        assert_eq!(result.resources.len(), normal_matches + 1, "{text}");
    }
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

/// `pr` needs a value: "" is unassigned like null, [] and {} (RFC 7643 §2.5), in SQL as in
/// the evaluator; a multi-valued attribute has a value when any element has one.
#[test]
fn present_needs_a_non_empty_value() {
    let s = memory_store();
    for r in [
        json!({"userName": "empty", "title": "", "emails": [{"value": ""}], "name": {"givenName": ""}}),
        json!({"userName": "nested", "title": [""], "emails": [{"value": "", "type": ""}], "name": {}}),
        json!({"userName": "some", "title": ["", "t"], "emails": [{"value": ""}, {"value": "e@x"}],
               "name": {"givenName": "", "familyName": "F"}}),
        json!({"userName": "plain", "title": "t", "emails": [{"value": "p@x"}], "name": {"givenName": "G"}}),
    ] {
        block_on(s.create("t", "User", r, vec![])).expect("create");
    }
    let rows = all(&s, "t");
    let registry = scim_schema::Registry::standard();
    let users = registry.resource_type("User").expect("User");
    for (text, expected) in [
        ("title pr", &["plain", "some"][..]),
        ("title eq null", &["empty", "nested"][..]),
        ("emails pr", &["plain", "some"][..]),
        ("emails.value pr", &["plain", "some"][..]),
        ("emails[value pr]", &["plain", "some"][..]),
        ("name pr", &["plain", "some"][..]),
        ("name.givenName pr", &["plain"][..]),
        ("not (title pr)", &["empty", "nested"][..]),
    ] {
        assert!(
            check_query(&s, "t", "User", text, &rows),
            "{text} not pushed down"
        );
        let filter = Filter::parse(text).expect("parse");
        let compiled = CompiledFilter::compile(&filter, &users).expect("compile");
        let result = block_on(s.query(
            "t",
            "User",
            Query {
                filter: Some(&compiled),
                sort: None,
                start_index: 1,
                count: usize::MAX,
                attributes: None,
            },
        ))
        .expect("query");
        let mut names: Vec<&str> = result
            .resources
            .iter()
            .filter_map(|r| r.resource.get("userName").and_then(|v| v.as_str()))
            .collect();
        names.sort_unstable();
        assert_eq!(names, expected, "{text}");
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
