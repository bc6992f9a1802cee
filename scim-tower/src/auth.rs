//! Who is calling: the [`Authenticate`] trait a host implements (or picks), the refusal it
//! gives ([`Unauthorized`]), and [`StaticTokens`], bearer tokens known in advance.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use http::request::Parts;
use scim_core::{RequestContext, Scopes};

/// Turns a request's head into the [`RequestContext`] the engine runs it in: the tenant
/// whose data it sees, the caller's scopes, and the subject `/Me` names. The service sets
/// the context's `now` itself.
///
/// An embedder whose app authenticates already (an axum middleware, say) reads what that
/// left in the request's extensions:
///
/// ```
/// use scim_core::{RequestContext, Scopes};
/// use scim_tower::{Authenticate, Unauthorized};
///
/// /// What the app's own login middleware puts in the request's extensions.
/// #[derive(Clone)]
/// struct AppUser { org: String, admin: bool }
///
/// struct FromApp;
///
/// impl Authenticate for FromApp {
///     async fn authenticate(&self, head: &http::request::Parts) -> Result<RequestContext, Unauthorized> {
///         let user = head.extensions.get::<AppUser>().ok_or(Unauthorized::Missing)?;
///         let scopes = if user.admin { Scopes::All } else { Scopes::of(["https://gluu.org/scim/users.read"]) };
///         Ok(RequestContext::new(chrono::Utc::now()).tenant(user.org.clone()).scopes(scopes))
///     }
/// }
/// ```
pub trait Authenticate: Send + Sync + 'static {
    /// The context for a request with this head, or why it is refused (answered 401).
    fn authenticate(
        &self,
        head: &Parts,
    ) -> impl Future<Output = Result<RequestContext, Unauthorized>> + Send;
}

impl<A: Authenticate> Authenticate for std::sync::Arc<A> {
    fn authenticate(
        &self,
        head: &Parts,
    ) -> impl Future<Output = Result<RequestContext, Unauthorized>> + Send {
        (**self).authenticate(head)
    }
}

/// Why a request was not let in; answered 401 with a SCIM error body and a
/// `WWW-Authenticate` challenge (RFC 6750 §3) that says why, never with key material.
///
/// ```
/// let u = scim_tower::Unauthorized::InvalidToken("the token has expired".into());
/// assert_eq!(
///     u.challenge(),
///     r#"Bearer realm="scim", error="invalid_token", error_description="the token has expired""#
/// );
/// assert_eq!(scim_tower::Unauthorized::Missing.challenge(), r#"Bearer realm="scim""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unauthorized {
    /// No credentials (no `Authorization: Bearer …` header).
    Missing,
    /// Credentials that are not valid; the text says how (unknown token, expired, wrong
    /// audience, bad signature).
    InvalidToken(String),
}

impl Unauthorized {
    /// The `WWW-Authenticate` header value.
    pub fn challenge(&self) -> String {
        match self {
            Unauthorized::Missing => "Bearer realm=\"scim\"".to_owned(),
            Unauthorized::InvalidToken(why) => format!(
                "Bearer realm=\"scim\", error=\"invalid_token\", error_description=\"{}\"",
                quotable(why)
            ),
        }
    }
}

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unauthorized::Missing => {
                f.write_str("a valid bearer token is required (Authorization: Bearer <token>)")
            }
            Unauthorized::InvalidToken(why) => write!(f, "the bearer token was refused: {why}"),
        }
    }
}

impl std::error::Error for Unauthorized {}

/// `text` with only the characters RFC 6750 §3 allows in `error_description` (printable
/// ASCII but `"` and `\`); others become `?`.
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
}

/// What a static token grants: its scopes and the tenant its requests run in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The scopes.
    pub scopes: Scopes,
    /// The tenant (default `"default"`).
    pub tenant: String,
}

impl Grant {
    /// `scopes` in tenant `default`.
    pub fn new(scopes: Scopes) -> Self {
        Grant {
            scopes,
            tenant: "default".to_owned(),
        }
    }

    /// The same grant in `tenant`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }
}

