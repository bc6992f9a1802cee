//! The walk over a resource that checks each value against its attribute definition.

use std::fmt::Write as _;

use serde_json::Value;

use super::issue::{Coercion, CoercionKind, Issue, IssueKind, ValidationError};
use super::names::repeated_names;
use super::values::{is_base64, is_datetime, is_reference};
use super::{Object, UnknownAttributes, Validated, ValidationOptions};
use crate::attribute::find;
use crate::{AttrType, Attribute, Mutability, ResourceTypeRef, Schema};
use scim_filter::AttrPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A client's POST/PUT body: readOnly input is ignored.
    Input,
    /// A stored or patched resource: readOnly values are kept.
    Stored,
    /// One PATCH value: a readOnly target is refused.
    Value,
}

pub(super) struct Walker<'r, 'o> {
    rt: ResourceTypeRef<'r>,
    opts: &'o ValidationOptions,
    mode: Mode,
    issues: Vec<Issue>,
    coercions: Vec<Coercion>,
    path: String,
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

use scim_filter::names::get as get_ci;

/// What to do with a key once the walk over its object is done.
enum Action {
    Keep,
    Remove(String),
    Rename(String, String),
}

impl Action {
    fn new(key: &str, canonical: &str, keep: bool) -> Action {
        if !keep {
            Action::Remove(key.to_owned())
        } else if key != canonical {
            Action::Rename(key.to_owned(), canonical.to_owned())
        } else {
            Action::Keep
        }
    }
}

fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

impl<'r, 'o> Walker<'r, 'o> {
    pub(super) fn new(rt: ResourceTypeRef<'r>, opts: &'o ValidationOptions, mode: Mode) -> Self {
        Walker {
            rt,
            opts,
            mode,
            issues: Vec::new(),
            coercions: Vec::new(),
            path: String::new(),
        }
    }

    pub(super) fn finish(self, resource: Value) -> Result<Validated, ValidationError> {
        if self.issues.is_empty() {
            Ok(Validated {
                resource,
                coercions: self.coercions,
            })
        } else {
            Err(ValidationError::new(self.issues))
        }
    }

    fn issue(&mut self, kind: IssueKind) {
        self.issues.push(Issue {
            path: self.path.clone(),
            kind,
        });
    }

    fn coerce(&mut self, kind: CoercionKind) {
        self.coercions.push(Coercion {
            path: self.path.clone(),
            kind,
        });
    }

    fn wrong(&mut self, expected: &'static str, found: &Value) {
        self.issue(IssueKind::WrongType {
            expected,
            found: json_kind(found),
        });
    }

    fn invalid(&mut self, reason: impl Into<String>) {
        self.issue(IssueKind::InvalidValue {
            reason: reason.into(),
        });
    }

    /// Runs `f` with `segment` appended to the path (`a`, `a.b`, `urn:…:a`).
    fn at<R>(&mut self, segment: &str, sep: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push_str(sep);
        }
        self.path.push_str(segment);
        let r = f(self);
        self.path.truncate(len);
        r
    }

