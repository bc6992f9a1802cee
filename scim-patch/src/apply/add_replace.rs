//! `add` and `replace` (RFC 7644 §3.5.2.1, §3.5.2.3): without a path, at an attribute
//! path, and through a value filter.

use scim_filter::{AttrPath, PatchPath};
use scim_schema::Mutability;
use serde_json::Value;

use super::target::{check_immutable_subs, immutable_changed, Target};
use super::{has_urn_prefix, present, CloneSubset, Run};
use crate::error::{invalid_path, invalid_value, mutability, no_target, PatchError};
use crate::journal::{get, Object};
use crate::keys;
use crate::message::OpKind;
use crate::outcome::{Normalization, NormalizationKind};
use crate::select::{element_value, filter_assignments, FxMap, Matcher, Prefilter};

impl Run<'_, '_> {
    /// add/replace without path: the value is a map of attributes (RFC 7644 §3.5.2.1/3).
    pub(super) fn no_path(
        &mut self,
        map: &mut Object,
        i: usize,
        kind: OpKind,
        value: &Value,
    ) -> Result<(), PatchError> {
        let Value::Object(attrs) = value else {
            return Err(invalid_value(format!(
                "`{kind}` without a path needs an object of attributes as its value"
            )));
        };
        if attrs.is_empty() {
            return Err(invalid_value(format!(
                "`{kind}` without a path needs at least one attribute"
            )));
        }
        let profile = self.p.options.profile;
        for (key, v) in attrs {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            if key.eq_ignore_ascii_case("id") {
                if profile.ignore_id_in_value {
                    self.normalizations.push(Normalization {
                        operation: i,
                        kind: NormalizationKind::IgnoredId,
                    });
                    continue;
                }
                return Err(mutability("`id` is readOnly"));
            }
            let is_extension = match self.p.rt {
                Some(rt) => rt.extension(key).is_some(),
                None => key.len() > 4 && has_urn_prefix(key) && v.is_object(),
            };
            if is_extension {
                let Value::Object(inner) = v else {
                    return Err(invalid_value(format!("`{key}` must be an object")));
                };
                for (k, v2) in inner {
                    let path = AttrPath::new(k.clone()).with_urn(key.clone());
                    self.set_attr(map, i, kind, &path, v2)?;
                }
                continue;
            }
            let path = if key.len() > 4 && has_urn_prefix(key) || key.contains('.') {
                let allowed = if key.contains('.') && !has_urn_prefix(key) {
                    profile.dotted_keys
                } else {
                    profile.urn_keys
                };
                let parsed = AttrPath::parse(key).map_err(|e| invalid_path(e.to_string()))?;
                if !allowed {
                    return Err(invalid_path(format!(
                        "`{key}` is a path; a value without `path` holds attribute names"
                    )));
                }
                self.normalizations.push(Normalization {
                    operation: i,
                    kind: NormalizationKind::PathKey(key.clone()),
                });
                parsed
            } else {
                AttrPath::new(key.clone())
            };
            self.set_attr(map, i, kind, &path, v)?;
        }
        Ok(())
    }

