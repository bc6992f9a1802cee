//! # scim-schema
//!
//! The schema model of SCIM 2.0 (RFC 7643) that every other part consults:
//!
//! - [`Attribute`] with every characteristic of RFC 7643 §7, [`Schema`], [`ResourceType`],
//!   serialised exactly in the RFC's JSON form;
//! - the [built-in](builtin) User, Group, Enterprise User, ServiceProviderConfig,
//!   ResourceType and Schema schemas, and the [Gluu](gluu) extension and FIDO resources;
//! - a [`Registry`] built once and shared, with case-insensitive and URN-qualified lookup,
//!   implementing `scim_filter::AttrSchema` so filters compile against real characteristics;
//! - validation per operation ([`ResourceTypeRef::validate_create`],
//!   [`validate_replace`](ResourceTypeRef::validate_replace),
//!   [`validate_value`](ResourceTypeRef::validate_value) and
//!   [`check_resource`](ResourceTypeRef::check_resource) for PATCH) with [`Leniency`]
//!   options for real clients;
//! - [`Projection`] of `attributes` / `excludedAttributes` honouring `returned`.
//!
//! ```
//! use scim_schema::{Projection, Registry, ValidationOptions};
//! use serde_json::json;
//!
//! let registry = Registry::standard();
//! let users = registry.resource_type("User").unwrap();
//! let created = users.validate_create(json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen", "password": "t1meMa$heen", "name": {"givenName": "Barbara"}
//! }), &ValidationOptions::default())?;
//!
//! let projection = Projection::parse(&users, Some("userName,name.givenName"), None)?;
//! let shown = projection.apply(&created.resource);
//! assert_eq!(shown["name"], json!({"givenName": "Barbara"}));
//! assert!(shown.get("password").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! No I/O, no runtime; builds for `wasm32-unknown-unknown`.

mod attribute;
pub mod builtin;
mod characteristics;
pub mod gluu;
mod projection;
mod registry;
mod resource_type;
mod schema;
mod validate;

pub use attribute::Attribute;
pub use builtin::urn;
pub use characteristics::{AttrType, Mutability, Returned, Uniqueness};
pub use projection::{Projection, ProjectionError};
pub use registry::{BuildError, Location, Registry, RegistryBuilder, Resolved, ResourceTypeRef};
pub use resource_type::{ResourceType, SchemaExtension};
pub use schema::Schema;
pub use validate::{
    check_distinct_names, Coercion, CoercionKind, Issue, IssueKind, Leniency, UnknownAttributes,
    Validated, ValidationError, ValidationOptions,
};
