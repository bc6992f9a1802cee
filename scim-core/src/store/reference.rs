//! What a store answers when asked who refers to a resource: the read-time `groups` of a
//! user (RFC 7643 §4.1.2) come from these.

use serde_json::Value;

/// One reference to a resource: the referring resource (e.g. a group) lists `target` among
/// the elements of its [`Referrer::attribute`](crate::Referrer::attribute).
///
/// ```
/// let r = scim_core::Reference::new("g1", "u1", Some(serde_json::json!("Admins")));
/// assert_eq!((r.referrer.as_str(), r.target.as_str()), ("g1", "u1"));
/// assert_eq!(r.display, Some(serde_json::json!("Admins")));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reference {
    /// The id of the referring resource (the group).
    pub referrer: String,
    /// The id it refers to (the member), as asked for.
    pub target: String,
    /// The referring resource's `displayName`, if it has one.
    pub display: Option<Value>,
}

impl Reference {
    /// `referrer` refers to `target`; `display` is the referrer's `displayName`.
    pub fn new(
        referrer: impl Into<String>,
        target: impl Into<String>,
        display: Option<Value>,
    ) -> Self {
        Reference {
            referrer: referrer.into(),
            target: target.into(),
            display,
        }
    }
}

/// What [`Store::get_with_references`](crate::Store::get_with_references) answers for a
/// resource found: the resource, and the references to it (`None` when the store has no
/// index for them).
pub type WithReferences = (crate::StoredResource, Option<Vec<Reference>>);
