//! No secret in clear: not in the documents, not in the search column or the index table,
//! not readable by other users of the machine; legacy cleartext migrated.

use scim_core::secret::{Argon2Params, Argon2id, Cleartext, PasswordScheme};
use scim_core::{block_on, Store};
use scim_schema::Registry;
use scim_store_sqlite::SqliteStore;
use serde_json::json;

use super::temp_dir;

fn scheme() -> std::sync::Arc<Argon2id> {
    std::sync::Arc::new(Argon2id::new(
        Argon2Params::fast_for_tests(),
        scim_core::secret::default_entropy(),
    ))
}

/// Every byte of the database: what a copy of the file would show.
fn dump(path: &std::path::Path) -> String {
    let c = rusqlite::Connection::open(path).expect("open");
    let mut out = String::new();
    for table in ["resources", "attr_index", "unique_keys", "members"] {
        let mut stmt = c
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("select");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .expect("rows");
        for row in rows {
            out.push_str(&row.expect("row"));
            out.push('\n');
        }
    }
    out
}

/// A file of layout version 1 with a password in clear (as the store wrote it before) is
/// migrated on open: the password hashed (verifiable), gone from `search`, version 2.
#[test]
fn version_1_cleartext_passwords_are_hashed_on_open() {
    let dir = temp_dir("v1-passwords");
    let path = dir.join("v1.sqlite");
    drop(
        SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
            .expect("create"),
    );
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        let user = json!({"id": "u1", "userName": "victim", "password": "Legacy-Clear-1"});
        let search = json!({"id": "u1", "username": "victim", "password": "Legacy-Clear-1"});
        c.execute(
            "INSERT INTO resources (tenant, resource_type, id, version, resource, search) \
             VALUES ('t', 'User', 'u1', 4, ?1, ?2)",
            (user.to_string(), search.to_string()),
        )
        .expect("insert");
        c.pragma_update(None, "user_version", 1).expect("v1");
    }
    assert!(
        dump(&path).contains("Legacy-Clear-1"),
        "the legacy file holds it"
    );
    let passwords = scheme();
    let s = SqliteStore::open_with_passwords(
        &path,
        scim_core::StoreSchema::of(&Registry::standard()),
        passwords.clone(),
    )
    .expect("migrate");
    let got = block_on(s.get("t", "User", "u1"))
        .expect("get")
        .expect("present");
    assert_eq!(got.version, 4, "a migration is no write");
    let hash = got.resource["password"]
        .as_str()
        .expect("password")
        .to_owned();
    assert!(passwords
        .verify(&Cleartext::new("Legacy-Clear-1"), &hash)
        .expect("verify"));
    drop(s);
    assert!(!dump(&path).contains("Legacy-Clear-1"));
    let c = rusqlite::Connection::open(&path).expect("open");
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("v");
    assert_eq!(version, 4);
    let search: String = c
        .query_row("SELECT search FROM resources WHERE id = 'u1'", [], |r| {
            r.get(0)
        })
        .expect("search");
    assert!(!search.contains("password"), "{search}");
    drop(c);
    // Opening again hashes nothing twice.
    let s = SqliteStore::open_with_passwords(
        &path,
        scim_core::StoreSchema::of(&Registry::standard()),
        passwords.clone(),
    )
    .expect("reopen");
    let again = block_on(s.get("t", "User", "u1"))
        .expect("get")
        .expect("present");
    assert_eq!(again.resource["password"], json!(hash));
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Through the engine, on a file: no byte of the database holds the password or anything
/// searchable derived from it; the hash is only in the document.
#[test]
fn the_database_holds_no_password_and_searches_none() {
    let dir = temp_dir("no-clear");
    let path = dir.join("db.sqlite");
    let store =
        SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard())).expect("open");
    let config = scim_core::Config::new("https://example.com/scim/v2").password_scheme(scheme());
    let e = scim_core::Engine::new(Registry::standard(), store, config);
    let ctx = scim_core::RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let resp = block_on(e.handle(
        &ctx,
        scim_core::Request::new(scim_core::Method::Post, "/Users").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "victim", "password": "Hunter2-Secret!"})),
    ));
    assert_eq!(resp.status, 201);
    let all = dump(&path);
    assert!(!all.contains("Hunter2"), "{all}");
    let c = rusqlite::Connection::open(&path).expect("open");
    let (resource, search): (String, String) = c
        .query_row("SELECT resource, search FROM resources", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("row");
    assert!(resource.contains("$argon2id$"), "{resource}");
    assert!(
        !search.contains("argon2") && !search.contains("password"),
        "{search}"
    );
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The database and SQLite's `-wal` and `-shm` files are the owner's alone (0600), whether
/// the store creates the file or finds it readable by others.
#[cfg(unix)]
#[test]
fn database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("modes");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    for preexisting in [false, true] {
        let path = dir.join(format!("db-{preexisting}.sqlite"));
        if preexisting {
            std::fs::write(&path, b"").expect("touch");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let store = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
            .expect("open");
        block_on(store.create("t", "User", json!({"userName": "a"}), vec![])).expect("create");
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            assert!(p.exists(), "{}", p.display());
            assert_eq!(mode(&p), 0o600, "{} ({preexisting})", p.display());
        }
        drop(store);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Four ids made in a row by a store opened with `options`.
fn four_ids(options: scim_store_sqlite::SqliteOptions) -> Vec<String> {
    let s = SqliteStore::open_in_memory_with(
        scim_core::StoreSchema::of(&Registry::standard()),
        options,
    )
    .expect("open");
    (0..4)
        .map(|n| {
            block_on(s.create("t", "User", json!({"userName": format!("u{n}")}), vec![]))
                .expect("create")
                .id
        })
        .collect()
}

/// No two of `ids` share 8 hex digits from `from` on (their random part).
fn unrelated(ids: &[String], from: usize) {
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            let (a, b) = (a.replace('-', ""), b.replace('-', ""));
            assert!(
                !(from..=a.len() - 8).any(|k| b[from..].contains(&a[k..k + 8])),
                "{a} {b}"
            );
        }
    }
}

