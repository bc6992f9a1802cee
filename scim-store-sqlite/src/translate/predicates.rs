//! Predicates over the documents: the values a comparison looks at, presence, and the
//! string and dateTime comparisons.

use scim_filter::{CompareOp, Instant, TextSet, TextTest};
use scim_store_sql::{sql_op, Attr, Frag, Scope};

use super::lookups::in_list;
use super::nodes::out_of_line_each;
use super::{label, Params, Sqlite};
use crate::layout::instant_key;

impl Sqlite<'_> {
    /// [`objects`], plus the out-of-line object elements when `ool`.
    fn objects(&mut self, scope: &mut Scope<'_>, doc: &str, p: &str, ool: bool) -> String {
        let e = scope.alias("e");
        let mut sql = objects(doc, p, &e);
        if ool {
            let x = scope.alias("x");
            let each = out_of_line_each(scope);
            sql.push_str(&format!(
                " UNION ALL SELECT {x}.value AS o FROM ({each}) AS {x} WHERE {x}.type = 'object'"
            ));
        }
        sql
    }

    /// The scalars a comparison looks at (the evaluator's `Path::any_value`), as a
    /// subquery with columns `t` (JSON type) and `v` (SQL value).
    pub(super) fn candidates(&mut self, scope: &mut Scope<'_>, r: &Attr<'_>) -> Option<String> {
        let ool = scope.out_of_line(r)?;
        let doc = scope.doc();
        let p = self.attr_path(r, &doc)?;
        let e = scope.alias("e");
        Some(match r.sub {
            None => {
                let value = self.params.push("$.\"value\"".to_owned());
                // The attribute itself when scalar; each element of an array (an object's
                // `value`); an object's `value` unless the schema says it is not complex.
                let mut sql = format!(
                    "SELECT CASE {e}.type WHEN 'object' THEN json_type({e}.value, {value}) ELSE {e}.type END AS t, \
                     CASE {e}.type WHEN 'object' THEN json_extract({e}.value, {value}) ELSE {e}.atom END AS v \
                     FROM json_each({doc}, {p}) AS {e} WHERE json_type({doc}, {p}) <> 'object'"
                );
                if r.complex() != Some(false) {
                    sql.push_str(&format!(
                        " UNION ALL SELECT json_type({doc} -> {p}, {value}) AS t, json_extract({doc} -> {p}, {value}) AS v \
                         WHERE json_type({doc}, {p}) = 'object'"
                    ));
                }
                if ool {
                    let x = scope.alias("x");
                    let each = out_of_line_each(scope);
                    sql.push_str(&format!(
                        " UNION ALL SELECT CASE {x}.type WHEN 'object' THEN json_type({x}.value, {value}) ELSE {x}.type END AS t, \
                         CASE {x}.type WHEN 'object' THEN json_extract({x}.value, {value}) ELSE {x}.atom END AS v \
                         FROM ({each}) AS {x}"
                    ));
                }
                sql
            }
            Some(sub) => {
                let s = self.params.push(format!("$.{}", label(sub)?));
                let o = scope.alias("o");
                let f = scope.alias("f");
                let objects = self.objects(scope, &doc, &p, ool);
                // The objects (the attribute, or the objects in it), then their
                // sub-attribute: a scalar, or each element of an array.
                format!(
                    "SELECT {f}.type AS t, {f}.atom AS v FROM ({objects}) AS {o}, json_each({o}.o, {s}) AS {f} \
                     WHERE json_type({o}.o, {s}) <> 'object'"
                )
            }
        })
    }

    pub(super) fn leaf<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        pred: impl FnOnce(&mut Params, &str, &str) -> String,
    ) -> Frag<'r> {
        let Some(candidates) = self.candidates(scope, r) else {
            return Frag::All;
        };
        let c = scope.alias("c");
        let mut pred = pred(self.params, &format!("{c}.t"), &format!("{c}.v"));
        if scope.ne() {
            // `ne`: a simple value that fails the `eq` test (the evaluator's `Test::Ne`).
            // `pred` is never NULL for such a value, so NOT is its complement.
            pred =
                format!("{c}.t IN ('text', 'integer', 'real', 'true', 'false') AND NOT ({pred})");
        }
        Frag::Exact(format!(
            "EXISTS (SELECT 1 FROM ({candidates}) AS {c} WHERE {pred})"
        ))
    }

    /// The evaluator's `Path::present`.
    pub(super) fn present_sql(&mut self, scope: &mut Scope<'_>, r: &Attr<'_>) -> Option<String> {
        let ool = scope.out_of_line(r)?;
        let doc = scope.doc();
        let p = self.attr_path(r, &doc)?;
        let t = scope.alias("t");
        // RFC 7643 §2.5: null, "", [] and {} are unassigned; a container has a value when
        // one of its leaves does.
        let leaf = format!(
            "{t}.type NOT IN ('null', 'array', 'object') AND ({t}.type <> 'text' OR {t}.atom <> '')"
        );
        Some(match r.sub {
            None if ool => {
                let m = scope.alias("m");
                format!(
                    "(EXISTS (SELECT 1 FROM json_tree({doc}, {p}) AS {t} WHERE {leaf}) \
                     OR EXISTS (SELECT 1 FROM members AS {m}, json_tree({m}.search) AS {t} \
                     WHERE {m}.tenant = r.tenant AND {m}.resource_type = r.resource_type \
                     AND {m}.owner_id = r.id AND {leaf}))"
                )
            }
            None => format!("EXISTS (SELECT 1 FROM json_tree({doc}, {p}) AS {t} WHERE {leaf})"),
            Some(sub) => {
                let s = self.params.push(format!("$.{}", label(sub)?));
                let o = scope.alias("o");
                let objects = self.objects(scope, &doc, &p, ool);
                format!(
                    "EXISTS (SELECT 1 FROM ({objects}) AS {o}, json_tree({o}.o, {s}) AS {t} WHERE {leaf})"
                )
            }
        })
    }

    /// A string comparison: a lookup when an index answers it, else a test of the values.
    pub(super) fn string_pred<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: Attr<'r>,
        t: &TextTest,
    ) -> Frag<'r> {
        if t.custom().is_some() {
            return Frag::All;
        }
        let exact = t.case_exact();
        let op = t.op();
        // The evaluator compares instants when the literal is a dateTime (a value that is
        // none compares as text): so does SQL, through `scim_instant`.
        if let Some(instant) = t.instant() {
            return self.instant_pred(scope, &r, op, t.literal(), instant, exact);
        }
        if let Some(lookup) = scope.lookup(r, op, &[t.literal()], exact) {
            return Frag::Ids(vec![lookup]);
        }
        // Folded already (unless caseExact), as the values are below.
        let lit = t.literal().to_owned();
        self.leaf(scope, &r, move |params, t, v| {
            let v = if exact {
                v.to_owned()
            } else {
                format!("scim_lower({v})")
            };
            let is_text = format!("{t} = 'text'");
            if lit.is_empty() && op.is_substring() {
                return is_text;
            }
            let test = match op {
                CompareOp::Co => format!("instr({v}, {}) > 0", params.push(lit)),
                CompareOp::Sw => format!("instr({v}, {}) = 1", params.push(lit)),
                CompareOp::Ew => {
                    // In bytes: `substr` counts the characters of text up to a NUL (and
                    // ending with the literal's UTF-8 is ending with the literal).
                    let n = params.push(i64::try_from(lit.len()).unwrap_or(i64::MAX));
                    let l = params.push(lit.into_bytes());
                    format!("substr(CAST({v} AS BLOB), -{n}) = {l}")
                }
                other => format!("{v} {} {}", sql_op(other), params.push(lit)),
            };
            format!("{is_text} AND {test}")
        })
    }

    /// String `eq` against a set of literals: one lookup of all the keys when an index
    /// answers it, else one test of the values against the list.
    pub(super) fn string_set<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: Attr<'r>,
        set: &TextSet,
    ) -> Frag<'r> {
        let lits = set.literals();
        let exact = set.case_exact();
        if let Some(lookup) = scope.lookup(r, CompareOp::Eq, &lits, exact) {
            return Frag::Ids(vec![lookup]);
        }
        let lits: Vec<String> = lits.into_iter().map(str::to_owned).collect();
        self.leaf(scope, &r, move |params, t, v| {
            let v = if exact {
                v.to_owned()
            } else {
                format!("scim_lower({v})")
            };
            format!("{t} = 'text' AND {}", in_list(params, &v, lits))
        })
    }
}

