//! `bulkId:` references (RFC 7644 §3.7.2): finding them in an operation, and replacing
//! them with the ids the request's POSTs created.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

/// What a reference starts with (RFC 7644 §3.7.2): `bulkId:qwerty`.
pub(super) const REFERENCE: &str = "bulkId:";

/// A reference is a string whose last `/`-separated segment is `bulkId:<id>`: a whole value
/// (`"bulkId:qwerty"`), a path (`/Groups/bulkId:qwerty`) or a `$ref` URI. Returns what comes
/// before the reference, and the bulkId.
pub(super) fn split_reference(s: &str) -> Option<(&str, &str)> {
    let (prefix, last) = match s.rfind('/') {
        Some(slash) => s.split_at(slash + 1),
        None => ("", s),
    };
    Some((prefix, last.strip_prefix(REFERENCE)?))
}

/// Every bulkId referenced by a string value anywhere in `value`.
pub(super) fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some((_, id)) = split_reference(s) {
                out.insert(id.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        Value::Object(m) => m.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// `s` with its reference replaced by the created id, if it has one that is resolved.
pub(super) fn resolve_str(s: &str, ids: &HashMap<String, String>) -> Option<String> {
    let (prefix, bulk_id) = split_reference(s)?;
    ids.get(bulk_id).map(|id| format!("{prefix}{id}"))
}

/// Replaces every resolved reference in the string values of `value`, at any depth.
pub(super) fn resolve(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(resolved) = resolve_str(s, ids) {
                *s = resolved;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| resolve(v, ids)),
        Value::Object(m) => m.values_mut().for_each(|v| resolve(v, ids)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn references_are_whole_values_paths_and_uris() {
        assert_eq!(split_reference("bulkId:qwerty"), Some(("", "qwerty")));
        assert_eq!(
            split_reference("/Groups/bulkId:qwerty"),
            Some(("/Groups/", "qwerty"))
        );
        assert_eq!(
            split_reference("https://example.com/v2/Users/bulkId:q"),
            Some(("https://example.com/v2/Users/", "q"))
        );
        assert_eq!(split_reference("bulkId:a/b"), None);
        assert_eq!(split_reference("Alice"), None);
        assert_eq!(split_reference("xbulkId:q"), None);
    }

    #[test]
    fn resolve_replaces_at_any_depth_and_keeps_unknown_references() {
        let ids: HashMap<String, String> = [("u".to_owned(), "92b7".to_owned())].into();
        let mut data = json!({
            "members": [{"value": "bulkId:u", "$ref": "../Users/bulkId:u"}, {"value": "bulkId:v"}],
            "ext": {"manager": {"value": "bulkId:u"}},
            "n": 1
        });
        let mut refs = BTreeSet::new();
        collect_references(&data, &mut refs);
        assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["u", "v"]);
        resolve(&mut data, &ids);
        assert_eq!(
            data,
            json!({
                "members": [{"value": "92b7", "$ref": "../Users/92b7"}, {"value": "bulkId:v"}],
                "ext": {"manager": {"value": "92b7"}},
                "n": 1
            })
        );
    }
}
