//! Filter forms real clients send outside the RFC 7644 §3.4.2.2 grammar, read leniently
//! when the host asks for it ([`Filter::parse_lenient_with`]).

use std::borrow::Cow;

use crate::{Filter, Limits, ParseError};

impl Filter {
    /// Parses like [`Filter::parse_with`]; when that fails, retries with Entra ID's
    /// sub-attribute after a value path, `emails[type eq "work"].value eq "x"`, read as
    /// `emails[(type eq "work") and value eq "x"]` (the Entra ID provisioning tutorial
    /// requires the form; the filter ABNF has no sub-attribute after a valuePath, only the
    /// PATCH path ABNF does). Errors are those of the strict parse.
    ///
    /// Unquoted comparison values that are not JSON literals or numbers, as Entra ID's
    /// documentation sends them (`externalId eq jyoung`), are read as strings.
    ///
    /// ```
    /// use scim_filter::{Filter, Limits};
    /// let f = Filter::parse_lenient_with("externalId eq jyoung and active eq true", &Limits::default())?;
    /// assert_eq!(f.to_string(), r#"externalId eq "jyoung" and active eq true"#);
    /// let f = Filter::parse_lenient_with("manager eq 9e3779b9-7f4a-4c15", &Limits::default())?;
    /// assert_eq!(f.to_string(), r#"manager eq "9e3779b9-7f4a-4c15""#);
    /// let text = r#"emails[type eq "work"].value eq "a@b.c""#;
    /// assert!(Filter::parse_with(text, &Limits::default()).is_err());
    /// let f = Filter::parse_lenient_with(text, &Limits::default())?;
    /// assert_eq!(f.to_string(), r#"emails[type eq "work" and value eq "a@b.c"]"#);
    /// # Ok::<(), scim_filter::ParseError>(())
    /// ```
    pub fn parse_lenient_with(input: &str, limits: &Limits) -> Result<Self, ParseError> {
        let strict = match Filter::parse_with(input, limits) {
            Ok(f) => return Ok(f),
            Err(e) => e,
        };
        let rewritten = value_path_sub_attr(input);
        if let Cow::Owned(text) = &rewritten {
            if let Ok(f) = Filter::parse_with(text, limits) {
                return Ok(f);
            }
        }
        match quote_bare_values(&rewritten) {
            Cow::Owned(text) => Filter::parse_with(&text, limits).map_err(|_| strict),
            Cow::Borrowed(_) => Err(strict),
        }
    }
}

/// Entra ID's documented queries compare with unquoted words (`externalId eq jyoung`,
/// `manager eq 26118915-6090-4610-87e4-49d8ca9f808d`): such a value — not a JSON literal,
/// number or string — is read as a string.
fn quote_bare_values(input: &str) -> Cow<'_, str> {
    const OPS: [&str; 9] = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"];
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len() + 8);
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            i = string_end(bytes, i).unwrap_or(bytes.len());
            continue;
        }
        let at_word = i > 0 && bytes[i - 1].is_ascii_whitespace();
        let is_op = at_word
            && i + 2 < bytes.len()
            && bytes[i + 2].is_ascii_whitespace()
            && OPS
                .iter()
                .any(|op| bytes[i..i + 2].eq_ignore_ascii_case(op.as_bytes()));
        if !is_op {
            i += 1;
            continue;
        }
        let mut v = i + 2;
        while v < bytes.len() && bytes[v].is_ascii_whitespace() {
            v += 1;
        }
        let mut end = v;
        while end < bytes.len()
            && !bytes[end].is_ascii_whitespace()
            && !matches!(bytes[end], b')' | b']' | b'"')
        {
            end += 1;
        }
        let token = &input[v..end];
        let literal = token.is_empty()
            || bytes.get(v) == Some(&b'"')
            || ["true", "false", "null"]
                .iter()
                .any(|l| token.eq_ignore_ascii_case(l))
            || serde_json::from_str::<serde_json::Number>(token).is_ok();
        if !literal {
            out.push_str(&input[last..v]);
            out.push('"');
            for c in token.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            last = end;
        }
        i = end.max(i + 1);
    }
    if last == 0 {
        return Cow::Borrowed(input);
    }
    out.push_str(&input[last..]);
    Cow::Owned(out)
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// The end of a JSON string starting at `start` (the opening quote), after the closing quote.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// After a value path's `]` at `after`: `.sub SP op SP value` or `.sub SP pr`; returns the
/// end of that tail.
fn sub_attr_tail(bytes: &[u8], after: usize) -> Option<usize> {
    let mut i = after;
    if bytes.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    let name_start = i;
    while bytes.get(i).copied().is_some_and(is_name_char) {
        i += 1;
    }
    if i == name_start || !bytes[name_start].is_ascii_alphabetic() {
        return None;
    }
    let ws = |i: &mut usize| {
        let s = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
        *i > s
    };
    if !ws(&mut i) {
        return None;
    }
    let op_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    let op = bytes.get(op_start..i)?.to_ascii_lowercase();
    if op == b"pr" {
        return Some(i);
    }
    if !matches!(
        op.as_slice(),
        b"eq" | b"ne" | b"co" | b"sw" | b"ew" | b"gt" | b"lt" | b"ge" | b"le"
    ) || !ws(&mut i)
    {
        return None;
    }
    if bytes.get(i) == Some(&b'"') {
        return string_end(bytes, i);
    }
    let value_start = i;
    while bytes
        .get(i)
        .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b')' | b'(' | b'[' | b']'))
    {
        i += 1;
    }
    (i > value_start).then_some(i)
}

