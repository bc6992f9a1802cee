//! Hostile and malformed input over real loopback TCP: what the logs never show, bounded
//! connections (cap with shedding, head/idle/body timeouts), a SCIM error body for every
//! refusal the host or its HTTP parser makes, a 413 the client can read; and, on every store,
//! no password oracle, no password at rest, no look-alike user names, no guessable ids.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scim_cli::serve::{self, ServeOptions};
use scim_core::Scopes;

mod support;
use serde_json::{json, Value};

const TOKEN: &str = "Bearer-Secret-9f3a71c2";

/// A server on its own runtime thread; stops (gracefully) when dropped.
struct Server(support::Running);

impl std::ops::Deref for Server {
    type Target = support::Running;
    fn deref(&self) -> &support::Running {
        &self.0
    }
}

impl Server {
    fn start(tweak: impl FnOnce(&mut ServeOptions)) -> Server {
        Server::start_logging(tweak, None)
    }

    /// With `log`, the server logs into it (as `scim serve` would to stderr).
    fn start_logging(tweak: impl FnOnce(&mut ServeOptions), log: Option<LogBuffer>) -> Server {
        let mut options = ServeOptions::new();
        options.tokens.insert(TOKEN, Scopes::All);
        tweak(&mut options);
        Server(support::Running::start_with(options, move || {
            log.map(|buf| {
                tracing::subscriber::set_default(serve::log_subscriber(buf, false, "info"))
            })
        }))
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Stops the server and waits for it, at most `within`.
    fn stop_within(self, within: Duration) {
        self.0.stop_within(within);
    }
}

/// A response read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts a SCIM error response: status, content type, error schema, `status`,
    /// `scimType` and a `detail` containing `detail`.
    fn assert_scim_error(&self, status: u16, scim_type: Option<&str>, detail: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "{self:?}"
        );
        let v = self.json();
        assert_eq!(v["schemas"], json!([scim_core::ERROR_URN]), "{v}");
        assert_eq!(v["status"], status.to_string(), "{v}");
        match scim_type {
            Some(t) => assert_eq!(v["scimType"], t, "{v}"),
            None => assert!(v.get("scimType").is_none(), "{v}"),
        }
        let d = v["detail"].as_str().unwrap_or_default();
        assert!(d.contains(detail), "detail {d:?} lacks {detail:?}");
    }
}

/// Reads one response (by its `content-length`); errors (a reset) fail the test.
fn read_response(s: &mut TcpStream) -> Raw {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).expect("reading the response head");
        assert!(
            n > 0,
            "connection closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).expect("reading the response body");
        assert!(n > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Raw {
        status,
        headers,
        body,
    }
}

/// Sends raw bytes on a new connection and reads the response.
fn exchange(server: &Server, request: &[u8]) -> Raw {
    let mut s = server.connect();
    s.write_all(request).unwrap();
    read_response(&mut s)
}

/// Whether the server closed the connection (EOF or reset) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match s.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("unexpected data"),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").into_bytes()
}

mod logs {
    use super::*;

    /// A `MakeWriter` into a shared buffer.
    #[derive(Clone, Default)]
    pub(super) struct LogBuffer(pub(super) Arc<Mutex<Vec<u8>>>);

    impl Write for LogBuffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
        type Writer = LogBuffer;
        fn make_writer(&'a self) -> LogBuffer {
            self.clone()
        }
    }

    #[test]
    fn the_log_shows_requests_but_no_secret() {
        let log = LogBuffer::default();
        let server = Server::start_logging(|_| {}, Some(log.clone()));
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen",
            "password": "Hunter2-Secret!"
        })
        .to_string();
        let post = format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{user}",
            user.len()
        );
        assert_eq!(exchange(&server, post.as_bytes()).status, 201);
        // Refused: no filter may read a password (and the refusal does not quote it).
        let filtered = exchange(
            &server,
            &get("/scim/v2/Users?filter=password%20eq%20%22Hunter2-Secret!%22&count=5"),
        );
        filtered.assert_scim_error(400, Some("invalidFilter"), "never returned");
        assert!(!String::from_utf8_lossy(&filtered.body).contains("Hunter2"));
        let token_in_query = exchange(
            &server,
            &get("/scim/v2/ServiceProviderConfig?access_token=TOKENVALUE123"),
        );
        assert_eq!(token_in_query.status, 200);
        server.stop_within(Duration::from_secs(5));
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        for secret in [
            "Hunter2",
            "Secret!",
            "TOKENVALUE123",
            TOKEN,
            "Authorization",
        ] {
            assert!(!text.contains(secret), "{secret:?} in the log:\n{text}");
        }
        for shown in [
            "method=POST target=/scim/v2/Users status=201",
            "method=GET target=/scim/v2/Users?filter=<redacted>&count=<redacted>",
            "method=GET target=/scim/v2/ServiceProviderConfig?access_token=<redacted> status=200",
            "elapsed_us=",
        ] {
            assert!(text.contains(shown), "{shown:?} not in the log:\n{text}");
        }
        assert!(!text.contains('\u{1b}'), "ANSI colour in the log:\n{text}");
    }
}

