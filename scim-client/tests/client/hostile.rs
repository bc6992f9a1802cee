//! A hostile server's bodies: every call returns an error (or a value), never panics.

use std::time::Duration;

use scim_client::{BulkOperation, Client, ClientConfig, Error, ListQuery, RequestOptions, User};
use serde_json::Value;

use super::mock::{Mock, Reply};

fn bodies() -> Vec<(u16, Vec<u8>)> {
    let deep = "[".repeat(100_000);
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    vec![
        (200, b"".to_vec()),
        (200, b"not json".to_vec()),
        (200, b"\xff\xfe\x00garbage".to_vec()),
        (
            200,
            b"{\"Resources\": \"nope\", \"totalResults\": -1}".to_vec(),
        ),
        (
            200,
            b"{\"Resources\": [1, 2, 3], \"totalResults\": 3}".to_vec(),
        ),
        (
            200,
            b"{\"Resources\": [{\"id\": []}], \"totalResults\": 18446744073709551615}".to_vec(),
        ),
        (200, b"[]".to_vec()),
        (200, b"null".to_vec()),
        (
            200,
            b"{\"schemas\": 5, \"userName\": {\"x\": 1}, \"meta\": 7}".to_vec(),
        ),
        (
            200,
            b"{\"Operations\": [{\"status\": {\"code\": []}, \"location\": 5}]}".to_vec(),
        ),
        (
            200,
            b"{\"patch\": 1, \"filter\": {\"supported\": \"yes\"}, \"bulk\": []}".to_vec(),
        ),
        (200, deep.into_bytes()),
        (200, deep_obj.into_bytes()),
        (200, vec![b' '; 3 << 20]),
        (
            400,
            b"{\"status\": 400, \"scimType\": [], \"detail\": {}}".to_vec(),
        ),
        (404, vec![0u8; 100]),
        (412, b"".to_vec()),
        (500, "\u{202e}evil \u{0}".as_bytes().to_vec()),
        (302, b"elsewhere".to_vec()),
        (101, b"".to_vec()),
    ]
}

async fn every_call(c: &Client) -> Vec<Result<(), Error>> {
    let o = RequestOptions::new();
    let p = scim_patch::PatchRequest::from_json(
        &serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "title"}]}),
        &scim_patch::PatchOptions::default(),
    )
    .unwrap();
    vec![
        c.list::<User>("/Users", &ListQuery::new()).await.map(drop),
        c.search::<Value>("/Users", &ListQuery::new())
            .await
            .map(drop),
        c.get::<User>("/Users", "1").await.map(drop),
        c.get_with::<Value>("/Users", "1", &o).await.map(drop),
        c.create("/Users", &User::new("x")).await.map(drop),
        c.replace("/Users", "1", &User::new("x"), &o)
            .await
            .map(drop),
        c.patch::<User>("/Users", "1", &p, &o).await.map(drop),
        c.delete("/Users", "1", &o).await,
        c.me::<User>().await.map(drop),
        c.bulk(vec![BulkOperation::new("DELETE", "/Users/1", None)], None)
            .await
            .map(drop),
        c.discover().await.map(drop),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_never_panic() {
    for (status, body) in bodies() {
        let b = body.clone();
        let mock = Mock::start(move |_, _| Reply::raw(status, b.clone())).await;
        let mut config = ClientConfig::default();
        config.retry = scim_client::RetryPolicy::none();
        config.max_response_bytes = 2 << 20;
        config.timeout = Duration::from_secs(10);
        let c = Client::builder(&mock.url("/scim/v2"))
            .unwrap()
            .config(config)
            .build()
            .unwrap();
        let outcomes = tokio::spawn(async move { every_call(&c).await })
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "status {status}, body {:?}: panicked: {e}",
                    &body[..body.len().min(40)]
                )
            });
        for (i, o) in outcomes.iter().enumerate() {
            if let Err(e) = o {
                // The message is printable and bounded.
                assert!(e.to_string().len() < 4096, "call {i}: {e}");
            }
        }
        if status == 200 && body.len() > (2 << 20) {
            assert!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, Err(Error::Protocol { .. }))),
                "over the size limit: {outcomes:?}"
            );
        }
        if status == 412 {
            assert!(matches!(outcomes[5], Err(Error::PreconditionFailed(_))));
        }
    }
}

#[tokio::test]
async fn streamed_body_over_the_limit_is_cut() {
    // Chunked (no Content-Length): the limit holds while reading.
    let mock = Mock::start(|_, _| Reply::raw(200, vec![b'x'; 200_000])).await;
    let mut config = ClientConfig::default();
    config.max_response_bytes = 10_000;
    let c = Client::builder(&mock.url("/scim/v2"))
        .unwrap()
        .config(config)
        .build()
        .unwrap();
    let e = c.get::<Value>("/Users", "1").await.unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("limit"));
}

#[test]
fn bad_base_urls_and_ids_are_errors() {
    assert!(Client::builder("not a url").is_err());
    assert!(Client::builder("mailto:x@y").is_err());
    assert!(Client::builder("ftp://x/scim").is_err());
    let c = Client::builder("http://127.0.0.1:9/scim/v2")
        .unwrap()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt.block_on(c.get::<Value>("/Users", "..")).unwrap_err();
    assert!(matches!(e, Error::InvalidRequest(_)));
    let e = rt.block_on(c.get::<Value>("/Users", "")).unwrap_err();
    assert!(matches!(e, Error::InvalidRequest(_)));
    assert!(
        Client::builder("http://x/")
            .unwrap()
            .header("bad header", "v")
            .is_err()
    );
}

#[tokio::test]
async fn a_repeated_cursor_ends_the_listing() {
    use futures_util::TryStreamExt;
    let mock = Mock::start(|_, _| {
        Reply::raw(
            200,
            serde_json::json!({"totalResults": 100, "nextCursor": "same",
                "Resources": [{"id": "1"}]})
            .to_string(),
        )
    })
    .await;
    let c = Client::builder(&mock.url("/scim/v2"))
        .unwrap()
        .build()
        .unwrap();
    let q = ListQuery::new().paging(scim_client::Paging::Cursor);
    let e = c
        .list_all::<Value>("/Users", q)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert_eq!(mock.seen().len(), 2);
}
