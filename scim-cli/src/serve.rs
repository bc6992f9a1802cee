//! `scim serve`: the engine behind axum, with bearer-token auth.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::Router;
use scim_core::secret::{Argon2Params, Argon2id};
use scim_core::{Config, Engine, MemoryStore, RequestContext, ScimError, Scopes};

use crate::store::HostStore;
use serde_json::Value;

use crate::auth::{random_token, Tokens};

/// What `scim serve` runs with.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The path the SCIM endpoints live under, e.g. `/scim/v2`.
    pub base_path: String,
    /// The public base URL for `meta.location` (default `http://{addr}{base_path}`).
    pub public_url: Option<String>,
    /// Known tokens.
    pub tokens: Tokens,
    /// Entra ID / Okta leniency (PATCH profiles and schema coercions). Default on.
    pub idp_profiles: bool,
    /// Largest request body.
    pub max_payload: usize,
    /// The SQLite file to keep data in; `None` keeps it in memory.
    pub db: Option<std::path::PathBuf>,
    /// Answer PATCH with 204 No Content (RFC 7644 §3.5.2 allows it; Entra ID and Okta
    /// expect nothing more). A membership PATCH of a large group then neither reads nor
    /// writes its other members. Default off: 200 with the resource.
    pub patch_no_content: bool,
    /// The cost of the Argon2id hash passwords are stored with (`"argon2": {"memory_kib":
    /// 19456, "iterations": 2, "lanes": 1}` in the config file; OWASP's recommendation by
    /// default).
    pub argon2: Argon2Params,
}

impl ServeOptions {
    /// Defaults: 127.0.0.1:8080, `/scim/v2`, IdP profiles on, 1 MiB bodies, no tokens.
    pub fn new() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_path: "/scim/v2".to_owned(),
            public_url: None,
            tokens: Tokens::new(),
            idp_profiles: true,
            max_payload: 1 << 20,
            db: None,
            patch_no_content: false,
            argon2: Argon2Params::default(),
        }
    }

    /// Reads a JSON config file:
    /// `{"addr": "127.0.0.1:8080", "base_path": "/scim/v2", "public_url": "...",
    ///   "idp_profiles": true, "max_payload": 1048576,
    ///   "tokens": [{"token": "...", "scopes": ["https://gluu.org/scim/users.read", ...]}]}`
    /// (`"scopes": "all"` grants everything).
    pub fn load(mut self, path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(a) = v.get("addr").and_then(Value::as_str) {
            self.addr = a.parse().map_err(|e| format!("addr {a}: {e}"))?;
        }
        if let Some(b) = v.get("base_path").and_then(Value::as_str) {
            self.base_path = b.to_owned();
        }
        if let Some(u) = v.get("public_url").and_then(Value::as_str) {
            self.public_url = Some(u.to_owned());
        }
        if let Some(p) = v.get("idp_profiles").and_then(Value::as_bool) {
            self.idp_profiles = p;
        }
        if let Some(d) = v.get("db").and_then(Value::as_str) {
            self.db = (d != ":memory:").then(|| d.into());
        }
        if let Some(p) = v.get("patch_no_content").and_then(Value::as_bool) {
            self.patch_no_content = p;
        }
        if let Some(a) = v.get("argon2") {
            let field = |k: &str, default: u32| -> Result<u32, String> {
                match a.get(k) {
                    None => Ok(default),
                    Some(n) => n
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("argon2.{k} must be a positive integer")),
                }
            };
            let d = Argon2Params::default();
            self.argon2 = Argon2Params::new(
                field("memory_kib", d.memory_kib)?,
                field("iterations", d.iterations)?,
                field("lanes", d.lanes)?,
            );
        }
        if let Some(m) = v.get("max_payload").and_then(Value::as_u64) {
            self.max_payload = usize::try_from(m).unwrap_or(usize::MAX);
        }
        for t in v
            .get("tokens")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let token = t
                .get("token")
                .and_then(Value::as_str)
                .ok_or("each token needs a \"token\"")?;
            let scopes = match t.get("scopes") {
                None => Scopes::All,
                Some(Value::String(s)) if s == "all" => Scopes::All,
                Some(Value::Array(list)) => Scopes::of(list.iter().filter_map(Value::as_str)),
                Some(_) => return Err("\"scopes\" must be \"all\" or a list".into()),
            };
            self.tokens.insert(token, scopes);
        }
        Ok(self)
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self::new()
    }
}

struct AppState {
    engine: Engine<HostStore>,
    base_path: String,
    tokens: Tokens,
}

