//! Applying a PatchOp to a resource (RFC 7644 §3.5.2.1–3), atomically.
//!
//! [`Patcher::apply`] runs the operations in order over a journal that undoes them all on
//! error. The parts: resolving a path to its attribute and what may be written there
//! (`target`), `add`/`replace` (`add_replace`), `remove` (`remove`), the single-primary rule
//! (`primary`), extension URNs in paths and `schemas` (`extensions`), and the delta the run
//! reports (`delta`).

mod add_replace;
mod delta;
mod extensions;
mod primary;
mod remove;
mod target;

use scim_schema::ResourceTypeRef;
use serde_json::Value;

use crate::error::{invalid_value, no_target, PatchError};
use crate::journal::{Displaced, Journal, Object, Slot};
use crate::message::{OpKind, PatchOperation, PatchRequest};
use crate::outcome::{Delta, Normalization, PatchOutcome};
use crate::select::element_value;
use crate::PatchOptions;
use remove::member_removal_batch;

/// Applies PATCH requests to resources of one resource type.
///
/// ```
/// use scim_patch::{Patcher, PatchOptions, PatchRequest};
/// use serde_json::json;
///
/// let registry = scim_schema::Registry::standard();
/// let users = registry.resource_type("User").unwrap();
/// let patcher = Patcher::new(users, PatchOptions::default());
/// let mut user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1",
///     "userName": "bjensen", "emails": [{"value": "b@x.org", "type": "work", "primary": true}]});
/// let request = PatchRequest::from_json(&json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///     "Operations": [{"op": "add", "path": "emails",
///                     "value": [{"value": "babs@home.org", "type": "home", "primary": true}]}]
/// }), patcher.options())?;
/// let outcome = patcher.apply(&mut user, &request)?;
/// assert!(outcome.changed);
/// // The single-primary rule: the value this request made primary wins.
/// assert_eq!(user["emails"][0]["primary"], false);
/// assert_eq!(user["emails"][1]["primary"], true);
/// assert_eq!(outcome.delta.get("emails").unwrap().added.len(), 1);
/// # Ok::<(), scim_patch::PatchError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Patcher<'r> {
    rt: Option<ResourceTypeRef<'r>>,
    options: PatchOptions,
}

impl<'r> Patcher<'r> {
    /// A schema-aware applier: paths resolve against `rt`, values are type-checked,
    /// mutability and required attributes are enforced.
    pub fn new(rt: ResourceTypeRef<'r>, options: PatchOptions) -> Self {
        Patcher {
            rt: Some(rt),
            options,
        }
    }

    /// An applier without schema: any attribute is accepted, types come from the JSON, a
    /// URN-prefixed attribute lives in the object keyed by its URN unless the URN contains
    /// `:core:`.
    pub fn schemaless(options: PatchOptions) -> Patcher<'static> {
        Patcher { rt: None, options }
    }

    /// The options.
    pub fn options(&self) -> &PatchOptions {
        &self.options
    }

    /// The resource type paths resolve against (`None` for a [schemaless](Patcher::schemaless)
    /// applier).
    pub fn resource_type(&self) -> Option<ResourceTypeRef<'r>> {
        self.rt
    }

    /// Applies every operation of `request` to `resource`, in order. On error the resource
    /// is exactly as it was (the changes made so far are undone).
    pub fn apply(
        &self,
        resource: &mut Value,
        request: &PatchRequest,
    ) -> Result<PatchOutcome, PatchError> {
        let Value::Object(map) = resource else {
            return Err(invalid_value("the resource to patch is not a JSON object"));
        };
        let mut run = Run {
            p: self,
            journal: Journal::default(),
            delta: Delta::default(),
            had_before: Vec::new(),
            normalizations: request.normalizations.clone(),
            primaries: Vec::new(),
            displaced: Vec::new(),
        };
        let had_data = self.extensions_with_data(map);
        let qualified = self.qualify_extension_paths(&request.operations, &mut run.normalizations);
        let ops = qualified.as_deref().unwrap_or(&request.operations);
        let mut i = 0;
        while i < ops.len() {
            let batch = member_removal_batch(&ops[i..]);
            let result = if batch > 1 {
                run.remove_batch(map, &ops[i..i + batch])
                    .map_err(|e| e.at(i, ops[i].path_text.clone()))
            } else {
                run.operation(map, i, &ops[i])
                    .map_err(|e| e.at(i, ops[i].path_text.clone()))
            };
            if let Err(e) = result {
                run.journal.rollback(map);
                return Err(e);
            }
            i += batch.max(1);
        }
        if let Err(e) = run.align_extension_urns(map, &had_data) {
            run.journal.rollback(map);
            return Err(e);
        }
        run.enforce_single_primary(map);
        Ok(run.finish(map))
    }
}

struct Run<'p, 'r> {
    p: &'p Patcher<'r>,
    journal: Journal,
    delta: Delta,
    /// Per delta entry: the attribute's slot, and whether it had a value before.
    had_before: Vec<(Slot, bool)>,
    normalizations: Vec<Normalization>,
    /// Multi-valued attributes touched: slot, the `value` of the element primary before
    /// the request, and the `value`s this request wrote with `primary: true`.
    primaries: Vec<(Slot, String, Option<String>, Vec<String>)>,
    /// Values taken out of the resource that the delta reports as removed: the delta entry,
    /// the position in its `removed`, and the journal entry holding them until `finish`
    /// moves them (no clone; the journal needs them only while the request can fail).
    displaced: Vec<(usize, usize, Displaced)>,
}

