//! Sorting resources by an attribute (RFC 7644 §3.4.2.3), by the attribute's characteristics
//! from the schema: strings by code point when caseExact, else by their Unicode lower-casing;
//! dateTimes as instants; numbers by value (integers exactly); booleans false first; a
//! multi-valued attribute by its primary value, else its first. Resources without a value
//! (absent or null) sort last when ascending and first when descending.

use std::cmp::Ordering;

use scim_filter::{AttrPath, AttrSchema, AttrType, Instant};
use scim_schema::ResourceTypeRef;
use serde_json::{Number, Value};

use crate::store::StoredResource;

/// The value a resource sorts by: for a multi-valued attribute, the primary value (or the
/// first).
pub(crate) fn sort_value<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let obj = resource.as_object()?;
    let get = scim_filter::names::get;
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

/// What the comparison needs to know about the attribute sorted by: its type and whether
/// it is caseExact. Without a schema (a path the resource type does not define), strings
/// compare case-insensitively and the other types come from the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortAttr {
    attr_type: Option<AttrType>,
    case_exact: bool,
}

impl SortAttr {
    /// No schema: the JSON's own types, strings case-insensitively.
    pub(crate) const UNKNOWN: SortAttr = SortAttr {
        attr_type: None,
        case_exact: false,
    };

    /// `path` resolved once against `rt`; a complex attribute sorts by its `value`.
    pub(crate) fn of(rt: &ResourceTypeRef<'_>, path: &AttrPath) -> SortAttr {
        let info = match rt.attribute(path) {
            Some(info) if info.attr_type == AttrType::Complex && path.sub_attr.is_none() => {
                let mut value = path.clone();
                value.sub_attr = Some("value".to_owned());
                rt.attribute(&value)
            }
            other => other,
        };
        match info {
            Some(info) => SortAttr {
                attr_type: Some(info.attr_type),
                case_exact: info.case_exact,
            },
            None => SortAttr::UNKNOWN,
        }
    }

    /// The key `value` sorts by.
    fn key(self, value: &Value) -> Key {
        match value {
            Value::Bool(b) => Key::Bool(*b),
            Value::Number(n) => Key::Number(Num::of(n)),
            Value::String(s) => {
                let text = if self.case_exact {
                    Text::Exact(s.clone())
                } else {
                    Text::Folded(s.to_lowercase(), s.clone())
                };
                match self.attr_type {
                    Some(AttrType::DateTime) => match Instant::parse(s) {
                        Some(instant) => Key::Instant(instant, text),
                        None => Key::Text(text),
                    },
                    _ => Key::Text(text),
                }
            }
            // Values of no sortable type (a shape the schema refuses) after all others, in
            // a fixed order.
            other => Key::Other(other.to_string()),
        }
    }
}

/// A sort key. The variants' order ranks values of different kinds (only values the
/// schema refuses mix kinds), as SQLite ranks numbers before text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// `false` before `true`.
    Bool(bool),
    Number(Num),
    /// A dateTime by its instant, then as text (as SQL's tie-break does).
    Instant(Instant, Text),
    Text(Text),
    Other(String),
}

/// Text by code point (caseExact), or by its lower-casing then by code point.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Text {
    Exact(String),
    Folded(String, String),
}

/// A JSON number, compared exactly: integers of `i64`'s range as integers (beyond 2^53
/// too), an integer and a float by value. An integer beyond `i64` is a float, as SQLite
/// reads it, so that the SQL stores sort as the engine does.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i128::from(i)),
            // JSON numbers are finite.
            None => Num::Float(n.as_f64().unwrap_or(0.0)),
        }
    }
}

