//! Replays the IdP request corpus (`tests/data/idp/requests.jsonl`, see the README next to it
//! for format and attribution) against a real `scim serve` over HTTP.
//!
//! Each sequence gets a fresh server on `127.0.0.1:0` with the default options (Entra ID / Okta
//! leniency on). Steps that fail on purpose are listed in [`EXPECTED_FAILURES`] with a reason;
//! the test fails if any other step fails, or if an expected failure starts passing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use scim_cli::auth::Tokens;
use scim_cli::serve::{run, ServeOptions};
use scim_core::Scopes;
use serde_json::{json, Value};

const TOKEN: &str = "idp-replay-token";
const BASE: &str = "/scim/v2";

/// Steps the host deliberately answers differently from the source's expectation. All are
/// Microsoft reference-server tests (`reference-test`), none is a request Entra ID or Okta
/// sends as recorded or documented.
const EXPECTED_FAILURES: &[(&str, &str)] = &[
    (
        "msref-postman/complexattribute-tests/get-user-attributes",
        "rfc_conflict: a value filter inside `attributes` (RFC 7644 §3.4.2.5 allows only \
         attribute names); we answer 400 invalidPath",
    ),
    (
        "msref-postman/complexattribute-tests/get-user-via-attributes-filter",
        "rfc_conflict: a value filter inside `attributes` (RFC 7644 §3.4.2.5 allows only \
         attribute names); we answer 400 invalidPath",
    ),
    (
        "msref-postman/user-tests-with-garbage/put-a-user-misspelled-attribute",
        "the reference server ignores the misspelt `adreses`; we refuse attributes outside the \
         schema (400 invalidSyntax) so typos are not silently lost",
    ),
    (
        "msref-postman/user-tests-with-garbage/patch-user-omalley-new-username",
        "the reference server answers PATCH with 204 only; we answer 200 with the resource, \
         which RFC 7644 §3.5.2 allows and Entra ID accepts",
    ),
    (
        "msref-postman/user-tests-with-garbage/patch-user-omalley-active-with-boolean",
        "the reference server answers PATCH with 204 only; we answer 200 with the resource, \
         which RFC 7644 §3.5.2 allows and Entra ID accepts",
    ),
    (
        "msref-postman/group-tests-with-garbage/group-patch-add-member",
        "rfc_conflict: adds the member id `string id 1`, which is no existing User or Group; \
         members must exist (RFC 7643 §4.2), we answer 400 invalidValue",
    ),
    (
        "msref-postman/group-tests-with-garbage/group-patch-add-member2",
        "rfc_conflict: adds the member id `string id 2`, which is no existing User or Group; \
         members must exist (RFC 7643 §4.2), we answer 400 invalidValue",
    ),
];