    /// add/replace at an attribute path without value filter.
    pub(super) fn set_attr(
        &mut self,
        map: &mut Object,
        i: usize,
        kind: OpKind,
        path: &AttrPath,
        value: &Value,
    ) -> Result<(), PatchError> {
        if let Some(ext) = self.p.rt.and_then(|rt| rt.extension_of(path)) {
            let Value::Object(inner) = value else {
                return Err(invalid_value(format!("`{}` must be an object", ext.id)));
            };
            for (k, v) in inner {
                let sub_path = AttrPath::new(k.clone()).with_urn(ext.id.clone());
                self.set_attr(map, i, kind, &sub_path, v)?;
            }
            return Ok(());
        }
        let target = self.target(map, path)?;
        let sub_def = match (&path.sub_attr, target.def) {
            (Some(sub), Some(def)) => def.sub_attribute(sub),
            _ => None,
        };
        let display = match &path.sub_attr {
            Some(sub) => format!("{}.{sub}", target.display),
            None => target.display.clone(),
        };
        self.check_writable(map, &target, sub_def, &display)?;
        // `replace` of a multi-valued sub-attribute with [] unassigns it like null (RFC 7643
        // §2.5); `add` of [] adds nothing.
        let empty_multi = kind == OpKind::Replace
            && path.sub_attr.is_some()
            && sub_def.is_none_or(|d| d.multi_valued)
            && value.as_array().is_some_and(Vec::is_empty);
        if value.is_null() || empty_multi {
            let required = sub_def.or(target.def).is_some_and(|d| d.required);
            if required {
                return Err(invalid_value(format!("`{display}` is required")));
            }
            return match &path.sub_attr {
                None => {
                    self.touch(map, &target);
                    self.journal.set(map, &target.slot, None);
                    Ok(())
                }
                Some(sub) => self.set_sub_everywhere(map, kind, &target, sub, None, &display),
            };
        }
        let checked_path = AttrPath {
            sub_attr: path.sub_attr.clone(),
            ..target.path.clone()
        };
        let given = value;
        let value = self.validated(i, &checked_path, value)?;
        let current = get(map, &target.slot);
        if let Some(sub) = &path.sub_attr {
            return self.set_sub_everywhere(map, kind, &target, sub, Some(value), &display);
        }
        if target.multi_valued(current, Some(&value)) {
            let elements = match value {
                Value::Array(items) => items,
                single => vec![single],
            };
            let entry = self.touch(map, &target);
            self.note_primaries(&target, &elements);
            return match kind {
                OpKind::Add => {
                    let added = self.append_distinct(map, &target, elements);
                    self.delta.changes[entry].added.extend(added);
                    Ok(())
                }
                _ => {
                    let new = Value::Array(elements.clone());
                    if self.journal.set(map, &target.slot, Some(new)) {
                        let replaced = self.journal.last_displaced();
                        self.note_removed(entry, replaced);
                        self.delta.changes[entry].added.extend(elements);
                    }
                    Ok(())
                }
            };
        }
        if target.def.is_none() && matches!(current, Some(Value::Object(_))) && !value.is_object() {
            return Err(invalid_value(format!(
                "`{display}` is complex: its value must be an object"
            )));
        }
        if target.complex(current, &value) {
            let Value::Object(subs) = &value else {
                return Err(invalid_value(format!(
                    "`{display}` is complex: its value must be an object"
                )));
            };
            // Sub-attributes given replace, the others stay (RFC 7644 §3.5.2.1, §3.5.2.3).
            let mut merged = match current {
                Some(Value::Object(o)) => o.clone(),
                _ => Object::new(),
            };
            for (k, v) in subs {
                let canonical = target.def.and_then(|d| d.sub_attribute(k));
                keys::insert(
                    &mut merged,
                    k,
                    canonical.map(|c| c.name.as_str()),
                    v.clone(),
                );
            }
            // A null (or [] for a multi-valued) sub-attribute unassigns it (RFC 7644
            // §3.5.2.3, RFC 7643 §2.5), under the rules of `remove`.
            let cleared = self.cleared_subs(&target, given, &merged, &display)?;
            for k in &cleared {
                keys::remove(&mut merged, k);
            }
            if let Some(current) = current {
                check_immutable_subs(target.def, current, Some(&merged), &display)?;
            }
            self.touch(map, &target);
            // A complex attribute left without sub-attributes is unassigned.
            let new = if merged.is_empty() && !cleared.is_empty() {
                None
            } else {
                Some(Value::Object(merged))
            };
            self.journal.set(map, &target.slot, new);
            return Ok(());
        }
        self.touch(map, &target);
        self.journal.set(map, &target.slot, Some(value));
        Ok(())
    }

