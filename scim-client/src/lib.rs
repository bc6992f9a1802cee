//! # scim-client
//!
//! An async SCIM 2.0 client (RFC 7643, RFC 7644) that speaks the server side's vocabulary:
//! filters are [`scim_filter::Filter`]s, PATCH requests are [`scim_patch::PatchRequest`]s,
//! and [`Client::discover`] reads the server's schemas into a [`scim_schema::Registry`] —
//! so the client can check what it sends and what it gets back against the server's own
//! description, refuse a filter the server says it cannot run, and split a Bulk request to
//! the server's limits.
//!
//! - resources as `serde_json::Value` or any serde type, and typed [`User`] and [`Group`]
//!   with extensions by URN;
//! - create, get, list (GET) and search (POST `.search`), replace, patch, delete, Bulk,
//!   discovery, `/Me`; every page of a list as a [`Stream`](futures_core::Stream), by index
//!   or by RFC 9865 cursor;
//! - `If-Match` with the version read, and a typed 412 ([`Error::PreconditionFailed`]);
//! - headers per client and per request ([`RequestOptions`]);
//! - auth: a static [`Bearer`] token, OAuth 2.0 [`ClientCredentials`] (cached, refreshed
//!   before expiry, refreshed once after a 401), or any [`AuthHook`];
//! - timeouts, connection reuse, a concurrency limit, retries with backoff and jitter on
//!   429/503 honouring `Retry-After` ([`RetryPolicy`]); a response-size limit; never a panic
//!   on a hostile body.
//!
//! HTTP is reqwest over rustls with the `ring` provider and the webpki roots.
//!
//! ```
//! use futures_util::TryStreamExt;
//! use scim_client::{Client, ListQuery, RequestOptions, User};
//! use scim_filter::{AttrPath, CompValue, CompareOp, Filter};
//! use scim_patch::{PatchOptions, PatchRequest};
//!
//! # // A `scim serve` on a free loopback port for the example to talk to.
//! # let mut options = scim_cli::serve::ServeOptions::new();
//! # options.tokens.insert("s3cret", scim_core::Scopes::All);
//! # let rt = tokio::runtime::Runtime::new().unwrap();
//! # let listener = rt.block_on(async { scim_cli::serve::bind(([127, 0, 0, 1], 0).into(), 16) }).unwrap();
//! # let addr = listener.local_addr().unwrap();
//! # rt.spawn(async move { scim_cli::serve::run(listener, options, std::future::pending()).await });
//! # let url = format!("http://{addr}/scim/v2");
//! # rt.block_on(async {
//! let client = Client::builder(&url)?.bearer("s3cret").build()?;
//! let found = client.discover().await?; // the server's schemas, as a scim_schema::Registry
//! assert!(found.registry.resource_type("User").is_some());
//!
//! let bjensen: User = client.create("/Users", &User::new("bjensen")).await?;
//! let id = bjensen.id.clone().unwrap_or_default();
//!
//! // Filters are scim_filter's AST: values are quoted and escaped for you.
//! let filter = Filter::compare(AttrPath::new("userName"), CompareOp::Eq, CompValue::String("bjensen".into()));
//! let page = client.list::<User>("/Users", &ListQuery::new().filter(filter)).await?;
//! assert_eq!(page.total_results, 1);
//!
//! // PATCH with scim_patch's request, only if nobody changed the user since it was read.
//! let read = client.get_with::<User>("/Users", &id, &RequestOptions::new()).await?;
//! let patch = PatchRequest::from_json(&serde_json::json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "replace", "path": "displayName", "value": "Babs"}]
//! }), &PatchOptions::default()).map_err(|e| scim_client::Error::InvalidRequest(e.to_string()))?;
//! let opts = RequestOptions::new().if_match(read.version.unwrap_or_default());
//! let patched = client.patch::<User>("/Users", &id, &patch, &opts).await?;
//! assert_eq!(patched.and_then(|u| u.display_name).as_deref(), Some("Babs"));
//!
//! // Every page, as a stream.
//! let everyone: Vec<User> = client.list_all("/Users", ListQuery::new().count(50)).try_collect().await?;
//! assert_eq!(everyone.len(), 1);
//!
//! client.delete("/Users", &id, &RequestOptions::new()).await?;
//! assert!(client.reports().is_empty()); // everything received matched the server's schemas
//! # Ok::<(), scim_client::Error>(())
//! # }).unwrap();
//! ```

mod auth;
mod bulk;
mod client;
mod config;
mod discovery;
mod error;
mod model;
mod query;

pub use auth::{AuthHook, Bearer, BoxFuture, ClientAuthMethod, ClientCredentials};
pub use bulk::{BULK_REQUEST, BulkOperation, BulkOperationResult};
pub use client::{
    Client, ClientBuilder, Report, RequestOptions, SCIM_JSON, Versioned, patch_to_json,
};
pub use config::{ClientConfig, ResponseChecks, RetryPolicy};
pub use discovery::{Discovery, ServiceProviderConfig};
pub use error::{Error, ScimErrorBody};
pub use model::{Group, Member, Meta, MultiValue, Name, Resource, User};
pub use query::{LIST_RESPONSE, ListQuery, ListResponse, Paging, SEARCH_REQUEST, SortOrder};
pub use reqwest::Method;
