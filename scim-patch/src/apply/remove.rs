//! `remove` (RFC 7644 §3.5.2.2): by path, through a value filter, with a value list (Entra
//! ID), and consecutive `remove members[value eq "…"]` operations in one pass.

use scim_filter::{AttrPath, PatchPath};
use scim_schema::Mutability;
use serde_json::Value;

use super::target::{immutable_changed, Target};
use super::{present, CloneSubset, Run};
use crate::error::{invalid_path, invalid_value, mutability, syntax, PatchError};
use crate::journal::{get, Object};
use crate::keys;
use crate::message::{OpKind, PatchOperation};
use crate::outcome::{Normalization, NormalizationKind};
use crate::select::{element_value, Matcher};

/// How many operations from the start of `ops` are `remove attr[value eq "…"]` on the same
/// attribute: those are applied in one pass with a set of values (O(n + k), not O(n·k)).
pub(super) fn member_removal_batch(ops: &[PatchOperation]) -> usize {
    let Some(first) = ops.first().and_then(member_removal) else {
        return 0;
    };
    ops.iter()
        .take_while(|op| member_removal(op).is_some_and(|k| k.matches(first)))
        .count()
}

/// The attribute of a `remove attr[value eq "…"]` operation.
fn member_removal(op: &PatchOperation) -> Option<&AttrPath> {
    let path = op.path.as_ref()?;
    let is_value_eq = matches!(&path.value_filter, Some(scim_filter::Filter::Compare {
        path: p, op: scim_filter::CompareOp::Eq, value: scim_filter::CompValue::String(_)
    }) if p.urn.is_none() && p.sub_attr.is_none() && p.name.eq_ignore_ascii_case("value"));
    (op.op == OpKind::Remove && is_value_eq && path.sub_attr.is_none() && op.value.is_none())
        .then_some(&path.attr)
}

