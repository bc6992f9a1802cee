//! Typed `User` and `Group` (RFC 7643 §4), with extensions kept by URN.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// A resource type the client knows the endpoint and core schema of.
///
/// ```
/// use scim_client::{Resource, User};
/// assert_eq!(User::ENDPOINT, "/Users");
/// ```
pub trait Resource: Serialize + DeserializeOwned + Send + 'static {
    /// The endpoint, e.g. `/Users`.
    const ENDPOINT: &'static str;
    /// The core schema URN.
    const SCHEMA: &'static str;
    /// The id the server assigned, if any.
    fn id(&self) -> Option<&str>;
    /// `meta.version`, if any.
    fn version(&self) -> Option<&str>;
}

/// `meta` (RFC 7643 §3.1).
///
/// ```
/// let m: scim_client::Meta = serde_json::from_value(serde_json::json!({"resourceType": "User", "version": "W/\"1\""})).unwrap();
/// assert_eq!(m.version.as_deref(), Some("W/\"1\""));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Meta {
    /// `resourceType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// `created`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `lastModified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// `location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `version` (an ETag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `name` (RFC 7643 §4.1.1).
///
/// ```
/// let n: scim_client::Name = serde_json::from_value(serde_json::json!({"givenName": "Barbara", "familyName": "Jensen"})).unwrap();
/// assert_eq!(n.given_name.as_deref(), Some("Barbara"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Name {
    /// `formatted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// `familyName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `givenName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `middleName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
}

/// One value of a multi-valued attribute such as `emails` (RFC 7643 §2.4).
///
/// ```
/// let e = scim_client::MultiValue::new("b@example.com").with_type("work");
/// assert_eq!(serde_json::to_value(&e).unwrap(), serde_json::json!({"value": "b@example.com", "type": "work"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MultiValue {
    /// `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `type`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `primary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// `display`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl MultiValue {
    /// A value of a type, e.g. a work email.
    ///
    /// ```
    /// let e = scim_client::MultiValue::new("b@example.com").with_type("work").primary();
    /// assert_eq!(e.primary, Some(true));
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        MultiValue {
            value: Some(value.into()),
            ..MultiValue::default()
        }
    }

    /// Sets `type`.
    ///
    /// ```
    /// assert_eq!(scim_client::MultiValue::new("x").with_type("home").kind.as_deref(), Some("home"));
    /// ```
    pub fn with_type(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets `primary: true`.
    ///
    /// ```
    /// assert_eq!(scim_client::MultiValue::new("x").primary().primary, Some(true));
    /// ```
    pub fn primary(mut self) -> Self {
        self.primary = Some(true);
        self
    }
}

/// A group member (RFC 7643 §4.2).
///
/// ```
/// let m: scim_client::Member = serde_json::from_value(serde_json::json!({"value": "1", "$ref": "https://x/Users/1", "type": "User"})).unwrap();
/// assert_eq!(m.reference.as_deref(), Some("https://x/Users/1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Member {
    /// The member's id.
    pub value: String,
    /// `$ref`.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `display`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `type` (`User` or `Group`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Member {
    /// A member by id.
    ///
    /// ```
    /// assert_eq!(scim_client::Member::new("2819c223").value, "2819c223");
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Member {
            value: value.into(),
            ..Member::default()
        }
    }
}

