//! String comparison with SCIM's case rules, without allocating on the common ASCII path.

use std::borrow::Cow;
use std::cmp::Ordering;

/// How strings are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fold {
    /// `caseExact: true`.
    Exact,
    /// `caseExact: false`: the literal is stored lower-cased; values are lower-cased.
    Insensitive,
}

impl Fold {
    /// How an attribute with these characteristics compares (unknown: case-insensitively,
    /// the RFC 7643 §2.2 default).
    pub(crate) fn of(info: Option<&super::attr_schema::AttrInfo>) -> Fold {
        if info.is_some_and(|i| i.case_exact) {
            Fold::Exact
        } else {
            Fold::Insensitive
        }
    }

    /// The literal in its stored (normalised) form.
    pub(crate) fn literal(self, s: &str) -> Box<str> {
        match self {
            Fold::Exact => s.into(),
            Fold::Insensitive => s.to_lowercase().into_boxed_str(),
        }
    }

    /// The value in comparable form: borrowed when it is already comparable as-is, i.e.
    /// exact comparison, or ASCII (compared byte-wise with `ascii` helpers below).
    fn value<'a>(self, v: &'a str) -> (Cow<'a, str>, bool) {
        match self {
            Fold::Exact => (Cow::Borrowed(v), false),
            Fold::Insensitive if v.is_ascii() => (Cow::Borrowed(v), true),
            Fold::Insensitive => (Cow::Owned(v.to_lowercase()), false),
        }
    }
}

/// `value == lit` (lit already folded).
pub(crate) fn eq(fold: Fold, value: &str, lit: &str) -> bool {
    match fold.value(value) {
        (v, true) => v.len() == lit.len() && v.as_bytes().eq_ignore_ascii_case(lit.as_bytes()),
        (v, false) => v == lit,
    }
}

/// `value` starts with `lit`.
pub(crate) fn starts_with(fold: Fold, value: &str, lit: &str) -> bool {
    match fold.value(value) {
        (v, true) => {
            v.len() >= lit.len() && v.as_bytes()[..lit.len()].eq_ignore_ascii_case(lit.as_bytes())
        }
        (v, false) => v.starts_with(lit),
    }
}

/// `value` ends with `lit`.
pub(crate) fn ends_with(fold: Fold, value: &str, lit: &str) -> bool {
    match fold.value(value) {
        (v, true) => {
            v.len() >= lit.len()
                && v.as_bytes()[v.len() - lit.len()..].eq_ignore_ascii_case(lit.as_bytes())
        }
        (v, false) => v.ends_with(lit),
    }
}

/// `value` contains `lit`.
pub(crate) fn contains(fold: Fold, value: &str, lit: &str) -> bool {
    match fold.value(value) {
        (v, true) => contains_ascii_ci(v.as_bytes(), lit.as_bytes()),
        (v, false) => v.contains(lit),
    }
}

/// Ordering of `value` against `lit` (lexicographic by code point, RFC 7644 §3.4.2.2).
pub(crate) fn cmp(fold: Fold, value: &str, lit: &str) -> Ordering {
    match fold.value(value) {
        (v, true) => v.bytes().map(|b| b.to_ascii_lowercase()).cmp(lit.bytes()),
        (v, false) => v.as_ref().cmp(lit),
    }
}

/// Case-insensitive substring search; `needle` is lower-case.
fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    let upper = first.to_ascii_uppercase();
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        let b = hay[i];
        if (b == first || b == upper) && hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest) {
            return true;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insensitive_ascii_and_unicode() {
        let lit = Fold::Insensitive.literal("ÉCOLE");
        assert!(eq(Fold::Insensitive, "école", &lit));
        assert!(eq(Fold::Insensitive, "École", &lit));
        assert!(contains(
            Fold::Insensitive,
            "Bjensen@EXAMPLE.com",
            "example"
        ));
        assert!(!contains(
            Fold::Insensitive,
            "Bjensen@EXAMPLE.com",
            "examples"
        ));
        assert!(contains(Fold::Insensitive, "abc", ""));
        assert!(starts_with(Fold::Insensitive, "MARY.smith", "mary."));
        assert!(ends_with(
            Fold::Insensitive,
            "x@Example.ORG",
            "@example.org"
        ));
        assert!(!ends_with(Fold::Insensitive, "g", "@example.org"));
        assert_eq!(cmp(Fold::Insensitive, "B", "a"), Ordering::Greater);
        assert_eq!(cmp(Fold::Exact, "B", "a"), Ordering::Less);
        assert!(!eq(Fold::Exact, "ABC", "abc"));
    }
}
