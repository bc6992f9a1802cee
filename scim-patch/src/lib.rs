//! # scim-patch
//!
//! SCIM 2.0 PATCH (RFC 7644 §3.5.2): the PatchOp message and an applier that is
//!
//! - **atomic**: on any error the resource is exactly as before — changes are journaled
//!   and undone, so no copy of a 100,000-member group is made;
//! - **schema-aware**: paths resolve against `scim-schema` (extension URNs are never split
//!   on the dot of "2.0"), values are type-checked, readOnly/immutable/required enforced
//!   (immutable sub-attributes too), `schemas` kept listing exactly the extensions that
//!   gained or lost data, a value naming an attribute twice by case refused;
//! - **single-primary**: at most one `primary: true` per multi-valued attribute after a
//!   request ([`PrimaryRule`]);
//! - **informative**: [`PatchOutcome`] says whether anything changed and gives a
//!   [`Delta`] (members added/removed);
//! - **fluent in what IdPs send**, behind [`Profile`] options (Entra ID, Okta), each use
//!   reported as a [`Normalization`].
//!
//! ```
//! use scim_patch::{Patcher, PatchOptions, PatchRequest};
//! use serde_json::json;
//!
//! let registry = scim_schema::Registry::standard();
//! let groups = registry.resource_type("Group").unwrap();
//! let patcher = Patcher::new(groups, PatchOptions::entra_id());
//! let mut group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g",
//!     "displayName": "Admins", "members": [{"value": "u1"}, {"value": "u2"}]});
//! // Entra ID removes members with a value list (and capitalises `op`).
//! let request = PatchRequest::from_json(&json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]
//! }), patcher.options())?;
//! let outcome = patcher.apply(&mut group, &request)?;
//! assert_eq!(group["members"], json!([{"value": "u2"}]));
//! assert_eq!(outcome.delta.get("members").unwrap().removed, vec![json!({"value": "u1"})]);
//! # Ok::<(), scim_patch::PatchError>(())
//! ```

mod apply;
mod error;
mod journal;
mod keys;
mod message;
mod options;
mod outcome;
mod select;
mod split;

pub use apply::Patcher;
pub use error::{PatchError, PatchErrorKind};
pub use message::{OpKind, PatchOperation, PatchRequest, PATCH_OP};
pub use options::{PatchOptions, PrimaryRule, Profile};
pub use outcome::{
    AttributeChange, ChangeKind, Delta, Normalization, NormalizationKind, PatchOutcome,
};
pub use split::SplitPatch;
