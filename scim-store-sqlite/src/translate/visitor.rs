//! The [`Visitor`] impl: each node of the filter to a [`Frag`].

use std::convert::Infallible;

use rusqlite::types::Value as SqlValue;
use scim_filter::{AttrInfo, AttrPath, AttrSchema, AttrType, CompValue, CompareOp, Visitor};

use super::lookups::Lookup;
use super::predicates::sql_op;
use super::{balanced, Base, Frag, Translator, ValuePathFrame};

/// Integers beyond 2^53 compare differently as `f64` (the evaluator) and exactly (SQLite).
const EXACT_F64_INT: i64 = 1 << 53;

/// `path.value` when the schema says `path` is complex and it is compared with a value:
/// the rule of `scim_filter`'s compiler (RFC 7644 §3.4.2.2, `emails co "x"` is
/// `emails.value co "x"`); `eq null` and `ne null` stay on the attribute.
fn value_of_complex(
    path: &AttrPath,
    info: Option<&AttrInfo>,
    value: &CompValue,
) -> Option<AttrPath> {
    let complex = info.is_some_and(|i| i.attr_type == AttrType::Complex);
    (complex && path.sub_attr.is_none() && !matches!(value, CompValue::Null)).then(|| AttrPath {
        urn: path.urn.clone(),
        name: path.name.clone(),
        sub_attr: Some("value".to_owned()),
    })
}