/// Bearer tokens known in advance, each with its [`Grant`]. Its `Debug` shows how many
/// there are, never their values.
///
/// ```
/// use scim_tower::{Grant, StaticTokens};
/// let mut t = StaticTokens::new();
/// t.insert("s3cret", scim_core::Scopes::All);
/// t.insert_grant("acme-token", Grant::new(scim_core::Scopes::All).tenant("acme"));
/// assert!(t.authorize(Some("Bearer s3cret")).is_some());
/// assert!(t.authorize(Some("bearer s3cret")).is_some());
/// assert_eq!(t.authorize(Some("Bearer acme-token")).map(|g| g.tenant.as_str()), Some("acme"));
/// assert!(t.authorize(Some("Bearer nope")).is_none());
/// assert!(t.authorize(Some("Bearer s3creT")).is_none());
/// assert!(t.authorize(None).is_none());
/// assert!(!format!("{t:?}").contains("s3cret"));
/// ```
#[derive(Clone, Default)]
pub struct StaticTokens {
    tokens: HashMap<String, Grant>,
}

impl fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokens")
            .field("count", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl StaticTokens {
    /// No tokens.
    pub fn new() -> Self {
        StaticTokens::default()
    }

    /// Adds a token with its scopes, in tenant `default`.
    pub fn insert(&mut self, token: impl Into<String>, scopes: Scopes) {
        self.insert_grant(token, Grant::new(scopes));
    }

    /// Adds a token with its grant.
    pub fn insert_grant(&mut self, token: impl Into<String>, grant: Grant) {
        self.tokens.insert(token.into(), grant);
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The grant of the bearer token in an `Authorization` header value, if it is known.
    ///
    /// Every known token is compared, each without stopping at the first differing byte, so
    /// the time taken says nothing about how much of a guess was right (only its length
    /// matters, and token lengths are no secret).
    pub fn authorize(&self, header: Option<&str>) -> Option<&Grant> {
        self.grant_of(bearer(header?)?)
    }

    /// The grant of `token` (what [`bearer`] gives), comparing every known token.
    fn grant_of(&self, token: &str) -> Option<&Grant> {
        let mut found = None;
        for (known, grant) in &self.tokens {
            if same_bytes(known.as_bytes(), token.as_bytes()) {
                found = Some(grant);
            }
        }
        found
    }
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
///
/// ```
/// assert_eq!(scim_tower::bearer("Bearer abc"), Some("abc"));
/// assert_eq!(scim_tower::bearer("Basic abc"), None);
/// ```
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The bearer token of a request head: [`Unauthorized::Missing`] without an
/// `Authorization: Bearer …` header.
///
/// ```
/// let head = http::Request::get("/").header("Authorization", "Bearer abc").body(())?.into_parts().0;
/// assert_eq!(scim_tower::bearer_of(&head), Ok("abc"));
/// let none = http::Request::get("/").body(())?.into_parts().0;
/// assert_eq!(scim_tower::bearer_of(&none), Err(scim_tower::Unauthorized::Missing));
/// # Ok::<(), http::Error>(())
/// ```
pub fn bearer_of(head: &Parts) -> Result<&str, Unauthorized> {
    head.headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .ok_or(Unauthorized::Missing)
}

impl StaticTokens {
    /// The context of a known `token`.
    pub fn context_of(&self, token: &str) -> Option<RequestContext> {
        // As `authorize(Some("Bearer {token}"))`: the token trimmed, and none when empty.
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        self.grant_of(token).map(|grant| {
            RequestContext::new(chrono::Utc::now())
                .tenant(grant.tenant.clone())
                .scopes(grant.scopes.clone())
        })
    }
}

impl Authenticate for StaticTokens {
    async fn authenticate(&self, head: &Parts) -> Result<RequestContext, Unauthorized> {
        let token = bearer_of(head)?;
        self.context_of(token)
            .ok_or_else(|| Unauthorized::InvalidToken("unknown token".into()))
    }
}

/// Byte equality that looks at every byte of equally long inputs.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
        assert!(same_bytes(b"", b""));
    }

    #[test]
    fn challenges_carry_no_quotes_or_controls() {
        let u = Unauthorized::InvalidToken("bad \"sig\"\n\\".into());
        assert_eq!(
            u.challenge(),
            r#"Bearer realm="scim", error="invalid_token", error_description="bad ?sig???""#
        );
    }
}
