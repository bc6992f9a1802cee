//! Filters against brute force: the fixture resources, the filters over them, and the check
//! of one query's answer.

use std::collections::BTreeSet;

use scim_schema::Registry;
use serde_json::{json, Value};

use crate::{block_on, Query, Store, StoredResource};

use super::{compile, everything, ids, ENTERPRISE, T, USER};

/// Resources with what filters trip over: missing, null, empty, non-ASCII and
/// differently-cased values, multi-valued and extension attributes, attributes no schema
/// declares, dateTimes with offsets.
pub fn fixture() -> Vec<Value> {
    vec![
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "bjensen", "displayName": "Babs Jensen", "title": "Tour Guide",
            "active": true, "loginCount": 42, "score": 4.5,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@jensen.org", "type": "home"}],
            "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34-07:00"},
            ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations",
                         "manager": {"value": "26118915", "displayName": "John Smith"}}}),
        json!({"userName": "JSmith", "displayName": "John Smith", "active": false,
            "loginCount": 7, "score": 10,
            "name": {"givenName": "John", "familyName": "Smith"},
            "emails": [{"value": "John.Smith@Example.COM", "type": "work"}],
            "meta": {"created": "2012-02-01T00:00:00Z", "lastModified": "2012-02-01T00:00:00.000Z"},
            ENTERPRISE: {"employeeNumber": "1000", "department": "Sales"}}),
        json!({"userName": "émile", "displayName": "Émile Zola", "title": "", "nickName": null,
            "name": {"givenName": "Émile"},
            "emails": [{"value": "emile@example.fr", "type": "home", "primary": false}],
            "meta": {"created": "2015-06-30T12:00:00+02:00"}}),
        json!({"userName": "STRASSE", "displayName": "Straße", "loginCount": 42.0,
            "emails": [], "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
            "name": {"familyName": "Straße"}}),
        json!({"userName": "mary", "title": "Tour Guide", "active": true, "loginCount": -3,
            "emails": [{"value": "mary@example.com", "type": "WORK"},
                       {"value": "mary@other.org", "type": "work", "primary": true}],
            ENTERPRISE: {"employeeNumber": "701985", "manager": {"value": "26118915"}}}),
        json!({"userName": "ops_100%", "displayName": "a_b%c", "title": "100% Ops",
            "emails": [{"value": "ops@example.com"}], "score": 0}),
        json!({"userName": "x", "emails": [{"type": "work"}], "name": {},
            "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "ignored"}),
        json!({"userName": "nobody"}),
    ]
}

pub(super) fn load_fixture<S: Store>(s: &S) -> Vec<String> {
    fixture()
        .into_iter()
        .map(|r| block_on(s.create(T, USER, r, vec![])).expect("create").id)
        .collect()
}

/// Filters in the spirit of the conformance suite, over [`fixture`].
pub const FILTERS: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"USERNAME eq "BJENSEN""#,
    r#"userName ne "bjensen""#,
    r#"userName eq "ÉMILE""#,
    r#"userName eq "strasse""#,
    r#"displayName co "smith""#,
    r#"displayName co "_b%""#,
    r#"displayName co "%""#,
    r#"title co """#,
    r#"title sw "tour""#,
    r#"title ew "GUIDE""#,
    r#"title ew "ops""#,
    r#"userName sw "j""#,
    r#"userName gt "j""#,
    r#"userName le "mary""#,
    r#"userName lt "É""#,
    "title pr",
    "nickName pr",
    "nickName eq null",
    "title ne null",
    "not (title pr)",
    "name pr",
    "name.givenName pr",
    "emails pr",
    "emails.primary pr",
    "phoneNumbers pr",
    r#"name.givenName eq "barbara""#,
    r#"name.familyName ew "SSE""#,
    r#"emails.value co "example.com""#,
    r#"emails.value ew "@example.com""#,
    r#"emails.type eq "work""#,
    r#"emails.type ne "work""#,
    r#"emails[type eq "work" and value co "example"]"#,
    r#"emails[type eq "home" and value co "example.com"]"#,
    r#"emails[type eq "work" and primary eq true]"#,
    r#"emails[not (type eq "work")]"#,
    r#"emails[value pr]"#,
    r#"emails.type eq "home" and emails.value co "example.com""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    "active eq true",
    "active ne true",
    "active eq false",
    "loginCount eq 42",
    "loginCount gt 10",
    "loginCount le 7",
    "score ge 4.5",
    "score lt 5",
    "score eq 0",
    r#"loginCount eq "42""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber sw "70198""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "john""#,
    r#"meta.created gt "2011-01-01T00:00:00Z""#,
    r#"meta.lastModified eq "2011-05-13T11:42:34Z""#,
    r#"meta.created sw "2015""#,
    r#"userName eq "a" or userName eq "mary" or userName eq "x" or userName eq "JSMITH" or userName eq "bjensen""#,
    r#"(userName sw "b" or title pr) and not (active eq false)"#,
    r#"title eq "Tour Guide" and (emails.type eq "work" or loginCount lt 0)"#,
    r#"not (emails[type eq "work"]) or displayName pr"#,
    r#"userName pr and meta.created gt "2011-01-01T00:00:00Z""#,
    r#"id pr"#,
    // A complex attribute compared directly compares its `value` (RFC 7644 §3.4.2.2).
    r#"emails co "example.com""#,
    r#"emails sw "MARY""#,
    r#"emails ew ".org""#,
    r#"emails gt "j""#,
    r#"emails le "babs@jensen.org""#,
    r#"emails eq "ops@example.com""#,
    r#"emails ne "ops@example.com""#,
    r#"title eq "Tour Guide" and (emails co "example.com" or emails.value co "other.org")"#,
    r#"name co "a""#,
    // `ne` is any-match: some value not identical; false when there is none.
    r#"title ne "Tour Guide""#,
    r#"emails.value ne "mary@example.com""#,
    "active ne false",
    "loginCount ne 42",
    r#"loginCount ne "42""#,
    "emails ne null",
    r#"not (emails.type eq "work")"#,
    r#"meta.created ne "2010-01-23T05:56:22+01:00""#,
    // A schema the resource type does not have names nothing.
    r#"urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "bjensen""#,
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq null",
    r#"not (urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "bjensen")"#,
    r#"urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq "x"]"#,
];

