//! Ready-made definitions from the Gluu Server SCIM service that a host can opt into: the
//! user extension for custom attributes and the FIDO device resource types.
//!
//! ```
//! use scim_schema::gluu::{self, CustomAttribute, GluuType};
//! use scim_schema::{builtin, Registry};
//!
//! let registry = Registry::builder()
//!     .schema(builtin::user())
//!     .schema(builtin::enterprise_user())
//!     .schema(gluu::user_extension(&[
//!         CustomAttribute::new("customAttr1", GluuType::String),
//!         CustomAttribute::new("customAttr2", GluuType::Date).multi_valued(),
//!         CustomAttribute::new("customAttr3", GluuType::Numeric),
//!     ]))
//!     .resource_type(builtin::user_resource_type().with_extension(scim_schema::urn::GLUU_USER, false))
//!     .build()?;
//! assert!(registry.schema(scim_schema::urn::GLUU_USER).is_some());
//! # Ok::<(), scim_schema::BuildError>(())
//! ```

use crate::builtin::urn;
use crate::{AttrType, Attribute, ResourceType, Schema};

/// The data types Gluu supports for custom attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GluuType {
    /// `string`.
    String,
    /// `numeric`: a number, integer or decimal (SCIM `decimal`, which accepts both).
    Numeric,
    /// `boolean`.
    Boolean,
    /// `date`: SCIM `dateTime`.
    Date,
}

impl GluuType {
    fn scim_type(self) -> AttrType {
        match self {
            GluuType::String => AttrType::String,
            GluuType::Numeric => AttrType::Decimal,
            GluuType::Boolean => AttrType::Boolean,
            GluuType::Date => AttrType::DateTime,
        }
    }
}

/// One custom attribute of the Gluu user extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomAttribute {
    /// The attribute name (Gluu uses the LDAP attribute name).
    pub name: String,
    /// The Gluu data type.
    pub kind: GluuType,
    /// Whether it holds several values.
    pub multi_valued: bool,
}

impl CustomAttribute {
    /// A single-valued custom attribute.
    pub fn new(name: impl Into<String>, kind: GluuType) -> Self {
        CustomAttribute {
            name: name.into(),
            kind,
            multi_valued: false,
        }
    }

    /// Makes it multi-valued.
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }
}

/// The Gluu user extension `urn:ietf:params:scim:schemas:extension:gluu:2.0:User` with the
/// given custom attributes.
///
/// ```
/// use scim_schema::gluu::{user_extension, CustomAttribute, GluuType};
/// let ext = user_extension(&[CustomAttribute::new("customAttr3", GluuType::Numeric)]);
/// assert_eq!(ext.attribute("customAttr3").unwrap().attr_type, scim_schema::AttrType::Decimal);
/// ```
pub fn user_extension(attributes: &[CustomAttribute]) -> Schema {
    user_extension_with_urn(urn::GLUU_USER, attributes)
}

/// The Gluu user extension under another URN (Gluu lets administrators change it).
pub fn user_extension_with_urn(id: &str, attributes: &[CustomAttribute]) -> Schema {
    let mut schema =
        Schema::new(id, "GluuUserCustomExtension").with_description("Gluu user custom extension");
    for a in attributes {
        schema = schema.with_attribute(
            Attribute::new(a.name.clone(), a.kind.scim_type()).multi_valued(a.multi_valued),
        );
    }
    schema
}

/// A registry builder with everything a Gluu-compatible service serves: User (with the
/// Enterprise User and Gluu extensions), Group, FidoDevice and Fido2Device.
///
/// ```
/// let registry = scim_schema::gluu::registry_builder(scim_schema::gluu::example_user_extension())
///     .build()?;
/// assert_eq!(registry.resource_types().count(), 4);
/// let users = registry.resource_type("User").unwrap();
/// assert!(users.extension(scim_schema::urn::GLUU_USER).is_some());
/// # Ok::<(), scim_schema::BuildError>(())
/// ```
pub fn registry_builder(user_extension: Schema) -> crate::RegistryBuilder {
    let ext_id = user_extension.id.clone();
    crate::Registry::builder()
        .schema(crate::builtin::user())
        .schema(crate::builtin::enterprise_user())
        .schema(user_extension)
        .schema(crate::builtin::group())
        .schema(fido_device())
        .schema(fido2_device())
        .resource_type(crate::builtin::user_resource_type().with_extension(ext_id, false))
        .resource_type(crate::builtin::group_resource_type())
        .resource_type(fido_device_resource_type())
        .resource_type(fido2_device_resource_type())
}

/// The extension as the Gluu 4.5 guide's example has it: `customAttr1` (string),
/// `customAttr2` (multi-valued date), `customAttr3` (numeric).
pub fn example_user_extension() -> Schema {
    user_extension(&[
        CustomAttribute::new("customAttr1", GluuType::String),
        CustomAttribute::new("customAttr2", GluuType::Date).multi_valued(),
        CustomAttribute::new("customAttr3", GluuType::Numeric),
    ])
}

#[allow(clippy::expect_used)] // built-in data, parsed by the tests
fn parse(json: &str) -> Schema {
    serde_json::from_str(json).expect("built-in schema JSON is valid")
}

/// Gluu's FIDO U2F device schema `urn:ietf:params:scim:schemas:core:2.0:FidoDevice`: read-only
/// but for `displayName` and `description`.
pub fn fido_device() -> Schema {
    parse(include_str!("builtin/fido_device.json"))
}

/// Gluu's FIDO 2 device schema `urn:ietf:params:scim:schemas:core:2.0:Fido2Device`:
/// read-only but for `displayName` and `status`.
pub fn fido2_device() -> Schema {
    parse(include_str!("builtin/fido2_device.json"))
}

/// The FidoDevice resource type, endpoint `/FidoDevices`.
pub fn fido_device_resource_type() -> ResourceType {
    ResourceType::new("FidoDevice", "/FidoDevices", urn::FIDO_DEVICE)
        .with_description("Fido devices")
}

/// The Fido2Device resource type, endpoint `/Fido2Devices`.
pub fn fido2_device_resource_type() -> ResourceType {
    ResourceType::new("Fido2Device", "/Fido2Devices", urn::FIDO2_DEVICE)
        .with_description("Fido 2.0 devices")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mutability;

    #[test]
    fn fido_editable_attributes() {
        let editable = |s: &Schema| -> Vec<String> {
            let mut v: Vec<String> = s
                .attributes
                .iter()
                .filter(|a| a.mutability != Mutability::ReadOnly)
                .map(|a| a.name.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(editable(&fido_device()), ["description", "displayName"]);
        assert_eq!(editable(&fido2_device()), ["displayName", "status"]);
        assert!(fido_device().attribute("deviceData").is_some());
        assert!(fido_device().attribute("userId").is_some());
    }
}