/// Rewrites every `attr[filter].sub op value` into `attr[(filter) and sub op value]`;
/// borrowed when there is none.
fn value_path_sub_attr(input: &str) -> Cow<'_, str> {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut open: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => match string_end(bytes, i) {
                Some(end) => {
                    i = end;
                    continue;
                }
                None => break,
            },
            b'[' => open = Some(i),
            b']' => {
                if let (Some(start), Some(end)) = (open.take(), sub_attr_tail(bytes, i + 1)) {
                    // All indices sit on ASCII bytes, so they are char boundaries.
                    out.push_str(&input[copied..=start]);
                    out.push('(');
                    out.push_str(&input[start + 1..i]);
                    out.push_str(") and ");
                    out.push_str(&input[i + 2..end]);
                    out.push(']');
                    copied = end;
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if copied == 0 {
        Cow::Borrowed(input)
    } else {
        out.push_str(&input[copied..]);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rewrites_sub_attr_after_value_path() {
        let cases = [
            (
                r#"emails[type eq "work"].value eq "x""#,
                r#"emails[(type eq "work") and value eq "x"]"#,
            ),
            (
                r#"userName eq "a" and emails[type eq "w]"].value sw "x\"y" or title pr"#,
                r#"userName eq "a" and emails[(type eq "w]") and value sw "x\"y"] or title pr"#,
            ),
            (
                r#"emails[primary eq true].value pr"#,
                r#"emails[(primary eq true) and value pr]"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(value_path_sub_attr(input), want, "{input}");
            assert!(Filter::parse_lenient_with(input, &Limits::default()).is_ok());
        }
        // Nothing to rewrite: strict errors stay.
        assert!(matches!(
            value_path_sub_attr("emails[type eq \"w\"]"),
            Cow::Borrowed(_)
        ));
        assert!(Filter::parse_lenient_with("userName eq", &Limits::default()).is_err());
        assert!(Filter::parse_lenient_with("a[b eq 1].c", &Limits::default()).is_err());
    }

    #[test]
    fn lenient_reading_matches_the_intent() {
        use serde_json::json;
        let f = Filter::parse_lenient_with(
            r#"emails[type eq "work"].value eq "a@b.c""#,
            &Limits::default(),
        )
        .unwrap();
        let c = crate::CompiledFilter::compile_schemaless(&f).unwrap();
        let work = json!({"emails": [{"type": "work", "value": "a@b.c"}]});
        let home =
            json!({"emails": [{"type": "home", "value": "a@b.c"}, {"type": "work", "value": "z"}]});
        assert!(c.matches(&work));
        assert!(!c.matches(&home));
    }
}
