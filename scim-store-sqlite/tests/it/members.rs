//! Group members kept out of line: reassembly, partial reads, `patch_elements`, deletion,
//! and membership filters answered by the `value_key` index.

use scim_core::test_kit::check_query;
use scim_core::{block_on, ElementChange, Query, Store, StoreError, StoredResource};
use scim_filter::{CompiledFilter, Filter};
use scim_schema::Registry;
use serde_json::{json, Value};

use super::memory_store;

fn group(members: &[&str]) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g",
        "members": members.iter().map(|m| json!({"value": m, "type": "User"})).collect::<Vec<_>>()})
}

fn values(resource: &Value) -> Vec<String> {
    resource["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn groups_where(s: &impl Store, text: &str, attributes: Option<&[&str]>) -> scim_core::QueryResult {
    let registry = Registry::standard();
    let filter = Filter::parse(text).expect("filter");
    let compiled = CompiledFilter::compile(&filter, &registry.resource_type("Group").expect("G"))
        .expect("compile");
    block_on(s.query(
        "t",
        "Group",
        Query {
            filter: Some(&compiled),
            sort: None,
            start_index: 1,
            count: 100,
            attributes,
        },
    ))
    .expect("query")
}

fn add(values: &[&str]) -> ElementChange {
    let mut c = ElementChange::new("members");
    c.added = values.iter().map(|v| json!({"value": v})).collect();
    c
}

fn remove(values: &[&str]) -> ElementChange {
    let mut c = ElementChange::new("members");
    c.removed = values.iter().map(|v| (*v).to_owned()).collect();
    c
}

fn head(s: &impl Store, id: &str) -> StoredResource {
    block_on(s.get_head("t", "Group", id))
        .expect("head")
        .expect("present")
}

#[test]
fn groups_keep_members_out_of_line() {
    let s = memory_store();
    assert_eq!(s.out_of_line("Group"), Some("members"));
    assert_eq!(s.out_of_line("group"), Some("members"));
    assert_eq!(s.out_of_line("User"), None);

    let created = block_on(s.create("t", "Group", group(&["c", "a", "b"]), vec![])).expect("c");
    let got = block_on(s.get("t", "Group", &created.id))
        .expect("get")
        .expect("present");
    assert_eq!(got, created);
    assert_eq!(values(&got.resource), ["c", "a", "b"]);

    let h = head(&s, &created.id);
    assert_eq!(h.version, 1);
    assert!(h.resource.get("members").is_none());
    assert_eq!(h.resource["displayName"], json!("g"));

    // Members are read only when asked for (or needed to finish a filter in memory).
    let none = groups_where(&s, r#"displayName eq "g""#, Some(&["displayName"]));
    assert!(none.filtered);
    assert!(none.resources[0].resource.get("members").is_none());
    for attrs in [
        Some(&["members"][..]),
        Some(&["members.display"][..]),
        Some(&["urn:ietf:params:scim:schemas:core:2.0:Group:members"][..]),
        None,
    ] {
        let all = groups_where(&s, r#"displayName eq "g""#, attrs);
        assert_eq!(
            values(&all.resources[0].resource),
            ["c", "a", "b"],
            "{attrs:?}"
        );
    }
    // Integers beyond 2^53 are not pushed down.
    let unfinished = groups_where(&s, "displayName ne 9007199254740993", Some(&[]));
    assert!(!unfinished.filtered);
    assert_eq!(values(&unfinished.resources[0].resource), ["c", "a", "b"]);
}

#[test]
fn patch_elements_adds_removes_and_clears() {
    let s = memory_store();
    let g = block_on(s.create("t", "Group", group(&["a", "b"]), vec![])).expect("c");
    let h = head(&s, &g.id).resource;
    let patch = |version, change, head_changed| {
        block_on(s.patch_elements(
            "t",
            "Group",
            &g.id,
            version,
            h.clone(),
            head_changed,
            change,
            vec![],
        ))
    };

    let p = patch(1, add(&["c"]), false).expect("add");
    assert_eq!((p.version, p.changed), (2, true));
    let got = block_on(s.get("t", "Group", &g.id))
        .expect("get")
        .expect("present");
    assert_eq!(got.version, 2);
    assert_eq!(values(&got.resource), ["a", "b", "c"]);

    // Present already (values compare case-insensitively): nothing written.
    let p = patch(2, add(&["A", "c"]), false).expect("dup");
    assert_eq!((p.version, p.changed), (2, false));
    let p = patch(2, remove(&["zzz"]), false).expect("absent");
    assert_eq!((p.version, p.changed), (2, false));
    let p = patch(2, ElementChange::new("members"), false).expect("empty");
    assert_eq!((p.version, p.changed), (2, false));
    assert_eq!(head(&s, &g.id).version, 2);

    let p = patch(2, remove(&["B"]), false).expect("remove");
    assert_eq!((p.version, p.changed), (3, true));
    assert_eq!(
        values(
            &block_on(s.get("t", "Group", &g.id))
                .expect("g")
                .expect("p")
                .resource
        ),
        ["a", "c"]
    );

    let mut change = add(&["x", "x"]);
    change.clear = true;
    let p = patch(3, change, false).expect("clear");
    assert_eq!((p.version, p.changed), (4, true));
    assert_eq!(
        values(
            &block_on(s.get("t", "Group", &g.id))
                .expect("g")
                .expect("p")
                .resource
        ),
        ["x"]
    );

    // Removing the last member removes the attribute.
    let p = patch(4, remove(&["x"]), false).expect("last");
    assert_eq!(p.version, 5);
    let got = block_on(s.get("t", "Group", &g.id)).expect("g").expect("p");
    assert!(got.resource.get("members").is_none());

    // A head change alone is written.
    let mut renamed = h.clone();
    renamed["displayName"] = json!("renamed");
    let p = block_on(s.patch_elements(
        "t",
        "Group",
        &g.id,
        5,
        renamed,
        true,
        ElementChange::new("members"),
        vec![],
    ))
    .expect("head");
    assert_eq!((p.version, p.changed), (6, true));
    assert_eq!(head(&s, &g.id).resource["displayName"], json!("renamed"));
    assert!(
        groups_where(&s, r#"displayName eq "RENAMED""#, None)
            .resources
            .len()
            == 1
    );

    assert_eq!(
        patch(5, add(&["y"]), false),
        Err(StoreError::VersionMismatch)
    );
    assert_eq!(
        block_on(s.patch_elements(
            "t",
            "Group",
            "nope",
            1,
            h.clone(),
            false,
            add(&["y"]),
            vec![]
        )),
        Err(StoreError::NotFound)
    );
    assert!(matches!(
        block_on(s.patch_elements("t", "User", &g.id, 6, h.clone(), false, add(&["y"]), vec![])),
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        block_on(s.patch_elements(
            "t",
            "Group",
            &g.id,
            6,
            h,
            false,
            ElementChange::new("owners"),
            vec![]
        )),
        Err(StoreError::Unavailable(_))
    ));
}

#[test]
fn patch_elements_checks_unique_keys() {
    let s = memory_store();
    let key = |v: &str| scim_core::UniqueKey {
        attribute: "displayName".into(),
        value: v.into(),
    };
    block_on(s.create("t", "Group", group(&[]), vec![key("taken")])).expect("c");
    let g = block_on(s.create("t", "Group", group(&["a"]), vec![key("mine")])).expect("c");
    let h = head(&s, &g.id).resource;
    assert_eq!(
        block_on(s.patch_elements(
            "t",
            "Group",
            &g.id,
            1,
            h.clone(),
            true,
            add(&["b"]),
            vec![key("taken")]
        )),
        Err(StoreError::Conflict {
            attribute: "displayName".into()
        })
    );
    // Nothing of the refused write stayed.
    let got = block_on(s.get("t", "Group", &g.id)).expect("g").expect("p");
    assert_eq!(
        (got.version, values(&got.resource)),
        (1, vec!["a".to_owned()])
    );
}

/// "Which groups is X in" (User.groups, member existence, delete cascade) is answered by
/// SQL exactly, also for several users at once.
#[test]
fn membership_filters_are_pushed_down() {
    let s = memory_store();
    let mut all = Vec::new();
    for members in [&["u1", "u2"][..], &["U2", "u3"], &[], &["u4"]] {
        all.push(block_on(s.create("t", "Group", group(members), vec![])).expect("c"));
    }
    all.push(block_on(s.create("t", "Group", json!({"displayName": "none"}), vec![])).expect("c"));
    for text in [
        r#"members.value eq "u2""#,
        r#"members.value eq "u1" or members.value eq "u4" or members.value eq "nobody""#,
        r#"members[value eq "U3"]"#,
        r#"members.value sw "u""#,
        r#"members pr"#,
        r#"not (members pr)"#,
        r#"members.type eq "User""#,
        r#"members[type eq "User" and value ew "2"]"#,
        r#"members eq "u4""#,
        r#"displayName eq "g" and members.value eq "u3""#,
        // Not rewritten to `members.value ne`: an empty group has no member that differs.
        r#"members[value ne "u1"]"#,
        r#"not (members pr) and members[value ne "a"]"#,
    ] {
        assert!(
            check_query(&s, "t", "Group", text, &all),
            "{text} not pushed down"
        );
    }
    let r = groups_where(&s, r#"members.value eq "u2""#, Some(&["displayName"]));
    assert_eq!(r.resources.len(), 2);
}

#[test]
fn deleting_a_group_deletes_its_members() {
    let dir = std::env::temp_dir().join(format!("scim-sqlite-members-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("db.sqlite");
    let s = scim_store_sqlite::SqliteStore::open(
        &path,
        scim_core::StoreSchema::of(&Registry::standard()),
    )
    .expect("open");
    let g = block_on(s.create("t", "Group", group(&["a", "b"]), vec![])).expect("c");
    let keep = block_on(s.create("t", "Group", group(&["a"]), vec![])).expect("c");
    let rows = |owner: &str| -> i64 {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.query_row(
            "SELECT COUNT(*) FROM members WHERE owner_id = ?1",
            [owner],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(rows(&g.id), 2);
    block_on(s.delete("t", "Group", &g.id, Some(1))).expect("delete");
    assert_eq!(rows(&g.id), 0);
    assert_eq!(rows(&keep.id), 1);
    let r = groups_where(&s, r#"members.value eq "a""#, None);
    assert_eq!(r.resources.len(), 1);
    assert_eq!(r.resources[0].id, keep.id);
    // Replace rewrites them.
    block_on(s.replace("t", "Group", &keep.id, 1, group(&["z", "y"]), vec![])).expect("replace");
    assert_eq!(rows(&keep.id), 2);
    assert!(groups_where(&s, r#"members.value eq "a""#, None)
        .resources
        .is_empty());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
