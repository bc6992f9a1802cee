//! The request handler: checks on the head (size, route, token, media type, declared
//! length), the body read under its limits, the engine call, and the request log line.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use bytes::Bytes;
use http::request::Parts;
use http_body_util::BodyExt;
use scim_core::{Engine, RequestContext, Scopes};
use tokio::time::Instant;

use super::logging::redacted_target;
use super::refusal::Refusal;
use crate::auth::Tokens;
use crate::store::HostStore;

/// The limits the handler enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Largest body the engine gets.
    pub(crate) max_payload: usize,
    /// Most bytes thrown away before a refusal is answered.
    pub(crate) max_discard: usize,
    /// How long one body may take to arrive.
    pub(crate) body_timeout: Duration,
    /// Longest request target.
    pub(crate) max_uri_length: usize,
    /// Most bytes of header fields.
    pub(crate) max_header_bytes: usize,
}

/// What every request shares.
pub(crate) struct AppState {
    pub(crate) engine: Engine<HostStore>,
    pub(crate) base_path: String,
    pub(crate) tokens: Tokens,
    pub(crate) limits: BodyLimits,
}

type AxumResponse = axum::response::Response;

/// Handles one request and logs it: method, path, query parameter names, status, time.
pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    request: http::Request<Body>,
) -> AxumResponse {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let target = redacted_target(request.uri());
    let response = respond(&state, request).await;
    let status = response.status().as_u16();
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::info!(%method, %target, status, elapsed_us, "request");
    response
}

async fn respond(state: &AppState, request: http::Request<Body>) -> AxumResponse {
    let (parts, body) = request.into_parts();
    let limits = state.limits;
    let scopes = match check_head(state, &parts) {
        Ok(scopes) => scopes,
        Err(refusal) => return refuse_before_body(&refusal, &parts, body, limits).await,
    };
    let deadline = Instant::now() + limits.body_timeout;
    let bytes = match tokio::time::timeout_at(deadline, read_body(body, limits, deadline)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err((refusal, close))) => return with_close(to_axum(refusal.response()), close),
        Err(_) => {
            let refusal = Refusal::BodyTimeout(limits.body_timeout);
            return with_close(to_axum(refusal.response()), true);
        }
    };
    let mut req = http::Request::from_parts(parts, bytes.to_vec());
    let rest = req
        .uri()
        .path()
        .strip_prefix(&state.base_path)
        .unwrap_or_default();
    let rest = if rest.is_empty() { "/" } else { rest };
    let pq = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    if let Ok(uri) = pq.parse() {
        *req.uri_mut() = uri;
    }
    let ctx = RequestContext::new(chrono::Utc::now()).scopes(scopes);
    let request = scim_core::Request::from_http(req);
    let hashes = request.method != scim_core::Method::Get
        && scim_core::secret::may_carry_secret(state.engine.registry(), &request.body);
    let resp = if hashes && may_block_in_place() {
        // A write that may hash a password (tens of milliseconds of CPU, by design) runs
        // with this worker handed over to the blocking pool, so the runtime goes on serving
        // every other connection meanwhile. Other writes await the store like reads.
        tokio::task::block_in_place(|| scim_core::block_on(state.engine.handle(&ctx, request)))
    } else {
        state.engine.handle(&ctx, request).await
    };
    log_server_error(&resp);
    to_axum(resp.into_http())
}

/// Whether this task may block its worker: only on a multi-threaded runtime (an embedder's
/// current-thread runtime has no other worker to take over).
fn may_block_in_place() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// Logs the cause of a 5xx answer at `error` level, here only: the response keeps the
/// engine's own detail, which names no internals, while [`scim_core::Response::cause`]
/// says what failed (a store error, a hash that could not be made).
fn log_server_error(resp: &scim_core::Response) {
    if resp.status >= 500 {
        let body = resp.body_json();
        let detail = body["detail"].as_str().unwrap_or("(no detail)");
        let cause = resp.cause().unwrap_or("(none recorded)");
        tracing::error!(status = resp.status, %detail, %cause, "the engine failed a request");
    }
}

