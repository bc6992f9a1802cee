//! `scim serve --db FILE`: data survives a restart, and a `kill -9` in the middle of a stream
//! of writes loses no acknowledged write and leaves nothing half-written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db: &std::path::Path) -> (Child, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_scim"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--token",
            "t",
            "--db",
        ])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/scim/v2");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ureq::get(&format!("{base}/ServiceProviderConfig"))
            .set("Authorization", "Bearer t")
            .call()
            .is_ok()
        {
            return (child, base);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("scim serve did not start");
}

fn get(base: &str, path: &str) -> (u16, Value) {
    match ureq::get(&format!("{base}{path}"))
        .set("Authorization", "Bearer t")
        .call()
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(c, r)) => (c, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("scim-durability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("scim.db");
    let _ = std::fs::remove_file(&db);
    let (mut child, base) = start(&db);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, base) = (acked.clone(), stop.clone(), base.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("user{i}");
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                    "emails": [{"value": format!("{name}@example.com"), "primary": true}]});
                match ureq::post(&format!("{base}/Users"))
                    .set("Authorization", "Bearer t")
                    .send_json(body)
                {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.into_json().unwrap();
                        acked
                            .lock()
                            .unwrap()
                            .push((v["id"].as_str().unwrap().to_owned(), name));
                    }
                    Ok(_) | Err(ureq::Error::Status(..)) => {}
                    Err(_) => break, // the server is gone
                }
                i += 1;
            }
        })
    };
    // Let writes stream, then kill the server without warning.
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.lock().unwrap().len() < 50 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "only {} writes acknowledged",
        acked.len()
    );

    let (mut child, base) = start(&db);
    for (id, name) in &acked {
        let (status, user) = get(&base, &format!("/Users/{id}"));
        assert_eq!(status, 200, "acknowledged {name} ({id}) lost");
        assert_eq!(user["userName"], name.as_str());
        assert_eq!(user["emails"][0]["value"], format!("{name}@example.com"));
    }
    // Nothing half-written: every stored user is whole.
    let (status, list) = get(&base, "/Users?count=1000");
    assert_eq!(status, 200);
    let total = list["totalResults"].as_u64().unwrap() as usize;
    assert!(
        total >= acked.len() && total <= acked.len() + 1,
        "{total} stored, {} acknowledged",
        acked.len()
    );
    for u in list["Resources"].as_array().unwrap() {
        let name = u["userName"].as_str().unwrap();
        assert_eq!(u["emails"][0]["value"], format!("{name}@example.com"));
        assert!(u["meta"]["version"].is_string());
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
