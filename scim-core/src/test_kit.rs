//! The behaviour every [`Store`] must have, as one function a store crate calls from its
//! tests (feature `test-kit`).
//!
//! ```
//! scim_core::test_kit::run_store_suite(scim_core::MemoryStore::new);
//! ```
//!
//! Filters are checked against brute force with [`CompiledFilter::matches`]: a store that
//! reports `filtered` must return exactly the matching resources, one that does not must
//! return at least those; `sorted` and `paged` are checked the same way.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // a test harness

use std::collections::BTreeSet;

use scim_filter::{AttrPath, CompiledFilter, Filter};
use scim_schema::Registry;
use serde_json::{json, Value};

use crate::sort::{sort_resources, sort_value};
use crate::{
    block_on, ElementChange, Query, QueryResult, Sort, Store, StoreError, StoredResource, UniqueKey,
};

const T: &str = "kit-tenant";
const USER: &str = "User";

/// Runs every check on fresh stores from `make`; panics with a message naming the check.
pub fn run_store_suite<S: Store>(make: impl Fn() -> S) {
    crud_and_versions(&make());
    not_found(&make());
    unique_keys(&make());
    tenants_and_types_are_isolated(&make());
    let store = make();
    let ids = load_fixture(&store);
    filters_match_brute_force(&store, &ids);
    sort_and_paging(&store);
    concurrent_writers(&make());
    concurrent_unique_creates(&make());
    out_of_line_elements(&make());
    look_alike_identifiers(make());
    no_password_in_clear(make());
}

fn engine_over<S: Store>(store: S) -> crate::Engine<S> {
    let config = crate::Config::new("https://example.com/scim/v2").password_scheme(
        std::sync::Arc::new(crate::secret::Argon2id::new(
            crate::secret::Argon2Params::fast_for_tests(),
            crate::secret::default_entropy(),
        )),
    );
    crate::Engine::new(Registry::standard(), store, config)
}

fn post_user<S: Store>(e: &crate::Engine<S>, body: Value) -> (u16, Value) {
    let ctx = crate::RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let resp = block_on(e.handle(
        &ctx,
        crate::Request::new(crate::Method::Post, "/Users").with_json(&body),
    ));
    (resp.status, resp.body_json())
}

/// Through the engine, `userName`s a person cannot tell apart are one: the second of each
/// pair is a conflict (409 `uniqueness`); padded or with invisible characters, a name is
/// refused (400 `invalidValue`). The engine computes the keys, the store must keep them.
fn look_alike_identifiers<S: Store>(store: S) {
    let e = engine_over(store);
    let post = |name: &str| post_user(&e, user(name));
    for (first, second) in [
        ("jos\u{e9}", "jose\u{301}"),
        ("Zoe", "\u{FF3A}\u{FF4F}\u{FF45}"),
        ("ann lee", "ann\u{A0}lee"),
        ("\u{212B}ngstr\u{F6}m", "\u{C5}NGSTRO\u{308}M"),
    ] {
        let (status, body) = post(first);
        assert_eq!(status, 201, "look-alikes: {first:?}: {body}");
        let (status, body) = post(second);
        assert_eq!(
            status, 409,
            "look-alikes: {second:?} after {first:?}: {body}"
        );
        assert_eq!(body["scimType"], "uniqueness", "look-alikes: {second:?}");
    }
    assert_eq!(post("bob").0, 201);
    for padded in [
        " bob",
        "bob ",
        "bob\t",
        "bob\u{0}",
        "b\u{200B}ob",
        "\u{FEFF}bob",
        "bob\u{A0}",
        "bob\u{200D}",
    ] {
        let (status, body) = post(padded);
        assert_eq!(status, 400, "look-alikes: {padded:?}: {body}");
        assert_eq!(body["scimType"], "invalidValue", "look-alikes: {padded:?}");
    }
}