use logs::LogBuffer;

mod connections {
    use super::*;

    #[test]
    fn a_silent_or_partial_head_is_closed_after_the_header_timeout() {
        let server = Server::start(|o| o.header_timeout = Duration::from_millis(300));
        let started = Instant::now();
        let mut silent = server.connect();
        let mut partial = server.connect();
        partial
            .write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            .unwrap();
        assert!(closed_within(&mut silent, Duration::from_secs(5)));
        assert!(closed_within(&mut partial, Duration::from_secs(5)));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[test]
    fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
        let server = Server::start(|o| {
            o.idle_timeout = Duration::from_millis(400);
            o.header_timeout = Duration::from_secs(30);
        });
        let mut s = server.connect();
        for _ in 0..2 {
            s.write_all(&get("/scim/v2/ServiceProviderConfig")).unwrap();
            assert_eq!(read_response(&mut s).status, 200);
        }
        let idle_from = Instant::now();
        assert!(!closed_within(&mut s, Duration::from_millis(200)));
        assert!(closed_within(&mut s, Duration::from_secs(5)));
        let took = idle_from.elapsed();
        assert!(
            took >= Duration::from_millis(350) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[test]
    fn a_body_that_stalls_is_answered_408() {
        let server = Server::start(|o| o.body_timeout = Duration::from_millis(300));
        let mut s = server.connect();
        s.write_all(
            format!(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"schemas\":"
            )
            .as_bytes(),
        )
        .unwrap();
        let started = Instant::now();
        let r = read_response(&mut s);
        r.assert_scim_error(408, None, "300 ms");
        assert_eq!(r.header("connection"), Some("close"));
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    /// 2,000 connections dribbling request heads against a cap of 256 do not keep a
    /// legitimate client out: the longest-waiting are shed.
    #[test]
    fn dribbling_connections_do_not_starve_a_legitimate_client() {
        let server = Server::start(|o| {
            o.max_connections = 256;
            o.header_timeout = Duration::from_secs(120);
        });
        let mut drips = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let Ok(mut s) = TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)) else {
                continue;
            };
            if s.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nX-Drip: ")
                .is_ok()
            {
                drips.push(s);
            }
        }
        assert!(drips.len() > 1500, "only {} connected", drips.len());
        let drip_round = |drips: &mut Vec<TcpStream>| {
            for s in drips.iter_mut() {
                let _ = s.write_all(b"a");
            }
        };
        std::thread::sleep(Duration::from_millis(500));
        drip_round(&mut drips);
        for _ in 0..3 {
            let started = Instant::now();
            let mut s = server.connect();
            s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
            s.write_all(&get("/scim/v2/ServiceProviderConfig")).unwrap();
            let r = read_response(&mut s);
            assert_eq!(r.status, 200, "{r:?}");
            let took = started.elapsed();
            assert!(took < Duration::from_secs(1), "{took:?}");
            std::thread::sleep(Duration::from_millis(300));
            drip_round(&mut drips);
        }
        // The server kept at most its cap of them open.
        let open = drips
            .iter_mut()
            .filter(|s| {
                let mut s: &TcpStream = s;
                s.set_nonblocking(true).unwrap();
                let mut b = [0u8; 1];
                matches!(s.read(&mut b), Err(e) if e.kind() == ErrorKind::WouldBlock)
            })
            .count();
        assert!(open <= 256, "{open} dribbling connections still open");
        assert!(open >= 200, "only {open} open: shed more than needed");
    }

