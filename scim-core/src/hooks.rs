//! Host callbacks around each operation — what Gluu calls custom scripts. A `before_*` hook
//! may amend the input or reject the operation with its own SCIM error; an `after_*` hook
//! may amend the resource the response shows.

use scim_patch::PatchRequest;
use serde_json::Value;

use crate::{RequestContext, ScimError};

/// Callbacks before and after create, replace, patch, delete and query. Every method has a
/// default that does nothing.
///
/// ```
/// use scim_core::{Hooks, RequestContext, ScimError, ScimType};
/// use serde_json::Value;
///
/// /// Refuses users from one domain and stamps a department on the rest.
/// struct Policy;
/// impl Hooks for Policy {
///     fn before_create(&self, _: &RequestContext, resource_type: &str, resource: &mut Value) -> Result<(), ScimError> {
///         if resource_type == "User" {
///             if resource["userName"].as_str().is_some_and(|u| u.ends_with("@blocked.example")) {
///                 return Err(ScimError::bad_request(ScimType::InvalidValue, "this domain may not be provisioned"));
///             }
///             resource["title"] = "Provisioned".into();
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Hooks: Send + Sync {
    /// Before a resource is created; `resource` is the validated body.
    fn before_create(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        resource: &mut Value,
    ) -> Result<(), ScimError> {
        let _ = (ctx, resource_type, resource);
        Ok(())
    }

    /// Before a resource is replaced; `resource` is the validated replacement.
    fn before_replace(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        resource: &mut Value,
    ) -> Result<(), ScimError> {
        let _ = (ctx, resource_type, id, resource);
        Ok(())
    }

    /// Before a PATCH is applied.
    fn before_patch(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        request: &PatchRequest,
    ) -> Result<(), ScimError> {
        let _ = (ctx, resource_type, id, request);
        Ok(())
    }

    /// Before a resource is deleted.
    fn before_delete(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> Result<(), ScimError> {
        let _ = (ctx, resource_type, id);
        Ok(())
    }

    /// Before a list or search runs; the filter text may be amended (e.g. narrowed).
    fn before_query(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        filter: &mut Option<String>,
    ) -> Result<(), ScimError> {
        let _ = (ctx, resource_type, filter);
        Ok(())
    }

    /// After a write or a read: the resource as the response will show it.
    fn after(&self, ctx: &RequestContext, resource_type: &str, resource: &mut Value) {
        let _ = (ctx, resource_type, resource);
    }

    /// Whether [`Hooks::after`] may change a resource. `true` unless said otherwise; a host
    /// whose `after` never changes anything answers `false`, and the engine may then write
    /// a response straight from the text a store keeps, never building the resource.
    fn alters_responses(&self) -> bool {
        true
    }
}

/// The hooks of an engine without any: every method is the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {
    fn alters_responses(&self) -> bool {
        false
    }
}
