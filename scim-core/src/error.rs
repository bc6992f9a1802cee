//! One mapping from every error to the wire: HTTP status, `scimType`, `detail`
//! (RFC 7644 §3.12).

use std::fmt;

use serde_json::{json, Value};

pub use scim_filter::{ScimType, UnknownScimType};

/// An error as the client sees it: status, optional `scimType`, and a `detail` that says what
/// and where (and never contains a `returned: never` value).
///
/// ```
/// use scim_core::{ScimError, ScimType};
/// let e = ScimError::bad_request(ScimType::InvalidFilter, "expected comparison value at byte 11");
/// let body = e.to_json();
/// assert_eq!(body["status"], "400");
/// assert_eq!(body["scimType"], "invalidFilter");
/// assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// HTTP status.
    pub status: u16,
    /// The `scimType`, for 400 (and 409, 413) errors that have one.
    pub scim_type: Option<ScimType>,
    /// Human-readable detail.
    pub detail: String,
    /// Why a 5xx happened, for the host's log only: never part of the response body.
    cause: Option<String>,
}

/// The Error message URN.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

impl ScimError {
    /// An error with a status and detail.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            cause: None,
        }
    }

    /// This error with the reason behind it, for the host's log (a store's failure, a hash
    /// that could not be made). The cause never reaches the client.
    ///
    /// ```
    /// let e = scim_core::ScimError::internal().with_cause("disk I/O error");
    /// assert_eq!(e.cause(), Some("disk I/O error"));
    /// assert!(!e.to_json().to_string().contains("disk"));
    /// ```
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The reason behind the error, if one was recorded (see [`ScimError::with_cause`]).
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// 409 `uniqueness`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 412: a precondition (`If-Match`) failed.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    /// 405.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(405, None, detail)
    }

    /// 403: the caller lacks the scope.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }

    /// 413: the payload is too large.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    /// 500, with a detail that reveals nothing about the internals.
    pub fn internal() -> Self {
        Self::new(500, None, "the service could not complete the request")
    }

    /// The RFC 7644 §3.12 JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t.as_str());
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t, self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

/// A refusal the lower crates detected: its status and `scimType`, as they typed them.
fn typed(status: u16, scim_type: ScimType, detail: String) -> ScimError {
    ScimError::new(status, Some(scim_type), detail)
}

impl From<scim_filter::ParseError> for ScimError {
    fn from(e: scim_filter::ParseError) -> Self {
        typed(e.status(), e.scim_type(), e.to_string())
    }
}

impl From<scim_filter::CompileError> for ScimError {
    fn from(e: scim_filter::CompileError) -> Self {
        typed(e.status(), e.scim_type(), e.to_string())
    }
}

impl From<scim_schema::ValidationError> for ScimError {
    fn from(e: scim_schema::ValidationError) -> Self {
        typed(e.status(), e.scim_type(), e.to_string())
    }
}

impl From<scim_schema::ProjectionError> for ScimError {
    fn from(e: scim_schema::ProjectionError) -> Self {
        typed(400, e.scim_type(), e.to_string())
    }
}

impl From<scim_patch::PatchError> for ScimError {
    fn from(e: scim_patch::PatchError) -> Self {
        typed(e.status(), e.scim_type(), e.to_string())
    }
}

impl From<crate::StoreError> for ScimError {
    fn from(e: crate::StoreError) -> Self {
        match e {
            crate::StoreError::NotFound => ScimError::not_found("resource not found"),
            crate::StoreError::VersionMismatch => {
                ScimError::precondition_failed("the resource changed (version mismatch)")
            }
            crate::StoreError::Conflict { attribute } => {
                ScimError::conflict(format!("`{attribute}` is already in use"))
            }
            crate::StoreError::Unavailable(cause) => ScimError::internal().with_cause(cause),
            crate::StoreError::TooExpensive(limit) => ScimError::bad_request(
                ScimType::TooMany,
                format!("the filter is too expensive to run: {limit}; narrow it"),
            ),
            // What the engine's own member check answers (RFC 7643 §4.2), found in the write.
            crate::StoreError::MissingReference {
                attribute,
                value,
                targets,
            } => {
                let what = if attribute.eq_ignore_ascii_case("members") {
                    "member".to_owned()
                } else {
                    format!("{attribute} value")
                };
                ScimError::bad_request(
                    crate::ScimType::InvalidValue,
                    format!(
                        "{what} {value} is not an existing {} (send {} to skip this check)",
                        targets.join(" or "),
                        crate::OVERHEAD_BYPASS
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member found missing inside the write answers as the engine's own check does.
    #[test]
    fn a_missing_reference_is_invalid_value() {
        let e = ScimError::from(crate::StoreError::MissingReference {
            attribute: "members".into(),
            value: "nope".into(),
            targets: vec!["User".into(), "Group".into()],
        });
        assert_eq!(e.status, 400);
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert_eq!(
            e.detail,
            "member nope is not an existing User or Group (send Group-Overhead-Bypass to skip this check)"
        );
    }

    #[test]
    fn store_errors_never_leak_internals() {
        let e = ScimError::from(crate::StoreError::Unavailable(
            "disk /var/db is full".into(),
        ));
        assert_eq!(e.status, 500);
        assert!(!e.detail.contains("disk"));
        assert_eq!(e.cause(), Some("disk /var/db is full"));
    }

    #[test]
    fn a_query_over_budget_is_too_many() {
        let e = ScimError::from(crate::StoreError::TooExpensive("2000 ms".into()));
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::TooMany)));
    }
}
