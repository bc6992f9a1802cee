//! Examples of embedding the SCIM engine (nothing to link against here; see the
//! `examples` of this package):
//!
//! - `axum_embed.rs`: SCIM mounted under `/scim/v2` of an existing axum app, with the app's
//!   own authentication deciding tenant and scopes (`cargo run -p scim-examples --example
//!   axum_embed`).
//! - `hashmap_store.rs`: a [`Store`](https://docs.rs/scim-core) over a host's own data — a
//!   `HashMap` — that passes the store test kit (`cargo test -p scim-examples --example
//!   hashmap_store`).