/// Filters of [`FILTERS`] with the `userName`s of [`fixture`] they select: what the RFC
/// rules give, not merely what the evaluator does (a store is compared with the evaluator
/// in [`check_query`]; this pins the evaluator, and so every store, to the rules).
pub const ANSWERS: &[(&str, &[&str])] = &[
    (
        r#"emails co "example.com""#,
        &["bjensen", "JSmith", "mary", "ops_100%"],
    ),
    (r#"emails sw "MARY""#, &["mary"]),
    (r#"emails gt "j""#, &["JSmith", "mary", "ops_100%"]),
    (
        r#"emails ne "ops@example.com""#,
        &["bjensen", "JSmith", "émile", "mary"],
    ),
    (
        r#"title eq "Tour Guide" and (emails co "example.com" or emails.value co "other.org")"#,
        &["bjensen", "mary"],
    ),
    // mary's "WORK" is "work": emails.type is not caseExact.
    (r#"emails.type ne "work""#, &["bjensen", "émile"]),
    (
        r#"not (emails.type eq "work")"#,
        &["émile", "STRASSE", "ops_100%", "nobody"],
    ),
    (r#"title ne "Tour Guide""#, &["émile", "ops_100%"]),
    ("active ne false", &["bjensen", "mary"]),
    ("loginCount ne 42", &["JSmith", "mary"]),
    (
        "emails ne null",
        &["bjensen", "JSmith", "émile", "mary", "ops_100%", "x"],
    ),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "bjensen""#,
        &[],
    ),
    (
        r#"not (urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "bjensen")"#,
        &[
            "bjensen", "JSmith", "émile", "STRASSE", "mary", "ops_100%", "x", "nobody",
        ],
    ),
];

/// Checks one query's answer against brute force over `all` (the resources of the type);
/// returns whether the store applied the filter itself.
pub fn check_query<S: Store>(
    s: &S,
    tenant: &str,
    rt: &str,
    text: &str,
    all: &[StoredResource],
) -> bool {
    let registry = Registry::standard();
    let compiled = compile(text, &registry, rt);
    let query = Query {
        filter: Some(&compiled),
        ..everything()
    };
    let result = block_on(s.query(tenant, rt, query)).unwrap_or_else(|e| panic!("{text}: {e}"));
    let expected: BTreeSet<String> = all
        .iter()
        .filter(|r| compiled.matches(&r.resource))
        .map(|r| r.id.clone())
        .collect();
    let got = ids(&result);
    assert_eq!(got.len(), result.resources.len(), "{text}: duplicates");
    if result.filtered {
        assert_eq!(
            got, expected,
            "{text}: filtered result differs from brute force"
        );
        assert_eq!(result.total_results, expected.len(), "{text}: totalResults");
    } else {
        assert!(
            got.is_superset(&expected),
            "{text}: an unfiltered result must hold every match; missing {:?}",
            expected.difference(&got).collect::<Vec<_>>()
        );
        assert!(!result.paged, "{text}: paged without filtering");
    }
    for r in &result.resources {
        let stored = all.iter().find(|a| a.id == r.id);
        assert_eq!(stored, Some(r), "{text}: a resource came back changed");
    }
    result.filtered
}

pub(super) fn filters_match_brute_force<S: Store>(s: &S, ids: &[String]) {
    let all = block_on(s.query(T, USER, everything())).expect("query");
    assert_eq!(all.resources.len(), ids.len(), "every resource listed");
    for text in FILTERS {
        check_query(s, T, USER, text, &all.resources);
    }
    let registry = Registry::standard();
    for (text, expected) in ANSWERS {
        let compiled = compile(text, &registry, USER);
        let query = Query {
            filter: Some(&compiled),
            ..everything()
        };
        let mut result =
            block_on(s.query(T, USER, query)).unwrap_or_else(|e| panic!("{text}: {e}"));
        if !result.filtered {
            result.resources.retain(|r| compiled.matches(&r.resource));
        }
        let got: BTreeSet<&str> = result
            .resources
            .iter()
            .filter_map(|r| r.resource.get("userName").and_then(Value::as_str))
            .collect();
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(got, expected, "{text}");
    }
}
