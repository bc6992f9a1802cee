//! The side table of indexed attributes: exact answers (also for documents whose `id` is not
//! their row id), migration of a version-0 file, and batch loading.

use scim_core::test_kit::check_query;
use scim_core::{block_on, Query, Store, StoreError, UniqueKey};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::json;

use super::memory_store;

#[test]
fn indexed_attributes_answer_exactly() {
    let s = memory_store();
    let mut all = Vec::new();
    for u in [
        json!({"userName": "Bjensen", "externalId": "E1", "displayName": "Babs",
               "emails": [{"value": "B@example.com"}, {"value": "bj@example.org"}]}),
        json!({"userName": "bjensen2", "externalId": "e1", "displayName": "ΑΣ"}),
        json!({"userName": ["alt", "Bjensen"], "emails": {"value": "b@example.com"}}),
        json!({"userName": {"value": "bjensen"}, "displayName": "ασα"}),
    ] {
        all.push(block_on(s.create("t", "User", u, vec![])).expect("create"));
    }
    // A document whose `id` is not its row id (an engine never writes one).
    let odd = block_on(s.replace(
        "t",
        "User",
        &all[3].id,
        1,
        json!({"id": "Other", "userName": "odd"}),
        vec![],
    ))
    .expect("replace");
    all[3] = odd;
    let first = all[0].id.clone();
    for text in [
        r#"userName eq "BJENSEN""#.to_owned(),
        r#"userName sw "bj""#.to_owned(),
        r#"userName sw "BJENSEN2""#.to_owned(),
        r#"externalId eq "E1""#.to_owned(),
        r#"externalId eq "e1" or externalId eq "E1""#.to_owned(),
        r#"displayName sw "ας""#.to_owned(),
        r#"displayName eq "αςα""#.to_owned(),
        r#"emails.value eq "b@EXAMPLE.com""#.to_owned(),
        r#"emails.value eq "bj@example.org" or userName eq "odd""#.to_owned(),
        format!(r#"id eq "{first}""#),
        format!(r#"id eq "{first}" or id eq "Other" or id eq "other""#),
        format!(r#"id eq "{}""#, all[3].id),
        r#"not (userName eq "alt")"#.to_owned(),
        // A lookup that needs the document's confirmation beside one that does not.
        r#"(externalId eq "E1" or emails.value sw "b") or title pr"#.to_owned(),
        r#"externalId eq "E1" or emails.value sw "b""#.to_owned(),
    ] {
        assert!(
            check_query(&s, "t", "User", &text, &all),
            "{text} not pushed down"
        );
    }
}

#[test]
fn create_batch_is_all_or_nothing() {
    let s = memory_store();
    let key = |v: &str| {
        vec![UniqueKey {
            attribute: "userName".into(),
            value: v.into(),
        }]
    };
    let made = s
        .create_batch(
            "t",
            "User",
            vec![
                (json!({"userName": "a"}), key("a")),
                (json!({"userName": "b"}), key("b")),
            ],
        )
        .expect("batch");
    assert_eq!(made.len(), 2);
    assert_eq!(made[0].resource["id"], json!(made[0].id));
    let refused = s.create_batch(
        "t",
        "User",
        vec![
            (json!({"userName": "c"}), key("c")),
            (json!({"userName": "a"}), key("a")),
        ],
    );
    assert_eq!(
        refused,
        Err(StoreError::Conflict {
            attribute: "userName".into()
        })
    );
    let all = block_on(s.query(
        "t",
        "User",
        scim_core::Query {
            filter: None,
            sort: None,
            start_index: 1,
            count: 100,
            attributes: None,
        },
    ))
    .expect("query");
    assert_eq!(all.resources.len(), 2, "the refused batch left nothing");
}

/// A file written before the side tables existed (schema version 0) is migrated on open:
/// index keys backfilled, group members moved out of line.
#[test]
fn version_0_files_are_migrated() {
    let dir = std::env::temp_dir().join(format!("scim-sqlite-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("v0.sqlite");
    let user = json!({"id": "u1", "userName": "Bjensen", "emails": [{"value": "b@x"}]});
    let group =
        json!({"id": "g1", "displayName": "G", "members": [{"value": "u1"}, {"value": "u2"}]});
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(
            "CREATE TABLE resources (tenant TEXT NOT NULL, resource_type TEXT NOT NULL,
                id TEXT NOT NULL, version INTEGER NOT NULL, resource TEXT NOT NULL,
                search TEXT NOT NULL, ambiguous INTEGER NOT NULL DEFAULT 0, created TEXT,
                last_modified TEXT, PRIMARY KEY (tenant, resource_type, id));
             CREATE TABLE unique_keys (tenant TEXT NOT NULL, resource_type TEXT NOT NULL,
                attribute TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL,
                PRIMARY KEY (tenant, resource_type, attribute, value));",
        )
        .expect("v0 schema");
        for (rt, id, doc, search) in [
            (
                "User",
                "u1",
                &user,
                json!({"id": "u1", "username": "Bjensen", "emails": [{"value": "b@x"}]}),
            ),
            (
                "Group",
                "g1",
                &group,
                json!({"id": "g1", "displayname": "G", "members": [{"value": "u1"}, {"value": "u2"}]}),
            ),
        ] {
            c.execute(
                "INSERT INTO resources (tenant, resource_type, id, version, resource, search) \
                 VALUES ('t', ?1, ?2, 3, ?3, ?4)",
                (rt, id, doc.to_string(), search.to_string()),
            )
            .expect("insert");
        }
    }
    let s = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
        .expect("migrate");
    let got = block_on(s.get("t", "Group", "g1"))
        .expect("get")
        .expect("present");
    assert_eq!((got.version, &got.resource), (3, &group));
    let users = vec![block_on(s.get("t", "User", "u1"))
        .expect("get")
        .expect("present")];
    let groups = vec![got];
    assert!(check_query(
        &s,
        "t",
        "User",
        r#"userName eq "bjensen""#,
        &users
    ));
    assert!(check_query(
        &s,
        "t",
        "User",
        r#"emails.value eq "B@X""#,
        &users
    ));
    assert!(check_query(
        &s,
        "t",
        "Group",
        r#"members.value eq "u2""#,
        &groups
    ));
    drop(s);
    let c = rusqlite::Connection::open(&path).expect("open");
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("v");
    assert_eq!(version, 4);
    let members: i64 = c
        .query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0))
        .expect("members");
    assert_eq!(members, 2);
    let stored: String = c
        .query_row("SELECT resource FROM resources WHERE id = 'g1'", [], |r| {
            r.get(0)
        })
        .expect("doc");
    assert!(!stored.contains("members"));
    drop(c);
    // Opening again does not migrate twice.
    let s = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
        .expect("reopen");
    let got = block_on(s.get("t", "Group", "g1"))
        .expect("get")
        .expect("present");
    assert_eq!(got.resource, group);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A replace writes only the difference of the index keys: keys that go, come, change case
/// or repeat, beside thousands that stay, all answer exactly afterwards; so do two users
/// sharing keys, and a delete.
#[test]
fn replaces_keep_the_index_exact() {
    // Thousands of emails indexed one by one: a cap above them.
    let s = SqliteStore::open_in_memory_with(
        scim_core::StoreSchema::of(&Registry::standard()),
        scim_store_sqlite::SqliteOptions::default().max_indexed_values(10_000),
    )
    .expect("open");
    let emails = |values: &[String]| {
        values
            .iter()
            .map(|v| json!({"value": v}))
            .collect::<Vec<_>>()
    };
    let many: Vec<String> = (0..3_000).map(|i| format!("m{i}@x.io")).collect();
    let mut first = many.clone();
    first.extend(["gone@x.io".to_owned(), "Case@x.io".to_owned()]);
    let a = block_on(s.create(
        "t",
        "User",
        json!({"userName": "a", "displayName": "A", "emails": emails(&first)}),
        vec![],
    ))
    .expect("create");
    let b = block_on(s.create(
        "t",
        "User",
        json!({"userName": "b", "emails": [{"value": "m7@x.io"}, {"value": "gone@x.io"}]}),
        vec![],
    ))
    .expect("create");
    let mut second = many.clone();
    second.extend([
        "CASE@x.io".to_owned(),
        "new@x.io".to_owned(),
        "NEW@x.io".to_owned(),
    ]);
    second.remove(1_500);
    let a = block_on(s.replace(
        "t",
        "User",
        &a.id,
        1,
        json!({"userName": "a2", "emails": emails(&second)}),
        vec![],
    ))
    .expect("replace");
    let all = vec![a.clone(), b.clone()];
    for text in [
        r#"emails.value eq "gone@x.io""#,
        r#"emails.value eq "case@x.io""#,
        r#"emails.value eq "new@x.io""#,
        r#"emails.value eq "m1500@x.io""#,
        r#"emails.value eq "m1501@x.io""#,
        r#"emails.value eq "m7@x.io""#,
        r#"emails.value sw "m29""#,
        r#"userName eq "a" or userName eq "a2""#,
        r#"displayName eq "A""#,
    ] {
        assert!(
            check_query(&s, "t", "User", text, &all),
            "{text} not pushed down"
        );
    }
    // Nothing changed: nothing to write, and the answers stay.
    let a =
        block_on(s.replace("t", "User", &a.id, 2, a.resource.clone(), vec![])).expect("replace");
    assert!(check_query(
        &s,
        "t",
        "User",
        r#"emails.value eq "new@x.io""#,
        &[a.clone(), b.clone()]
    ));
    block_on(s.delete("t", "User", &a.id, None)).expect("delete");
    for text in [r#"emails.value eq "m7@x.io""#, r#"emails.value sw "m""#] {
        assert!(
            check_query(&s, "t", "User", text, std::slice::from_ref(&b)),
            "{text}"
        );
    }
}

/// A version-2 file (written before the trigram index) is migrated on open: the trigram rows
/// are filled from `attr_index`, and substring filters read them with the evaluator's answers.
#[test]
fn version_2_files_get_the_trigram_index() {
    let dir = std::env::temp_dir().join(format!("scim-sqlite-migrate-v2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("v2.sqlite");
    let _ = std::fs::remove_file(&path);
    {
        let s = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
            .expect("open");
        for (user, display) in [("Bjensen", "Barbara Jensen"), ("Émile", "ÉMILE ZOLA")] {
            let doc = json!({"userName": user, "displayName": display,
                "emails": [{"value": format!("{user}@Example.com")}]});
            block_on(s.create("t", "User", doc, vec![])).expect("create");
        }
    }
    {
        // What a version-2 file is: the same, without the trigram and capped tables (the
        // lookups below read `capped`: it must be there after the migration).
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(
            "DROP TABLE attr_trigram; DROP TABLE attr_text; DROP TABLE capped; \
             PRAGMA user_version = 2;",
        )
        .expect("back to version 2");
    }
    let s = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
        .expect("migrate");
    let users = block_on(s.query(
        "t",
        "User",
        Query {
            filter: None,
            sort: None,
            start_index: 1,
            count: 100,
            attributes: None,
        },
    ))
    .expect("query")
    .resources;
    for text in [
        r#"displayName co "ARA JEN""#,
        r#"displayName co "émile z""#,
        r#"userName ew "MILE""#,
        r#"emails.value co "@EXAMPLE.""#,
        r#"emails.value co "n@""#,
    ] {
        assert!(check_query(&s, "t", "User", text, &users), "{text}");
    }
    drop(s);
    let c = rusqlite::Connection::open(&path).expect("open");
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("v");
    assert_eq!(version, 4);
    // userName, displayName and one email for each user.
    let rows: i64 = c
        .query_row("SELECT COUNT(*) FROM attr_text", [], |r| r.get(0))
        .expect("rows");
    assert_eq!(rows, 6);
    let found: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM attr_trigram WHERE attr_trigram MATCH '\"zol\"'",
            [],
            |r| r.get(0),
        )
        .expect("match");
    assert_eq!(found, 1);
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
}
