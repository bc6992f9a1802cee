//! The attribute definition of RFC 7643 §7.

use serde::{Deserialize, Serialize};

use crate::characteristics::attr_type_serde;
use crate::{AttrType, Mutability, Returned, Uniqueness};

/// One attribute of a schema, with its characteristics (RFC 7643 §7), serialised exactly in
/// the RFC's JSON form so `/Schemas` can serve it and hosts can load it from files.
///
/// Omitted characteristics take the RFC 7643 §2.2 defaults: type string, single-valued, not
/// required, not caseExact, readWrite, returned default, uniqueness none.
///
/// ```
/// use scim_schema::{Attribute, AttrType, Mutability};
/// let a: Attribute = serde_json::from_value(serde_json::json!({
///     "name": "employeeNumber", "type": "string", "multiValued": false, "required": false,
///     "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none"
/// })).unwrap();
/// assert_eq!(a.attr_type, AttrType::String);
/// assert_eq!(a.mutability, Mutability::ReadWrite);
///
/// let b = Attribute::new("active", AttrType::Boolean);
/// assert_eq!(serde_json::to_value(&b).unwrap()["type"], "boolean");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Attribute {
    /// The attribute name (case-insensitive, RFC 7643 §2.1).
    pub name: String,
    /// The data type.
    #[serde(
        rename = "type",
        with = "attr_type_serde",
        default = "attr_type_serde::default"
    )]
    pub attr_type: AttrType,
    /// Sub-attributes of a complex attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<Attribute>,
    /// Whether the attribute holds a list of values.
    #[serde(default)]
    pub multi_valued: bool,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a value is required.
    #[serde(default)]
    pub required: bool,
    /// Suggested values (RFC 7643 §7); enforced only when the host opts in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string comparison is case-sensitive.
    #[serde(default)]
    pub case_exact: bool,
    /// When the attribute may change.
    #[serde(default)]
    pub mutability: Mutability,
    /// When the attribute is returned.
    #[serde(default)]
    pub returned: Returned,
    /// How unique values must be.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// For references: the resource types or `external` / `uri` a value may point to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// A host-registered value type (see
    /// [`RegistryBuilder::custom_type`](crate::RegistryBuilder::custom_type)); not part of the
    /// RFC JSON.
    #[serde(skip)]
    pub custom_type: Option<String>,
}

impl Attribute {
    /// An attribute with the RFC 7643 §2.2 default characteristics.
    ///
    /// ```
    /// let a = scim_schema::Attribute::new("nickName", scim_schema::AttrType::String);
    /// assert!(!a.required && !a.multi_valued && !a.case_exact);
    /// ```
    pub fn new(name: impl Into<String>, attr_type: AttrType) -> Self {
        Attribute {
            name: name.into(),
            attr_type,
            sub_attributes: Vec::new(),
            multi_valued: false,
            description: None,
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            custom_type: None,
        }
    }

    /// Sets `multiValued`.
    pub fn multi_valued(mut self, yes: bool) -> Self {
        self.multi_valued = yes;
        self
    }

    /// Sets `required`.
    pub fn required(mut self, yes: bool) -> Self {
        self.required = yes;
        self
    }

    /// Sets `caseExact`.
    pub fn case_exact(mut self, yes: bool) -> Self {
        self.case_exact = yes;
        self
    }

    /// Sets `mutability`.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    /// Sets `returned`.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    /// Sets `uniqueness`.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }

    /// Sets `description`.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Sets the sub-attributes (and makes the attribute complex).
    pub fn sub_attributes(mut self, subs: Vec<Attribute>) -> Self {
        self.attr_type = AttrType::Complex;
        self.sub_attributes = subs;
        self
    }

    /// Sets `canonicalValues`.
    pub fn canonical_values<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        values: I,
    ) -> Self {
        self.canonical_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `referenceTypes`.
    pub fn reference_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.reference_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Binds a host-registered custom type by name.
    pub fn custom_type(mut self, name: impl Into<String>) -> Self {
        self.custom_type = Some(name.into());
        self
    }

    /// The sub-attribute called `name` (case-insensitive).
    ///
    /// ```
    /// let user = scim_schema::builtin::user();
    /// let emails = user.attribute("emails").unwrap();
    /// assert_eq!(emails.sub_attribute("VALUE").unwrap().name, "value");
    /// ```
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.sub_attributes, name)
    }

    /// Whether this attribute is complex and has a `value` sub-attribute.
    pub fn has_value_sub_attribute(&self) -> bool {
        self.attr_type == AttrType::Complex && self.sub_attribute("value").is_some()
    }
}

/// Case-insensitive lookup, comparing lengths before bytes.
pub(crate) fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs
        .iter()
        .find(|a| a.name.len() == name.len() && a.name.eq_ignore_ascii_case(name))
}
