//! Bearer tokens and the scopes they grant.

/// Tokens known to the server: [`scim_tower::StaticTokens`] (each with its scopes and
/// tenant; its `Debug` never shows a token).
pub use scim_tower::StaticTokens as Tokens;

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
