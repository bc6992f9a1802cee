//! # scim-core
//!
//! The SCIM 2.0 protocol engine (RFC 7644) a host embeds: plain-data [`Request`] in,
//! [`Response`] out, with the host's storage behind the [`Store`] trait. No I/O, no runtime,
//! no clock of its own: the host passes the time and the caller in a [`RequestContext`].
//!
//! ```
//! use scim_core::{block_on, Config, Engine, MemoryStore, Method, Request, RequestContext};
//! use serde_json::json;
//!
//! let engine = Engine::new(scim_schema::Registry::standard(), MemoryStore::new(),
//!     Config::new("https://example.com/scim/v2"));
//! let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
//! block_on(engine.handle(&ctx, Request::new(Method::Post, "/Users").with_json(&json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "password": "s3cret"}))));
//! let list = block_on(engine.handle(&ctx, Request::new(Method::Get, "/Users")
//!     .with_query("filter", r#"userName eq "BJENSEN""#)));
//! let body = list.body_json();
//! assert_eq!(body["totalResults"], 1);
//! assert!(body["Resources"][0].get("password").is_none());
//! ```

mod block_on;
mod config;
mod context;
mod engine;
mod error;
mod hooks;
#[cfg(feature = "http")]
mod http_conv;
mod message;
pub mod secret;
mod sort;
mod store;
#[cfg(feature = "test-kit")]
pub mod test_kit;

pub use block_on::block_on;
pub use config::{Config, ScopePolicy};
pub use context::{RequestContext, Scopes};
pub use engine::{Engine, OVERHEAD_BYPASS};
pub use error::{ScimError, ScimType, UnknownScimType, ERROR_URN};
pub use hooks::{Hooks, NoHooks};
pub use message::{Method, Request, Response, SCIM_JSON};
pub use store::{
    Cascade, Cascaded, ElementChange, ElementPatch, MemoryStore, Query, QueryResult, Reference,
    ReferenceCheck, Referrer, ResourceEdit, Sort, Store, StoreError, StoreSchema, StoredResource,
    StoredType, UniqueKey, WithReferences,
};
