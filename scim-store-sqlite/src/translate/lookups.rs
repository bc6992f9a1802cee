//! Index lookups: `eq`, `sw`, `co` and `ew` answered from `attr_index`, `members.value_key`,
//! the row id or the trigram index instead of the documents.

use scim_filter::{AttrType, CompareOp, Location};

use super::{balanced, Attr, Frag, Params, Translator, RESOURCE_TYPE, TENANT};
use crate::layout::{indexed_label, ID_LABEL};
use crate::trigrams;

/// Where an index lookup reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `attr_index` rows with this label.
    Attr(&'static str),
    /// `members.value_key`.
    Members,
    /// The row id (and `attr_index` rows labelled `id`).
    Id,
}

/// Which keys (lower-cased values) a lookup wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyTest {
    /// Any of these.
    In(Vec<String>),
    /// From the first (inclusive) to the second (exclusive).
    Range(String, String),
    /// Keys containing this (`co` on a case-insensitive attribute): candidates from the
    /// trigram index ([`crate::trigrams`]), or a scan of the attribute's keys for a literal
    /// with no trigram, then the exact test on the key.
    Contains(String),
    /// Keys ending with this (`ew`), found as [`KeyTest::Contains`] finds.
    EndsWith(String),
}

/// An index lookup standing for a string comparison (or several, merged).
#[derive(Debug, Clone)]
pub(crate) struct Lookup<'r> {
    source: Source,
    keys: KeyTest,
    /// For a caseExact attribute the keys find a superset: the document must also hold one
    /// of these literals (as given) at this attribute.
    verify: Option<(Attr<'r>, Vec<String>)>,
}

impl Lookup<'_> {
    /// Adds `other`'s keys to this lookup when both are `eq` lookups in the same place.
    pub(super) fn merge(&mut self, other: &Lookup<'_>) -> bool {
        let (KeyTest::In(mine), KeyTest::In(theirs)) = (&mut self.keys, &other.keys) else {
            return false;
        };
        if self.source != other.source || self.verify.is_some() != other.verify.is_some() {
            return false;
        }
        mine.extend(theirs.iter().cloned());
        if let (Some((_, mine)), Some((_, theirs))) = (&mut self.verify, &other.verify) {
            mine.extend(theirs.iter().cloned());
        }
        true
    }
}

/// The least string greater than every string that starts with `s`: `s` with its last
/// character incremented (`None` when that is `char::MAX`).
fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let last = chars.pop()?;
    let next = match u32::from(last) + 1 {
        0xD800 => '\u{E000}',
        n => char::from_u32(n)?,
    };
    chars.push(next);
    Some(chars.into_iter().collect())
}

/// `column = ?` or `column IN (…)` for a list of strings (one parameter however many).
pub(super) fn in_list(params: &mut Params, column: &str, values: Vec<String>) -> String {
    if values.len() == 1 {
        let v = params.push(values.into_iter().next().unwrap_or_default());
        return format!("{column} = {v}");
    }
    let list = params.push(serde_json::Value::from(values).to_string());
    format!("{column} IN (SELECT value FROM json_each({list}))")
}

