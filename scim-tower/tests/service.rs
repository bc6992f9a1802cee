//! The service over in-process requests: every refusal is a SCIM error, tenants are apart,
//! and slow or oversized bodies are cut short.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Empty, Full};
use scim_core::{Config, Engine, MemoryStore, Scopes};
use scim_tower::{Grant, Limits, ScimResponse, ScimService, StaticTokens};
use serde_json::{json, Value};
use tower::ServiceExt;

fn service(limits: Limits) -> ScimService<MemoryStore, StaticTokens> {
    let engine = Engine::new(
        scim_schema::Registry::standard(),
        MemoryStore::new(),
        Config::new("https://example.com/scim/v2"),
    );
    let mut tokens = StaticTokens::new();
    tokens.insert("admin", Scopes::All);
    tokens.insert_grant("acme", Grant::new(Scopes::All).tenant("acme"));
    tokens.insert_grant("globex", Grant::new(Scopes::All).tenant("globex"));
    ScimService::builder(engine, tokens)
        .mount("/scim/v2/")
        .limits(limits)
        .build()
}

fn call<B>(svc: &ScimService<MemoryStore, StaticTokens>, req: http::Request<B>) -> ScimResponse
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Send,
{
    scim_core::block_on(svc.clone().oneshot(req)).unwrap()
}

fn json_of(resp: ScimResponse) -> Value {
    let bytes = scim_core::block_on(resp.into_body().collect())
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

fn user(name: &str) -> Full<Bytes> {
    Full::new(Bytes::from(
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
            .to_string(),
    ))
}

fn post(token: &str, body: Full<Bytes>) -> http::Request<Full<Bytes>> {
    http::Request::post("/scim/v2/Users")
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/scim+json")
        .body(body)
        .unwrap()
}

fn get(token: &str, target: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(target)
        .header("Authorization", format!("Bearer {token}"))
        .body(Empty::new())
        .unwrap()
}

fn assert_scim_error(resp: ScimResponse, status: u16) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/scim+json");
    let body = json_of(resp);
    assert_eq!(body["schemas"][0], scim_core::ERROR_URN);
    assert_eq!(body["status"], status.to_string());
    body
}

#[test]
fn unauthenticated_requests_get_a_challenge_that_says_why() {
    let svc = service(Limits::default());
    let none = http::Request::get("/scim/v2/Users")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = call(&svc, none);
    assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="scim""#);
    assert_scim_error(resp, 401);

    let resp = call(&svc, get("nope", "/scim/v2/Users"));
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer realm="scim", error="invalid_token", error_description="unknown token""#
    );
    let body = assert_scim_error(resp, 401);
    assert!(body["detail"].as_str().unwrap().contains("unknown token"));
}

#[test]
fn paths_outside_the_mount_point_are_404() {
    let svc = service(Limits::default());
    let body = assert_scim_error(call(&svc, get("admin", "/other/Users")), 404);
    assert!(
        body["detail"].as_str().unwrap().contains("/scim/v2"),
        "{body}"
    );
    assert_eq!(
        call(&svc, get("admin", "/scim/v2/ServiceProviderConfig")).status(),
        200
    );
}

#[test]
fn media_type_and_size_are_checked_before_the_engine() {
    let svc = service(Limits {
        max_payload: 100,
        ..Limits::default()
    });
    let mut req = post("admin", user("bjensen"));
    req.headers_mut()
        .insert("content-type", http::HeaderValue::from_static("text/plain"));
    assert_scim_error(call(&svc, req), 415);

    // Sent without a declared length and over the limit: 413, and the connection closes.
    let resp = call(&svc, post("admin", user(&"x".repeat(100))));
    assert_eq!(resp.headers()["connection"], "close");
    assert_scim_error(resp, 413);

    // Declared over the limit: refused from the head.
    let mut req = post("admin", user("a"));
    req.headers_mut()
        .insert("content-length", http::HeaderValue::from_static("1000000"));
    assert_scim_error(call(&svc, req), 413);

    assert_eq!(call(&svc, post("admin", user("ok"))).status(), 201);
}

#[test]
fn tenants_never_see_each_other() {
    let svc = service(Limits::default());
    assert_eq!(call(&svc, post("acme", user("wile"))).status(), 201);
    assert_eq!(call(&svc, post("globex", user("hank"))).status(), 201);
    let names = |token: &str| -> Vec<String> {
        let list = json_of(call(&svc, get(token, "/scim/v2/Users")));
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("acme"), vec!["wile"]);
    assert_eq!(names("globex"), vec!["hank"]);
    assert!(names("admin").is_empty());
    // The same userName is free in another tenant.
    assert_eq!(call(&svc, post("globex", user("wile"))).status(), 201);
}

/// A body that sends one byte and then nothing, ever.
struct Stalled {
    sent: bool,
}

impl Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.sent {
            Poll::Pending
        } else {
            self.sent = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{")))))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_too_slow_to_arrive_is_408_on_tokio() {
    let svc = service(Limits {
        body_timeout: Duration::from_secs(2),
        ..Limits::default()
    });
    let req = http::Request::post("/scim/v2/Users")
        .header("Authorization", "Bearer admin")
        .header("Content-Type", "application/scim+json")
        .body(Stalled { sent: false })
        .unwrap();
    let resp = svc.oneshot(req).await.unwrap();
    assert_eq!(resp.headers()["connection"], "close");
    assert_eq!(resp.status(), 408);
}

#[test]
fn percent_encoded_queries_reach_the_engine_decoded() {
    let svc = service(Limits::default());
    assert_eq!(call(&svc, post("admin", user("bjensen"))).status(), 201);
    let found = json_of(call(
        &svc,
        get(
            "admin",
            "/scim/v2/Users?filter=userName+eq+%22bjensen%22&attributes=userName",
        ),
    ));
    assert_eq!(found["totalResults"], 1, "{found}");
}
