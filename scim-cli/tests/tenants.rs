//! Tenants over real HTTP: two static tokens, each naming its tenant, and JWTs whose `tid`
//! claim names it (verified against a key set a loopback server serves). No request of one
//! tenant reads or writes the other's data, through any endpoint: resources, lists,
//! `.search` (per type and at the root), PATCH, PUT, DELETE, Bulk and group members.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use scim_cli::serve::{JwksSource, JwtOptions, ServeOptions};
use scim_core::Scopes;

mod support;
use scim_tower::Grant;
use serde_json::{json, Value};

const ACME: &str = "acme-token";
const GLOBEX: &str = "globex-token";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

struct Server {
    base: String,
    _running: support::Running,
}

impl Server {
    fn start(options: ServeOptions) -> Server {
        let running = support::Running::start(options);
        Server {
            base: format!("http://{}/scim/v2", running.addr),
            _running: running,
        }
    }

    /// Status, body and `WWW-Authenticate`.
    fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, String) {
        let req = ureq::request(method, &format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {token}"));
        let result = match body {
            Some(b) => req
                .set("Content-Type", "application/scim+json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let challenge = resp
            .header("WWW-Authenticate")
            .unwrap_or_default()
            .to_owned();
        let text = resp.into_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            challenge,
        )
    }
}

fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name})
}

fn names(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list["Resources"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| {
            r["userName"]
                .as_str()
                .or(r["displayName"].as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    out.sort();
    out
}

/// Everything tenant `b` (token `b`) must not reach of tenant `a`'s (token `a`), where `a`
/// owns user `a_id` and group `g_id`.
fn assert_apart(s: &Server, a: &str, b: &str, a_id: &str, g_id: &str) {
    let a_path = format!("/Users/{a_id}");
    assert_eq!(s.call(b, "GET", &a_path, None).0, 404);
    assert_eq!(s.call(b, "PUT", &a_path, Some(user("stolen"))).0, 404);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "pwned"}]});
    assert_eq!(s.call(b, "PATCH", &a_path, Some(patch.clone())).0, 404);
    assert_eq!(s.call(b, "DELETE", &a_path, None).0, 404);
    assert_eq!(s.call(b, "GET", &format!("/Groups/{g_id}"), None).0, 404);
    assert_eq!(s.call(b, "DELETE", &format!("/Groups/{g_id}"), None).0, 404);

    // Lists and searches show only b's own.
    let filter = format!("/Users?filter=id%20eq%20%22{a_id}%22");
    assert_eq!(s.call(b, "GET", &filter, None).1["totalResults"], 0);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("id eq \"{a_id}\" or userName pr or displayName pr")});
    let found = s.call(b, "POST", "/Users/.search", Some(search.clone())).1;
    assert!(!found.to_string().contains(a_id), "{found}");
    let root = s.call(b, "POST", "/.search", Some(search)).1;
    assert!(!root.to_string().contains(a_id), "{root}");
    assert!(!root.to_string().contains(g_id), "{root}");

    // A group of b's cannot take a's user as a member.
    let g = json!({"schemas": [GROUP], "displayName": "b-group", "members": [{"value": a_id}]});
    let (status, body, _) = s.call(b, "POST", "/Groups", Some(g));
    assert_eq!(status, 400, "{body}");

    // Bulk: b's operations on a's ids find nothing; its own create lands in b.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "PATCH", "path": a_path, "data": patch},
            {"method": "DELETE", "path": a_path},
            {"method": "POST", "path": "/Users", "bulkId": "n1", "data": user("bulk-made")}]});
    let (status, body, _) = s.call(b, "POST", "/Bulk", Some(bulk));
    assert_eq!(status, 200, "{body}");
    let statuses: Vec<&str> = body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["404", "404", "201"], "{body}");

    // a's data is as it was.
    let (status, mine, _) = s.call(a, "GET", &a_path, None);
    assert_eq!(status, 200);
    assert!(mine.get("displayName").is_none(), "{mine}");
    let members = s.call(a, "GET", &format!("/Groups/{g_id}"), None).1;
    assert_eq!(members["members"][0]["value"], a_id);
}

