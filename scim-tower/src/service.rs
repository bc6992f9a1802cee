//! [`ScimService`]: the engine behind a tower `Service` — head checks, authentication, the
//! body read under its limits, the engine call, and every refusal as a SCIM error.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::request::Parts;
use http_body::Body;
use http_body_util::Full;
use scim_core::{Engine, Store};

use crate::body::{self, Pinned};
use crate::{head, Authenticate, Limits, Refusal};

/// The response body the service answers with.
pub type ScimBody = Full<Bytes>;

/// The response the service answers with.
pub type ScimResponse = http::Response<ScimBody>;

/// The SCIM engine as a tower `Service<http::Request<B>>` for any body type `B`: mount it in
/// axum with `Router::nest_service("/scim/v2", service)`, or serve it with hyper. Cloning is
/// cheap (one shared engine).
///
/// What it does for every request, in order: refuses a malformed or oversized target or
/// head (400, 414, 431) and a path outside its mount point (404); asks the
/// [`Authenticate`] for the request's context (401 with a `WWW-Authenticate` that says
/// why); refuses a body of the wrong media type (415) or over the size limit, declared or
/// sent (413), or too slow to arrive (408); then runs the engine. A refused body is read
/// and thrown away (within limits) so the client reads the answer. It never fails: every
/// refusal is a SCIM error response.
///
/// ```
/// use scim_core::{Config, Engine, MemoryStore, Scopes};
/// use scim_tower::{ScimService, StaticTokens};
/// use tower::ServiceExt;
///
/// let engine = Engine::new(
///     scim_schema::Registry::standard(),
///     MemoryStore::new(),
///     Config::new("https://example.com/scim/v2"),
/// );
/// let mut tokens = StaticTokens::new();
/// tokens.insert("s3cret", Scopes::All);
/// let scim = ScimService::builder(engine, tokens).mount("/scim/v2").build();
///
/// let request = http::Request::post("/scim/v2/Users")
///     .header("Authorization", "Bearer s3cret")
///     .header("Content-Type", "application/scim+json")
///     .body(http_body_util::Full::new(bytes::Bytes::from_static(
///         br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}"#,
///     )))?;
/// let response = scim_core::block_on(scim.clone().oneshot(request))?;
/// assert_eq!(response.status(), 201);
///
/// let anonymous = http::Request::get("/scim/v2/Users").body(http_body_util::Empty::<bytes::Bytes>::new())?;
/// let response = scim_core::block_on(scim.oneshot(anonymous))?;
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="scim""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ScimService<S, A> {
    inner: Arc<Inner<S, A>>,
}

