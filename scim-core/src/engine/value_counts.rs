//! How many values a multi-valued attribute may hold after a write
//! ([`Config::max_values`](crate::Config::max_values)). A request body is bounded by
//! `max_payload`, but PATCH `add`s repeated by a client would otherwise grow one resource
//! without end, and with it the cost of every later read and write of it.
//!
//! Counted: the arrays of the resource's top-level attributes and of its extensions'
//! attributes (not arrays inside their elements), except the attribute the store keeps out
//! of line ([`Store::out_of_line`](crate::Store::out_of_line): a group's members in a table
//! of their own). A write is refused only when it leaves an attribute over the limit *and*
//! with more values than before, so a resource that is over it (the limit was lowered) can
//! still be changed and shrunk.

use scim_schema::ResourceTypeRef;
use serde_json::Value;

use super::{Engine, Result};
use crate::{ScimError, ScimType, Store};

impl<S: Store> Engine<S> {
    /// The [`ValueCounts`] of `resource`, without the attribute the store keeps out of line.
    pub(super) fn value_counts(&self, rt: &ResourceTypeRef<'_>, resource: &Value) -> ValueCounts {
        ValueCounts::of(rt, resource, self.store.out_of_line(&rt.definition().name))
    }

    /// Refuses a write that leaves an attribute of `resource` with more than
    /// [`Config::max_values`](crate::Config::max_values) values and more than `before`.
    pub(super) fn check_value_counts(
        &self,
        rt: &ResourceTypeRef<'_>,
        before: &ValueCounts,
        resource: &Value,
    ) -> Result<()> {
        before.check(&self.value_counts(rt, resource), self.config.max_values)
    }
}

/// The number of values of each counted attribute of a resource, named `attr` or
/// `urn:…:attr`.
#[derive(Debug, Default)]
pub(super) struct ValueCounts(Vec<(String, usize)>);

impl ValueCounts {
    /// The counts of `resource`, leaving out the attribute named `out_of_line`.
    pub(super) fn of(
        rt: &ResourceTypeRef<'_>,
        resource: &Value,
        out_of_line: Option<&str>,
    ) -> ValueCounts {
        let mut counts = Vec::new();
        let Value::Object(m) = resource else {
            return ValueCounts(counts);
        };
        for (key, value) in m {
            match value {
                Value::Array(items)
                    if !out_of_line.is_some_and(|o| o.eq_ignore_ascii_case(key)) =>
                {
                    counts.push((key.clone(), items.len()));
                }
                Value::Object(inner) if rt.extension(key).is_some() => {
                    for (sub, v) in inner {
                        if let Value::Array(items) = v {
                            counts.push((format!("{key}:{sub}"), items.len()));
                        }
                    }
                }
                _ => {}
            }
        }
        ValueCounts(counts)
    }

    fn get(&self, name: &str) -> usize {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(0, |(_, c)| *c)
    }

    /// 400 `invalidValue` when an attribute of `after` holds more than `max` values and more
    /// than it held in `self` (the resource before the write).
    pub(super) fn check(&self, after: &ValueCounts, max: usize) -> Result<()> {
        for (name, count) in &after.0 {
            if *count > max && *count > self.get(name) {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!(
                        "`{name}` would hold {count} values; a resource keeps at most {max} \
                         in one attribute (max_values)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn growth_past_the_limit_is_refused_and_shrinking_is_not() {
        let registry = scim_schema::Registry::standard();
        let rt = registry.resource_type("User").unwrap();
        let of = |v: Value| ValueCounts::of(&rt, &v, None);
        let none = ValueCounts::default();
        let three = of(json!({"emails": [1, 2, 3], "name": {"x": [1, 2, 3, 4]}}));
        // Only arrays of attributes count (not one inside a complex value).
        assert!(none.check(&three, 3).is_ok());
        let four = of(json!({"Emails": [1, 2, 3, 4]}));
        let e = none.check(&four, 3).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)));
        assert!(
            e.detail.contains("`Emails` would hold 4 values"),
            "{}",
            e.detail
        );
        // Over the limit already: the same count or fewer pass, one more does not.
        assert!(four.check(&four, 3).is_ok());
        assert!(four.check(&three, 3).is_ok());
        let five = of(json!({"emails": [1, 2, 3, 4, 5]}));
        assert!(four.check(&five, 3).is_err());
        // An extension's attributes count under their URN.
        let ext = of(json!({EXT: {"roles": [1, 2, 3, 4]}}));
        let e = none.check(&ext, 3).unwrap_err();
        assert!(e.detail.contains(&format!("`{EXT}:roles`")), "{}", e.detail);
        // The attribute kept out of line does not count.
        let members = json!({"members": [1, 2, 3, 4]});
        let group = registry.resource_type("Group").unwrap();
        assert!(none
            .check(&ValueCounts::of(&group, &members, Some("members")), 3)
            .is_ok());
        assert!(none
            .check(&ValueCounts::of(&group, &members, None), 3)
            .is_err());
    }
}
