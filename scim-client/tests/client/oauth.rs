//! OAuth 2.0 client credentials against a loopback token endpoint: the request format
//! (basic and post), caching, refresh on expiry, a 401 leading to one refresh and retry.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use scim_client::{Client, ClientAuthMethod, ClientCredentials, Error, ListQuery, RetryPolicy};
use serde_json::{Value, json};

use super::mock::{Mock, Reply};

/// A token endpoint handing out `tok-1`, `tok-2`… living `expires_in` seconds, and a SCIM
/// endpoint accepting only the latest one (unless `reject_all`).
struct Setup {
    mock: Mock,
    revoke: Arc<AtomicBool>,
}

async fn setup(expires_in: u64, reject_all: bool) -> Setup {
    let issued = Arc::new(AtomicU64::new(0));
    let current: Arc<Mutex<String>> = Arc::default();
    let revoke = Arc::new(AtomicBool::new(false));
    let r = revoke.clone();
    let mock = Mock::start(move |req, _| {
        if req.path == "/token" {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            let token = format!("tok-{n}");
            *current.lock().unwrap() = token.clone();
            r.store(false, Ordering::SeqCst);
            return Reply::json(
                200,
                json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}),
            );
        }
        let expected = format!("Bearer {}", current.lock().unwrap());
        if reject_all || r.load(Ordering::SeqCst) || req.header("authorization") != Some(expected) {
            return Reply::json(401, json!({"status": "401", "detail": "bad token"}));
        }
        Reply::json(
            200,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                   "totalResults": 0, "Resources": []}),
        )
    })
    .await;
    Setup { mock, revoke }
}

fn client(mock: &Mock, creds: Arc<ClientCredentials>) -> Client {
    let mut config = scim_client::ClientConfig::default();
    config.retry = RetryPolicy::none();
    Client::builder(&mock.url("/scim/v2"))
        .unwrap()
        .auth(creds)
        .config(config)
        .build()
        .unwrap()
}

#[tokio::test]
async fn basic_request_format_and_caching() {
    let s = setup(3600, false).await;
    let creds = Arc::new(
        ClientCredentials::new(s.mock.url("/token"), "my client", "p@ss:word&=é")
            .scope("users.read users.write"),
    );
    let c = client(&s.mock, creds.clone());
    for _ in 0..3 {
        c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    }
    assert_eq!(creds.fetches(), 1, "the token is cached");
    let token_requests: Vec<_> = s
        .mock
        .seen()
        .into_iter()
        .filter(|r| r.path == "/token")
        .collect();
    assert_eq!(token_requests.len(), 1);
    let t = &token_requests[0];
    assert_eq!(t.method, "POST");
    assert!(
        t.header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    let form = t.form();
    assert!(form.contains(&("grant_type".into(), "client_credentials".into())));
    assert!(form.contains(&("scope".into(), "users.read users.write".into())));
    assert!(!form.iter().any(|(k, _)| k == "client_secret"));
    // RFC 6749 §2.3.1: form-urlencode, then Basic.
    let basic = t.header("authorization").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.strip_prefix("Basic ").unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "my+client:p%40ss%3Aword%26%3D%C3%A9"
    );
}

#[tokio::test]
async fn post_request_format() {
    let s = setup(3600, false).await;
    let creds = Arc::new(
        ClientCredentials::new(s.mock.url("/token"), "id-1", "secret-1")
            .method(ClientAuthMethod::Post),
    );
    let c = client(&s.mock, creds);
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    let t = s
        .mock
        .seen()
        .into_iter()
        .find(|r| r.path == "/token")
        .unwrap();
    assert_eq!(t.header("authorization"), None);
    let form = t.form();
    assert!(form.contains(&("client_id".into(), "id-1".into())));
    assert!(form.contains(&("client_secret".into(), "secret-1".into())));
    assert!(form.contains(&("grant_type".into(), "client_credentials".into())));
}

