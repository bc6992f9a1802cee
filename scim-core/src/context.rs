//! Who is asking, for which tenant, at what time.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

/// The scopes a caller was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scopes {
    /// Every operation (a host's admin token).
    All,
    /// Exactly these scope strings.
    Granted(BTreeSet<String>),
}

impl Scopes {
    /// Whether `scope` is granted.
    pub fn allows(&self, scope: &str) -> bool {
        match self {
            Scopes::All => true,
            Scopes::Granted(set) => set.contains(scope),
        }
    }

    /// Scopes from a list of strings.
    pub fn of<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Self {
        Scopes::Granted(scopes.into_iter().map(Into::into).collect())
    }
}

/// Per-request context the host supplies: the engine has no clock and no notion of identity
/// of its own.
///
/// ```
/// let ctx = scim_core::RequestContext::new(chrono::DateTime::UNIX_EPOCH);
/// assert_eq!(ctx.tenant, "default");
/// assert!(ctx.scopes.allows("https://gluu.org/scim/users.read"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestContext {
    /// The tenant whose data the request sees.
    pub tenant: String,
    /// The caller's scopes.
    pub scopes: Scopes,
    /// The caller's own resource id, for `/Me`.
    pub subject: Option<String>,
    /// The current time, for `meta.created` / `meta.lastModified`.
    pub now: DateTime<Utc>,
}

impl RequestContext {
    /// Tenant `default`, all scopes, no subject.
    pub fn new(now: DateTime<Utc>) -> Self {
        RequestContext {
            tenant: "default".to_owned(),
            scopes: Scopes::All,
            subject: None,
            now,
        }
    }

    /// Sets the tenant.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// Sets the scopes.
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}
