//! Index lookups' SQL: `eq`, `sw`, `co` and `ew` answered from `attr_index`,
//! `members.value_key`, the row id or the trigram index instead of the documents (which
//! lookup stands for which comparison is [`scim_store_sql::Scope::lookup`]'s choice).

use scim_store_sql::{balanced, KeyTest, Lookup, Scope, Source};

use super::{Params, Sqlite, RESOURCE_TYPE, TENANT};
use crate::trigrams;

/// `column = ?` or `column IN (…)` for a list of strings (one parameter however many).
pub(super) fn in_list(params: &mut Params, column: &str, values: Vec<String>) -> String {
    if values.len() == 1 {
        let v = params.push(values.into_iter().next().unwrap_or_default());
        return format!("{column} = {v}");
    }
    let list = params.push(serde_json::Value::from(values).to_string());
    format!("{column} IN (SELECT value FROM json_each({list}))")
}

impl Sqlite<'_> {
    /// The ids a lookup finds (a `SELECT` of one column), and the document test that must
    /// follow it when it is a superset.
    fn lookup_sql(
        &mut self,
        scope: &mut Scope<'_>,
        l: Lookup<'_>,
    ) -> Option<(String, Option<String>)> {
        let x = scope.alias("x");
        let (ids, key_column) = match l.source {
            Source::Attr(_) | Source::Id => {
                let label = l.source.label().unwrap_or_default();
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
                        let g = scope.alias("g");
                        let t = scope.alias("x");
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
                let candidates = self.candidates(scope, &attr)?;
                let c = scope.alias("c");
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
    pub(super) fn ids_sql(
        &mut self,
        scope: &mut Scope<'_>,
        lookups: Vec<Lookup<'_>>,
    ) -> Option<String> {
        let mut selects = Vec::with_capacity(lookups.len());
        let mut tests = Vec::with_capacity(lookups.len());
        for l in lookups {
            match self.lookup_sql(scope, l)? {
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
            _ => balanced::<Self>(&tests, "OR"),
        })
    }
}
