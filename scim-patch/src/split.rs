//! Splitting a PATCH around a multi-valued attribute kept out of line: a store that keeps a
//! group's members in a table of their own applies "add these members" and "remove the
//! member with value X" by key, without reading or rewriting 100,000 members.

use serde_json::Value;

use scim_filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use scim_schema::Mutability;

use crate::error::{syntax, PatchError};
use crate::message::{OpKind, PatchOperation, PatchRequest};
use crate::outcome::Normalization;
use crate::select::{FxMap, FxSet};
use crate::Patcher;

/// A PATCH split for a resource whose multi-valued attribute (e.g. `members`) is kept out
/// of line: the operations on the rest of the resource, and the net change to the
/// attribute's elements, keyed by their `value`.
///
/// Applied as: `rest` on the resource without the attribute; then `clear`, `removed`,
/// `added` on the elements, where an added element whose `value` is present already is
/// skipped. That is the outcome of applying the whole request to the whole resource.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SplitPatch {
    /// The operations that do not touch the attribute, in their order.
    pub rest: PatchRequest,
    /// Every element is removed first (`replace` of the whole attribute, or `remove`
    /// without a filter).
    pub clear: bool,
    /// The `value`s of the elements removed.
    pub removed: Vec<String>,
    /// The elements added, validated and normalised as [`Patcher::apply`] would, at most one
    /// per `value` (compared case-insensitively, as `value eq` filters compare them).
    pub added: Vec<Value>,
    /// What the profile and schema leniency normalised in the element operations.
    pub normalizations: Vec<Normalization>,
}

impl SplitPatch {
    /// Whether the request changes no element.
    pub fn elements_unchanged(&self) -> bool {
        !self.clear && self.removed.is_empty() && self.added.is_empty()
    }
}

/// The net state of the element changes while the operations are read in order. Each
/// change is one hash lookup: a request adding or removing 10,000 members is linear in them.
#[derive(Default)]
struct Net {
    clear: bool,
    removed: Vec<String>,
    /// The lower-cased `removed`.
    removed_keys: FxSet<String>,
    /// The elements added, in order; `None` where a later remove took one back.
    added: Vec<Option<Value>>,
    /// The position in `added` of each lower-cased `value` added.
    added_at: FxMap<String, usize>,
}

impl Net {
    fn add(&mut self, element: Value, value: &str) {
        let key = value.to_lowercase();
        if !self.added_at.contains_key(&key) {
            self.added_at.insert(key, self.added.len());
            self.added.push(Some(element));
        }
    }

    fn remove(&mut self, value: &str) {
        let key = value.to_lowercase();
        if let Some(i) = self.added_at.remove(&key) {
            if let Some(slot) = self.added.get_mut(i) {
                *slot = None;
            }
        }
        if self.removed_keys.insert(key) {
            self.removed.push(value.to_owned());
        }
    }

    fn clear(&mut self) {
        *self = Net {
            clear: true,
            ..Net::default()
        };
    }

    /// The elements added, in order.
    fn added(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.added)
            .into_iter()
            .flatten()
            .collect()
    }
}