#[tokio::test]
async fn refreshed_before_expiry() {
    let s = setup(4, false).await;
    let creds = Arc::new(
        ClientCredentials::new(s.mock.url("/token"), "id", "secret")
            .refresh_margin(Duration::from_secs(1)),
    );
    let c = client(&s.mock, creds.clone());
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    assert_eq!(creds.fetches(), 1);
    // 4 s life, refreshed 1 s before: at 3.2 s a new token is fetched before any 401.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    assert_eq!(creds.fetches(), 2);
    let unauthorized = s.mock.seen().iter().filter(|r| r.path != "/token").count();
    assert_eq!(unauthorized, 3, "no request was refused and repeated");
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let s = setup(3600, false).await;
    let creds = Arc::new(ClientCredentials::new(s.mock.url("/token"), "id", "secret"));
    let c = client(&s.mock, creds.clone());
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    // The server revokes the token: the next call gets 401, fetches anew, retries, succeeds.
    s.revoke.store(true, Ordering::SeqCst);
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    assert_eq!(creds.fetches(), 2);
    assert_eq!(s.mock.count("/scim/v2/Users"), 3);
}

#[tokio::test]
async fn a_401_after_refresh_is_the_error() {
    let s = setup(3600, true).await;
    let creds = Arc::new(ClientCredentials::new(s.mock.url("/token"), "id", "secret"));
    let c = client(&s.mock, creds.clone());
    let e = c
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Scim(ref b) if b.status == 401), "{e:?}");
    assert_eq!(creds.fetches(), 2, "one refresh");
    assert_eq!(s.mock.count("/scim/v2/Users"), 2, "one retry");
}

#[tokio::test]
async fn token_endpoint_refusal_is_an_auth_error() {
    let mock = Mock::start(|_, _| {
        Reply::json(
            401,
            json!({"error": "invalid_client", "error_description": "who?"}),
        )
    })
    .await;
    let creds = Arc::new(ClientCredentials::new(mock.url("/token"), "id", "bad"));
    let c = client(&mock, creds);
    let e = c
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Auth(ref m) if m.contains("invalid_client")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_static_token_refused_is_not_sent_twice() {
    let mock = Mock::start(|_, _| Reply::json(401, json!({"status": "401"}))).await;
    let c = Client::builder(&mock.url("/scim/v2"))
        .unwrap()
        .bearer("static")
        .build()
        .unwrap();
    let e = c
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(mock.seen().len(), 1);
    assert_eq!(
        mock.seen()[0].header("authorization").as_deref(),
        Some("Bearer static")
    );
}

#[tokio::test]
async fn hostile_token_responses_are_auth_errors() {
    for body in [
        "not json".to_owned(),
        json!({"token_type": "Bearer"}).to_string(),
        json!({"access_token": "a\r\nX-Injected: 1"}).to_string(),
        json!({"access_token": ""}).to_string(),
        json!({"access_token": 5}).to_string(),
        json!({"access_token": "ok", "expires_in": -5}).to_string(),
        json!({"access_token": "ok", "expires_in": "1e99"}).to_string(),
        "x".repeat(2 << 20),
    ] {
        let b = body.clone();
        let mock = Mock::start(move |req, _| {
            if req.path == "/token" {
                Reply::raw(200, b.clone()).header("content-type", "application/json")
            } else {
                Reply::json(200, json!({"totalResults": 0, "Resources": []}))
            }
        })
        .await;
        let creds = Arc::new(ClientCredentials::new(mock.url("/token"), "id", "secret"));
        let c = client(&mock, creds);
        match c.list::<Value>("/Users", &ListQuery::new()).await {
            Err(Error::Auth(_)) => {}
            // A token without a usable lifetime is still a token.
            Ok(_) if body.contains("\"ok\"") => {}
            other => panic!("{}: {other:?}", &body[..body.len().min(60)]),
        }
    }
}
