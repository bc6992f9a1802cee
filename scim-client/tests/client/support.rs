//! `scim serve` in-process on an ephemeral loopback port, on a runtime thread of its own.

use std::net::SocketAddr;

use scim_cli::serve::{self, ServeOptions};

/// A running `scim serve`; stopped when dropped.
pub struct Running {
    /// Its SCIM base URL.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub const TOKEN: &str = "client-test-token";

impl Running {
    pub fn start() -> Running {
        let mut options = ServeOptions::new();
        options.tokens.insert(TOKEN, scim_core::Scopes::All);
        Running::start_with(options)
    }

    pub fn start_with(options: ServeOptions) -> Running {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)), 128).unwrap();
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
            base: format!("http://{addr}/scim/v2"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn client(&self) -> scim_client::Client {
        scim_client::Client::builder(&self.base)
            .unwrap()
            .bearer(TOKEN)
            .build()
            .unwrap()
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
