//! The request handler: the SCIM service ([`scim_tower::ScimService`]: head checks, token,
//! body limits, the engine) and the request log line around it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use scim_tower::ScimService;

use super::logging::redacted_target;
use super::metered_store::MeteredStore;
use super::ops::Ops;
use crate::auth::HostAuth;
use crate::store::HostStore;

/// What every request shares.
pub(crate) struct AppState {
    pub(crate) scim: ScimService<MeteredStore<HostStore>, HostAuth>,
    /// The operator's endpoints and the metrics.
    pub(crate) ops: Ops,
}

type AxumResponse = axum::response::Response;

/// What answers each request: the router for the operator's endpoints, and [`handle`] — the
/// router's fallback — called directly for every other path (the SCIM requests), without
/// matching them against the router's routes first.
#[derive(Clone)]
pub(crate) struct App {
    /// The operator's endpoints, with [`handle`] as the fallback.
    pub(crate) router: axum::Router,
    pub(crate) state: Arc<AppState>,
}

impl App {
    /// Answers `request` as the router would.
    pub(crate) async fn call(self, request: http::Request<Body>) -> AxumResponse {
        if super::ops::is_ops_path(request.uri().path()) {
            use tower::ServiceExt;
            match self.router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        } else {
            handle(State(self.state), request).await
        }
    }
}

/// Handles one request, logs it (method, path, query parameter names, status, time) and
/// counts it (endpoint name, method, status, time).
pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    request: http::Request<Body>,
) -> AxumResponse {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let target = redacted_target(request.uri());
    let endpoint = state.ops.metrics.endpoint(request.uri().path());
    let response = state.scim.handle(request).await.map(Body::new);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state
        .ops
        .metrics
        .observe_request(endpoint, &method, status, elapsed);
    let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    tracing::info!(%method, %target, status, elapsed_us, "request");
    response
}
