//! The PostgreSQL [`Dialect`] of the filter translation ([`scim_store_sql`] holds the walk,
//! the exact/superset algebra and the choice of index lookups, shared with the SQLite
//! store), and sorting in SQL.
//!
//! Values are read from the `search` document (`jsonb`, object keys ASCII-lower-cased)
//! with `->` and `jsonb_array_elements`; every literal and key is a bound, typed parameter
//! (`$N::text`, `$N::int8`, `$N::float8`, `$N::text[]`).
//!
//! PostgreSQL cannot fold case as the evaluator does (`str::to_lowercase`; PostgreSQL's
//! `lower` follows the collation), so case-insensitive comparisons read what Rust folded at
//! write time: the `attr_index` keys and `members.value_key` (lookups, the trigram index
//! for `co`/`ew` by `LIKE`), and elsewhere the `folded` documents (`resources.folded`,
//! `members.folded`: the search documents with every string lower-cased). A value path
//! reads each element in both forms (`doc`, `fdoc`), paired by position.
//! dateTimes compare as instants through the `created_key` and `last_modified_key`
//! columns (`meta.created`, `meta.lastModified`; a resource whose times are not one
//! dateTime each is `odd_times`, read apart). Not translated: other dateTime comparisons,
//! custom types, integer literals beyond
//! 2^53, literals holding NUL (no row the filter reads holds one: such rows are
//! `ambiguous`, read apart).

use scim_core::Sort;
use scim_filter::{AttrType, CompareOp, Condition, Location, NumberLiteral, TextSet, TextTest};
use scim_store_layout::instant_key;
use scim_store_sql::{sql_op, Attr, Dialect, Frag, KeyTest, Lookup, Scope};
use tokio_postgres::types::ToSql;

/// Integers beyond 2^53 compare differently as `f64` (the evaluator) and exactly.
const EXACT_F64_INT: i64 = 1 << 53;

/// PostgreSQL binds at most 65,535 parameters.
const MAX_PARAMS: usize = 60_000;

/// The statement's parameters, numbered from 1: the tenant (`$1`) and the resource type
/// (`$2`) first.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: Vec<Value>,
}

/// A parameter's value.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Int(i64),
    Float(f64),
    Texts(Vec<String>),
}

impl Params {
    fn push(&mut self, v: Value, cast: &str) -> String {
        self.values.push(v);
        format!("${}::{cast}", self.values.len())
    }

    /// A text parameter, as `$N::text`.
    pub(crate) fn text(&mut self, s: impl Into<String>) -> String {
        self.push(Value::Text(s.into()), "text")
    }

    /// An integer parameter, as `$N::int8`.
    pub(crate) fn int(&mut self, i: i64) -> String {
        self.push(Value::Int(i), "int8")
    }

    fn float(&mut self, f: f64) -> String {
        self.push(Value::Float(f), "float8")
    }

    /// `column = $N` for one value, `column = ANY($N::text[])` for several.
    fn any(&mut self, column: &str, mut values: Vec<String>) -> String {
        if values.len() == 1 {
            let v = self.text(values.pop().unwrap_or_default());
            return format!("{column} = {v}");
        }
        let list = self.push(Value::Texts(values), "text[]");
        format!("{column} = ANY({list})")
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The first `n` values, boxed for the driver.
    pub(crate) fn boxed(&self, n: usize) -> Vec<Box<dyn ToSql + Sync + Send>> {
        self.values
            .iter()
            .take(n)
            .map(|v| -> Box<dyn ToSql + Sync + Send> {
                match v.clone() {
                    Value::Text(s) => Box::new(s),
                    Value::Int(i) => Box::new(i),
                    Value::Float(f) => Box::new(f),
                    Value::Texts(t) => Box::new(t),
                }
            })
            .collect()
    }
}

/// The PostgreSQL dialect, writing its parameters to a [`Params`].
pub(crate) struct Postgres<'a> {
    pub(crate) params: &'a mut Params,
    /// Whether the translation reads `created_key` or `last_modified_key`: resources
    /// marked `odd_times` are then left to the engine.
    pub(crate) time_keys: bool,
}