/// Through the engine, a store is handed a password's hash, never the password.
fn no_password_in_clear<S: Store>(store: S) {
    let e = engine_over(store);
    let (status, body) = post_user(
        &e,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
               "userName": "pw", "password": "kit-Secret-1"}),
    );
    assert_eq!(status, 201, "password: {body}");
    let id = body["id"].as_str().expect("id");
    let stored = block_on(e.store().get("default", USER, id))
        .expect("get")
        .expect("present");
    let text = stored.resource.to_string();
    assert!(!text.contains("kit-Secret-1"), "password in clear: {text}");
    assert!(text.contains("$argon2id$"), "password hash kept: {text}");
}

fn key(attribute: &str, value: &str) -> UniqueKey {
    UniqueKey {
        attribute: attribute.to_owned(),
        value: value.to_owned(),
    }
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

fn crud_and_versions<S: Store>(s: &S) {
    let created = block_on(s.create(T, USER, user("alice"), vec![])).expect("create");
    assert_eq!(created.version, 1, "create gives version 1");
    assert!(!created.id.is_empty(), "create assigns an id");
    assert_eq!(
        created.resource.get("id"),
        Some(&Value::String(created.id.clone())),
        "create sets `id` in the JSON"
    );
    let got = block_on(s.get(T, USER, &created.id)).expect("get");
    assert_eq!(
        got.as_ref(),
        Some(&created),
        "get returns what create stored"
    );

    let other = block_on(s.create(T, USER, user("bob"), vec![])).expect("create");
    assert_ne!(other.id, created.id, "ids are distinct");

    let mut changed = created.resource.clone();
    changed["displayName"] = json!("Alice");
    assert_eq!(
        block_on(s.replace(T, USER, &created.id, 7, changed.clone(), vec![])),
        Err(StoreError::VersionMismatch),
        "replace with a wrong version"
    );
    let replaced =
        block_on(s.replace(T, USER, &created.id, 1, changed.clone(), vec![])).expect("replace");
    assert_eq!(replaced.version, 2, "replace increments the version");
    let got = block_on(s.get(T, USER, &created.id))
        .expect("get")
        .expect("present");
    assert_eq!(
        (got.version, &got.resource),
        (2, &changed),
        "get after replace"
    );
    assert_eq!(
        block_on(s.replace(T, USER, &created.id, 1, changed.clone(), vec![])),
        Err(StoreError::VersionMismatch),
        "replace with the old version"
    );

    assert_eq!(
        block_on(s.delete(T, USER, &created.id, Some(1))),
        Err(StoreError::VersionMismatch),
        "delete with a wrong version"
    );
    block_on(s.delete(T, USER, &created.id, Some(2))).expect("delete with the version");
    assert_eq!(block_on(s.get(T, USER, &created.id)).expect("get"), None);
    block_on(s.delete(T, USER, &other.id, None)).expect("delete without a version");
    assert_eq!(block_on(s.get(T, USER, &other.id)).expect("get"), None);
}

fn not_found<S: Store>(s: &S) {
    assert_eq!(block_on(s.get(T, USER, "nope")).expect("get"), None);
    assert_eq!(
        block_on(s.replace(T, USER, "nope", 1, user("x"), vec![])),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        block_on(s.delete(T, USER, "nope", None)),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        block_on(s.delete(T, USER, "nope", Some(1))),
        Err(StoreError::NotFound)
    );
    let r = block_on(s.create(T, USER, user("gone"), vec![])).expect("create");
    block_on(s.delete(T, USER, &r.id, None)).expect("delete");
    assert_eq!(
        block_on(s.delete(T, USER, &r.id, None)),
        Err(StoreError::NotFound),
        "delete twice"
    );
    assert_eq!(
        block_on(s.replace(T, USER, &r.id, 1, user("gone"), vec![])),
        Err(StoreError::NotFound),
        "replace after delete"
    );
}

fn conflict(attribute: &str) -> StoreError {
    StoreError::Conflict {
        attribute: attribute.to_owned(),
    }
}

fn unique_keys<S: Store>(s: &S) {
    let a = block_on(s.create(T, USER, user("a"), vec![key("userName", "a")])).expect("create");
    assert_eq!(
        block_on(s.create(T, USER, user("a"), vec![key("userName", "a")])).map(|r| r.id),
        Err(conflict("userName")),
        "a taken key"
    );
    // Keeping one's own key is no conflict.
    let a = block_on(s.replace(T, USER, &a.id, 1, user("a"), vec![key("userName", "a")]))
        .expect("replace keeping the key");
    // Replacing frees the old key and takes the new one.
    let a = block_on(s.replace(T, USER, &a.id, 2, user("a2"), vec![key("userName", "a2")]))
        .expect("replace with a new key");
    let b = block_on(s.create(T, USER, user("a"), vec![key("userName", "a")]))
        .expect("the old key is free after replace");
    assert_eq!(
        block_on(s.replace(T, USER, &b.id, 1, user("a2"), vec![key("userName", "a2")]))
            .map(|r| r.id),
        Err(conflict("userName")),
        "replace onto a taken key"
    );
    assert_eq!(
        block_on(s.get(T, USER, &b.id))
            .expect("get")
            .map(|r| r.version),
        Some(1),
        "a refused replace changes nothing"
    );
    // Several keys: the taken one is named.
    assert_eq!(
        block_on(s.create(
            T,
            USER,
            user("c"),
            vec![
                key("userName", "c"),
                key("externalId", "x"),
                key("userName", "a2")
            ]
        ))
        .map(|r| r.id),
        Err(conflict("userName"))
    );
    block_on(s.create(T, USER, user("c"), vec![key("userName", "c")]))
        .expect("a refused create took no key");
    block_on(s.delete(T, USER, &a.id, None)).expect("delete");
    block_on(s.create(T, USER, user("a2"), vec![key("userName", "a2")]))
        .expect("the key is free after delete");
    // Keys are per tenant and per type.
    block_on(s.create("other", USER, user("a"), vec![key("userName", "a")]))
        .expect("another tenant");
    block_on(s.create(T, "Group", user("a"), vec![key("userName", "a")])).expect("another type");
}

fn everything() -> Query<'static> {
    Query {
        filter: None,
        compiled: None,
        sort: None,
        start_index: 1,
        count: usize::MAX,
        attributes: None,
    }
}

