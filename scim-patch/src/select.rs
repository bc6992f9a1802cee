//! Selecting values of a multi-valued attribute: a compiled value filter, with fast paths
//! for the shapes IdPs send most (`members[value eq "id"]`, a list of values).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use scim_filter::{AttrPath, CompValue, CompareOp, CompiledFilter, Filter};
use scim_schema::ResourceTypeRef;
use serde_json::Value;

use crate::error::{invalid_path, PatchError};

/// The `value` of an element: the element itself for simple values, its `value`
/// sub-attribute for complex ones.
pub(crate) fn element_value(element: &Value) -> Option<&str> {
    match element {
        Value::String(s) => Some(s),
        // A scan comparing key lengths first: only the key of length 5 is read, which on
        // large groups (cold in cache) beats an ordered-map search.
        Value::Object(m) => m
            .iter()
            .find(|(k, _)| k.len() == 5 && k.eq_ignore_ascii_case("value"))
            .and_then(|(_, v)| v.as_str()),
        _ => None,
    }
}

/// A fast non-cryptographic hasher (the rustc "Fx" mix) for sets of member ids: the ids come
/// from the request and the resource, a hash-flooding attack would cost the attacker's own
/// request only.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A set keyed with [`FxHasher`].
pub(crate) type FxSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

pub(crate) enum Matcher {
    /// `value eq "x"`.
    ValueEq {
        lit: String,
        case_exact: bool,
    },
    /// `value eq "a" or value eq "b" …`, or a list of values: literals folded unless
    /// case-exact.
    ValueSet {
        set: FxSet<String>,
        case_exact: bool,
    },
    Filter(CompiledFilter),
}

impl Matcher {
    pub(crate) fn new(
        attr: &AttrPath,
        filter: &Filter,
        rt: Option<&ResourceTypeRef<'_>>,
    ) -> Result<Matcher, PatchError> {
        let case_exact = value_case_exact(attr, rt);
        if let Some(lit) = value_eq(filter) {
            return Ok(Matcher::ValueEq {
                lit: lit.to_owned(),
                case_exact,
            });
        }
        if let Filter::Or(ops) = filter {
            let lits: Option<Vec<&str>> = ops.iter().map(value_eq).collect();
            if let Some(lits) = lits {
                return Ok(Matcher::set(lits, case_exact));
            }
        }
        let compiled = match rt {
            Some(rt) => CompiledFilter::compile_for_values(attr, filter, rt),
            None => CompiledFilter::compile_for_values(attr, filter, &scim_filter::Schemaless),
        }
        .map_err(|e| invalid_path(e.to_string()))?;
        Ok(Matcher::Filter(compiled))
    }

    pub(crate) fn set<'a>(lits: impl IntoIterator<Item = &'a str>, case_exact: bool) -> Matcher {
        let set = lits
            .into_iter()
            .map(|l| {
                if case_exact {
                    l.to_owned()
                } else {
                    l.to_lowercase()
                }
            })
            .collect();
        Matcher::ValueSet { set, case_exact }
    }

    /// Indices (ascending) of the values of `attribute` (an array) that match.
    pub(crate) fn indices(&self, attribute: Option<&Value>) -> Vec<usize> {
        match attribute {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, v)| self.matches(v))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(crate) fn matches(&self, element: &Value) -> bool {
        match self {
            Matcher::ValueEq { lit, case_exact } => element_value(element).is_some_and(|v| {
                v.len() == lit.len()
                    && (if *case_exact {
                        v == lit
                    } else {
                        v.eq_ignore_ascii_case(lit)
                    })
                    || (!case_exact && !v.is_ascii() && v.to_lowercase() == lit.to_lowercase())
            }),
            Matcher::ValueSet { set, case_exact } => element_value(element).is_some_and(|v| {
                if *case_exact {
                    set.contains(v)
                } else {
                    with_lowercase(v, |l| set.contains(l))
                }
            }),
            Matcher::Filter(f) => f.matches_value(element),
        }
    }
}

/// Runs `f` on the lower-case form of `s`, without allocating for short ASCII strings.
fn with_lowercase<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    if s.len() <= 64 && s.is_ascii() {
        let mut buf = [0u8; 64];
        let lower = &mut buf[..s.len()];
        lower.copy_from_slice(s.as_bytes());
        lower.make_ascii_lowercase();
        if let Ok(l) = std::str::from_utf8(lower) {
            return f(l);
        }
    }
    f(&s.to_lowercase())
}

/// `value eq "literal"`, the common member selector.
fn value_eq(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(s),
        } if path.urn.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(s)
        }
        _ => None,
    }
}

/// Whether `attr.value` compares case-sensitively (schema-less: no).
fn value_case_exact(attr: &AttrPath, rt: Option<&ResourceTypeRef<'_>>) -> bool {
    let Some(rt) = rt else { return false };
    let mut path = attr.clone();
    path.sub_attr = Some("value".to_owned());
    rt.resolve(&path).is_some_and(|r| r.target().case_exact)
}

/// For `add` through an unmatched filter (Entra ID): the `{sub: literal}` pairs of a filter
/// made of `eq` comparisons joined by `and`.
pub(crate) fn filter_assignments(filter: &Filter) -> Option<Vec<(String, Value)>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub_attr.is_none() => {
            Some(vec![(path.name.clone(), value.to_json())])
        }
        Filter::And(ops) => {
            let mut all = Vec::new();
            for op in ops {
                all.extend(filter_assignments(op)?);
            }
            Some(all)
        }
        _ => None,
    }
}
