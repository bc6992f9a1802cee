//! The evaluation tree and how it is run against a resource.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::datetime::parse_instant;
use super::resolved::{
    Condition, Location, NumberLiteral, NumberTest, ResolvedAttr, ResolvedNode, TextSet, TextTest,
};
use super::text::{self, Fold};
use crate::CompareOp;

type Object = Map<String, Value>;

/// Whether `ord` (a value against the literal) satisfies the `eq` or ordering `op`.
fn holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        _ => false,
    }
}

impl ResolvedNode {
    pub(crate) fn eval(&self, obj: &Object) -> bool {
        match self {
            ResolvedNode::And(ops) => ops.iter().all(|n| n.eval(obj)),
            ResolvedNode::Or(ops) => ops.iter().any(|n| n.eval(obj)),
            ResolvedNode::Not(inner) => !inner.eval(obj),
            ResolvedNode::Leaf(path, test) => test.eval(path, obj),
            ResolvedNode::ValuePath(path, inner) => {
                path.any_attribute(obj, &mut |attr| match attr {
                    Value::Array(items) => items.iter().any(|v| match v {
                        Value::Object(o) => inner.eval(o),
                        // A simple multi-valued attribute (e.g. `schemas`): inside the brackets
                        // `value` names the element itself (RFC 7644 §3.4.2.2 "value" sub-attribute).
                        Value::Null => false,
                        scalar => {
                            let mut wrapped = Object::new();
                            wrapped.insert("value".to_owned(), scalar.clone());
                            inner.eval(&wrapped)
                        }
                    }),
                    Value::Object(o) => inner.eval(o),
                    _ => false,
                })
            }
        }
    }
}

/// Whether the value of some key of `obj` naming `key` satisfies `f`. Attribute names are
/// case-insensitive (RFC 7643 §2.1), so every key equal to `key` but for ASCII case names
/// the attribute: a document with keys duplicated by case (`userName` and `usernaMe`) holds
/// the values of all of them, and a test matches when any of them satisfies it (the
/// any-match rule of multi-valued attributes, RFC 7644 §3.4.2.2). The answer so depends
/// neither on the filter's spelling nor on the order of the keys. Lengths are compared
/// before bytes, so only keys of the right length are read.
#[inline]
fn any_key(obj: &Object, key: &str, f: &mut impl FnMut(&Value) -> bool) -> bool {
    let n = key.len();
    obj.iter()
        .any(|(k, v)| k.len() == n && k.as_bytes().eq_ignore_ascii_case(key.as_bytes()) && f(v))
}

impl ResolvedAttr {
    /// Whether some value of the attribute (before any sub-attribute step) satisfies `f`.
    fn any_attribute(&self, obj: &Object, f: &mut impl FnMut(&Value) -> bool) -> bool {
        let name = &*self.name;
        match &self.location {
            Location::Core | Location::Element => any_key(obj, name, f),
            Location::Extension(urn) => any_key(obj, urn, &mut |ext| match ext {
                Value::Object(ext) => any_key(ext, name, &mut *f),
                _ => false,
            }),
            Location::ExtensionOrCore(urn) => {
                let mut keyed = false;
                let hit = any_key(obj, urn, &mut |ext| {
                    keyed = true;
                    match ext {
                        Value::Object(ext) => any_key(ext, name, &mut *f),
                        _ => false,
                    }
                });
                // No key for the URN: the core attributes.
                hit || (!keyed && any_key(obj, name, f))
            }
            Location::Foreign => false,
        }
    }

    /// Whether any comparable value at this path satisfies `f`.
    fn any_value(&self, obj: &Object, f: &mut impl FnMut(&Value) -> bool) -> bool {
        let complex = self.is_complex();
        match &self.sub {
            Some(sub) => self.any_attribute(obj, &mut |attr| match attr {
                Value::Array(items) => items.iter().any(|item| match item {
                    Value::Object(o) => any_key(o, sub, &mut |v| any_scalar(v, &mut *f)),
                    _ => false,
                }),
                Value::Object(o) => any_key(o, sub, &mut |v| any_scalar(v, &mut *f)),
                _ => false,
            }),
            // A complex attribute without sub-attribute compares its `value`
            // (RFC 7644 §3.4.2.2: "emails co ..." means "emails.value co ..."); with a
            // schema the compiler has already made that `emails.value`.
            None => self.any_attribute(obj, &mut |attr| match attr {
                Value::Array(items) => items.iter().any(|item| match item {
                    Value::Object(o) => any_key(o, "value", &mut *f),
                    other => f(other),
                }),
                Value::Object(o) if complex != Some(false) => any_key(o, "value", &mut *f),
                other => f(other),
            }),
        }
    }

