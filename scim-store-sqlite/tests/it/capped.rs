//! A resource with more values of an indexed attribute than the store indexes one by one
//! (`SqliteOptions::max_indexed_values`): it has no index rows for that attribute, and is
//! found by every filter all the same: the lookups of that attribute also read the
//! documents of such resources, in SQL, so push-down stays exact.

use scim_core::test_kit::check_query;
use scim_core::{block_on, Config, Engine, Method, Request, RequestContext, Store};
use scim_schema::Registry;
use scim_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::{json, Value};

fn store(cap: usize) -> SqliteStore {
    SqliteStore::open_in_memory_with(
        scim_core::StoreSchema::of(&Registry::standard()),
        SqliteOptions::default().max_indexed_values(cap),
    )
    .expect("open")
}

fn user(name: &str, emails: usize) -> Value {
    let emails: Vec<Value> = (0..emails)
        .map(|i| json!({"value": format!("{name}.{i}@Example.com"), "type": "work"}))
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
        "displayName": name.to_uppercase(), "emails": emails})
}

#[test]
fn a_resource_over_the_cap_is_found_by_every_filter() {
    let s = store(10);
    let mut all = Vec::new();
    for (name, n) in [("big", 50), ("small", 3), ("other", 10), ("none", 0)] {
        all.push(block_on(s.create("t", "User", user(name, n), vec![])).expect("create"));
    }
    for text in [
        r#"emails.value eq "BIG.42@example.com""#,
        r#"emails.value eq "small.1@example.com""#,
        r#"emails.value eq "big.42@example.com" or emails.value eq "other.9@example.com""#,
        r#"emails co "g.4""#,
        r#"emails.value co "ig.1""#,
        r#"emails.value ew "9@EXAMPLE.COM""#,
        r#"emails.value sw "big.4""#,
        r#"emails.value co "xy""#,
    ] {
        // Answered by SQL, exactly (`filtered`), the capped user included.
        assert!(check_query(&s, "t", "User", text, &all), "{text}");
    }
    // Whatever the translation reads, the answer is the evaluator's.
    for text in [
        r#"emails[value eq "big.7@example.com"]"#,
        r#"emails[type eq "work" and value co "big.3"]"#,
        r#"not (emails.value eq "big.42@example.com")"#,
        r#"not (emails co "mall")"#,
        r#"emails.value co "@""#,
        r#"userName eq "big" and emails.value pr"#,
    ] {
        check_query(&s, "t", "User", text, &all);
    }
    // Filters that read no capped index are answered as ever.
    for text in [r#"userName eq "big""#, r#"displayName co "BI""#] {
        assert!(check_query(&s, "t", "User", text, &all), "{text}");
    }
    // Under the cap again: indexed again, pushed down exactly.
    let big = &all[0];
    let shrunk =
        block_on(s.replace("t", "User", &big.id, 1, user("big", 2), vec![])).expect("replace");
    all[0] = shrunk;
    assert!(check_query(
        &s,
        "t",
        "User",
        r#"emails.value eq "big.1@example.com""#,
        &all
    ));
    // Deleted: its row in the capped table goes too.
    block_on(s.delete("t", "User", &all[2].id, None)).expect("delete");
    all.remove(2);
    assert!(check_query(
        &s,
        "t",
        "User",
        r#"emails.value eq "other.1@example.com""#,
        &all
    ));
}

/// Through the engine: found, sorted and paged with the others, and a PATCH of one email
/// is found by the new value and no longer by the old.
#[test]
fn the_engine_sorts_pages_and_patches_a_capped_user() {
    let mut config = Config::new("https://example.com/scim/v2");
    config.max_payload = 16 << 20;
    let engine = Engine::new(Registry::standard(), store(5), config);
    let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH).tenant("t");
    let send = |req: Request| {
        let resp = block_on(engine.handle(&ctx, req));
        (resp.status, resp.body_json())
    };
    let mut ids = Vec::new();
    for (name, n) in [("carol", 200), ("alice", 2), ("bob", 6)] {
        let (status, body) = send(Request::new(Method::Post, "/Users").with_json(&user(name, n)));
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let list = |filter: &str, extra: &[(&str, &str)]| {
        let mut req = Request::new(Method::Get, "/Users").with_query("filter", filter);
        for &(k, v) in extra {
            req = req.with_query(k, v);
        }
        let (status, body) = send(req);
        assert_eq!(status, 200, "{body}");
        let names: Vec<String> = body["Resources"]
            .as_array()
            .expect("resources")
            .iter()
            .map(|r| r["userName"].as_str().expect("userName").to_owned())
            .collect();
        (body["totalResults"].as_u64().expect("total"), names)
    };
    assert_eq!(
        list(r#"emails.value eq "carol.150@example.com""#, &[]),
        (1, vec!["carol".to_owned()])
    );
    assert_eq!(
        list(
            r#"emails co "example""#,
            &[("sortBy", "userName"), ("sortOrder", "descending")]
        ),
        (3, vec!["carol".into(), "bob".into(), "alice".into()])
    );
    assert_eq!(
        list(
            r#"emails.value sw "" or emails co "o""#,
            &[("sortBy", "userName"), ("startIndex", "2"), ("count", "1")]
        ),
        (3, vec!["bob".to_owned()])
    );
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "emails[value eq \"carol.7@example.com\"].value",
            "value": "Moved@Example.net"}]});
    let (status, body) =
        send(Request::new(Method::Patch, format!("/Users/{}", ids[0]).as_str()).with_json(&patch));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["emails"].as_array().map(Vec::len), Some(200));
    assert_eq!(
        list(r#"emails.value eq "moved@example.net""#, &[]),
        (1, vec!["carol".to_owned()])
    );
    assert_eq!(list(r#"emails.value eq "carol.7@example.com""#, &[]).0, 0);
}