/// A running server; dropping it stops the runtime (and the server).
struct Server {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Where a replayed sequence keeps its data.
#[derive(Clone, Copy)]
enum Backend<'a> {
    Memory,
    /// A SQLite file per sequence in this folder.
    Sqlite(&'a std::path::Path),
    /// A PostgreSQL schema per sequence.
    Postgres,
}

impl Server {
    /// A server on the in-memory store, on a SQLite file or a PostgreSQL database at `db`
    /// (in `schema`).
    fn start(db: Option<std::path::PathBuf>, schema: Option<&str>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let mut tokens = Tokens::new();
        tokens.insert(TOKEN, Scopes::All);
        let mut options = ServeOptions::new();
        options.addr = addr;
        options.base_path = BASE.to_owned();
        options.tokens = tokens;
        options.db = db;
        if let Some(schema) = schema {
            options.postgres = options.postgres.schema(schema).pool_size(2);
        }
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            run(listener, options, std::future::pending::<()>())
                .await
                .unwrap();
        });
        Server {
            addr,
            runtime: Some(runtime),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{BASE}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Percent-encodes what a real client would not send raw (spaces, quotes, brackets, …); keeps
/// existing `%XX` escapes and `+` as they are.
fn encode_url(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' => out.push(c),
            '-' | '.' | '_' | '~' | '/' | '?' | '&' | '=' | '%' | '+' | ':' | '@' | ',' | '$'
            | '!' | '\'' | '(' | ')' | '*' | ';' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// Per-sequence state: bound placeholders and the sync watermark.
#[derive(Default)]
struct Bindings {
    ids: HashMap<String, String>,
    watermark: Option<String>,
}

fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `{name.id}` if `s` is exactly one placeholder.
fn placeholder(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    let name = inner.strip_suffix(".id")?;
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) {
        Some(inner)
    } else {
        None
    }
}

impl Bindings {
    /// Substitutes bound placeholders and the time placeholders in `s`.
    fn substitute(&mut self, s: &str) -> String {
        let mut out = s.to_owned();
        if out.contains("{time.watermark}") {
            let w = self.watermark.get_or_insert_with(now_iso).clone();
            out = out.replace("{time.watermark}", &w);
        }
        if out.contains("{time.now}") {
            out = out.replace("{time.now}", &now_iso());
        }
        for (k, v) in &self.ids {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }

    fn substitute_json(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.substitute(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.substitute_json(x)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.substitute_json(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Subset match of `expected` in `actual` (README rules); binds unbound `{x.id}` placeholders.
fn subset(expected: &Value, actual: &Value, ids: &mut HashMap<String, String>) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            // Zero-result list: only totalResults is checked.
            let zero = e.get("totalResults") == Some(&json!(0));
            e.iter().all(|(k, ev)| {
                if zero && k == "Resources" {
                    return true;
                }
                let av = a.get(k).or_else(|| {
                    a.iter()
                        .find(|(ak, _)| ak.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v)
                });
                av.is_some_and(|av| subset(ev, av, ids))
            })
        }
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && match_all(e, a, ids),
        (Value::String(es), actual) => {
            if let Some(name) = placeholder(es) {
                let key = name.to_owned();
                if let Some(bound) = ids.get(&key) {
                    return actual.as_str() == Some(bound.as_str());
                }
                if let Some(s) = actual.as_str() {
                    ids.insert(key, s.to_owned());
                    return true;
                }
                return false;
            }
            let mut sub = es.clone();
            for (k, v) in ids.iter() {
                sub = sub.replace(&format!("{{{k}}}"), v);
            }
            actual.as_str() == Some(sub.as_str())
        }
        (e, a) => e == a,
    }
}

/// Each expected element matches a distinct actual element (backtracking).
fn match_all(e: &[Value], a: &[Value], ids: &mut HashMap<String, String>) -> bool {
    fn go(
        e: &[Value],
        a: &[Value],
        used: &mut Vec<bool>,
        ids: &mut HashMap<String, String>,
    ) -> bool {
        let Some((first, rest)) = e.split_first() else {
            return true;
        };
        for i in 0..a.len() {
            if used[i] {
                continue;
            }
            let mut trial = ids.clone();
            if subset(first, &a[i], &mut trial) {
                used[i] = true;
                if go(rest, a, used, &mut trial) {
                    *ids = trial;
                    return true;
                }
                used[i] = false;
            }
        }
        false
    }
    go(e, a, &mut vec![false; a.len()], ids)
}

/// Values at a path like `Resources[*].members`, `emails[0].value`, `name.familyName`.
fn lookup<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![v];
    for seg in path.split('.') {
        let (name, index) = match seg.split_once('[') {
            Some((n, rest)) => (n, Some(rest.trim_end_matches(']'))),
            None => (seg, None),
        };
        let mut next = Vec::new();
        for c in current {
            let Some(o) = c.as_object() else { continue };
            let found = o.get(name).or_else(|| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            });
            let Some(f) = found else { continue };
            match index {
                None => next.push(f),
                Some("*") => next.extend(f.as_array().into_iter().flatten()),
                Some(i) => {
                    if let Some(x) = i.parse::<usize>().ok().and_then(|i| f.get(i)) {
                        next.push(x);
                    }
                }
            }
        }
        current = next;
    }
    current
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Checks Runscope-style `assertions` (okta-spec).
fn check_assertions(a: &Value, body: &Value, b: &mut Bindings, problems: &mut Vec<String>) {
    for p in a
        .get("_present")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = p.as_str().unwrap_or_default();
        if !lookup(body, p).into_iter().any(non_empty) {
            problems.push(format!("assertion: {p} not present"));
        }
    }
    for p in a
        .get("_number")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = p.as_str().unwrap_or_default();
        if !lookup(body, p).into_iter().any(Value::is_number) {
            problems.push(format!("assertion: {p} not a number"));
        }
    }
    for (p, want) in a
        .get("_equals")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let want = b.substitute(&as_text(want));
        if !lookup(body, p).into_iter().any(|v| as_text(v) == want) {
            problems.push(format!("assertion: {p} != {want}"));
        }
    }
    for (p, want) in a
        .get("_contains")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let want = as_text(want);
        let ok = lookup(body, p)
            .into_iter()
            .filter_map(Value::as_array)
            .flatten()
            .any(|v| as_text(v) == want);
        if !ok {
            problems.push(format!("assertion: {p} does not contain {want}"));
        }
    }
}

