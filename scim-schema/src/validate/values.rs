//! Checks of one scalar value's form: dateTime, binary, reference.

/// xsd:dateTime with an offset (RFC 7643 §2.3.5): RFC 3339 as xsd spells it, with an
/// uppercase `T` between date and time and an uppercase `Z` for UTC. RFC 3339 §5.6 also
/// allows a space and lowercase letters; xsd:dateTime does not (and no client in the IdP
/// corpus sends them). The filter evaluator's parser, so that what validation accepts
/// filters compare as instants.
pub(crate) fn is_datetime(s: &str) -> bool {
    scim_filter::Instant::parse_with_offset(s).is_some()
}

/// base64 per RFC 4648 §4 (RFC 7643 §2.3.6), padding optional, no whitespace.
pub(crate) fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let padding = s.len() - body.len();
    padding <= 2
        && (padding == 0 || s.len() % 4 == 0)
        && body.len() % 4 != 1
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// A URI reference (RFC 7643 §2.3.7): non-empty, no whitespace or control characters.
pub(crate) fn is_reference(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert!(is_datetime("2010-01-23T04:56:22Z"));
        assert!(is_datetime("2011-05-13T04:42:34.123-07:00"));
        assert!(!is_datetime("2010-01-23"));
        assert!(!is_datetime("2010-01-23T04:56:22"));
        assert!(!is_datetime("2010-01-23 04:56:22Z"));
        assert!(!is_datetime("2010-01-23t04:56:22Z"));
        assert!(!is_datetime("2010-01-23T04:56:22z"));
        assert!(!is_datetime("2010-01-23t04:56:22.5z"));
        assert!(is_datetime("0001-01-03T00:00:00.0000000Z"));
        assert!(is_base64("TUlJRE9EQ0NBcUNnQXdJQkFnSUpBS0JT"));
        assert!(is_base64("YQ=="));
        assert!(is_base64("YQ"));
        assert!(!is_base64("Y"));
        assert!(!is_base64("not base64!"));
        assert!(!is_base64("YQ==="));
        assert!(is_reference("https://example.com/v2/Users/1"));
        assert!(is_reference("2819c223"));
        assert!(!is_reference("a b"));
        assert!(!is_reference(""));
    }
}
