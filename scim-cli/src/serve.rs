//! `scim serve`: the engine behind hyper and axum, with bearer-token auth, bounded
//! connections, and a SCIM error body for every refusal.
//!
//! Modules: [`ServeOptions`] (options) and the `--config` file (typed; unknown keys refused), the handler (the
//! [`scim_tower::ScimService`] — head checks, token, body limits, the engine — and the request log line),
//! the connection registry (cap, shedding, timeouts), the connection IO that gives the
//! HTTP parser's own refusals a SCIM body, the accept loop, and the log format; TLS
//! (rustls, `--tls-cert`/`--tls-key`), the operator's endpoints (`/healthz`, `/readyz`,
//! `/metrics`), the metrics and the store wrapper that times store calls.

mod config_file;
mod conn_io;
mod connections;
mod handler;
mod listener;
mod log_fields;
mod log_time;
mod log_writer;
mod logging;
mod metered_store;
mod metrics;
mod ops;
mod options;
mod tls;
mod tracked_body;

use std::sync::Arc;

use axum::Router;
use scim_core::secret::Argon2id;
use scim_core::{Config, Engine, MemoryStore, Scopes};
use scim_store_postgres::{is_postgres_url, redacted_url, PostgresStore};

use crate::auth::{random_token, HostAuth};
use crate::store::HostStore;

pub use log_writer::{BatchedLine, BatchedLog, BatchedLogGuard};
pub use logging::json_log_subscriber;
pub use logging::log_subscriber;
pub use ops::MetricsToken;
pub use options::{JwksSource, JwtOptions, ServeOptions};

/// The engine `scim serve` runs: User (with the enterprise and Gluu extensions), Group,
/// FidoDevice and Fido2Device, over SQLite or PostgreSQL at `options.db`, or in memory.
/// A PostgreSQL database that cannot be reached is an error in one line.
pub fn engine(base_url: &str, options: &ServeOptions) -> Result<Engine<HostStore>, String> {
    engine_with(base_url, options, |store| store)
}

