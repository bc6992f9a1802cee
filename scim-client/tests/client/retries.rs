//! Retries on 429/503 with Retry-After, only for idempotent requests unless opted in; the
//! concurrency limit; what discovery makes the client refuse or split.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scim_client::{BulkOperation, Client, ClientConfig, Error, ListQuery, RequestOptions, User};
use serde_json::{Value, json};

use super::mock::{Mock, Reply};

fn list_body() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
           "totalResults": 0, "Resources": []})
}

fn client(mock: &Mock, config: ClientConfig) -> Client {
    Client::builder(&mock.url("/scim/v2"))
        .unwrap()
        .config(config)
        .build()
        .unwrap()
}

fn fast() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.retry.initial_backoff = Duration::from_millis(10);
    c.retry.max_backoff = Duration::from_millis(50);
    c
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let mock = Mock::start(|_, n| match n {
        0 => Reply::json(429, json!({"status": "429", "detail": "slow down"}))
            .header("retry-after", "1"),
        _ => Reply::json(200, list_body()),
    })
    .await;
    let c = client(&mock, fast());
    let started = Instant::now();
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited Retry-After"
    );
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn retry_after_as_http_date() {
    let mock = Mock::start(|_, n| match n {
        0 => Reply::json(503, json!({"status": "503"})).header(
            "retry-after",
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2)),
        ),
        _ => Reply::json(200, list_body()),
    })
    .await;
    let c = client(&mock, fast());
    let started = Instant::now();
    c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn backoff_gives_up_after_max_retries() {
    let mock =
        Mock::start(|_, _| Reply::json(503, json!({"status": "503", "detail": "down"}))).await;
    let c = client(&mock, fast());
    let e = c
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(mock.seen().len(), 4, "1 + 3 retries");
}

#[tokio::test]
async fn too_long_a_retry_after_is_not_waited_for() {
    let mock = Mock::start(|_, _| {
        Reply::json(429, json!({"status": "429"})).header("retry-after", "3600")
    })
    .await;
    let c = client(&mock, fast());
    let started = Instant::now();
    let e = c
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn post_is_not_retried_unless_asked() {
    let mock = Mock::start(|req, _| {
        let n = req.body.len();
        let _ = n;
        Reply::json(503, json!({"status": "503"}))
    })
    .await;
    let c = client(&mock, fast());
    let e = c.create("/Users", &User::new("a")).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(mock.seen().len(), 1, "a POST is not repeated");
    let e = c
        .create_with(
            "/Users",
            &User::new("a"),
            &RequestOptions::new().retry_non_idempotent(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(mock.seen().len(), 5, "opted in: 1 + 3 retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 6)]
async fn concurrency_is_limited() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (i, p) = (in_flight.clone(), peak.clone());
    let mock = Mock::start(move |_, _| {
        let now = i.fetch_add(1, Ordering::SeqCst) + 1;
        p.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(30));
        i.fetch_sub(1, Ordering::SeqCst);
        Reply::json(200, list_body())
    })
    .await;
    let mut config = fast();
    config.max_concurrency = 2;
    let c = client(&mock, config);
    let calls = (0..8).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { c.list::<Value>("/Users", &ListQuery::new()).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert_eq!(mock.seen().len(), 8);
    assert!(
        peak.load(Ordering::SeqCst) <= 2,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
}

/// A server that says it supports neither filters nor PATCH, and Bulk with small limits.
async fn limited_server() -> Mock {
    Mock::start(|req, _| match req.path.as_str() {
        "/scim/v2/ServiceProviderConfig" => Reply::json(
            200,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                   "patch": {"supported": false}, "filter": {"supported": false, "maxResults": 10},
                   "bulk": {"supported": true, "maxOperations": 2, "maxPayloadSize": 400},
                   "sort": {"supported": true}, "etag": {"supported": false},
                   "changePassword": {"supported": false},
                   "authenticationSchemes": []}),
        ),
        "/scim/v2/ResourceTypes" => Reply::json(
            200,
            json!({"Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "User", "name": "User", "endpoint": "/Users",
                "schema": "urn:ietf:params:scim:schemas:core:2.0:User"}], "totalResults": 1}),
        ),
        "/scim/v2/Schemas" => Reply::json(
            200,
            json!({"Resources": [serde_json::to_value(scim_schema::builtin::user()).unwrap()],
                   "totalResults": 1}),
        ),
        "/scim/v2/Bulk" => {
            let body = req.json();
            let ops: Vec<Value> = body["Operations"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, op)| {
                    json!({"method": op["method"], "bulkId": op["bulkId"],
                           "location": format!("http://x/scim/v2/Users/id-{}-{i}", req.body.len()),
                           "status": "201"})
                })
                .collect();
            Reply::json(200, json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
                                    "Operations": ops}))
        }
        // A resource that breaks the discovered schema: userName is a number.
        _ => Reply::json(
            200,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                   "totalResults": 1, "Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "id": "1", "userName": 42}]}),
        ),
    })
    .await
}

