//! What is pushed down to SQL: the common filters answered exactly (`filtered`), sort and
//! paging in SQL, `co` through the trigram index, and the conformance filters all agreeing
//! with the evaluator (exactly, or as a superset the engine finishes).

use std::time::{Duration, Instant};

use scim_core::test_kit::{check_query, fixture, FILTERS};
use scim_core::{block_on, Query, Sort, Store, StoredResource};
use scim_filter::{AttrPath, AttrSchema, CompiledFilter, Filter};
use scim_schema::Registry;
use scim_test_support::postgres::TestSchema;
use serde_json::json;

use super::store_in;

fn everything<'a>() -> Query<'a> {
    Query {
        filter: None,
        sort: None,
        start_index: 1,
        count: usize::MAX,
        attributes: None,
    }
}

fn all(s: &impl Store, rt: &str) -> Vec<StoredResource> {
    block_on(s.query("t", rt, everything()))
        .expect("query")
        .resources
}

/// The filters a directory sends most, answered by SQL alone; every conformance filter
/// agrees with the evaluator.
#[test]
fn common_filters_are_pushed_down() {
    let Some(schema) = TestSchema::new("pushdown_common") else {
        return;
    };
    let s = store_in(&schema);
    for r in fixture() {
        block_on(s.create("t", "User", r, vec![])).expect("create");
    }
    block_on(s.create(
        "t",
        "User",
        json!({"userName": "ext", "externalId": "E-42", "displayName": "Xyzzy Quux"}),
        vec![],
    ))
    .expect("create");
    let users = all(&s, "User");
    let member = users[0].id.clone();
    for g in [
        json!({"displayName": "Tour Guides", "members": [{"value": member, "type": "User"}]}),
        json!({"displayName": "Empty", "members": []}),
    ] {
        block_on(s.create("t", "Group", g, vec![])).expect("create");
    }
    let groups = all(&s, "Group");

    for text in [
        r#"userName eq "BJensen""#,
        r#"emails.value eq "bjensen@example.com""#,
        r#"emails co "EXAMPLE.com""#,
        r#"displayName co "jens""#,
        r#"displayName sw "john""#,
        r#"displayName ew "ZOLA""#,
        r#"externalId eq "E-42""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.created le "2012-02-01T00:00:00Z""#,
        r#"emails[type eq "work" and value co "example"]"#,
        r#"emails[type eq "WORK" and primary eq true]"#,
        r#"title eq "tour guide" and not (active eq false)"#,
        r#"name.familyName ew "SSE" or loginCount gt 10"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
        "title pr",
        "nickName eq null",
    ] {
        assert!(
            check_query(&s, "t", "User", text, &users),
            "{text}: not pushed down"
        );
    }
    for text in [
        format!(r#"members.value eq "{member}""#),
        format!(r#"members[value eq "{member}"]"#),
        format!(r#"members[type eq "user" and value eq "{member}"]"#),
        r#"displayName eq "tour guides""#.to_owned(),
    ] {
        assert!(
            check_query(&s, "t", "Group", &text, &groups),
            "{text}: not pushed down"
        );
    }
    // Every conformance filter agrees with the evaluator; most are answered by SQL.
    let pushed = FILTERS
        .iter()
        .filter(|text| check_query(&s, "t", "User", text, &users))
        .count();
    eprintln!(
        "{pushed} of {} conformance filters pushed down",
        FILTERS.len()
    );
    assert!(
        pushed * 10 >= FILTERS.len() * 8,
        "only {pushed} pushed down"
    );
}

/// `userName pr`, sorted by `attr`, the page of `count` from `start`: whether it was
/// filtered, sorted and paged in SQL, `totalResults`, and the `userName`s.
fn sorted_page(
    s: &impl Store,
    attr: &str,
    descending: bool,
    (start, count): (usize, usize),
) -> ((bool, bool, bool), usize, Vec<String>) {
    let registry = Registry::standard();
    let users = registry.resource_type("User").expect("User");
    let f = CompiledFilter::compile(&Filter::parse("userName pr").expect("parse"), &users)
        .expect("compile");
    let path = AttrPath::new(attr);
    let info = users.attribute(&path);
    let result = block_on(s.query(
        "t",
        "User",
        Query {
            filter: Some(&f),
            sort: Some(Sort {
                path: &path,
                descending,
                attribute: info.as_ref(),
            }),
            start_index: start,
            count,
            attributes: None,
        },
    ))
    .expect("query");
    let names = result
        .resources
        .iter()
        .map(|r| {
            r.resource["userName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    (
        (result.filtered, result.sorted, result.paged),
        result.total_results,
        names,
    )
}

/// Sorting by a string attribute and paging run in SQL, with `totalResults` counted; a sort
/// SQL cannot match (a number) is left to the engine, and then so is the page.
#[test]
fn sort_and_paging_are_pushed_down() {
    let Some(schema) = TestSchema::new("pushdown_sort") else {
        return;
    };
    let s = store_in(&schema);
    for r in fixture() {
        block_on(s.create("t", "User", r, vec![])).expect("create");
    }
    // Descending by Rust's lower-casing: émile, x, strasse, ops_100%, nobody, mary, …
    let (how, total, names) = sorted_page(&s, "userName", true, (2, 3));
    assert_eq!((how, total), ((true, true, true), 8));
    assert_eq!(names, ["x", "STRASSE", "ops_100%"]);
    // A case-insensitive attribute outside the index tables: by its folded value. "",
    // "100% Ops", then "Tour Guide" twice, absent last.
    let (how, total, names) = sorted_page(&s, "title", false, (1, 2));
    assert_eq!((how, total), ((true, true, true), 8));
    assert_eq!(names, ["émile", "ops_100%"]);
    // Numbers are the engine's to sort, and so the page is.
    let (how, _, names) = sorted_page(&s, "loginCount", false, (1, 2));
    assert_eq!(how, (true, false, false));
    assert_eq!(names.len(), 8);
}

/// `displayName co "…"` reads its trigram index `attr_index_trgm_displayname` (its scans counted by
/// the server), among many keys.
#[test]
fn contains_uses_the_trigram_index() {
    let Some(schema) = TestSchema::new("pushdown_trgm") else {
        return;
    };
    let s = store_in(&schema);
    let wanted = block_on(s.create(
        "t",
        "User",
        json!({"userName": "needle", "displayName": "Qwxyz Needle"}),
        vec![],
    ))
    .expect("create");
    block_on(s.create(
        "t",
        "User",
        json!({"userName": "hay", "displayName": "Hay"}),
        vec![],
    ))
    .expect("create");
    // Many other resources, each with a key no filter below finds (with few resources,
    // reading each one's keys by `attr_index_owner` is the better plan).
    schema.execute(&format!(
        "INSERT INTO {0}.resources (tenant, resource_type, id, version, resource, search, \
         folded) SELECT 't', 'User', 'filler' || i, 1, '{{}}', '{{}}', '{{}}' \
         FROM generate_series(1, 50000) AS i; \
         INSERT INTO {0}.attr_index (tenant, resource_type, attr, key, id) \
         SELECT 't', 'User', 'displayname', md5(i::text), 'filler' || i \
         FROM generate_series(1, 50000) AS i; ANALYZE {0}.resources; ANALYZE {0}.attr_index",
        schema.name()
    ));
    let scans = || -> i64 {
        schema
            .scalar(&format!(
                "SELECT idx_scan FROM pg_stat_user_indexes WHERE schemaname = '{}' \
                 AND indexrelname = 'attr_index_trgm_displayname'",
                schema.name()
            ))
            .and_then(|n| n.parse().ok())
            .unwrap_or(-1)
    };
    let before = scans();
    assert!(before >= 0, "the trigram index exists");
    let users = vec![wanted.clone()];
    let registry = Registry::standard();
    let rt = registry.resource_type("User").expect("User");
    let f = CompiledFilter::compile(
        &Filter::parse(r#"displayName co "WXYZ NEE""#).expect("parse"),
        &rt,
    )
    .expect("compile");
    let result = block_on(s.query(
        "t",
        "User",
        Query {
            filter: Some(&f),
            ..everything()
        },
    ))
    .expect("query");
    assert!(result.filtered);
    assert_eq!(result.resources, users);
    // A server backend reports its statistics when it goes idle, at most every ten seconds
    // (PostgreSQL 15: PGSTAT_IDLE_INTERVAL).
    let deadline = Instant::now() + Duration::from_secs(30);
    while scans() <= before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        scans() > before,
        "attr_index_trgm_displayname was not scanned"
    );
}