/// [`engine`], with its store passed through `wrap` (the server wraps it to time calls).
fn engine_with<S: scim_core::Store>(
    base_url: &str,
    options: &ServeOptions,
    wrap: impl FnOnce(HostStore) -> S,
) -> Result<Engine<S>, String> {
    let (idp_profiles, max_payload, db) = (
        options.idp_profiles,
        options.max_payload,
        options.db.as_deref(),
    );
    let registry = crate::registry::registry()?;
    let mut config = Config::new(base_url).password_scheme(Arc::new(Argon2id::new(
        options.argon2,
        scim_core::secret::default_entropy(),
    )));
    config.max_payload = max_payload;
    config.patch_no_content = options.patch_no_content;
    config.max_patch_retries = options.max_patch_retries;
    config.max_values = options.max_values;
    config.min_values_patched_in_text = options.min_values_patched_in_text;
    config.patch = config.patch.primary_rule(options.primary_rule);
    if idp_profiles {
        config = config
            .patch_options(scim_patch::PatchOptions::lenient().primary_rule(options.primary_rule))
            .validation_options(
                scim_schema::ValidationOptions::default().leniency(scim_schema::Leniency::all()),
            );
        config.lenient_filters = true;
        config.trim_identifiers = true;
    }
    let store = match db {
        Some(path) if path.to_str().is_some_and(is_postgres_url) => {
            let mut postgres = options.postgres.clone();
            postgres.url = path.to_string_lossy().into_owned();
            HostStore::Postgres(
                PostgresStore::connect(postgres, scim_core::StoreSchema::of(&registry))
                    .map_err(|e| e.to_string())?,
            )
        }
        Some(path) => HostStore::Sqlite(
            scim_store_sqlite::SqliteStore::open_with(
                path,
                scim_core::StoreSchema::of(&registry),
                scim_store_sqlite::SqliteOptions::default()
                    .passwords(Arc::clone(&config.passwords))
                    .pool(options.sqlite)
                    .max_indexed_values(options.sqlite_max_indexed_values)
                    .time_ordered_ids(options.sqlite_time_ordered_ids)
                    .read_cache(options.sqlite_read_cache),
            )
            .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => HostStore::Memory(MemoryStore::new()),
    };
    Ok(Engine::new(registry, wrap(store), config))
}

/// The axum router for `options` (tokens must be set): every request goes through the
/// host's checks (target and header size, route, token, media type, body size and time)
/// to the engine.
pub fn router(options: &ServeOptions, base_url: &str, auth: HostAuth) -> Result<Router, String> {
    routes(options, base_url, auth).map(|(app, _)| app.router)
}

/// [`router`] (with the state the server calls the SCIM handler with directly), and the
/// metrics it counts into (`/healthz`, `/readyz` and `/metrics` beside the SCIM
/// endpoints; the store's calls timed).
fn routes(
    options: &ServeOptions,
    base_url: &str,
    auth: HostAuth,
) -> Result<(handler::App, Arc<metrics::Metrics>), String> {
    let calls = metrics::StoreCalls::default();
    let mut read_cache = None;
    let engine = engine_with(base_url, options, |store| {
        read_cache = store.read_cache();
        metered_store::MeteredStore::new(store, calls.clone())
    })?;
    let endpoints = engine.registry().resource_types();
    let metrics = metrics::Metrics::new(
        &options.base_path,
        endpoints.map(|rt| rt.definition().endpoint.as_str()),
        calls,
        read_cache,
    );
    let metrics = Arc::new(metrics);
    let ops = ops::Ops {
        metrics: Arc::clone(&metrics),
        metrics_token: options.metrics_token.clone(),
        probe_type: engine
            .registry()
            .resource_types()
            .next()
            .map(|rt| rt.definition().name.clone())
            .unwrap_or_default(),
    };
    let scim = scim_tower::ScimService::builder(engine, auth)
        .mount(options.base_path.as_str())
        .limits(scim_tower::Limits {
            max_payload: options.max_payload,
            max_discard: options.max_discard,
            body_timeout: options.body_timeout,
            max_uri_length: options.max_uri_length,
            max_header_bytes: options.max_header_bytes,
        })
        .build();
    let state = Arc::new(handler::AppState { scim, ops });
    let router = ops::mount(Router::new()).fallback(handler::handle);
    let router = router.with_state(Arc::clone(&state));
    Ok((handler::App { router, state }, metrics))
}

/// Binds a listener with room for `backlog` connections waiting to be accepted (the
/// standard library's and tokio's `bind` allow 128, which a burst of connections overflows,
/// and each overflow costs a client a one-second SYN retransmission). Call it inside a
/// tokio runtime.
pub fn bind(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Raises the soft limit on open files to the hard limit (where the platform has one), so
/// that `max_connections` is not cut short by it; returns the soft limit now in force.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Serves on an already bound listener (tests bind port 0) until `shutdown` resolves, then
/// finishes the requests in flight. Generates and prints a token when `options` has none.
/// Logs go to the subscriber current when this is called (see [`log_subscriber`]).
pub async fn run(
    listener: tokio::net::TcpListener,
    mut options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let tls = match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key).map_err(std::io::Error::other)?),
        (None, None) => None,
        _ => {
            return Err(std::io::Error::other(
                "TLS needs both a certificate (--tls-cert) and a key (--tls-key)",
            ))
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base_url = options.public_url.clone().unwrap_or_else(|| {
        format!(
            "{scheme}://{local}{}",
            options.base_path.trim_end_matches('/')
        )
    });
    if options.tokens.is_empty() && options.jwt.is_none() {
        let token = random_token()?;
        println!("No token configured; generated one for this run:\n\n  {token}\n");
        println!("Try it:\n\n  curl -s -H 'Authorization: Bearer {token}' {base_url}/ServiceProviderConfig\n");
        options.tokens.insert(token, Scopes::All);
    }
    let auth = match &options.jwt {
        Some(jwt) => HostAuth::with_jwt(options.tokens.clone(), jwt)
            .await
            .map_err(std::io::Error::other)?,
        None => HostAuth::new(options.tokens.clone()),
    };
    // The store and the key set first: a database or an issuer that cannot be reached
    // stops the server before it says it listens.
    let (app, metrics) = routes(&options, &base_url, auth).map_err(std::io::Error::other)?;
    tracing::info!(%base_url, "scim serve listening");
    match &options.db {
        Some(db) if db.to_str().is_some_and(is_postgres_url) => tracing::info!(
            db = %redacted_url(&db.to_string_lossy()),
            schema = %options.postgres.schema,
            "data kept in PostgreSQL"
        ),
        Some(db) => tracing::info!(db = %db.display(), "data kept in SQLite"),
        None => tracing::info!("data kept in memory (gone on exit)"),
    }
    let limits = listener::ConnLimits {
        max_connections: options.max_connections,
        header_timeout: options.header_timeout,
        idle_timeout: options.idle_timeout,
        head: conn_io::HeadLimits {
            max_uri_length: options.max_uri_length,
            max_header_bytes: options.max_header_bytes,
            keep: options.head_buffer(),
        },
    };
    let shared = listener::ConnShared { tls, metrics };
    listener::serve(listener, app, limits, shared, shutdown).await;
    Ok(())
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

    /// `max_values` reaches the engine: a user with more emails than it allows is refused.
    #[test]
    fn max_values_from_the_options_bounds_a_multi_valued_attribute() {
        let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
        for (max, status) in [(2, 400), (3, 201)] {
            let mut options = ServeOptions::new();
            options.max_values = max;
            let engine = engine("http://localhost/scim/v2", &options).unwrap();
            let emails: Vec<_> = (0..3)
                .map(|i| json!({"value": format!("u{i}@example.com")}))
                .collect();
            let created = block_on(engine.handle(
                &ctx,
                Request::new(Method::Post, "/Users").with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "u", "emails": emails})),
            ));
            assert_eq!(created.status, status, "{}", created.body_json());
        }
    }

    /// A PATCH that makes a second email primary: under `"primary_rule": "keep_existing"`
    /// (Gluu) the existing primary stays; under the default (the RFC's reading) it moves.
    #[test]
    fn primary_rule_from_the_config_file_decides_which_email_stays_primary() {
        let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
        for (config, idp_profiles, primary) in [
            (
                r#"{"db": ":memory:", "primary_rule": "keep_existing"}"#,
                true,
                "a@x.org",
            ),
            (
                r#"{"db": ":memory:", "primary_rule": "keep_existing"}"#,
                false,
                "a@x.org",
            ),
            (r#"{"db": ":memory:"}"#, true, "b@x.org"),
            (r#"{"db": ":memory:"}"#, false, "b@x.org"),
        ] {
            let path = std::env::temp_dir().join(format!(
                "scim-serve-primary-{}-{}-{idp_profiles}.json",
                std::process::id(),
                config.len()
            ));
            std::fs::write(&path, config).unwrap();
            let mut options = ServeOptions::new().load(&path).unwrap();
            let _ = std::fs::remove_file(&path);
            options.idp_profiles = idp_profiles;
            let engine = engine("http://localhost/scim/v2", &options).unwrap();
            let created = block_on(engine.handle(
                &ctx,
                Request::new(Method::Post, "/Users").with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "bjensen",
                    "emails": [{"value": "a@x.org", "primary": true},
                               {"value": "b@x.org"}]})),
            ));
            assert_eq!(created.status, 201, "{config}");
            let id = created.body_json()["id"].as_str().unwrap().to_owned();
            let patched = block_on(engine.handle(
                &ctx,
                Request::new(Method::Patch, format!("/Users/{id}")).with_json(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace",
                                    "path": "emails[value eq \"b@x.org\"].primary",
                                    "value": true}]})),
            ));
            assert_eq!(patched.status, 200, "{config}");
            let body = patched.body_json();
            let primaries: Vec<&str> = body["emails"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["primary"] == json!(true))
                .map(|e| e["value"].as_str().unwrap())
                .collect();
            assert_eq!(primaries, [primary], "{config} idp_profiles={idp_profiles}");
        }
    }
}