impl Dialect for Postgres<'_> {
    const TRUE: &'static str = "TRUE";
    const FALSE: &'static str = "FALSE";
    const MAX_PARAMS: usize = MAX_PARAMS;

    fn mark(&self) -> usize {
        self.params.values.len()
    }

    fn rollback(&mut self, mark: usize) {
        self.params.values.truncate(mark);
    }

    fn present(&mut self, scope: &mut Scope<'_>, r: &Attr<'_>) -> Option<String> {
        let ool = scope.out_of_line(r)?;
        let doc = scope.doc();
        let x = self.attr_json(r, &doc)?;
        let t = scope.alias("t");
        // RFC 7643 §2.5: null, "", [] and {} are unassigned; a container has a value when
        // one of its leaves does.
        let has = |v: &str| {
            format!(
                "jsonb_path_exists({v}, 'strict $.** ? ((@.type() == \"string\" && @ != \"\") \
                 || @.type() == \"number\" || @.type() == \"boolean\")')"
            )
        };
        Some(match r.sub {
            None if ool => format!(
                "(coalesce({}, FALSE) OR EXISTS (SELECT 1 FROM ({}) AS {t} WHERE {}))",
                has(&x),
                members(scope, "search"),
                has(&format!("{t}.v"))
            ),
            None => format!("coalesce({}, FALSE)", has(&x)),
            Some(sub) => {
                let s = self.params.text(sub);
                let objects = self.objects(scope, &x, ool, "search");
                format!(
                    "EXISTS (SELECT 1 FROM ({objects}) AS {t} WHERE {})",
                    has(&format!("({t}.o -> {s})"))
                )
            }
        })
    }

    fn compare<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: Attr<'r>,
        condition: &'r Condition,
    ) -> Frag<'r> {
        match condition {
            Condition::Bool(b) => {
                let want = if *b {
                    "'true'::jsonb"
                } else {
                    "'false'::jsonb"
                };
                self.leaf(scope, &r, false, |_, v| format!("{v} = {want}"))
            }
            Condition::Number(n) => {
                let op = sql_op(n.op());
                match n.literal() {
                    NumberLiteral::Int(i) if (-EXACT_F64_INT..=EXACT_F64_INT).contains(&i) => {
                        // Integers exactly; any other number as f64, like the evaluator (the
                        // literal is exact in f64).
                        self.leaf(scope, &r, false, |params, v| {
                            let l = params.int(i);
                            // CASE, not AND: PostgreSQL may evaluate the operands of AND in
                            // any order, and a cast of a string to a number fails.
                            format!(
                                "CASE WHEN jsonb_typeof({v}) <> 'number' THEN FALSE \
                                 WHEN ({v} #>> '{{}}') ~ '^-?[0-9]+$' \
                                 THEN ({v})::numeric {op} ({l})::numeric \
                                 ELSE ({v})::float8 {op} ({l})::float8 END"
                            )
                        })
                    }
                    NumberLiteral::Float(f) if f.is_finite() => {
                        self.leaf(scope, &r, false, |params, v| {
                            let l = params.float(f);
                            format!(
                                "CASE WHEN jsonb_typeof({v}) <> 'number' THEN FALSE \
                             ELSE ({v})::float8 {op} {l} END"
                            )
                        })
                    }
                    _ => Frag::All,
                }
            }
            Condition::Text(t) => self.text(scope, r, t),
            Condition::TextIn(set) => self.text_set(scope, r, set),
            _ => Frag::All,
        }
    }

    fn elements(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        out_of_line: bool,
        frame: &str,
        inner: &str,
    ) -> Option<String> {
        let doc = scope.doc();
        let x = self.attr_json(r, &doc)?;
        let fx = self.attr_json(r, &folded_doc(&doc))?;
        let (a, e) = (scope.alias("a"), scope.alias("e"));
        // Each element with its folded form (the same position of the folded array).
        let mut pairs = format!(
            "SELECT {e}.v, {fx} -> (({e}.n)::int - 1) AS f \
             FROM jsonb_array_elements(CASE WHEN jsonb_typeof({x}) = 'array' \
             THEN {x} ELSE '[]'::jsonb END) WITH ORDINALITY AS {e}(v, n)"
        );
        if out_of_line {
            let m = scope.alias("m");
            pairs.push_str(&format!(
                " UNION ALL SELECT {m}.search, {m}.folded FROM members AS {m} \
                 WHERE {m}.tenant = r.tenant AND {m}.resource_type = r.resource_type \
                 AND {m}.owner_id = r.id"
            ));
        }
        // Each object element as it is; each scalar element as `{"value": scalar}`
        // (RFC 7644 §3.4.2.2); an object attribute as it is.
        let wrap = |v: &str| {
            format!(
                "CASE WHEN jsonb_typeof({v}) = 'object' THEN {v} \
                 ELSE jsonb_build_object('value', {v}) END"
            )
        };
        Some(format!(
            "EXISTS (SELECT 1 FROM (SELECT {} AS doc, {} AS fdoc FROM ({pairs}) AS {a} \
             WHERE jsonb_typeof({a}.v) <> 'null' \
             UNION ALL SELECT {x}, {fx} WHERE jsonb_typeof({x}) = 'object') AS {frame} \
             WHERE {inner})",
            wrap(&format!("{a}.v")),
            wrap(&format!("{a}.f")),
        ))
    }

    fn lookup_rows(&mut self, scope: &mut Scope<'_>, l: &Lookup<'_>) -> (String, String) {
        let x = scope.alias("x");
        match l.source.label() {
            Some(label) => {
                // The label as a literal, not a parameter: the planner then picks the
                // attribute's own (partial) trigram index even in a generic plan. Labels
                // are the layout's constants; anything else would be a parameter.
                let a = if label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                {
                    format!("'{label}'")
                } else {
                    self.params.text(label)
                };
                (
                    format!(
                        "SELECT {x}.id FROM attr_index AS {x} WHERE {x}.tenant = $1 \
                         AND {x}.resource_type = $2 AND {x}.attr = {a}"
                    ),
                    format!("{x}.key"),
                )
            }
            None => (
                format!(
                    "SELECT {x}.owner_id FROM members AS {x} WHERE {x}.tenant = $1 \
                     AND {x}.resource_type = $2"
                ),
                format!("{x}.value_key"),
            ),
        }
    }

    /// The keys are Rust's lower-casing of the values (so are the literals), in the "C"
    /// collation: byte order is code point order; `LIKE` on them reads the trigram index
    /// (`attr_index_trgm_<attribute>`, partial on `attr`).
    fn key_test(&mut self, key: &str, keys: KeyTest) -> String {
        match keys {
            KeyTest::In(keys) => self.params.any(key, keys),
            KeyTest::Range(lo, hi) => {
                let lo = self.params.text(lo);
                let hi = self.params.text(hi);
                format!("{key} >= {lo} AND {key} < {hi}")
            }
            KeyTest::Contains(lit) | KeyTest::EndsWith(lit) if lit.is_empty() => "TRUE".to_owned(),
            KeyTest::Contains(lit) => {
                let p = self.params.text(format!("%{}%", like_escape(&lit)));
                format!("{key} LIKE {p}")
            }
            KeyTest::EndsWith(lit) => {
                let p = self.params.text(format!("%{}", like_escape(&lit)));
                format!("{key} LIKE {p}")
            }
        }
    }

    fn listed_ids(&mut self, ids: Vec<String>) -> String {
        let list = self.params.push(Value::Texts(ids), "text[]");
        format!("SELECT unnest({list})")
    }

    fn holds_text(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        values: Vec<String>,
    ) -> Option<String> {
        let candidates = self.candidates(scope, r, false)?;
        let c = scope.alias("c");
        let test = self.params.any(&format!("({c}.v #>> '{{}}')"), values);
        Some(format!(
            "EXISTS (SELECT 1 FROM ({candidates}) AS {c} \
             WHERE jsonb_typeof({c}.v) = 'string' AND {test})"
        ))
    }
}

