//! PATCH errors: where (operation index, path) around what (a kind with its scimType).

use std::fmt;

use scim_filter::ScimType;

/// Why a PATCH request was refused. The resource is unchanged whenever this is returned.
///
/// ```
/// use scim_patch::{PatchRequest, PatchOptions};
/// let err = PatchRequest::from_json(&serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "remove"}]
/// }), &PatchOptions::default()).unwrap_err();
/// assert_eq!(err.scim_type(), "noTarget");
/// assert_eq!(err.operation(), Some(0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    operation: Option<usize>,
    path: Option<String>,
    kind: PatchErrorKind,
}

/// The kinds of [`PatchError`], each with its RFC 7644 §3.12 `scimType`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchErrorKind {
    /// The message is malformed: not an object, no PatchOp schema, no `Operations`, an
    /// unknown `op`, a value with two keys that differ only in case (`invalidSyntax`).
    Syntax(String),
    /// More operations than [`PatchOptions::max_operations`](crate::PatchOptions) allows
    /// (`invalidSyntax`).
    TooManyOperations {
        /// The configured maximum.
        max: usize,
    },
    /// The path does not parse, or names no attribute of the resource type (`invalidPath`).
    InvalidPath(String),
    /// `remove` without a path, or a value filter that matched nothing where a match is
    /// needed (`noTarget`).
    NoTarget(String),
    /// The value is missing, of the wrong type, or removes a required attribute
    /// (`invalidValue`).
    InvalidValue(String),
    /// The operation would change a readOnly attribute, or an immutable one that has a
    /// value (`mutability`).
    Mutability(String),
}

impl PatchError {
    pub(crate) fn new(kind: PatchErrorKind) -> Self {
        PatchError {
            operation: None,
            path: None,
            kind,
        }
    }

    pub(crate) fn at(mut self, operation: usize, path: Option<String>) -> Self {
        self.operation.get_or_insert(operation);
        if self.path.is_none() {
            self.path = path;
        }
        self
    }

    /// The index of the failing operation in `Operations`.
    pub fn operation(&self) -> Option<usize> {
        self.operation
    }

    /// The failing operation's path, as sent.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &PatchErrorKind {
        &self.kind
    }

    /// The SCIM `scimType` (RFC 7644 §3.12).
    pub fn scim_type(&self) -> ScimType {
        match self.kind {
            PatchErrorKind::Syntax(_) | PatchErrorKind::TooManyOperations { .. } => {
                ScimType::InvalidSyntax
            }
            PatchErrorKind::InvalidPath(_) => ScimType::InvalidPath,
            PatchErrorKind::NoTarget(_) => ScimType::NoTarget,
            PatchErrorKind::InvalidValue(_) => ScimType::InvalidValue,
            PatchErrorKind::Mutability(_) => ScimType::Mutability,
        }
    }

    /// Always 400.
    pub fn status(&self) -> u16 {
        400
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.operation {
            write!(f, "operation {i}")?;
            if let Some(p) = &self.path {
                write!(f, " (path `{p}`)")?;
            }
            f.write_str(": ")?;
        }
        match &self.kind {
            PatchErrorKind::Syntax(m)
            | PatchErrorKind::InvalidPath(m)
            | PatchErrorKind::NoTarget(m)
            | PatchErrorKind::InvalidValue(m)
            | PatchErrorKind::Mutability(m) => f.write_str(m),
            PatchErrorKind::TooManyOperations { max } => {
                write!(f, "more than {max} operations in one PATCH request")
            }
        }
    }
}

impl std::error::Error for PatchError {}

pub(crate) fn syntax(m: impl Into<String>) -> PatchError {
    PatchError::new(PatchErrorKind::Syntax(m.into()))
}
pub(crate) fn invalid_path(m: impl Into<String>) -> PatchError {
    PatchError::new(PatchErrorKind::InvalidPath(m.into()))
}
pub(crate) fn no_target(m: impl Into<String>) -> PatchError {
    PatchError::new(PatchErrorKind::NoTarget(m.into()))
}
pub(crate) fn invalid_value(m: impl Into<String>) -> PatchError {
    PatchError::new(PatchErrorKind::InvalidValue(m.into()))
}
pub(crate) fn mutability(m: impl Into<String>) -> PatchError {
    PatchError::new(PatchErrorKind::Mutability(m.into()))
}
