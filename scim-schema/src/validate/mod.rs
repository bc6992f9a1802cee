//! Validation of resources against their resource type, one entry point per operation:
//! [`validate_create`](ResourceTypeRef::validate_create) (POST),
//! [`validate_replace`](ResourceTypeRef::validate_replace) (PUT, against the current
//! resource), and for PATCH [`validate_value`](ResourceTypeRef::validate_value) (one
//! operation's value) and [`check_resource`](ResourceTypeRef::check_resource) (the result).

mod issue;
mod names;
mod values;
mod walk;

use serde_json::{Map, Value};

pub use issue::{Coercion, CoercionKind, Issue, IssueKind, ValidationError};
pub use names::check_distinct_names;

use crate::ResourceTypeRef;
use scim_filter::AttrPath;
use walk::{Mode, Walker};

/// What to do with attributes the schema does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownAttributes {
    /// Refuse with `invalidSyntax` (the default).
    #[default]
    Reject,
    /// Drop them, reporting a [`CoercionKind::DroppedUnknown`].
    Ignore,
}

/// Normalisations for clients that deviate from the RFC (Entra ID, Okta). Each is off by
/// default; each one applied is reported as a [`Coercion`].
///
/// ```
/// let l = scim_schema::Leniency::all();
/// assert!(l.string_booleans && l.bare_string_for_complex);
/// assert!(!scim_schema::Leniency::default().string_booleans);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Leniency {
    /// `"True"`, `"false"` (any case) accepted for booleans.
    pub string_booleans: bool,
    /// `"42"`, `"1.5"` accepted for integers and decimals.
    pub numeric_strings: bool,
    /// A single value accepted where an array is expected (wrapped).
    pub wrap_single_values: bool,
    /// A one-element array accepted for a single-valued attribute (unwrapped).
    pub unwrap_one_element_arrays: bool,
    /// A bare string accepted for a complex attribute with a `value` sub-attribute
    /// (Entra ID sends the enterprise `manager` as the manager's id).
    pub bare_string_for_complex: bool,
    /// A `schemas` entry that names no schema of the resource type is dropped instead of
    /// refused (Entra ID's tutorial lists a non-SCIM Microsoft URI on groups and a misspelt
    /// enterprise URN on users).
    pub unknown_schema_uris: bool,
    /// An attribute outside the schema whose value is `null` is dropped instead of refused:
    /// `null` means unassigned (RFC 7643 §2.5), so it asks for nothing (Entra ID sends
    /// `"department": null` unqualified at the top level).
    pub null_unknown_attributes: bool,
}

impl Leniency {
    /// Every normalisation on.
    pub const fn all() -> Self {
        Leniency {
            string_booleans: true,
            numeric_strings: true,
            wrap_single_values: true,
            unwrap_one_element_arrays: true,
            bare_string_for_complex: true,
            unknown_schema_uris: true,
            null_unknown_attributes: true,
        }
    }
}

/// Validation settings. The default is strict RFC 7643.
///
/// ```
/// use scim_schema::{Leniency, UnknownAttributes, ValidationOptions};
/// let lenient = ValidationOptions::default()
///     .unknown_attributes(UnknownAttributes::Ignore)
///     .leniency(Leniency::all());
/// assert_eq!(lenient.unknown, UnknownAttributes::Ignore);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ValidationOptions {
    /// Attributes outside the schema.
    pub unknown: UnknownAttributes,
    /// Refuse string values outside an attribute's `canonicalValues` (RFC 7643 calls them
    /// suggestions, so this is off by default).
    pub enforce_canonical_values: bool,
    /// Client deviations to accept.
    pub leniency: Leniency,
}

impl ValidationOptions {
    /// Sets the unknown-attribute policy.
    pub fn unknown_attributes(mut self, policy: UnknownAttributes) -> Self {
        self.unknown = policy;
        self
    }

    /// Sets canonical-value enforcement.
    pub fn enforce_canonical_values(mut self, yes: bool) -> Self {
        self.enforce_canonical_values = yes;
        self
    }

    /// Sets the leniency options.
    pub fn leniency(mut self, leniency: Leniency) -> Self {
        self.leniency = leniency;
        self
    }
}

/// A resource that passed validation, normalised: attribute names in their schema spelling,
/// readOnly input removed (or, for replace, taken from the current resource), coercions
/// applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The normalised resource.
    pub resource: Value,
    /// What leniency changed.
    pub coercions: Vec<Coercion>,
}