impl Run<'_, '_> {
    /// remove (RFC 7644 §3.5.2.2).
    pub(super) fn remove(
        &mut self,
        map: &mut Object,
        i: usize,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        let target = self.target(map, &path.attr)?;
        let sub_name = path.sub_attr.as_ref().or(path.attr.sub_attr.as_ref());
        let sub_def = match (sub_name, target.def) {
            (Some(sub), Some(def)) => def.sub_attribute(sub),
            _ => None,
        };
        let display = match sub_name {
            Some(sub) => format!("{}.{sub}", target.display),
            None => target.display.clone(),
        };
        for def in [target.def, sub_def].into_iter().flatten() {
            if matches!(def.mutability, Mutability::ReadOnly | Mutability::Immutable)
                && (sub_def.is_none() || std::ptr::eq(def, sub_def.unwrap_or(def)))
            {
                return Err(mutability(format!(
                    "`{display}` is {} and cannot be removed",
                    if def.mutability == Mutability::ReadOnly {
                        "readOnly"
                    } else {
                        "immutable"
                    }
                )));
            }
        }
        let current = get(map, &target.slot);
        if let (Some(value), None, Some(sub)) = (value, &path.value_filter, sub_name) {
            let sub_items = match current {
                Some(Value::Object(o)) => o.get(sub.as_str()).and_then(Value::as_array),
                _ => None,
            };
            let (Some(items), true) = (sub_items, self.p.options.profile.remove_with_value) else {
                return Err(syntax(format!("`remove` of `{display}` with a `value` is not RFC 7644; only a path selects what to remove")));
            };
            let list = self.removal_list(i, value)?;
            let gone = matching_listed(items, &list);
            let kept: Vec<Value> = items
                .iter()
                .enumerate()
                .filter(|(i, _)| gone.binary_search(i).is_err())
                .map(|(_, v)| v.clone())
                .collect();
            if kept.len() == items.len() {
                return Ok(());
            }
            let mut o = match current {
                Some(Value::Object(o)) => o.clone(),
                _ => Object::new(),
            };
            o.insert(sub.clone(), Value::Array(kept));
            self.touch(map, &target);
            self.journal.set(map, &target.slot, Some(Value::Object(o)));
            return Ok(());
        }
        // Entra ID: remove with a list of values removes just those.
        if let (Some(value), None, None) = (value, &path.value_filter, sub_name) {
            let multi = target.multi_valued(current, Some(value));
            if !self.p.options.profile.remove_with_value || !multi {
                return Err(syntax(format!("`remove` of `{display}` with a `value` is not RFC 7644; only a path selects what to remove")));
            }
            let list = self.removal_list(i, value)?;
            let indices: Vec<usize> = match current {
                Some(Value::Array(items)) => matching_listed(items, &list),
                _ => Vec::new(),
            };
            return self.remove_indices(map, &target, &indices);
        }
        if let Some(filter) = &path.value_filter {
            if target.def.is_some_and(|d| !d.multi_valued)
                || matches!(current, Some(v) if !v.is_array())
            {
                return Err(invalid_path(format!(
                    "`{}` is not multi-valued: a value filter does not apply",
                    target.display
                )));
            }
            let matcher = Matcher::new(&path.attr, filter, self.rt())?;
            let indices: Vec<usize> = matcher.indices(current);
            return match sub_name {
                None => self.remove_indices(map, &target, &indices),
                Some(sub) => {
                    if sub_def.is_some_and(|d| d.required) {
                        return Err(invalid_value(format!("`{display}` is required")));
                    }
                    let sub = sub.clone();
                    self.clear_sub(map, &target, &indices, &sub, &display)
                }
            };
        }
        match sub_name {
            Some(sub) => {
                if sub_def.is_some_and(|d| d.required) {
                    return Err(invalid_value(format!("`{display}` is required")));
                }
                if !present(current) {
                    return Ok(());
                }
                let sub = sub.clone();
                self.set_sub_everywhere(map, OpKind::Remove, &target, &sub, None, &display)
            }
            None => {
                if target.def.is_some_and(|d| d.required) {
                    return Err(invalid_value(format!(
                        "`{display}` is required and cannot be removed"
                    )));
                }
                if current.is_none() {
                    return Ok(());
                }
                let entry = self.touch(map, &target);
                if self.journal.set(map, &target.slot, None) {
                    let removed = self.journal.last_displaced();
                    self.note_removed(entry, removed);
                }
                Ok(())
            }
        }
    }

    /// Removes the sub-attribute `sub` from the values at `indices` (an immutable one that
    /// has a value is refused, as `remove` refuses it).
    pub(super) fn clear_sub(
        &mut self,
        map: &mut Object,
        target: &Target<'_>,
        indices: &[usize],
        sub: &str,
        display: &str,
    ) -> Result<(), PatchError> {
        let immutable = target
            .def
            .and_then(|d| d.sub_attribute(sub))
            .is_some_and(|d| d.mutability == Mutability::Immutable);
        let entry = self.touch(map, target);
        let items = match get(map, &target.slot) {
            Some(Value::Array(items)) => items.clone_subset(indices),
            _ => Vec::new(),
        };
        for (&idx, old) in indices.iter().zip(items) {
            if let Value::Object(mut o) = old.clone() {
                if immutable && present(keys::get(&o, sub)) {
                    return Err(immutable_changed(display.to_owned()));
                }
                if keys::remove(&mut o, sub).is_some() {
                    let new = Value::Object(o);
                    if self
                        .journal
                        .set_element(map, &target.slot, idx, new.clone())
                    {
                        self.delta.changes[entry].removed.push(old);
                        self.delta.changes[entry].added.push(new);
                    }
                }
            }
        }
        Ok(())
    }

