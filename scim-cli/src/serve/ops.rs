//! The operator's endpoints, outside the SCIM base path and without the SCIM tokens:
//! `/healthz` (the process answers), `/readyz` (the store answers) and `/metrics`
//! (Prometheus text; behind [`MetricsToken`] when one is set). Every refusal is a SCIM
//! error body, as on the SCIM endpoints.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{header, HeaderValue, Method, StatusCode};
use scim_core::{ScimError, Store};
use scim_tower::{Refusal, Unauthorized};

use super::handler::AppState;
use super::metrics::Metrics;

/// How long `/readyz` waits for the store before calling it not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// The id `/readyz` looks up: no store holds it (ids are UUIDs), so a healthy store
/// answers "not found" quickly.
const PROBE_ID: &str = "readyz-probe-00000000";

/// The bearer token `/metrics` asks for (key `metrics_token`, flag `--metrics-token`). Its
/// `Debug` never shows it.
///
/// ```
/// let t = scim_cli::serve::MetricsToken::new("s3cret");
/// assert!(!format!("{t:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// The token scrapers must send as `Authorization: Bearer <token>`.
    pub fn new(token: impl Into<String>) -> Self {
        MetricsToken(token.into())
    }

    /// Whether `authorization` (the header's value) carries this token. Compares in time
    /// that does not depend on where the bytes differ.
    fn accepts(&self, authorization: Option<&HeaderValue>) -> bool {
        let sent = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(scim_tower::bearer)
            .unwrap_or_default();
        let (a, b) = (sent.as_bytes(), self.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// What the operator's endpoints need.
#[derive(Debug)]
pub(crate) struct Ops {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) metrics_token: Option<MetricsToken>,
    /// The resource type `/readyz` asks the store about (the first registered).
    pub(crate) probe_type: String,
}

/// The paths of the operator's endpoints (matched exactly, as the router matches them).
const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Whether `path` is one of the operator's endpoints (else it is the SCIM handler's).
pub(crate) fn is_ops_path(path: &str) -> bool {
    PATHS.contains(&path)
}

/// The routes, added to the host's router ahead of the SCIM fallback.
pub(crate) fn mount(router: axum::Router<Arc<AppState>>) -> axum::Router<Arc<AppState>> {
    use axum::routing::any;
    let [healthz_path, readyz_path, metrics_path] = PATHS;
    router
        .route(healthz_path, any(healthz))
        .route(readyz_path, any(readyz))
        .route(metrics_path, any(metrics))
}

/// `GET /healthz`: 200 `{"status":"ok"}` while the process serves requests.
async fn healthz(method: Method) -> Response {
    if let Some(refused) = only_get(&method) {
        return refused;
    }
    json(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// `GET /readyz`: 200 `{"status":"ready"}` when the store answers a lookup, else 503 with a
/// SCIM error (the cause goes to the log, not to the client).
async fn readyz(State(state): State<Arc<AppState>>, method: Method) -> Response {
    if let Some(refused) = only_get(&method) {
        return refused;
    }
    let store = state.scim.engine().store().inner();
    let probe = store.get("default", &state.ops.probe_type, PROBE_ID);
    let cause = match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(_)) => return json(StatusCode::OK, r#"{"status":"ready"}"#),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} ms", READY_TIMEOUT.as_millis()),
    };
    tracing::warn!(%cause, "not ready: the store did not answer the readiness probe");
    scim_error(ScimError::new(
        503,
        None,
        "not ready: the store is unavailable",
    ))
}

/// `GET /metrics`: every metric in the Prometheus text format.
async fn metrics(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: http::HeaderMap,
) -> Response {
    if let Some(refused) = only_get(&method) {
        return refused;
    }
    if let Some(token) = &state.ops.metrics_token {
        let authorization = headers.get(header::AUTHORIZATION);
        if !token.accepts(authorization) {
            let why = match authorization {
                None => Unauthorized::Missing,
                Some(_) => Unauthorized::InvalidToken("not the metrics token".into()),
            };
            return Refusal::Unauthorized(why).response().map(Body::from);
        }
    }
    let mut response = Response::new(Body::from(state.ops.metrics.encode()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// 405 for anything but GET and HEAD.
fn only_get(method: &Method) -> Option<Response> {
    if *method == Method::GET || *method == Method::HEAD {
        return None;
    }
    let mut refused = scim_error(ScimError::method_not_allowed("use GET"));
    refused
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(refused)
}

fn scim_error(error: ScimError) -> Response {
    scim_core::Response::from(error).into_http().map(Body::from)
}

fn json(status: StatusCode, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_token_is_compared_whole() {
        let t = MetricsToken::new("abc");
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert!(t.accepts(Some(&h("Bearer abc"))));
        assert!(t.accepts(Some(&h("bearer abc"))));
        assert!(!t.accepts(Some(&h("Bearer abd"))));
        assert!(!t.accepts(Some(&h("Bearer ab"))));
        assert!(!t.accepts(Some(&h("Basic abc"))));
        assert!(!t.accepts(None));
        assert_eq!(format!("{t:?}"), "MetricsToken(<redacted>)");
    }
}