impl<S, A> Clone for ScimService<S, A> {
    fn clone(&self) -> Self {
        ScimService {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, A> std::fmt::Debug for ScimService<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimService")
            .field("mount", &self.inner.mount)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

struct Inner<S, A> {
    engine: Engine<S>,
    auth: A,
    mount: String,
    limits: Limits,
}

/// Builds a [`ScimService`]: the mount point and the limits.
pub struct Builder<S, A> {
    inner: Inner<S, A>,
}

impl<S, A> std::fmt::Debug for Builder<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("mount", &self.inner.mount)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static, A: Authenticate> Builder<S, A> {
    /// The path the service answers under (e.g. `/scim/v2`; a trailing `/` is ignored). The
    /// default, the empty path, suits a service that axum's `nest_service` mounts (axum
    /// strips the prefix).
    pub fn mount(mut self, path: impl Into<String>) -> Self {
        self.inner.mount = path.into().trim_end_matches('/').to_owned();
        self
    }

    /// The limits (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.inner.limits = limits;
        self
    }

    /// The service.
    pub fn build(self) -> ScimService<S, A> {
        ScimService {
            inner: Arc::new(self.inner),
        }
    }
}

impl<S: Store + 'static, A: Authenticate> ScimService<S, A> {
    /// The service for `engine`, with `auth` deciding who is calling; mounted at the root,
    /// with the default limits.
    pub fn new(engine: Engine<S>, auth: A) -> Self {
        Self::builder(engine, auth).build()
    }

    /// A builder, to set the mount point and the limits.
    pub fn builder(engine: Engine<S>, auth: A) -> Builder<S, A> {
        Builder {
            inner: Inner {
                engine,
                auth,
                mount: String::new(),
                limits: Limits::default(),
            },
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine<S> {
        &self.inner.engine
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &A {
        &self.inner.auth
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Answers one request (what `call` does).
    pub async fn handle<B>(&self, request: http::Request<B>) -> ScimResponse
    where
        B: Body,
    {
        let inner = &*self.inner;
        let limits = &inner.limits;
        let (parts, body) = request.into_parts();
        let body = Box::pin(body);
        let rest = match head::check_target(&parts, &inner.mount, limits) {
            Ok(rest) => rest,
            Err(refusal) => return refuse_before_body(&refusal, &parts, body, limits).await,
        };
        let mut ctx = match inner.auth.authenticate(&parts).await {
            Ok(ctx) => ctx,
            Err(why) => {
                let refusal = Refusal::Unauthorized(why);
                return refuse_before_body(&refusal, &parts, body, limits).await;
            }
        };
        if let Err(refusal) = head::check_body_head(&parts, limits) {
            return refuse_before_body(&refusal, &parts, body, limits).await;
        }
        ctx.now = chrono::Utc::now();
        let bytes = match body::within(limits.body_timeout, body::read(body, limits)).await {
            Some(Ok(bytes)) => bytes,
            Some(Err((refusal, close))) => return with_close(refused(&refusal), close),
            None => return with_close(refused(&Refusal::BodyTimeout(limits.body_timeout)), true),
        };
        let request = scim_core::Request::from_head(&parts, rest, Vec::from(bytes));
        let engine = &inner.engine;
        let hashes = request.method != scim_core::Method::Get
            && scim_core::secret::may_carry_secret(engine.registry(), &request.body);
        let resp = if hashes && may_block_in_place() {
            // A write that may hash a password (tens of milliseconds of CPU, by design) runs
            // with this worker handed over to the blocking pool, so the runtime goes on
            // serving every other connection meanwhile. Other writes await the store.
            tokio::task::block_in_place(|| scim_core::block_on(engine.handle(&ctx, request)))
        } else {
            engine.handle(&ctx, request).await
        };
        log_server_error(&resp);
        full(resp.into_http())
    }
}

impl<S, A, B> tower_service::Service<http::Request<B>> for ScimService<S, A>
where
    S: Store + 'static,
    A: Authenticate,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Send,
{
    type Response = ScimResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<ScimResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(service.handle(request).await) })
    }
}

/// Whether this task may block its worker: only on a multi-threaded tokio runtime (a
/// current-thread runtime has no other worker to take over; elsewhere there is no pool).
fn may_block_in_place() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// Logs the cause of a 5xx answer at `error` level, here only: the response keeps the
/// engine's own detail, which names no internals, while [`scim_core::Response::cause`]
/// says what failed (a store error, a hash that could not be made).
pub(crate) fn log_server_error(resp: &scim_core::Response) {
    if resp.status >= 500 {
        let body = resp.body_json();
        let detail = body["detail"].as_str().unwrap_or("(no detail)");
        let cause = resp.cause().unwrap_or("(none recorded)");
        tracing::error!(status = resp.status, %detail, %cause, "the engine failed a request");
    }
}

/// Answers a refusal made before the body was read. A client that asked
/// `Expect: 100-continue` is answered at once (it has not sent the body). Otherwise the
/// body is read and thrown away first, up to `max_discard` and the body timeout, so a
/// client still sending reads the answer rather than a reset; the connection is then
/// closed if the body could not be drained, and always after a 413.
async fn refuse_before_body<B: Body>(
    refusal: &Refusal,
    parts: &Parts,
    body: Pinned<B>,
    limits: &Limits,
) -> ScimResponse {
    let response = refused(refusal);
    if body.is_end_stream() {
        return response;
    }
    if head::expects_continue(parts) {
        return with_close(response, true);
    }
    let too_large = matches!(refusal, Refusal::PayloadTooLarge { .. });
    let drained = body::within(limits.body_timeout, body::discard(body, limits.max_discard))
        .await
        .unwrap_or(false);
    with_close(response, too_large || !drained)
}

fn refused(refusal: &Refusal) -> ScimResponse {
    full(refusal.response())
}

fn full(resp: http::Response<Vec<u8>>) -> ScimResponse {
    resp.map(|body| Full::new(Bytes::from(body)))
}

/// Asks the server to close the connection after this response.
fn with_close(mut response: ScimResponse, close: bool) -> ScimResponse {
    if close {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_server_error_is_logged_with_its_cause() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            log_server_error(&scim_core::ScimError::new(503, None, "store unavailable").into());
            log_server_error(&scim_core::ScimError::not_found("no such user").into());
            log_server_error(
                &scim_core::ScimError::from(scim_core::StoreError::Unavailable(
                    "database disk image is malformed".into(),
                ))
                .into(),
            );
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("ERROR"), "{text}");
        assert!(text.contains("detail=store unavailable"), "{text}");
        assert!(
            text.contains("cause=database disk image is malformed"),
            "{text}"
        );
        assert!(!text.contains("no such user"), "{text}");
    }
}
