//! Each node of the resolved filter to a [`Frag`].

use rusqlite::types::Value as SqlValue;
use scim_filter::{CompareOp, Condition, Location, NumberLiteral, ResolvedAttr, ResolvedNode};

use super::lookups::Lookup;
use super::predicates::sql_op;
use super::{balanced, Attr, Frag, Translator};

/// Integers beyond 2^53 compare differently as `f64` (the evaluator) and exactly (SQLite).
const EXACT_F64_INT: i64 = 1 << 53;

impl Translator<'_> {
    /// Translates one node of the filter. A node that yields no SQL takes back every
    /// parameter its branches pushed, so a parent that drops it (an `and`) or gives up (an
    /// `or`, a `not`) keeps only the parameters of what it keeps.
    pub(super) fn visit<'r>(&mut self, node: &'r ResolvedNode) -> Frag<'r> {
        let mark = self.params.mark();
        let frag = match node {
            ResolvedNode::Leaf(attr, condition) => self.condition(attr.into(), condition),
            ResolvedNode::ValuePath(attr, inner) => match self.as_leaf(attr, inner) {
                Some((attr, condition)) => self.condition(attr, condition),
                None => self.value_path(attr, inner),
            },
            ResolvedNode::Not(inner) => {
                let inner = self.visit(inner);
                self.not(inner)
            }
            ResolvedNode::And(ops) => {
                let ops = ops.iter().map(|o| self.visit(o)).collect();
                self.and(ops)
            }
            ResolvedNode::Or(ops) => {
                let ops = ops.iter().map(|o| self.visit(o)).collect();
                self.or(ops)
            }
            // A node this translation does not know: the engine filters in memory.
            _ => Frag::All,
        };
        self.kept(mark, frag)
    }

    /// `members[value eq "x"]` (or `sw`, or an `eq` set) as the leaf `members.value eq "x"`
    /// (so the `value_key` index answers it): the same when every element is an object with
    /// a string `value` (not `irregular`). `None` for any other value path.
    fn as_leaf<'r>(
        &self,
        attr: &'r ResolvedAttr,
        inner: &'r ResolvedNode,
    ) -> Option<(Attr<'r>, &'r Condition)> {
        let outer = Attr::from(attr);
        if self.layout.irregular || outer.sub.is_some() || self.out_of_line(&outer) != Some(true) {
            return None;
        }
        let ResolvedNode::Leaf(value, condition) = inner else {
            return None;
        };
        // Only the operators an index answers (`ne`, any-match like the others, reads the
        // elements either way).
        let indexable = match condition {
            Condition::Text(t) => matches!(t.op(), CompareOp::Eq | CompareOp::Sw),
            Condition::TextIn(_) => true,
            _ => false,
        };
        let plain = value.location() == &Location::Element && value.sub_attr().is_none();
        if !indexable || !plain || value.name() != "value" {
            return None;
        }
        Some((
            Attr {
                sub: Some(value.name()),
                info: value.info(),
                ..outer
            },
            condition,
        ))
    }

    /// A leaf: some value of `r` passes `condition`.
    fn condition<'r>(&mut self, r: Attr<'r>, condition: &'r Condition) -> Frag<'r> {
        if matches!(r.location, Location::Foreign) {
            // A schema the resource type does not have: no value, only `eq null` holds.
            let none = matches!(condition, Condition::Absent);
            return Frag::Exact(if none { "1" } else { "0" }.to_owned());
        }
        match condition {
            Condition::Present => self.present_sql(&r).map_or(Frag::All, Frag::Exact),
            Condition::Absent => self
                .present_sql(&r)
                .map_or(Frag::All, |sql| Frag::Exact(format!("NOT {sql}"))),
            // `ne` is any-match like every operator: some simple value fails the `eq` test
            // (RFC 7644 §3.4.2.2).
            Condition::Ne(eq) => {
                self.ne = true;
                let frag = self.value_condition(r, eq);
                self.ne = false;
                frag
            }
            other => self.value_condition(r, other),
        }
    }

    /// A condition on the values themselves (`ne` set aside by [`Translator::condition`]).
    fn value_condition<'r>(&mut self, r: Attr<'r>, condition: &'r Condition) -> Frag<'r> {
        match condition {
            Condition::Bool(b) => {
                let want = if *b { "'true'" } else { "'false'" };
                self.leaf(&r, |_, t, _| format!("{t} = {want}"))
            }
            Condition::Number(n) => {
                let lit: Option<SqlValue> = match n.literal() {
                    NumberLiteral::Int(i) if (-EXACT_F64_INT..=EXACT_F64_INT).contains(&i) => {
                        Some(SqlValue::Integer(i))
                    }
                    NumberLiteral::Float(f) if f.is_finite() => Some(SqlValue::Real(f)),
                    _ => None,
                };
                let Some(lit) = lit else {
                    return Frag::All;
                };
                let real = matches!(lit, SqlValue::Real(_));
                let op = n.op();
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
            Condition::Text(t) => self.string_pred(r, t),
            Condition::TextIn(set) => self.string_set(r, set),
            _ => Frag::All,
        }
    }

    fn and<'r>(&mut self, operands: Vec<Frag<'r>>) -> Frag<'r> {
        self.join(operands, "AND")
    }

    fn or<'r>(&mut self, operands: Vec<Frag<'r>>) -> Frag<'r> {
        if operands.iter().all(|f| matches!(f, Frag::Ids(_))) {
            // `a eq "x" or a eq "y" …` is one lookup of keys ("x", "y", …).
            let mut merged: Vec<Lookup<'r>> = Vec::new();
            for l in operands.into_iter().flat_map(|f| match f {
                Frag::Ids(l) => l,
                _ => Vec::new(),
            }) {
                if !merged.iter_mut().any(|m| m.merge(&l)) {
                    merged.push(l);
                }
            }
            return Frag::Ids(merged);
        }
        self.join(operands, "OR")
    }

    /// `operands` joined by `op` (`AND`, `OR`): exact when every operand is. An operand
    /// without SQL is dropped from an `and` (which then selects a superset) and gives up an
    /// `or`.
    fn join<'r>(&mut self, operands: Vec<Frag<'r>>, op: &str) -> Frag<'r> {
        let and = op == "AND";
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
                Frag::All | Frag::Ids(_) if and => exact = false,
                Frag::All | Frag::Ids(_) => return Frag::All,
            }
        }
        if and && parts.is_empty() {
            return Frag::All;
        }
        let sql = balanced(&parts, op);
        if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        }
    }

    fn not<'r>(&mut self, inner: Frag<'r>) -> Frag<'r> {
        // The translation never yields SQL NULL (every leaf is an EXISTS or an IN over
        // non-null ids), so NOT is exact.
        match self.finish(inner) {
            Frag::Exact(s) => Frag::Exact(format!("(NOT {s})")),
            _ => Frag::All,
        }
    }

    /// `attr[inner]`: some element of the attribute satisfies `inner`, translated in that
    /// element (the leaves of `inner` are at [`Location::Element`]).
    fn value_path<'r>(&mut self, attr: &'r ResolvedAttr, inner: &'r ResolvedNode) -> Frag<'r> {
        let r = Attr::from(attr);
        if matches!(r.location, Location::Foreign) {
            // A schema the resource type does not have: no values to look into.
            return Frag::Exact("0".to_owned());
        }
        let vp = self.alias("vp");
        self.frames.push(vp.clone());
        let inner = self.visit(inner);
        self.frames.pop();
        let (inner, exact) = match self.finish(inner) {
            Frag::Exact(s) => (s, true),
            Frag::Superset(s) => (s, false),
            Frag::All | Frag::Ids(_) => ("1".to_owned(), false),
        };
        // In the enclosing scope, like the evaluator's value path.
        let Some(ool) = self.out_of_line(&r) else {
            return Frag::All;
        };
        let doc = self.doc();
        let Some(p) = self.attr_path(&r, &doc) else {
            return Frag::All;
        };
        let e = self.alias("e");
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
        if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        }
    }
}
