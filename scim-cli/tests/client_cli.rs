//! `scim get|list|create|replace|patch|delete|bulk` as the `scim` binary against a real
//! `scim serve` on a loopback port: output and exit codes (0 success, 1 the operation
//! failed, 2 usage).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use scim_cli::serve::ServeOptions;
use serde_json::{json, Value};

const TOKEN: &str = "cli-client-token";

fn server() -> (support::Running, String) {
    let mut options = ServeOptions::new();
    options.tokens.insert(TOKEN, scim_core::Scopes::All);
    let running = support::Running::start(options);
    let url = format!("http://{}/scim/v2", running.addr);
    (running, url)
}

/// Runs `scim` with SCIM_URL and SCIM_TOKEN set (unless `env` is false).
fn scim(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scim"))
        .args(args)
        .env("SCIM_URL", url)
        .env("SCIM_TOKEN", TOKEN)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str, content: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("scim-client-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn crud_through_the_commands() {
    let (_server, url) = server();
    let user = temp(
        "bjensen.json",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "bjensen", "displayName": "Barbara"}),
    );
    let (code, out, err) = scim(&url, &["create", "/Users", &user, "--discover"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let created = json_of(&out);
    let id = created["id"].as_str().unwrap().to_owned();
    let version = created["meta"]["version"].as_str().unwrap().to_owned();

    let (code, out, _) = scim(&url, &["get", "/Users", &id, "--attributes", "userName"]);
    assert_eq!(code, 0);
    let got = json_of(&out);
    assert_eq!(got["userName"], "bjensen");
    assert!(got.get("displayName").is_none());

    let (code, out, _) = scim(
        &url,
        &["list", "/Users", "--filter", "userName eq \"bjensen\""],
    );
    assert_eq!(code, 0);
    assert_eq!(json_of(&out)["totalResults"], 1);
    let (code, out, _) = scim(
        &url,
        &[
            "list",
            "/Users",
            "--search",
            "--filter",
            "userName eq \"nobody\"",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(json_of(&out)["totalResults"], 0);

    let replacement = temp(
        "replace.json",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "bjensen", "displayName": "Babs"}),
    );
    let (code, out, _) = scim(
        &url,
        &[
            "replace",
            "/Users",
            &id,
            &replacement,
            "--if-match",
            &version,
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(json_of(&out)["displayName"], "Babs");
    // The old version again: 412, exit 1, the error as JSON.
    let (code, out, _) = scim(
        &url,
        &[
            "replace",
            "/Users",
            &id,
            &replacement,
            "--if-match",
            &version,
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(json_of(&out)["status"], "412");

    let patch = temp(
        "patch.json",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "B. Jensen"}]}),
    );
    let (code, out, err) = scim(&url, &["patch", "/Users", &id, &patch]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_of(&out)["displayName"], "B. Jensen");
    // A malformed PatchOp is refused before anything is sent.
    let bad_patch = temp("bad-patch.json", &json!({"Operations": []}));
    let (code, out, _) = scim(&url, &["patch", "/Users", &id, &bad_patch]);
    assert_eq!(code, 1);
    assert_eq!(json_of(&out)["scimType"], "invalidSyntax");
    // The local tool is unchanged: two arguments.
    let resource = temp("resource.json", &got);
    let (code, _, err) = scim(&url, &["patch", &patch, &resource]);
    assert_eq!(code, 0, "{err}");

    let (code, _, _) = scim(&url, &["delete", "/Users", &id]);
    assert_eq!(code, 0);
    let (code, out, _) = scim(&url, &["get", "/Users", &id]);
    assert_eq!(code, 1);
    assert_eq!(json_of(&out)["status"], "404");
}

#[test]
fn list_all_follows_pages_and_bulk() {
    let (_server, url) = server();
    let ops: Vec<Value> = (0..7)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                   "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": format!("bulk{i}")}})
        })
        .collect();
    let file = temp(
        "bulk.json",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
    );
    let (code, out, err) = scim(&url, &["bulk", &file]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_of(&out)["Operations"].as_array().unwrap().len(), 7);

    let (code, out, err) = scim(
        &url,
        &[
            "list",
            "/Users",
            "--all",
            "--count",
            "2",
            "--sort-by",
            "userName",
            "--attributes",
            "userName",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = out
        .lines()
        .map(|l| json_of(l)["userName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        (0..7).map(|i| format!("bulk{i}")).collect::<Vec<_>>()
    );
    assert!(
        !err.contains('['),
        "no progress bar when stderr is not a terminal: {err}"
    );

    // A failing operation makes the exit code 1.
    let failing = temp(
        "bulk-fail.json",
        &json!([{"method": "POST", "path": "/Users", "bulkId": "x",
                 "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bulk0"}}]),
    );
    let (code, out, _) = scim(&url, &["bulk", &failing]);
    assert_eq!(code, 1);
    assert_eq!(json_of(&out)["Operations"][0]["status"], "409");
}

#[test]
fn usage_and_auth_errors() {
    let (_server, url) = server();
    // No URL: usage.
    let out = Command::new(env!("CARGO_BIN_EXE_scim"))
        .args(["list", "/Users"])
        .env_remove("SCIM_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SCIM_URL"));
    // Flags override the environment: a wrong token is a 401, exit 1.
    let (code, out, _) = scim(&url, &["list", "/Users", "--token", "wrong"]);
    assert_eq!(code, 1);
    assert_eq!(json_of(&out)["status"], "401");
    let (code, _, err) = scim(&url, &["list", "/Users", "--all", "--search"]);
    assert_eq!(code, 2, "{err}");
    // Half the client-credentials flags: usage.
    let (code, _, err) = scim(&url, &["list", "/Users", "--client-id", "x"]);
    assert_eq!(code, 2, "{err}");
    // A bad filter: the SCIM error, nothing sent.
    let (code, out, _) = scim(&url, &["list", "/Users", "--filter", "userName eq"]);
    assert_eq!(code, 1);
    assert_eq!(json_of(&out)["scimType"], "invalidFilter");
    // A file that is not JSON: usage.
    let path = std::env::temp_dir().join(format!("scim-client-cli-nj-{}", std::process::id()));
    std::fs::write(&path, "nope").unwrap();
    let (code, _, _) = scim(&url, &["create", "/Users", &path.to_string_lossy()]);
    assert_eq!(code, 2);
    // Nobody listening: exit 1, the transport error on stderr.
    let (code, _, err) = scim(
        "http://127.0.0.1:9/scim/v2",
        &["get", "/Users", "x", "--timeout", "2"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("transport"), "{err}");
}

/// A token endpoint on a loopback port handing out `token` for any client, recording each
/// request (head and body) it gets.
fn token_endpoint(token: &'static str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            log.lock()
                .unwrap()
                .push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            let reply = json!({"access_token": token, "token_type": "Bearer", "expires_in": 300})
                .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (url, seen)
}

#[test]
fn client_credentials_flags() {
    let (_server, url) = server();
    let (token_url, seen) = token_endpoint(TOKEN);
    let out = Command::new(env!("CARGO_BIN_EXE_scim"))
        .args([
            "list",
            "/Users",
            "--url",
            &url,
            "--token-url",
            &token_url,
            "--client-id",
            "cli",
            "--client-auth",
            "post",
            "--scope",
            "https://gluu.org/scim/users.read",
        ])
        .env_remove("SCIM_TOKEN")
        .env("SCIM_CLIENT_SECRET", "from-env")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json_of(&String::from_utf8_lossy(&out.stdout))["totalResults"],
        0
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let body = requests[0].rsplit('\n').next().unwrap();
    assert!(body.contains("grant_type=client_credentials"), "{body}");
    assert!(body.contains("client_id=cli"), "{body}");
    assert!(body.contains("client_secret=from-env"), "{body}");
    assert!(
        body.contains("scope=https%3A%2F%2Fgluu.org%2Fscim%2Fusers.read"),
        "{body}"
    );
}