#[tokio::test]
async fn discovery_refuses_filters_and_patch_and_splits_bulk() {
    let mock = limited_server().await;
    let c = client(&mock, fast());
    let d = c.discover().await.unwrap();
    assert!(!d.config.filter && !d.config.patch);
    let before = mock.seen().len();
    let e = c
        .list::<Value>(
            "/Users",
            &ListQuery::new().filter_str("userName eq \"x\"").unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
    let p = scim_patch::PatchRequest::from_json(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": "title"}]}),
        &scim_patch::PatchOptions::default(),
    )
    .unwrap();
    let e = c
        .patch::<Value>("/Users", "1", &p, &RequestOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
    assert_eq!(mock.seen().len(), before, "nothing was sent");

    // Reported, not failed: the list succeeds and the mismatch is kept.
    let page = c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
    assert_eq!(page.resources.len(), 1);
    let reports = c.reports();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].message.contains("userName"), "{reports:?}");

    // Bulk: 5 operations, at most 2 a request and 400 bytes: at least 3 requests, each
    // within both limits.
    let ops: Vec<BulkOperation> = (0..5)
        .map(|i| {
            BulkOperation::post(
                "/Users",
                &format!("b{i}"),
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": format!("user-{i}-{}", "x".repeat(60))}),
            )
        })
        .collect();
    let results = c.bulk(ops, None).await.unwrap();
    assert_eq!(results.len(), 5);
    let bulks: Vec<_> = mock
        .seen()
        .into_iter()
        .filter(|r| r.path == "/scim/v2/Bulk")
        .collect();
    assert!(bulks.len() >= 3, "{} requests", bulks.len());
    for b in &bulks {
        assert!(b.body.len() <= 400, "{} bytes", b.body.len());
        assert!(b.json()["Operations"].as_array().unwrap().len() <= 2);
    }
    // One operation larger than maxPayloadSize on its own is refused before sending.
    let huge = vec![BulkOperation::post(
        "/Users",
        "h",
        json!({"userName": "y".repeat(1000)}),
    )];
    assert!(matches!(
        c.bulk(huge, None).await.unwrap_err(),
        Error::InvalidRequest(_)
    ));
}

#[tokio::test]
async fn strict_response_checks_fail_the_call() {
    let mock = limited_server().await;
    let mut config = fast();
    config.response_checks = scim_client::ResponseChecks::Fail;
    let c = client(&mock, config);
    c.discover().await.unwrap();
    let e = c
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidResponse(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_reused() {
    let mock = Mock::start(|_, _| Reply::json(200, list_body())).await;
    let c = client(&mock, fast());
    for _ in 0..5 {
        c.list::<Value>("/Users", &ListQuery::new()).await.unwrap();
        // Time for the connection to go back to the pool.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peers: std::collections::HashSet<_> = mock.seen().iter().map(|s| s.peer).collect();
    assert_eq!(mock.seen().len(), 5);
    assert_eq!(peers.len(), 1, "one connection for five requests");
}

#[tokio::test]
async fn a_slow_server_times_out() {
    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let mut config = fast();
    config.timeout = Duration::from_millis(300);
    config.retry = scim_client::RetryPolicy::none();
    let c = Client::builder(&format!("http://{addr}/scim/v2"))
        .unwrap()
        .config(config)
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c
        .list::<Value>("/Users", &ListQuery::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    held.abort();
}
