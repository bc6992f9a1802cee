//! The axum example, exercised over real HTTP: the app's login decides the tenant, SCIM
//! answers under `/scim/v2`, and the app's own routes still work.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[path = "../axum_embed.rs"]
mod axum_embed;

use std::io::{Read, Write};

/// One HTTP/1.1 exchange; the status and the body.
fn exchange(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap();
    (status, body)
}

fn request(method: &str, path: &str, key: Option<&str>, body: &str) -> String {
    let key = key
        .map(|k| format!("X-Api-Key: {k}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{key}\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn scim_runs_inside_the_app_with_its_login() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}/scim/v2");
    rt.spawn(async move { axum::serve(listener, axum_embed::app(&base)).await });

    assert_eq!(exchange(addr, &request("GET", "/", None, "")).0, 200);
    let (status, body) = exchange(addr, &request("GET", "/scim/v2/Users", None, ""));
    assert_eq!(status, 401, "{body}");
    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"wile"}"#;
    let (status, body) = exchange(
        addr,
        &request("POST", "/scim/v2/Users", Some("key-acme"), user),
    );
    assert_eq!(status, 201, "{body}");
    assert!(
        body.contains(&format!("http://{addr}/scim/v2/Users/")),
        "{body}"
    );
    let list = |key| exchange(addr, &request("GET", "/scim/v2/Users", Some(key), "")).1;
    assert!(list("key-acme").contains("\"totalResults\":1"));
    assert!(list("key-globex").contains("\"totalResults\":0"));
}