    /// The sub-attributes a complex value `given` unassigns: those it sets to null, or to []
    /// when multi-valued. Required ones are refused and immutable ones with a value too, as
    /// `remove` refuses them; readOnly ones are skipped, as validation ignores their values.
    pub(super) fn cleared_subs<'v>(
        &self,
        target: &Target<'_>,
        given: &'v Value,
        merged: &Object,
        display: &str,
    ) -> Result<Vec<&'v str>, PatchError> {
        let Value::Object(given) = given else {
            return Ok(Vec::new());
        };
        let mut cleared = Vec::new();
        for (k, v) in given {
            let def = target.def.and_then(|d| d.sub_attribute(k));
            let unassigns = match v {
                Value::Null => true,
                Value::Array(items) => items.is_empty() && def.is_none_or(|d| d.multi_valued),
                _ => false,
            };
            if !unassigns {
                continue;
            }
            match def {
                Some(d) if d.mutability == Mutability::ReadOnly => continue,
                Some(d) if d.required => {
                    return Err(invalid_value(format!("`{display}.{k}` is required")));
                }
                Some(d)
                    if d.mutability == Mutability::Immutable && present(keys::get(merged, k)) =>
                {
                    return Err(mutability(format!(
                        "`{display}.{k}` is immutable and cannot be removed"
                    )));
                }
                _ => cleared.push(k.as_str()),
            }
        }
        Ok(cleared)
    }

    /// Sets (or removes) a sub-attribute of a complex attribute, or of every value of a
    /// multi-valued one.
    pub(super) fn set_sub_everywhere(
        &mut self,
        map: &mut Object,
        kind: OpKind,
        target: &Target<'_>,
        sub: &str,
        value: Option<Value>,
        display: &str,
    ) -> Result<(), PatchError> {
        // `add` to a multi-valued sub-attribute appends (RFC 7644 §3.5.2.1).
        let combine = |old: Option<&Value>, new: &Option<Value>| -> Option<Value> {
            match (kind, old, new) {
                (OpKind::Add, Some(Value::Array(old)), Some(v)) => {
                    let mut items = old.clone();
                    let added: Vec<Value> = match v {
                        Value::Array(vs) => vs.clone(),
                        single => vec![single.clone()],
                    };
                    for e in added {
                        if !items.contains(&e) {
                            items.push(e);
                        }
                    }
                    Some(Value::Array(items))
                }
                _ => new.clone(),
            }
        };
        // The schema's spelling of the sub-attribute, when the schema knows it.
        let sub_def = target.def.and_then(|d| d.sub_attribute(sub));
        let canonical = sub_def.map(|d| d.name.as_str());
        // An immutable sub-attribute keeps the value it has (RFC 7644 §3.5.2).
        let immutable = sub_def.is_some_and(|d| d.mutability == Mutability::Immutable);
        let combined = |o: &Object| -> Result<Option<Value>, PatchError> {
            let old = keys::get(o, sub);
            let new = combine(old, &value);
            if immutable && present(old) && old != new.as_ref() {
                return Err(immutable_changed(display.to_owned()));
            }
            Ok(new)
        };
        let current = get(map, &target.slot).cloned();
        match current {
            Some(Value::Array(items)) => {
                if items.is_empty() {
                    return Err(no_target(format!("`{}` has no values", target.display)));
                }
                self.touch(map, target);
                for (idx, item) in items.into_iter().enumerate() {
                    if let Value::Object(mut o) = item {
                        match combined(&o)? {
                            Some(v) => keys::insert(&mut o, sub, canonical, v),
                            None => drop(keys::remove(&mut o, sub)),
                        };
                        self.journal
                            .set_element(map, &target.slot, idx, Value::Object(o));
                    }
                }
                Ok(())
            }
            Some(Value::Object(mut o)) => {
                self.touch(map, target);
                match combined(&o)? {
                    Some(v) => keys::insert(&mut o, sub, canonical, v),
                    None => drop(keys::remove(&mut o, sub)),
                };
                self.journal.set(map, &target.slot, Some(Value::Object(o)));
                Ok(())
            }
            None | Some(Value::Null) => match value {
                None => Ok(()),
                Some(v) if !target.def.is_some_and(|d| d.multi_valued) => {
                    self.touch(map, target);
                    let mut o = Object::new();
                    keys::insert(&mut o, sub, canonical, v);
                    self.journal.set(map, &target.slot, Some(Value::Object(o)));
                    Ok(())
                }
                Some(_) => Err(no_target(format!(
                    "`{display}`: `{}` has no values",
                    target.display
                ))),
            },
            Some(_) => Err(invalid_value(format!(
                "`{}` is not complex",
                target.display
            ))),
        }
    }

    /// Appends the values not already present (exact duplicates are skipped); returns them.
    pub(super) fn append_distinct(
        &mut self,
        map: &mut Object,
        target: &Target<'_>,
        elements: Vec<Value>,
    ) -> Vec<Value> {
        // Equal elements have the same `value` (or none): each element is compared only with
        // the kept ones sharing its `value`, found by hash, and so is each existing value.
        // Linear in the request and the resource, unless many elements share one `value`
        // (re-adding 25,000 existing emails compared each with all 25,000 before).
        let keys: Vec<Option<&str>> = elements.iter().map(element_value).collect();
        let mut groups: FxMap<Option<&str>, Vec<usize>> =
            FxMap::with_capacity_and_hasher(elements.len(), Default::default());
        let mut keep = vec![false; elements.len()];
        for (i, (e, key)) in elements.iter().zip(&keys).enumerate() {
            if e.is_null() {
                continue;
            }
            let group = groups.entry(*key).or_default();
            if !group.iter().any(|&j| elements[j] == *e) {
                group.push(i);
                keep[i] = true;
            }
        }
        if let (false, Some(Value::Array(existing))) = (groups.is_empty(), get(map, &target.slot)) {
            // Most existing values are none of the new ones: one word of each rules it out
            // (when every new value has a `value` to look for).
            let prefix = (!groups.contains_key(&None)).then(|| {
                let mut p = Prefilter::default();
                groups.keys().flatten().for_each(|k| p.insert(k));
                p
            });
            for item in existing {
                if prefix.as_ref().is_some_and(|p| !p.may_match(item)) {
                    continue;
                }
                let Some(group) = groups.get(&element_value(item)) else {
                    continue;
                };
                for &j in group {
                    if keep[j] && elements[j] == *item {
                        keep[j] = false;
                    }
                }
            }
        }
        let added: Vec<Value> = elements
            .into_iter()
            .zip(keep)
            .filter_map(|(e, k)| k.then_some(e))
            .collect();
        self.journal.append(map, &target.slot, &added);
        added
    }

    /// add/replace through a value filter: `emails[type eq "work"]`, `…].value`.
    pub(super) fn filtered(
        &mut self,
        map: &mut Object,
        i: usize,
        kind: OpKind,
        path: &PatchPath,
        value: &Value,
    ) -> Result<(), PatchError> {
        let Some(filter) = &path.value_filter else {
            return Ok(());
        };
        let target = self.target(map, &path.attr)?;
        let current = get(map, &target.slot);
        if target.def.is_some_and(|d| !d.multi_valued)
            || matches!(current, Some(v) if !v.is_array())
        {
            return Err(invalid_path(format!(
                "`{}` is not multi-valued: a value filter does not apply",
                target.display
            )));
        }
        let sub_def = match (&path.sub_attr, target.def) {
            (Some(sub), Some(def)) => Some(def.sub_attribute(sub).ok_or_else(|| {
                invalid_path(format!("`{}.{sub}` is not an attribute", target.display))
            })?),
            _ => None,
        };
        let display = match &path.sub_attr {
            Some(sub) => format!("{}.{sub}", target.display),
            None => target.display.clone(),
        };
        if let Some(def) = target.def {
            if def.mutability == Mutability::ReadOnly {
                return Err(mutability(format!("`{}` is readOnly", target.display)));
            }
        }
        // An immutable sub-attribute is checked value by value below: it may be given where
        // a matched value has none, never changed.
        if sub_def.is_some_and(|sub| sub.mutability == Mutability::ReadOnly) {
            return Err(mutability(format!("`{display}` is readOnly")));
        }
        // The filter selects values: each is replaced by (or merged with) one value, never
        // by a list of them (an element of `emails` cannot be an array).
        if path.sub_attr.is_none() && value.is_array() {
            return Err(invalid_value(format!(
                "`{}[{filter}]` selects values of `{}`: its value must be one value, not an array",
                target.display, target.display
            )));
        }
        let matcher = Matcher::new(&path.attr, filter, self.rt())?;
        let indices: Vec<usize> = matcher.indices(current);
        // null (or [] for a multi-valued sub-attribute) unassigns what the path selects
        // (RFC 7643 §2.5): the matched values, or their sub-attribute, as `remove` would.
        let unassigns = value.is_null()
            || (path.sub_attr.is_some()
                && sub_def.is_none_or(|d| d.multi_valued)
                && value.as_array().is_some_and(Vec::is_empty));
        if unassigns {
            return match &path.sub_attr {
                None => self.remove_indices(map, &target, &indices),
                Some(sub) => {
                    if sub_def.is_some_and(|d| d.required) {
                        return Err(invalid_value(format!("`{display}` is required")));
                    }
                    self.clear_sub(map, &target, &indices, sub, &display)
                }
            };
        }
        let checked_path = AttrPath {
            sub_attr: path.sub_attr.clone(),
            ..target.path.clone()
        };
        let given = value;
        let value = self.validated(i, &checked_path, value)?;
        let entry = self.touch(map, &target);
        if indices.is_empty() {
            let created = match (&path.sub_attr, kind) {
                (Some(sub), OpKind::Add) if self.p.options.profile.add_creates_from_filter => {
                    filter_assignments(filter).map(|pairs| {
                        let mut o = Object::new();
                        for (k, v) in pairs {
                            o.insert(k, v);
                        }
                        o.insert(sub.clone(), value.clone());
                        Value::Object(o)
                    })
                }
                _ => None,
            };
            let Some(element) = created else {
                return Err(no_target(format!(
                    "no value of `{}` matches `{filter}`",
                    target.display
                )));
            };
            self.normalizations.push(Normalization {
                operation: i,
                kind: NormalizationKind::CreatedFromFilter,
            });
            self.note_primaries(&target, std::slice::from_ref(&element));
            let added = self.append_distinct(map, &target, vec![element]);
            self.delta.changes[entry].added.extend(added);
            return Ok(());
        }
        let items = match get(map, &target.slot) {
            Some(Value::Array(items)) => items.clone_subset(&indices),
            _ => Vec::new(),
        };
        let mut written = Vec::new();
        let canonical = |k: &str| {
            target
                .def
                .and_then(|d| d.sub_attribute(k))
                .map(|d| d.name.as_str())
        };
        for (idx, old) in indices.into_iter().zip(items) {
            let new = match (&path.sub_attr, kind) {
                (Some(sub), _) => {
                    let mut o = match old.clone() {
                        Value::Object(o) => o,
                        _ => Object::new(),
                    };
                    keys::insert(&mut o, sub, canonical(sub), value.clone());
                    Value::Object(o)
                }
                // Sub-attributes given replace, others stay: the complex-attribute rule of
                // RFC 7644 §3.5.2.1/3 applied to each matched value.
                (None, _) => match (old.clone(), &value) {
                    (Value::Object(mut o), Value::Object(v)) => {
                        for (k, x) in v {
                            keys::insert(&mut o, k, canonical(k), x.clone());
                        }
                        // A null sub-attribute unassigns it, under the rules of `remove`.
                        for k in self.cleared_subs(&target, given, &o, &target.display)? {
                            keys::remove(&mut o, k);
                        }
                        Value::Object(o)
                    }
                    (_, v) => v.clone(),
                },
            };
            check_immutable_subs(target.def, &old, new.as_object(), &target.display)?;
            if self
                .journal
                .set_element(map, &target.slot, idx, new.clone())
            {
                let change = &mut self.delta.changes[entry];
                change.removed.push(old);
                change.added.push(new.clone());
                written.push(new);
            }
        }
        self.note_primaries(&target, &written);
        Ok(())
    }
}
