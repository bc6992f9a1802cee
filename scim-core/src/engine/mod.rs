//! The protocol engine: routes a [`Request`] to the endpoint of RFC 7644 §3 it names.

mod bulk;
mod discovery;
mod groups;
mod list;
mod never_read;
mod out_of_line;
mod read_hint;
mod read_time;
mod resources;
mod sealing;
mod text_patch;
mod text_response;
mod user_groups;
mod value_counts;

pub use groups::OVERHEAD_BYPASS;

use std::sync::Arc;

use scim_schema::{Registry, ResourceTypeRef};

use crate::hooks::{Hooks, NoHooks};

use crate::{Config, Method, Request, RequestContext, Response, ScimError, ScimType, Store};

/// The SCIM engine: a registry of resource types, a store, a configuration.
///
/// ```
/// use scim_core::{Config, Engine, MemoryStore, Method, Request, RequestContext};
/// use serde_json::json;
///
/// let engine = Engine::new(scim_schema::Registry::standard(), MemoryStore::new(),
///     Config::new("https://example.com/scim/v2"));
/// let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
/// let created = scim_core::block_on(engine.handle(&ctx, Request::new(Method::Post, "/Users")
///     .with_json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}))));
/// assert_eq!(created.status, 201);
/// assert!(created.header("Location").unwrap().starts_with("https://example.com/scim/v2/Users/"));
/// ```
pub struct Engine<S> {
    registry: Registry,
    store: S,
    config: Config,
    hooks: Arc<dyn Hooks>,
}

type Result<T> = std::result::Result<T, ScimError>;

impl<S: std::fmt::Debug> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("registry", &self.registry)
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Engine<S> {
    /// An engine over `store` serving the resource types of `registry`.
    pub fn new(registry: Registry, store: S, config: Config) -> Self {
        Engine {
            registry,
            store,
            config,
            hooks: Arc::new(NoHooks),
        }
    }

    /// This engine with host callbacks around each operation.
    pub fn with_hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one request. Every failure becomes a SCIM error response; nothing panics.
    pub async fn handle(&self, ctx: &RequestContext, request: Request) -> Response {
        match self.route(ctx, &request).await {
            Ok(response) => response,
            Err(e) => e.into(),
        }
    }

    async fn route(&self, ctx: &RequestContext, req: &Request) -> Result<Response> {
        if req.body.len() > self.config.max_payload {
            return Err(ScimError::payload_too_large(format!(
                "the request body is {} bytes; the limit is {}",
                req.body.len(),
                self.config.max_payload
            )));
        }
        let path = req.path.trim_matches('/');
        // At most three segments are told apart (a path of more answers as one of three
        // does: `/Me/…` or no endpoint): no vector per request.
        let mut first = [""; 3];
        let mut count = 0;
        if !path.is_empty() {
            for (slot, segment) in first.iter_mut().zip(path.split('/')) {
                *slot = segment;
                count += 1;
            }
        }
        match &first[..count] {
            ["ServiceProviderConfig"] => self.only_get(req, || Ok(self.service_provider_config())),
            ["Schemas"] => self.only_get(req, || Ok(self.schemas(None))),
            ["Schemas", urn] => self.only_get(req, || self.schema(urn)),
            ["ResourceTypes"] => self.only_get(req, || Ok(self.resource_types(None))),
            ["ResourceTypes", name] => self.only_get(req, || self.resource_type_doc(name)),
            [".search"] => match req.method {
                Method::Post => self.search_all(ctx, req).await,
                _ => Err(ScimError::method_not_allowed("use POST for /.search")),
            },
            ["Bulk"] => match req.method {
                Method::Post => self.bulk(ctx, req).await,
                _ => Err(ScimError::method_not_allowed("use POST for /Bulk")),
            },
            ["Me", rest @ ..] => {
                let Some(subject) = &ctx.subject else {
                    return Err(ScimError::new(
                        501,
                        None,
                        "/Me is not available: the caller is not a known resource",
                    ));
                };
                let users = self.resource_type_at("Users")?;
                match rest {
                    [] => self.by_id(ctx, &users, subject, req).await,
                    _ => Err(ScimError::not_found(format!("no endpoint {}", req.path))),
                }
            }
            [endpoint] => {
                let rt = self.resource_type_at(endpoint)?;
                match req.method {
                    Method::Get => self.list(ctx, &rt, req).await,
                    Method::Post => self.create(ctx, &rt, req).await,
                    _ => Err(ScimError::method_not_allowed(format!(
                        "{endpoint} accepts GET and POST"
                    ))),
                }
            }
            [endpoint, ".search"] => {
                let rt = self.resource_type_at(endpoint)?;
                match req.method {
                    Method::Post => self.search(ctx, &rt, req).await,
                    _ => Err(ScimError::method_not_allowed("use POST for .search")),
                }
            }
            [endpoint, id] => {
                let rt = self.resource_type_at(endpoint)?;
                self.by_id(ctx, &rt, id, req).await
            }
            _ => Err(ScimError::not_found(format!("no endpoint {}", req.path))),
        }
    }

    async fn by_id(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
        req: &Request,
    ) -> Result<Response> {
        match req.method {
            Method::Get => self.get(ctx, rt, id, req).await,
            Method::Put => self.replace(ctx, rt, id, req).await,
            Method::Patch => self.patch(ctx, rt, id, req).await,
            Method::Delete => self.delete(ctx, rt, id, req).await,
            _ => Err(ScimError::method_not_allowed(
                "a resource accepts GET, PUT, PATCH and DELETE",
            )),
        }
    }

    fn only_get(&self, req: &Request, f: impl FnOnce() -> Result<Response>) -> Result<Response> {
        match req.method {
            Method::Get => f(),
            _ => Err(ScimError::method_not_allowed(format!(
                "{} is read-only: use GET",
                req.path
            ))),
        }
    }

    fn resource_type_at(&self, endpoint: &str) -> Result<ResourceTypeRef<'_>> {
        self.registry
            .resource_type_by_endpoint(endpoint)
            .ok_or_else(|| ScimError::not_found(format!("no endpoint /{endpoint}")))
    }

    fn require(&self, ctx: &RequestContext, scope: &str) -> Result<()> {
        if ctx.scopes.allows(scope) {
            Ok(())
        } else {
            Err(ScimError::forbidden(format!(
                "this operation needs the scope {scope}"
            )))
        }
    }

    fn require_type(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        write: bool,
    ) -> Result<()> {
        // Every scope is granted: no scope name to build.
        if matches!(ctx.scopes, crate::Scopes::All) {
            return Ok(());
        }
        self.require(
            ctx,
            &self.config.scopes.scope_for(&rt.definition().name, write),
        )
    }
}

fn json_body(req: &Request) -> Result<serde_json::Value> {
    serde_json::from_slice(&req.body).map_err(|e| {
        ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("the request body is not valid JSON: {e}"),
        )
    })
}