/// The out-of-line elements of the resource `r` (column `v`), from `column` (`search` or
/// `folded`).
fn members(scope: &mut Scope<'_>, column: &str) -> String {
    let m = scope.alias("m");
    format!(
        "SELECT {m}.{column} AS v FROM members AS {m} WHERE {m}.tenant = r.tenant \
         AND {m}.resource_type = r.resource_type AND {m}.owner_id = r.id"
    )
}

/// `s` escaped for `LIKE` (escape character `\`).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Postgres<'_> {
    /// The JSON of the attribute (without its sub-attribute) in `doc`, or SQL NULL.
    fn attr_json(&mut self, r: &Attr<'_>, doc: &str) -> Option<String> {
        Some(match r.location {
            Location::Core | Location::Element => {
                let n = self.params.text(r.name);
                format!("({doc} -> {n})")
            }
            Location::Extension(urn) => {
                let u = self.params.text(&**urn);
                let n = self.params.text(r.name);
                format!("({doc} -> {u} -> {n})")
            }
            Location::ExtensionOrCore(urn) => {
                let u = self.params.text(&**urn);
                let n = self.params.text(r.name);
                // No such key: the core attributes; any other value: the extension (which
                // finds nothing unless it is an object).
                format!("(CASE WHEN {doc} ? {u} THEN {doc} -> {u} -> {n} ELSE {doc} -> {n} END)")
            }
            // `Foreign` is answered by the walk; a location not known here is the engine's.
            _ => return None,
        })
    }

    /// The elements of `x` when it is an array, and the out-of-line ones (from `column`)
    /// when `ool` (column `v`).
    fn array_elements(
        &mut self,
        scope: &mut Scope<'_>,
        x: &str,
        ool: bool,
        column: &str,
    ) -> String {
        let e = scope.alias("e");
        let mut sql = format!(
            "SELECT {e}.v FROM jsonb_array_elements(CASE WHEN jsonb_typeof({x}) = 'array' \
             THEN {x} ELSE '[]'::jsonb END) AS {e}(v)"
        );
        if ool {
            sql.push_str(&format!(" UNION ALL {}", members(scope, column)));
        }
        sql
    }

    /// The objects whose sub-attribute a path names: the attribute when it is an object, or
    /// the objects in it (column `o`).
    fn objects(&mut self, scope: &mut Scope<'_>, x: &str, ool: bool, column: &str) -> String {
        let a = scope.alias("a");
        let elements = self.array_elements(scope, x, ool, column);
        format!(
            "SELECT {a}.v AS o FROM ({elements}) AS {a} WHERE jsonb_typeof({a}.v) = 'object' \
             UNION ALL SELECT {x} AS o WHERE jsonb_typeof({x}) = 'object'"
        )
    }

    /// The values a comparison looks at (the evaluator's `Path::any_value`), as a subquery
    /// with the column `v` (`jsonb`); from the folded documents when `folded`.
    fn candidates(&mut self, scope: &mut Scope<'_>, r: &Attr<'_>, folded: bool) -> Option<String> {
        let ool = scope.out_of_line(r)?;
        let (doc, column) = if folded {
            (folded_doc(&scope.doc()), "folded")
        } else {
            (scope.doc(), "search")
        };
        let x = self.attr_json(r, &doc)?;
        Some(match r.sub {
            None => {
                let a = scope.alias("a");
                let elements = self.array_elements(scope, &x, ool, column);
                // Each element of an array (an object's `value`); the attribute itself
                // when scalar; an object's `value` unless the schema says it is not complex.
                let mut sql = format!(
                    "SELECT CASE WHEN jsonb_typeof({a}.v) = 'object' THEN {a}.v -> 'value' \
                     ELSE {a}.v END AS v FROM ({elements}) AS {a} \
                     UNION ALL SELECT {x} AS v WHERE jsonb_typeof({x}) NOT IN ('array', 'object')"
                );
                if r.complex() != Some(false) {
                    sql.push_str(&format!(
                        " UNION ALL SELECT {x} -> 'value' AS v WHERE jsonb_typeof({x}) = 'object'"
                    ));
                }
                sql
            }
            Some(sub) => {
                let s = self.params.text(sub);
                let o = scope.alias("o");
                let f = scope.alias("f");
                let objects = self.objects(scope, &x, ool, column);
                // The objects' sub-attribute: a scalar, or each element of an array.
                format!(
                    "SELECT {f}.v FROM ({objects}) AS {o}, jsonb_array_elements(CASE \
                     WHEN jsonb_typeof({o}.o -> {s}) = 'array' THEN {o}.o -> {s} \
                     ELSE jsonb_build_array({o}.o -> {s}) END) AS {f}(v) \
                     WHERE jsonb_typeof({o}.o -> {s}) <> 'object'"
                )
            }
        })
    }

    /// Some value of `r` (folded when `folded`) passes `pred` (of the parameters and the
    /// value, `jsonb`); for the `eq` test of an `ne`, some simple value fails it.
    fn leaf<'r>(
        &mut self,
        scope: &mut Scope<'_>,
        r: &Attr<'_>,
        folded: bool,
        pred: impl FnOnce(&mut Params, &str) -> String,
    ) -> Frag<'r> {
        let Some(candidates) = self.candidates(scope, r, folded) else {
            return Frag::All;
        };
        let c = scope.alias("c");
        let v = format!("{c}.v");
        let mut pred = pred(self.params, &v);
        if scope.ne() {
            // `pred` is never NULL for a simple value, so NOT is its complement.
            pred = format!("jsonb_typeof({v}) IN ('string', 'number', 'boolean') AND NOT ({pred})");
        }
        Frag::Exact(format!(
            "EXISTS (SELECT 1 FROM ({candidates}) AS {c} WHERE {pred})"
        ))
    }

    /// A string comparison: a lookup when an index answers it, else a test of the values.
    fn text<'r>(&mut self, scope: &mut Scope<'_>, r: Attr<'r>, t: &TextTest) -> Frag<'r> {
        let (op, lit, exact) = (t.op(), t.literal(), t.case_exact());
        // No row the translation reads holds a NUL (see the module docs); PostgreSQL text
        // cannot hold one.
        if t.custom().is_some() || lit.contains('\0') {
            return Frag::All;
        }
        // A dateTime literal compares as an instant with the values that are dateTimes
        // (`eq` too: one instant has many spellings): `meta.created` and `meta.lastModified`
        // through their instant keys (exact for the resources not marked `odd_times`), the
        // others not at all.
        if let Some(instant) = t.instant() {
            return match time_column(scope, &r) {
                Some(column) => {
                    self.time_keys = true;
                    let k = self.params.text(instant_key(instant));
                    Frag::Exact(format!("coalesce(r.{column} {} {k}, FALSE)", sql_op(op)))
                }
                None => Frag::All,
            };
        }
        if let Some(lookup) = scope.lookup(r, op, &[lit], exact) {
            return Frag::Ids(vec![lookup]);
        }
        // Folded already (unless caseExact), as the values read are.
        let lit = lit.to_owned();
        self.leaf(scope, &r, !exact, move |params, v| {
            let s = format!("({v} #>> '{{}}')");
            let is_text = format!("jsonb_typeof({v}) = 'string'");
            if lit.is_empty() && op.is_substring() {
                return is_text;
            }
            let test = match op {
                CompareOp::Co => format!("strpos({s}, {}) > 0", params.text(lit)),
                CompareOp::Sw => format!("starts_with({s}, {})", params.text(lit)),
                CompareOp::Ew => {
                    let l = params.text(lit);
                    format!("right({s}, char_length({l})) = {l}")
                }
                // By code point.
                other => format!("{s} COLLATE \"C\" {} {}", sql_op(other), params.text(lit)),
            };
            format!("{is_text} AND {test}")
        })
    }

    /// String `eq` against a set of literals.
    fn text_set<'r>(&mut self, scope: &mut Scope<'_>, r: Attr<'r>, set: &TextSet) -> Frag<'r> {
        let lits = set.literals();
        let exact = set.case_exact();
        if lits.iter().any(|l| l.contains('\0')) {
            return Frag::All;
        }
        if let Some(lookup) = scope.lookup(r, CompareOp::Eq, &lits, exact) {
            return Frag::Ids(vec![lookup]);
        }
        let lits: Vec<String> = lits.into_iter().map(str::to_owned).collect();
        self.leaf(scope, &r, !exact, move |params, v| {
            let test = params.any(&format!("({v} #>> '{{}}')"), lits);
            format!("jsonb_typeof({v}) = 'string' AND {test}")
        })
    }
}