impl<S: AttrSchema + ?Sized> Visitor for Translator<'_, S> {
    type Output = Frag;
    type Error = Infallible;

    fn present(&mut self, path: &AttrPath) -> Result<Frag, Infallible> {
        let r = self.resolve(path);
        if matches!(r.base, Base::Nowhere) {
            return Ok(Frag::Exact("0".to_owned()));
        }
        Ok(self.present_sql(&r).map_or(Frag::All, Frag::Exact))
    }

    fn compare(
        &mut self,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<Frag, Infallible> {
        let r = self.resolve(path);
        // A complex attribute compares its `value` (as the evaluator's compiler does).
        if let Some(value_path) = value_of_complex(path, r.info.as_ref(), value) {
            return self.compare(&value_path, op, value);
        }
        if matches!(r.base, Base::Nowhere) {
            // A schema the resource type does not have: no value, only `eq null` holds.
            let none = matches!(value, CompValue::Null) && op == CompareOp::Eq;
            return Ok(Frag::Exact(if none { "1" } else { "0" }.to_owned()));
        }
        let attr_type = r.info.as_ref().map(|i| i.attr_type);
        if matches!(
            attr_type,
            Some(AttrType::Boolean | AttrType::Binary | AttrType::Complex)
        ) && (op.is_ordering() || op.is_substring())
        {
            // The engine refuses this filter; nothing to push down.
            return Ok(Frag::All);
        }
        // `ne` is any-match like every operator: some simple value fails the `eq` test
        // (RFC 7644 §3.4.2.2); `ne null` is `pr`.
        let (op, ne) = match op {
            CompareOp::Ne => (CompareOp::Eq, true),
            other => (other, false),
        };
        if ne && matches!(value, CompValue::Null) {
            return Ok(self.present_sql(&r).map_or(Frag::All, Frag::Exact));
        }
        self.ne = ne;
        let frag = match value {
            CompValue::Null if op == CompareOp::Eq => self
                .present_sql(&r)
                .map_or(Frag::All, |sql| Frag::Exact(format!("NOT {sql}"))),
            CompValue::Bool(b) if op == CompareOp::Eq => {
                let want = if *b { "'true'" } else { "'false'" };
                self.leaf(&r, |_, t, _| format!("{t} = {want}"))
            }
            CompValue::Number(n) if !op.is_substring() => {
                let lit: Option<SqlValue> = match n.as_i64() {
                    Some(i) if (-EXACT_F64_INT..=EXACT_F64_INT).contains(&i) => {
                        Some(SqlValue::Integer(i))
                    }
                    Some(_) => None,
                    None => n.as_f64().filter(|f| f.is_finite()).map(SqlValue::Real),
                };
                match lit {
                    None => Frag::All,
                    Some(lit) => {
                        let real = matches!(lit, SqlValue::Real(_));
                        self.leaf(&r, |params, t, v| {
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
                }
            }
            CompValue::String(s) => self.string_pred(&r, path, op, s),
            _ => Frag::All,
        };
        self.ne = false;
        Ok(frag)
    }

    fn and(&mut self, operands: Vec<Frag>) -> Result<Frag, Infallible> {
        let mut exact = true;
        let mut parts = Vec::new();
        for f in operands {
            match self.finish(f) {
                Frag::Exact(s) => parts.push(s),
                Frag::Superset(s) => {
                    exact = false;
                    parts.push(s);
                }
                // Dropping a conjunct keeps every match.
                Frag::All | Frag::Ids(_) => exact = false,
            }
        }
        if parts.is_empty() {
            return Ok(Frag::All);
        }
        let sql = balanced(&parts, "AND");
        Ok(if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        })
    }

    fn or(&mut self, operands: Vec<Frag>) -> Result<Frag, Infallible> {
        if operands.iter().all(|f| matches!(f, Frag::Ids(_))) {
            // `a eq "x" or a eq "y" …` is one lookup of keys ("x", "y", …).
            let mut merged: Vec<Lookup> = Vec::new();
            for l in operands.into_iter().flat_map(|f| match f {
                Frag::Ids(l) => l,
                _ => Vec::new(),
            }) {
                if !merged.iter_mut().any(|m| m.merge(&l)) {
                    merged.push(l);
                }
            }
            return Ok(Frag::Ids(merged));
        }
        let mut exact = true;
        let mut parts = Vec::new();
        for f in operands {
            match self.finish(f) {
                Frag::Exact(s) => parts.push(s),
                Frag::Superset(s) => {
                    exact = false;
                    parts.push(s);
                }
                Frag::All | Frag::Ids(_) => return Ok(Frag::All),
            }
        }
        let sql = balanced(&parts, "OR");
        Ok(if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        })
    }

    fn not(&mut self, inner: Frag) -> Result<Frag, Infallible> {
        // The translation never yields SQL NULL (every leaf is an EXISTS or an IN over
        // non-null ids), so NOT is exact.
        Ok(match self.finish(inner) {
            Frag::Exact(s) => Frag::Exact(format!("(NOT {s})")),
            _ => Frag::All,
        })
    }

    fn enter_value_path(&mut self, attr: &AttrPath) -> Result<(), Infallible> {
        let alias = self.alias("vp");
        self.frames.push(ValuePathFrame {
            attr: attr.clone(),
            alias,
        });
        Ok(())
    }

    fn value_path(&mut self, attr: &AttrPath, inner: Frag) -> Result<Frag, Infallible> {
        let Some(frame) = self.frames.pop() else {
            return Ok(Frag::All);
        };
        let (inner, exact) = match self.finish(inner) {
            Frag::Exact(s) => (s, true),
            Frag::Superset(s) => (s, false),
            Frag::All | Frag::Ids(_) => ("1".to_owned(), false),
        };
        // Resolved in the enclosing scope, like the evaluator's `Node::Any`.
        let r = self.resolve(attr);

        let Some(ool) = self.out_of_line(&r) else {
            return Ok(Frag::All);
        };
        let doc = self.doc();
        let Some(p) = self.attr_path(&r, &doc) else {
            return Ok(Frag::All);
        };
        let e = self.alias("e");
        let vp = frame.alias;
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
            let x = self.alias("x");
            let each = self.out_of_line_each();
            elements.push_str(&format!(
                " UNION ALL {} FROM ({each}) AS {x} WHERE {x}.type <> 'null'",
                element(&x)
            ));
        }
        let sql = format!("EXISTS (SELECT 1 FROM ({elements}) AS {vp} WHERE {inner})");
        Ok(if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        })
    }
}