/// Sends one request; returns status and body text.
fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    auth: bool,
    body: Option<Vec<u8>>,
) -> (u16, String) {
    let mut req =
        ureq::request(method, &server.url(&encode_url(path))).timeout(Duration::from_secs(30));
    if auth {
        req = req.set("Authorization", &format!("Bearer {TOKEN}"));
    }
    let has_ct = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(bytes) => {
            if !has_ct {
                req = req.set("Content-Type", "application/scim+json");
            }
            req.send_bytes(&bytes)
        }
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: transport error {e}"),
    };
    let status = response.status();
    (status, response.into_string().unwrap_or_default())
}

/// Runs one step; returns the problems found (empty = pass).
fn run_step(server: &Server, step: &Value, b: &mut Bindings) -> Vec<String> {
    let mut problems = Vec::new();
    let method = step["method"].as_str().unwrap();
    let path = b.substitute(step["path"].as_str().unwrap());
    if path.contains(".id}") {
        return vec![format!("unbound placeholder in path {path}")];
    }
    let body = if let Some(raw) = step.get("raw_body").and_then(Value::as_str) {
        Some(raw.as_bytes().to_vec())
    } else {
        match &step["body"] {
            Value::Null => None,
            v => Some(serde_json::to_vec(&b.substitute_json(v)).unwrap()),
        }
    };
    let headers: Vec<(String, String)> = step
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let auth = !step
        .get("omit_auth")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (status, text) = send(server, method, &path, &headers, auth, body);
    if std::env::var_os("IDP_REPLAY_VERBOSE").is_some() {
        let shown: String = text.chars().take(300).collect();
        println!("{} {method} {path} -> {status} {shown}", step["id"]);
    }
    let json: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let mut allowed: Vec<u64> = step["expected_status"].as_u64().into_iter().collect();
    allowed.extend(
        step.get("also_acceptable_status")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64),
    );
    // Without a stated status: what Entra ID and Okta really send must be accepted (2xx/3xx);
    // other sources only must not break the server.
    let sent_by_idp = matches!(
        step["kind"].as_str(),
        Some("recorded" | "doc-example" | "validator-test")
    );
    let status_ok = if allowed.is_empty() {
        status < if sent_by_idp { 400 } else { 500 }
    } else {
        allowed.contains(&u64::from(status))
    };
    if !status_ok {
        problems.push(format!("status {status}, expected {allowed:?}"));
    }
    if let Some(expected) = step.get("expected_body").filter(|v| !v.is_null()) {
        let mut trial = b.ids.clone();
        if subset(expected, &json, &mut trial) {
            b.ids = trial;
        } else {
            problems.push(format!("body does not contain {expected}"));
        }
    }
    for p in step
        .get("expected_absent")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = p.as_str().unwrap();
        if !lookup(&json, p).is_empty() {
            problems.push(format!("{p} is present"));
        }
    }
    if let Some(n) = step.get("expected_members_count").and_then(Value::as_u64) {
        let got = json
            .get("members")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if got as u64 != n {
            problems.push(format!("{got} members, expected {n}"));
        }
    }
    if let Some(a) = step.get("assertions") {
        check_assertions(a, &json, b, &mut problems);
    }
    if !problems.is_empty() {
        let shown: String = text.chars().take(600).collect();
        problems.push(format!("{method} {path} -> {status} {shown}"));
    }
    problems
}

