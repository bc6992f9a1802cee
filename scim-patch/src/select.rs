//! Selecting values of a multi-valued attribute: a compiled value filter, with fast paths
//! for the shapes IdPs send most (`members[value eq "id"]`, a list of values).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
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

/// A map keyed with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

pub(crate) enum Matcher<'a> {
    /// `value eq "x"`.
    ValueEq {
        lit: &'a str,
        prefix: Prefilter,
        case_exact: bool,
    },
    /// `value eq "a" or value eq "b" …`, or a list of values: literals folded unless
    /// case-exact (borrowed when folding leaves them as they are).
    ValueSet {
        set: FxSet<Cow<'a, str>>,
        prefix: Prefilter,
        case_exact: bool,
    },
    Filter(CompiledFilter),
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(
        attr: &AttrPath,
        filter: &'a Filter,
        rt: Option<&ResourceTypeRef<'_>>,
    ) -> Result<Matcher<'a>, PatchError> {
        let case_exact = value_case_exact(attr, rt);
        if let Some(lit) = value_eq(filter) {
            let mut prefix = Prefilter::default();
            prefix.insert(lit);
            if !case_exact && !lit.is_ascii() {
                prefix.insert(&lit.to_lowercase());
            }
            return Ok(Matcher::ValueEq {
                lit,
                prefix,
                case_exact,
            });
        }
        if let Filter::Or(ops) = filter {
            let lits: Option<Vec<&'a str>> = ops.iter().map(value_eq).collect();
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

    pub(crate) fn set(lits: impl IntoIterator<Item = &'a str>, case_exact: bool) -> Matcher<'a> {
        let mut prefix = Prefilter::default();
        let lits = lits.into_iter();
        // Sized once (a `filter_map` over operations hints only its upper bound).
        let (low, high) = lits.size_hint();
        let mut set = FxSet::with_capacity_and_hasher(
            high.unwrap_or(low).min(1 << 16),
            BuildHasherDefault::default(),
        );
        set.extend(lits.map(|l| {
            let l = if case_exact || l.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                Cow::Borrowed(l)
            } else {
                Cow::Owned(l.to_lowercase())
            };
            prefix.insert(&l);
            l
        }));
        Matcher::ValueSet {
            set,
            prefix,
            case_exact,
        }
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
            Matcher::ValueEq {
                lit,
                prefix,
                case_exact,
            } => {
                prefix.may_match(element)
                    && element_value(element).is_some_and(|v| {
                        v.len() == lit.len()
                            && (if *case_exact {
                                v == *lit
                            } else {
                                v.eq_ignore_ascii_case(lit)
                            })
                            || (!case_exact
                                && !v.is_ascii()
                                && v.to_lowercase() == lit.to_lowercase())
                    })
            }
            Matcher::ValueSet {
                set,
                prefix,
                case_exact,
            } => {
                prefix.may_match(element)
                    && element_value(element).is_some_and(|v| {
                        if *case_exact {
                            set.contains(v)
                        } else {
                            with_lowercase(v, |l| set.contains(l))
                        }
                    })
            }
            Matcher::Filter(f) => f.matches_value(element),
        }
    }
}

/// A Bloom-style filter over the first and last eight bytes of the values of a set, with
/// ASCII case folded: most values of a large group are not among the hundred a request
/// names, and two words of each rule it out without lowercasing and hashing the whole string
/// (both ends, for ids that share a prefix such as `https://…/Users/…` or a suffix).
///
/// No false negatives, also for case-insensitive sets: when the first (last) eight bytes of
/// `v` are ASCII, those of `v.to_lowercase()` are the same bytes lowercased, so both fold to
/// the same words; a value whose end bytes are not ASCII is always a candidate.
pub(crate) struct Prefilter {
    bits: Box<[u64; 64]>,
}

impl Default for Prefilter {
    fn default() -> Self {
        Prefilter {
            bits: Box::new([0; 64]),
        }
    }
}

impl Prefilter {
    /// The bit for `s` (4,096 bits), or `None` when its end bytes are not all ASCII.
    fn bit(s: &str) -> Option<usize> {
        const ASCII_CASE: u64 = 0x2020_2020_2020_2020;
        let bytes = s.as_bytes();
        let (first, last) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
            (Some(first), Some(last)) => (u64::from_le_bytes(*first), u64::from_le_bytes(*last)),
            _ => {
                let mut word = [0u8; 8];
                word[..bytes.len()].copy_from_slice(bytes);
                let w = u64::from_le_bytes(word);
                (w, w)
            }
        };
        if (first | last) & 0x8080_8080_8080_8080 != 0 {
            return None;
        }
        // `| 0x20` maps both cases of a letter to one byte (and some punctuation pairs too,
        // which only costs a false positive). The length counts up to 8: to_lowercase may
        // change the length of a longer value, never of a short ASCII one.
        let folded = (first | ASCII_CASE).wrapping_mul(0x517c_c1b7_2722_0a95)
            ^ (last | ASCII_CASE)
            ^ bytes.len().min(8) as u64;
        Some((folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize)
    }

