//! Bearer tokens and the scopes they grant.

use std::collections::HashMap;
use std::fmt;

use scim_core::Scopes;

/// Tokens known to the server. Its `Debug` shows how many there are, never their values.
#[derive(Clone, Default)]
pub struct Tokens {
    tokens: HashMap<String, Scopes>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// No tokens.
    pub fn new() -> Self {
        Tokens::default()
    }

    /// Adds a token with its scopes.
    pub fn insert(&mut self, token: impl Into<String>, scopes: Scopes) {
        self.tokens.insert(token.into(), scopes);
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The scopes of the bearer token in an `Authorization` header value, if it is known.
    ///
    /// Every known token is compared, each without stopping at the first differing byte, so
    /// the time taken says nothing about how much of a guess was right (only its length
    /// matters, and token lengths are no secret).
    ///
    /// ```
    /// let mut t = scim_cli::auth::Tokens::new();
    /// t.insert("s3cret", scim_core::Scopes::All);
    /// assert!(t.authorize(Some("Bearer s3cret")).is_some());
    /// assert!(t.authorize(Some("bearer s3cret")).is_some());
    /// assert!(t.authorize(Some("Bearer nope")).is_none());
    /// assert!(t.authorize(Some("Bearer s3creT")).is_none());
    /// assert!(t.authorize(None).is_none());
    /// ```
    pub fn authorize(&self, header: Option<&str>) -> Option<&Scopes> {
        let value = header?.trim();
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let presented = token.trim().as_bytes();
        let mut found = None;
        for (known, scopes) in &self.tokens {
            if same_bytes(known.as_bytes(), presented) {
                found = Some(scopes);
            }
        }
        found
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

    #[test]
    fn debug_hides_the_tokens() {
        let mut t = Tokens::new();
        t.insert("very-secret-token", Scopes::All);
        let shown = format!("{t:?}");
        assert!(!shown.contains("very-secret-token"), "{shown}");
        assert!(shown.contains("count: 1"), "{shown}");
    }

    #[test]
    fn comparison() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
        assert!(same_bytes(b"", b""));
    }
}