/// `i` against the finite `f`, exactly.
fn int_float(i: i128, f: f64) -> Ordering {
    let floor = f.floor();
    // Every i128 lies in (-2^127, 2^127).
    if floor >= 1.7e38 {
        return Ordering::Less;
    }
    if floor < -1.7e38 {
        return Ordering::Greater;
    }
    // `floor` is an integer in i128's range, so the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    let whole = floor as i128;
    i.cmp(&whole).then(if f > floor {
        Ordering::Less
    } else {
        Ordering::Equal
    })
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        match (*self, *other) {
            (Num::Int(a), Num::Int(b)) => a.cmp(&b),
            (Num::Float(a), Num::Float(b)) => a.total_cmp(&b),
            (Num::Int(a), Num::Float(b)) => int_float(a, b),
            (Num::Float(a), Num::Int(b)) => int_float(b, a).reverse(),
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Num {}

/// Sorts `items` by the keys `key` gives, in place and stably (equal values keep their
/// order). Items without a value sort last ascending and first descending (RFC 7644
/// §3.4.2.3).
fn sort_keyed<T>(items: &mut Vec<T>, descending: bool, key: impl Fn(&T) -> Option<Key>) {
    let mut keyed: Vec<(Option<Key>, T)> = items.drain(..).map(|t| (key(&t), t)).collect();
    keyed.sort_by(|(a, _), (b, _)| {
        let ascending = match (a, b) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if descending {
            ascending.reverse()
        } else {
            ascending
        }
    });
    items.extend(keyed.into_iter().map(|(_, t)| t));
}

/// Sorts resources of one type by `path`, resolved against `rt` (`None`: no schema).
pub(crate) fn sort_resources(
    resources: &mut Vec<StoredResource>,
    path: &AttrPath,
    descending: bool,
    rt: Option<&ResourceTypeRef<'_>>,
) {
    let attr = rt.map_or(SortAttr::UNKNOWN, |rt| SortAttr::of(rt, path));
    sort_keyed(resources, descending, |r| {
        sort_value(&r.resource, path).map(|v| attr.key(v))
    });
}

/// Sorts resources of several types by `path`, each by its own type's characteristics
/// (`attr(item)`).
pub(crate) fn sort_mixed<T>(
    items: &mut Vec<T>,
    path: &AttrPath,
    descending: bool,
    resource: impl Fn(&T) -> (&Value, SortAttr),
) {
    sort_keyed(items, descending, |t| {
        let (value, attr) = resource(t);
        sort_value(value, path).map(|v| attr.key(v))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_schema::Registry;
    use serde_json::json;

    const USER: &str = "User";

    /// Sorts users (`values[i]` as the attribute `attr`, `None` leaving it out) and gives
    /// back the indexes in the sorted order.
    fn order(attr: &str, values: &[Option<Value>], descending: bool) -> Vec<usize> {
        let registry = Registry::standard();
        let rt = registry.resource_type(USER).expect("User");
        let path = AttrPath::parse(attr).expect("path");
        let mut resources: Vec<StoredResource> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut doc = json!({ "id": i.to_string() });
                if let Some(v) = v {
                    set(&mut doc, &path, v.clone());
                }
                StoredResource::new(i.to_string(), 1, doc)
            })
            .collect();
        sort_resources(&mut resources, &path, descending, Some(&rt));
        resources
            .iter()
            .map(|r| r.id.parse().expect("index"))
            .collect()
    }

    fn set(doc: &mut Value, path: &AttrPath, v: Value) {
        let base = match &path.urn {
            Some(urn) => {
                doc[urn.as_str()] = json!({});
                &mut doc[urn.as_str()]
            }
            None => doc,
        };
        match &path.sub_attr {
            // A multi-valued attribute's elements, written whole.
            Some(sub) if !v.is_array() => base[path.name.as_str()] = json!({ sub.as_str(): v }),
            _ => base[path.name.as_str()] = v,
        }
    }

    fn strings(values: &[&str]) -> Vec<Option<Value>> {
        values.iter().map(|s| Some(json!(s))).collect()
    }

    #[test]
    fn absent_and_null_last_ascending_first_descending() {
        let values = [Some(json!("b")), None, Some(json!("a")), Some(Value::Null)];
        assert_eq!(order("userName", &values, false), [2, 0, 1, 3]);
        assert_eq!(order("userName", &values, true), [1, 3, 0, 2]);
    }

    #[test]
    fn case_exact_strings_by_code_point() {
        // externalId is caseExact (RFC 7643 §3.1).
        let values = strings(&["b", "A", "a", "B"]);
        assert_eq!(order("externalId", &values, false), [1, 3, 2, 0]);
        assert_eq!(order("externalId", &values, true), [0, 2, 3, 1]);
    }

    #[test]
    fn other_strings_by_lower_casing() {
        let values = strings(&["b", "A", "a", "B", "É", "f"]);
        // "a" (1, 2 with the code-point tie-break "A" < "a"), "b" (3, 0), "f", "é".
        assert_eq!(order("displayName", &values, false), [1, 2, 3, 0, 5, 4]);
        assert_eq!(order("displayName", &values, true), [4, 5, 0, 3, 2, 1]);
    }

    #[test]
    fn date_times_as_instants() {
        let values = strings(&[
            "2024-01-01T05:30:00Z",
            "2024-01-01T05:30:00.5Z",
            "2024-01-01T10:00:00+05:00",
            "2024-01-01T06:00:00Z",
        ]);
        // 10:00+05:00 is 05:00Z.
        let path = "meta.lastModified";
        assert_eq!(order(path, &values, false), [2, 0, 1, 3]);
        assert_eq!(order(path, &values, true), [3, 1, 0, 2]);
    }

    #[test]
    fn numbers_by_value_integers_exactly() {
        let big = 9_007_199_254_740_993_i64; // 2^53 + 1
        let values = [
            Some(json!(big)),
            Some(json!(10)),
            Some(json!(9_007_199_254_740_992.0_f64)),
            Some(json!(9.5)),
            Some(json!(-3)),
            Some(json!(big - 2)),
        ];
        // `loginCount` is not in the standard schema: numbers compare by the JSON's type.
        assert_eq!(order("loginCount", &values, false), [4, 3, 1, 5, 2, 0]);
        assert_eq!(order("loginCount", &values, true), [0, 2, 5, 1, 3, 4]);
    }

    #[test]
    fn booleans_false_first() {
        let values = [Some(json!(true)), Some(json!(false)), None];
        assert_eq!(order("active", &values, false), [1, 0, 2]);
        assert_eq!(order("active", &values, true), [2, 0, 1]);
    }

    #[test]
    fn multi_valued_by_primary_else_first() {
        let values = [
            Some(json!([{ "value": "c@x" }, { "value": "a@x", "primary": true }])),
            Some(json!([{ "value": "b@x" }, { "value": "0@x" }])),
            Some(json!([])),
        ];
        assert_eq!(order("emails", &values, false), [0, 1, 2]);
        assert_eq!(order("emails.value", &values, false), [0, 1, 2]);
        assert_eq!(order("emails", &values, true), [2, 1, 0]);
    }

    #[test]
    fn equal_values_keep_their_order() {
        let values = strings(&["x", "x", "x"]);
        assert_eq!(order("userName", &values, false), [0, 1, 2]);
        assert_eq!(order("userName", &values, true), [0, 1, 2]);
    }

    #[test]
    fn numbers_exact_between_integers_and_floats() {
        assert_eq!(int_float(3, 3.0), Ordering::Equal);
        assert_eq!(int_float(3, 3.5), Ordering::Less);
        assert_eq!(int_float(4, 3.5), Ordering::Greater);
        assert_eq!(int_float(-4, -3.5), Ordering::Less);
        assert_eq!(
            int_float(1 << 53 | 1, 9_007_199_254_740_992.0),
            Ordering::Greater
        );
        assert_eq!(int_float(i128::MAX, 1e300), Ordering::Less);
    }
}
