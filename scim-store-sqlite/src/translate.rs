//! From a filter and a sort to SQL over the search document (the resource with its object
//! keys ASCII-lower-cased), with the exact semantics of `scim_filter::CompiledFilter`.
//!
//! Every literal and every JSON path is a bound parameter (`?N`); the SQL text holds only
//! what this module writes. A filter node that cannot be translated exactly becomes
//! [`Frag::All`] (or makes its parent a [`Frag::Superset`]), and the engine finishes in
//! memory.

use std::convert::Infallible;

use rusqlite::types::Value as SqlValue;
use scim_filter::{
    walk, AttrInfo, AttrPath, AttrSchema, AttrType, CompValue, CompareOp, Filter, UrnLocation,
    Visitor,
};

/// What a filter became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frag {
    /// SQL that selects exactly the matching rows.
    Exact(String),
    /// SQL that selects at least the matching rows.
    Superset(String),
    /// Nothing could be translated: every row.
    All,
}

/// Integers beyond 2^53 compare differently as `f64` (the evaluator) and exactly (SQLite).
const EXACT_F64_INT: i64 = 1 << 53;

/// Leaves SQLite's default limit on bound parameters (32,766) well out of reach.
pub(crate) const MAX_PARAMS: usize = 30_000;

/// Parameters numbered from 1, shared by the whole statement.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<SqlValue>,
}

impl Params {
    pub(crate) fn push(&mut self, v: impl Into<SqlValue>) -> String {
        self.values.push(v.into());
        format!("?{}", self.values.len())
    }
}

/// The top-level document column.
const ROOT_DOC: &str = "r.search";

/// Where an attribute's value is, as the evaluator's `Path`.
enum Base {
    Root,
    Extension(String),
    ExtensionOrRoot(String),
}

struct Resolved {
    base: Base,
    name: String,
    sub: Option<String>,
    complex: Option<bool>,
    info: Option<AttrInfo>,
}

/// A JSON path label: `$."name"`. Names that SQLite's path syntax cannot quote are refused.
fn label(name: &str) -> Option<String> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return None;
    }
    Some(format!("\"{}\"", name.to_ascii_lowercase()))
}

struct ValuePathFrame {
    attr: AttrPath,
    alias: String,
}

/// The filter translator (a [`Visitor`]).
pub(crate) struct Translator<'a, S: ?Sized> {
    schema: &'a S,
    params: &'a mut Params,
    frames: Vec<ValuePathFrame>,
    aliases: usize,
}

impl<'a, S: AttrSchema + ?Sized> Translator<'a, S> {
    pub(crate) fn new(schema: &'a S, params: &'a mut Params) -> Self {
        Translator {
            schema,
            params,
            frames: Vec::new(),
            aliases: 0,
        }
    }

