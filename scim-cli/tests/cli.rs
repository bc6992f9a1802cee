//! The command-line tools, run as the `scim` binary: output and exit codes
//! (0 success, 1 a SCIM error printed as its JSON, 2 usage).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::{json, Value};

fn scim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scim"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str, content: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("scim-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn filter_tool() {
    let (code, out, _) = scim(&["filter", "userName EQ \"bjensen\" AND not(title pr)"]);
    assert_eq!(code, 0);
    assert_eq!(out, "userName eq \"bjensen\" and not (title pr)\n");
    let (code, out, err) = scim(&["filter", "userName eq"]);
    assert_eq!(code, 1);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["scimType"],
        "invalidFilter"
    );
    assert!(err.contains("userName eq\n           ^"), "{err}");
    let users = temp(
        "users.json",
        &json!([{"userName": "a", "active": true}, {"userName": "b", "active": false}]),
    );
    let (code, out, _) = scim(&["filter", "active eq true", &users]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1);
    assert!(out.contains("\"a\""));
    let (code, _, _) = scim(&["filter"]);
    assert_eq!(code, 2);
}

#[test]
fn patch_and_validate_tools() {
    let user = temp(
        "user.json",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "bjensen",
        "emails": [{"value": "a@x.org", "primary": true}]}),
    );
    let patch = temp(
        "patch.json",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "emails", "value": [{"value": "b@x.org", "primary": true}]}]}),
    );
    let (code, out, _) = scim(&["patch", &patch, &user]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["resource"]["emails"][0]["primary"], false);
    assert_eq!(v["changed"], true);
    assert_eq!(v["delta"][0]["path"], "emails");
    let bad = temp(
        "bad.json",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove"}]}),
    );
    let (code, out, _) = scim(&["patch", &bad, &user]);
    assert_eq!(code, 1);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["scimType"],
        "noTarget"
    );
    let (code, out, _) = scim(&["validate", &user]);
    assert_eq!(code, 0, "{out}");
    let invalid = temp(
        "invalid.json",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "active": "yes", "password": "secret-value"}),
    );
    let (code, out, _) = scim(&["validate", &invalid]);
    assert_eq!(code, 1);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["scimType"],
        "invalidValue"
    );
    assert!(!out.contains("secret-value"));
    let (code, _, _) = scim(&["validate", "--resource-type", "Nope", &user]);
    assert_eq!(code, 2);
    let (code, _, _) = scim(&["validate", "/does/not/exist.json"]);
    assert_eq!(code, 2);
}

/// `scim serve --help` names the store it really uses: SQLite (`scim.db`) by default.
#[test]
fn serve_help_names_the_sqlite_store() {
    let (code, out, _) = scim(&["serve", "--help"]);
    assert_eq!(code, 0);
    let first = out.lines().next().unwrap_or_default();
    assert!(!first.contains("in-memory"), "{first}");
    assert!(
        first.contains("SQLite") && first.contains("scim.db"),
        "{first}"
    );
    assert!(out.contains("primary_rule"), "{out}");
}

/// `scim serve --db postgres://…` with no database there: exit 1 and one line saying where
/// and why (without the password), no panic.
#[test]
fn serve_on_an_unreachable_postgres_fails_in_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_scim"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--token",
            "t",
            "--db",
            "postgres://scim:hunter2@127.0.0.1:1/directory",
        ])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("scim serve: ")
            && lines[0].contains("PostgreSQL at postgres://scim:***@127.0.0.1:1/directory"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains("panicked"),
        "{err}"
    );
}
