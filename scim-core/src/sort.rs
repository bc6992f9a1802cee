//! Sorting resources by an attribute (RFC 7644 §3.4.2.3): strings case-insensitively,
//! numbers by value, booleans false first; resources without a value last.

use std::cmp::Ordering;

use scim_filter::AttrPath;
use serde_json::Value;

use crate::store::StoredResource;

/// The value a resource sorts by: for a multi-valued attribute, the primary value (or the
/// first).
pub(crate) fn sort_value<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let obj = resource.as_object()?;
    let get = |o: &'a serde_json::Map<String, Value>, k: &str| -> Option<&'a Value> {
        o.get(k).or_else(|| {
            o.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        })
    };
    let base = match &path.urn {
        Some(urn) => match get(obj, urn) {
            Some(Value::Object(ext)) => ext,
            _ => obj,
        },
        None => obj,
    };
    let attr = get(base, &path.name)?;
    let attr = match attr {
        Value::Array(items) => items
            .iter()
            .find(|v| v.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?,
        other => other,
    };
    match (&path.sub_attr, attr) {
        (Some(sub), Value::Object(o)) => get(o, sub),
        (None, Value::Object(o)) => get(o, "value"),
        (_, v) => Some(v),
    }
    .filter(|v| !v.is_null())
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x
            .to_lowercase()
            .cmp(&y.to_lowercase())
            .then_with(|| x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Sorts in place; stable, so equal values keep their order.
pub(crate) fn sort_resources(resources: &mut [StoredResource], path: &AttrPath, descending: bool) {
    resources.sort_by(|a, b| {
        match (sort_value(&a.resource, path), sort_value(&b.resource, path)) {
            (Some(x), Some(y)) => {
                let o = compare(x, y);
                if descending {
                    o.reverse()
                } else {
                    o
                }
            }
            // Unassigned values sort last either way.
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    });
}
