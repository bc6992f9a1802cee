//! Resource types (RFC 7643 §6): a name, an endpoint, a core schema and extensions.

use serde::{Deserialize, Serialize};

/// A resource type (RFC 7643 §6), in the JSON representation `/ResourceTypes` serves.
///
/// ```
/// use scim_schema::{ResourceType, urn};
/// let rt = ResourceType::new("User", "/Users", urn::USER).with_extension(urn::ENTERPRISE_USER, false);
/// let json = serde_json::to_value(&rt).unwrap();
/// assert_eq!(json["schemaExtensions"][0]["schema"], urn::ENTERPRISE_USER);
/// assert_eq!(json["schemaExtensions"][0]["required"], false);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceType {
    /// The resource type's id; RFC 7643 §6 makes it optional, by convention the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name, e.g. `User`.
    pub name: String,
    /// The endpoint relative to the base URL, e.g. `/Users`.
    pub endpoint: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The core schema URN.
    pub schema: String,
    /// Extension schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
}

/// An extension schema of a resource type (RFC 7643 §6 `schemaExtensions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaExtension {
    /// The extension schema URN.
    pub schema: String,
    /// Whether every resource of this type must carry the extension.
    pub required: bool,
}

impl ResourceType {
    /// A resource type without extensions; its id is its name.
    pub fn new(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        schema: impl Into<String>,
    ) -> Self {
        let name = name.into();
        ResourceType {
            id: Some(name.clone()),
            name,
            endpoint: endpoint.into(),
            description: None,
            schema: schema.into(),
            schema_extensions: Vec::new(),
        }
    }

    /// This resource type with one more extension schema.
    pub fn with_extension(mut self, schema: impl Into<String>, required: bool) -> Self {
        self.schema_extensions.push(SchemaExtension {
            schema: schema.into(),
            required,
        });
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}