/// By default ids are version-7 UUIDs: in the order they were made, their 74 random bits
/// unrelated to each other.
#[test]
fn ids_are_time_ordered_and_unguessable() {
    let ids = four_ids(scim_store_sqlite::SqliteOptions::default());
    scim_test_support::assert_time_ordered(&ids);
    // After the 48 bits of time and the version digit.
    unrelated(&ids, 13);
}

/// With `time_ordered_ids(false)`, ids are random version-4 UUIDs, unrelated to each other.
#[test]
fn ids_are_random_when_asked() {
    let ids = four_ids(scim_store_sqlite::SqliteOptions::default().time_ordered_ids(false));
    for id in &ids {
        assert_eq!(&id[14..15], "4", "{id}");
    }
    unrelated(&ids, 0);
}

/// Unique keys an older version wrote (lower-cased only) are made again on open, so a legacy
/// NFD `José` and a new NFC `José` are one user name.
#[test]
fn version_1_unique_keys_are_renormalised() {
    let dir = temp_dir("v1-keys");
    let path = dir.join("v1.sqlite");
    drop(
        SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
            .expect("create"),
    );
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        let nfd = "Jose\u{301}";
        let user = json!({"id": "u1", "userName": nfd});
        c.execute(
            "INSERT INTO resources (tenant, resource_type, id, version, resource, search) \
             VALUES ('default', 'User', 'u1', 1, ?1, ?2)",
            (user.to_string(), user.to_string().to_lowercase()),
        )
        .expect("insert");
        c.execute(
            "INSERT INTO unique_keys (tenant, resource_type, attribute, value, id) \
             VALUES ('default', 'User', 'userName', ?1, 'u1')",
            [nfd.to_lowercase()],
        )
        .expect("key");
        c.pragma_update(None, "user_version", 1).expect("v1");
    }
    let store = SqliteStore::open(&path, scim_core::StoreSchema::of(&Registry::standard()))
        .expect("migrate");
    let e = scim_core::Engine::new(
        Registry::standard(),
        store,
        scim_core::Config::new("https://example.com/scim/v2"),
    );
    let ctx = scim_core::RequestContext::new(chrono::DateTime::UNIX_EPOCH);
    let resp = block_on(e.handle(
        &ctx,
        scim_core::Request::new(scim_core::Method::Post, "/Users").with_json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "JOS\u{c9}"})),
    ));
    assert_eq!(resp.status, 409, "{}", resp.body_json());
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}
