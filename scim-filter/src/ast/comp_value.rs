use std::fmt;

/// A comparison value: `compValue = false / null / true / number / string`
/// (RFC 7644 §3.4.2.2, with the JSON forms of RFC 7159).
///
/// ```
/// use scim_filter::{CompValue, Filter};
/// let f: Filter = r#"title eq "Tour \"Guide\"""#.parse().unwrap();
/// if let Filter::Compare { value, .. } = &f {
///     assert_eq!(value, &CompValue::String("Tour \"Guide\"".into()));
///     assert_eq!(value.to_string(), r#""Tour \"Guide\"""#);
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CompValue {
    /// JSON `null`.
    Null,
    /// JSON `true` or `false`.
    Bool(bool),
    /// A JSON number, kept as `serde_json` parsed it (integer or float).
    Number(serde_json::Number),
    /// A JSON string, unescaped.
    String(String),
}

impl CompValue {
    /// The value as a `serde_json::Value`.
    ///
    /// ```
    /// use scim_filter::CompValue;
    /// assert_eq!(CompValue::Bool(true).to_json(), serde_json::json!(true));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CompValue::Null => serde_json::Value::Null,
            CompValue::Bool(b) => serde_json::Value::Bool(*b),
            CompValue::Number(n) => serde_json::Value::Number(n.clone()),
            CompValue::String(s) => serde_json::Value::String(s.clone()),
        }
    }

    /// The string, if this is a string value.
    ///
    /// ```
    /// use scim_filter::CompValue;
    /// assert_eq!(CompValue::String("x".into()).as_str(), Some("x"));
    /// assert_eq!(CompValue::Null.as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            CompValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(true) => f.write_str("true"),
            CompValue::Bool(false) => f.write_str("false"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

/// Writes `s` as a JSON string literal (RFC 7159 §7), escaping only what must be escaped.
pub(crate) fn write_json_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        f.write_str(&s[start..i])?;
        match escaped {
            Some(e) => f.write_str(e)?,
            None => write!(f, "\\u{b:04x}")?,
        }
        start = i + 1;
    }
    f.write_str(&s[start..])?;
    f.write_char('"')
}
