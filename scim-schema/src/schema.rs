//! A schema: an id (URN) and its attributes (RFC 7643 §7).

use serde::{Deserialize, Serialize};

use crate::attribute::find;
use crate::Attribute;

/// A SCIM schema (RFC 7643 §7), in the JSON representation `/Schemas` serves.
///
/// ```
/// let user = scim_schema::builtin::user();
/// assert_eq!(user.id, scim_schema::urn::USER);
/// assert!(user.attribute("USERNAME").is_some_and(|a| a.required));
///
/// let json = serde_json::to_string(&user).unwrap();
/// let back: scim_schema::Schema = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, user);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Schema {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// Human-readable name, e.g. `User`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The top-level attributes.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A schema with no attributes yet.
    ///
    /// ```
    /// let s = scim_schema::Schema::new("urn:example:schemas:Badge", "Badge");
    /// assert!(s.attributes.is_empty());
    /// ```
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Schema {
            id: id.into(),
            name: Some(name.into()),
            description: None,
            attributes: Vec::new(),
        }
    }

    /// This schema with one more attribute.
    ///
    /// ```
    /// use scim_schema::{AttrType, Attribute, Schema};
    /// let s = Schema::new("urn:example:schemas:Badge", "Badge")
    ///     .with_attribute(Attribute::new("serial", AttrType::String).required(true));
    /// assert!(s.attribute("serial").is_some());
    /// ```
    pub fn with_attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Parses the RFC JSON representation (extra keys such as `schemas` and `meta` are
    /// ignored).
    ///
    /// ```
    /// let s = scim_schema::Schema::from_json(r#"{"id": "urn:x:y", "attributes": [{"name": "a"}]}"#).unwrap();
    /// assert_eq!(s.attributes[0].attr_type, scim_schema::AttrType::String);
    /// ```
    pub fn from_json(json: &str) -> Result<Schema, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The top-level attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.attributes, name)
    }
}