    /// Translates `filter`.
    pub(crate) fn translate(mut self, filter: &Filter) -> Frag {
        match walk(filter, &mut self) {
            Ok(frag) if self.params.values.len() <= MAX_PARAMS => frag,
            _ => Frag::All,
        }
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    fn doc(&self) -> String {
        match self.frames.last() {
            Some(f) => format!("{}.doc", f.alias),
            None => ROOT_DOC.to_owned(),
        }
    }

    fn parent(&self) -> Option<&AttrPath> {
        self.frames.last().map(|f| &f.attr)
    }

    /// As `Compiler::resolve` in scim-filter.
    fn resolve(&self, path: &AttrPath) -> Resolved {
        let parent = self.parent();
        let absolute = match parent {
            Some(parent) if path.urn.is_none() && path.sub_attr.is_none() => AttrPath {
                urn: parent.urn.clone(),
                name: parent.name.clone(),
                sub_attr: Some(path.name.clone()),
            },
            _ => path.clone(),
        };
        let info = self.schema.attribute(&absolute);
        let base = match (&path.urn, parent) {
            (Some(urn), None) => match self.schema.urn_location(urn) {
                Some(UrnLocation::Core) => Base::Root,
                Some(UrnLocation::Extension) => Base::Extension(urn.clone()),
                _ => Base::ExtensionOrRoot(urn.clone()),
            },
            _ => Base::Root,
        };
        Resolved {
            base,
            name: path.name.clone(),
            sub: path.sub_attr.clone(),
            complex: info.as_ref().map(|i| i.attr_type == AttrType::Complex),
            info,
        }
    }

    /// SQL for the JSON path of the attribute (without its sub-attribute) in `doc`.
    fn attr_path(&mut self, r: &Resolved, doc: &str) -> Option<String> {
        let name = label(&r.name)?;
        Some(match &r.base {
            Base::Root => self.params.push(format!("$.{name}")),
            Base::Extension(urn) => self.params.push(format!("$.{}.{name}", label(urn)?)),
            Base::ExtensionOrRoot(urn) => {
                let urn = label(urn)?;
                let u = self.params.push(format!("$.{urn}"));
                let root = self.params.push(format!("$.{name}"));
                let ext = self.params.push(format!("$.{urn}.{name}"));
                // No such key: the core attributes; any other value: the extension (which
                // finds nothing unless it is an object).
                format!("CASE WHEN json_type({doc}, {u}) IS NULL THEN {root} ELSE {ext} END")
            }
        })
    }

    /// The scalars a comparison looks at (the evaluator's `Path::any_value`), as a
    /// subquery with columns `t` (JSON type) and `v` (SQL value).
    fn candidates(&mut self, r: &Resolved) -> Option<String> {
        let doc = self.doc();
        let p = self.attr_path(r, &doc)?;
        let e = self.alias("e");
        Some(match &r.sub {
            None => {
                let value = self.params.push("$.\"value\"".to_owned());
                // The attribute itself when scalar; each element of an array (an object's
                // `value`); an object's `value` unless the schema says it is not complex.
                let mut sql = format!(
                    "SELECT CASE {e}.type WHEN 'object' THEN json_type({e}.value, {value}) ELSE {e}.type END AS t, \
                     CASE {e}.type WHEN 'object' THEN json_extract({e}.value, {value}) ELSE {e}.atom END AS v \
                     FROM json_each({doc}, {p}) AS {e} WHERE json_type({doc}, {p}) <> 'object'"
                );
                if r.complex != Some(false) {
                    sql.push_str(&format!(
                        " UNION ALL SELECT json_type({doc} -> {p}, {value}) AS t, json_extract({doc} -> {p}, {value}) AS v \
                         WHERE json_type({doc}, {p}) = 'object'"
                    ));
                }
                sql
            }
            Some(sub) => {
                let s = self.params.push(format!("$.{}", label(sub)?));
                let o = self.alias("o");
                let f = self.alias("f");
                // The objects (the attribute, or the objects in it), then their
                // sub-attribute: a scalar, or each element of an array.
                format!(
                    "SELECT {f}.type AS t, {f}.atom AS v FROM ({objects}) AS {o}, json_each({o}.o, {s}) AS {f} \
                     WHERE json_type({o}.o, {s}) <> 'object'",
                    objects = objects(&doc, &p, &e),
                )
            }
        })
    }

    fn leaf(&mut self, r: &Resolved, pred: impl FnOnce(&mut Params, &str, &str) -> String) -> Frag {
        let Some(candidates) = self.candidates(r) else {
            return Frag::All;
        };
        let c = self.alias("c");
        let pred = pred(self.params, &format!("{c}.t"), &format!("{c}.v"));
        Frag::Exact(format!(
            "EXISTS (SELECT 1 FROM ({candidates}) AS {c} WHERE {pred})"
        ))
    }

    /// The evaluator's `Path::present`.
    fn present_sql(&mut self, r: &Resolved) -> Option<String> {
        let doc = self.doc();
        let p = self.attr_path(r, &doc)?;
        let t = self.alias("t");
        let leaf = format!("{t}.type NOT IN ('null', 'array', 'object')");
        Some(match &r.sub {
            None => format!("EXISTS (SELECT 1 FROM json_tree({doc}, {p}) AS {t} WHERE {leaf})"),
            Some(sub) => {
                let s = self.params.push(format!("$.{}", label(sub)?));
                let e = self.alias("e");
                let o = self.alias("o");
                format!(
                    "EXISTS (SELECT 1 FROM ({objects}) AS {o}, json_tree({o}.o, {s}) AS {t} WHERE {leaf})",
                    objects = objects(&doc, &p, &e)
                )
            }
        })
    }

    fn string_pred(&mut self, r: &Resolved, op: CompareOp, lit: &str) -> Frag {
        let info = r.info.as_ref();
        let datetime = info.is_some_and(|i| i.attr_type == AttrType::DateTime);
        if info.is_some_and(|i| i.custom.is_some())
            || (datetime && !op.is_substring())
            || lit.contains('\0')
        {
            return Frag::All;
        }
        // The evaluator compares instants when the literal is a dateTime: not in SQL.
        if !op.is_substring() && may_be_instant(lit) {
            return Frag::All;
        }
        let exact = info.is_some_and(|i| i.case_exact);
        let lit = if exact {
            lit.to_owned()
        } else {
            lit.to_lowercase()
        };
        self.leaf(r, move |params, t, v| {
            let v = if exact {
                v.to_owned()
            } else {
                format!("scim_lower({v})")
            };
            let is_text = format!("{t} = 'text'");
            if lit.is_empty() && op.is_substring() {
                return is_text;
            }
            let chars = i64::try_from(lit.chars().count()).unwrap_or(i64::MAX);
            let l = params.push(lit);
            let test = match op {
                CompareOp::Co => format!("instr({v}, {l}) > 0"),
                CompareOp::Sw => format!("instr({v}, {l}) = 1"),
                CompareOp::Ew => {
                    let n = params.push(chars);
                    format!("substr({v}, -{n}) = {l}")
                }
                other => format!("{v} {} {l}", sql_op(other)),
            };
            format!("{is_text} AND {test}")
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

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        _ => "=",
    }
}

/// Whether the evaluator might read `s` as an instant: a superset of what its parser takes
/// (`YYYY-MM-DDThh:mm:ss…`).
fn may_be_instant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':'
}

impl<S: AttrSchema + ?Sized> Visitor for Translator<'_, S> {
    type Output = Frag;
    type Error = Infallible;

    fn present(&mut self, path: &AttrPath) -> Result<Frag, Infallible> {
        let r = self.resolve(path);
        Ok(self.present_sql(&r).map_or(Frag::All, Frag::Exact))
    }

    fn compare(
        &mut self,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<Frag, Infallible> {
        let r = self.resolve(path);
        let attr_type = r.info.as_ref().map(|i| i.attr_type);
        if matches!(
            attr_type,
            Some(AttrType::Boolean | AttrType::Binary | AttrType::Complex)
        ) && (op.is_ordering() || op.is_substring())
        {
            // The engine refuses this filter; nothing to push down.
            return Ok(Frag::All);
        }
        let (op, negate) = match op {
            CompareOp::Ne => (CompareOp::Eq, true),
            other => (other, false),
        };
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
            CompValue::String(s) => self.string_pred(&r, op, s),
            _ => Frag::All,
        };
        Ok(if negate { self.not(frag)? } else { frag })
    }

    fn and(&mut self, operands: Vec<Frag>) -> Result<Frag, Infallible> {
        let mut exact = true;
        let mut parts = Vec::new();
        for f in operands {
            match f {
                Frag::Exact(s) => parts.push(s),
                Frag::Superset(s) => {
                    exact = false;
                    parts.push(s);
                }
                // Dropping a conjunct keeps every match.
                Frag::All => exact = false,
            }
        }
        if parts.is_empty() {
            return Ok(Frag::All);
        }
        let sql = format!("({})", parts.join(" AND "));
        Ok(if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        })
    }