    /// The values an Entra-style `remove` lists (one value or an array of them), reported
    /// as a normalisation.
    pub(super) fn removal_list<'v>(
        &mut self,
        i: usize,
        value: &'v Value,
    ) -> Result<Vec<&'v Value>, PatchError> {
        let list: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        if list.iter().any(|v| v.is_array()) {
            return Err(syntax(
                "`remove` values must be values of the attribute, not arrays",
            ));
        }
        self.normalizations.push(Normalization {
            operation: i,
            kind: NormalizationKind::RemoveWithValue,
        });
        Ok(list)
    }

    pub(super) fn remove_indices(
        &mut self,
        map: &mut Object,
        target: &Target<'_>,
        indices: &[usize],
    ) -> Result<(), PatchError> {
        if indices.is_empty() {
            return Ok(());
        }
        let entry = self.touch(map, target);
        if let Some(removed) = self.journal.remove_elements(map, &target.slot, indices) {
            self.note_removed(entry, removed);
        }
        // No values left: the attribute is unassigned (RFC 7644 §3.5.2.2).
        if matches!(get(map, &target.slot), Some(Value::Array(items)) if items.is_empty()) {
            if target.def.is_some_and(|d| d.required) {
                return Err(invalid_value(format!(
                    "`{}` is required: its last value cannot be removed",
                    target.display
                )));
            }
            self.journal.set(map, &target.slot, None);
        }
        Ok(())
    }

    /// Consecutive `remove attr[value eq "…"]` operations in one pass.
    pub(super) fn remove_batch(
        &mut self,
        map: &mut Object,
        ops: &[PatchOperation],
    ) -> Result<(), PatchError> {
        let Some(first) = ops.first().and_then(|op| op.path.as_ref()) else {
            return Ok(());
        };
        let target = self.target(map, &first.attr)?;
        if let Some(def) = target.def {
            if !def.multi_valued {
                return Err(invalid_path(format!(
                    "`{}` is not multi-valued: a value filter does not apply",
                    target.display
                )));
            }
            if matches!(def.mutability, Mutability::ReadOnly | Mutability::Immutable) {
                return Err(mutability(format!(
                    "`{}` cannot be changed",
                    target.display
                )));
            }
        }
        let lits = ops
            .iter()
            .filter_map(|op| match op.path.as_ref()?.value_filter.as_ref()? {
                scim_filter::Filter::Compare {
                    value: scim_filter::CompValue::String(s),
                    ..
                } => Some(s.as_str()),
                _ => None,
            });
        let mut case_path = first.attr.clone();
        case_path.sub_attr = Some("value".to_owned());
        let case_exact = self
            .p
            .rt
            .and_then(|rt| rt.resolve(&case_path))
            .is_some_and(|r| r.target().case_exact);
        let matcher = Matcher::set(lits, case_exact);
        let indices: Vec<usize> = matcher.indices(get(map, &target.slot));
        self.remove_indices(map, &target, &indices)
    }
}

/// Indices (ascending) of the values a `remove` value list names: by `value` when the list
/// gives only values (one pass with a set — the Entra ID shape), else the values having every
/// listed sub-attribute.
fn matching_listed(items: &[Value], list: &[&Value]) -> Vec<usize> {
    let only_values = list.iter().all(|v| match v {
        Value::Object(o) => o.len() == 1 && element_value(v).is_some(),
        other => other.is_string(),
    });
    let keys: Option<Vec<&str>> = if only_values {
        list.iter().map(|v| element_value(v)).collect()
    } else {
        None
    };
    match keys {
        Some(keys) => {
            let m = Matcher::set(keys, false);
            items
                .iter()
                .enumerate()
                .filter(|(_, v)| m.matches(v))
                .map(|(i, _)| i)
                .collect()
        }
        None => items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                list.iter().any(|entry| match (entry, item) {
                    // Every listed sub-attribute equal; a listed null matches an absent one.
                    (Value::Object(want), Value::Object(have)) => want.iter().all(|(k, v)| {
                        let got = scim_filter::names::get(have, k);
                        got.unwrap_or(&Value::Null) == v
                    }),
                    (want, have) => *want == *have,
                })
            })
            .map(|(i, _)| i)
            .collect(),
    }
}
