use std::fmt;
use std::sync::Arc;

use crate::AttrPath;

/// The SCIM data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttrType {
    /// `string`.
    String,
    /// `boolean`.
    Boolean,
    /// `decimal`.
    Decimal,
    /// `integer`.
    Integer,
    /// `dateTime` (xsd:dateTime with offset, RFC 3339).
    DateTime,
    /// `binary` (base64).
    Binary,
    /// `reference` (a URI).
    Reference,
    /// `complex`.
    Complex,
}

impl AttrType {
    /// The RFC 7643 spelling, e.g. `"dateTime"`.
    ///
    /// ```
    /// assert_eq!(scim_filter::AttrType::DateTime.as_str(), "dateTime");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host-defined value type: values are normalised before they are compared, so that
/// e.g. a phone number written `+1 (555) 010-0001` equals `+15550100001`.
///
/// ```
/// use scim_filter::CustomType;
/// #[derive(Debug)]
/// struct Digits;
/// impl CustomType for Digits {
///     fn name(&self) -> &str { "digits" }
///     fn normalize(&self, value: &str) -> Option<String> {
///         Some(value.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect())
///     }
/// }
/// assert_eq!(Digits.normalize("+1 (555) 010-0001").as_deref(), Some("+15550100001"));
/// ```
pub trait CustomType: Send + Sync + fmt::Debug {
    /// The type's name, for error messages.
    fn name(&self) -> &str;
    /// The comparable form of `value`, or `None` when it is not a valid value of this type.
    fn normalize(&self, value: &str) -> Option<String>;
}

/// What evaluation needs to know about one attribute.
///
/// ```
/// use scim_filter::{AttrInfo, AttrType};
/// let info = AttrInfo::new(AttrType::String).case_exact(true).multi_valued(false);
/// assert!(info.case_exact);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AttrInfo {
    /// The data type.
    pub attr_type: AttrType,
    /// Whether string comparison is case-sensitive (RFC 7643 §2.2; default false).
    pub case_exact: bool,
    /// Whether the attribute holds a list of values.
    pub multi_valued: bool,
    /// A host-defined type that normalises values before comparison.
    pub custom: Option<Arc<dyn CustomType>>,
}

impl AttrInfo {
    /// Characteristics with the RFC 7643 §2.2 defaults: not caseExact, single-valued.
    pub fn new(attr_type: AttrType) -> Self {
        AttrInfo {
            attr_type,
            case_exact: false,
            multi_valued: false,
            custom: None,
        }
    }

    /// Sets `caseExact`.
    pub fn case_exact(mut self, case_exact: bool) -> Self {
        self.case_exact = case_exact;
        self
    }

    /// Sets `multiValued`.
    pub fn multi_valued(mut self, multi_valued: bool) -> Self {
        self.multi_valued = multi_valued;
        self
    }

    /// Sets a host-defined type.
    pub fn custom(mut self, custom: Arc<dyn CustomType>) -> Self {
        self.custom = Some(custom);
        self
    }
}

/// Where the attributes of a schema URN live in a resource's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrnLocation {
    /// The resource's core schema: attributes at the top level.
    Core,
    /// An extension schema: attributes inside the object keyed by the URN
    /// (RFC 7643 §3.3).
    Extension,
    /// Not a schema of the resource type (`urn:…:core:2.0:Group:userName` on a User): the
    /// path names no attribute, so it has no value and no comparison on it holds.
    Foreign,
}

/// What a filter compiler can ask about attributes. `scim-schema` implements it on its
/// registry; [`Schemaless`] answers nothing.
///
/// Paths passed in are absolute: inside `emails[type eq "work"]` the compiler asks about
/// `emails.type`.
///
/// ```
/// use scim_filter::{AttrInfo, AttrPath, AttrSchema, AttrType, CompiledFilter, Filter};
/// struct OnlyIdIsExact;
/// impl AttrSchema for OnlyIdIsExact {
///     fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
///         path.name.eq_ignore_ascii_case("id").then(|| AttrInfo::new(AttrType::String).case_exact(true))
///     }
/// }
/// let f = CompiledFilter::compile(&Filter::parse(r#"id eq "ABC""#)?, &OnlyIdIsExact)?;
/// assert!(f.matches(&serde_json::json!({"id": "ABC"})));
/// assert!(!f.matches(&serde_json::json!({"id": "abc"})));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AttrSchema {
    /// Characteristics of the attribute at `path`, or `None` when unknown (then types come
    /// from the JSON values and strings compare case-insensitively).
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo>;

    /// Where the attributes of schema `urn` live. `None` (the default) means unknown: the
    /// object keyed by the URN is used when present, else the top level. A schema that knows
    /// its URNs answers [`UrnLocation::Foreign`] for any other.
    fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
        let _ = urn;
        None
    }
}

/// The empty schema: every attribute unknown.
///
/// ```
/// use scim_filter::{AttrPath, AttrSchema, Schemaless};
/// assert!(Schemaless.attribute(&AttrPath::new("userName")).is_none());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Schemaless;

impl AttrSchema for Schemaless {
    fn attribute(&self, _path: &AttrPath) -> Option<AttrInfo> {
        None
    }
}

impl<T: AttrSchema + ?Sized> AttrSchema for &T {
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
        (**self).attribute(path)
    }
    fn urn_location(&self, urn: &str) -> Option<UrnLocation> {
        (**self).urn_location(urn)
    }
}