    pub(crate) fn insert(&mut self, s: &str) {
        if let Some(b) = Self::bit(s) {
            self.bits[b / 64] |= 1 << (b % 64);
        }
    }

    /// Whether `s` may be in the set (`false`: it is not).
    pub(crate) fn may_contain(&self, s: &str) -> bool {
        Self::bit(s).is_none_or(|b| self.bits[b / 64] & (1 << (b % 64)) != 0)
    }

    /// Whether [`element_value`] of `element` may be in the set (`false`: it is not). Reads
    /// no key's text: only the lengths of the keys (kept in the map's node) and the first
    /// bytes of the string values of five-letter keys, among which the `value` is. On a
    /// large group that scan is the cost of a PATCH, and it reads less memory this way.
    pub(crate) fn may_match(&self, element: &Value) -> bool {
        match element {
            Value::String(s) => self.may_contain(s),
            Value::Object(m) => m
                .iter()
                .any(|(k, v)| k.len() == 5 && matches!(v, Value::String(s) if self.may_contain(s))),
            _ => false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_prefilter_has_no_false_negatives() {
        let lits = [
            "a6adc4fa-3daa-4d29-8fa0-669937e463de",
            "ABC",
            "",
            "\u{212a}elvin-and-more",
            "Ünïcödé",
            "x@example.com",
            "https://example.com/Users/İstanbul-Ünï-ABCDEFGH",
            "https://example.com/Users/42",
        ];
        for case_exact in [false, true] {
            let m = Matcher::set(lits, case_exact);
            let Matcher::ValueSet { prefix, .. } = &m else {
                unreachable!()
            };
            for lit in lits {
                let spellings = [
                    lit.to_owned(),
                    lit.to_lowercase(),
                    lit.to_uppercase(),
                    lit.to_ascii_uppercase(),
                ];
                for s in spellings {
                    let element = json!({"display": "d", "value": s, "type": "User"});
                    let folded = if case_exact {
                        s.clone()
                    } else {
                        s.to_lowercase()
                    };
                    let contained = match &m {
                        Matcher::ValueSet { set, .. } => set.contains(folded.as_str()),
                        _ => false,
                    };
                    if contained {
                        assert!(prefix.may_contain(&s), "{s}");
                        assert!(prefix.may_match(&element), "{s}");
                        assert!(prefix.may_match(&json!(s)), "{s}");
                        assert!(m.matches(&element), "{s}");
                    }
                }
            }
            // The ASCII-folded Kelvin sign spelling matches case-insensitively.
            assert_eq!(m.matches(&json!({"value": "kELVIN-AND-MORE"})), !case_exact);
            assert!(!m.matches(&json!({"value": "b6adc4fa-3daa-4d29-8fa0-669937e463de"})));
            assert!(!m.matches(&json!({"value": 1})));
        }
    }

    #[test]
    fn a_single_literal_is_prefiltered_too() {
        // What `value eq` means here, without the prefilter.
        let reference = |v: &str, lit: &str| {
            v.len() == lit.len() && v.eq_ignore_ascii_case(lit)
                || (!v.is_ascii() && v.to_lowercase() == lit.to_lowercase())
        };
        let values = [
            "kelvin",
            "\u{212a}ELVIN",
            "KELVIN",
            "kelvim",
            "Ünïcödé",
            "üNÏCÖDÉ",
            "a6adc4fa-3daa-4d29-8fa0-669937e463de",
            "A6ADC4FA-3daa-4d29-8fa0-669937e463de",
            "",
        ];
        for lit in values {
            let filter = scim_filter::Filter::parse(&format!("value eq \"{lit}\""))
                .unwrap_or_else(|e| unreachable!("{e}"));
            let m = Matcher::new(&AttrPath::new("members"), &filter, None)
                .unwrap_or_else(|e| unreachable!("{e}"));
            for v in values {
                assert_eq!(
                    m.matches(&json!({"display": "x", "value": v})),
                    reference(v, lit),
                    "{v} eq {lit}"
                );
            }
        }
    }
}
