//! The client's errors: what the server said, what the network did, and what the server
//! sent that the protocol does not allow.

use std::fmt;

/// A SCIM error response (RFC 7644 §3.12) the server sent.
///
/// ```
/// use scim_client::ScimErrorBody;
/// let e = ScimErrorBody::from_body(409, br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],
///     "status":"409","scimType":"uniqueness","detail":"userName taken"}"#);
/// assert_eq!(e.scim_type.as_deref(), Some("uniqueness"));
/// assert_eq!(e.detail.as_deref(), Some("userName taken"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScimErrorBody {
    /// The HTTP status of the response.
    pub status: u16,
    /// `scimType`, if the body had one (e.g. `invalidFilter`, `uniqueness`).
    pub scim_type: Option<String>,
    /// `detail`, if the body had one.
    pub detail: Option<String>,
}

impl ScimErrorBody {
    /// Reads an error body leniently: a body that is not a SCIM error (HTML from a proxy,
    /// nothing at all) gives `scim_type: None` and the first 200 characters as `detail`.
    ///
    /// ```
    /// let e = scim_client::ScimErrorBody::from_body(502, b"<html>Bad gateway</html>");
    /// assert_eq!(e.scim_type, None);
    /// assert_eq!(e.detail.as_deref(), Some("<html>Bad gateway</html>"));
    /// ```
    pub fn from_body(status: u16, body: &[u8]) -> ScimErrorBody {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        match parsed {
            Some(serde_json::Value::Object(obj)) => {
                let text = |k: &str| {
                    obj.iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(k))
                        .and_then(|(_, v)| v.as_str())
                        .map(|s| s.chars().take(1000).collect::<String>())
                };
                ScimErrorBody {
                    status,
                    scim_type: text("scimType"),
                    detail: text("detail"),
                }
            }
            _ => {
                let text = String::from_utf8_lossy(body);
                let detail: String = text.chars().take(200).collect();
                ScimErrorBody {
                    status,
                    scim_type: None,
                    detail: (!detail.trim().is_empty()).then_some(detail),
                }
            }
        }
    }
}

impl fmt::Display for ScimErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SCIM error {}", self.status)?;
        if let Some(t) = &self.scim_type {
            write!(f, " ({t})")?;
        }
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Everything a client call can fail with.
///
/// ```
/// use scim_client::{Error, ScimErrorBody};
/// let e = Error::Scim(ScimErrorBody::from_body(404, br#"{"status":"404","detail":"no such user"}"#));
/// assert_eq!(e.status(), Some(404));
/// assert!(e.to_string().contains("no such user"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a SCIM error (any 4xx/5xx but 412), e.g. 409 `uniqueness`
    /// for a `userName` already taken.
    #[error("{0}")]
    Scim(ScimErrorBody),
    /// 412 Precondition Failed: the version in `If-Match` is not the resource's current
    /// one (someone else changed it since it was read).
    #[error("precondition failed (the resource changed since it was read): {0}")]
    PreconditionFailed(ScimErrorBody),
    /// The request never got an HTTP answer: connection refused, TLS, timeout, DNS.
    #[error("transport: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server answered, but not as the protocol allows: a body that is not JSON, a
    /// ListResponse without `Resources` of objects, a body over the size limit.
    #[error("unexpected response (HTTP {status}): {message}")]
    Protocol {
        /// The HTTP status of the response (0 where none applies).
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// The server said (in `/ServiceProviderConfig`) that it does not support this, e.g. a
    /// filter where `filter.supported` is false; nothing was sent.
    #[error("the server does not support {0}")]
    Unsupported(String),
    /// What the client was asked to send is not valid: against the discovered schema (with
    /// validation on), or not serialisable, or a bad argument (an empty id). Nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A received resource failed the discovered schema and the client was told to fail on
    /// that ([`crate::ResponseChecks::Fail`]).
    #[error("the response does not match the server's schema: {0}")]
    InvalidResponse(String),
    /// Getting a token failed (token endpoint unreachable or refusing, or an auth hook's
    /// error).
    #[error("authentication: {0}")]
    Auth(String),
}

impl Error {
    /// The HTTP status the server answered with, if it did.
    ///
    /// ```
    /// assert_eq!(scim_client::Error::Unsupported("filter".into()).status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Scim(b) | Error::PreconditionFailed(b) => Some(b.status),
            Error::Protocol { status, .. } if *status != 0 => Some(*status),
            _ => None,
        }
    }

    /// The SCIM error body, for [`Error::Scim`] and [`Error::PreconditionFailed`].
    ///
    /// ```
    /// let e = scim_client::Error::Auth("no".into());
    /// assert!(e.scim().is_none());
    /// ```
    pub fn scim(&self) -> Option<&ScimErrorBody> {
        match self {
            Error::Scim(b) | Error::PreconditionFailed(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn protocol(status: u16, message: impl Into<String>) -> Error {
        Error::Protocol {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn transport(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Transport(Box::new(e))
    }
}