/// What can be refused from the head alone: the target's bytes and size, the header size,
/// the route, the token, the media type, the declared length.
fn check_head(state: &AppState, parts: &Parts) -> Result<Scopes, Refusal> {
    let limits = state.limits;
    let target = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str());
    // RFC 3986 §2: a request target is ASCII; anything else must be percent-encoded.
    if target.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
        return Err(Refusal::MalformedTarget);
    }
    let target_len = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path().len(), |pq| pq.as_str().len());
    if target_len > limits.max_uri_length {
        return Err(Refusal::UriTooLong {
            limit: limits.max_uri_length,
        });
    }
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > limits.max_header_bytes {
        return Err(Refusal::HeadersTooLarge {
            limit: limits.max_header_bytes,
        });
    }
    let path = parts.uri.path();
    match path.strip_prefix(&state.base_path) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {}
        _ => {
            return Err(Refusal::NotFound {
                path: path.to_owned(),
                base: state.base_path.clone(),
            })
        }
    }
    let auth = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let scopes = state
        .tokens
        .authorize(auth)
        .cloned()
        .ok_or(Refusal::Unauthorized)?;
    if matches!(
        parts.method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    ) {
        if let Some(ct) = parts.headers.get(http::header::CONTENT_TYPE) {
            if !json_media_type(ct.as_bytes()) {
                return Err(Refusal::UnsupportedMediaType(
                    String::from_utf8_lossy(ct.as_bytes()).into_owned(),
                ));
            }
        }
    }
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_payload as u64) {
        return Err(Refusal::PayloadTooLarge {
            limit: limits.max_payload,
        });
    }
    Ok(scopes)
}

/// `application/scim+json` or `application/json`, parameters (`charset`) allowed (RFC 7644
/// §3.1, §8.1).
fn json_media_type(value: &[u8]) -> bool {
    let value = String::from_utf8_lossy(value);
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
}

/// Answers a refusal made before the body was read. A client that asked
/// `Expect: 100-continue` is answered at once (it has not sent the body). Otherwise the
/// body is read and thrown away first, up to `max_discard` and the body timeout, so a
/// client still sending reads the answer rather than a reset; the connection is then
/// closed if the body could not be drained, and always after a 413.
async fn refuse_before_body(
    refusal: &Refusal,
    parts: &Parts,
    body: Body,
    limits: BodyLimits,
) -> AxumResponse {
    let response = to_axum(refusal.response());
    if http_body::Body::is_end_stream(&body) {
        return response;
    }
    let too_large = matches!(refusal, Refusal::PayloadTooLarge { .. });
    if expects_continue(parts) {
        return with_close(response, true);
    }
    let deadline = Instant::now() + limits.body_timeout;
    let drained = discard(body, limits.max_discard, deadline).await;
    with_close(response, too_large || !drained)
}

fn expects_continue(parts: &Parts) -> bool {
    parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads a body of at most `max_payload` bytes. A longer one is drained (up to
/// `max_discard` in all) and refused 413 with the connection closed; a broken one is
/// refused 400. The caller bounds the whole read by the deadline.
async fn read_body(
    mut body: Body,
    limits: BodyLimits,
    deadline: Instant,
) -> Result<Bytes, (Refusal, bool)> {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| (Refusal::BrokenBody, true))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limits.max_payload {
                let budget = limits.max_discard.saturating_sub(buf.len() + data.len());
                let _ = discard(body, budget, deadline).await;
                let limit = limits.max_payload;
                return Err((Refusal::PayloadTooLarge { limit }, true));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Reads and drops a body; whether it ended within `budget` bytes before `deadline`.
async fn discard(mut body: Body, budget: usize, deadline: Instant) -> bool {
    let drain = async {
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                seen = seen.saturating_add(data.len());
                if seen > budget {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout_at(deadline, drain)
        .await
        .unwrap_or(false)
}

fn with_close(mut response: AxumResponse, close: bool) -> AxumResponse {
    if close {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

fn to_axum(resp: http::Response<Vec<u8>>) -> AxumResponse {
    let (parts, body) = resp.into_parts();
    AxumResponse::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::{Arc, Mutex};

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
        let subscriber = super::super::log_subscriber(move || sink.clone(), false, "info");
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

    #[test]
    fn media_types() {
        assert!(json_media_type(b"application/scim+json"));
        assert!(json_media_type(b"application/scim+json; charset=utf-8"));
        assert!(json_media_type(b"Application/JSON;charset=UTF-8"));
        assert!(!json_media_type(b"text/plain"));
        assert!(!json_media_type(b"application/x-www-form-urlencoded"));
        assert!(!json_media_type(b"application/jsonx"));
    }
}