impl Sqlite<'_> {
    /// `r op lit` where `lit` (folded unless `exact`) is a dateTime: values that are
    /// dateTimes compare as instants, other strings as text (folded unless caseExact), as
    /// the evaluator does.
    fn instant_pred<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        op: CompareOp,
        lit: &str,
        instant: Instant,
        exact: bool,
    ) -> Frag<'r> {
        let text_lit = lit.to_owned();
        let sql = sql_op(op);
        self.leaf(scope, r, move |params, t, v| {
            let key = params.push(instant_key(instant));
            let l = params.push(text_lit);
            let folded = if exact {
                v.to_owned()
            } else {
                format!("scim_lower({v})")
            };
            format!(
                "{t} = 'text' AND CASE WHEN scim_instant({v}) IS NOT NULL \
                 THEN scim_instant({v}) {sql} {key} ELSE {folded} {sql} {l} END"
            )
        })
    }
}

/// The objects whose sub-attribute a path names: the attribute when it is an object, or the
/// objects in it when it is an array (column `o`).
fn objects(doc: &str, p: &str, e: &str) -> String {
    format!(
        "SELECT {doc} -> {p} AS o WHERE json_type({doc}, {p}) = 'object' \
         UNION ALL SELECT {e}.value AS o FROM json_each({doc}, {p}) AS {e} \
         WHERE json_type({doc}, {p}) = 'array' AND {e}.type = 'object'"
    )
}