fn ids(r: &QueryResult) -> BTreeSet<String> {
    r.resources.iter().map(|r| r.id.clone()).collect()
}

fn tenants_and_types_are_isolated<S: Store>(s: &S) {
    let a = block_on(s.create("a", USER, user("x"), vec![])).expect("create");
    let b = block_on(s.create("b", USER, user("x"), vec![])).expect("create");
    let g = block_on(s.create("a", "Group", json!({"displayName": "x"}), vec![])).expect("create");
    assert_eq!(block_on(s.get("b", USER, &a.id)).expect("get"), None);
    assert_eq!(block_on(s.get("a", "Group", &a.id)).expect("get"), None);
    assert_eq!(
        block_on(s.delete("b", USER, &a.id, None)),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        block_on(s.replace("b", USER, &a.id, 1, user("y"), vec![])),
        Err(StoreError::NotFound)
    );
    let in_a = block_on(s.query("a", USER, everything())).expect("query");
    assert_eq!(ids(&in_a), BTreeSet::from([a.id.clone()]));
    let in_b = block_on(s.query("b", USER, everything())).expect("query");
    assert_eq!(ids(&in_b), BTreeSet::from([b.id.clone()]));
    let groups = block_on(s.query("a", "Group", everything())).expect("query");
    assert_eq!(ids(&groups), BTreeSet::from([g.id]));
    let none = block_on(s.query("c", USER, everything())).expect("query");
    assert!(none.resources.is_empty());
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

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

fn load_fixture<S: Store>(s: &S) -> Vec<String> {
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
];

fn compile(text: &str, registry: &Registry, rt: &str) -> (Filter, CompiledFilter) {
    let filter = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let rt = registry
        .resource_type(rt)
        .unwrap_or_else(|| panic!("no resource type {rt}"));
    let compiled = CompiledFilter::compile(&filter, &rt).unwrap_or_else(|e| panic!("{text}: {e}"));
    (filter, compiled)
}

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
    let (filter, compiled) = compile(text, &registry, rt);
    let query = Query {
        filter: Some(&filter),
        compiled: Some(&compiled),
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

fn filters_match_brute_force<S: Store>(s: &S, ids: &[String]) {
    let all = block_on(s.query(T, USER, everything())).expect("query");
    assert_eq!(all.resources.len(), ids.len(), "every resource listed");
    for text in FILTERS {
        check_query(s, T, USER, text, &all.resources);
    }
}

fn sort_values(resources: &[StoredResource], path: &AttrPath) -> Vec<Option<Value>> {
    resources
        .iter()
        .map(|r| sort_value(&r.resource, path).cloned())
        .collect()
}

fn sort_and_paging<S: Store>(s: &S) {
    let registry = Registry::standard();
    let all = block_on(s.query(T, USER, everything()))
        .expect("query")
        .resources;
    let cases: &[(Option<&str>, Option<&str>)] = &[
        (None, Some("userName")),
        (None, Some("name.givenName")),
        (None, Some("displayName")),
        (None, Some("active")),
        (None, Some("loginCount")),
        (None, Some("emails.value")),
        (
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
        ),
        (Some(r#"userName ne "x""#), Some("userName")),
        (Some(r#"emails.type eq "work""#), Some("name.familyName")),
        (
            Some(r#"meta.created gt "2011-01-01T00:00:00Z""#),
            Some("userName"),
        ),
        (Some("title pr"), None),
        (None, None),
    ];
    for (filter_text, sort_text) in cases {
        let compiled = filter_text.map(|t| compile(t, &registry, USER));
        let sort_path = sort_text.map(|t| AttrPath::parse(t).expect("sort path"));
        let mut expected: Vec<StoredResource> = all
            .iter()
            .filter(|r| {
                compiled
                    .as_ref()
                    .is_none_or(|(_, c)| c.matches(&r.resource))
            })
            .cloned()
            .collect();
        for descending in [false, true] {
            if let Some(path) = &sort_path {
                sort_resources(&mut expected, path, descending);
            }
            let label = format!("filter {filter_text:?} sort {sort_text:?} desc {descending}");
            for (start_index, count) in [(1, usize::MAX), (1, 3), (2, 3), (4, 100), (1, 0), (50, 5)]
            {
                let query = Query {
                    filter: compiled.as_ref().map(|(f, _)| f),
                    compiled: compiled.as_ref().map(|(_, c)| c),
                    sort: sort_path.as_ref().map(|path| Sort { path, descending }),
                    start_index,
                    count,
                    attributes: None,
                };
                let label = format!("{label} start {start_index} count {count}");
                let r =
                    block_on(s.query(T, USER, query)).unwrap_or_else(|e| panic!("{label}: {e}"));
                if r.paged {
                    assert!(
                        r.filtered || compiled.is_none(),
                        "{label}: paged, not filtered"
                    );
                    assert!(
                        r.sorted || sort_path.is_none(),
                        "{label}: paged, not sorted"
                    );
                    assert_eq!(r.total_results, expected.len(), "{label}: totalResults");
                    let page: Vec<StoredResource> = expected
                        .iter()
                        .skip(start_index - 1)
                        .take(count)
                        .cloned()
                        .collect();
                    assert_eq!(r.resources.len(), page.len(), "{label}: page size");
                    if let Some(path) = &sort_path {
                        assert_eq!(
                            sort_values(&r.resources, path),
                            sort_values(&page, path),
                            "{label}: page order"
                        );
                    }
                } else if r.sorted && r.filtered {
                    if let Some(path) = &sort_path {
                        assert_eq!(
                            sort_values(&r.resources, path),
                            sort_values(&expected, path),
                            "{label}: order"
                        );
                    }
                }
            }
            // Without a sort, pages still partition the result.
            if sort_path.is_none() {
                let mut seen = Vec::new();
                let mut start = 1;
                loop {
                    let query = Query {
                        filter: compiled.as_ref().map(|(f, _)| f),
                        compiled: compiled.as_ref().map(|(_, c)| c),
                        sort: None,
                        start_index: start,
                        count: 3,
                        attributes: None,
                    };
                    let r = block_on(s.query(T, USER, query)).expect("query");
                    if !r.paged {
                        break;
                    }
                    if r.resources.is_empty() {
                        let want: BTreeSet<String> =
                            expected.iter().map(|r| r.id.clone()).collect();
                        let got: BTreeSet<String> = seen.iter().cloned().collect();
                        assert_eq!(seen.len(), got.len(), "{label}: a resource on two pages");
                        assert_eq!(got, want, "{label}: pages miss resources");
                        break;
                    }
                    seen.extend(r.resources.into_iter().map(|r| r.id));
                    start += 3;
                }
            }
        }
    }
}

fn concurrent_writers<S: Store>(s: &S) {
    const THREADS: u64 = 4;
    const EACH: u64 = 25;
    let r = block_on(s.create(T, USER, json!({"userName": "counter", "n": 0}), vec![]))
        .expect("create");
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..EACH {
                    loop {
                        let cur = block_on(s.get(T, USER, &r.id))
                            .expect("get")
                            .expect("present");
                        let mut next = cur.resource.clone();
                        next["n"] = json!(next["n"].as_u64().unwrap_or(0) + 1);
                        match block_on(s.replace(T, USER, &r.id, cur.version, next, vec![])) {
                            Ok(_) => break,
                            Err(StoreError::VersionMismatch) => continue,
                            Err(e) => panic!("concurrent replace: {e}"),
                        }
                    }
                }
            });
        }
    });
    let end = block_on(s.get(T, USER, &r.id))
        .expect("get")
        .expect("present");
    assert_eq!(end.version, 1 + THREADS * EACH, "no lost update (version)");
    assert_eq!(
        end.resource["n"],
        json!(THREADS * EACH),
        "no lost update (value)"
    );
}

fn concurrent_unique_creates<S: Store>(s: &S) {
    let results: Vec<Result<StoredResource, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    block_on(s.create(T, USER, user("race"), vec![key("userName", "race")]))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "exactly one create wins a unique key");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r, &conflict("userName"));
    }
}

