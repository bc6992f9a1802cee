//! Bearer tokens and the scopes they grant.

use std::collections::HashMap;

use scim_core::Scopes;

/// Tokens known to the server.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: HashMap<String, Scopes>,
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
    /// ```
    /// let mut t = scim_cli::auth::Tokens::new();
    /// t.insert("s3cret", scim_core::Scopes::All);
    /// assert!(t.authorize(Some("Bearer s3cret")).is_some());
    /// assert!(t.authorize(Some("bearer s3cret")).is_some());
    /// assert!(t.authorize(Some("Bearer nope")).is_none());
    /// assert!(t.authorize(None).is_none());
    /// ```
    pub fn authorize(&self, header: Option<&str>) -> Option<&Scopes> {
        let value = header?.trim();
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        self.tokens.get(token.trim())
    }
}

/// A fresh random token (128 bits from the OS, hex).
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok();
    if !filled {
        // No /dev/urandom: derive from the clock and the process (still unguessable enough
        // for a local development server; production deployments pass --token or a config).
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ u128::from(std::process::id()) << 64;
        bytes = seed.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
