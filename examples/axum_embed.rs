//! SCIM under `/scim/v2` of an existing axum app, which authenticates requests its own way.
use axum::{extract::Request, middleware::Next, response::Response, routing::get, Router};
use http::request::Parts;
use scim_core::{Config, Engine, MemoryStore, RequestContext, Scopes};
use scim_tower::{Authenticate, ScimService, Unauthorized};

/// What the app's own login left on the request (here: from an `X-Api-Key` header).
#[derive(Clone)]
struct AppUser(String);

async fn login(mut req: Request, next: Next) -> Response {
    let key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    if let Some(org) = key.and_then(|k| k.strip_prefix("key-")).map(str::to_owned) {
        req.extensions_mut().insert(AppUser(org));
    }
    next.run(req).await
}

/// SCIM runs in the caller's organisation: one tenant per organisation.
struct FromApp;

impl Authenticate for FromApp {
    async fn authenticate(&self, head: &Parts) -> Result<RequestContext, Unauthorized> {
        let AppUser(org) = head.extensions.get().ok_or(Unauthorized::Missing)?;
        let ctx = RequestContext::new(chrono::Utc::now()).tenant(org.clone());
        Ok(ctx.scopes(Scopes::All))
    }
}

/// The app: its own pages and login, and SCIM mounted under `/scim/v2`.
pub fn app(base: &str) -> Router {
    let registry = scim_schema::Registry::standard();
    let engine = Engine::new(registry, MemoryStore::new(), Config::new(base));
    Router::new()
        .route("/", get(|| async { "the app's own pages" }))
        .nest_service("/scim/v2", ScimService::new(engine, FromApp))
        .layer(axum::middleware::from_fn(login))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let base = "http://127.0.0.1:3000/scim/v2";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("try: curl -H 'X-Api-Key: key-acme' {base}/Users");
    axum::serve(listener, app(base)).await
}