fn member_values(resource: &Value, attr: &str) -> Vec<String> {
    resource
        .get(attr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A store that keeps `members` of groups out of line ([`Store::out_of_line`]): the head
/// without them, element changes by key, versions as for any write, `get` and `query` with
/// the members in order. Skipped for stores that keep nothing out of line.
fn out_of_line_elements<S: Store>(s: &S) {
    const GROUP: &str = "Group";
    let Some(attr) = s.out_of_line(GROUP).map(str::to_owned) else {
        return;
    };
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "g",
        attr.clone(): [{"value": "u1", "display": "One"}, {"value": "u2"}]});
    let created = block_on(s.create(T, GROUP, group, vec![])).expect("create group");
    let id = created.id.clone();
    let full = block_on(s.get(T, GROUP, &id))
        .expect("get")
        .expect("exists");
    assert_eq!(
        member_values(&full.resource, &attr),
        ["u1", "u2"],
        "get has the elements in order"
    );
    assert_eq!(
        full.resource[&attr][0]["display"], "One",
        "elements are kept whole"
    );
    let head = block_on(s.get_head(T, GROUP, &id))
        .expect("get_head")
        .expect("exists");
    assert!(
        head.resource.get(&attr).is_none(),
        "get_head leaves the elements out"
    );
    assert_eq!(head.version, 1);
    assert_eq!(head.resource["displayName"], "g");

    let patch = |version: u64, head: &Value, head_changed: bool, f: &dyn Fn(&mut ElementChange)| {
        let mut change = ElementChange::new(attr.clone());
        f(&mut change);
        block_on(s.patch_elements(
            T,
            GROUP,
            &id,
            version,
            head.clone(),
            head_changed,
            change,
            vec![],
        ))
    };
    let h = head.resource.clone();
    // Add one new and one present (in another case): only the new one counts.
    let done = patch(1, &h, false, &|c| {
        c.added = vec![
            json!({"value": "u3"}),
            json!({"value": "U1", "display": "dup"}),
        ];
    })
    .expect("add");
    assert!(
        done.changed && done.version == 2,
        "adding an element is a write: {done:?}"
    );
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["u1", "u2", "u3"]);
    assert_eq!(
        got.resource[&attr][0]["display"], "One",
        "a present value is not replaced"
    );
    assert_eq!(got.version, 2);

    // Nothing new: no write, the version stays.
    let done = patch(2, &h, false, &|c| c.added = vec![json!({"value": "u2"})]).expect("no-op");
    assert!(
        !done.changed && done.version == 2,
        "a no-op keeps the version: {done:?}"
    );
    let done = patch(2, &h, false, &|c| c.removed = vec!["absent".into()]).expect("no-op");
    assert!(!done.changed && done.version == 2);

    // A stale version is refused and changes nothing.
    assert_eq!(
        patch(1, &h, false, &|c| c.removed = vec!["u1".into()]),
        Err(StoreError::VersionMismatch)
    );
    assert_eq!(
        member_values(
            &block_on(s.get(T, GROUP, &id)).unwrap().unwrap().resource,
            &attr
        ),
        ["u1", "u2", "u3"]
    );

    // Remove (case-insensitively, as `value eq` compares), then re-add: at the end.
    let done = patch(2, &h, false, &|c| {
        c.removed = vec!["U1".into()];
        c.added = vec![json!({"value": "u1"})];
    })
    .expect("remove and re-add");
    assert_eq!(done.version, 3);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["u2", "u3", "u1"]);

    // The head alone changes: written, with the elements kept.
    let mut renamed = h.clone();
    renamed["displayName"] = json!("renamed");
    let done = patch(3, &renamed, true, &|_| {}).expect("head change");
    assert!(done.changed && done.version == 4);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(got.resource["displayName"], "renamed");
    assert_eq!(member_values(&got.resource, &attr), ["u2", "u3", "u1"]);

    // Clear, then add.
    let done = patch(4, &renamed, false, &|c| {
        c.clear = true;
        c.added = vec![json!({"value": "u9"})];
    })
    .expect("clear");
    assert_eq!(done.version, 5);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["u9"]);

    // Which groups hold u9: a filter on the out-of-line elements.
    let registry = Registry::standard();
    let (filter, compiled) = compile(r#"members.value eq "u9""#, &registry, GROUP);
    let mut q = everything();
    q.filter = Some(&filter);
    q.compiled = Some(&compiled);
    let found = block_on(s.query(T, GROUP, q)).expect("query");
    let hits: Vec<&StoredResource> = found
        .resources
        .iter()
        .filter(|r| compiled.matches(&r.resource))
        .collect();
    assert_eq!(hits.len(), 1, "the group holding u9 is found by its member");
    assert_eq!(
        member_values(&hits[0].resource, &attr),
        ["u9"],
        "query results have their elements"
    );

    // A full replace rewrites the elements; delete removes everything.
    let replaced = block_on(s.replace(
        T,
        GROUP,
        &id,
        5,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id,
               "displayName": "r", attr.clone(): [{"value": "a"}, {"value": "b"}]}),
        vec![],
    ))
    .expect("replace");
    assert_eq!(replaced.version, 6);
    let got = block_on(s.get(T, GROUP, &id)).unwrap().unwrap();
    assert_eq!(member_values(&got.resource, &attr), ["a", "b"]);
    block_on(s.delete(T, GROUP, &id, None)).expect("delete");
    assert_eq!(
        patch(6, &h, false, &|c| c.added = vec![json!({"value": "x"})]),
        Err(StoreError::NotFound)
    );
    let found = block_on(s.query(T, GROUP, q)).expect("query");
    assert!(
        found.resources.is_empty(),
        "a deleted group's elements are gone"
    );
}