    /// Whether the attribute has a value (RFC 7643 §2.5: null, "", [] and {} are unassigned).
    fn present(&self, obj: &Object) -> bool {
        match &self.sub {
            None => self.any_attribute(obj, &mut is_present),
            Some(sub) => self.any_attribute(obj, &mut |attr| match attr {
                Value::Array(items) => items.iter().any(|item| match item {
                    Value::Object(o) => any_key(o, sub, &mut is_present),
                    _ => false,
                }),
                Value::Object(o) => any_key(o, sub, &mut is_present),
                _ => false,
            }),
        }
    }
}

fn any_scalar(v: &Value, f: &mut impl FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(items) => items.iter().any(&mut *f),
        other => f(other),
    }
}

/// RFC 7644 §3.4.2.2 "present (has value)"; RFC 7643 §2.5: an empty string is unassigned.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

impl Condition {
    fn eval(&self, path: &ResolvedAttr, obj: &Object) -> bool {
        match self {
            Condition::Present => path.present(obj),
            Condition::Absent => !path.present(obj),
            value_test => path.any_value(obj, &mut |v| value_test.holds(v)),
        }
    }

    /// Whether one value passes the test.
    fn holds(&self, v: &Value) -> bool {
        match self {
            Condition::Present => is_present(v),
            Condition::Absent => !is_present(v),
            Condition::Bool(b) => v.as_bool() == Some(*b),
            Condition::Number(NumberTest { op, lit }) => match v {
                Value::Number(n) => num_cmp(n, *lit).is_some_and(|o| holds(*op, o)),
                _ => false,
            },
            Condition::Text(t) => match v {
                Value::String(s) => t.eval(s),
                _ => false,
            },
            Condition::TextIn(TextSet { fold, set }) => match v {
                Value::String(s) => set_contains(*fold, set, s),
                _ => false,
            },
            Condition::Ne(eq) => {
                matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) && !eq.holds(v)
            }
        }
    }
}

fn num_cmp(n: &serde_json::Number, lit: NumberLiteral) -> Option<Ordering> {
    match (n.as_i64(), lit) {
        (Some(a), NumberLiteral::Int(b)) => Some(a.cmp(&b)),
        _ => {
            let a = n.as_f64()?;
            let b = match lit {
                NumberLiteral::Int(i) => i as f64,
                NumberLiteral::Float(f) => f,
            };
            a.partial_cmp(&b)
        }
    }
}

fn set_contains(fold: Fold, set: &HashSet<Box<str>>, s: &str) -> bool {
    match fold {
        Fold::Exact => set.contains(s),
        Fold::Insensitive if s.len() <= 64 && s.is_ascii() => {
            let mut buf = [0u8; 64];
            let lower = &mut buf[..s.len()];
            lower.copy_from_slice(s.as_bytes());
            lower.make_ascii_lowercase();
            std::str::from_utf8(lower).is_ok_and(|l| set.contains(l))
        }
        Fold::Insensitive => set.contains(s.to_lowercase().as_str()),
    }
}

impl TextTest {
    fn eval(&self, value: &str) -> bool {
        if let Some(custom) = &self.custom {
            return match custom.normalize(value) {
                Some(n) => self.eval_text(&n),
                None => false,
            };
        }
        if let Some(lit) = self.instant {
            if let Some(v) = parse_instant(value) {
                return holds(self.op, v.cmp(&lit));
            }
        }
        self.eval_text(value)
    }

    fn eval_text(&self, value: &str) -> bool {
        let lit = &*self.lit;
        match self.op {
            CompareOp::Eq => text::eq(self.fold, value, lit),
            CompareOp::Co => text::contains(self.fold, value, lit),
            CompareOp::Sw => text::starts_with(self.fold, value, lit),
            CompareOp::Ew => text::ends_with(self.fold, value, lit),
            op => holds(op, text::cmp(self.fold, value, lit)),
        }
    }
}
