//! Who may call `scim serve`: static bearer tokens (each with its scopes and tenant) and,
//! when configured, OAuth 2.0 JWT access tokens verified against the issuer's key set.

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use scim_core::RequestContext;
use scim_tower::{Authenticate, JwkSet, JwtAuth, Unauthorized};

use crate::serve::{JwksSource, JwtOptions};

/// Tokens known to the server: [`scim_tower::StaticTokens`] (each with its scopes and
/// tenant; its `Debug` never shows a token).
pub use scim_tower::StaticTokens as Tokens;

/// What `scim serve` authenticates with: a static token if the bearer token is one, else a
/// JWT when JWT tokens are configured.
#[derive(Debug, Clone)]
pub struct HostAuth {
    tokens: Tokens,
    jwt: Option<JwtAuth>,
}

impl HostAuth {
    /// Static tokens only.
    pub fn new(tokens: Tokens) -> Self {
        HostAuth { tokens, jwt: None }
    }

    /// Static tokens, and JWTs per `jwt` (the key set read or fetched now: an unreadable
    /// file or an unreachable URL is an error naming it).
    pub async fn with_jwt(tokens: Tokens, jwt: &JwtOptions) -> Result<Self, String> {
        let auth = match &jwt.source {
            JwksSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("JWKS file {}: {e}", path.display()))?;
                let set: JwkSet = serde_json::from_str(&text)
                    .map_err(|e| format!("JWKS file {}: {e}", path.display()))?;
                JwtAuth::new(jwt.config.clone(), &set)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
            JwksSource::Url(url) => {
                let url = url.clone();
                let refresh: scim_tower::Refresh = Arc::new(move || {
                    let url = url.clone();
                    Box::pin(async move {
                        tokio::task::spawn_blocking(move || fetch_jwks(&url))
                            .await
                            .map_err(|e| e.to_string())?
                    })
                });
                JwtAuth::refreshing(jwt.config.clone(), refresh)
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        Ok(HostAuth {
            tokens,
            jwt: Some(auth),
        })
    }
}

/// How long fetching the key set may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(10);

/// The key set at `url` (HTTPS, or HTTP on loopback for tests).
fn fetch_jwks(url: &str) -> Result<JwkSet, String> {
    let agent = ureq::AgentBuilder::new().timeout(JWKS_TIMEOUT).build();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| format!("JWKS {url}: {e}"))?;
    response
        .into_json::<JwkSet>()
        .map_err(|e| format!("JWKS {url}: {e}"))
}

impl Authenticate for HostAuth {
    async fn authenticate(&self, head: &Parts) -> Result<RequestContext, Unauthorized> {
        let token = scim_tower::bearer_of(head)?;
        if let Some(ctx) = self.tokens.context_of(token) {
            return Ok(ctx);
        }
        match &self.jwt {
            Some(jwt) if scim_tower::looks_like_jwt(token) => jwt.authenticate(head).await,
            _ => Err(Unauthorized::InvalidToken("unknown token".into())),
        }
    }
}

/// A fresh random token: 128 bits from the operating system's generator, as hex.
///
/// Fails (rather than falling back to anything guessable) when the OS has no randomness to
/// give.
pub fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| std::io::Error::other(format!("no randomness for a token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn random_tokens_are_hex_and_differ() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