    #[test]
    fn at_the_cap_with_every_connection_busy_a_newcomer_gets_503() {
        let server = Server::start(|o| o.max_connections = 4);
        let post_head = format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: 20\r\n\r\n"
        );
        let mut busy: Vec<TcpStream> = (0..4)
            .map(|_| {
                let mut s = server.connect();
                s.write_all(post_head.as_bytes()).unwrap();
                s.write_all(b"{\"schemas\":").unwrap();
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let refused = exchange(&server, &get("/scim/v2/ServiceProviderConfig"));
        refused.assert_scim_error(503, None, "connection limit");
        // One finishes its request; its connection can now be shed for a newcomer.
        busy[0].write_all(b"[]}       ").unwrap();
        assert_eq!(read_response(&mut busy[0]).status, 400);
        let admitted = exchange(&server, &get("/scim/v2/ServiceProviderConfig"));
        assert_eq!(admitted.status, 200, "{admitted:?}");
    }

    #[test]
    fn shutdown_closes_waiting_connections_and_returns() {
        let server = Server::start(|_| {});
        let mut kept = server.connect();
        kept.write_all(&get("/scim/v2/ServiceProviderConfig"))
            .unwrap();
        assert_eq!(read_response(&mut kept).status, 200);
        let mut partial = server.connect();
        partial.write_all(b"GET /scim/v2/Us").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        server.stop_within(Duration::from_secs(3));
        assert!(closed_within(&mut kept, Duration::from_secs(1)));
        assert!(closed_within(&mut partial, Duration::from_secs(1)));
    }
}

mod refusals {
    use super::*;

    fn post_with(extra_headers: &str, body: &str) -> Vec<u8> {
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n{extra_headers}\r\n{body}"
        )
        .into_bytes()
    }

    #[test]
    fn uri_too_long_is_414() {
        let server = Server::start(|_| {});
        let long = format!("/scim/v2/Users?filter={}", "x".repeat(9000));
        exchange(&server, &get(&long)).assert_scim_error(414, None, "8192 bytes");
        // Far over: the HTTP parser refuses it before the handler; still a SCIM body.
        let huge = format!("/scim/v2/Users?filter={}", "x".repeat(70_000));
        exchange(&server, &get(&huge)).assert_scim_error(414, None, "8192 bytes");
    }

    #[test]
    fn headers_too_large_is_431() {
        let server = Server::start(|_| {});
        for size in [20_000, 100_000] {
            let request = format!(
                "GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nX-Big: {}\r\n\r\n",
                "b".repeat(size)
            );
            exchange(&server, request.as_bytes()).assert_scim_error(431, None, "16384 bytes");
        }
    }

    #[test]
    fn malformed_request_target_is_400() {
        let server = Server::start(|_| {});
        for target in [&b"/scim/v2/Us\xffers"[..], "/scim/v2/Usérs".as_bytes()] {
            let mut request = b"GET ".to_vec();
            request.extend_from_slice(target);
            request.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
            exchange(&server, &request).assert_scim_error(
                400,
                Some("invalidSyntax"),
                "request target is malformed",
            );
        }
        exchange(&server, b"GET / HTTP/9.9\r\nHost: x\r\n\r\n").assert_scim_error(
            400,
            Some("invalidSyntax"),
            "not valid HTTP/1.1",
        );
    }

    #[test]
    fn bad_content_length_is_400() {
        let server = Server::start(|_| {});
        let ct = "Content-Type: application/scim+json\r\n";
        for (header, why) in [
            ("Content-Length: abc\r\n", "not a number"),
            (
                "Content-Length: 99999999999999999999999\r\n",
                "too large a number",
            ),
            (
                "Content-Length: 5\r\nContent-Length: 6\r\n",
                "conflicting values",
            ),
        ] {
            let r = exchange(&server, &post_with(&format!("{ct}{header}"), "{}"));
            r.assert_scim_error(
                400,
                Some("invalidSyntax"),
                &format!("Content-Length: {why}"),
            );
        }
    }

    #[test]
    fn unsupported_media_type_is_415() {
        let server = Server::start(|_| {});
        let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u1"}"#;
        let with = |ct: &str, name: &str| {
            let body = user.replace("u1", name);
            post_with(&format!("{ct}Content-Length: {}\r\n", body.len()), &body)
        };
        exchange(&server, &with("Content-Type: text/plain\r\n", "a")).assert_scim_error(
            415,
            None,
            "text/plain",
        );
        exchange(
            &server,
            &with("Content-Type: application/x-www-form-urlencoded\r\n", "b"),
        )
        .assert_scim_error(415, None, "application/x-www-form-urlencoded");
        for (ct, name) in [
            (
                "Content-Type: application/scim+json; charset=utf-8\r\n",
                "c",
            ),
            ("Content-Type: application/json\r\n", "d"),
            ("", "e"),
        ] {
            let r = exchange(&server, &with(ct, name));
            assert_eq!(r.status, 201, "{ct:?}: {r:?}");
        }
    }

