/// Limits applied before and during parsing, so hostile input is refused quickly.
///
/// A filter or path longer than `max_length` bytes, or nesting parentheses and brackets
/// deeper than `max_depth`, is refused with a [`ParseError`](crate::ParseError) before the
/// grammar runs; recursion in the parser and in every later walk of the tree is bounded by
/// `max_depth`.
///
/// ```
/// use scim_filter::{Filter, Limits};
/// let deep = format!("{}title pr{}", "(".repeat(100_000), ")".repeat(100_000));
/// let err = Filter::parse_with(&deep, &Limits::with_max_length(1 << 20)).unwrap_err();
/// assert!(err.to_string().contains("nested"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Maximum input length in bytes. Default: 16 KiB.
    pub max_length: usize,
    /// Maximum nesting of parentheses and brackets. Default: 32.
    pub max_depth: usize,
}

impl Limits {
    /// The default limits: 16 KiB, depth 32.
    pub const DEFAULT: Limits = Limits {
        max_length: 16 * 1024,
        max_depth: 32,
    };

    /// Limits with the given maximum length and the default depth.
    ///
    /// ```
    /// assert_eq!(scim_filter::Limits::with_max_length(100).max_length, 100);
    /// ```
    pub const fn with_max_length(max_length: usize) -> Self {
        Limits {
            max_length,
            max_depth: Limits::DEFAULT.max_depth,
        }
    }

    /// These limits with another maximum depth.
    ///
    /// ```
    /// assert_eq!(scim_filter::Limits::default().max_depth(4).max_depth, 4);
    /// ```
    pub const fn max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Scans `input` for bracket nesting deeper than `max`, skipping JSON strings.
/// Returns the byte offset of the first bracket beyond the limit.
pub(crate) fn nesting_exceeds(input: &str, max: usize) -> Option<(usize, usize)> {
    let bytes = input.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' => {
                depth += 1;
                if depth > max {
                    return Some((i, depth));
                }
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_do_not_count() {
        assert_eq!(nesting_exceeds(r#"a eq "((((((" "#, 1), None);
        assert_eq!(nesting_exceeds(r#"a eq "\"((((" "#, 1), None);
        assert_eq!(nesting_exceeds("((a pr))", 1), Some((1, 2)));
        assert_eq!(nesting_exceeds("x[(a pr)]", 2), None);
        assert_eq!(nesting_exceeds("x[(a pr)]", 1), Some((2, 2)));
    }
}
