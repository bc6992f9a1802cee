//! The Python reference server `scim2-server` (PyPI), which nobody here wrote: CRUD,
//! filtered lists with paging (index and RFC 9865 cursors), PATCH, Bulk and discovery.
//!
//! `.ci/run` installs it into a virtual environment and sets `SCIM2_SERVER_BIN`; without
//! it (and without `target/scim2-venv`), the tests print a skip line, unless
//! `SCIM_REQUIRE_SCIM2_SERVER=1` makes that a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use scim_client::{
    BulkOperation, Client, Error, ListQuery, Paging, RequestOptions, SortOrder, User,
};
use scim_patch::{PatchOptions, PatchRequest};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const TOKEN: &str = "scim2-server-token";

fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SCIM2_SERVER_BIN") {
        return Some(PathBuf::from(p));
    }
    let local =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/scim2-venv/bin/scim2-server");
    local.exists().then_some(local)
}

/// A `scim2-server` child process on a free loopback port; killed when dropped.
struct Scim2Server {
    child: Child,
    base: String,
    _config: Option<tempfile_path::TempPath>,
}

mod tempfile_path {
    /// A file removed when dropped.
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(service_provider_config: Option<Value>) -> Option<Scim2Server> {
    let Some(bin) = binary() else {
        assert!(
            std::env::var("SCIM_REQUIRE_SCIM2_SERVER").as_deref() != Ok("1"),
            "SCIM_REQUIRE_SCIM2_SERVER=1 but scim2-server is not installed (SCIM2_SERVER_BIN)"
        );
        println!(
            "skipped: scim2-server is not installed (set SCIM2_SERVER_BIN; .ci/run installs it)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(&bin);
    cmd.args([
        "--hostname",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--bearer-token",
        TOKEN,
    ])
    .env("SCIM2_SERVER_SECRET", "client-tests-cursor-secret")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let config = service_provider_config.map(|c| {
        let path =
            std::env::temp_dir().join(format!("scim2-spc-{}-{port}.json", std::process::id()));
        std::fs::write(&path, c.to_string()).unwrap();
        tempfile_path::TempPath(path)
    });
    if let Some(c) = &config {
        cmd.arg("--service-provider-config").arg(&c.0);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let server = Scim2Server {
        child,
        base: format!("http://127.0.0.1:{port}/v2"),
        _config: config,
    };
    let started = Instant::now();
    let probe = client(&server);
    loop {
        match probe
            .request(
                scim_client::Method::GET,
                "/ServiceProviderConfig",
                None,
                &RequestOptions::new(),
            )
            .await
        {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "scim2-server did not start: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Some(server)
}

fn client(server: &Scim2Server) -> Client {
    Client::builder(&server.base)
        .unwrap()
        .bearer(TOKEN)
        .build()
        .unwrap()
}

fn user(i: usize) -> User {
    let mut u = User::new(format!("s2-user{i:02}"));
    u.display_name = Some(format!("User {i}"));
    u.active = Some(i % 2 == 0);
    if i % 3 == 0 {
        u.set_extension(ENTERPRISE, &json!({"employeeNumber": format!("E{i}")}))
            .unwrap();
    }
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_filters_paging_patch_and_discovery() {
    let Some(server) = start(None).await else {
        return;
    };
    let c = client(&server);
    let d = c.discover().await.unwrap();
    println!("scim2-server discovery notes: {:?}", d.notes);
    println!("scim2-server config: {:?}", d.config);
    assert!(d.registry.resource_type("User").is_some());
    assert!(d.registry.resource_type("Group").is_some());
    assert!(d.config.filter && d.config.patch);

    let mut ids = Vec::new();
    for i in 0..12 {
        let created: User = c.create("/Users", &user(i)).await.unwrap();
        assert_eq!(created.user_name, format!("s2-user{i:02}"));
        ids.push(created.id.clone().unwrap());
    }
    let third: User = c.get("/Users", &ids[3]).await.unwrap();
    let ent: Value = third.extension(ENTERPRISE).unwrap().unwrap();
    assert_eq!(ent["employeeNumber"], "E3");

    // Filtered, sorted, paged by index.
    let q = ListQuery::new()
        .filter_str(r#"userName sw "s2-user" and active eq true"#)
        .unwrap()
        .sort_by("userName", SortOrder::Ascending)
        .count(2)
        .paging(Paging::Index);
    let active: Vec<User> = c.list_all("/Users", q.clone()).try_collect().await.unwrap();
    let names: Vec<_> = active.iter().map(|u| u.user_name.clone()).collect();
    assert_eq!(
        names,
        (0..12)
            .step_by(2)
            .map(|i| format!("s2-user{i:02}"))
            .collect::<Vec<_>>()
    );
    let page = c.search::<User>("/Users", &q).await.unwrap();
    assert_eq!(page.total_results, 6);
    assert_eq!(page.resources.len(), 2);

    // Quotes, backslashes and non-ASCII survive the filter round trip.
    let tricky = "s2 \"quoted\" back\\slash Zoë";
    c.create("/Users", &User::new(tricky)).await.unwrap();
    let f = scim_filter::Filter::compare(
        scim_filter::AttrPath::new("userName"),
        scim_filter::CompareOp::Eq,
        scim_filter::CompValue::String(tricky.into()),
    );
    let found = c
        .list::<User>("/Users", &ListQuery::new().filter(f))
        .await
        .unwrap();
    assert_eq!(found.total_results, 1);
    assert_eq!(found.resources[0].user_name, tricky);

    // Replace with If-Match; the stale version is a typed 412 (etag.supported).
    let read = c
        .get_with::<User>("/Users", &ids[0], &RequestOptions::new())
        .await
        .unwrap();
    let version = read.version.clone().unwrap();
    let mut changed = read.resource.clone();
    changed.display_name = Some("Renamed".into());
    let replaced: User = c
        .replace(
            "/Users",
            &ids[0],
            &changed,
            &RequestOptions::new().if_match(&version),
        )
        .await
        .unwrap();
    assert_eq!(replaced.display_name.as_deref(), Some("Renamed"));
    let stale = c
        .replace(
            "/Users",
            &ids[0],
            &changed,
            &RequestOptions::new().if_match(&version),
        )
        .await
        .unwrap_err();
    assert!(matches!(stale, Error::PreconditionFailed(_)), "{stale:?}");

    // PATCH.
    let p = PatchRequest::from_json(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Patched"},
                               {"op": "add", "path": "title", "value": "Tester"}]}),
        &PatchOptions::default(),
    )
    .unwrap();
    let patched = c
        .patch::<User>("/Users", &ids[1], &p, &RequestOptions::new())
        .await
        .unwrap();
    let now: User = match patched {
        Some(u) => u,
        None => c.get("/Users", &ids[1]).await.unwrap(),
    };
    assert_eq!(now.display_name.as_deref(), Some("Patched"));
    assert_eq!(now.other["title"], "Tester");

    // Groups and Bulk.
    let results = c
        .bulk(
            vec![
                BulkOperation::post(
                    "/Users",
                    "b1",
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "s2-bulk"}),
                ),
                BulkOperation::post(
                    "/Groups",
                    "g1",
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "displayName": "S2", "members": [{"value": "bulkId:b1"}]}),
                ),
            ],
            None,
        )
        .await
        .unwrap();
    println!("scim2-server bulk results: {results:?}");
    assert_eq!(results.len(), 2);
    assert!(
        results.iter().all(|r| r.status_code() == 201),
        "{results:?}"
    );

    // Delete.
    c.delete("/Users", &ids[2], &RequestOptions::new())
        .await
        .unwrap();
    let gone = c.get::<User>("/Users", &ids[2]).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    let dup = c.create("/Users", &user(4)).await.unwrap_err();
    println!("scim2-server duplicate userName: {dup}");
    assert_eq!(dup.status(), Some(409));

    let reports = c.reports();
    println!(
        "scim2-server: {} received resources did not match its schemas",
        reports.len()
    );
    for r in reports.iter().take(5) {
        println!("  {} {:?}: {}", r.endpoint, r.id, r.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_paging_and_bulk_limits_from_its_config() {
    let config = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": 3, "maxPayloadSize": 1048576},
        "filter": {"supported": true, "maxResults": 1000},
        "changePassword": {"supported": false}, "sort": {"supported": true},
        "etag": {"supported": true}, "authenticationSchemes": [],
        "pagination": {"cursor": true, "index": true, "defaultPaginationMethod": "cursor",
                       "defaultPageSize": 10, "maxPageSize": 100, "cursorTimeout": 3600}
    });
    let Some(server) = start(Some(config)).await else {
        return;
    };
    let c = client(&server);
    let d = c.discover().await.unwrap();
    assert!(d.config.prefers_cursor());
    assert_eq!(d.config.bulk_max_operations, Some(3));
    // Bulk: 8 creations in requests of at most 3 operations.
    let ops: Vec<BulkOperation> = (0..8)
        .map(|i| {
            BulkOperation::post(
                "/Users",
                &format!("c{i}"),
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": format!("cursor{i}")}),
            )
        })
        .collect();
    let results = c.bulk(ops, None).await.unwrap();
    assert_eq!(results.len(), 8);
    assert!(
        results.iter().all(|r| r.status_code() == 201),
        "{results:?}"
    );
    // Every page by cursor: pages of 3 chain by nextCursor, the last has none.
    let q = ListQuery::new()
        .filter_str(r#"userName sw "cursor""#)
        .unwrap()
        .count(3);
    let pages: Vec<_> = c
        .pages::<User>("/Users", q.clone())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert!(pages[0].next_cursor.is_some() && pages[1].next_cursor.is_some());
    assert!(pages[2].next_cursor.is_none());
    assert!(
        pages.iter().all(|p| p.start_index.is_none()),
        "cursor pages, not index pages"
    );
    let mut names: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.resources)
        .map(|u| u.user_name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        (0..8).map(|i| format!("cursor{i}")).collect::<Vec<_>>()
    );
}
