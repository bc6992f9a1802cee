use std::fmt;
use std::str::FromStr;

use crate::{AttrPath, Filter, Limits, ParseError};

/// A PATCH operation path: `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2).
///
/// ```
/// use scim_filter::PatchPath;
/// let p: PatchPath = r#"emails[type eq "work"].value"#.parse()?;
/// assert_eq!(p.attr.name, "emails");
/// assert!(p.value_filter.is_some());
/// assert_eq!(p.sub_attr.as_deref(), Some("value"));
/// assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
///
/// let m: PatchPath = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".parse()?;
/// assert_eq!(m.attr.name, "manager");
/// # Ok::<(), scim_filter::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute the operation targets.
    pub attr: AttrPath,
    /// The value filter selecting elements of a multi-valued attribute (`attr[filter]`).
    pub value_filter: Option<Filter>,
    /// The sub-attribute after the value filter (`attr[filter].subAttr`); only set together
    /// with `value_filter`.
    pub sub_attr: Option<String>,
}

impl PatchPath {
    /// Parses a PATCH path with the default [`Limits`]. Errors map to scimType `invalidPath`.
    ///
    /// ```
    /// assert!(scim_filter::PatchPath::parse(r#"members[value eq "2819c223"]"#).is_ok());
    /// let err = scim_filter::PatchPath::parse("attr[].sub").unwrap_err();
    /// assert_eq!(err.scim_type(), "invalidPath");
    /// ```
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        crate::parser::parse_patch_path(input, &Limits::default())
    }

    /// Parses a PATCH path with explicit limits.
    ///
    /// ```
    /// use scim_filter::{Limits, PatchPath};
    /// assert!(PatchPath::parse_with("members", &Limits::default()).is_ok());
    /// ```
    pub fn parse_with(input: &str, limits: &Limits) -> Result<Self, ParseError> {
        crate::parser::parse_patch_path(input, limits)
    }
}

impl From<AttrPath> for PatchPath {
    fn from(attr: AttrPath) -> Self {
        PatchPath {
            attr,
            value_filter: None,
            sub_attr: None,
        }
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
            if let Some(sub) = &self.sub_attr {
                write!(f, ".{sub}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for PatchPath {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PatchPath::parse(s)
    }
}