impl Patcher<'_> {
    /// Splits `request` for a resource whose multi-valued complex attribute `attr` (e.g.
    /// `members`) a store keeps out of line, keyed by each element's `value`.
    ///
    /// `Ok(None)` when an operation needs the elements themselves — a filter other than
    /// `value eq "…"` (or an `or` of those), a sub-attribute path, a no-path value naming
    /// `attr`, an element without a string `value`, an attribute that is not writable: apply
    /// the whole request to the whole resource instead. Errors are those
    /// [`Patcher::apply`] gives for the same elements (e.g. a member of the wrong type).
    ///
    /// ```
    /// use scim_patch::{PatchOptions, PatchRequest, Patcher};
    /// use serde_json::json;
    ///
    /// let registry = scim_schema::Registry::standard();
    /// let patcher = Patcher::new(registry.resource_type("Group").unwrap(), PatchOptions::default());
    /// let request = PatchRequest::from_json(&json!({
    ///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    ///     "Operations": [
    ///         {"op": "add", "path": "members", "value": [{"value": "u3"}]},
    ///         {"op": "remove", "path": "members[value eq \"u1\"]"},
    ///         {"op": "replace", "path": "displayName", "value": "Admins"}
    ///     ]
    /// }), patcher.options())?;
    /// let split = patcher.split(&request, "members")?.unwrap();
    /// assert_eq!(split.added, vec![json!({"value": "u3"})]);
    /// assert_eq!(split.removed, vec!["u1".to_owned()]);
    /// assert_eq!(split.rest.operations.len(), 1); // the displayName replace
    ///
    /// // A filter on another sub-attribute needs the members themselves.
    /// let by_display = PatchRequest::from_json(&json!({
    ///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    ///     "Operations": [{"op": "remove", "path": "members[display eq \"Babs\"]"}]
    /// }), patcher.options())?;
    /// assert!(patcher.split(&by_display, "members")?.is_none());
    /// # Ok::<(), scim_patch::PatchError>(())
    /// ```
    pub fn split(
        &self,
        request: &PatchRequest,
        attr: &str,
    ) -> Result<Option<SplitPatch>, PatchError> {
        if !self.out_of_line_ok(attr) {
            return Ok(None);
        }
        let mut rest = Vec::new();
        let mut net = Net::default();
        let mut normalizations = Vec::new();
        for (i, op) in request.operations.iter().enumerate() {
            let path = match &op.path {
                None => {
                    if names_attr(op.value.as_ref(), attr) {
                        return Ok(None);
                    }
                    rest.push(op.clone());
                    continue;
                }
                Some(path) => path,
            };
            if !self.is_attr(&path.attr, attr) {
                rest.push(op.clone());
                continue;
            }
            if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
                return Ok(None);
            }
            match (op.op, &path.value_filter, &op.value) {
                (OpKind::Add | OpKind::Replace, None, Some(value)) => {
                    let Some(elements) = self.elements(i, path, value, &mut normalizations)? else {
                        return Ok(None);
                    };
                    if op.op == OpKind::Replace {
                        net.clear();
                    }
                    for element in elements {
                        let Some(v) = element_value(&element).map(str::to_owned) else {
                            return Ok(None);
                        };
                        net.add(element, &v);
                    }
                }
                (OpKind::Remove, None, None) => net.clear(),
                (OpKind::Remove, None, Some(value)) => {
                    if !self.options().profile.remove_with_value {
                        return Err(syntax(format!(
                            "`remove` of `{attr}` with a `value` is not RFC 7644; only a path selects what to remove"
                        ))
                        .at(i, op.path_text.clone()));
                    }
                    let Some(values) = listed_values(value) else {
                        return Ok(None);
                    };
                    normalizations.push(Normalization {
                        operation: i,
                        kind: crate::NormalizationKind::RemoveWithValue,
                    });
                    for v in values {
                        net.remove(v);
                    }
                }
                (OpKind::Remove, Some(filter), None) => {
                    let Some(values) = value_eq_values(filter) else {
                        return Ok(None);
                    };
                    for v in values {
                        net.remove(v);
                    }
                }
                _ => return Ok(None),
            }
        }
        let added = net.added();
        Ok(Some(SplitPatch {
            rest: PatchRequest {
                operations: rest,
                normalizations: request.normalizations.clone(),
            },
            clear: net.clear,
            removed: net.removed,
            added,
            normalizations,
        }))
    }

    /// Whether `attr` is a writable multi-valued complex attribute of the core schema.
    fn out_of_line_ok(&self, attr: &str) -> bool {
        let Some(rt) = self.resource_type() else {
            return false;
        };
        let path = AttrPath::new(attr);
        rt.resolve(&path).is_some_and(|r| {
            r.sub_attribute.is_none()
                && r.attribute.multi_valued
                && !r.attribute.sub_attributes.is_empty()
                && matches!(
                    r.attribute.mutability,
                    Mutability::ReadWrite | Mutability::WriteOnly
                )
                && r.attribute.sub_attribute("value").is_some()
        })
    }

    /// Whether `path` names the core attribute `attr` (unqualified or with the core URN).
    fn is_attr(&self, path: &AttrPath, attr: &str) -> bool {
        path.name.eq_ignore_ascii_case(attr)
            && path
                .urn
                .as_deref()
                .is_none_or(|urn| self.resource_type().is_some_and(|rt| rt.is_core(urn)))
    }

    /// The elements `value` adds, validated and normalised by applying the operation to an
    /// empty resource; `None` when they cannot be keyed.
    fn elements(
        &self,
        i: usize,
        path: &PatchPath,
        value: &Value,
        normalizations: &mut Vec<Normalization>,
    ) -> Result<Option<Vec<Value>>, PatchError> {
        let listed = match value {
            Value::Array(items) => items,
            _ => return Ok(None),
        };
        if listed.iter().any(|e| element_value(e).is_none()) {
            return Ok(None);
        }
        let mut scratch = Value::Object(serde_json::Map::new());
        let request = PatchRequest {
            operations: vec![PatchOperation {
                op: OpKind::Add,
                path: Some(path.clone()),
                path_text: None,
                value: Some(value.clone()),
            }],
            normalizations: Vec::new(),
        };
        let outcome = self
            .apply(&mut scratch, &request)
            .map_err(|e| e.at(i, Some(path.to_string())))?;
        normalizations.extend(outcome.normalizations.into_iter().map(|mut n| {
            n.operation = i;
            n
        }));
        let Value::Object(mut map) = scratch else {
            return Ok(None);
        };
        // The scratch resource has the one attribute, under whatever key the applier used.
        let elements = match map.iter().next().map(|(k, _)| k.clone()) {
            Some(key) if map.len() == 1 => map.remove(&key),
            _ => None,
        };
        Ok(match elements {
            Some(Value::Array(items)) => Some(items),
            None => Some(Vec::new()),
            Some(_) => None,
        })
    }
}

