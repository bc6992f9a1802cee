//! `scim serve` for the tests over real loopback connections: one server on a runtime
//! thread of its own, on an ephemeral port, stopped (gracefully) when dropped.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use scim_cli::serve::{self, ServeOptions};

/// A running server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Serves `options`.
    pub fn start(options: ServeOptions) -> Running {
        Running::start_with(options, || ())
    }

    /// Serves `options`; `setup` runs first on the server's thread, and what it returns (a
    /// log subscriber's guard, say) lives as long as the server.
    pub fn start_with<G>(
        options: ServeOptions,
        setup: impl FnOnce() -> G + Send + 'static,
    ) -> Running {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _guard = setup();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)), 1024).unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve::run(listener, options, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Running {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Running {
    /// Stops the server and waits for it, at most `within` (panics past it).
    pub fn stop_within(mut self, within: std::time::Duration) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let Some(t) = self.thread.take() else { return };
        let started = std::time::Instant::now();
        while !t.is_finished() {
            assert!(
                started.elapsed() < within,
                "the server did not stop in time"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        t.join().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The real `scim serve` binary as a child process, on a port of its choosing (`--addr
/// 127.0.0.1:0`, read back from its "listening" log line: no free-port race). Its log is
/// drained by a thread of its own (the last lines kept for failure messages); the process
/// is killed (SIGKILL) and reaped when dropped, so no test leaves one behind.
pub struct ServeProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
    log: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
}

impl ServeProcess {
    /// Starts `scim serve ARGS --addr 127.0.0.1:0` and waits (at most `within`) until it
    /// listens; panics with its log when it exits or stays silent.
    pub fn start(args: &[&std::ffi::OsStr], within: std::time::Duration) -> ServeProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scim"))
            .arg("serve")
            .args(args)
            .args(["--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::<std::sync::Mutex<std::collections::VecDeque<String>>>::default();
        let (base_tx, base_rx) = std::sync::mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("scim serve listening") {
                        if let Some(at) = line.find("base_url=") {
                            let url = line[at + "base_url=".len()..]
                                .split_whitespace()
                                .next()
                                .unwrap_or("");
                            let _ = base_tx.send(url.trim_matches('"').to_owned());
                        }
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() == 40 {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            });
        }
        let base = base_rx.recv_timeout(within);
        let mut process = ServeProcess {
            child,
            base: String::new(),
            log,
        };
        match base {
            Ok(base) => process.base = base,
            Err(_) => {
                let status = process.child.try_wait().ok().flatten();
                #[allow(clippy::panic)]
                {
                    panic!(
                        "scim serve did not start (exit: {status:?}); its log:\n{}",
                        process.log_tail()
                    );
                }
            }
        }
        process
    }

    /// The last lines it logged.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `kill -9`, and waits for it to be gone.
    pub fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