/// Creates the user the okta-spec precondition asks for and binds it as `{seed.id}`.
fn seed(server: &Server, b: &mut Bindings) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "seed.user@example.com",
        "name": {"givenName": "Seed", "familyName": "User"},
        "emails": [{"value": "seed.user@example.com", "type": "work", "primary": true}],
        "active": true
    });
    let (status, text) = send(
        server,
        "POST",
        "/Users",
        &[],
        true,
        Some(serde_json::to_vec(&body).unwrap()),
    );
    assert_eq!(status, 201, "seeding: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    b.ids
        .insert("seed.id".into(), v["id"].as_str().unwrap().to_owned());
}

#[test]
fn idp_corpus_replays_against_scim_serve_in_memory() {
    replay(Backend::Memory);
}

/// The default store of `scim serve`: SQLite, with group members out of line (so the
/// membership PATCHes take the by-key path).
#[test]
fn idp_corpus_replays_against_scim_serve_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("scim-idp-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    replay(Backend::Sqlite(dir.as_path()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `scim serve --db postgres://…`: every sequence in a schema of its own, dropped after it.
#[test]
fn idp_corpus_replays_against_scim_serve_on_postgres() {
    if scim_test_support::postgres::TestSchema::new("idp_probe").is_none() {
        return;
    }
    replay(Backend::Postgres);
}

fn replay(backend: Backend<'_>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/idp/requests.jsonl"
    ))
    .unwrap();
    let mut sequences: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut order = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let seq = v["sequence"].as_str().unwrap().to_owned();
        if !sequences.contains_key(&seq) {
            order.push(seq.clone());
        }
        sequences.entry(seq).or_default().push(v);
    }
    let mut expectations = scim_test_support::Expectations::new("IdP corpus", EXPECTED_FAILURES);
    for seq in &order {
        let mut list = sequences.remove(seq).unwrap();
        list.sort_by_key(|s| s["step"].as_u64());
        let name: String = seq
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let schema = match backend {
            Backend::Postgres => Some(
                scim_test_support::postgres::TestSchema::new("idp")
                    .expect("the server answered a moment ago"),
            ),
            _ => None,
        };
        let server = match (backend, &schema) {
            (Backend::Sqlite(dir), _) => Server::start(Some(dir.join(format!("{name}.db"))), None),
            (Backend::Postgres, Some(schema)) => {
                Server::start(Some(schema.url().into()), Some(schema.name()))
            }
            _ => Server::start(None, None),
        };
        let mut b = Bindings::default();
        if list.iter().any(|s| s.get("precondition").is_some()) {
            seed(&server, &mut b);
        }
        for step in &list {
            let id = step["id"].as_str().unwrap();
            let problems = run_step(&server, step, &mut b);
            let outcome = if problems.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "[{}] {}",
                    step["kind"].as_str().unwrap_or_default(),
                    problems.join("\n    ")
                ))
            };
            expectations.record(id, outcome);
        }
    }
    for (id, reason) in EXPECTED_FAILURES {
        println!("  expected failure {id}: {reason}");
    }
    expectations.finish();
}