/// An element's `value`, when it is an object with a string `value` (any key case).
fn element_value(element: &Value) -> Option<&str> {
    scim_filter::names::get_in(element, "value").and_then(Value::as_str)
}

/// Whether a no-path value names `attr` (as `attr`, `attr.sub`, or URN-qualified).
fn names_attr(value: Option<&Value>, attr: &str) -> bool {
    let Some(Value::Object(map)) = value else {
        return false;
    };
    map.keys().any(|k| {
        let k = k.to_ascii_lowercase();
        let attr = attr.to_ascii_lowercase();
        let last = k.rsplit(':').next().unwrap_or(&k);
        last == attr || last.starts_with(&format!("{attr}."))
    })
}

/// The values an Entra-style `remove` lists: `[{"value": "id"}, …]` or strings. `None` when
/// an entry names more than its `value`.
fn listed_values(value: &Value) -> Option<Vec<&str>> {
    let list: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    list.into_iter()
        .map(|v| match v {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) if o.len() == 1 => element_value(v),
            _ => None,
        })
        .collect()
}

/// The literals of a `value eq "…"` filter, or of an `or` of them.
fn value_eq_values(filter: &Filter) -> Option<Vec<&str>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(s),
        } if path.urn.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![s.as_str()])
        }
        Filter::Or(parts) => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(value_eq_values(p)?);
            }
            Some(all)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PatchOptions;
    use serde_json::json;

    fn request(ops: Value, options: &PatchOptions) -> PatchRequest {
        PatchRequest::from_json(
            &json!({"schemas": [crate::PATCH_OP], "Operations": ops}),
            options,
        )
        .unwrap()
    }

    fn split(ops: Value, options: PatchOptions) -> Result<Option<SplitPatch>, PatchError> {
        let registry = scim_schema::Registry::standard();
        let patcher = Patcher::new(registry.resource_type("Group").unwrap(), options);
        patcher.split(&request(ops, &options), "members")
    }

    #[test]
    fn later_operations_win_on_one_value() {
        let s = split(
            json!([
                {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
                {"op": "remove", "path": "members[value eq \"A\"]"},
                {"op": "add", "path": "members", "value": [{"value": "b", "display": "dup"}]}
            ]),
            PatchOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.added, vec![json!({"value": "b"})]);
        assert_eq!(s.removed, vec!["A".to_owned()]);
        assert!(!s.clear);
        assert!(s.rest.operations.is_empty());
    }

    #[test]
    fn replace_and_remove_all_clear() {
        let s = split(
            json!([
                {"op": "add", "path": "members", "value": [{"value": "a"}]},
                {"op": "replace", "path": "members", "value": [{"value": "c"}]}
            ]),
            PatchOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert!(s.clear);
        assert_eq!(s.added, vec![json!({"value": "c"})]);
        let s = split(
            json!([{"op": "remove", "path": "members"}]),
            PatchOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert!(s.clear && s.added.is_empty());
    }

    #[test]
    fn or_of_value_eq_removes_each() {
        let s = split(
            json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]),
            PatchOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.removed, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn entra_value_list_is_split_only_under_its_profile() {
        let ops = json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]);
        let s = split(ops.clone(), PatchOptions::entra_id())
            .unwrap()
            .unwrap();
        assert_eq!(s.removed, vec!["a".to_owned()]);
        assert_eq!(s.normalizations.len(), 1);
        let strict = json!([{"op": "remove", "path": "members", "value": [{"value": "a"}]}]);
        assert_eq!(
            split(strict, PatchOptions::default())
                .unwrap_err()
                .scim_type(),
            "invalidSyntax"
        );
    }

    #[test]
    fn what_needs_the_elements_is_not_split() {
        for ops in [
            json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
            json!([{"op": "remove", "path": "members[value co \"x\"]"}]),
            json!([{"op": "replace", "path": "members[value eq \"x\"].display", "value": "y"}]),
            json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]),
            json!([{"op": "replace", "value": {"members": [{"value": "a"}]}}]),
            json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:Group:members": []}}]),
        ] {
            assert!(
                split(ops.clone(), PatchOptions::lenient())
                    .unwrap()
                    .is_none(),
                "{ops}"
            );
        }
    }

    #[test]
    fn other_attributes_stay_in_rest() {
        let s = split(
            json!([
                {"op": "replace", "value": {"displayName": "x"}},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": []}
            ]),
            PatchOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.rest.operations.len(), 1);
        assert!(s.clear);
    }

    #[test]
    fn invalid_elements_fail_as_apply_fails() {
        let ops = json!([{"op": "add", "path": "members", "value": [{"value": "a", "type": 7}]}]);
        let registry = scim_schema::Registry::standard();
        let patcher = Patcher::new(
            registry.resource_type("Group").unwrap(),
            PatchOptions::default(),
        );
        let req = request(ops, &PatchOptions::default());
        let split_err = patcher.split(&req, "members").unwrap_err();
        let mut group = json!({"displayName": "g"});
        let apply_err = patcher.apply(&mut group, &req).unwrap_err();
        assert_eq!(split_err.scim_type(), apply_err.scim_type());
    }

    #[test]
    fn a_single_valued_or_unknown_attribute_is_never_split() {
        let registry = scim_schema::Registry::standard();
        let patcher = Patcher::new(
            registry.resource_type("User").unwrap(),
            PatchOptions::default(),
        );
        let req = request(
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
            &PatchOptions::default(),
        );
        assert!(patcher.split(&req, "displayName").unwrap().is_none());
        assert!(patcher.split(&req, "nope").unwrap().is_none());
        assert!(Patcher::schemaless(PatchOptions::default())
            .split(&req, "members")
            .unwrap()
            .is_none());
    }
}
