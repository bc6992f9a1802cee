//! `scim serve` as operators run it, over real loopback connections: HTTPS with a
//! certificate made here (rcgen), plain HTTP and silent clients on the TLS port, TLS
//! start-up errors; `/healthz`, `/readyz` (and 503 when the store breaks), `/metrics` (its
//! labels, its token) and JSON log lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scim_cli::serve::{self, MetricsToken, ServeOptions};
use scim_core::Scopes;

mod support;
use serde_json::{json, Value};

const TOKEN: &str = "ops-test-token-5b1e";

/// A server on a runtime thread of its own; stops when dropped.
struct Server(support::Running);

impl std::ops::Deref for Server {
    type Target = support::Running;
    fn deref(&self) -> &support::Running {
        &self.0
    }
}

impl Server {
    fn start(options: ServeOptions) -> Server {
        Server(support::Running::start(options))
    }
}

fn options() -> ServeOptions {
    let mut o = ServeOptions::new();
    o.tokens.insert(TOKEN, Scopes::All);
    o
}

/// An answer: status, headers that matter, body.
struct Answer {
    status: u16,
    content_type: Option<String>,
    challenge: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn assert_scim_error(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/scim+json"),
            "{}",
            self.body
        );
        let v = self.json();
        assert_eq!(v["schemas"], json!([scim_core::ERROR_URN]), "{v}");
        assert_eq!(v["status"], status.to_string(), "{v}");
    }
}

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut req = agent.request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let result = match body {
        Some(b) => req
            .set("Content-Type", "application/scim+json")
            .send_string(&b.to_string()),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    Answer {
        status: resp.status(),
        content_type: resp.header("Content-Type").map(str::to_owned),
        challenge: resp.header("WWW-Authenticate").map(str::to_owned),
        body: resp.into_string().unwrap_or_default(),
    }
}

fn bjensen(user_name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name})
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scim-ops-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `scim serve … --log-json` in a child process, read up to its "listening" line.
struct Spawned {
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
    seen: Vec<String>,
    base_url: String,
}