/// The column holding the instant key of `r` when it is `meta.created` or
/// `meta.lastModified` at the top of the resource (and not the `eq` test of an `ne`, which
/// also holds for a number or a boolean).
fn time_column(scope: &Scope<'_>, r: &Attr<'_>) -> Option<&'static str> {
    if scope.ne() || scope.in_element() || r.location != &Location::Core || r.name != "meta" {
        return None;
    }
    match r.sub? {
        "created" => Some("created_key"),
        "lastmodified" => Some("last_modified_key"),
        _ => None,
    }
}

/// The folded form of the document `doc` (see [`Scope::doc`]): `r.folded` for the
/// resource's, `<frame>.fdoc` for a value path's element.
fn folded_doc(doc: &str) -> String {
    match doc.strip_suffix(".doc") {
        Some(frame) => format!("{frame}.fdoc"),
        None => "r.folded".to_owned(),
    }
}

/// `ORDER BY` terms for sorting as the engine's in-memory sort does, when it can be matched
/// exactly: a single-valued attribute of the schema that is boolean or string-like (a
/// case-insensitive one by the `folded` document first). `None` leaves the sort to the
/// engine (numbers, dateTimes, multi-valued attributes and attributes the schema does not
/// define among them). Resources without a folded document are sorted by the engine (see
/// the module `query`).
pub(crate) fn order_by(sort: &Sort<'_>, params: &mut Params) -> Option<String> {
    let (path, descending) = (sort.path, sort.descending);
    let info = sort.attribute?;
    if info.multi_valued || info.custom.is_some() {
        return None;
    }
    let string = matches!(
        info.attr_type,
        AttrType::String | AttrType::Reference | AttrType::Binary
    );
    if !string && info.attr_type != AttrType::Boolean {
        return None;
    }
    let name = params.text(path.name.to_ascii_lowercase());
    let sub = path
        .sub_attr
        .as_deref()
        .map(|s| format!(" -> {}", params.text(s.to_ascii_lowercase())));
    let urn = path
        .urn
        .as_deref()
        .map(|u| params.text(u.to_ascii_lowercase()));
    // The engine's sort reads an extension's attribute when the extension object exists.
    let value_in = |doc: &str| {
        let sub = sub.as_deref().unwrap_or_default();
        match &urn {
            Some(u) => format!(
                "(CASE WHEN jsonb_typeof({doc} -> {u}) = 'object' \
                 THEN {doc} -> {u} -> {name}{sub} ELSE {doc} -> {name}{sub} END)"
            ),
            None => format!("({doc} -> {name}{sub})"),
        }
    };
    let v = value_in("r.search");
    let dir = if descending { "DESC" } else { "ASC" };
    // As the engine's sort (RFC 7644 §3.4.2.3): values ranked by kind (booleans, numbers,
    // text, other shapes), then by value; absent and null last ascending, first descending.
    let mut terms = vec![format!(
        "CASE WHEN {v} IS NULL OR jsonb_typeof({v}) = 'null' THEN 5 \
         WHEN jsonb_typeof({v}) = 'boolean' THEN 0 WHEN jsonb_typeof({v}) = 'number' THEN 1 \
         WHEN jsonb_typeof({v}) = 'string' THEN 3 ELSE 4 END {dir}"
    )];
    if string && !info.case_exact {
        // Rust's lower-casing, by code point, then the value itself.
        let f = value_in("r.folded");
        terms.push(format!("({f} #>> '{{}}') COLLATE \"C\" {dir}"));
    }
    // Text by code point; `false` before `true`.
    terms.push(format!("({v} #>> '{{}}') COLLATE \"C\" {dir}"));
    Some(terms.join(", "))
}
