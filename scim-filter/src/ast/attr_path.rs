use std::fmt;
use std::str::FromStr;

use crate::{Limits, ParseError};

/// An attribute path: `attrPath = [URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.4.2.2, §3.10).
///
/// The schema URN is kept apart from the attribute name, so the "." in "2.0" of
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager` is never taken for
/// a sub-attribute separator.
///
/// ```
/// use scim_filter::AttrPath;
/// let p: AttrPath = "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName".parse()?;
/// assert_eq!(p.urn.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
/// assert_eq!(p.name, "name");
/// assert_eq!(p.sub_attr.as_deref(), Some("familyName"));
/// assert_eq!(p.to_string(), "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName");
/// # Ok::<(), scim_filter::ParseError>(())
/// ```
///
/// Names are kept as written; SCIM attribute names are case-insensitive (RFC 7643 §2.1), so
/// compare them with [`AttrPath::matches`] rather than `==` when the spelling may differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix without its trailing ":", if the path is fully qualified.
    pub urn: Option<String>,
    /// The attribute name (`ATTRNAME`, or `$ref`).
    pub name: String,
    /// The sub-attribute name, for paths like `name.givenName`.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a top-level attribute without schema URN.
    ///
    /// The name is not checked; [`AttrPath::parse`] checks it.
    ///
    /// ```
    /// assert_eq!(scim_filter::AttrPath::new("userName").to_string(), "userName");
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// This path with a sub-attribute.
    ///
    /// ```
    /// let p = scim_filter::AttrPath::new("name").with_sub_attr("givenName");
    /// assert_eq!(p.to_string(), "name.givenName");
    /// ```
    pub fn with_sub_attr(mut self, sub_attr: impl Into<String>) -> Self {
        self.sub_attr = Some(sub_attr.into());
        self
    }

    /// This path qualified by a schema URN (given without the trailing ":").
    ///
    /// ```
    /// let p = scim_filter::AttrPath::new("manager")
    ///     .with_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    /// assert_eq!(p.to_string(), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager");
    /// ```
    pub fn with_urn(mut self, urn: impl Into<String>) -> Self {
        self.urn = Some(urn.into());
        self
    }

    /// Parses an attribute path with the default [`Limits`].
    ///
    /// Errors map to scimType `invalidPath`.
    ///
    /// ```
    /// assert!(scim_filter::AttrPath::parse("emails.value").is_ok());
    /// assert!(scim_filter::AttrPath::parse("emails.").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        crate::parser::parse_attr_path(input, &Limits::default())
    }

    /// Parses an attribute path with explicit limits.
    ///
    /// ```
    /// use scim_filter::{AttrPath, Limits};
    /// let limits = Limits::with_max_length(8);
    /// assert!(AttrPath::parse_with("displayName", &limits).is_err());
    /// ```
    pub fn parse_with(input: &str, limits: &Limits) -> Result<Self, ParseError> {
        crate::parser::parse_attr_path(input, limits)
    }

    /// Case-insensitive comparison of the attribute and sub-attribute names and the URN
    /// (RFC 7643 §2.1: attribute names are case-insensitive; URNs compare likewise here).
    ///
    /// ```
    /// let a: scim_filter::AttrPath = "name.givenName".parse().unwrap();
    /// let b: scim_filter::AttrPath = "NAME.GIVENNAME".parse().unwrap();
    /// assert!(a.matches(&b));
    /// assert_ne!(a, b);
    /// ```
    pub fn matches(&self, other: &AttrPath) -> bool {
        fn opt_eq(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
        }
        self.name.eq_ignore_ascii_case(&other.name)
            && opt_eq(&self.sub_attr, &other.sub_attr)
            && opt_eq(&self.urn, &other.urn)
    }

    /// When the path has a URN and no sub-attribute, the whole text read as a schema URN.
    ///
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` is syntactically the
    /// attribute `User` of schema `urn:…:enterprise:2.0`; a schema-aware caller uses this to
    /// recognise that it names the extension object itself (RFC 7644 §3.5.2).
    ///
    /// ```
    /// let p: scim_filter::AttrPath =
    ///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".parse().unwrap();
    /// assert_eq!(
    ///     p.as_schema_urn().as_deref(),
    ///     Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    /// );
    /// ```
    pub fn as_schema_urn(&self) -> Option<String> {
        match (&self.urn, &self.sub_attr) {
            (Some(urn), None) => Some(format!("{urn}:{}", self.name)),
            _ => None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            f.write_str(urn)?;
            f.write_str(":")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            f.write_str(".")?;
            f.write_str(sub)?;
        }
        Ok(())
    }
}

impl FromStr for AttrPath {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttrPath::parse(s)
    }
}