impl Spawned {
    fn start(args: &[&str]) -> Spawned {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_scim"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db", ":memory:"])
            .args(["--token", TOKEN, "--log-json"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut spawned = Spawned {
            child,
            lines: std::io::BufReader::new(stderr).lines(),
            seen: Vec::new(),
            base_url: String::new(),
        };
        while spawned.base_url.is_empty() {
            let line = spawned
                .lines
                .next()
                .expect("the server ended early")
                .unwrap();
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if value["fields"]["message"] == "scim serve listening" {
                spawned.base_url = value["fields"]["base_url"].as_str().unwrap().to_owned();
            }
            spawned.seen.push(line);
        }
        spawned
    }

    fn port(&self) -> u16 {
        let authority = self.base_url.split('/').nth(2).unwrap();
        authority.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Stops it as Ctrl-C does; every line it wrote, each parsed as JSON, and the text.
    fn stop(mut self) -> (Vec<Value>, String) {
        let pid = self.child.id().to_string();
        let interrupted = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(interrupted.success());
        let mut seen = std::mem::take(&mut self.seen);
        seen.extend(self.lines.by_ref().map(Result::unwrap));
        assert!(self.child.wait().unwrap().success());
        let parsed = seen
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (parsed, seen.join("\n"))
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod tls {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use tokio_rustls::rustls;

    /// A CA and a server certificate it signed for `localhost` and 127.0.0.1, in PEM
    /// files; and a client configuration trusting that CA (ring provider).
    struct Pki {
        cert: PathBuf,
        key: PathBuf,
        client: Arc<rustls::ClientConfig>,
    }

    fn pki(dir: &std::path::Path) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem() + &ca_cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Pki {
            cert: cert_path,
            key: key_path,
            client: Arc::new(client),
        }
    }

    /// A server speaking TLS only, with its certificate in a scratch directory (removed
    /// when dropped).
    struct TlsServer {
        server: Option<Server>,
        pki: Pki,
        dir: PathBuf,
    }

    impl TlsServer {
        fn start(name: &str, tweak: impl FnOnce(&mut ServeOptions)) -> Self {
            let dir = scratch(name);
            let pki = pki(&dir);
            let mut o = options();
            o.tls_cert = Some(pki.cert.clone());
            o.tls_key = Some(pki.key.clone());
            tweak(&mut o);
            let server = Some(Server::start(o));
            TlsServer { server, pki, dir }
        }

        fn addr(&self) -> SocketAddr {
            self.server.as_ref().map(|s| s.addr).unwrap()
        }

        fn url(&self, path: &str) -> String {
            format!("https://localhost:{}{path}", self.addr().port())
        }

        /// An HTTPS client trusting the server's CA.
        fn agent(&self) -> ureq::Agent {
            ureq::AgentBuilder::new()
                .tls_config(Arc::clone(&self.pki.client))
                .timeout(Duration::from_secs(10))
                .build()
        }
    }

    impl Drop for TlsServer {
        fn drop(&mut self) {
            drop(self.server.take());
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Reads until the server closes the connection (or the timeout): how long it took.
    fn closed_within(mut s: TcpStream, limit: Duration) -> Duration {
        s.set_read_timeout(Some(limit)).unwrap();
        let started = Instant::now();
        let mut sink = [0u8; 1024];
        loop {
            match s.read(&mut sink) {
                Ok(0) => return started.elapsed(),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("still open after {limit:?}")
                }
                Err(_) => return started.elapsed(),
            }
        }
    }

    #[test]
    fn https_requests_are_served() {
        let server = TlsServer::start("https", |_| {});
        let agent = server.agent();
        let base = server.url("/scim/v2");
        let spc = call(
            &agent,
            "GET",
            &format!("{base}/ServiceProviderConfig"),
            Some(TOKEN),
            None,
        );
        assert_eq!(spc.status, 200, "{}", spc.body);
        let created = call(
            &agent,
            "POST",
            &format!("{base}/Users"),
            Some(TOKEN),
            Some(&bjensen("bjensen")),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let location = created.json()["meta"]["location"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(location.starts_with("https://127.0.0.1:"), "{location}");
        // By IP address too (the certificate names it).
        let by_ip = format!("https://127.0.0.1:{}/healthz", server.addr().port());
        assert_eq!(call(&agent, "GET", &by_ip, None, None).status, 200);
        // A refusal the HTTP parser makes still has its SCIM body over TLS.
        let bad = call(
            &agent,
            "GET",
            &format!("{base}/Users?x={}", "a".repeat(9000)),
            Some(TOKEN),
            None,
        );
        bad.assert_scim_error(414);
    }

    #[test]
    fn plain_http_to_the_tls_port_is_refused_and_others_are_served() {
        let dir = scratch("plain");
        let pki = pki(&dir);
        let (cert, key) = (pki.cert.to_str().unwrap(), pki.key.to_str().unwrap());
        let server = Spawned::start(&["--tls-cert", cert, "--tls-key", key]);
        assert!(
            server.base_url.starts_with("https://"),
            "{}",
            server.base_url
        );
        let addr = SocketAddr::from(([127, 0, 0, 1], server.port()));
        let mut plain = TcpStream::connect(addr).unwrap();
        plain
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        plain
            .write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = plain.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert!(answer.contains("application/scim+json"), "{answer}");
        assert!(answer.contains("HTTPS"), "{answer}");
        // Garbage that is neither TLS nor HTTP is just closed.
        let mut junk = TcpStream::connect(addr).unwrap();
        junk.write_all(&[0u8, 1, 2, 3]).unwrap();
        closed_within(junk, Duration::from_secs(5));
        let agent = ureq::AgentBuilder::new()
            .tls_config(Arc::clone(&pki.client))
            .build();
        let url = format!(
            "https://localhost:{}/scim/v2/ServiceProviderConfig",
            server.port()
        );
        assert_eq!(call(&agent, "GET", &url, Some(TOKEN), None).status, 200);
        let (lines, text) = server.stop();
        assert!(lines.iter().all(|l| l["level"] != "ERROR"), "{text}");
        let refused = lines
            .iter()
            .filter(|l| l["fields"]["message"] == "refused plain HTTP on the TLS port")
            .count();
        assert_eq!(refused, 1, "{text}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_handshake_that_never_completes_is_cut_by_the_header_timeout() {
        let timeout = |o: &mut ServeOptions| o.header_timeout = Duration::from_millis(300);
        let server = TlsServer::start("slow", timeout);
        // Silent: connects and sends nothing.
        let silent = TcpStream::connect(server.addr()).unwrap();
        // Stalled: the first bytes of a ClientHello record, then nothing.
        let mut stalled = TcpStream::connect(server.addr()).unwrap();
        stalled
            .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            .unwrap();
        for s in [silent, stalled] {
            let took = closed_within(s, Duration::from_secs(5));
            assert!(took < Duration::from_secs(3), "{took:?}");
        }
        let url = server.url("/healthz");
        assert_eq!(call(&server.agent(), "GET", &url, None, None).status, 200);
    }

    /// At a cap of one connection, a client that never finishes its handshake holds the
    /// slot (it counts) and is shed for a newcomer, who is served.
    #[test]
    fn a_handshake_counts_against_the_connection_cap() {
        let server = TlsServer::start("cap", |o| o.max_connections = 1);
        let silent = TcpStream::connect(server.addr()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let metrics = call(&server.agent(), "GET", &server.url("/metrics"), None, None);
        assert_eq!(metrics.status, 200);
        assert!(
            metrics.body.contains("scim_connections_shed_total 1"),
            "{}",
            metrics.body
        );
        closed_within(silent, Duration::from_secs(5));
    }

    /// Start-up fails with one line naming what is wrong.
    #[test]
    fn tls_files_that_will_not_do_stop_the_start() {
        let dir = scratch("bad-files");
        let pki = pki(&dir);
        let other = pki_in(&dir.join("other"));
        let not_pem = dir.join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let missing = dir.join("missing.pem");
        let cases = [
            (Some(missing.clone()), Some(pki.key.clone()), "missing.pem"),
            (
                Some(not_pem.clone()),
                Some(pki.key.clone()),
                "no certificate",
            ),
            (
                Some(pki.cert.clone()),
                Some(not_pem.clone()),
                "no private key",
            ),
            (
                Some(pki.cert.clone()),
                Some(other.key.clone()),
                "does not go with",
            ),
            (Some(pki.cert.clone()), None, "both"),
        ];
        for (cert, key, expected) in cases {
            let mut o = options();
            (o.tls_cert, o.tls_key) = (cert, key);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let e = rt
                .block_on(async {
                    let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)), 8).unwrap();
                    serve::run(listener, o, std::future::pending()).await
                })
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{e:?} lacks {expected:?}");
            assert!(!e.contains('\n'), "{e:?}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    fn pki_in(dir: &std::path::Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        pki(dir)
    }
}

mod endpoints {
    use super::*;

    fn http(server: &Server, path: &str, token: Option<&str>) -> Answer {
        let url = format!("http://{}{path}", server.addr);
        call(&ureq::agent(), "GET", &url, token, None)
    }

    #[test]
    fn health_and_ready_answer_without_a_token() {
        let server = Server::start(options());
        let health = http(&server, "/healthz", None);
        assert_eq!(health.status, 200);
        assert_eq!(health.json(), json!({"status": "ok"}));
        assert_eq!(http(&server, "/readyz", None).status, 200);
        let url = format!("http://{}/healthz", server.addr);
        call(&ureq::agent(), "POST", &url, None, Some(&json!({}))).assert_scim_error(405);
        // The SCIM endpoints still want a token.
        http(&server, "/scim/v2/Users", None).assert_scim_error(401);
    }

    /// The store's table is renamed under the running server: `/readyz` says 503 (a SCIM
    /// error), `/healthz` still 200; renamed back, ready again.
    #[test]
    fn ready_is_503_while_the_store_fails() {
        let dir = scratch("ready");
        let db = dir.join("scim.db");
        let mut o = options();
        o.db = Some(db.clone());
        let server = Server::start(o);
        assert_eq!(http(&server, "/readyz", None).status, 200);
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("ALTER TABLE resources RENAME TO resources_away")
            .unwrap();
        http(&server, "/readyz", None).assert_scim_error(503);
        assert_eq!(http(&server, "/healthz", None).status, 200);
        conn.execute_batch("ALTER TABLE resources_away RENAME TO resources")
            .unwrap();
        assert_eq!(http(&server, "/readyz", None).status, 200);
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn metrics_count_requests_by_endpoint_name_never_by_path() {
        let server = Server::start(options());
        let agent = ureq::agent();
        let base = format!("http://{}/scim/v2", server.addr);
        let created = call(
            &agent,
            "POST",
            &format!("{base}/Users"),
            Some(TOKEN),
            Some(&bjensen("needle-user")),
        );
        assert_eq!(created.status, 201);
        let id = created.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(
            call(
                &agent,
                "GET",
                &format!("{base}/Users/{id}"),
                Some(TOKEN),
                None
            )
            .status,
            200
        );
        let filter = "filter=userName%20eq%20%22needle-user%22";
        assert_eq!(
            call(
                &agent,
                "GET",
                &format!("{base}/Users?{filter}"),
                Some(TOKEN),
                None
            )
            .status,
            200
        );
        assert_eq!(
            call(
                &agent,
                "GET",
                &format!("{base}/Users/{id}x"),
                Some(TOKEN),
                None
            )
            .status,
            404
        );
        let text = http(&server, "/metrics", None).body;
        for line in [
            r#"scim_http_requests_total{endpoint="Users",method="POST",status="201"} 1"#,
            r#"scim_http_requests_total{endpoint="Users/{id}",method="GET",status="200"} 1"#,
            r#"scim_http_requests_total{endpoint="Users/{id}",method="GET",status="404"} 1"#,
            r#"scim_http_requests_total{endpoint="Users",method="GET",status="200"} 1"#,
            r#"scim_http_request_duration_seconds_count{endpoint="Users/{id}",method="GET"} 2"#,
            r#"scim_store_call_duration_seconds_count{operation="create",outcome="ok"} 1"#,
            "scim_open_connections ",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains(&id), "{text}");
        assert!(!text.contains("needle"), "{text}");
    }

    #[test]
    fn the_metrics_token_is_enforced() {
        let mut o = options();
        o.metrics_token = Some(MetricsToken::new("metrics-secret-77"));
        let server = Server::start(o);
        let missing = http(&server, "/metrics", None);
        missing.assert_scim_error(401);
        assert!(missing.challenge.is_some());
        http(&server, "/metrics", Some("wrong")).assert_scim_error(401);
        http(&server, "/metrics", Some(TOKEN)).assert_scim_error(401);
        let ok = http(&server, "/metrics", Some("metrics-secret-77"));
        assert_eq!(ok.status, 200);
        assert!(ok.body.contains("scim_open_connections"), "{}", ok.body);
        // It opens nothing else; health stays open.
        http(&server, "/scim/v2/Users", Some("metrics-secret-77")).assert_scim_error(401);
        assert_eq!(http(&server, "/healthz", None).status, 200);
    }

    /// `scim serve --log-json` as operators run it: every line on stderr, from start-up to
    /// shutdown, is a JSON object, and no query value appears in any.
    #[test]
    fn json_log_lines_parse_and_carry_no_query_value() {
        let server = Spawned::start(&[]);
        let filter = "filter=userName%20eq%20%22needle-secret%22&access_token=needle-token";
        let url = format!("{}/Users?{filter}", server.base_url);
        let answer = call(&ureq::agent(), "GET", &url, Some(TOKEN), None);
        assert_eq!(answer.status, 200);
        let (parsed, text) = server.stop();
        assert!(!text.contains("needle"), "{text}");
        let request = parsed
            .iter()
            .find(|l| l["fields"]["message"] == "request")
            .unwrap_or_else(|| panic!("no request line in {text}"));
        assert_eq!(
            request["fields"]["target"],
            "/scim/v2/Users?filter=<redacted>&access_token=<redacted>"
        );
        assert_eq!(request["fields"]["status"], 200);
        assert_eq!(request["level"], "INFO");
    }

    #[test]
    fn serve_help_lists_the_new_options() {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_scim"))
            .args(["serve", "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in ["--tls-cert", "--tls-key", "--metrics-token", "--log-json"] {
            assert!(help.contains(flag), "{flag} missing from\n{help}");
        }
    }
}
