//! The walk over a resource that checks each value against its attribute definition.

use serde_json::Value;

use super::issue::{Coercion, CoercionKind, Issue, IssueKind, ValidationError};
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

fn get_ci<'a>(obj: &'a Object, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.len() == key.len() && k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
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

    pub(super) fn finish(self, out: Option<Value>) -> Result<Validated, ValidationError> {
        match out {
            Some(resource) if self.issues.is_empty() => Ok(Validated {
                resource,
                coercions: self.coercions,
            }),
            _ if self.issues.is_empty() => Err(ValidationError::new(vec![Issue {
                path: self.path,
                kind: IssueKind::NotAnObject,
            }])),
            _ => Err(ValidationError::new(self.issues)),
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

    fn wrong(&mut self, expected: &'static str, found: &Value) -> Option<Value> {
        self.issue(IssueKind::WrongType {
            expected,
            found: json_kind(found),
        });
        None
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
        self.path.push('[');
        self.path.push_str(&i.to_string());
        self.path.push(']');
        let r = f(self);
        self.path.truncate(len);
        r
    }

    /// A whole resource.
    pub(super) fn resource(&mut self, input: &Value) -> Option<Value> {
        let Value::Object(obj) = input else {
            self.path = json_kind(input).to_owned();
            self.issue(IssueKind::NotAnObject);
            return None;
        };
        let rt = self.rt;
        let core = rt.core_schema();
        let mut out = Object::new();
        let mut extensions_present: Vec<&Schema> = Vec::new();
        let mut listed: Option<&Value> = None;
        for (key, value) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                listed = Some(value);
                continue;
            }
            if let Some(common) = find(rt.common_attributes(), key) {
                let keep = match common.mutability {
                    Mutability::ReadOnly => self.mode != Mode::Input,
                    _ => true,
                };
                if keep {
                    let v = if common.name == "externalId" {
                        self.at(&common.name, ".", |w| w.attribute(common, value))
                    } else {
                        Some(value.clone())
                    };
                    if let Some(v) = v {
                        self.insert(&mut out, &common.name, v);
                    }
                }
                continue;
            }
            if let Some(ext) = rt.extension(key) {
                self.at(&ext.id, ":", |w| match value {
                    Value::Object(m) => {
                        let o = w.attributes(&ext.attributes, m, ":");
                        extensions_present.push(ext);
                        w.insert(&mut out, &ext.id, Value::Object(o));
                    }
                    Value::Null => {}
                    other => {
                        w.wrong("an object", other);
                    }
                });
                continue;
            }
            if let Some(attr) = find(&core.attributes, key) {
                if let Some(v) = self.at(&attr.name, ".", |w| w.attribute(attr, value)) {
                    self.insert(&mut out, &attr.name, v);
                }
                continue;
            }
            self.unknown(key, ".");
        }
        self.required(&core.attributes, &out, ".");
        for (ext, required) in rt.extensions() {
            if required && !out.contains_key(&ext.id) {
                self.at(&ext.id, ".", |w| w.issue(IssueKind::Required));
            }
        }
        let schemas = self.schemas(listed, &extensions_present);
        out.insert("schemas".to_owned(), schemas);
        Some(Value::Object(out))
    }

    /// Checks `schemas` (RFC 7643 §3: the core schema and every extension present) and
    /// returns it in canonical spelling.
    fn schemas(&mut self, listed: Option<&Value>, present: &[&Schema]) -> Value {
        let rt = self.rt;
        let core = rt.core_schema();
        let saved = std::mem::replace(&mut self.path, "schemas".to_owned());
        let mut canonical: Vec<Value> = vec![Value::String(core.id.clone())];
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
                                let id = Value::String(ext.id.clone());
                                if !canonical.contains(&id) {
                                    canonical.push(id);
                                }
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
                    if !canonical
                        .iter()
                        .any(|c| c.as_str() == Some(ext.id.as_str()))
                    {
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
        Value::Array(canonical)
    }

    fn insert(&mut self, out: &mut Object, name: &str, value: Value) {
        if out.contains_key(name) {
            self.at(name, ".", |w| w.issue(IssueKind::Duplicate));
        } else {
            out.insert(name.to_owned(), value);
        }
    }

    fn unknown(&mut self, key: &str, sep: &str) {
        self.at(key, sep, |w| match w.opts.unknown {
            UnknownAttributes::Reject => w.issue(IssueKind::UnknownAttribute),
            UnknownAttributes::Ignore => w.coerce(CoercionKind::DroppedUnknown),
        });
    }

    /// The attributes of an object (an extension, or a complex value).
    fn attributes(&mut self, defs: &[Attribute], obj: &Object, sep: &str) -> Object {
        let mut out = Object::new();
        for (key, value) in obj {
            match find(defs, key) {
                Some(attr) => {
                    if let Some(v) = self.at(&attr.name, sep, |w| w.attribute(attr, value)) {
                        self.insert(&mut out, &attr.name, v);
                    }
                }
                None => self.unknown(key, sep),
            }
        }
        self.required(defs, &out, sep);
        out
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

    /// One attribute's value (single or multi-valued).
    fn attribute(&mut self, attr: &Attribute, value: &Value) -> Option<Value> {
        if value.is_null() {
            return None;
        }
        if attr.mutability == Mutability::ReadOnly && self.mode == Mode::Input {
            return None;
        }
        if attr.multi_valued {
            let wrapped;
            let items: &[Value] = match value {
                Value::Array(items) => items,
                other if self.opts.leniency.wrap_single_values => {
                    self.coerce(CoercionKind::WrappedInArray);
                    wrapped = [other.clone()];
                    &wrapped
                }
                other => return self.wrong("an array", other),
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                if let Some(v) = self.at_index(i, |w| w.single(attr, item)) {
                    out.push(v);
                }
            }
            if attr.attr_type == AttrType::Complex {
                let primaries = out
                    .iter()
                    .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
                    .count();
                if primaries > 1 {
                    self.issue(IssueKind::MultiplePrimary);
                }
            }
            return Some(Value::Array(out));
        }
        match value {
            Value::Array(items)
                if items.len() == 1 && self.opts.leniency.unwrap_one_element_arrays =>
            {
                self.coerce(CoercionKind::UnwrappedArray);
                self.single(attr, &items[0])
            }
            Value::Array(_) => self.wrong("a single value", value),
            v => self.single(attr, v),
        }
    }

    /// One value of the attribute's type.
    fn single(&mut self, attr: &Attribute, value: &Value) -> Option<Value> {
        let lenient = self.opts.leniency;
        match (attr.attr_type, value) {
            (AttrType::Complex, Value::Object(m)) => {
                Some(Value::Object(self.attributes(&attr.sub_attributes, m, ".")))
            }
            (AttrType::Complex, Value::String(s))
                if lenient.bare_string_for_complex && attr.has_value_sub_attribute() =>
            {
                self.coerce(CoercionKind::StringToComplexValue);
                let mut m = Object::new();
                m.insert("value".to_owned(), Value::String(s.clone()));
                Some(Value::Object(self.attributes(
                    &attr.sub_attributes,
                    &m,
                    ".",
                )))
            }
            (AttrType::Complex, other) => self.wrong("an object", other),
            (AttrType::String, Value::String(s)) => {
                self.string_rules(attr, s);
                Some(value.clone())
            }
            (AttrType::String, other) => self.wrong("a string", other),
            (AttrType::Reference, Value::String(s)) => {
                if !is_reference(s) {
                    self.invalid("is not a URI reference");
                }
                Some(value.clone())
            }
            (AttrType::Reference, other) => self.wrong("a string (URI reference)", other),
            (AttrType::Binary, Value::String(s)) => {
                if !is_base64(s) {
                    self.invalid("is not base64 (RFC 4648)");
                }
                Some(value.clone())
            }
            (AttrType::Binary, other) => self.wrong("a base64 string", other),
            (AttrType::DateTime, Value::String(s)) => {
                if !is_datetime(s) {
                    self.invalid("is not an RFC 3339 dateTime with offset");
                }
                Some(value.clone())
            }
            (AttrType::DateTime, other) => self.wrong("a dateTime string", other),
            (AttrType::Boolean, Value::Bool(_)) => Some(value.clone()),
            (AttrType::Boolean, Value::String(s)) if lenient.string_booleans => {
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
                    self.coerce(CoercionKind::StringToBoolean);
                    Some(Value::Bool(s.eq_ignore_ascii_case("true")))
                } else {
                    self.wrong("a boolean", value)
                }
            }
            (AttrType::Boolean, other) => self.wrong("a boolean", other),
            (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Some(value.clone())
            }
            (AttrType::Integer, Value::String(s)) if lenient.numeric_strings => {
                match s.trim().parse::<i64>() {
                    Ok(i) => {
                        self.coerce(CoercionKind::StringToNumber);
                        Some(Value::from(i))
                    }
                    Err(_) => self.wrong("an integer", value),
                }
            }
            (AttrType::Integer, other) => self.wrong("an integer", other),
            (AttrType::Decimal, Value::Number(_)) => Some(value.clone()),
            (AttrType::Decimal, Value::String(s)) if lenient.numeric_strings => {
                match s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    Some(n) => {
                        self.coerce(CoercionKind::StringToNumber);
                        Some(Value::Number(n))
                    }
                    None => self.wrong("a decimal number", value),
                }
            }
            (AttrType::Decimal, other) => self.wrong("a decimal number", other),
            (_, other) => self.wrong("a value of a known type", other),
        }
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

    /// A PATCH operation's value for `path`.
    pub(super) fn path_value(&mut self, path: &AttrPath, value: &Value) -> Option<Value> {
        let rt = self.rt;
        if let Some(ext) = rt.extension_of(path) {
            self.path = ext.id.clone();
            return match value {
                Value::Object(m) => Some(Value::Object(self.attributes(&ext.attributes, m, ":"))),
                other => self.wrong("an object", other),
            };
        }
        self.path = path.to_string();
        let Some(resolved) = rt.resolve(path) else {
            self.issue(IssueKind::UnknownAttribute);
            return None;
        };
        let target = resolved.target();
        if target.mutability == Mutability::ReadOnly {
            self.issue(IssueKind::ReadOnly);
            return None;
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
