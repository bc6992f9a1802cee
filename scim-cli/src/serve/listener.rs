//! The accept loop and each connection's task: HTTP/1.1 by hyper over [`ConnIo`], the
//! connection cap with shedding, the header and idle timeouts, graceful shutdown, and
//! `accept` errors (out of descriptors) met by backing off instead of dying. With TLS, each
//! connection's task does its handshake first (never the accept loop), within the header
//! timeout and counted against the cap; the rest is the same code over the TLS stream.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::instrument::WithSubscriber;

use super::conn_io::{ConnIo, HeadLimits};
use super::connections::{Admission, InFlight, Registry, Slot};
use super::handler::App;
use super::metrics::Metrics;
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

/// What a connection's task shares with the others beyond its limits: TLS, when on, and
/// the metrics it counts into.
#[derive(Clone)]
pub(crate) struct ConnShared {
    pub(crate) tls: Option<TlsAcceptor>,
    pub(crate) metrics: Arc<Metrics>,
}

/// Accepts and serves connections until `shutdown` resolves, then stops accepting, lets
/// each connection finish its request in flight, and returns when all are closed. Tasks
/// log through the subscriber that was current when this was called.
pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    limits: ConnLimits,
    shared: ConnShared,
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
                                shared.metrics.connection_shed();
                            }
                            let task = connection(
                                stream,
                                slot,
                                Arc::clone(&registry),
                                app.clone(),
                                Arc::clone(&builder),
                                limits,
                                stop_rx.clone(),
                                shared.clone(),
                            );
                            tasks.spawn(task.with_current_subscriber());
                        }
                        Admission::Full => {
                            tracing::warn!(max_connections = limits.max_connections, "every connection busy: refused a newcomer (503)");
                            shared.metrics.connection_refused();
                            if refusing.load(Ordering::Relaxed) < MAX_REFUSING {
                                refusing.fetch_add(1, Ordering::Relaxed);
                                let refusing = Arc::clone(&refusing);
                                let tls = shared.tls.clone();
                                tasks.spawn(async move {
                                    match tls {
                                        None => refuse(stream, &Refusal::Overloaded).await,
                                        Some(tls) => refuse_over_tls(stream, &tls).await,
                                    }
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

/// Answers a connection with `refusal` (a newcomer when every connection is busy, plain
/// HTTP on the TLS port), then reads and drops what it sends for a moment before closing.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, refusal: &Refusal) {
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(&refusal.wire_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// The 503 for a newcomer on the TLS port: the handshake first (it is the client's first
/// exchange), all within the refusal's linger time.
async fn refuse_over_tls(stream: TcpStream, tls: &TlsAcceptor) {
    if let Ok(Ok(stream)) = tokio::time::timeout(REFUSAL_LINGER, tls.accept(stream)).await {
        refuse(stream, &Refusal::Overloaded).await;
    }
}

/// Serves one connection, over TLS when it is on: see [`serve_http`]. Counts as open (in
/// the metrics and against the cap) from its admission, handshake included.
#[allow(clippy::too_many_arguments)]
async fn connection(
    stream: TcpStream,
    slot: Arc<Slot>,
    registry: Arc<Registry>,
    app: App,
    builder: Arc<http1::Builder>,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
    shared: ConnShared,
) {
    let _open = shared.metrics.connection_opened();
    match &shared.tls {
        None => serve_http(stream, &slot, app, &builder, limits, stop).await,
        Some(tls) => match handshake(stream, tls, &slot, limits, &mut stop).await {
            Ok(stream) => serve_http(stream, &slot, app, &builder, limits, stop).await,
            Err(why) => {
                tracing::debug!(%why, "connection closed before TLS was set up");
                shared.metrics.tls_failed();
            }
        },
    }
    registry.remove(&slot);
}

/// The TLS handshake of one connection, bounded like a request head: it must end by the
/// connection's head deadline (`header_timeout` from its admission), and gives way when
/// the connection is shed or the server stops. Plain HTTP sent to the TLS port is answered
/// with a SCIM error in plain HTTP (it would be unreadable in TLS) and closed.
async fn handshake(
    stream: TcpStream,
    tls: &TlsAcceptor,
    slot: &Slot,
    limits: ConnLimits,
    stop: &mut watch::Receiver<bool>,
) -> Result<tokio_rustls::server::TlsStream<TcpStream>, String> {
    let deadline = slot.deadline(limits.header_timeout, limits.idle_timeout);
    let timer = async move {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let accept = async {
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await {
            Ok(0) => return Err("closed by the client".to_owned()),
            Err(e) => return Err(e.to_string()),
            Ok(_) => {}
        }
        if first[0] != super::tls::HANDSHAKE_RECORD {
            if first[0].is_ascii_alphabetic() {
                tracing::info!(status = 400, "refused plain HTTP on the TLS port");
                refuse(stream, &Refusal::PlainHttpToTls).await;
            }
            return Err("not a TLS handshake".to_owned());
        }
        tls.accept(stream).await.map_err(|e| e.to_string())
    };
    tokio::select! {
        result = accept => result,
        () = timer => Err("TLS handshake not done within the header timeout".to_owned()),
        () = slot.shed.notified() => Err("shed for a newcomer during the TLS handshake".to_owned()),
        _ = stop.changed() => Err("the server is stopping".to_owned()),
    }
}

/// Serves HTTP/1.1 on one connection's stream (TCP, or TLS over it) until it ends, is
/// shed, times out (waiting for a head or idle), or the server stops (at once if no request
/// is in flight, else after it).
async fn serve_http<S>(
    stream: S,
    slot: &Arc<Slot>,
    app: App,
    builder: &http1::Builder,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let slot = Arc::clone(slot);
    let io = TokioIo::new(ConnIo::new(stream, Arc::clone(&slot), limits.head));
    let service_slot = Arc::clone(&slot);
    let service =
        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let in_flight: InFlight = service_slot.begin_request();
            let app = app.clone();
            async move {
                let response = app.call(request.map(axum::body::Body::new)).await;
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
}
