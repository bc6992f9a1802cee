//! Drives `scim serve` in-process for instruction counts (callgrind, perf): the server
//! `scim serve --token bench --db DB` runs (mimalloc, the batched info-level log, the
//! multi-threaded runtime, hyper over a loopback socket), 1,000 users loaded through /Bulk
//! as `../shared/bench-http/run.sh` loads them, then `N` keep-alive `GET /Users/{id}`.
//!
//!     cargo build --profile profiling -p scim-benches --example serve_get
//!     valgrind --tool=callgrind target/profiling/examples/serve_get :memory: 2000
//!
//! Instructions per request: the difference between two runs with different `N`, divided
//! by the difference in `N` (set-up and shutdown cancel out). `RUST_LOG` is read as
//! `scim serve` reads it: `RUST_LOG=warn` leaves the request lines out, and the difference
//! is what the log costs (about 6,000 instructions a request, a tenth of the whole).
//!
//! With a third argument `post:C`, the `N` requests are instead `POST /Users` (each a new
//! user, as `benches/http/create-user.lua` sends them) from `C` clients at once, each on a
//! connection and thread of its own, so that the SQLite store commits them in batches:
//!
//!     valgrind --tool=callgrind target/profiling/examples/serve_get /tmp/p.db 2000 post:16
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use scim_cli::serve::{self, ServeOptions};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One keep-alive connection speaking just enough HTTP/1.1.
struct Client {
    out: TcpStream,
    inp: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: std::net::SocketAddr) -> Self {
        let out = TcpStream::connect(addr).unwrap();
        out.set_nodelay(true).unwrap();
        let inp = BufReader::new(out.try_clone().unwrap());
        Client { out, inp }
    }

    /// Sends a request (bytes as wrk sends them) and returns the status and body.
    fn send(&mut self, request: &[u8]) -> (u16, Vec<u8>) {
        let (status, _, body) = self.exchange(request);
        (status, body)
    }

    /// Sends a request and returns the status, the head (but its `date`) and the body.
    fn exchange(&mut self, request: &[u8]) -> (u16, String, Vec<u8>) {
        let mut head = String::new();
        self.out.write_all(request).unwrap();
        let mut line = String::new();
        self.inp.read_line(&mut line).unwrap();
        let status: u16 = line[9..12].parse().unwrap();
        let mut length = 0usize;
        loop {
            line.clear();
            self.inp.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if !line.to_ascii_lowercase().starts_with("date:") {
                head.push_str(&line);
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; length];
        self.inp.read_exact(&mut body).unwrap();
        (status, head, body)
    }
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer bench\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench\r\n\r\n")
        .into_bytes()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let db = args.next().unwrap_or_else(|| ":memory:".to_owned());
    let n: usize = args.next().map_or(20_000, |n| n.parse().unwrap());

    let (writer, _flush_on_exit) = serve::BatchedLog::new(std::io::sink(), 1 << 20);
    // `RUST_LOG` as `scim serve` reads it (`warn` leaves the request lines out).
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    tracing::subscriber::set_global_default(serve::log_subscriber(writer, false, &directives))
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(async { serve::bind("127.0.0.1:0".parse().unwrap(), 1024) })
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut options = ServeOptions::new();
    options.addr = addr;
    if db != ":memory:" {
        let _ = std::fs::remove_file(&db);
        let _ = std::fs::remove_file(format!("{db}-wal"));
        let _ = std::fs::remove_file(format!("{db}-shm"));
        options.db = Some(db.clone().into());
    }
    options.tokens.insert("bench", scim_core::Scopes::All);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(serve::run(listener, options, async move {
        let _ = stopped.await;
    }));

    let mut client = Client::connect(addr);
    for k in (0..1000).step_by(100) {
        let ops: Vec<serde_json::Value> = (k..k + 100)
            .map(|i| {
                serde_json::json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                         "userName": format!("user{i}"), "displayName": format!("User {i}"),
                         "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}]}})
            })
            .collect();
        let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
        let (status, _) = client.send(&post("/scim/v2/Bulk", &body.to_string()));
        assert_eq!(status, 200);
    }
    let (status, body) = client.send(&get("/scim/v2/Users?filter=userName%20eq%20%22user500%22"));
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();

    if let Some(clients) = args
        .next()
        .and_then(|m| m.strip_prefix("post:")?.parse().ok())
    {
        post_users(addr, n, clients);
        drop(client);
        let _ = stop.send(());
        runtime.block_on(server).unwrap().unwrap();
        return;
    }

    let request = get(&format!("/scim/v2/Users/{id}"));
    let (status, head, first) = client.exchange(&request);
    assert_eq!(status, 200);
    for _ in 0..n {
        let (status, body) = client.send(&request);
        assert_eq!(status, 200);
        assert_eq!(body.len(), first.len());
    }
    if std::env::var_os("SERVE_GET_SHOW").is_some() {
        println!("{head}{}", String::from_utf8_lossy(&first));
    }
    drop(client);
    let _ = stop.send(());
    runtime.block_on(server).unwrap().unwrap();
}

/// `n` new users created by `clients` clients at once, each with its own connection.
fn post_users(addr: std::net::SocketAddr, n: usize, clients: usize) {
    std::thread::scope(|s| {
        for c in 0..clients {
            s.spawn(move || {
                let mut client = Client::connect(addr);
                for i in (c..n).step_by(clients) {
                    let body = format!(
                        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"load-{c}-{i}","displayName":"Load {i}"}}"#
                    );
                    let (status, _) = client.send(&post("/scim/v2/Users", &body));
                    assert_eq!(status, 201);
                }
            });
        }
    });
}
