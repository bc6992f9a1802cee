//! Attribute names are case-insensitive (RFC 7643 §2.1), so one JSON object must not name an
//! attribute twice in two spellings (`"userName"` and `"USERNAME"`): which one was meant is
//! undecidable. The rule lives here once; validation of documents (POST, PUT, stored
//! resources) and of PATCH values both apply it.

use serde_json::Value;

use super::issue::{Issue, IssueKind, ValidationError};
use super::Object;

/// Above this many keys the repeat check sorts folded keys instead of comparing pairs.
const PAIRWISE_MAX: usize = 12;

/// The keys of `obj` spelt like an earlier key, ignoring ASCII case, in `obj`'s order.
pub(crate) fn repeated_names(obj: &Object) -> Vec<&str> {
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let same = |a: &str, b: &str| a.len() == b.len() && a.eq_ignore_ascii_case(b);
    if keys.len() <= PAIRWISE_MAX {
        // Objects of a resource have a few keys: no allocation per key.
        return keys
            .iter()
            .enumerate()
            .filter(|&(i, k)| keys[..i].iter().any(|e| same(e, k)))
            .map(|(_, k)| *k)
            .collect();
    }
    let mut folded: Vec<(String, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_ascii_lowercase(), i))
        .collect();
    folded.sort_unstable();
    let mut repeats: Vec<usize> = folded
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| w[1].1)
        .collect();
    repeats.sort_unstable();
    repeats.dedup();
    repeats.into_iter().map(|i| keys[i]).collect()
}

/// Whether `key` starts with `urn:` (any case): the attributes of an object under such a key
/// are written `urn:…:name`, not `urn:….name`.
fn is_urn(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// Collects the repeats in `value`, whose path is `path`; `sep` joins a key of `value` to
/// `path` (`:` inside an extension object, `.` elsewhere).
fn walk(value: &Value, path: &mut String, sep: &str, issues: &mut Vec<Issue>) {
    match value {
        Value::Object(obj) => {
            for key in repeated_names(obj) {
                issues.push(Issue {
                    path: join(path, sep, key),
                    kind: IssueKind::Duplicate,
                });
            }
            for (key, v) in obj {
                let len = path.len();
                if !path.is_empty() {
                    path.push_str(sep);
                }
                path.push_str(key);
                walk(v, path, if is_urn(key) { ":" } else { "." }, issues);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(v, path, ".", issues);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn join(path: &str, sep: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}{sep}{key}")
    }
}

/// Refuses `value` when an object in it, at any depth, has two keys that differ only in
/// case: each such key is an [`IssueKind::Duplicate`] (`invalidSyntax`), as validation
/// reports it for a POST or PUT body. `at` is the path of `value` itself (`""` for a whole
/// resource or a PATCH value without path), prefixed to the issues' paths.
///
/// A PATCH value is checked with this before it is applied (RFC 7643 §2.1: attribute names
/// are case-insensitive, so `{"givenName": "a", "GIVENNAME": "b"}` names one attribute twice).
///
/// ```
/// use serde_json::json;
/// let err = scim_schema::check_distinct_names(
///     &json!({"name": {"givenName": "a", "GIVENNAME": "b"}}), "").unwrap_err();
/// assert_eq!(err.scim_type(), "invalidSyntax");
/// let issue = &err.issues()[0];
/// assert_eq!(issue.path.to_ascii_lowercase(), "name.givenname");
/// assert_eq!(err.to_string(), format!("attribute `{}` appears more than once", issue.path));
/// assert!(scim_schema::check_distinct_names(&json!([{"value": "a"}, {"VALUE": "b"}]), "emails").is_ok());
/// ```
pub fn check_distinct_names(value: &Value, at: &str) -> Result<(), ValidationError> {
    // Scalars (most PATCH values) have no keys to repeat.
    if !matches!(value, Value::Object(_) | Value::Array(_)) {
        return Ok(());
    }
    let mut issues = Vec::new();
    let mut path = at.to_owned();
    let sep = if is_urn(at) { ":" } else { "." };
    walk(value, &mut path, sep, &mut issues);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::new(issues))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: Value) -> Object {
        match v {
            Value::Object(o) => o,
            _ => Object::new(),
        }
    }

    #[test]
    fn repeats_are_found_however_many_keys() {
        assert!(repeated_names(&object(json!({"a": 1, "b": 2}))).is_empty());
        assert_eq!(
            repeated_names(&object(json!({"userName": 1, "USERNAME": 2, "x": 3}))).len(),
            1
        );
        let mut big: Object = (0..40).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(repeated_names(&big).is_empty());
        big.insert("K7".into(), json!(0));
        big.insert("k07".into(), json!(0));
        big.insert("K39".into(), json!(0));
        let mut found = repeated_names(&big);
        found.sort_unstable();
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn paths_name_where_the_repeat_is() {
        let issues = |v: Value, at: &str| -> Vec<String> {
            check_distinct_names(&v, at)
                .err()
                .map(|e| {
                    e.issues()
                        .iter()
                        .map(|i| i.path.to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            issues(json!({"name.givenName": "a", "NAME.GIVENNAME": "b"}), ""),
            ["name.givenname"]
        );
        assert_eq!(
            issues(json!([{"value": "a", "VALUE": "b"}]), "emails"),
            ["emails[0].value"]
        );
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        assert_eq!(
            issues(json!({urn: {"manager": {"value": "a", "Value": "b"}}}), ""),
            [format!("{urn}:manager.value").to_ascii_lowercase()]
        );
        assert!(issues(json!("text"), "userName").is_empty());
    }
}