    #[test]
    fn not_found_method_not_allowed_and_unauthorized() {
        let server = Server::start(|_| {});
        exchange(&server, &get("/elsewhere")).assert_scim_error(404, None, "/scim/v2");
        let delete = format!(
            "DELETE /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        );
        let r = exchange(&server, delete.as_bytes());
        assert_eq!(r.status, 405, "{r:?}");
        r.assert_scim_error(405, None, "");
        let r = exchange(
            &server,
            b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n",
        );
        r.assert_scim_error(401, None, "bearer token");
        // RFC 6750 §3: a token presented and refused is `invalid_token`, with why.
        assert_eq!(
            r.header("www-authenticate"),
            Some(
                r#"Bearer realm="scim", error="invalid_token", error_description="unknown token""#
            )
        );
        let r = exchange(&server, b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\r\n");
        r.assert_scim_error(401, None, "bearer token");
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"scim\""));
    }
}

mod payload {
    use super::*;

    const LIMIT: usize = 64 << 10;

    fn small_limit(o: &mut ServeOptions) {
        o.max_payload = LIMIT;
    }

    fn big_user(len: usize) -> String {
        let mut s = String::from(
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"",
        );
        s.push_str(&"x".repeat(len.saturating_sub(s.len() + 2)));
        s.push_str("\"}");
        s
    }