    fn or(&mut self, operands: Vec<Frag>) -> Result<Frag, Infallible> {
        let mut exact = true;
        let mut parts = Vec::new();
        for f in operands {
            match f {
                Frag::Exact(s) => parts.push(s),
                Frag::Superset(s) => {
                    exact = false;
                    parts.push(s);
                }
                Frag::All => return Ok(Frag::All),
            }
        }
        let sql = format!("({})", parts.join(" OR "));
        Ok(if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        })
    }

    fn not(&mut self, inner: Frag) -> Result<Frag, Infallible> {
        // The translation never yields SQL NULL (every leaf is an EXISTS), so NOT is exact.
        Ok(match inner {
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
        let (inner, exact) = match inner {
            Frag::Exact(s) => (s, true),
            Frag::Superset(s) => (s, false),
            Frag::All => ("1".to_owned(), false),
        };
        // Resolved in the enclosing scope, like the evaluator's `Node::Any`.
        let r = self.resolve(attr);
        let doc = self.doc();
        let Some(p) = self.attr_path(&r, &doc) else {
            return Ok(Frag::All);
        };
        let e = self.alias("e");
        let vp = frame.alias;
        // Each object element as it is; each scalar element as `{"value": scalar}`
        // (RFC 7644 §3.4.2.2); an object attribute as it is.
        let sql = format!(
            "EXISTS (SELECT 1 FROM (\
             SELECT CASE {e}.type WHEN 'object' THEN {e}.value \
             WHEN 'true' THEN '{{\"value\":true}}' WHEN 'false' THEN '{{\"value\":false}}' \
             WHEN 'array' THEN json_object('value', json({e}.value)) \
             ELSE json_object('value', {e}.value) END AS doc \
             FROM json_each({doc}, {p}) AS {e} \
             WHERE json_type({doc}, {p}) = 'array' AND {e}.type <> 'null' \
             UNION ALL SELECT {doc} -> {p} AS doc WHERE json_type({doc}, {p}) = 'object'\
             ) AS {vp} WHERE {inner})"
        );
        Ok(if exact {
            Frag::Exact(sql)
        } else {
            Frag::Superset(sql)
        })
    }
}

/// `ORDER BY` terms for sorting by `path` like the engine's in-memory sort, when the schema
/// says the attribute is single-valued and simple (string-like, number or boolean).
pub(crate) fn order_by<S: AttrSchema + ?Sized>(
    schema: &S,
    path: &AttrPath,
    descending: bool,
    params: &mut Params,
) -> Option<String> {
    let info = schema.attribute(path)?;
    if info.multi_valued || info.custom.is_some() {
        return None;
    }
    let name = label(&path.name)?;
    let sub = match &path.sub_attr {
        Some(s) => format!(".{}", label(s)?),
        None => String::new(),
    };
    let root = params.push(format!("$.{name}{sub}"));
    // The engine's sort reads an extension's attribute when the extension object exists.
    let p = match &path.urn {
        Some(urn) => {
            let urn = label(urn)?;
            let u = params.push(format!("$.{urn}"));
            let ext = params.push(format!("$.{urn}.{name}{sub}"));
            format!("CASE WHEN json_type(r.search, {u}) = 'object' THEN {ext} ELSE {root} END")
        }
        None => root,
    };
    let v = format!("json_extract(r.search, {p})");
    let dir = if descending { "DESC" } else { "ASC" };
    // Resources without a value sort last either way.
    Some(match info.attr_type {
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => {
            format!("({v} IS NULL), scim_lower({v}) {dir}, {v} {dir}")
        }
        AttrType::Integer | AttrType::Decimal => {
            format!("({v} IS NULL), CAST({v} AS REAL) {dir}")
        }
        AttrType::Boolean => format!("({v} IS NULL), {v} {dir}"),
        _ => return None,
    })
}
