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
        // The keys of the resources over the cap for this label, read from their documents
        // as `attr_index` would hold them, tested first; the index's rows come last, where
        // the caller adds its key test.
        let capped = match l.source.label() {
            Some(label) if self.capped.iter().any(|c| c == label) => {
                self.capped_rows(scope, label, &l.keys)
            }
            _ => None,
        };
        let (rows, key_column) = self.index_rows(scope, l);
        match capped {
            Some(capped) => (format!("{capped} UNION ALL {rows}"), key_column),
            None => (rows, key_column),
        }
    }

    /// `SELECT id … WHERE …` of the resources `capped` for `label` whose keys pass `keys`:
    /// the keys `attr_index` would hold, from their search documents (the SQL function
    /// `scim_index_keys`, the layout's own code); `None` for a label that names no
    /// attribute.
    fn capped_rows(
        &mut self,
        scope: &mut Scope<'_>,
        label: &'static str,
        keys: &KeyTest,
    ) -> Option<String> {
        let (name, sub) = crate::keys_of::label_attr(label)?;
        let c = scope.alias("c");
        let d = scope.alias("d");
        let k = scope.alias("k");
        let a = self.params.push(label.to_owned());
        let n = self.params.push(name.to_owned());
        let sub = match sub {
            Some(sub) => self.params.push(sub.to_owned()),
            None => "NULL".to_owned(),
        };
        // An `eq` reads only the documents whose Bloom filter may hold one of its keys.
        let bloom = match keys {
            KeyTest::In(list) => {
                let list = self
                    .params
                    .push(serde_json::Value::from(list.clone()).to_string());
                format!(" AND scim_bloom_any({c}.bloom, {list})")
            }
            _ => String::new(),
        };
        let test = self.keys(&format!("{k}.value"), keys.clone());
        Some(format!(
            "SELECT {c}.id FROM capped AS {c} JOIN resources AS {d} ON {d}.tenant = {c}.tenant \
             AND {d}.resource_type = {c}.resource_type AND {d}.id = {c}.id \
             JOIN json_each(scim_index_keys({d}.search, {n}, {sub})) AS {k} \
             WHERE {c}.tenant = {TENANT} AND {c}.resource_type = {RESOURCE_TYPE} \
             AND {c}.attr = {a}{bloom} AND {test}"
        ))
    }

    /// [`Sqlite::rows`] from the indexes alone.
    fn index_rows(&mut self, scope: &mut Scope<'_>, l: &Lookup<'_>) -> (String, String) {
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
