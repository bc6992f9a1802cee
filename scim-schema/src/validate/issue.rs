//! What validation reports: issues (refusals) and coercions (normalisations it made).

use std::fmt;

use scim_filter::ScimType;

/// One problem found in a resource, with the attribute path it concerns.
///
/// Messages name the attribute and what was wrong with the value's type or form; they
/// never contain the value itself, so writeOnly and returned:never values (passwords) are
/// never echoed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where: `userName`, `emails[1].value`, `urn:…:enterprise:2.0:User:manager.value`.
    pub path: String,
    /// What.
    pub kind: IssueKind,
}

/// The kinds of [`Issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueKind {
    /// A required attribute has no value.
    Required,
    /// The value has the wrong JSON type, e.g. a string for a boolean.
    WrongType {
        /// What the schema wants.
        expected: &'static str,
        /// What the JSON holds.
        found: &'static str,
    },
    /// The value has the right JSON type but not a valid form (dateTime, base64, …).
    InvalidValue {
        /// Why.
        reason: String,
    },
    /// The attribute is not defined by the resource type's schemas.
    UnknownAttribute,
    /// The same attribute appears twice (names are case-insensitive).
    Duplicate,
    /// More than one value of a multi-valued attribute has `primary: true`.
    MultiplePrimary,
    /// An immutable attribute that already has a value was given a different one.
    Immutable,
    /// A readOnly attribute was modified where that is refused (PATCH).
    ReadOnly,
    /// `schemas` is missing, malformed, or does not match the attributes present.
    Schemas {
        /// Why.
        reason: String,
    },
    /// The request body is not a JSON object.
    NotAnObject,
}

impl IssueKind {
    /// The SCIM `scimType` (RFC 7644 §3.12, table 9).
    pub fn scim_type(&self) -> ScimType {
        match self {
            IssueKind::Required
            | IssueKind::WrongType { .. }
            | IssueKind::InvalidValue { .. }
            | IssueKind::MultiplePrimary => ScimType::InvalidValue,
            IssueKind::UnknownAttribute
            | IssueKind::Duplicate
            | IssueKind::Schemas { .. }
            | IssueKind::NotAnObject => ScimType::InvalidSyntax,
            IssueKind::Immutable | IssueKind::ReadOnly => ScimType::Mutability,
        }
    }

    fn rank(&self) -> u8 {
        match self.scim_type() {
            ScimType::Mutability => 0,
            ScimType::InvalidSyntax => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.path;
        match &self.kind {
            IssueKind::Required => write!(f, "attribute `{p}` is required"),
            IssueKind::WrongType { expected, found } => {
                write!(f, "attribute `{p}` must be {expected}, found {found}")
            }
            IssueKind::InvalidValue { reason } => write!(f, "attribute `{p}`: {reason}"),
            IssueKind::UnknownAttribute => {
                write!(f, "attribute `{p}` is not defined by the schema")
            }
            IssueKind::Duplicate => write!(f, "attribute `{p}` appears more than once"),
            IssueKind::MultiplePrimary => {
                write!(
                    f,
                    "attribute `{p}` has more than one value with primary true"
                )
            }
            IssueKind::Immutable => write!(
                f,
                "attribute `{p}` is immutable and already has a different value"
            ),
            IssueKind::ReadOnly => write!(f, "attribute `{p}` is readOnly"),
            IssueKind::Schemas { reason } => write!(f, "`schemas`: {reason}"),
            IssueKind::NotAnObject => write!(f, "the resource must be a JSON object, found {p}"),
        }
    }
}

/// Validation refused the resource: every issue found, each with its path.
///
/// ```
/// use scim_schema::{Registry, ValidationOptions};
/// let registry = Registry::standard();
/// let users = registry.resource_type("User").unwrap();
/// let err = users
///     .validate_create(serde_json::json!({
///         "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///         "active": "yes", "password": 12345
///     }), &ValidationOptions::default())
///     .unwrap_err();
/// assert_eq!(err.scim_type(), "invalidValue");
/// assert_eq!(err.issues().len(), 3); // userName missing, active and password mistyped
/// assert!(!err.to_string().contains("12345"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    issues: Vec<Issue>,
}

impl ValidationError {
    pub(crate) fn new(mut issues: Vec<Issue>) -> Self {
        issues.sort_by_key(|i| i.kind.rank());
        ValidationError { issues }
    }

    /// Every issue, the most significant first (mutability, then syntax, then values).
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    /// The `scimType` of the most significant issue.
    pub fn scim_type(&self) -> ScimType {
        self.issues
            .first()
            .map_or(ScimType::InvalidValue, |i| i.kind.scim_type())
    }

    /// Always 400.
    pub fn status(&self) -> u16 {
        400
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// A normalisation validation made under a [`Leniency`](crate::Leniency) option, reported
/// so a host can log what its clients send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coercion {
    /// The attribute path.
    pub path: String,
    /// What was done.
    pub kind: CoercionKind,
}

/// The kinds of [`Coercion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoercionKind {
    /// `"True"` / `"false"` became a boolean.
    StringToBoolean,
    /// `"42"` became a number.
    StringToNumber,
    /// A single value became a one-element array.
    WrappedInArray,
    /// A one-element array became its only value.
    UnwrappedArray,
    /// A bare string became `{"value": …}`.
    StringToComplexValue,
    /// An attribute not in the schema was dropped.
    DroppedUnknown,
    /// A `schemas` entry naming no schema of the resource type was dropped.
    DroppedSchemaUri,
}