impl Translator<'_> {
    /// An index lookup that answers `r op lit` exactly (for `eq`, for any of `lits`):
    /// `eq`, or `sw` when case-insensitive, on an indexed attribute, on `id`, or on the
    /// `value` of out-of-line elements, read from the top of the resource; `co` and `ew`
    /// when case-insensitive, on an indexed attribute only.
    pub(super) fn lookup<'r>(
        &self,
        r: Attr<'r>,
        op: CompareOp,
        lits: &[&str],
        exact: bool,
    ) -> Option<Lookup<'r>> {
        let info = r.info?;
        let string = matches!(info.attr_type, AttrType::String | AttrType::Reference);
        if !string || !self.frames.is_empty() || r.location != &Location::Core {
            return None;
        }
        let keys = match (op, lits) {
            // One literal or a set of them (an `or` of `eq`): one lookup of all the keys.
            (CompareOp::Eq, [_, ..]) => {
                KeyTest::In(lits.iter().map(|l| l.to_lowercase()).collect())
            }
            (_, [lit]) => {
                let key = lit.to_lowercase();
                match op {
                    // Lower-cased values starting with `key` are those in [key, successor):
                    // exactly the evaluator's `sw` on lower-cased strings (RFC 7644 §3.4.2.2).
                    CompareOp::Sw if !exact && !key.is_empty() => {
                        let hi = successor(&key)?;
                        KeyTest::Range(key, hi)
                    }
                    // Keys (lower-cased values) containing, or ending with, the lower-cased
                    // literal: the evaluator's `co` and `ew` on lower-cased strings.
                    CompareOp::Co if !exact => KeyTest::Contains(key),
                    CompareOp::Ew if !exact => KeyTest::EndsWith(key),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let substring = matches!(keys, KeyTest::Contains(_) | KeyTest::EndsWith(_));
        let source = if self.out_of_line(&r) == Some(true) {
            let value = r.sub.is_some_and(|s| s.eq_ignore_ascii_case("value"));
            if !value || self.layout.irregular || substring {
                return None;
            }
            Source::Members
        } else if r.name.eq_ignore_ascii_case("id") && r.sub.is_none() {
            // The row id, and the side table for documents whose `id` is not it.
            if !exact || r.complex() != Some(false) {
                return None;
            }
            Source::Id
        } else {
            let label = indexed_label(r.name, r.sub)?;
            // The side table holds what the evaluator reads of an attribute that is not
            // complex.
            if r.sub.is_none() && r.complex() != Some(false) {
                return None;
            }
            Source::Attr(label)
        };
        Some(Lookup {
            source,
            keys,
            verify: exact.then(|| (r, lits.iter().map(|l| (*l).to_owned()).collect())),
        })
    }

    /// The ids a lookup finds (a `SELECT` of one column), and the document test that must
    /// follow it when it is a superset.
    fn lookup_sql(&mut self, l: Lookup<'_>) -> Option<(String, Option<String>)> {
        let x = self.alias("x");
        let (ids, key_column) = match l.source {
            Source::Attr(_) | Source::Id => {
                let label = match l.source {
                    Source::Attr(label) => label,
                    _ => ID_LABEL,
                };
                let a = self.params.push(label.to_owned());
                (
                    format!(
                        "SELECT {x}.id FROM attr_index AS {x} WHERE {x}.tenant = {TENANT} \
                         AND {x}.resource_type = {RESOURCE_TYPE} AND {x}.attr = {a}"
                    ),
                    format!("{x}.key"),
                )
            }
            Source::Members => (
                format!(
                    "SELECT {x}.owner_id FROM members AS {x} WHERE {x}.tenant = {TENANT} \
                     AND {x}.resource_type = {RESOURCE_TYPE}"
                ),
                format!("{x}.value_key"),
            ),
        };
        let (ids, key_column) = match (&l.source, &l.keys) {
            (Source::Attr(label), KeyTest::Contains(lit) | KeyTest::EndsWith(lit)) => {
                match trigrams::match_query(lit) {
                    // Rows of `attr_text`, by rowid, for the trigrams the index finds (the
                    // CROSS JOIN keeps that order: otherwise SQLite may prefer walking the
                    // type's rows in `attr_text_owner` and probing the matches).
                    Some(query) => {
                        let g = self.alias("g");
                        let t = self.alias("x");
                        let m = self.params.push(query);
                        let a = self.params.push((*label).to_owned());
                        (
                            format!(
                                "SELECT {t}.id FROM attr_trigram AS {g} CROSS JOIN attr_text AS {t} \
                                 ON {t}.n = {g}.rowid WHERE {g}.attr_trigram MATCH {m} \
                                 AND {t}.tenant = {TENANT} AND {t}.resource_type = {RESOURCE_TYPE} \
                                 AND {t}.attr = {a}"
                            ),
                            format!("{t}.key"),
                        )
                    }
                    // No trigram to look up: every key of the attribute is tested.
                    None => (ids, key_column),
                }
            }
            _ => (ids, key_column),
        };
        let test = match l.keys {
            KeyTest::In(keys) => in_list(self.params, &key_column, keys),
            KeyTest::Range(lo, hi) => {
                let lo = self.params.push(lo);
                let hi = self.params.push(hi);
                format!("{key_column} >= {lo} AND {key_column} < {hi}")
            }
            // Every key (they are all strings), as `co ""` holds for every string.
            KeyTest::Contains(lit) | KeyTest::EndsWith(lit) if lit.is_empty() => "1".to_owned(),
            KeyTest::Contains(lit) => format!("instr({key_column}, {}) > 0", self.params.push(lit)),
            KeyTest::EndsWith(lit) => {
                // In bytes, as the document test does (NUL-safe).
                let n = self
                    .params
                    .push(i64::try_from(lit.len()).unwrap_or(i64::MAX));
                let l = self.params.push(lit.into_bytes());
                format!("substr(CAST({key_column} AS BLOB), -{n}) = {l}")
            }
        };
        let mut ids = format!("{ids} AND {test}");
        let verify = match l.verify {
            None => None,
            Some((attr, values)) => {
                if l.source == Source::Id {
                    // A document whose `id` is its row id (every one the engine writes).
                    let list = self
                        .params
                        .push(serde_json::Value::from(values.clone()).to_string());
                    ids = format!("SELECT value FROM json_each({list}) UNION ALL {ids}");
                }
                let candidates = self.candidates(&attr)?;
                let c = self.alias("c");
                let test = in_list(self.params, &format!("{c}.v"), values);
                Some(format!(
                    "EXISTS (SELECT 1 FROM ({candidates}) AS {c} WHERE {c}.t = 'text' AND {test})"
                ))
            }
        };
        Some((ids, verify))
    }

    /// SQL for a union of lookups: one `r.id IN (…)` (which SQLite answers with primary-key
    /// lookups) when no lookup needs a document test.
    fn ids_sql(&mut self, lookups: Vec<Lookup<'_>>) -> Option<String> {
        let mut selects = Vec::with_capacity(lookups.len());
        let mut tests = Vec::with_capacity(lookups.len());
        for l in lookups {
            match self.lookup_sql(l)? {
                (ids, None) => selects.push(ids),
                (ids, Some(v)) => tests.push(format!("(r.id IN ({ids}) AND {v})")),
            }
        }
        // SQLite's default limit on the terms of a compound SELECT is 500.
        for chunk in selects.chunks(100) {
            tests.push(format!("r.id IN ({})", chunk.join(" UNION ALL ")));
        }
        Some(match tests.len() {
            1 => tests.pop().unwrap_or_default(),
            _ => balanced(&tests, "OR"),
        })
    }

    /// `f` with its lookups turned into SQL (or nothing, and no parameter left behind).
    pub(super) fn finish<'r>(&mut self, f: Frag<'r>) -> Frag<'r> {
        match f {
            Frag::Ids(lookups) => {
                let mark = self.params.mark();
                let frag = self.ids_sql(lookups).map_or(Frag::All, Frag::Exact);
                self.kept(mark, frag)
            }
            other => other,
        }
    }
}
