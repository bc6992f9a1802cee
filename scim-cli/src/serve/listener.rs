//! The accept loop and each connection's task: HTTP/1.1 by hyper over [`ConnIo`], the
//! connection cap with shedding, the header and idle timeouts, graceful shutdown, and
//! `accept` errors (out of descriptors) met by backing off instead of dying.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::instrument::WithSubscriber;

use super::conn_io::{ConnIo, HeadLimits};
use super::connections::{Admission, InFlight, Registry, Slot};
use super::tracked_body::TrackedBody;
use scim_tower::Refusal;

/// How long to wait before accepting again after `accept` failed for want of resources
/// (EMFILE, ENFILE, ENOBUFS, ENOMEM): long enough for connections to close, short enough
/// that clients barely notice.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Most refused newcomers being answered 503 at once; past it they are just closed.
const MAX_REFUSING: usize = 64;

/// How long a refused newcomer's request is read and dropped after the 503 (so that it
/// reads the answer rather than a reset).
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub(crate) max_connections: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) head: HeadLimits,
}

/// Accepts and serves connections until `shutdown` resolves, then stops accepting, lets
/// each connection finish its request in flight, and returns when all are closed. Tasks
/// log through the subscriber that was current when this was called.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let registry = Arc::new(Registry::new(limits.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // Our own watchdog times heads and idle spells (hyper's header timer would count an
        // idle keep-alive spell as head time).
        .header_read_timeout(None)
        .keep_alive(true)
        .writev(false)
        .max_buf_size(limits.head.keep);
    let builder = Arc::new(builder);
    let (stop_tx, stop_rx) = watch::channel(false);
    let refusing = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    match registry.admit() {
                        Admission::Admitted { slot, shed } => {
                            if shed {
                                tracing::debug!("at the connection cap: shed the longest-waiting connection");
                            }
                            let task = connection(
                                stream,
                                slot,
                                Arc::clone(&registry),
                                router.clone(),
                                Arc::clone(&builder),
                                limits,
                                stop_rx.clone(),
                            );
                            tasks.spawn(task.with_current_subscriber());
                        }
                        Admission::Full => {
                            tracing::warn!(max_connections = limits.max_connections, "every connection busy: refused a newcomer (503)");
                            if refusing.load(Ordering::Relaxed) < MAX_REFUSING {
                                refusing.fetch_add(1, Ordering::Relaxed);
                                let refusing = Arc::clone(&refusing);
                                tasks.spawn(async move {
                                    refuse(stream).await;
                                    refusing.fetch_sub(1, Ordering::Relaxed);
                                });
                            }
                        }
                    }
                }
                Err(e) if is_per_connection(&e) => {
                    tracing::debug!(error = %e, "accept: connection failed before it was accepted");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
}

/// Errors that concern one connection only: accept the next at once.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    )
}

/// Answers a newcomer 503 when every connection is busy, then reads and drops what it
/// sends for a moment before closing.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(&Refusal::Overloaded.wire_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Serves one connection until it ends, is shed, times out (waiting for a head or idle),
/// or the server stops (at once if no request is in flight, else after it).
async fn connection(
    stream: TcpStream,
    slot: Arc<Slot>,
    registry: Arc<Registry>,
    router: Router,
    builder: Arc<http1::Builder>,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(ConnIo::new(stream, Arc::clone(&slot), limits.head));
    let service_slot = Arc::clone(&slot);
    let service =
        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let in_flight: InFlight = service_slot.begin_request();
            let router = router.clone();
            async move {
                let response = match router.oneshot(request).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, in_flight)))
            }
        });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let deadline = slot.deadline(limits.header_timeout, limits.idle_timeout);
        let timer = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = slot.shed.notified() => {
                tracing::debug!("connection shed for a newcomer");
                break;
            }
            () = slot.changed.notified() => {}
            () = timer => {
                let now = tokio::time::Instant::now();
                if slot
                    .deadline(limits.header_timeout, limits.idle_timeout)
                    .is_some_and(|at| at <= now)
                {
                    tracing::debug!("connection closed: no request head in time, or idle too long");
                    break;
                }
            }
            _ = stop.changed(), if !stopping => {
                // A connection waiting for a head or idle closes now; one with a request in
                // flight finishes it first (hyper then closes it).
                if !slot.in_flight() {
                    break;
                }
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    registry.remove(&slot);
}