/// Whether `key` starts with `urn:` (any case), without slicing inside a character.
fn has_urn_prefix(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

/// Whether an extension object holds any attribute.
fn has_data(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn element_key(v: &Value) -> String {
    element_value(v).map_or_else(|| v.to_string(), str::to_owned)
}

impl Run<'_, '_> {
    pub(super) fn operation(
        &mut self,
        map: &mut Object,
        i: usize,
        op: &PatchOperation,
    ) -> Result<(), PatchError> {
        match (&op.path, op.op, &op.value) {
            (None, OpKind::Remove, _) => Err(no_target("`remove` needs a `path`")),
            (None, kind, Some(value)) => self.no_path(map, i, kind, value),
            (None, kind, None) => Err(invalid_value(format!("`{kind}` needs a `value`"))),
            (Some(path), kind @ (OpKind::Add | OpKind::Replace), None) => {
                // Path and mutability errors first, as they say more.
                let target = self.target(map, &path.attr)?;
                let sub_def = match (&path.attr.sub_attr, target.def) {
                    (Some(sub), Some(def)) => def.sub_attribute(sub),
                    _ => None,
                };
                self.check_writable(map, &target, sub_def, &target.display)?;
                Err(invalid_value(format!("`{kind}` needs a `value`")))
            }
            (Some(path), OpKind::Remove, value) => self.remove(map, i, path, value.as_ref()),
            (Some(path), kind, Some(value)) => match &path.value_filter {
                None => self.set_attr(map, i, kind, &path.attr, value),
                Some(_) => self.filtered(map, i, kind, path, value),
            },
        }
    }
}

trait CloneSubset {
    fn clone_subset(&self, indices: &[usize]) -> Vec<Value>;
}

impl CloneSubset for Vec<Value> {
    fn clone_subset(&self, indices: &[usize]) -> Vec<Value> {
        indices
            .iter()
            .filter_map(|&i| self.get(i).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(i: u32) -> Value {
        json!({"value": format!("m{i}"), "display": format!("member {i}")})
    }

    /// `add` of 20,000 emails of which 19,996 are there already, some twice in the request,
    /// one without a `value` (no prefilter then), one differing only in `type`: exactly the
    /// new ones are appended, in request order. (Each existing value was compared with every
    /// new one before: 400 million comparisons here.)
    #[test]
    fn add_of_many_existing_values_appends_only_the_new_ones() {
        const N: usize = 20_000;
        let email = |i: usize| json!({"value": format!("e{i}@x.io"), "type": "work"});
        let patcher = Patcher::schemaless(PatchOptions::default());
        let mut user = json!({"id": "u", "emails": (0..N).map(email).collect::<Vec<_>>()});
        let mut value: Vec<Value> = (4..N).rev().map(email).collect();
        value.extend([
            email(N),
            email(N),
            json!({"type": "other"}),
            email(7),
            json!({"value": "e8@x.io", "type": "home"}),
            json!({"type": "other"}),
            email(N + 1),
        ]);
        let request = PatchRequest::from_json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "emails", "value": value}]}),
            patcher.options(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let outcome = patcher
            .apply(&mut user, &request)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(outcome.changed);
        let mut expected: Vec<Value> = (0..N).map(email).collect();
        expected.extend([
            email(N),
            json!({"type": "other"}),
            json!({"value": "e8@x.io", "type": "home"}),
            email(N + 1),
        ]);
        assert_eq!(user["emails"], Value::Array(expected));
    }

    /// The removed values reach the delta from the journal (not cloned), in the order the
    /// operations removed them, interleaved rightly with values recorded directly.
    #[test]
    fn delta_lists_removed_values_in_operation_order() {
        let patcher = Patcher::schemaless(PatchOptions::default());
        let original = json!({"id": "g", "members": (1..=5).map(member).collect::<Vec<_>>()});
        let mut group = original.clone();
        let request = PatchRequest::from_json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "remove", "path": "members[value eq \"m2\"]"},
                {"op": "remove", "path": "members[value eq \"M4\"]"},
                {"op": "replace", "path": "members[value eq \"m3\"].display", "value": "x"},
                {"op": "remove", "path": "members[display eq \"member 1\"]"},
                {"op": "add", "path": "members", "value": [member(9)]},
                {"op": "replace", "path": "members", "value": [member(7)]},
            ]}),
            patcher.options(),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let outcome = patcher
            .apply(&mut group, &request)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let change = outcome
            .delta
            .get("members")
            .unwrap_or_else(|| unreachable!());
        let m3x = json!({"value": "m3", "display": "x"});
        assert_eq!(
            change.removed,
            vec![
                member(2),
                member(4),
                member(3),
                member(1),
                m3x.clone(),
                member(5),
                member(9)
            ]
        );
        assert_eq!(change.added, vec![m3x, member(9), member(7)]);
        assert_eq!(group["members"], json!([member(7)]));

        // Removing the whole attribute reports every value; a failure after removals
        // leaves the resource as it was.
        let mut group = original.clone();
        let request = PatchRequest::from_json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": "members"}]}),
            patcher.options(),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let outcome = patcher
            .apply(&mut group, &request)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            outcome.delta.get("members").map(|c| c.removed.clone()),
            Some((1..=5).map(member).collect::<Vec<_>>())
        );
        let mut group = original.clone();
        let request = PatchRequest::from_json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "remove", "path": "members[value eq \"m2\"]"},
                {"op": "remove", "path": "members"},
                {"op": "replace", "path": "members[value eq \"nobody\"].display", "value": "x"},
            ]}),
            patcher.options(),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(patcher.apply(&mut group, &request).is_err());
        assert_eq!(group, original);
    }
}
