//! Unit tests of the store's internals (plans, statements, the pool's batches).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::read::OwnedQuery;
use rusqlite::{params, params_from_iter};
use scim_core::{Query, ResourceEdit, Store};
use scim_filter::{CompiledFilter, Filter};
use scim_schema::Registry;
use serde_json::json;

fn store() -> SqliteStore {
    SqliteStore::open_in_memory(StoreSchema::of(&Registry::standard())).expect("open")
}

/// In a batch on a file database the trigram index's changes wait for the end of the
/// batch: those of a write that fails after writing are dropped with its savepoint,
/// those of the others are applied.
#[test]
fn a_failed_write_leaves_no_trigrams() {
    let dir = std::env::temp_dir().join(format!("scim-sqlite-defer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let s =
        SqliteStore::open(dir.join("d.db"), StoreSchema::of(&Registry::standard())).expect("open");
    let core = Arc::clone(&s.core);
    let failed = scim_core::block_on(s.pool.write(move |tx| {
        core.create_in(tx, "t", "User", json!({"displayName": "ghost wkq"}), &[])?;
        Err::<(), _>(StoreError::Unavailable("fails after writing".into()))
    }));
    assert!(failed.is_err());
    scim_core::block_on(s.create("t", "User", json!({"displayName": "kept wkq"}), vec![]))
        .expect("create");
    let grams = |lit: &'static str| {
        scim_core::block_on(s.pool.read(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM attr_trigram WHERE attr_trigram MATCH ?1",
                params![lit],
                |r| r.get::<_, i64>(0),
            )
            .map_err(unavailable)
        }))
        .expect("count")
    };
    assert_eq!(
        (grams("\"gho\""), grams("\"kep\""), grams("\"wkq\"")),
        (0, 1, 1)
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A page of groups reads its members with one statement, not one per group, and a
/// page that does not show `members` reads none.
#[test]
fn a_page_of_groups_reads_members_at_once() {
    let s = store();
    let members = |i: usize| json!([{"value": format!("u{i}")}, {"value": format!("v{i}")}]);
    let groups = (0..40)
        .map(|i| {
            (
                json!({"displayName": format!("g{i}"), "members": members(i)}),
                vec![],
            )
        })
        .collect();
    s.create_batch("t", "Group", groups).expect("groups");
    let core = Arc::clone(&s.core);
    let (runs, with, without) = scim_core::block_on(s.pool.read(move |conn| {
        let page = |attributes: Option<&[&str]>| {
            let query = Query {
                filter: None,
                sort: None,
                start_index: 1,
                count: usize::MAX,
                attributes,
            };
            core.query_rows(conn, "t", "Group", &query, false)
        };
        let with = page(None)?;
        let without = page(Some(&["id", "displayName", "schemas", "meta"]))?;
        let runs = conn
            .prepare_cached(
                "SELECT owner_id, element FROM members WHERE tenant = ?1 \
                 AND resource_type = ?2 AND owner_id IN (SELECT value FROM json_each(?3)) \
                 ORDER BY owner_id, seq",
            )
            .map_err(unavailable)?
            .get_status(rusqlite::StatementStatus::Run);
        Ok((runs, with, without))
    }))
    .expect("pages");
    assert_eq!(runs, 1, "one members read for the whole page");
    assert_eq!(with.resources.len(), 40);
    for g in &with.resources {
        let i: usize = g.resource["displayName"].as_str().unwrap()[1..]
            .parse()
            .unwrap();
        assert_eq!(g.resource["members"], members(i), "{}", g.resource);
    }
    assert!(without
        .resources
        .iter()
        .all(|g| g.resource.get("members").is_none()));
}

/// A cached statement is parsed and planned once: binding new values does not make
/// SQLite prepare it again (it would, comparing them with the partial indexes' `WHERE`,
/// without the query planner stability guarantee).
#[test]
fn cached_statements_are_not_prepared_again() {
    let s = store();
    let core = Arc::clone(&s.core);
    let reprepared = scim_core::block_on(s.pool.read(move |conn| {
        let registry = Registry::standard();
        let group = registry.resource_type("Group").expect("Group");
        let mut sql = String::new();
        for id in ["a", "b", "c"] {
            let filter = Filter::parse(&format!("members.value eq \"{id}\"")).expect("f");
            let compiled = CompiledFilter::compile(&filter, &group).expect("compile");
            let query = Query {
                filter: Some(&compiled),
                sort: None,
                start_index: 1,
                count: usize::MAX,
                attributes: Some(&["displayName"]),
            };
            core.get_in(conn, "t", "User", id)?;
            core.query_rows(conn, "t", "Group", &query, false)?;
            sql = core.plan(conn, "t", "Group", &query)?.sql;
        }
        let get = conn
            .prepare_cached(
                "SELECT version, resource, members_key FROM resources \
                 WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
            )
            .map_err(unavailable)?
            .get_status(rusqlite::StatementStatus::RePrepare);
        let list = conn
            .prepare_cached(&sql)
            .map_err(unavailable)?
            .get_status(rusqlite::StatementStatus::RePrepare);
        Ok((get, list))
    }))
    .expect("read");
    assert_eq!(reprepared, (0, 0));
}

/// Whether a plan's line searches `resources` by `id` (through the primary key alone when
/// a filtered page reads only the matches' row ids, its rows joined after).
fn by_id(line: &str) -> bool {
    line.starts_with("SEARCH r USING ")
        && line
            .ends_with("INDEX sqlite_autoindex_resources_1 (tenant=? AND resource_type=? AND id=?)")
}

/// `EXPLAIN QUERY PLAN` of the list query for `filter`, one line per step, and whether
/// SQL applied the filter.
fn explain(s: &SqliteStore, rt: &str, filter: &str) -> (String, bool) {
    let registry = Registry::standard();
    let filter = Filter::parse(filter).expect("filter");
    let compiled =
        CompiledFilter::compile(&filter, &registry.resource_type(rt).expect("rt")).expect("c");
    let query = Query {
        filter: Some(&compiled),
        sort: None,
        start_index: 1,
        count: 10,
        attributes: None,
    };
    let owned = OwnedQuery::of(&query);
    let core = Arc::clone(&s.core);
    let rt = rt.to_owned();
    scim_core::block_on(s.pool.read(move |conn| {
        let plan = owned.with(|q| core.plan(conn, "t", &rt, q))?;
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", plan.sql))
            .map_err(unavailable)?;
        let lines = stmt
            .query_map(params_from_iter(plan.params.values.iter()), |r| {
                r.get::<_, String>(3)
            })
            .map_err(unavailable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        // A filtered page is read in a subquery (`w`, which also counts the matches): its
        // co-routine lines are left out, so that the first line is the first search.
        let lines: Vec<String> = lines
            .into_iter()
            .filter(|l| !l.starts_with("CO-ROUTINE"))
            .collect();
        Ok((lines.join("\n"), plan.filtered))
    }))
    .expect("explain")
}

/// The lookup an IdP makes (and the engine's own `id`/`members.value` lookups) read
/// indexes, not every document: the plan searches the primary key by `id`.
#[test]
fn lookups_use_indexes() {
    let s = store();
    let users = (0..2_000)
        .map(|i| {
            let u = json!({"userName": format!("u{i}"), "emails": [{"value": format!("u{i}@x")}]});
            (u, vec![])
        })
        .collect();
    s.create_batch("t", "User", users).unwrap();
    for (rt, f, index) in [
        ("User", r#"userName eq "U7""#, "attr=? AND key=?"),
        ("User", r#"userName sw "u1""#, "key>? AND key<?"),
        ("User", r#"externalId eq "a""#, "attr=? AND key=?"),
        ("User", r#"displayName eq "a""#, "attr=? AND key=?"),
        (
            "User",
            r#"emails.value eq "u7@x" and active eq true"#,
            "attr=? AND key=?",
        ),
        ("User", r#"id eq "a""#, "attr=? AND key=?"),
        (
            "User",
            r#"id eq "a" or id eq "b" or id eq "c""#,
            "attr=? AND key=?",
        ),
        (
            "User",
            r#"userName eq "a" or userName eq "b" or emails.value eq "c""#,
            "attr=? AND key=?",
        ),
        ("Group", r#"members.value eq "a""#, "members_value"),
        (
            "Group",
            r#"members.value eq "a" or members.value eq "b""#,
            "members_value",
        ),
        ("Group", r#"members[value eq "a"]"#, "members_value"),
        (
            "Group",
            r#"displayName eq "a" and members.value eq "b""#,
            "members_value",
        ),
        // OR-chains of four `eq` and more, one set in the resolved filter: one lookup.
        (
            "User",
            r#"userName eq "a" or userName eq "b" or userName eq "c" or userName eq "d""#,
            "attr=? AND key=?",
        ),
        (
            "User",
            r#"id eq "a" or id eq "b" or id eq "c" or id eq "d" or id eq "e""#,
            "attr=? AND key=?",
        ),
        (
            "Group",
            r#"members.value eq "a" or members.value eq "b" or members.value eq "c" or members.value eq "d""#,
            "members_value",
        ),
        (
            "Group",
            r#"members[value eq "a" or value eq "b" or value eq "c" or value eq "d"]"#,
            "members_value",
        ),
    ] {
        let (plan, filtered) = explain(&s, rt, f);
        assert!(filtered, "{f}");
        assert!(plan.lines().next().is_some_and(by_id), "{f}:\n{plan}");
        assert!(plan.contains(index), "{f}:\n{plan}");
    }
    // Not indexed: every resource of the type is read.
    let (plan, filtered) = explain(&s, "User", r#"title eq "a""#);
    assert!(filtered);
    assert!(!plan.lines().any(by_id), "{plan}");
    let (plan, filtered) = explain(
        &s,
        "User",
        r#"title eq "a" or title eq "b" or title eq "c" or title eq "d""#,
    );
    assert!(filtered);
    assert!(!plan.lines().any(by_id), "{plan}");
}

/// One resource with keys duplicated by case: the lookups still read the indexes for
/// every other resource of the type, and the ambiguous one through its partial index.
#[test]
fn an_ambiguous_resource_keeps_the_indexes() {
    let s = store();
    let users = (0..2_000)
        .map(|i| (json!({"userName": format!("u{i}")}), vec![]))
        .collect();
    s.create_batch("t", "User", users).unwrap();
    s.create_batch(
        "t",
        "User",
        vec![(json!({"userName": "a", "USERNAME": "b"}), vec![])],
    )
    .unwrap();
    let by_id =
        "SEARCH r USING INDEX sqlite_autoindex_resources_1 (tenant=? AND resource_type=? AND id=?)";
    let apart = "SEARCH r USING INDEX resources_ambiguous (tenant=? AND resource_type=?)";
    for f in [r#"userName eq "U7""#, r#"userName sw "u1""#, r#"id eq "a""#] {
        let (plan, filtered) = explain(&s, "User", f);
        // The engine filters the ambiguous resource.
        assert!(!filtered, "{f}");
        assert!(plan.contains(by_id), "{f}:\n{plan}");
        assert!(plan.contains("attr=? AND key"), "{f}:\n{plan}");
        assert!(plan.contains(apart), "{f}:\n{plan}");
        assert!(!plan.contains("SCAN r"), "{f}:\n{plan}");
    }
}

/// `co` and `ew` on the indexed case-insensitive attributes read the trigram index (or,
/// for a literal too short for trigrams, the attribute's keys in `attr_index`), never
/// every document.
#[test]
fn substring_filters_use_the_trigram_index() {
    let s = store();
    let users = (0..2_000)
        .map(|i| {
            let u = json!({"userName": format!("user{i}@example.com"),
                "displayName": format!("Name {i}"),
                "emails": [{"value": format!("u{i}@x.org")}]});
            (u, vec![])
        })
        .collect();
    s.create_batch("t", "User", users).unwrap();
    let trigram = "VIRTUAL TABLE INDEX 0:M";
    for (f, index) in [
        (r#"displayName co "abc""#, trigram),
        (r#"displayName co "ME 12""#, trigram),
        (r#"userName ew "7@EXAMPLE.COM""#, trigram),
        (r#"userName co "r1" or displayName co "name 2""#, trigram),
        (r#"emails.value co "@x.""#, trigram),
        (r#"emails.value co "x" and title pr"#, "attr=?"),
        (r#"displayName ew "9""#, "attr=?"),
    ] {
        let (plan, filtered) = explain(&s, "User", f);
        assert!(filtered, "{f}");
        assert!(plan.lines().next().is_some_and(by_id), "{f}:\n{plan}");
        assert!(plan.contains(index), "{f}:\n{plan}");
        assert!(!plan.contains("SCAN r"), "{f}:\n{plan}");
        // From the matches to their rows, not from every row of the type to the matches.
        if index == trigram {
            assert!(
                plan.contains("USING INTEGER PRIMARY KEY (rowid=?)"),
                "{f}:\n{plan}"
            );
        }
        assert!(!plan.contains("attr_text_owner"), "{f}:\n{plan}");
    }
    // Not indexed by trigrams: a caseExact attribute, and an attribute not indexed.
    for f in [r#"externalId co "abc""#, r#"title co "abc""#] {
        let (plan, filtered) = explain(&s, "User", f);
        assert!(filtered, "{f}");
        assert!(!plan.contains(trigram), "{f}:\n{plan}");
    }
}

#[test]
fn names_attribute_reads_paths_and_urns() {
    assert!(names_attribute("members", "members"));
    assert!(names_attribute("Members.display", "members"));
    assert!(names_attribute(
        "urn:ietf:params:scim:schemas:core:2.0:Group:members",
        "members"
    ));
    assert!(!names_attribute("displayName", "members"));
}

/// A filtered page carries the total of its matches (one statement for both), on every
/// page: a full one in the middle, a short last one, one past the end (counted apart), and
/// when the page is sorted by an attribute.
#[test]
fn filtered_pages_carry_their_total() {
    let s = store();
    for i in 0..30 {
        scim_core::block_on(s.create(
            "t",
            "User",
            json!({"userName": format!("p{i:02}"), "displayName": format!("Paged {i:02}")}),
            vec![],
        ))
        .expect("create");
    }
    scim_core::block_on(s.create("t", "User", json!({"userName": "other"}), vec![]))
        .expect("create");
    let registry = Registry::standard();
    let rt = registry.resource_type("User").expect("User");
    let filter = Filter::parse(r#"displayName co "aged""#).expect("filter");
    let compiled = CompiledFilter::compile(&filter, &rt).expect("compile");
    let sort_path = scim_filter::AttrPath::new("userName");
    let info = scim_filter::AttrInfo::new(scim_filter::AttrType::String);
    let sort = scim_core::Sort {
        path: &sort_path,
        descending: true,
        attribute: Some(&info),
    };
    for (start, sorted, page, first) in [
        (11, false, 10, None),
        (25, false, 6, None),
        (31, false, 0, None),
        (45, false, 0, None),
        (1, true, 10, Some("p29")),
        (21, true, 10, Some("p09")),
    ] {
        let result = scim_core::block_on(s.query(
            "t",
            "User",
            Query {
                filter: Some(&compiled),
                sort: sorted.then_some(sort),
                start_index: start,
                count: 10,
                attributes: None,
            },
        ))
        .expect("query");
        assert!(result.filtered && result.paged, "{start}");
        assert_eq!(result.total_results, 30, "{start} {sorted}");
        assert_eq!(result.resources.len(), page, "{start} {sorted}");
        if let Some(first) = first {
            assert_eq!(result.resources[0].resource["userName"], first);
        }
    }
}

/// What a write left of resource `id`: the document, its search form, the flags and
/// times, the index keys, the capped labels, and the keys in the trigram index.
type Written = (
    (String, String, i64, Option<String>, Option<String>),
    Vec<(String, String)>,
    Vec<(String, Option<Vec<u8>>)>,
    Vec<(String, String)>,
);

fn written(s: &SqliteStore, id: &str) -> Written {
    let id = id.to_owned();
    scim_core::block_on(s.pool.read(move |c| {
        let row = c
            .query_row(
                "SELECT resource, search, ambiguous + 2 * irregular, created, last_modified \
                 FROM resources WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .map_err(unavailable)?;
        let pairs = |sql: &str| -> Result<Vec<(String, String)>, StoreError> {
            let mut stmt = c.prepare(sql).map_err(unavailable)?;
            let rows = stmt
                .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)
        };
        let keys = pairs("SELECT attr, key FROM attr_index WHERE id = ?1 ORDER BY attr, key")?;
        let texts = pairs("SELECT attr, key FROM attr_text WHERE id = ?1 ORDER BY attr, key")?;
        let mut stmt = c
            .prepare("SELECT attr, bloom FROM capped WHERE id = ?1 ORDER BY attr")
            .map_err(unavailable)?;
        let capped = stmt
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(unavailable)?
            .collect::<Result<_, _>>()
            .map_err(unavailable)?;
        Ok((row, keys, capped, texts))
    }))
    .expect("read")
}

/// An edit ([`Store::replace_edited`]) writes exactly what replacing the resource with its
/// whole document writes, with few emails (indexed one by one) and many (capped), and
/// falls back to that write for an edit its text cannot give a row for.
#[test]
fn an_edit_writes_what_writing_the_whole_document_writes() {
    let user = |n: usize, moved: &str| {
        let emails: Vec<_> = (0..n)
            .map(|i| {
                let value = if i == 2 {
                    moved.to_owned()
                } else {
                    format!("u{i}@Example.com")
                };
                json!({"value": value, "type": "work", "primary": i == 0})
            })
            .collect();
        json!({"userName": "bjensen", "displayName": "Babs Jensen", "emails": emails,
            "name": {"givenName": "Babs"}, "phoneNumbers": [{"value": "555", "type": "work"}],
            "meta": {"created": "2024-01-01T00:00:00Z", "lastModified": "2024-03-01T00:00:00Z"}})
    };
    for (n, emails_key) in [(5, "emails"), (300, "emails"), (300, "Emails")] {
        let (edited, whole) = (store(), store());
        let before = user(n, "first@example.org");
        let ids: Vec<String> = [&edited, &whole]
            .iter()
            .map(|s| {
                scim_core::block_on(s.create("t", "User", before.clone(), vec![]))
                    .unwrap()
                    .id
            })
            .collect();
        let mut after = user(n, "Moved@Example.org");
        if emails_key != "emails" {
            let m = after.as_object_mut().unwrap();
            let emails = m.remove("emails").unwrap();
            m.insert(emails_key.to_owned(), emails);
        }
        let text = serde_json::to_string(&after).unwrap();
        let mut head = after.as_object().unwrap().clone();
        let array = serde_json::to_string(&head.remove(emails_key).unwrap()).unwrap();
        let start = text.find(&array).unwrap();
        let edit = ResourceEdit {
            text: text.clone(),
            attribute: emails_key.to_owned(),
            elements: vec![(2, after[emails_key][2].clone())],
            head,
            range: start..start + array.len(),
        };
        // Read from the text, not parsed.
        let hidden = crate::layout::hidden_of(&edited.core.schema, "User");
        assert!(crate::layout::Row::of_edit(&edit, &ids[0], &hidden, 100)
            .unwrap()
            .is_some());
        let answer =
            scim_core::block_on(edited.replace_edited("t", "User", &ids[0], 1, edit, vec![]))
                .unwrap();
        assert_eq!(
            (answer.version, answer.text.as_deref()),
            (2, Some(text.as_str()))
        );
        scim_core::block_on(whole.replace("t", "User", &ids[1], 1, after.clone(), vec![])).unwrap();
        assert_eq!(
            written(&edited, &ids[0]),
            written(&whole, &ids[1]),
            "{n} {emails_key}"
        );
        let got = scim_core::block_on(edited.get("t", "User", &ids[0]))
            .unwrap()
            .unwrap();
        assert_eq!(got.resource, after);
    }
}
