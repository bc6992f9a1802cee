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