#[test]
fn static_tokens_each_see_their_own_tenant_only() {
    let mut options = ServeOptions::new();
    options
        .tokens
        .insert_grant(ACME, Grant::new(Scopes::All).tenant("acme"));
    options
        .tokens
        .insert_grant(GLOBEX, Grant::new(Scopes::All).tenant("globex"));
    let s = Server::start(options);

    let (status, alice, _) = s.call(ACME, "POST", "/Users", Some(user("alice")));
    assert_eq!(status, 201);
    let a_id = alice["id"].as_str().unwrap().to_owned();
    // The same userName is free in the other tenant.
    let (status, bob, _) = s.call(GLOBEX, "POST", "/Users", Some(user("alice")));
    assert_eq!(status, 201);
    let b_id = bob["id"].as_str().unwrap().to_owned();
    let g = json!({"schemas": [GROUP], "displayName": "acme-admins", "members": [{"value": a_id}]});
    let (status, group, _) = s.call(ACME, "POST", "/Groups", Some(g));
    assert_eq!(status, 201, "{group}");
    let g_id = group["id"].as_str().unwrap().to_owned();
    let g2 =
        json!({"schemas": [GROUP], "displayName": "globex-admins", "members": [{"value": b_id}]});
    let g2_id = s.call(GLOBEX, "POST", "/Groups", Some(g2)).1["id"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_apart(&s, ACME, GLOBEX, &a_id, &g_id);
    assert_apart(&s, GLOBEX, ACME, &b_id, &g2_id);
    assert_eq!(
        names(&s.call(ACME, "GET", "/Users", None).1),
        ["alice", "bulk-made"]
    );
    assert_eq!(
        names(&s.call(GLOBEX, "GET", "/Users", None).1),
        ["alice", "bulk-made"]
    );
    assert_eq!(
        names(&s.call(ACME, "GET", "/Groups", None).1),
        ["acme-admins"]
    );
    // The user's read-time groups come from its own tenant only.
    let groups = s.call(ACME, "GET", &format!("/Users/{a_id}"), None).1["groups"].clone();
    assert_eq!(groups.as_array().map(Vec::len), Some(1), "{groups}");
}

// ---- JWT ----------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Serves `body` to every GET on a loopback port, in a thread of its own; the URL.
fn serve_jwks(body: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/jwks.json")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn jwt_tokens_from_a_fetched_key_set_name_tenant_scopes_and_subject() {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = pair.public_key_raw();
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
        "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}]});
    let url = serve_jwks(jwks.to_string());
    let key = jsonwebtoken::EncodingKey::from_ec_der(&pair.serialize_der());
    let sign = |claims: Value| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let claims = |tid: &str, sub: &str, scope: &str| {
        json!({"iss": "https://idp.test", "aud": "scim", "exp": now() + 300, "tid": tid,
            "sub": sub, "scope": scope})
    };
    let mut config = scim_tower::JwtConfig::new("https://idp.test", "scim");
    config.tenant_claim = Some("tid".into());
    config.scope_map = [
        ("scim.write".to_owned(), vec!["all".to_owned()]),
        (
            "scim.read".to_owned(),
            vec!["https://gluu.org/scim/users.read".to_owned()],
        ),
    ]
    .into_iter()
    .collect();
    let mut options = ServeOptions::new();
    options.jwt = Some(JwtOptions {
        config,
        source: JwksSource::Url(url),
    });
    let s = Server::start(options);

    let acme_admin = sign(claims("acme", "nobody", "scim.write"));
    let (status, alice, _) = s.call(&acme_admin, "POST", "/Users", Some(user("alice")));
    assert_eq!(status, 201, "{alice}");
    let a_id = alice["id"].as_str().unwrap().to_owned();
    let g = json!({"schemas": [GROUP], "displayName": "g", "members": [{"value": a_id}]});
    let g_id = s.call(&acme_admin, "POST", "/Groups", Some(g)).1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex_admin = sign(claims("globex", "nobody", "scim.write"));
    assert_apart(&s, &acme_admin, &globex_admin, &a_id, &g_id);

    // The subject names the caller: /Me is alice, for a token of alice's tenant.
    let alice_token = sign(claims("acme", &a_id, "scim.read"));
    let (status, me, _) = s.call(&alice_token, "GET", "/Me", None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userName"], "alice");
    // Read-only scopes: no writes.
    assert_eq!(
        s.call(&alice_token, "POST", "/Users", Some(user("x"))).0,
        403
    );

    // Refusals say why, in the challenge and the body.
    let expired =
        sign(json!({"iss": "https://idp.test", "aud": "scim", "exp": now() - 3600, "tid": "acme"}));
    let (status, body, challenge) = s.call(&expired, "GET", "/Users", None);
    assert_eq!(status, 401);
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.contains("the token has expired"), "{challenge}");
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let wrong_aud =
        sign(json!({"iss": "https://idp.test", "aud": "other", "exp": now() + 60, "tid": "acme"}));
    assert!(s
        .call(&wrong_aud, "GET", "/Users", None)
        .2
        .contains("wrong audience"));
    let other_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    let forged = jsonwebtoken::encode(
        &header,
        &claims("acme", "nobody", "scim.write"),
        &jsonwebtoken::EncodingKey::from_ec_der(&other_key.serialize_der()),
    )
    .unwrap();
    let challenge = s.call(&forged, "GET", "/Users", None).2;
    assert!(challenge.contains("bad signature"), "{challenge}");
    assert!(
        !challenge.contains(&b64(&raw[1..33])),
        "no key material: {challenge}"
    );
    assert_eq!(s.call("not-a-token", "GET", "/Users", None).0, 401);
}