    #[test]
    fn a_declared_oversized_body_sent_whole_gets_a_readable_413() {
        let server = Server::start(small_limit);
        let body = big_user(2 * LIMIT);
        let mut s = server.connect();
        s.write_all(
            format!(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
        for piece in body.as_bytes().chunks(8 << 10) {
            s.write_all(piece).unwrap();
        }
        let r = read_response(&mut s);
        r.assert_scim_error(413, None, &format!("{LIMIT} bytes"));
        assert_eq!(r.header("connection"), Some("close"));
        assert!(closed_within(&mut s, Duration::from_secs(2)));
    }

    #[test]
    fn a_chunked_body_growing_past_the_limit_gets_a_readable_413() {
        let server = Server::start(small_limit);
        let body = big_user(2 * LIMIT);
        let mut s = server.connect();
        s.write_all(
            format!(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
        for piece in body.as_bytes().chunks(8 << 10) {
            s.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .unwrap();
            s.write_all(piece).unwrap();
            s.write_all(b"\r\n").unwrap();
        }
        s.write_all(b"0\r\n\r\n").unwrap();
        let r = read_response(&mut s);
        r.assert_scim_error(413, None, &format!("{LIMIT} bytes"));
        assert_eq!(r.header("connection"), Some("close"));
    }

    #[test]
    fn expect_100_continue() {
        let server = Server::start(small_limit);
        let head = |len: usize| {
            format!(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\nContent-Length: {len}\r\nExpect: 100-continue\r\n\r\n"
            )
        };
        // Too large: 413 at once, nothing read.
        let r = exchange(&server, head(2 * LIMIT).as_bytes());
        r.assert_scim_error(413, None, "bytes");
        assert_eq!(r.header("connection"), Some("close"));
        // Within the limit: 100 Continue, then the body, then 201.
        let body = big_user(1000);
        let mut s = server.connect();
        s.write_all(head(body.len()).as_bytes()).unwrap();
        let mut interim = [0u8; 25];
        s.read_exact(&mut interim).unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
        s.write_all(body.as_bytes()).unwrap();
        assert_eq!(read_response(&mut s).status, 201);
    }

    /// What a client library that sends the whole body before reading sees (the case of
    /// Python's urllib): the 413, not a broken pipe.
    #[test]
    fn a_client_that_sends_everything_first_reads_the_413() {
        let server = Server::start(|_| {});
        let body = big_user(2 << 20);
        let r = ureq::post(&format!("http://{}/scim/v2/Users", server.addr))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .set("Content-Type", "application/scim+json")
            .send_string(&body);
        match r {
            Err(ureq::Error::Status(413, resp)) => {
                assert_eq!(resp.content_type(), "application/scim+json");
                let v: Value = resp.into_json().unwrap();
                assert_eq!(v["status"], "413");
            }
            other => panic!("{other:?}"),
        }
    }
}

/// What a read token (or a writer) can learn or spoof about other users' secrets and
/// identities, on every store `scim serve` runs on (memory, SQLite, PostgreSQL).
mod identity {
    use super::*;

    const READER: &str = "Reader-Token-41c9";
    const PASSWORD: &str = "Hunter2-Secret!";

    /// A request with a token and an optional JSON body.
    fn call(server: &Server, method: &str, path: &str, token: &str, body: Option<&Value>) -> Raw {
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        exchange(server, format!("{head}{body}").as_bytes())
    }

    fn percent(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// Where a server of [`servers`] keeps its data, to inspect.
    enum Kept {
        Memory,
        Sqlite(std::path::PathBuf),
        /// Dropped after the server (a tuple drops its fields in order).
        Postgres(scim_test_support::postgres::TestSchema),
    }

    /// One server per store: in memory, SQLite in a fresh file, and PostgreSQL in a fresh
    /// schema where a server answers (without one, the PostgreSQL tests say so and skip).
    fn servers(name: &str) -> Vec<(Server, Kept)> {
        let dir = std::env::temp_dir().join(format!("scim-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let postgres = scim_test_support::postgres::TestSchema::new(&format!("hostile_{name}"));
        [Kept::Memory, Kept::Sqlite(dir.join("scim.db"))]
            .into_iter()
            .chain(postgres.map(Kept::Postgres))
            .map(|kept| {
                let (db, schema) = match &kept {
                    Kept::Memory => (None, None),
                    Kept::Sqlite(file) => (Some(file.clone()), None),
                    Kept::Postgres(s) => (Some(s.url().into()), Some(s.name().to_owned())),
                };
                let server = Server::start(move |o| {
                    o.db = db;
                    if let Some(schema) = schema {
                        o.postgres = o.postgres.clone().schema(schema).pool_size(2);
                    }
                    o.argon2 = scim_core::secret::Argon2Params::fast_for_tests();
                    o.tokens.insert(
                        READER,
                        Scopes::of([
                            "https://gluu.org/scim/users.read",
                            "https://gluu.org/scim/all-resources.search",
                        ]),
                    );
                });
                (server, kept)
            })
            .collect()
    }

    fn create(server: &Server, body: Value) -> Raw {
        call(server, "POST", "/scim/v2/Users", TOKEN, Some(&body))
    }

    fn user(name: &str) -> Value {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
               "password": PASSWORD})
    }

    /// The issue's attack, every way a filter or a sort is accepted: each is refused with the
    /// same answer whatever the guess, so nothing is learnt one character at a time.
    #[test]
    fn a_read_token_cannot_probe_or_order_passwords() {
        for (server, _) in servers("oracle") {
            assert_eq!(create(&server, user("victim")).status, 201);
            // For each filter shape, the answers to both guesses, byte for byte.
            let mut answers: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 5];
            for guess in ["H", "x"] {
                let shapes = [
                    format!(r#"userName eq "victim" and password sw "{guess}""#),
                    format!(r#"password eq "{guess}""#),
                    format!(r#"password co "{guess}""#),
                    format!(r#"password gt "{guess}""#),
                    format!(r#"urn:ietf:params:scim:schemas:core:2.0:User:password ew "{guess}""#),
                ];
                for (shape, filter) in shapes.iter().enumerate() {
                    let query = call(
                        &server,
                        "GET",
                        &format!("/scim/v2/Users?filter={}", percent(filter)),
                        READER,
                        None,
                    );
                    query.assert_scim_error(400, Some("invalidFilter"), "never returned");
                    answers[shape].push(query.body.clone());
                    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": filter});
                    for path in ["/scim/v2/Users/.search", "/scim/v2/.search"] {
                        let r = call(&server, "POST", path, READER, Some(&search));
                        r.assert_scim_error(400, Some("invalidFilter"), "never returned");
                    }
                }
            }
            // Whatever the guess, the same bytes: the detail names the attribute, never the
            // literal, so nothing is learnt from the answer.
            for (shape, bodies) in answers.iter().enumerate() {
                assert_eq!(bodies[0], bodies[1], "shape {shape}");
            }
            for r in [
                call(
                    &server,
                    "GET",
                    "/scim/v2/Users?sortBy=password",
                    READER,
                    None,
                ),
                call(
                    &server,
                    "GET",
                    "/scim/v2/Users?filter=password%20pr",
                    READER,
                    None,
                ),
            ] {
                assert_eq!(r.status, 400, "{r:?}");
                assert!(!String::from_utf8_lossy(&r.body).contains(PASSWORD));
            }
        }
    }

    /// No byte of the database files holds the password, and the files are the owner's only.
    #[test]
    fn no_stored_byte_holds_a_password() {
        for (server, kept) in servers("at-rest") {
            assert_eq!(create(&server, user("victim")).status, 201);
            let file = match kept {
                Kept::Memory => continue,
                Kept::Postgres(schema) => {
                    // Every text the store wrote, in every table of its schema.
                    let found = schema.scalar(&format!(
                        "SELECT count(*) FROM (SELECT resource::text AS t FROM resources \
                         UNION ALL SELECT search::text FROM resources \
                         UNION ALL SELECT key FROM attr_index \
                         UNION ALL SELECT value FROM unique_keys \
                         UNION ALL SELECT element::text FROM members) AS x \
                         WHERE strpos(t, '{PASSWORD}') > 0"
                    ));
                    assert_eq!(
                        found.as_deref(),
                        Some("0"),
                        "the password is in the database"
                    );
                    let hashed = schema.scalar(
                        "SELECT count(*) FROM resources WHERE resource->>'password' LIKE '$argon2id$%'",
                    );
                    assert_eq!(hashed.as_deref(), Some("1"), "the store got the hash");
                    continue;
                }
                Kept::Sqlite(file) => file,
            };
            #[cfg(unix)]
            for suffix in ["", "-wal", "-shm"] {
                use std::os::unix::fs::PermissionsExt;
                let mut p = file.as_os_str().to_owned();
                p.push(suffix);
                let mode = std::fs::metadata(std::path::PathBuf::from(p))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "scim.db{suffix} is readable by others");
            }
            drop(server);
            for suffix in ["", "-wal"] {
                let mut p = file.as_os_str().to_owned();
                p.push(suffix);
                let Ok(bytes) = std::fs::read(std::path::PathBuf::from(p)) else {
                    continue;
                };
                assert!(
                    !bytes
                        .windows(PASSWORD.len())
                        .any(|w| w == PASSWORD.as_bytes()),
                    "the password is in {}{suffix}",
                    file.display()
                );
            }
        }
    }

    /// `userName`s a person cannot tell apart are one user, on every store.
    #[test]
    fn look_alike_user_names_cannot_be_provisioned_twice() {
        for (server, _) in servers("look-alikes") {
            let name = |n: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": n});
            for (first, second) in [
                ("jos\u{e9}", "jose\u{301}"),
                ("zoe", "\u{FF3A}\u{FF4F}\u{FF45}"),
                ("ann lee", "ann\u{A0}lee"),
            ] {
                assert_eq!(create(&server, name(first)).status, 201, "{first:?}");
                create(&server, name(second)).assert_scim_error(409, Some("uniqueness"), "");
            }
            // `scim serve`'s IdP leniency trims padding (and then the name is taken)…
            assert_eq!(create(&server, name("bob")).status, 201);
            create(&server, name(" bob\u{200B}\t")).assert_scim_error(409, Some("uniqueness"), "");
            // …but an invisible character inside a name is refused outright.
            create(&server, name("b\u{200B}ob")).assert_scim_error(
                400,
                Some("invalidValue"),
                "invisible",
            );
            create(&server, name("b\u{0}ob")).assert_scim_error(400, Some("invalidValue"), "");
        }
    }

    /// Ids cannot be guessed on any store: random version-4 UUIDs in memory, version-7 on
    /// SQLite (the creation millisecond, then 74 random bits): nothing shared between
    /// consecutive ids past the time.
    #[test]
    fn ids_cannot_be_guessed() {
        for (server, _) in servers("ids") {
            let ids: Vec<String> = (0..4)
                .map(|n| {
                    let r = create(
                        &server,
                        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                               "userName": format!("id{n}")}),
                    );
                    assert_eq!(r.status, 201);
                    r.json()["id"].as_str().unwrap().replace('-', "")
                })
                .collect();
            for (i, a) in ids.iter().enumerate() {
                // The random part: all of a version-4 id, a version-7 one past its 48 bits
                // of time and its version digit.
                let from = match &a[12..13] {
                    "4" => 0,
                    "7" => 13,
                    v => panic!("version {v}: {a}"),
                };
                for b in &ids[i + 1..] {
                    assert!(
                        !(from..=a.len() - 8).any(|k| b[from..].contains(&a[k..k + 8])),
                        "{a} {b}"
                    );
                }
            }
        }
    }

    /// Password hashes are slow on purpose: two clients setting passwords at once (one per
    /// runtime worker) do not hold up a third client's request.
    #[test]
    fn slow_password_hashes_do_not_stall_other_clients() {
        let server = Server::start(|o| {
            // About half a second per hash here: long enough to see a stall.
            o.argon2 = scim_core::secret::Argon2Params::new(192 * 1024, 4, 1);
        });
        let started = Instant::now();
        let writers: Vec<_> = (0..2)
            .map(|n| {
                let mut s = server.connect();
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("slow{n}"), "password": PASSWORD})
                .to_string();
                let head = format!(
                    "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
                     Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                s.write_all(format!("{head}{body}").as_bytes()).unwrap();
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        let asked = Instant::now();
        let r = exchange(&server, &get("/scim/v2/ServiceProviderConfig"));
        let waited = asked.elapsed();
        assert_eq!(r.status, 200);
        let mut hashed = Vec::new();
        for mut s in writers {
            assert_eq!(read_response(&mut s).status, 201);
            hashed.push(started.elapsed());
        }
        let slowest = hashed.iter().max().copied().unwrap_or_default();
        assert!(
            waited * 3 < slowest,
            "the GET waited {waited:?} while the hashes took {slowest:?}"
        );
    }

    /// One expensive search can neither run forever nor hold up others: over the store's
    /// time budget it is answered 400 `tooMany`, and the store answers the next request.
    #[test]
    fn an_expensive_search_is_cut_off_at_its_budget() {
        let dir = std::env::temp_dir().join(format!("scim-hostile-budget-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("scim.db");
        let server = Server::start(move |o| {
            o.db = Some(db);
            o.sqlite.query_budget = Duration::from_millis(20);
        });
        for chunk in 0..2 {
            let ops: Vec<Value> = (0..1000)
                .map(|i| {
                    json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                        "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": format!("user{chunk}-{i}"),
                            "title": format!("Engineer grade {i} of team {chunk}")}})
                })
                .collect();
            let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": ops});
            let r = call(&server, "POST", "/scim/v2/Bulk", TOKEN, Some(&bulk));
            assert_eq!(r.status, 200, "{r:?}");
        }
        let terms: Vec<String> = (0..300).map(|i| format!(r#"title co "zz{i}q""#)).collect();
        let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": terms.join(" or ")});
        let started = Instant::now();
        let r = call(
            &server,
            "POST",
            "/scim/v2/Users/.search",
            TOKEN,
            Some(&search),
        );
        r.assert_scim_error(400, Some("tooMany"), "too expensive");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let lookup = call(
            &server,
            "GET",
            &format!(
                "/scim/v2/Users?filter={}",
                percent(r#"userName eq "user1-7""#)
            ),
            TOKEN,
            None,
        );
        assert_eq!(lookup.status, 200, "{lookup:?}");
        assert_eq!(lookup.json()["totalResults"], 1);
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store failure answers a 500 that names nothing internal, and its cause is in the
    /// server's log.
    #[test]
    fn a_server_error_is_explained_in_the_log_only() {
        let dir = std::env::temp_dir().join(format!("scim-hostile-500-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("scim.db");
        let log = LogBuffer::default();
        let db = file.clone();
        let server = Server::start_logging(move |o| o.db = Some(db), Some(log.clone()));
        assert_eq!(
            exchange(&server, &get("/scim/v2/Users")).status,
            200,
            "the store works"
        );
        rusqlite::Connection::open(&file)
            .unwrap()
            .execute_batch("DROP TABLE resources")
            .unwrap();
        let failed = exchange(&server, &get("/scim/v2/Users"));
        failed.assert_scim_error(500, None, "");
        assert!(!String::from_utf8_lossy(&failed.body).contains("resources"));
        server.stop_within(Duration::from_secs(5));
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("ERROR") && text.contains("no such table: resources"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