/// The engine `scim serve` runs: User (with the enterprise and Gluu extensions), Group,
/// FidoDevice and Fido2Device, over SQLite at `options.db` or in memory.
pub fn engine(base_url: &str, options: &ServeOptions) -> Result<Engine<HostStore>, String> {
    let (idp_profiles, max_payload, db) = (
        options.idp_profiles,
        options.max_payload,
        options.db.as_deref(),
    );
    let registry = scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
        .build()
        .map_err(|e| e.to_string())?;
    let mut config = Config::new(base_url).password_scheme(Arc::new(Argon2id::new(
        options.argon2,
        scim_core::secret::default_entropy(),
    )));
    config.max_payload = max_payload;
    config.patch_no_content = options.patch_no_content;
    if idp_profiles {
        config = config
            .patch_options(scim_patch::PatchOptions::lenient())
            .validation_options(
                scim_schema::ValidationOptions::default().leniency(scim_schema::Leniency::all()),
            );
        config.lenient_filters = true;
        config.trim_identifiers = true;
    }
    let store = match db {
        Some(path) => HostStore::Sqlite(
            scim_store_sqlite::SqliteStore::open_with_passwords(
                path,
                registry.clone(),
                Arc::clone(&config.passwords),
            )
            .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => HostStore::Memory(MemoryStore::new()),
    };
    Ok(Engine::new(registry, store, config))
}

/// The axum router for `options` (tokens must be set).
pub fn router(options: &ServeOptions, base_url: &str) -> Result<Router, String> {
    let state = Arc::new(AppState {
        engine: engine(base_url, options)?,
        base_path: options.base_path.trim_end_matches('/').to_owned(),
        tokens: options.tokens.clone(),
    });
    Ok(Router::new().fallback(handle).with_state(state))
}

async fn handle(
    State(state): State<Arc<AppState>>,
    request: http::Request<Body>,
) -> axum::response::Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let limit = state.engine.config().max_payload;
    let (parts, body) = request.into_parts();
    // A declared length over the limit is refused before any of the body is read.
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        let response = scim_error(ScimError::payload_too_large(format!(
            "the request body exceeds {limit} bytes"
        )));
        tracing::info!(%method, %uri, status = 413, "request");
        return response;
    }
    let response = match to_bytes(body, limit.saturating_add(1)).await {
        Err(_) => scim_error(ScimError::payload_too_large(format!(
            "the request body exceeds {limit} bytes"
        ))),
        Ok(bytes) => {
            let mut req = http::Request::from_parts(parts, bytes.to_vec());
            let path = req.uri().path().to_owned();
            match path.strip_prefix(&state.base_path) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    let rest = if rest.is_empty() { "/" } else { rest };
                    let pq = match req.uri().query() {
                        Some(q) => format!("{rest}?{q}"),
                        None => rest.to_owned(),
                    };
                    if let Ok(uri) = pq.parse() {
                        *req.uri_mut() = uri;
                    }
                    let auth = req
                        .headers()
                        .get(http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok());
                    match state.tokens.authorize(auth).cloned() {
                        None => unauthorized(),
                        Some(scopes) => {
                            let ctx = RequestContext::new(chrono::Utc::now()).scopes(scopes);
                            let scim_request = scim_core::Request::from_http(req);
                            let resp = state.engine.handle(&ctx, scim_request).await;
                            into_axum(resp.into_http())
                        }
                    }
                }
                _ => scim_error(ScimError::not_found(format!(
                    "no endpoint {path}; SCIM lives under {}",
                    state.base_path
                ))),
            }
        }
    };
    tracing::info!(%method, %uri, status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    response
}

fn into_axum(resp: http::Response<Vec<u8>>) -> axum::response::Response {
    let (parts, body) = resp.into_parts();
    axum::response::Response::from_parts(parts, Body::from(body))
}

fn scim_error(e: ScimError) -> axum::response::Response {
    into_axum(scim_core::Response::from(e).into_http())
}

fn unauthorized() -> axum::response::Response {
    let mut r = scim_error(ScimError::new(
        401,
        None,
        "a valid bearer token is required (Authorization: Bearer <token>)",
    ));
    r.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer realm=\"scim\""),
    );
    r.into_response()
}

/// Serves until Ctrl-C on an already bound listener (tests bind port 0). Returns the token
/// generated when `options` had none.
pub async fn run(
    listener: tokio::net::TcpListener,
    mut options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let base_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}{}", options.base_path.trim_end_matches('/')));
    if options.tokens.is_empty() {
        let token = random_token();
        println!("No token configured; generated one for this run:\n\n  {token}\n");
        println!("Try it:\n\n  curl -s -H 'Authorization: Bearer {token}' {base_url}/ServiceProviderConfig\n");
        options.tokens.insert(token, Scopes::All);
    }
    tracing::info!(%base_url, "scim serve listening");
    let app = router(&options, &base_url).map_err(std::io::Error::other)?;
    match &options.db {
        Some(db) => tracing::info!(db = %db.display(), "data kept in SQLite"),
        None => tracing::info!("data kept in memory (gone on exit)"),
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C.
pub async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use scim_core::{block_on, Method, Request, RequestContext};
    use serde_json::json;

    #[test]
    fn patch_no_content_from_the_config_file_answers_204() {
        let path = std::env::temp_dir().join(format!("scim-serve-cfg-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"patch_no_content": true, "db": ":memory:"}"#).unwrap();
        let options = ServeOptions::new().load(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(options.patch_no_content);
        let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
        let patch = |engine: &Engine<HostStore>, id: &str| {
            block_on(engine.handle(
                &ctx,
                Request::new(Method::Patch, format!("/Groups/{id}")).with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "b"}]})),
            ))
            .status
        };
        for (no_content, status) in [(true, 204), (false, 200)] {
            let mut options = options.clone();
            options.patch_no_content = no_content;
            let engine = engine("http://localhost/scim/v2", &options).unwrap();
            let created = block_on(engine.handle(
                &ctx,
                Request::new(Method::Post, "/Groups").with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "a"})),
            ));
            let id = created.body_json()["id"].as_str().unwrap().to_owned();
            assert_eq!(patch(&engine, &id), status);
        }
    }
}
