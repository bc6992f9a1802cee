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
    block_on, Cascade, Cascaded, ElementChange, Query, QueryResult, Reference, ReferenceCheck,
    Referrer, Sort, Store, StoreError, StoredResource, UniqueKey,
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
    cascading_deletes(&make());
    checked_writes(&make());
    engine_cascades(make());
    delete_add_races(make());
    references_to_members(&make());
    engine_extension_urns(make());
    engine_members_once_with_their_type(make());
    engine_read_time_filters(make());
    engine_foreign_schema_urns(make(), make());
}

fn engine_over<S: Store>(store: S) -> crate::Engine<S> {
    engine_with(store, false)
}

fn engine_with<S: Store>(store: S, lenient_filters: bool) -> crate::Engine<S> {
    let config = crate::Config::new("https://example.com/scim/v2")
        .lenient_filters(lenient_filters)
        .password_scheme(std::sync::Arc::new(crate::secret::Argon2id::new(
            crate::secret::Argon2Params::fast_for_tests(),
            crate::secret::default_entropy(),
        )));
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
    let registry = Registry::standard();
    for (text, expected) in ANSWERS {
        let (filter, compiled) = compile(text, &registry, USER);
        let query = Query {
            filter: Some(&filter),
            compiled: Some(&compiled),
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

fn sort_values(resources: &[StoredResource], path: &AttrPath) -> Vec<Option<Value>> {
    resources
        .iter()
        .map(|r| sort_value(&r.resource, path).cloned())
        .collect()
}

fn sort_and_paging<S: Store>(s: &S) {
    let registry = Registry::standard();
    let rt = registry.resource_type(USER);
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
                sort_resources(
                    &mut expected,
                    path,
                    descending,
                    registry.resource_type(USER).as_ref(),
                );
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
                } else if r.filtered {
                    if let Some(path) = &sort_path {
                        // What the store left unsorted, the engine sorts.
                        let mut got = r.resources.clone();
                        if !r.sorted {
                            sort_resources(&mut got, path, descending, rt.as_ref());
                        }
                        assert_eq!(
                            sort_values(&got, path),
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

const GROUP: &str = "Group";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn group(name: &str, members: &[&str]) -> Value {
    json!({"schemas": [GROUP_URN], "displayName": name,
        "meta": {"created": "2020-01-01T00:00:00.000Z", "lastModified": "2020-01-01T00:00:00.000Z"},
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()})
}

fn stored<S: Store>(s: &S, tenant: &str, rt: &str, id: &str) -> StoredResource {
    block_on(s.get(tenant, rt, id))
        .expect("get")
        .unwrap_or_else(|| panic!("{rt} {id} is gone"))
}

fn from_groups() -> Cascade {
    Cascade::new(
        vec![Referrer::new(GROUP, "members")],
        "2030-01-01T00:00:00.000Z",
    )
}

/// A store that [keeps references](Store::keeps_references): `delete_cascade` deletes the
/// resource and removes it from every group holding it (nested groups too), in one write:
/// each changed group gets the next version and the given `lastModified`; a stale version
/// changes nothing; an id already gone still loses its dangling memberships (the repair);
/// ids compare exactly; other tenants are untouched.
fn cascading_deletes<S: Store>(s: &S) {
    if !s.keeps_references() {
        return;
    }
    let create = |tenant: &str, rt: &str, v: Value| {
        block_on(s.create(tenant, rt, v, vec![]))
            .expect("create")
            .id
    };
    let u1 = create(T, USER, user("c1"));
    let u2 = create(T, USER, user("c2"));
    let g1 = create(T, GROUP, group("g1", &[&u1, &u2]));
    let g2 = create(T, GROUP, group("g2", &[&g1, &u1]));
    let g3 = create(T, GROUP, group("g3", &[&u2]));
    let elsewhere = create("kit-other", GROUP, group("other", &[&u1]));
    let members =
        |tenant: &str, id: &str| member_values(&stored(s, tenant, GROUP, id).resource, "members");

    assert_eq!(
        block_on(s.delete_cascade(T, USER, &u1, Some(7), from_groups())),
        Err(StoreError::VersionMismatch),
        "cascade: a stale version"
    );
    assert_eq!(
        stored(s, T, USER, &u1).version,
        1,
        "cascade: a refused delete deletes nothing"
    );
    assert_eq!(
        members(T, &g1),
        [u1.clone(), u2.clone()],
        "cascade: a refused delete detaches nothing"
    );
    assert_eq!(stored(s, T, GROUP, &g1).version, 1);

    let done = block_on(s.delete_cascade(T, USER, &u1, Some(1), from_groups())).expect("cascade");
    assert_eq!(
        done,
        Cascaded::new(true, 2),
        "cascade: deleted, two groups changed"
    );
    assert_eq!(
        block_on(s.get(T, USER, &u1)).expect("get"),
        None,
        "cascade: deleted"
    );
    let g1_now = stored(s, T, GROUP, &g1);
    assert_eq!(
        member_values(&g1_now.resource, "members"),
        [u2.as_str()],
        "cascade: removed from g1"
    );
    assert_eq!(
        g1_now.version, 2,
        "cascade: a changed group gets the next version"
    );
    assert_eq!(
        g1_now.resource["meta"]["lastModified"], "2030-01-01T00:00:00.000Z",
        "cascade: a changed group gets lastModified"
    );
    assert_eq!(
        g1_now.resource["meta"]["created"],
        "2020-01-01T00:00:00.000Z"
    );
    assert_eq!(
        g1_now.resource["displayName"], "g1",
        "cascade: the rest is kept"
    );
    assert_eq!(members(T, &g2), [g1.as_str()], "cascade: removed from g2");
    let g3_now = stored(s, T, GROUP, &g3);
    assert_eq!(
        (g3_now.version, member_values(&g3_now.resource, "members")),
        (1, vec![u2.clone()]),
        "cascade: a group without the member is untouched"
    );
    assert_eq!(
        members("kit-other", &elsewhere),
        [u1.as_str()],
        "cascade: other tenants untouched"
    );

    // Nested: a deleted group leaves its parent; the parent's last member gone, no `members`.
    let done = block_on(s.delete_cascade(T, GROUP, &g1, None, from_groups())).expect("cascade");
    assert_eq!(done, Cascaded::new(true, 1), "cascade: nested group");
    let g2_now = stored(s, T, GROUP, &g2);
    assert!(
        g2_now.resource.get("members").is_none(),
        "cascade: no member left: {}",
        g2_now.resource
    );
    assert_eq!(g2_now.version, 3);

    // The repair: a member whose resource is gone (a crash between a delete and its cascade
    // left it) is removed by a delete of the id that no longer exists.
    let g4 = create(T, GROUP, group("g4", &["kit-ghost", &u2, "Kit-Ghost"]));
    let done =
        block_on(s.delete_cascade(T, USER, "kit-ghost", None, from_groups())).expect("repair");
    assert_eq!(
        done,
        Cascaded::new(false, 1),
        "cascade: repair of a dangling member"
    );
    let g4_now = stored(s, T, GROUP, &g4);
    assert_eq!(
        member_values(&g4_now.resource, "members"),
        [u2.clone(), "Kit-Ghost".to_owned()],
        "cascade: ids compare exactly"
    );
    assert_eq!(g4_now.version, 2);
    let done =
        block_on(s.delete_cascade(T, USER, "kit-ghost", None, from_groups())).expect("again");
    assert_eq!(
        done,
        Cascaded::new(false, 0),
        "cascade: nothing left to repair"
    );
    assert_eq!(
        stored(s, T, GROUP, &g4).version,
        2,
        "cascade: no change, no new version"
    );
}

fn members_check(values: &[&str]) -> Option<ReferenceCheck> {
    Some(ReferenceCheck::new(
        "members",
        [USER, GROUP],
        values.iter().copied(),
    ))
}

fn missing(value: &str) -> StoreError {
    StoreError::MissingReference {
        attribute: "members".into(),
        value: value.into(),
        targets: vec![USER.into(), GROUP.into()],
    }
}

/// A store that [keeps references](Store::keeps_references) refuses, inside the write, a
/// member whose resource does not exist, and writes nothing: `create_checked`,
/// `replace_checked` and (with out-of-line members) `patch_elements_checked`.
fn checked_writes<S: Store>(s: &S) {
    if !s.keeps_references() {
        return;
    }
    let u = block_on(s.create(T, USER, user("w1"), vec![]))
        .expect("user")
        .id;
    let g = block_on(s.create(T, GROUP, group("w", &[]), vec![]))
        .expect("group")
        .id;
    let groups = || {
        block_on(s.query(T, GROUP, everything()))
            .expect("query")
            .resources
            .len()
    };
    let before = groups();
    assert_eq!(
        block_on(s.create_checked(
            T,
            GROUP,
            group("bad", &[&u, "nope"]),
            vec![],
            members_check(&[&u, "nope"])
        )),
        Err(missing("nope")),
        "checked create: a missing member"
    );
    assert_eq!(groups(), before, "checked create: nothing written");
    let ok = block_on(s.create_checked(
        T,
        GROUP,
        group("good", &[&u, &g]),
        vec![],
        members_check(&[&u, &g]),
    ))
    .expect("checked create: users and groups exist");
    assert_eq!(
        member_values(&stored(s, T, GROUP, &ok.id).resource, "members"),
        [u.clone(), g.clone()]
    );
    block_on(s.create_checked(T, GROUP, group("unchecked", &["nope"]), vec![], None))
        .expect("no check: written as given");

    let mut replaced = group("w", &["nope"]);
    replaced["id"] = json!(g);
    assert_eq!(
        block_on(s.replace_checked(
            T,
            GROUP,
            &g,
            1,
            replaced.clone(),
            vec![],
            members_check(&["nope"])
        )),
        Err(missing("nope")),
        "checked replace: a missing member"
    );
    assert_eq!(
        stored(s, T, GROUP, &g).version,
        1,
        "checked replace: nothing written"
    );
    assert_eq!(
        block_on(s.replace_checked(T, GROUP, &g, 9, replaced, vec![], members_check(&["nope"]))),
        Err(StoreError::VersionMismatch),
        "checked replace: the version first"
    );

    let Some(attr) = s.out_of_line(GROUP).map(str::to_owned) else {
        return;
    };
    let head = block_on(s.get_head(T, GROUP, &ok.id))
        .expect("head")
        .expect("present");
    let add = |value: &str| {
        let mut change = ElementChange::new(attr.clone());
        change.added = vec![json!({"value": value})];
        block_on(s.patch_elements_checked(
            T,
            GROUP,
            &ok.id,
            head.version,
            head.resource.clone(),
            false,
            change,
            vec![],
            members_check(&[value]),
        ))
    };
    assert_eq!(
        add("nope"),
        Err(missing("nope")),
        "checked patch: a missing member"
    );
    let now = stored(s, T, GROUP, &ok.id);
    assert_eq!(
        (now.version, member_values(&now.resource, &attr)),
        (1, vec![u.clone(), g.clone()]),
        "checked patch: nothing written"
    );
    let extra = block_on(s.create(T, USER, user("w2"), vec![]))
        .expect("user")
        .id;
    let done = add(&extra).expect("checked patch: an existing member");
    assert!(done.changed && done.version == 2);
}

fn send<S: Store>(e: &crate::Engine<S>, req: crate::Request) -> (u16, Value) {
    let ctx = crate::RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let resp = block_on(e.handle(&ctx, req));
    let body = if resp.body.is_empty() {
        Value::Null
    } else {
        resp.body_json()
    };
    (resp.status, body)
}

fn add_member_op(id: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]})
}

/// `inner` with each write started after a pause of 0 to 0.4 ms (varying from write to
/// write): the races of [`delete_add_races`] then interleave every way, as on a loaded
/// server, not only as the scheduler happens to run them.
struct Delayed<S> {
    inner: S,
    writes: std::sync::atomic::AtomicU64,
}

impl<S> Delayed<S> {
    fn pause(&self) {
        let n = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A multiplicative hash: pauses spread over the range without a pattern.
        let micros = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 400;
        std::thread::sleep(std::time::Duration::from_micros(micros));
    }
}

impl<S: Store> Store for Delayed<S> {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.inner.get(tenant, rt, id)
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.inner.create(tenant, rt, resource, unique)
    }

    fn replace(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.pause();
        self.inner
            .replace(tenant, rt, id, expected_version, resource, unique)
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send {
        self.pause();
        self.inner.delete(tenant, rt, id, expected_version)
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl std::future::Future<Output = Result<QueryResult, StoreError>> + Send {
        self.inner.query(tenant, rt, query)
    }

    fn out_of_line(&self, rt: &str) -> Option<&str> {
        self.inner.out_of_line(rt)
    }

    fn get_head(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        self.inner.get_head(tenant, rt, id)
    }

    fn patch_elements(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
    ) -> impl std::future::Future<Output = Result<crate::ElementPatch, StoreError>> + Send {
        self.pause();
        self.inner.patch_elements(
            tenant,
            rt,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
        )
    }

    fn keeps_references(&self) -> bool {
        self.inner.keeps_references()
    }

    fn delete_cascade(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl std::future::Future<Output = Result<Cascaded, StoreError>> + Send {
        self.pause();
        self.inner
            .delete_cascade(tenant, rt, id, expected_version, cascade)
    }

    fn create_checked(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.inner
            .create_checked(tenant, rt, resource, unique, check)
    }

    fn replace_checked(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl std::future::Future<Output = Result<StoredResource, StoreError>> + Send {
        self.pause();
        self.inner
            .replace_checked(tenant, rt, id, expected_version, resource, unique, check)
    }

    fn patch_elements_checked(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl std::future::Future<Output = Result<crate::ElementPatch, StoreError>> + Send {
        self.pause();
        self.inner.patch_elements_checked(
            tenant,
            rt,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
            check,
        )
    }
}

fn engine_group_members<S: Store>(e: &crate::Engine<S>, id: &str) -> Vec<String> {
    let got = block_on(e.store().get("default", GROUP, id))
        .expect("get")
        .expect("group");
    member_values(&got.resource, "members")
}

/// Through the engine: deleting a user or a group removes it from the groups holding it
/// (nested groups); a DELETE of an id that is gone answers 404 and removes the memberships
/// it left behind; a member that does not exist is refused with 400 `invalidValue`.
fn engine_cascades<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let (status, body) = post_user(&e, user("casc-u"));
    assert_eq!(status, 201, "{body}");
    let u = body["id"].as_str().expect("id").to_owned();
    let post_group = |g: Value, bypass: bool| {
        let mut req = Request::new(Method::Post, "/Groups").with_json(&g);
        if bypass {
            req = req.with_header(crate::OVERHEAD_BYPASS, "1");
        }
        let (status, body) = send(&e, req);
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    };
    let child = post_group(group("child", &[&u]), false);
    let parent = post_group(group("parent", &[&child, &u]), false);
    let (status, _) = send(&e, Request::new(Method::Delete, format!("/Groups/{child}")));
    assert_eq!(status, 204);
    assert_eq!(
        engine_group_members(&e, &parent),
        [u.as_str()],
        "engine: nested group removed"
    );
    let (status, _) = send(&e, Request::new(Method::Delete, format!("/Users/{u}")));
    assert_eq!(status, 204);
    assert!(
        engine_group_members(&e, &parent).is_empty(),
        "engine: user removed"
    );

    let stale = post_group(group("stale", &["casc-ghost"]), true);
    let (status, body) = send(&e, Request::new(Method::Delete, "/Users/casc-ghost"));
    assert_eq!(status, 404, "engine: a DELETE of what is gone: {body}");
    assert!(
        engine_group_members(&e, &stale).is_empty(),
        "engine: a repeated DELETE repairs"
    );

    let (status, body) = send(
        &e,
        Request::new(Method::Patch, format!("/Groups/{stale}"))
            .with_json(&add_member_op("casc-ghost")),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("member casc-ghost is not an existing"),
        "{body}"
    );
}

/// Through the engine, 300 races of `DELETE /Users/U` against `PATCH /Groups/G` adding U,
/// each pair started together on two threads: afterwards no group holds a member that does
/// not exist. Only for a store that [keeps references](Store::keeps_references): the engine's
/// path for other stores (check, then write; delete, then clean up) loses about a third of
/// these races.
fn delete_add_races<S: Store>(store: S) {
    use crate::{Method, Request};
    const RACES: usize = 300;
    if !store.keeps_references() {
        return;
    }
    let e = engine_over(Delayed {
        inner: store,
        writes: std::sync::atomic::AtomicU64::new(0),
    });
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Groups").with_json(&group("raced", &[])),
    );
    assert_eq!(status, 201, "{body}");
    let g = body["id"].as_str().expect("id").to_owned();
    let mut added = 0;
    for i in 0..RACES {
        let (status, body) = post_user(&e, user(&format!("race-{i}")));
        assert_eq!(status, 201, "{body}");
        let u = body["id"].as_str().expect("id").to_owned();
        let barrier = std::sync::Barrier::new(2);
        let (deleted, patched) = std::thread::scope(|scope| {
            let delete = scope.spawn(|| {
                barrier.wait();
                send(&e, Request::new(Method::Delete, format!("/Users/{u}")))
            });
            let patch = scope.spawn(|| {
                barrier.wait();
                send(
                    &e,
                    Request::new(Method::Patch, format!("/Groups/{g}"))
                        .with_json(&add_member_op(&u)),
                )
            });
            (
                delete.join().expect("delete thread"),
                patch.join().expect("patch thread"),
            )
        });
        assert_eq!(deleted.0, 204, "race {i}: DELETE: {}", deleted.1);
        match patched.0 {
            200 => added += 1,
            400 => assert_eq!(
                patched.1["scimType"], "invalidValue",
                "race {i}: {}",
                patched.1
            ),
            other => panic!("race {i}: PATCH answered {other}: {}", patched.1),
        }
    }
    let dangling = engine_group_members(&e, &g);
    assert!(
        dangling.is_empty(),
        "races: {} of {RACES} left a deleted user in the group ({added} adds answered 200)",
        dangling.len()
    );
}

/// `GET {path}?filter=…` through the engine: the status, and the `userName`s (or
/// `displayName`s) listed when it is 200.
fn list_names<S: Store>(
    e: &crate::Engine<S>,
    path: &str,
    filter: &str,
) -> (u16, Value, BTreeSet<String>) {
    let req = crate::Request::new(crate::Method::Get, path).with_query("filter", filter);
    let (status, body) = send(e, req);
    let names: BTreeSet<String> = body["Resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.get("userName").or_else(|| r.get("displayName")))
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if status == 200 {
        assert_eq!(body["totalResults"], json!(names.len()), "{filter}: {body}");
    }
    (status, body, names)
}

/// Through the engine, filters on attributes computed at read time: a User's `groups` is
/// answered as `GET` shows it (through the groups' members); a Group's `members.display`,
/// `groups.$ref`, `meta.location` and `meta.version` are refused with 400 `invalidFilter`
/// naming the attribute, in a list filter and in a PATCH value filter — never an empty
/// answer or a PATCH that silently removes nothing.
fn engine_read_time_filters<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let mut ids = std::collections::HashMap::new();
    for name in ["rt-alice", "rt-bob", "rt-carol"] {
        let (status, body) = post_user(&e, user(name));
        assert_eq!(status, 201, "{body}");
        ids.insert(name, body["id"].as_str().expect("id").to_owned());
    }
    let post_group = |name: &str, members: &[&str]| {
        let members: Vec<&str> = members.iter().map(|m| ids[m].as_str()).collect();
        let (status, body) = send(
            &e,
            Request::new(Method::Post, "/Groups").with_json(&group(name, &members)),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    };
    let admins = post_group("Admins", &["rt-alice", "rt-bob"]);
    let ops = post_group("Ops", &["rt-bob"]);
    let set = |names: &[&str]| {
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<String>>()
    };
    for (filter, expected) in [
        (
            format!(r#"groups.value eq "{admins}""#),
            set(&["rt-alice", "rt-bob"]),
        ),
        (format!(r#"groups eq "{ops}""#), set(&["rt-bob"])),
        (format!(r#"groups.value ne "{admins}""#), set(&["rt-bob"])),
        (
            format!(r#"not (groups.value eq "{admins}")"#),
            set(&["rt-carol"]),
        ),
        ("groups pr".to_owned(), set(&["rt-alice", "rt-bob"])),
        ("groups.value pr".to_owned(), set(&["rt-alice", "rt-bob"])),
        ("not (groups pr)".to_owned(), set(&["rt-carol"])),
        ("groups eq null".to_owned(), set(&["rt-carol"])),
        (r#"groups.display eq "ops""#.to_owned(), set(&["rt-bob"])),
        (
            r#"groups.display co "MIN""#.to_owned(),
            set(&["rt-alice", "rt-bob"]),
        ),
        (r#"groups.display ne "Admins""#.to_owned(), set(&["rt-bob"])),
        (
            r#"groups.type eq "direct""#.to_owned(),
            set(&["rt-alice", "rt-bob"]),
        ),
        (r#"groups.type eq "indirect""#.to_owned(), set(&[])),
        (
            format!(r#"groups[value eq "{admins}" and display eq "Ops"]"#),
            set(&[]),
        ),
        (
            format!(r#"groups[value eq "{ops}" or display eq "nope"]"#),
            set(&["rt-bob"]),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:groups.display sw "adm""#.to_owned(),
            set(&["rt-alice", "rt-bob"]),
        ),
        (
            r#"userName sw "rt-" and (groups.display eq "Ops" or userName eq "rt-carol")"#
                .to_owned(),
            set(&["rt-bob", "rt-carol"]),
        ),
    ] {
        let (status, body, names) = list_names(&e, "/Users", &filter);
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(names, expected, "{filter}");
    }
    // What `GET` shows agrees with the filter.
    let (_, body) = send(
        &e,
        Request::new(Method::Get, format!("/Users/{}", ids["rt-bob"])),
    );
    let shown: BTreeSet<&str> = body["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(|x| x["value"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        shown,
        [admins.as_str(), ops.as_str()].into_iter().collect(),
        "{body}"
    );
    // Refused, naming the attribute.
    for (path, filter, attr) in [
        ("/Users", r#"groups.$ref co "Groups""#, "groups.$ref"),
        ("/Users", r#"groups[$ref pr]"#, "groups.$ref"),
        (
            "/Groups",
            r#"members.display eq "rt-alice""#,
            "members.display",
        ),
        (
            "/Groups",
            r#"members[display eq "rt-alice"]"#,
            "members.display",
        ),
        (
            "/Groups",
            r#"members[value pr and not (display pr)]"#,
            "members.display",
        ),
        ("/Groups", r#"members.$ref co "/Users/""#, "members.$ref"),
        ("/Users", r#"meta.location co "/Users/""#, "meta.location"),
        ("/Groups", r#"meta.version eq "W/\"1\"""#, "meta.version"),
    ] {
        let (status, body, _) = list_names(&e, path, filter);
        assert_eq!(status, 400, "{filter}: {body}");
        assert_eq!(body["scimType"], "invalidFilter", "{filter}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(attr)),
            "{filter}: {body}"
        );
    }
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members[display eq \"rt-alice\"]"}]});
    let (status, body) = send(
        &e,
        Request::new(Method::Patch, format!("/Groups/{admins}")).with_json(&patch),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidFilter");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("members.display")),
        "{body}"
    );
    assert_eq!(
        engine_group_members(&e, &admins).len(),
        2,
        "nothing removed"
    );
}

/// Through the engine: an attribute qualified by a schema the resource type does not have
/// (`urn:…:core:2.0:Group:userName` on /Users) names nothing — no match with lenient
/// filters, 400 `invalidFilter` without (the default, strict RFC).
fn engine_foreign_schema_urns<S: Store>(strict_store: S, lenient_store: S) {
    let strict = engine_with(strict_store, false);
    let lenient = engine_with(lenient_store, true);
    for e in [&strict, &lenient] {
        let (status, body) = post_user(e, user("fu-alice"));
        assert_eq!(status, 201, "{body}");
    }
    let group_urn = "urn:ietf:params:scim:schemas:core:2.0:Group";
    for filter in [
        format!(r#"{group_urn}:userName eq "fu-alice""#),
        format!("{group_urn}:userName pr"),
        format!(r#"userName eq "fu-alice" and not ({group_urn}:displayName eq "x")"#),
    ] {
        let (status, body, _) = list_names(&strict, "/Users", &filter);
        assert_eq!(
            (status, &body["scimType"]),
            (400, &json!("invalidFilter")),
            "{filter}: {body}"
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains(group_urn)),
            "{body}"
        );
    }
    for (filter, expected) in [
        (format!(r#"{group_urn}:userName eq "fu-alice""#), 0),
        (format!("{group_urn}:userName pr"), 0),
        (
            format!(r#"userName eq "fu-alice" and not ({group_urn}:displayName eq "x")"#),
            1,
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "fu-alice""#.to_owned(),
            1,
        ),
    ] {
        let (status, body, names) = list_names(&lenient, "/Users", &filter);
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(names.len(), expected, "{filter}: {body}");
    }
    let (status, body, names) = list_names(
        &strict,
        "/Users",
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "fu-alice""#,
    );
    assert_eq!((status, names.len()), (200, 1), "{body}");
}

/// [`Store::references_to`] and [`Store::get_with_references`], where a store answers them
/// (`Some`): exactly the groups whose `members` hold each target, matched as
/// `members.value eq` would (case-insensitively), each group once per target, with its
/// `displayName`; other tenants' groups are not seen. The answer agrees with the query the
/// engine would make instead.
fn references_to_members<S: Store>(s: &S) {
    let create = |tenant: &str, rt: &str, body: Value| {
        block_on(s.create(tenant, rt, body, vec![]))
            .expect("create")
            .id
    };
    let u1 = create(T, USER, user("ref-u1"));
    let u2 = create(T, USER, user("ref-u2"));
    let lonely = create(T, USER, user("ref-lonely"));
    let g1 = create(T, GROUP, group("G1", &[&u1, &u2, &u1.to_uppercase()]));
    let g2 = create(T, GROUP, group("G2", &[&u1]));
    let nested = create(T, GROUP, group("Nested", &[&g2]));
    create("kit-other", GROUP, group("Elsewhere", &[&u1]));
    let referrer = Referrer::new(GROUP, "members");
    let pairs = |found: Vec<Reference>| -> BTreeSet<(String, String, Option<String>)> {
        let n = found.len();
        let set: BTreeSet<_> = found
            .into_iter()
            .map(|r| (r.referrer, r.target, r.display.map(|d| d.to_string())))
            .collect();
        assert_eq!(set.len(), n, "a reference repeated");
        set
    };
    let Some(found) =
        block_on(s.references_to(T, &referrer, &[&u1, &u2, &lonely, &g2])).expect("references")
    else {
        return;
    };
    let named =
        |g: &str, t: &str, name: &str| (g.to_owned(), t.to_owned(), Some(json!(name).to_string()));
    let expected: BTreeSet<_> = [
        named(&g1, &u1, "G1"),
        named(&g2, &u1, "G2"),
        named(&g1, &u2, "G1"),
        named(&nested, &g2, "Nested"),
    ]
    .into_iter()
    .collect();
    assert_eq!(pairs(found), expected, "references_to");
    // The same as the filter the engine would run.
    let registry = Registry::standard();
    let (filter, compiled) = compile(&format!("members.value eq \"{u2}\""), &registry, GROUP);
    let queried = block_on(s.query(
        T,
        GROUP,
        Query {
            filter: Some(&filter),
            compiled: Some(&compiled),
            ..everything()
        },
    ))
    .expect("query");
    let by_query: BTreeSet<String> = queried
        .resources
        .iter()
        .filter(|r| compiled.matches(&r.resource))
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(by_query, BTreeSet::from([g1.clone()]));
    let (user, refs) = block_on(s.get_with_references(T, USER, &u2, &referrer))
        .expect("get")
        .expect("u2 exists");
    assert_eq!(user.id, u2);
    assert_eq!(
        pairs(refs.expect("the store answered references_to")),
        BTreeSet::from([named(&g1, &u2, "G1")])
    );
    assert!(
        block_on(s.get_with_references(T, USER, "nobody", &referrer))
            .expect("get")
            .is_none()
    );
    let (_, none) = block_on(s.get_with_references(T, USER, &lonely, &referrer))
        .expect("get")
        .expect("exists");
    assert_eq!(none, Some(Vec::new()));
}

fn patch_op(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// A response body without `meta` (a write moves `version` and `lastModified`).
fn without_meta(mut body: Value) -> Value {
    if let Value::Object(m) = &mut body {
        m.remove("meta");
    }
    body
}

/// Through the engine: GET of `path`, PUT of that body, GET again: the PUT is accepted and
/// changes nothing (RFC 7644 §3.5.1), which a resource whose `schemas` misses an extension
/// it has data for fails (400 `invalidSyntax`).
fn assert_get_put_round_trip<S: Store>(e: &crate::Engine<S>, path: &str, context: &str) {
    use crate::{Method, Request};
    let (status, before) = send(e, Request::new(Method::Get, path));
    assert_eq!(status, 200, "{context}: GET {before}");
    let (status, body) = send(e, Request::new(Method::Put, path).with_json(&before));
    assert_eq!(status, 200, "{context}: PUT of the GET body: {body}");
    let (_, after) = send(e, Request::new(Method::Get, path));
    assert_eq!(
        without_meta(after),
        without_meta(before),
        "{context}: the PUT changed the resource"
    );
}

/// Through the engine, an extension's URN follows its data: a PATCH that gives a user
/// whose `schemas` lists only the core schema an enterprise attribute lists the extension
/// (stored and shown), one that removes its last attribute drops it and the empty object;
/// after each, the GET body is a valid PUT body that changes nothing.
fn engine_extension_urns<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let (status, body) = post_user(&e, user("ext-urn"));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    let path = format!("/Users/{id}");
    let core = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    let stored = |e: &crate::Engine<S>| {
        block_on(e.store().get("default", USER, &id))
            .expect("get")
            .expect("user")
            .resource
    };
    let (status, body) = send(
        &e,
        Request::new(Method::Patch, &path).with_json(&patch_op(json!([
            {"op": "add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "701984"}
        ]))),
    );
    assert_eq!(status, 200, "extension URN: {body}");
    let listed = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    assert_eq!(body["schemas"], listed, "extension URN: response");
    assert_eq!(stored(&e)["schemas"], listed, "extension URN: stored");
    assert_get_put_round_trip(&e, &path, "extension URN added");

    let (status, body) = send(
        &e,
        Request::new(Method::Patch, &path).with_json(&patch_op(json!([
            {"op": "remove", "path": format!("{ENTERPRISE}:employeeNumber")}
        ]))),
    );
    assert_eq!(status, 200, "extension URN: {body}");
    assert_eq!(
        body["schemas"], core,
        "extension URN: dropped in the response"
    );
    let now = stored(&e);
    assert_eq!(now["schemas"], core, "extension URN: dropped in the store");
    assert!(
        now.get(ENTERPRISE).is_none(),
        "extension URN: empty object kept: {now}"
    );
    assert_get_put_round_trip(&e, &path, "extension URN removed");
}

/// Through the engine, a group holds each member once, with the `type` of the resource its
/// `value` names (set by the server: a client's `type` is not trusted) and no stored `$ref`
/// (computed for responses: `{base}/Users/{id}`, `{base}/Groups/{id}`) — whether members
/// come by POST, PUT, PATCH add or Bulk; the GET body of the group is a valid PUT body.
fn engine_members_once_with_their_type<S: Store>(store: S) {
    use crate::{Method, Request};
    let e = engine_over(store);
    let base = "https://example.com/scim/v2";
    let new_user = |name: &str| {
        let (status, body) = post_user(&e, user(name));
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    };
    let u1 = new_user("typed-1");
    let u2 = new_user("typed-2");
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Groups").with_json(&group("typed-inner", &[])),
    );
    assert_eq!(status, 201, "{body}");
    let inner = body["id"].as_str().expect("id").to_owned();
    let group_with = |name: &str, members: Value| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": name, "members": members})
    };
    // What the store holds, and what a response shows, for a group.
    let check = |id: &str, expected: &[(&str, &str)], context: &str| {
        let stored = block_on(e.store().get("default", GROUP, id))
            .expect("get")
            .expect("group")
            .resource;
        let want: Vec<Value> = expected
            .iter()
            .map(|(v, t)| json!({"value": v, "type": t}))
            .collect();
        assert_eq!(
            stored["members"],
            Value::Array(want),
            "{context}: stored members"
        );
        let (status, shown) = send(&e, Request::new(Method::Get, format!("/Groups/{id}")));
        assert_eq!(status, 200, "{context}: {shown}");
        let refs: Vec<Value> = shown["members"]
            .as_array()
            .map(|m| m.iter().map(|x| x["$ref"].clone()).collect())
            .unwrap_or_default();
        let want: Vec<Value> = expected
            .iter()
            .map(|(v, t)| json!(format!("{base}/{t}s/{v}")))
            .collect();
        assert_eq!(refs, want, "{context}: $ref shown: {shown}");
        assert_get_put_round_trip(&e, &format!("/Groups/{id}"), context);
    };

    // POST: a wrong type, a repeat, a client `$ref`.
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Groups").with_json(&group_with(
            "typed",
            json!([{"value": u1, "type": "Group", "$ref": "https://elsewhere.example/x"},
                   {"value": u1},
                   {"value": inner, "type": "User"},
                   {"value": u1, "type": "User", "display": "again"}]),
        )),
    );
    assert_eq!(status, 201, "{body}");
    let g = body["id"].as_str().expect("id").to_owned();
    check(&g, &[(&u1, "User"), (&inner, "Group")], "POST");

    // PATCH add: a member again under another type, a new one with a wrong type.
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": u1, "type": "Group"}]}]),
        json!([{"op": "add", "path": "members", "value": [{"value": u2, "type": "Group"},
                                                           {"value": u2, "type": "User"}]},
               {"op": "add", "value": {"members": [{"value": inner, "type": "User"}]}}]),
    ] {
        let (status, body) = send(
            &e,
            Request::new(Method::Patch, format!("/Groups/{g}")).with_json(&patch_op(ops)),
        );
        assert_eq!(status, 200, "PATCH: {body}");
    }
    check(
        &g,
        &[(&u1, "User"), (&inner, "Group"), (&u2, "User")],
        "PATCH add",
    );
    // `members.value` is not caseExact: a member spelt in another case is there already,
    // even where nothing is looked up.
    let (status, body) = send(
        &e,
        Request::new(Method::Patch, format!("/Groups/{g}"))
            .with_header(crate::OVERHEAD_BYPASS, "1")
            .with_json(&patch_op(json!([{"op": "add", "path": "members",
                "value": [{"value": u1.to_uppercase()}]}]))),
    );
    assert_eq!(status, 200, "PATCH: {body}");
    check(
        &g,
        &[(&u1, "User"), (&inner, "Group"), (&u2, "User")],
        "PATCH add in another case",
    );

    // PUT: repeats and wrong types, for members kept and members added.
    let (status, body) = send(
        &e,
        Request::new(Method::Put, format!("/Groups/{g}")).with_json(&group_with(
            "typed",
            json!([{"value": u2, "type": "Group"}, {"value": u2},
                   {"value": u1, "type": "Group", "$ref": "https://elsewhere.example/y"}]),
        )),
    );
    assert_eq!(status, 200, "PUT: {body}");
    check(&g, &[(&u2, "User"), (&u1, "User")], "PUT");

    // Bulk: a POST with repeats, then a PATCH adding a member it has.
    let (status, body) = send(
        &e,
        Request::new(Method::Post, "/Bulk").with_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": group_with("typed-bulk", json!([{"value": u1, "type": "Group"},
                                                     {"value": u1, "type": "User"}]))},
            {"method": "PATCH", "path": "/Groups/bulkId:g",
             "data": patch_op(json!([{"op": "add", "path": "members",
                 "value": [{"value": u1, "type": "Group"}, {"value": inner}]}]))}
        ]})),
    );
    assert_eq!(status, 200, "Bulk: {body}");
    let location = body["Operations"][0]["location"].as_str().unwrap_or("");
    let bulk = location.rsplit('/').next().unwrap_or("").to_owned();
    assert!(!bulk.is_empty(), "Bulk: {body}");
    assert_eq!(body["Operations"][1]["status"], "200", "Bulk: {body}");
    check(&bulk, &[(&u1, "User"), (&inner, "Group")], "Bulk");
}