    fn at_index<R>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        let len = self.path.len();
        // Written in place: one allocation per element of a 100-member PATCH adds up.
        let _ = write!(self.path, "[{i}]");
        let r = f(self);
        self.path.truncate(len);
        r
    }

    /// A whole resource, normalised in place.
    pub(super) fn resource(&mut self, input: &mut Value) -> bool {
        let Value::Object(obj) = input else {
            self.path = json_kind(input).to_owned();
            self.issue(IssueKind::NotAnObject);
            return false;
        };
        self.repeated(obj, ".");
        let rt = self.rt;
        let core = rt.core_schema();
        let mut actions: Vec<Action> = Vec::new();
        let mut extensions_present: Vec<&Schema> = Vec::new();
        let mut schemas_key: Option<String> = None;
        for (key, value) in obj.iter_mut() {
            if key.eq_ignore_ascii_case("schemas") {
                schemas_key = Some(key.clone());
                continue;
            }
            if let Some(common) = find(rt.common_attributes(), key) {
                let keep = match common.mutability {
                    Mutability::ReadOnly => self.mode != Mode::Input,
                    _ => self.at(&common.name, ".", |w| w.attribute(common, value)),
                };
                actions.push(Action::new(key, &common.name, keep));
                continue;
            }
            if let Some(ext) = rt.extension(key) {
                let keep = self.at(&ext.id, ":", |w| match value {
                    Value::Object(m) => {
                        w.attributes(&ext.attributes, m, ":");
                        true
                    }
                    Value::Null => false,
                    other => {
                        w.wrong("an object", other);
                        true
                    }
                });
                if keep {
                    extensions_present.push(ext);
                }
                actions.push(Action::new(key, &ext.id, keep));
                continue;
            }
            if let Some(attr) = find(&core.attributes, key) {
                let keep = self.at(&attr.name, ".", |w| w.attribute(attr, value));
                actions.push(Action::new(key, &attr.name, keep));
                continue;
            }
            let keep = self.unknown(key, value, ".");
            actions.push(Action::new(key, key, keep));
        }
        Self::apply(obj, actions);
        self.required(&core.attributes, obj, ".");
        for (ext, required) in rt.extensions() {
            if required && !obj.contains_key(&ext.id) {
                self.at(&ext.id, ".", |w| w.issue(IssueKind::Required));
            }
        }
        let listed = schemas_key.and_then(|k| obj.remove(&k));
        let schemas = self.schemas(listed.as_ref(), &extensions_present);
        obj.insert(
            "schemas".to_owned(),
            schemas.unwrap_or_else(|| listed.unwrap_or(Value::Null)),
        );
        true
    }

    /// An issue for each key of `obj` that names an attribute named before it (RFC 7643
    /// §2.1: names are case-insensitive).
    fn repeated(&mut self, obj: &Object, sep: &str) {
        for key in repeated_names(obj) {
            self.at(key, sep, |w| w.issue(IssueKind::Duplicate));
        }
    }

    /// Applies the removals and renamings decided while walking an object.
    fn apply(obj: &mut Object, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Keep => {}
                Action::Remove(key) => {
                    obj.remove(&key);
                }
                Action::Rename(from, to) => {
                    // `to` taken already: `from` repeats it, reported by `repeated`.
                    if let Some(v) = obj.remove(&from) {
                        obj.entry(to).or_insert(v);
                    }
                }
            }
        }
    }

    /// Checks `schemas` (RFC 7643 §3: the core schema and every extension present).
    /// Returns the canonical spelling when it differs from what was sent.
    fn schemas(&mut self, listed: Option<&Value>, present: &[&Schema]) -> Option<Value> {
        let rt = self.rt;
        let core = rt.core_schema();
        let saved = std::mem::replace(&mut self.path, "schemas".to_owned());
        let mut canonical: Vec<&str> = vec![core.id.as_str()];
        match listed {
            None | Some(Value::Null) => self.issue(IssueKind::Schemas {
                reason: format!("is required and must contain `{}`", core.id),
            }),
            Some(Value::Array(items)) => {
                let mut has_core = false;
                for item in items {
                    match item.as_str() {
                        Some(urn) if rt.is_core(urn) => has_core = true,
                        Some(urn) => match rt.extension(urn) {
                            Some(ext) => {
                                if !canonical.contains(&ext.id.as_str()) {
                                    canonical.push(&ext.id);
                                }
                            }
                            None if self.opts.leniency.unknown_schema_uris => {
                                self.coerce(CoercionKind::DroppedSchemaUri);
                            }
                            None => self.issue(IssueKind::Schemas {
                                reason: format!(
                                    "`{urn}` is not a schema of resource type {}",
                                    rt.definition().name
                                ),
                            }),
                        },
                        None => self.issue(IssueKind::Schemas {
                            reason: "must be an array of schema URNs".to_owned(),
                        }),
                    }
                }
                if !has_core {
                    self.issue(IssueKind::Schemas {
                        reason: format!("must contain `{}`", core.id),
                    });
                }
                for ext in present {
                    if !canonical.contains(&ext.id.as_str()) {
                        self.issue(IssueKind::Schemas {
                            reason: format!("must list `{}`, whose attributes are present", ext.id),
                        });
                    }
                }
            }
            Some(_) => self.issue(IssueKind::Schemas {
                reason: "must be an array of schema URNs".to_owned(),
            }),
        }
        self.path = saved;
        let same = matches!(listed, Some(Value::Array(items))
            if items.len() == canonical.len()
                && items.iter().zip(&canonical).all(|(a, b)| a.as_str() == Some(*b)));
        (!same).then(|| {
            Value::Array(
                canonical
                    .into_iter()
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            )
        })
    }

    /// An attribute outside the schema; returns whether to keep it.
    fn unknown(&mut self, key: &str, value: &Value, sep: &str) -> bool {
        self.at(key, sep, |w| match w.opts.unknown {
            // `null` is unassigned (RFC 7643 §2.5): nothing is asked for.
            _ if value.is_null() && w.opts.leniency.null_unknown_attributes => {
                w.coerce(CoercionKind::DroppedUnknown);
            }
            UnknownAttributes::Reject => w.issue(IssueKind::UnknownAttribute),
            UnknownAttributes::Ignore => w.coerce(CoercionKind::DroppedUnknown),
        });
        false
    }

    /// The attributes of an object (an extension, or a complex value), in place.
    fn attributes(&mut self, defs: &[Attribute], obj: &mut Object, sep: &str) {
        self.repeated(obj, sep);
        let mut actions: Vec<Action> = Vec::new();
        for (key, value) in obj.iter_mut() {
            let action = match find(defs, key) {
                Some(attr) => {
                    let keep = self.at(&attr.name, sep, |w| w.attribute(attr, value));
                    Action::new(key, &attr.name, keep)
                }
                None => {
                    let keep = self.unknown(key, value, sep);
                    Action::new(key, key, keep)
                }
            };
            if !matches!(action, Action::Keep) {
                actions.push(action);
            }
        }
        Self::apply(obj, actions);
        self.required(defs, obj, sep);
    }

    fn required(&mut self, defs: &[Attribute], out: &Object, sep: &str) {
        if self.mode == Mode::Value && self.path.is_empty() {
            return;
        }
        for attr in defs {
            if attr.required
                && attr.mutability != Mutability::ReadOnly
                && !present(out.get(&attr.name))
            {
                self.at(&attr.name, sep, |w| w.issue(IssueKind::Required));
            }
        }
    }

    /// One attribute's value (single or multi-valued), in place; returns whether to keep
    /// the attribute.
    fn attribute(&mut self, attr: &Attribute, value: &mut Value) -> bool {
        if value.is_null() {
            return false;
        }
        // readOnly values a client sends are ignored (RFC 7644 §3.3, §3.5.2); a PATCH that
        // targets a readOnly attribute itself is refused before this point.
        if attr.mutability == Mutability::ReadOnly && self.mode != Mode::Stored {
            return false;
        }
        if attr.multi_valued {
            if !value.is_array() {
                if !self.opts.leniency.wrap_single_values {
                    self.wrong("an array", value);
                    return true;
                }
                self.coerce(CoercionKind::WrappedInArray);
                let single = value.take();
                *value = Value::Array(vec![single]);
            }
            let Value::Array(items) = value else {
                return true;
            };
            let mut dropped = false;
            for (i, item) in items.iter_mut().enumerate() {
                let keep = !item.is_null() && self.at_index(i, |w| w.single(attr, item));
                if !keep {
                    *item = Value::Null;
                    dropped = true;
                }
            }
            if dropped {
                items.retain(|v| !v.is_null());
            }
            if attr.attr_type == AttrType::Complex {
                let primaries = items
                    .iter()
                    .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
                    .count();
                if primaries > 1 {
                    self.issue(IssueKind::MultiplePrimary);
                }
            }
            return true;
        }
        if let Value::Array(items) = value {
            if items.len() == 1 && self.opts.leniency.unwrap_one_element_arrays {
                self.coerce(CoercionKind::UnwrappedArray);
                let only = items.pop().unwrap_or(Value::Null);
                *value = only;
            } else {
                self.wrong("a single value", value);
                return true;
            }
        }
        self.single(attr, value)
    }

    /// One value of the attribute's type, in place; returns whether to keep it.
    fn single(&mut self, attr: &Attribute, value: &mut Value) -> bool {
        // An empty string is unassigned (RFC 7643 §2.5), so it is no value for a required
        // attribute: `"userName": ""` would otherwise satisfy `required`.
        if attr.required && value.as_str() == Some("") {
            self.invalid("is required and must not be an empty string");
            return true;
        }
        let lenient = self.opts.leniency;
        match (attr.attr_type, &mut *value) {
            (AttrType::Complex, Value::Object(m)) => self.attributes(&attr.sub_attributes, m, "."),
            (AttrType::Complex, Value::String(s))
                if lenient.bare_string_for_complex && attr.has_value_sub_attribute() =>
            {
                self.coerce(CoercionKind::StringToComplexValue);
                let mut m = Object::new();
                m.insert("value".to_owned(), Value::String(std::mem::take(s)));
                self.attributes(&attr.sub_attributes, &mut m, ".");
                *value = Value::Object(m);
            }
            (AttrType::Complex, other) => {
                self.wrong("an object", other);
            }
            (AttrType::String, Value::String(s)) => {
                let s = std::mem::take(s);
                self.string_rules(attr, &s);
                *value = Value::String(s);
            }
            (AttrType::String, other) => {
                self.wrong("a string", other);
            }
            (AttrType::Reference, Value::String(s)) => {
                if !is_reference(s) {
                    self.invalid("is not a URI reference");
                }
            }
            (AttrType::Reference, other) => {
                self.wrong("a string (URI reference)", other);
            }
            (AttrType::Binary, Value::String(s)) => {
                if !is_base64(s) {
                    self.invalid("is not base64 (RFC 4648)");
                }
            }
            (AttrType::Binary, other) => {
                self.wrong("a base64 string", other);
            }
            (AttrType::DateTime, Value::String(s)) => {
                if !is_datetime(s) {
                    self.invalid("is not an xsd:dateTime with offset (`2010-01-23T04:56:22Z`)");
                }
            }
            (AttrType::DateTime, other) => {
                self.wrong("a dateTime string", other);
            }
            (AttrType::Boolean, Value::Bool(_)) => {}
            (AttrType::Boolean, Value::String(s))
                if lenient.string_booleans
                    && (s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")) =>
            {
                self.coerce(CoercionKind::StringToBoolean);
                let b = s.eq_ignore_ascii_case("true");
                *value = Value::Bool(b);
            }
            (AttrType::Boolean, other) => {
                self.wrong("a boolean", other);
            }
            (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            (AttrType::Integer, Value::String(s))
                if lenient.numeric_strings && s.trim().parse::<i64>().is_ok() =>
            {
                self.coerce(CoercionKind::StringToNumber);
                let i = s.trim().parse::<i64>().unwrap_or_default();
                *value = Value::from(i);
            }
            (AttrType::Integer, other) => {
                self.wrong("an integer", other);
            }
            (AttrType::Decimal, Value::Number(_)) => {}
            (AttrType::Decimal, Value::String(s)) if lenient.numeric_strings => {
                match s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    Some(n) => {
                        self.coerce(CoercionKind::StringToNumber);
                        *value = Value::Number(n);
                    }
                    None => {
                        self.wrong("a decimal number", value);
                    }
                }
            }
            (AttrType::Decimal, other) => {
                self.wrong("a decimal number", other);
            }
            (_, other) => {
                self.wrong("a value of a known type", other);
            }
        }
        true
    }

    fn string_rules(&mut self, attr: &Attribute, s: &str) {
        if let Some(name) = attr.custom_type.as_deref() {
            if let Some(custom) = self.rt.registry().custom_type(name) {
                if custom.normalize(s).is_none() {
                    let reason = format!("is not a valid {}", custom.name());
                    self.invalid(reason);
                }
            }
        }
        if self.opts.enforce_canonical_values && !attr.canonical_values.is_empty() {
            let ok = attr.canonical_values.iter().any(|c| {
                if attr.case_exact {
                    c == s
                } else {
                    c.eq_ignore_ascii_case(s)
                }
            });
            if !ok {
                let reason = format!("must be one of {}", attr.canonical_values.join(", "));
                self.invalid(reason);
            }
        }
    }

    /// A PATCH operation's value for `path`, in place; returns whether a value remains.
    pub(super) fn path_value(&mut self, path: &AttrPath, value: &mut Value) -> bool {
        let rt = self.rt;
        if let Some(ext) = rt.extension_of(path) {
            self.path = ext.id.clone();
            match value {
                Value::Object(m) => self.attributes(&ext.attributes, m, ":"),
                other => {
                    self.wrong("an object", other);
                }
            }
            return true;
        }
        self.path = path.to_string();
        let Some(resolved) = rt.resolve(path) else {
            self.issue(IssueKind::UnknownAttribute);
            return false;
        };
        let target = resolved.target();
        if target.mutability == Mutability::ReadOnly {
            self.issue(IssueKind::ReadOnly);
            return false;
        }
        let element_of_multi = resolved.sub_attribute.is_none()
            && target.multi_valued
            && !value.is_array()
            && !value.is_null();
        if element_of_multi {
            self.single(target, value)
        } else {
            self.attribute(target, value)
        }
    }

    /// For PUT: keep the current readOnly values and the current values of immutable
    /// attributes, refusing changes to the latter.
    pub(super) fn carry_over(&mut self, out: &mut Value, current: &Object) {
        let Value::Object(out) = out else { return };
        for name in ["id", "meta"] {
            if let Some(v) = get_ci(current, name) {
                out.insert(name.to_owned(), v.clone());
            }
        }
        let rt = self.rt;
        self.keep_protected(&rt.core_schema().attributes, out, current, "");
        for (ext, _) in rt.extensions() {
            let Some(Value::Object(cur_ext)) = get_ci(current, &ext.id) else {
                continue;
            };
            let mut new_ext = match out.remove(&ext.id) {
                Some(Value::Object(m)) => m,
                _ => Object::new(),
            };
            self.keep_protected(&ext.attributes, &mut new_ext, cur_ext, &ext.id);
            if !new_ext.is_empty() {
                out.insert(ext.id.clone(), Value::Object(new_ext));
            }
        }
    }

    fn keep_protected(
        &mut self,
        defs: &[Attribute],
        out: &mut Object,
        current: &Object,
        prefix: &str,
    ) {
        for attr in defs {
            let Some(cur) = get_ci(current, &attr.name).filter(|v| present(Some(v))) else {
                continue;
            };
            match attr.mutability {
                Mutability::ReadOnly => {
                    out.insert(attr.name.clone(), cur.clone());
                }
                Mutability::Immutable => match out.get(&attr.name) {
                    None => {
                        out.insert(attr.name.clone(), cur.clone());
                    }
                    Some(new) if new != cur => {
                        let path = if prefix.is_empty() {
                            attr.name.clone()
                        } else {
                            format!("{prefix}:{}", attr.name)
                        };
                        self.issues.push(Issue {
                            path,
                            kind: IssueKind::Immutable,
                        });
                    }
                    Some(_) => {}
                },
                _ => {}
            }
        }
    }
}
