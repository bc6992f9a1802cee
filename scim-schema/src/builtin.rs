//! The schemas RFC 7643 defines (§4, §5, §6, §7, §8.7), ready to register, and the common
//! attributes every resource has (§3.1).
//!
//! The definitions live as RFC JSON in `src/builtin/*.json` (see `SOURCES.md` there).

use crate::{AttrType, Attribute, Mutability, ResourceType, Returned, Schema, Uniqueness};

/// Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3.1).
pub mod urn {
    /// The core User schema.
    pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    /// The core Group schema.
    pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    /// The Enterprise User extension.
    pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    /// The ServiceProviderConfig schema.
    pub const SERVICE_PROVIDER_CONFIG: &str =
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
    /// The ResourceType schema.
    pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
    /// The Schema schema.
    pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
    /// Gluu's user extension for custom attributes.
    pub const GLUU_USER: &str = "urn:ietf:params:scim:schemas:extension:gluu:2.0:User";
    /// Gluu's FIDO U2F device resource.
    pub const FIDO_DEVICE: &str = "urn:ietf:params:scim:schemas:core:2.0:FidoDevice";
    /// Gluu's FIDO 2 device resource.
    pub const FIDO2_DEVICE: &str = "urn:ietf:params:scim:schemas:core:2.0:Fido2Device";
}

#[allow(clippy::expect_used)] // built-in data, parsed by the tests below
fn parse(json: &str) -> Schema {
    serde_json::from_str(json).expect("built-in schema JSON is valid")
}

/// `urn:ietf:params:scim:schemas:core:2.0:User` (RFC 7643 §4.1, §8.7.1).
pub fn user() -> Schema {
    parse(include_str!("builtin/user.json"))
}

/// `urn:ietf:params:scim:schemas:core:2.0:Group` (RFC 7643 §4.2, §8.7.1).
pub fn group() -> Schema {
    parse(include_str!("builtin/group.json"))
}

/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` (RFC 7643 §4.3, §8.7.1).
pub fn enterprise_user() -> Schema {
    parse(include_str!("builtin/enterprise_user.json"))
}

/// `urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig` (RFC 7643 §5, §8.7.2).
pub fn service_provider_config() -> Schema {
    parse(include_str!("builtin/service_provider_config.json"))
}

/// `urn:ietf:params:scim:schemas:core:2.0:ResourceType` (RFC 7643 §6, §8.7.2).
pub fn resource_type() -> Schema {
    parse(include_str!("builtin/resource_type.json"))
}

/// `urn:ietf:params:scim:schemas:core:2.0:Schema` (RFC 7643 §7, §8.7.2).
pub fn schema() -> Schema {
    parse(include_str!("builtin/schema.json"))
}

/// The User resource type with the Enterprise User extension (optional).
///
/// ```
/// let rt = scim_schema::builtin::user_resource_type();
/// assert_eq!(rt.endpoint, "/Users");
/// assert_eq!(rt.schema_extensions.len(), 1);
/// ```
pub fn user_resource_type() -> ResourceType {
    ResourceType::new("User", "/Users", urn::USER)
        .with_description("User Account")
        .with_extension(urn::ENTERPRISE_USER, false)
}

/// The Group resource type.
pub fn group_resource_type() -> ResourceType {
    ResourceType::new("Group", "/Groups", urn::GROUP).with_description("Group")
}

/// The attributes every resource has, outside any schema (RFC 7643 §3.1): `id`,
/// `externalId` and `meta`.
///
/// ```
/// let common = scim_schema::builtin::common_attributes();
/// assert_eq!(common[0].name, "id");
/// assert_eq!(common[0].returned, scim_schema::Returned::Always);
/// ```
pub fn common_attributes() -> Vec<Attribute> {
    let meta_sub = |name: &str, t: AttrType| {
        Attribute::new(name, t)
            .mutability(Mutability::ReadOnly)
            .case_exact(true)
    };
    vec![
        Attribute::new("id", AttrType::String)
            .case_exact(true)
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server)
            .description("A unique identifier for a SCIM resource as defined by the service provider."),
        Attribute::new("externalId", AttrType::String)
            .case_exact(true)
            .description("A String that is an identifier for the resource as defined by the provisioning client."),
        Attribute::new("meta", AttrType::Complex)
            .mutability(Mutability::ReadOnly)
            .description("A complex attribute containing resource metadata.")
            .sub_attributes(vec![
                meta_sub("resourceType", AttrType::String),
                meta_sub("created", AttrType::DateTime),
                meta_sub("lastModified", AttrType::DateTime),
                meta_sub("location", AttrType::Reference).reference_types(["uri"]),
                meta_sub("version", AttrType::String),
            ]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(&'static str, &'static str)> {
        vec![
            ("user", include_str!("builtin/user.json")),
            ("group", include_str!("builtin/group.json")),
            (
                "enterprise_user",
                include_str!("builtin/enterprise_user.json"),
            ),
            (
                "service_provider_config",
                include_str!("builtin/service_provider_config.json"),
            ),
            ("resource_type", include_str!("builtin/resource_type.json")),
            ("schema", include_str!("builtin/schema.json")),
            ("fido_device", include_str!("builtin/fido_device.json")),
            ("fido2_device", include_str!("builtin/fido2_device.json")),
        ]
    }

    /// Every file parses, and serialising gives back the same JSON: the model covers the
    /// RFC representation exactly.
    #[test]
    fn builtin_json_round_trips() {
        for (name, text) in files() {
            let original: serde_json::Value =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let schema: Schema =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back = serde_json::to_value(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, original, "{name} does not round-trip");
        }
    }

    #[test]
    fn user_characteristics_match_rfc_7643() {
        let user = user();
        let user_name = user
            .attribute("userName")
            .unwrap_or_else(|| panic!("userName"));
        assert!(user_name.required);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        assert!(!user_name.case_exact);
        let password = user
            .attribute("password")
            .unwrap_or_else(|| panic!("password"));
        assert_eq!(password.mutability, Mutability::WriteOnly);
        assert_eq!(password.returned, Returned::Never);
        let groups = user.attribute("groups").unwrap_or_else(|| panic!("groups"));
        assert_eq!(groups.mutability, Mutability::ReadOnly);
        assert!(groups.multi_valued);
        let emails = user.attribute("emails").unwrap_or_else(|| panic!("emails"));
        assert!(emails.multi_valued);
        let email_type = emails
            .sub_attribute("type")
            .unwrap_or_else(|| panic!("type"));
        assert_eq!(email_type.canonical_values, ["work", "home", "other"]);
        assert!(emails
            .sub_attribute("primary")
            .is_some_and(|p| p.attr_type == AttrType::Boolean));
        let x509 = user
            .attribute("x509Certificates")
            .unwrap_or_else(|| panic!("x509"));
        assert!(x509
            .sub_attribute("value")
            .is_some_and(|v| v.attr_type == AttrType::Binary));
        for name in [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates",
        ] {
            assert!(user.attribute(name).is_some(), "User lacks {name}");
        }
        let members = group()
            .attribute("members")
            .cloned()
            .unwrap_or_else(|| panic!("members"));
        assert!(members.sub_attribute("$ref").is_some());
        assert!(members
            .sub_attribute("value")
            .is_some_and(|v| v.mutability == Mutability::Immutable));
        let manager = enterprise_user()
            .attribute("manager")
            .cloned()
            .unwrap_or_else(|| panic!("manager"));
        assert!(manager
            .sub_attribute("displayName")
            .is_some_and(|d| d.mutability == Mutability::ReadOnly));
    }
}
