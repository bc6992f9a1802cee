//! The SCIM 2.0 engine ([`scim_core::Engine`]) as a tower `Service`, so that any axum,
//! hyper or tower-based service mounts SCIM in one line —
//! `Router::nest_service("/scim/v2", ScimService::new(engine, auth))` in axum (the
//! workspace's `examples/axum_embed.rs` does it in an app with its own login).
//!
//! [`ScimService`] converts requests and responses, checks the head, asks an
//! [`Authenticate`] who is calling (tenant, scopes, subject), reads the body under its
//! [`Limits`] and answers every refusal with a SCIM error ([`Refusal`], the one place that
//! maps them to the wire). [`StaticTokens`] is the simplest [`Authenticate`]: bearer tokens
//! known in advance. `scim serve` is built on this crate.
//!
//! Runtime: the service runs on any executor; on a tokio runtime it also enforces the body
//! timeout (the runtime needs its timer) and lets a password-hashing write block its
//! worker in place (multi-threaded runtimes only).

mod auth;
mod body;
mod head;
#[cfg(feature = "jwt")]
mod jwt;
mod limits;
mod refusal;
mod service;

pub use auth::{bearer, bearer_of, Authenticate, Grant, StaticTokens, Unauthorized};
#[cfg(feature = "jwt")]
pub use jsonwebtoken::{jwk::JwkSet, Algorithm};
#[cfg(feature = "jwt")]
pub use jwt::{looks_like_jwt, JwtAuth, JwtConfig, KeySetError, Refresh};
pub use limits::Limits;
pub use refusal::Refusal;
pub use service::{Builder, ScimBody, ScimResponse, ScimService};
