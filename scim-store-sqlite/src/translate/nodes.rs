//! The comparisons of values, and the elements of a value path.

use rusqlite::types::Value as SqlValue;
use scim_filter::{Condition, NumberLiteral};
use scim_store_sql::{sql_op, Attr, Frag, Scope};

use super::Sqlite;

/// Integers beyond 2^53 compare differently as `f64` (the evaluator) and exactly (SQLite).
const EXACT_F64_INT: i64 = 1 << 53;

/// Whether SQLite reads numbers of the magnitude of `f` exactly as the evaluator does (the
/// nearest `f64`). SQLite's conversion of decimal text is off by one unit in the last
/// place for about a third of the numbers under 1e-60 or over 1e100 (measured on 400,000
/// random `f64`s: none off between): a stored `-1.5e-300` does not equal the literal
/// `-1.5e-300`. A comparison with a literal outside 1e-40..1e80 is left to the evaluator;
/// a stored number that far out is never within a unit of a literal inside.
fn read_exactly_by_sqlite(f: f64) -> bool {
    f == 0.0 || (1e-40..1e80).contains(&f.abs())
}

impl Sqlite<'_> {
    /// A condition on the values themselves (`ne` is [`Scope::ne`]).
    pub(super) fn value_condition<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: Attr<'r>,
        condition: &'r Condition,
    ) -> Frag<'r> {
        match condition {
            Condition::Bool(b) => {
                let want = if *b { "'true'" } else { "'false'" };
                self.leaf(scope, &r, |_, t, _| format!("{t} = {want}"))
            }
            Condition::Number(n) => {
                let lit: Option<SqlValue> = match n.literal() {
                    NumberLiteral::Int(i) if (-EXACT_F64_INT..=EXACT_F64_INT).contains(&i) => {
                        Some(SqlValue::Integer(i))
                    }
                    NumberLiteral::Float(f) if f.is_finite() && read_exactly_by_sqlite(f) => {
                        Some(SqlValue::Real(f))
                    }
                    _ => None,
                };
                let Some(lit) = lit else {
                    return Frag::All;
                };
                let real = matches!(lit, SqlValue::Real(_));
                let op = n.op();
                self.leaf(scope, &r, |params, t, v| {
                    let l = params.push(lit);
                    // A decimal literal: both sides as f64, like the evaluator.
                    let v = if real {
                        format!("CAST({v} AS REAL)")
                    } else {
                        v.to_owned()
                    };
                    format!("{t} IN ('integer', 'real') AND {v} {} {l}", sql_op(op))
                })
            }
            Condition::Text(t) => self.string_pred(scope, r, t),
            Condition::TextIn(set) => self.string_set(scope, r, set),
            _ => Frag::All,
        }
    }

    /// `EXISTS` of an element of `r` that satisfies `inner` as the document `{vp}.doc`.
    pub(super) fn value_path(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        ool: bool,
        vp: &str,
        inner: &str,
    ) -> Option<String> {
        let doc = scope.doc();
        let p = self.attr_path(r, &doc)?;
        let e = scope.alias("e");
        // Each object element as it is; each scalar element as `{"value": scalar}`
        // (RFC 7644 §3.4.2.2); an object attribute as it is.
        let element = |e: &str| {
            format!(
                "SELECT CASE {e}.type WHEN 'object' THEN {e}.value \
                 WHEN 'true' THEN '{{\"value\":true}}' WHEN 'false' THEN '{{\"value\":false}}' \
                 WHEN 'array' THEN json_object('value', json({e}.value)) \
                 ELSE json_object('value', {e}.value) END AS doc"
            )
        };
        let mut elements = format!(
            "{} FROM json_each({doc}, {p}) AS {e} \
             WHERE json_type({doc}, {p}) = 'array' AND {e}.type <> 'null' \
             UNION ALL SELECT {doc} -> {p} AS doc WHERE json_type({doc}, {p}) = 'object'",
            element(&e)
        );
        if ool {
            let x = scope.alias("x");
            let each = out_of_line_each(scope);
            elements.push_str(&format!(
                " UNION ALL {} FROM ({each}) AS {x} WHERE {x}.type <> 'null'",
                element(&x)
            ));
        }
        Some(format!(
            "EXISTS (SELECT 1 FROM ({elements}) AS {vp} WHERE {inner})"
        ))
    }
}

/// The out-of-line elements of the resource `r`, with `json_each`'s columns `type`,
/// `value` and `atom` (so they stand in for the array the document would hold).
pub(super) fn out_of_line_each(scope: &mut Scope<'_>) -> String {
    let m = scope.alias("m");
    format!(
        "SELECT json_type({m}.search) AS type, \
         CASE WHEN json_type({m}.search) IN ('object', 'array') THEN {m}.search \
         ELSE json_extract({m}.search, '$') END AS value, \
         json_extract({m}.search, '$') AS atom \
         FROM members AS {m} WHERE {m}.tenant = r.tenant \
         AND {m}.resource_type = r.resource_type AND {m}.owner_id = r.id"
    )
}