impl ResourceTypeRef<'_> {
    /// Validates a resource sent to be created (POST, RFC 7644 §3.3): readOnly attributes
    /// (`id`, `meta`, `groups`) are ignored, required attributes must be present.
    ///
    /// ```
    /// use scim_schema::{Registry, ValidationOptions};
    /// let registry = Registry::standard();
    /// let users = registry.resource_type("User").unwrap();
    /// let ok = users.validate_create(serde_json::json!({
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "id": "client-chosen", "USERNAME": "bjensen", "active": true
    /// }), &ValidationOptions::default())?;
    /// assert_eq!(ok.resource, serde_json::json!({
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "userName": "bjensen", "active": true
    /// }));
    /// # Ok::<(), scim_schema::ValidationError>(())
    /// ```
    pub fn validate_create(
        &self,
        mut input: Value,
        options: &ValidationOptions,
    ) -> Result<Validated, ValidationError> {
        let mut w = Walker::new(*self, options, Mode::Input);
        w.resource(&mut input);
        w.finish(input)
    }

    /// Validates a full replacement (PUT, RFC 7644 §3.5.1) of `current`: readOnly input is
    /// ignored and the current readOnly values kept; an immutable attribute that has a
    /// value must keep it (`mutability` otherwise) and keeps it when omitted.
    ///
    /// ```
    /// use scim_schema::{Registry, ValidationOptions};
    /// use serde_json::json;
    /// let registry = Registry::standard();
    /// let users = registry.resource_type("User").unwrap();
    /// let current = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "id": "1", "userName": "bjensen", "groups": [{"value": "g1"}]});
    /// let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "id": "other", "userName": "bjensen", "title": "Boss"});
    /// let ok = users.validate_replace(put, &current, &ValidationOptions::default())?;
    /// assert_eq!(ok.resource["id"], "1");
    /// assert_eq!(ok.resource["groups"][0]["value"], "g1");
    /// assert_eq!(ok.resource["title"], "Boss");
    /// # Ok::<(), scim_schema::ValidationError>(())
    /// ```
    pub fn validate_replace(
        &self,
        mut input: Value,
        current: &Value,
        options: &ValidationOptions,
    ) -> Result<Validated, ValidationError> {
        let mut w = Walker::new(*self, options, Mode::Input);
        if w.resource(&mut input) {
            if let Value::Object(cur) = current {
                w.carry_over(&mut input, cur);
            }
        }
        w.finish(input)
    }

    /// Validates the value a PATCH operation supplies for `path` (RFC 7644 §3.5.2): its
    /// type, multi-valuedness and sub-attributes. For a multi-valued `path`, `value` may be
    /// one element or an array of elements. Returns the normalised value.
    ///
    /// ```
    /// use scim_schema::{Registry, ValidationOptions};
    /// let registry = Registry::standard();
    /// let users = registry.resource_type("User").unwrap();
    /// let path = "emails".parse().unwrap();
    /// let v = users.validate_value(&path, serde_json::json!([{"value": "a@b.c", "TYPE": "work"}]),
    ///     &ValidationOptions::default())?;
    /// assert_eq!(v.resource[0]["type"], "work");
    /// assert!(users.validate_value(&"active".parse().unwrap(), serde_json::json!("yes"),
    ///     &ValidationOptions::default()).is_err());
    /// # Ok::<(), scim_schema::ValidationError>(())
    /// ```
    pub fn validate_value(
        &self,
        path: &AttrPath,
        mut value: Value,
        options: &ValidationOptions,
    ) -> Result<Validated, ValidationError> {
        let mut w = Walker::new(*self, options, Mode::Value);
        if !w.path_value(path, &mut value) {
            value = Value::Null;
        }
        w.finish(value)
    }

    /// Checks a whole stored or patched resource: types, required attributes, single
    /// primary; readOnly attributes are kept (they were set by the service).
    ///
    /// ```
    /// use scim_schema::{Registry, ValidationOptions};
    /// let registry = Registry::standard();
    /// let users = registry.resource_type("User").unwrap();
    /// let two_primaries = serde_json::json!({
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "x",
    ///     "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]});
    /// let err = users.check_resource(two_primaries, &ValidationOptions::default()).unwrap_err();
    /// assert_eq!(err.issues()[0].path, "emails");
    /// ```
    pub fn check_resource(
        &self,
        mut resource: Value,
        options: &ValidationOptions,
    ) -> Result<Validated, ValidationError> {
        let mut w = Walker::new(*self, options, Mode::Stored);
        w.resource(&mut resource);
        w.finish(resource)
    }
}

type Object = Map<String, Value>;
