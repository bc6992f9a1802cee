//! Group commit on a file database (readers on their own connections, so the trigram
//! index's changes wait for the end of each batch): what a batch commits is found by `co`,
//! what a write in it rolled back is not, and a rename in a batch moves the trigram rows.

use scim_core::{block_on, Query, Store, StoreError, UniqueKey};
use scim_filter::{CompiledFilter, Filter};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::json;

use super::temp_dir;

fn names(store: &SqliteStore, filter: &str) -> Vec<String> {
    let registry = Registry::standard();
    let rt = registry.resource_type("User").expect("User");
    let filter = Filter::parse(filter).expect("filter");
    let compiled = CompiledFilter::compile(&filter, &rt).expect("compile");
    let result = block_on(store.query(
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
    assert!(result.filtered, "answered by SQL");
    let mut names: Vec<String> = result
        .resources
        .iter()
        .map(|r| r.resource["displayName"].as_str().unwrap_or("").to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn batched_writes_keep_the_trigram_index_exact() {
    let dir = temp_dir("group-commit");
    let store = SqliteStore::open(
        dir.join("g.db"),
        scim_core::StoreSchema::of(&Registry::standard()),
    )
    .expect("open");
    let key = |name: &str| vec![UniqueKey::normalised("userName", name, false)];
    let mut expected = Vec::new();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for t in 0..8 {
            let store = &store;
            handles.push(s.spawn(move || {
                let mut kept = Vec::new();
                for i in 0..60 {
                    let name = format!("gc-{t}-{i}");
                    let display = format!("Kept {t} {i} qqz");
                    block_on(store.create(
                        "t",
                        "User",
                        json!({"userName": name, "displayName": display}),
                        key(&name),
                    ))
                    .expect("create");
                    kept.push(display);
                    // The same userName again: refused before it writes anything, inside
                    // whatever batch it landed in, which commits without it.
                    let again = block_on(store.create(
                        "t",
                        "User",
                        json!({"userName": name, "displayName": format!("Ghost {t} {i} xxv")}),
                        key(&name),
                    ));
                    assert!(
                        matches!(again, Err(StoreError::Conflict { .. })),
                        "{again:?}"
                    );
                }
                kept
            }));
        }
        for h in handles {
            expected.extend(h.join().expect("thread"));
        }
    });
    expected.sort();
    assert_eq!(names(&store, r#"displayName co "qqz""#), expected);
    assert!(names(&store, r#"displayName co "xxv""#).is_empty());
    assert_eq!(
        names(&store, r#"displayName ew "3 7 qqz""#),
        vec!["Kept 3 7 qqz"]
    );
    // Renames, concurrently: the old trigrams go, the new ones come.
    let all = block_on(store.query(
        "t",
        "User",
        Query {
            filter: None,
            sort: None,
            start_index: 1,
            count: usize::MAX,
            attributes: None,
        },
    ))
    .expect("all");
    std::thread::scope(|s| {
        for chunk in all.resources.chunks(60) {
            let store = &store;
            s.spawn(move || {
                for r in chunk {
                    let mut doc = r.resource.clone();
                    let renamed = doc["displayName"]
                        .as_str()
                        .unwrap_or("")
                        .replace("qqz", "rrw");
                    doc["displayName"] = json!(renamed);
                    block_on(store.replace("t", "User", &r.id, r.version, doc, vec![]))
                        .expect("replace");
                }
            });
        }
    });
    assert!(names(&store, r#"displayName co "qqz""#).is_empty());
    assert_eq!(
        names(&store, r#"displayName co "rrw""#).len(),
        expected.len()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
