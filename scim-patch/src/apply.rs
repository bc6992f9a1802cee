//! Applying a PatchOp to a resource (RFC 7644 §3.5.2.1–3), atomically.

use scim_filter::{AttrPath, PatchPath, ScimType};
use scim_schema::{AttrType, Attribute, Location, Mutability, ResourceTypeRef};
use serde_json::Value;

use crate::error::{invalid_path, invalid_value, mutability, no_target, syntax, PatchError};
use crate::journal::{container, get, Displaced, Journal, Object, Slot};
use crate::keys;
use crate::message::{OpKind, PatchOperation, PatchRequest};
use crate::outcome::{ChangeKind, Delta, Normalization, NormalizationKind, PatchOutcome};
use crate::select::{element_value, filter_assignments, FxMap, Matcher, Prefilter};
use crate::{PatchOptions, PrimaryRule};

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

impl Patcher<'_> {
    /// The extensions `map` could hold: each URN (the schema's spelling; schema-less, the
    /// `urn:` keys outside `:core:` holding objects) and whether the resource must have it.
    fn extensions(&self, map: &Object) -> Vec<(String, bool)> {
        match self.rt {
            Some(rt) => rt
                .extensions()
                .map(|(s, required)| (s.id.clone(), required))
                .collect(),
            None => map
                .iter()
                .filter(|(k, v)| {
                    v.is_object()
                        && k.len() > 4
                        && has_urn_prefix(k)
                        && !k.to_ascii_lowercase().contains(":core:")
                })
                .map(|(k, _)| (k.clone(), false))
                .collect(),
        }
    }

    /// The URNs of the extensions `map` has data for.
    fn extensions_with_data(&self, map: &Object) -> Vec<String> {
        self.extensions(map)
            .into_iter()
            .filter(|(urn, _)| keys::get(map, urn).is_some_and(has_data))
            .map(|(urn, _)| urn)
            .collect()
    }

    /// With [`Profile::loose_extension_paths`](crate::Profile::loose_extension_paths): the
    /// operations with their extension paths qualified, or `None` when none needed it.
    fn qualify_extension_paths(
        &self,
        ops: &[PatchOperation],
        normalizations: &mut Vec<Normalization>,
    ) -> Option<Vec<PatchOperation>> {
        let rt = self.rt.as_ref()?;
        if !self.options.profile.loose_extension_paths {
            return None;
        }
        let mut out: Option<Vec<PatchOperation>> = None;
        for (i, op) in ops.iter().enumerate() {
            let Some(path) = &op.path else { continue };
            let resolves = match path.attr.sub_attr {
                None => rt.resolve(&path.attr).is_some(),
                Some(_) => rt
                    .resolve(&AttrPath {
                        urn: path.attr.urn.clone(),
                        name: path.attr.name.clone(),
                        sub_attr: None,
                    })
                    .is_some(),
            };
            if resolves {
                continue;
            }
            let qualified = match &path.attr.urn {
                // `manager`: the one extension that defines it.
                None => {
                    let mut owners = rt.extensions().map(|(s, _)| s).filter(|s| {
                        s.attributes
                            .iter()
                            .any(|a| a.name.eq_ignore_ascii_case(&path.attr.name))
                    });
                    match (owners.next(), owners.next()) {
                        (Some(ext), None) => AttrPath {
                            urn: Some(ext.id.clone()),
                            name: path.attr.name.clone(),
                            sub_attr: path.attr.sub_attr.clone(),
                        },
                        _ => continue,
                    }
                }
                // `urn:…:2.0:User.manager` parses as urn `urn:…:2.0`, name `User`, sub `manager`.
                Some(urn) => match (
                    &path.attr.sub_attr,
                    rt.extension(&format!("{urn}:{}", path.attr.name)),
                ) {
                    (Some(sub), Some(ext)) => AttrPath {
                        urn: Some(ext.id.clone()),
                        name: sub.clone(),
                        sub_attr: None,
                    },
                    _ => continue,
                },
            };
            if rt
                .resolve(&AttrPath {
                    sub_attr: None,
                    ..qualified.clone()
                })
                .is_none()
            {
                continue;
            }
            normalizations.push(Normalization {
                operation: i,
                kind: NormalizationKind::QualifiedPath(qualified.to_string()),
            });
            let ops = out.get_or_insert_with(|| ops.to_vec());
            if let Some(p) = ops[i].path.as_mut() {
                p.attr = qualified;
            }
        }
        out
    }
}

