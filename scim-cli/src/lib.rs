//! # scim-cli
//!
//! The runnable host of the SCIM engine — `scim serve`, a hyper/axum server on localhost over
//! `scim-core` and its stores — and the command-line tools `scim filter`,
//! `scim patch` and `scim validate`; and the client commands `scim get|list|create|replace|
//! patch|delete|bulk` ([`client_cmd`], over `scim-client`) for any SCIM server. The library
//! part exists so tests can start the server in-process on an ephemeral port.

pub mod auth;
pub mod client_cmd;
pub mod registry;
pub mod serve;
pub mod store;
pub mod tools;