macro_rules! extensions {
    ($t:ty) => {
        impl $t {
            /// The extension under `urn`, read as `E` (`None` if absent).
            ///
            /// ```
            /// let u: scim_client::User = serde_json::from_value(serde_json::json!({"userName": "a",
            ///     "urn:example:ext:2.0:User": {"badge": 7}})).unwrap();
            /// let ext: serde_json::Value = u.extension("urn:example:ext:2.0:User")?.unwrap();
            /// assert_eq!(ext["badge"], 7);
            /// # Ok::<(), scim_client::Error>(())
            /// ```
            ///
            /// # Errors
            /// [`Error::InvalidResponse`] if the value does not fit `E`.
            pub fn extension<E: DeserializeOwned>(&self, urn: &str) -> Result<Option<E>, Error> {
                match self.other.iter().find(|(k, _)| k.eq_ignore_ascii_case(urn)) {
                    None => Ok(None),
                    Some((_, v)) => serde_json::from_value(v.clone())
                        .map(Some)
                        .map_err(|e| Error::InvalidResponse(format!("{urn}: {e}"))),
                }
            }

            /// Sets the extension under `urn` and lists `urn` in `schemas`.
            ///
            /// ```
            /// let mut g = scim_client::Group::new("G");
            /// g.set_extension("urn:example:ext:2.0:Group", &serde_json::json!({"costCenter": "4130"}))?;
            /// assert_eq!(g.schemas.len(), 2);
            /// # Ok::<(), scim_client::Error>(())
            /// ```
            ///
            /// # Errors
            /// [`Error::InvalidRequest`] if `value` does not serialise to JSON.
            pub fn set_extension<E: Serialize>(
                &mut self,
                urn: &str,
                value: &E,
            ) -> Result<(), Error> {
                let v = serde_json::to_value(value)
                    .map_err(|e| Error::InvalidRequest(format!("{urn}: {e}")))?;
                self.other.insert(urn.to_owned(), v);
                if !self.schemas.iter().any(|s| s.eq_ignore_ascii_case(urn)) {
                    self.schemas.push(urn.to_owned());
                }
                Ok(())
            }
        }
    };
}

/// A User (RFC 7643 §4.1). Attributes not named here (`title`, `addresses`, an extension)
/// are kept in `other`, so a read-modify-replace loses nothing.
///
/// ```
/// use scim_client::{MultiValue, User};
/// let mut user = User::new("bjensen");
/// user.emails.push(MultiValue::new("bjensen@example.com").with_type("work").primary());
/// user.set_extension("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
///     &serde_json::json!({"employeeNumber": "701984"}))?;
/// let json = serde_json::to_value(&user).unwrap();
/// assert_eq!(json["userName"], "bjensen");
/// assert_eq!(json["schemas"][1], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
/// let back: User = serde_json::from_value(json).unwrap();
/// let ent: serde_json::Value = back.extension("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")?.unwrap();
/// assert_eq!(ent["employeeNumber"], "701984");
/// # Ok::<(), scim_client::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// `schemas`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `externalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `userName`.
    #[serde(default)]
    pub user_name: String,
    /// `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// `displayName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `active`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// `emails`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<MultiValue>,
    /// `groups` (read-only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Member>,
    /// `meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Every other attribute and each extension (by its URN).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl User {
    /// A user with a `userName` and the core schema.
    ///
    /// ```
    /// let u = scim_client::User::new("bjensen");
    /// assert_eq!(u.schemas, vec!["urn:ietf:params:scim:schemas:core:2.0:User"]);
    /// ```
    pub fn new(user_name: impl Into<String>) -> Self {
        User {
            schemas: vec![<User as Resource>::SCHEMA.to_owned()],
            user_name: user_name.into(),
            ..User::default()
        }
    }
}
extensions!(User);

impl Resource for User {
    const ENDPOINT: &'static str = "/Users";
    const SCHEMA: &'static str = "urn:ietf:params:scim:schemas:core:2.0:User";
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}

/// A Group (RFC 7643 §4.2); other attributes and extensions are kept in `other`.
///
/// ```
/// use scim_client::{Group, Member};
/// let mut group = Group::new("Admins");
/// group.members.push(Member::new("2819c223"));
/// let json = serde_json::to_value(&group).unwrap();
/// assert_eq!(json["members"][0]["value"], "2819c223");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Group {
    /// `schemas`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `externalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `displayName`.
    #[serde(default)]
    pub display_name: String,
    /// `members`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// `meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Every other attribute and each extension (by its URN).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Group {
    /// A group with a `displayName` and the core schema.
    ///
    /// ```
    /// let g = scim_client::Group::new("Admins");
    /// assert_eq!(g.display_name, "Admins");
    /// ```
    pub fn new(display_name: impl Into<String>) -> Self {
        Group {
            schemas: vec![<Group as Resource>::SCHEMA.to_owned()],
            display_name: display_name.into(),
            ..Group::default()
        }
    }
}
extensions!(Group);

impl Resource for Group {
    const ENDPOINT: &'static str = "/Groups";
    const SCHEMA: &'static str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}