/// How many operations from the start of `ops` are `remove attr[value eq "…"]` on the same
/// attribute: those are applied in one pass with a set of values (O(n + k), not O(n·k)).
fn member_removal_batch(ops: &[PatchOperation]) -> usize {
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

/// An attribute resolved for patching.
struct Target<'a> {
    slot: Slot,
    /// The schema definition (schema-less: `None`).
    def: Option<&'a Attribute>,
    /// The attribute path for messages and the delta.
    display: String,
    /// The path used for value validation (without sub-attribute).
    path: AttrPath,
}

impl Target<'_> {
    fn multi_valued(&self, current: Option<&Value>, value: Option<&Value>) -> bool {
        match self.def {
            Some(d) => d.multi_valued,
            None => {
                matches!(current, Some(Value::Array(_)))
                    || (current.is_none() && matches!(value, Some(Value::Array(_))))
            }
        }
    }

    fn complex(&self, current: Option<&Value>, value: &Value) -> bool {
        match self.def {
            Some(d) => d.attr_type == AttrType::Complex,
            None => matches!(current, Some(Value::Object(_))) && value.is_object(),
        }
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

/// The refusal of a change to the immutable `path` (validation's wording for a PUT).
fn immutable_changed(path: String) -> PatchError {
    mutability(
        scim_schema::Issue {
            path,
            kind: scim_schema::IssueKind::Immutable,
        }
        .to_string(),
    )
}

/// RFC 7643 §2.2, RFC 7644 §3.5.2: an immutable sub-attribute may be given a value where it
/// has none, never a different one. Refuses when `new` (a complex value or an element of
/// `def` after the operation; `None` for none) changes an immutable sub-attribute that `old`
/// has a value for.
fn check_immutable_subs(
    def: Option<&Attribute>,
    old: &Value,
    new: Option<&Object>,
    display: &str,
) -> Result<(), PatchError> {
    let (Some(def), Value::Object(old)) = (def, old) else {
        return Ok(());
    };
    for sub in def
        .sub_attributes
        .iter()
        .filter(|s| s.mutability == Mutability::Immutable)
    {
        let was = keys::get(old, &sub.name);
        if present(was) && was != new.and_then(|n| keys::get(n, &sub.name)) {
            return Err(immutable_changed(format!("{display}.{}", sub.name)));
        }
    }
    Ok(())
}

impl<'r> Run<'_, 'r> {
    fn rt(&self) -> Option<&ResourceTypeRef<'r>> {
        self.p.rt.as_ref()
    }

    /// Resolves the attribute of `path` (its sub-attribute is handled by the caller).
    fn target(&self, map: &Object, path: &AttrPath) -> Result<Target<'r>, PatchError> {
        let top = AttrPath {
            urn: path.urn.clone(),
            name: path.name.clone(),
            sub_attr: None,
        };
        let (ext, name, def) = match self.p.rt {
            Some(rt) => {
                let resolved = rt.resolve(&top).ok_or_else(|| {
                    invalid_path(format!(
                        "`{top}` is not an attribute of {}",
                        rt.definition().name
                    ))
                })?;
                if let Some(sub) = &path.sub_attr {
                    if resolved.attribute.sub_attribute(sub).is_none() {
                        return Err(invalid_path(format!(
                            "`{path}` is not an attribute of {}",
                            rt.definition().name
                        )));
                    }
                }
                let ext = match resolved.location {
                    Location::Extension(s) => Some(s.id.clone()),
                    _ => None,
                };
                (
                    ext,
                    resolved.attribute.name.clone(),
                    Some(resolved.attribute),
                )
            }
            None => {
                let ext = match &path.urn {
                    Some(urn) if !urn.to_ascii_lowercase().contains(":core:") => Some(
                        map.keys()
                            .find(|k| k.eq_ignore_ascii_case(urn))
                            .cloned()
                            .unwrap_or_else(|| urn.clone()),
                    ),
                    _ => None,
                };
                (ext, path.name.clone(), None)
            }
        };
        // Keep the spelling the resource already uses, for the extension object too (a
        // second key spelt otherwise would make the resource ambiguous).
        let ext = ext.map(|e| keys::existing(map, &e).cloned().unwrap_or(e));
        let key = container(map, ext.as_deref())
            .and_then(|o| o.keys().find(|k| k.eq_ignore_ascii_case(&name)).cloned())
            .unwrap_or(name);
        let display = match &ext {
            Some(e) => format!("{e}:{key}"),
            None => key.clone(),
        };
        Ok(Target {
            slot: Slot { ext, key },
            def,
            display,
            path: top,
        })
    }

    /// The delta entry for `target`, created on first touch.
    fn touch(&mut self, map: &Object, target: &Target<'_>) -> usize {
        match self
            .delta
            .changes
            .iter()
            .position(|c| c.path == target.display)
        {
            Some(i) => i,
            None => {
                self.delta.entry(&target.display);
                let current = get(map, &target.slot);
                self.had_before
                    .push((target.slot.clone(), present(current)));
                // The single-primary rule needs the old primary; attributes whose schema
                // has no `primary` (group members) skip the scan.
                let has_primary = target
                    .def
                    .is_none_or(|d| d.sub_attribute("primary").is_some());
                if has_primary {
                    let old = match current {
                        Some(Value::Array(items)) => {
                            items.iter().find(|v| is_primary(v)).map(element_key)
                        }
                        _ => None,
                    };
                    self.primaries.push((
                        target.slot.clone(),
                        target.display.clone(),
                        old,
                        Vec::new(),
                    ));
                }
                self.delta.changes.len() - 1
            }
        }
    }

    /// Reports the values the journal entry `d` holds as removed from delta entry `entry`.
    fn note_removed(&mut self, entry: usize, d: Displaced) {
        let at = self.delta.changes[entry].removed.len();
        self.displaced.push((entry, at, d));
    }

    fn note_primaries(&mut self, target: &Target<'_>, written: &[Value]) {
        if !self.primaries.iter().any(|e| e.0 == target.slot) {
            return;
        }
        let keys: Vec<String> = written
            .iter()
            .filter(|v| is_primary(v))
            .map(element_key)
            .collect();
        if keys.is_empty() {
            return;
        }
        if let Some(entry) = self.primaries.iter_mut().find(|e| e.0 == target.slot) {
            entry.3.extend(keys);
        }
    }

    /// Checks the value against the schema; returns it normalised.
    fn validated(
        &mut self,
        index: usize,
        path: &AttrPath,
        value: &Value,
    ) -> Result<Value, PatchError> {
        let Some(rt) = self.p.rt else {
            return Ok(value.clone());
        };
        match rt.validate_value(path, value.clone(), &self.p.options.validation) {
            Ok(v) => {
                self.normalizations
                    .extend(v.coercions.into_iter().map(|c| Normalization {
                        operation: index,
                        kind: NormalizationKind::Value(c),
                    }));
                Ok(v.resource)
            }
            Err(e) if e.scim_type() == ScimType::Mutability => Err(mutability(e.to_string())),
            Err(e) => Err(invalid_value(e.to_string())),
        }
    }

    fn check_writable(
        &self,
        map: &Object,
        target: &Target<'_>,
        sub: Option<&Attribute>,
        display: &str,
    ) -> Result<(), PatchError> {
        for def in [target.def, sub].into_iter().flatten() {
            match def.mutability {
                Mutability::ReadOnly => {
                    return Err(mutability(format!("`{display}` is readOnly")));
                }
                Mutability::Immutable if present(get(map, &target.slot)) && sub.is_none() => {
                    return Err(mutability(format!(
                        "`{display}` is immutable and already has a value"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn operation(
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

    /// add/replace without path: the value is a map of attributes (RFC 7644 §3.5.2.1/3).
    fn no_path(
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
    fn set_attr(
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
    fn cleared_subs<'v>(
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
    fn set_sub_everywhere(
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
    fn append_distinct(
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
    fn filtered(
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

    /// remove (RFC 7644 §3.5.2.2).
    fn remove(
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
    fn clear_sub(
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
    fn removal_list<'v>(
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

    fn remove_indices(
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
    fn remove_batch(&mut self, map: &mut Object, ops: &[PatchOperation]) -> Result<(), PatchError> {
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

    /// After all operations, `schemas` follows the extensions' data (RFC 7643 §3: it lists
    /// the schemas the resource's attributes come from, so that the resource is a valid PUT
    /// body): an extension that gained data is listed; one that had data before the request
    /// and has none now loses its listing (refused for a required extension, as removing a
    /// required attribute is); an empty extension object goes. Nothing is done for a request
    /// that changed nothing; `schemas` is changed only where it is an array.
    fn align_extension_urns(
        &mut self,
        map: &mut Object,
        had_data: &[String],
    ) -> Result<(), PatchError> {
        if self.journal.is_empty() {
            return Ok(());
        }
        let mut extensions = self.p.extensions(map);
        for urn in had_data {
            if !extensions.iter().any(|(e, _)| e.eq_ignore_ascii_case(urn)) {
                extensions.push((urn.clone(), false));
            }
        }
        for (urn, required) in extensions {
            let key = keys::existing(map, &urn).cloned();
            let had = had_data.iter().any(|h| h.eq_ignore_ascii_case(&urn));
            let has = key.as_ref().and_then(|k| map.get(k)).is_some_and(has_data);
            if has {
                if !had {
                    self.list_schema(map, &urn, true);
                }
                continue;
            }
            if had && required {
                return Err(invalid_value(format!(
                    "`{urn}` is required: its last attribute cannot be removed"
                )));
            }
            // An empty extension object goes, whoever left it.
            if let Some(key) = key {
                self.journal.set(map, &Slot { ext: None, key }, None);
            }
            if had {
                self.list_schema(map, &urn, false);
            }
        }
        Ok(())
    }

    /// Adds `urn` to `schemas` (`listed`) or takes it out, when not so already.
    fn list_schema(&mut self, map: &mut Object, urn: &str, listed: bool) {
        let Some(key) = keys::existing(map, "schemas").cloned() else {
            return;
        };
        let Some(Value::Array(items)) = map.get(&key) else {
            return;
        };
        let names = |v: &Value| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn));
        if items.iter().any(names) == listed {
            return;
        }
        let mut new = items.clone();
        if listed {
            new.push(Value::String(urn.to_owned()));
        } else {
            new.retain(|v| !names(v));
        }
        self.journal
            .set(map, &Slot { ext: None, key }, Some(Value::Array(new)));
    }

    /// After all operations: at most one `primary: true` per multi-valued attribute.
    fn enforce_single_primary(&mut self, map: &mut Object) {
        let rule = self.p.options.primary;
        for (slot, _display, old_primary, written) in std::mem::take(&mut self.primaries) {
            let Some(Value::Array(items)) = get(map, &slot) else {
                continue;
            };
            let primaries: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, v)| is_primary(v))
                .map(|(i, _)| i)
                .collect();
            if primaries.len() < 2 {
                continue;
            }
            let keys: Vec<String> = primaries.iter().map(|&i| element_key(&items[i])).collect();
            // The last position of each key: one lookup per written key, not a scan.
            let mut last: FxMap<&str, usize> =
                FxMap::with_capacity_and_hasher(keys.len(), Default::default());
            for (j, k) in keys.iter().enumerate() {
                last.insert(k, j);
            }
            let by_request = written
                .iter()
                .rev()
                .find_map(|w| last.get(w.as_str()).copied());
            let existing = old_primary
                .as_ref()
                .and_then(|o| keys.iter().position(|k| k == o));
            let winner = match rule {
                PrimaryRule::RequestWins => by_request.or(existing),
                PrimaryRule::KeepExisting => existing.or(by_request),
            }
            .unwrap_or(keys.len() - 1);
            let losers: Vec<(usize, Value)> = primaries
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != winner)
                .map(|(_, &idx)| {
                    let mut e = items[idx].clone();
                    if let Value::Object(o) = &mut e {
                        o.insert("primary".to_owned(), Value::Bool(false));
                    }
                    (idx, e)
                })
                .collect();
            for (idx, e) in losers {
                self.journal.set_element(map, &slot, idx, e);
            }
        }
    }

    fn finish(mut self, map: &Object) -> PatchOutcome {
        let changed = !self.journal.is_empty();
        let kept: Vec<bool> = self
            .had_before
            .iter()
            .map(|(slot, _)| self.journal.changed(slot))
            .collect();
        // Nothing can fail now: the removed values move from the journal to the delta,
        // latest first so that earlier positions stay valid.
        let tokens: Vec<Displaced> = self.displaced.iter().map(|&(_, _, d)| d).collect();
        let values = self.journal.into_displaced(&tokens);
        for (&(entry, at, _), values) in self.displaced.iter().zip(values).rev() {
            let removed = &mut self.delta.changes[entry].removed;
            removed.splice(at..at, values);
        }
        // One entry per attribute that changed (not merely addressed), with its overall kind.
        let changes = self
            .delta
            .changes
            .into_iter()
            .zip(self.had_before)
            .zip(kept)
            .filter_map(|(c, kept)| kept.then_some(c))
            .map(|(mut change, (slot, had))| {
                change.kind = match (had, present(get(map, &slot))) {
                    (false, true) => ChangeKind::Added,
                    (true, false) => ChangeKind::Removed,
                    _ => ChangeKind::Modified,
                };
                change
            })
            .collect();
        PatchOutcome {
            changed,
            delta: Delta { changes },
            normalizations: self.normalizations,
        }
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
                        let got = have
                            .iter()
                            .find(|(hk, _)| hk.eq_ignore_ascii_case(k))
                            .map(|(_, hv)| hv);
                        got.unwrap_or(&Value::Null) == v
                    }),
                    (want, have) => *want == *have,
                })
            })
            .map(|(i, _)| i)
            .collect(),
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
