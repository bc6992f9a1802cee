//! Index lookups' SQL: `eq`, `sw`, `co` and `ew` answered from `attr_index`,
//! `members.value_key`, the row id or the trigram index instead of the documents (which
//! lookup stands for which comparison is [`scim_store_sql::Scope::lookup`]'s choice).

use scim_store_sql::{Attr, KeyTest, Lookup, Scope, Source};

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
    /// [`scim_store_sql::Dialect::lookup_rows`]: `attr_index`, `members`, or the trigram
    /// index for `co`/`ew` on an indexed attribute.
    pub(super) fn rows(&mut self, scope: &mut Scope<'_>, l: &Lookup<'_>) -> (String, String) {
        let x = scope.alias("x");
        if let Some(label) = l.source.label() {
            if !self.labels.contains(&label) {
                self.labels.push(label);
            }
        }
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
        match (&l.source, &l.keys) {
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
        }
    }

    /// [`scim_store_sql::Dialect::key_test`].
    pub(super) fn keys(&mut self, key_column: &str, keys: KeyTest) -> String {
        match keys {
            KeyTest::In(keys) => in_list(self.params, key_column, keys),
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
        }
    }

    /// [`scim_store_sql::Dialect::holds_text`].
    pub(super) fn holds(
        &mut self,
        scope: &mut Scope<'_>,
        attr: &Attr<'_>,
        values: Vec<String>,
    ) -> Option<String> {
        let candidates = self.candidates(scope, attr)?;
        let c = scope.alias("c");
        let test = in_list(self.params, &format!("{c}.v"), values);
        Some(format!(
            "EXISTS (SELECT 1 FROM ({candidates}) AS {c} WHERE {c}.t = 'text' AND {test})"
        ))
    }
}
