//! From a filter and a sort to SQL over the search document (the resource with its object
//! keys ASCII-lower-cased), with the exact semantics of `scim_filter::CompiledFilter`.
//!
//! Every literal and every JSON path is a bound parameter (`?N`); the SQL text holds only
//! what this module writes. A filter node that cannot be translated exactly becomes
//! [`Frag::All`] (or makes its parent a [`Frag::Superset`]), and the engine finishes in
//! memory.
//!
//! Shortcuts read indexes instead of documents, with the same answers: `eq` (and `sw`
//! when case-insensitive) on an attribute of the `attr_index` side table
//! ([`crate::layout::INDEXED`]) or on `members.value` (column `value_key`), and `id eq` on
//! the primary key; `co` and `ew` on a case-insensitive attribute of that side table read
//! the trigram index ([`crate::trigrams`]) and confirm on the keys. The out-of-line
//! attribute (`members` of a group) is read from the `members` table wherever the document
//! would have been read.

use std::convert::Infallible;

use rusqlite::types::Value as SqlValue;

use crate::layout::{indexed_label, ID_LABEL};
use crate::trigrams;
use scim_filter::{
    AttrInfo, AttrPath, AttrSchema, AttrType, CompValue, CompareOp, Filter, Instant, UrnLocation,
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
    /// Exactly the resources these index lookups find (together): kept apart until the
    /// enclosing `or` has had the chance to merge them into one lookup.
    Ids(Vec<Lookup>),
}

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lookup {
    source: Source,
    keys: KeyTest,
    /// For a caseExact attribute the keys find a superset: the document must also hold one
    /// of these literals (as given) at this path.
    verify: Option<(AttrPath, Vec<String>)>,
}

impl Lookup {
    /// Adds `other`'s keys to this lookup when both are `eq` lookups in the same place.
    fn merge(&mut self, other: &Lookup) -> bool {
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

/// Integers beyond 2^53 compare differently as `f64` (the evaluator) and exactly (SQLite).
const EXACT_F64_INT: i64 = 1 << 53;

/// Leaves SQLite's default limit on bound parameters (32,766) well out of reach.
pub(crate) const MAX_PARAMS: usize = 30_000;

/// The parameters holding the tenant and the resource type: a statement's first two.
const TENANT: &str = "?1";
const RESOURCE_TYPE: &str = "?2";
/// Parameters numbered from 1, shared by the whole statement; a statement that uses the
/// translation binds the tenant as `?1` and the resource type as `?2`.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<SqlValue>,
}

impl Params {
    pub(crate) fn push(&mut self, v: impl Into<SqlValue>) -> String {
        self.values.push(v.into());
        format!("?{}", self.values.len())
    }

    /// How many parameters there are: where [`Params::rollback`] returns to.
    pub(crate) fn mark(&self) -> usize {
        self.values.len()
    }

    /// Takes back the parameters pushed since `mark`. A branch of SQL that is abandoned
    /// must leave none behind: a statement bound with parameters it does not use is an
    /// error (more values than its highest `?N`), and a query must never fail for a filter
    /// SQL merely cannot express.
    pub(crate) fn rollback(&mut self, mark: usize) {
        self.values.truncate(mark);
    }
}

/// The top-level document column.
const ROOT_DOC: &str = "r.search";

/// Where an attribute's value is, as the evaluator's `Path`.
enum Base {
    Root,
    Extension(String),
    ExtensionOrRoot(String),
    /// A schema URN that is not one of the resource type's: no value anywhere.
    Nowhere,
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

/// Where the store keeps what the filter reads, for one query.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Layout<'a> {
    /// The attribute whose elements are rows of `members` (e.g. `members` of a Group).
    pub(crate) out_of_line: Option<&'a str>,
    /// Some resource of the type has irregular out-of-line elements (see
    /// `crate::layout::Row::irregular`): `value_key` alone is not exact.
    pub(crate) irregular: bool,
}

/// The filter translator (a [`Visitor`]).
pub(crate) struct Translator<'a, S: ?Sized> {
    schema: &'a S,
    params: &'a mut Params,
    layout: Layout<'a>,
    frames: Vec<ValuePathFrame>,
    aliases: usize,
    /// Set while an `ne` comparison is translated as its `eq` test: [`Translator::leaf`]
    /// then selects the values that fail it, and no index lookup stands in for it.
    ne: bool,
}

impl<'a, S: AttrSchema + ?Sized> Translator<'a, S> {
    pub(crate) fn new(schema: &'a S, params: &'a mut Params, layout: Layout<'a>) -> Self {
        Translator {
            schema,
            params,
            layout,
            frames: Vec::new(),
            aliases: 0,
            ne: false,
        }
    }

    /// Translates `filter`. Whatever is not kept in the result (`Frag::All`, a branch
    /// abandoned on the way) has left no parameter behind.
    pub(crate) fn translate(mut self, filter: &Filter) -> Frag {
        let mark = self.params.mark();
        let rewritten = self.rewrite(filter);
        let frag = self.visit(rewritten.as_ref().unwrap_or(filter));
        let frag = match self.finish(frag) {
            frag if self.params.values.len() <= MAX_PARAMS => frag,
            _ => Frag::All,
        };
        self.kept(mark, frag)
    }

    /// Translates one node of the filter (like [`scim_filter::walk`], through the
    /// [`Visitor`] methods). A node that yields no SQL takes back every parameter its
    /// branches pushed, so a parent that drops it (an `and`) or gives up (an `or`, a `not`)
    /// keeps only the parameters of what it keeps.
    fn visit(&mut self, filter: &Filter) -> Frag {
        let mark = self.params.mark();
        let frag = match filter {
            Filter::Present(path) => self.present(path),
            Filter::Compare { path, op, value } => self.compare(path, *op, value),
            // A schema the resource type does not have: no values to look into.
            Filter::ValuePath(vp) if matches!(self.resolve(&vp.attr).base, Base::Nowhere) => {
                Ok(Frag::Exact("0".to_owned()))
            }
            Filter::ValuePath(vp) => self.enter_value_path(&vp.attr).and_then(|()| {
                let inner = self.visit(&vp.filter);
                self.value_path(&vp.attr, inner)
            }),
            Filter::Not(inner) => {
                let inner = self.visit(inner);
                self.not(inner)
            }
            Filter::And(ops) => {
                let ops = ops.iter().map(|o| self.visit(o)).collect();
                self.and(ops)
            }
            Filter::Or(ops) => {
                let ops = ops.iter().map(|o| self.visit(o)).collect();
                self.or(ops)
            }
            // A node this translation does not know: the engine filters in memory.
            _ => Ok(Frag::All),
        };
        let frag = match frag {
            Ok(frag) => frag,
            Err(never) => match never {},
        };
        self.kept(mark, frag)
    }

    /// `frag`, after taking back the parameters pushed since `mark` when it holds no SQL
    /// (lookups push theirs only when [`Translator::finish`] turns them into SQL).
    fn kept(&mut self, mark: usize, frag: Frag) -> Frag {
        if matches!(frag, Frag::All | Frag::Ids(_)) {
            self.params.rollback(mark);
        }
        frag
    }

    /// `members[value eq "x"]` (or `sw`) as `members.value eq "x"` (so the `value_key`
    /// index answers it): the same when every element is an object with a string `value`
    /// (not `irregular`). `None` when nothing changes.
    fn rewrite(&self, f: &Filter) -> Option<Filter> {
        let rewrite_all = |ops: &[Filter]| {
            let new: Vec<Option<Filter>> = ops.iter().map(|o| self.rewrite(o)).collect();
            new.iter().any(Option::is_some).then(|| {
                new.into_iter()
                    .zip(ops)
                    .map(|(n, o)| n.unwrap_or_else(|| o.clone()))
                    .collect::<Vec<_>>()
            })
        };
        match f {
            Filter::ValuePath(vp) if !self.layout.irregular && vp.attr.sub_attr.is_none() => {
                let Filter::Compare {
                    path,
                    op,
                    value: value @ CompValue::String(_),
                } = vp.filter.as_ref()
                else {
                    return None;
                };
                let r = self.resolve(&vp.attr);
                let plain = path.urn.is_none() && path.sub_attr.is_none();
                // Only the operators an index answers (`ne`, any-match like the others,
                // reads the elements either way).
                if !plain
                    || !matches!(op, CompareOp::Eq | CompareOp::Sw)
                    || !path.name.eq_ignore_ascii_case("value")
                    || self.out_of_line(&r) != Some(true)
                {
                    return None;
                }
                let path = AttrPath {
                    urn: vp.attr.urn.clone(),
                    name: vp.attr.name.clone(),
                    sub_attr: Some(path.name.clone()),
                };
                Some(Filter::compare(path, *op, value.clone()))
            }
            Filter::Not(inner) => self.rewrite(inner).map(|i| Filter::Not(Box::new(i))),
            Filter::And(ops) => rewrite_all(ops).map(Filter::And),
            Filter::Or(ops) => rewrite_all(ops).map(Filter::Or),
            _ => None,
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
                Some(UrnLocation::Foreign) => Base::Nowhere,
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
            Base::Nowhere => return None,
        })
    }

    /// Whether `r` is the out-of-line attribute (read from `members`); `None` when that
    /// depends on the document (an unknown URN prefix).
    fn out_of_line(&self, r: &Resolved) -> Option<bool> {
        let Some(attr) = self.layout.out_of_line else {
            return Some(false);
        };
        if !self.frames.is_empty() || !r.name.eq_ignore_ascii_case(attr) {
            return Some(false);
        }
        match r.base {
            Base::Root => Some(true),
            Base::Extension(_) | Base::Nowhere => Some(false),
            Base::ExtensionOrRoot(_) => None,
        }
    }

    /// The out-of-line elements of the resource `r`, with `json_each`'s columns `type`,
    /// `value` and `atom` (so they stand in for the array the document would hold).
    fn out_of_line_each(&mut self) -> String {
        let m = self.alias("m");
        format!(
            "SELECT json_type({m}.search) AS type, \
             CASE WHEN json_type({m}.search) IN ('object', 'array') THEN {m}.search \
             ELSE json_extract({m}.search, '$') END AS value, \
             json_extract({m}.search, '$') AS atom \
             FROM members AS {m} WHERE {m}.tenant = r.tenant \
             AND {m}.resource_type = r.resource_type AND {m}.owner_id = r.id"
        )
    }

    /// [`objects`], plus the out-of-line object elements when `ool`.
    fn objects(&mut self, doc: &str, p: &str, ool: bool) -> String {
        let e = self.alias("e");
        let mut sql = objects(doc, p, &e);
        if ool {
            let x = self.alias("x");
            let each = self.out_of_line_each();
            sql.push_str(&format!(
                " UNION ALL SELECT {x}.value AS o FROM ({each}) AS {x} WHERE {x}.type = 'object'"
            ));
        }
        sql
    }

    /// The scalars a comparison looks at (the evaluator's `Path::any_value`), as a
    /// subquery with columns `t` (JSON type) and `v` (SQL value).
    fn candidates(&mut self, r: &Resolved) -> Option<String> {
        let ool = self.out_of_line(r)?;
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
                if ool {
                    let x = self.alias("x");
                    let each = self.out_of_line_each();
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
                let o = self.alias("o");
                let f = self.alias("f");
                let objects = self.objects(&doc, &p, ool);
                // The objects (the attribute, or the objects in it), then their
                // sub-attribute: a scalar, or each element of an array.
                format!(
                    "SELECT {f}.type AS t, {f}.atom AS v FROM ({objects}) AS {o}, json_each({o}.o, {s}) AS {f} \
                     WHERE json_type({o}.o, {s}) <> 'object'"
                )
            }
        })
    }

    fn leaf(&mut self, r: &Resolved, pred: impl FnOnce(&mut Params, &str, &str) -> String) -> Frag {
        let Some(candidates) = self.candidates(r) else {
            return Frag::All;
        };
        let c = self.alias("c");
        let mut pred = pred(self.params, &format!("{c}.t"), &format!("{c}.v"));
        if self.ne {
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
    fn present_sql(&mut self, r: &Resolved) -> Option<String> {
        let ool = self.out_of_line(r)?;
        let doc = self.doc();
        let p = self.attr_path(r, &doc)?;
        let t = self.alias("t");
        // RFC 7643 §2.5: null, "", [] and {} are unassigned; a container has a value when
        // one of its leaves does.
        let leaf = format!(
            "{t}.type NOT IN ('null', 'array', 'object') AND ({t}.type <> 'text' OR {t}.atom <> '')"
        );
        Some(match &r.sub {
            None if ool => {
                let m = self.alias("m");
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
                let o = self.alias("o");
                let objects = self.objects(&doc, &p, ool);
                format!(
                    "EXISTS (SELECT 1 FROM ({objects}) AS {o}, json_tree({o}.o, {s}) AS {t} WHERE {leaf})"
                )
            }
        })
    }

    /// An index lookup that answers `path op lit` exactly: `eq`, or `sw` when
    /// case-insensitive, on an indexed attribute, on `id`, or on the `value` of out-of-line
    /// elements, read from the top of the resource; `co` and `ew` when case-insensitive, on
    /// an indexed attribute only.
    fn lookup(
        &self,
        r: &Resolved,
        path: &AttrPath,
        op: CompareOp,
        lit: &str,
        exact: bool,
    ) -> Option<Lookup> {
        let info = r.info.as_ref()?;
        let string = matches!(info.attr_type, AttrType::String | AttrType::Reference);
        if !string || !self.frames.is_empty() || !matches!(r.base, Base::Root) {
            return None;
        }
        let key = lit.to_lowercase();
        let keys = match op {
            CompareOp::Eq => KeyTest::In(vec![key]),
            // Lower-cased values starting with `key` are those in [key, successor): exactly
            // the evaluator's `sw` on lower-cased strings (RFC 7644 §3.4.2.2).
            CompareOp::Sw if !exact && !key.is_empty() => {
                let hi = successor(&key)?;
                KeyTest::Range(key, hi)
            }
            // Keys (lower-cased values) containing, or ending with, the lower-cased literal:
            // the evaluator's `co` and `ew` on lower-cased strings.
            CompareOp::Co if !exact => KeyTest::Contains(key),
            CompareOp::Ew if !exact => KeyTest::EndsWith(key),
            _ => return None,
        };
        let substring = matches!(keys, KeyTest::Contains(_) | KeyTest::EndsWith(_));
        let source = if self.out_of_line(r) == Some(true) {
            let value = r
                .sub
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("value"));
            if !value || self.layout.irregular || substring {
                return None;
            }
            Source::Members
        } else if r.name.eq_ignore_ascii_case("id") && r.sub.is_none() {
            // The row id, and the side table for documents whose `id` is not it.
            if !exact || r.complex != Some(false) {
                return None;
            }
            Source::Id
        } else {
            let label = indexed_label(&r.name, r.sub.as_deref())?;
            // The side table holds what the evaluator reads of an attribute that is not
            // complex.
            if r.sub.is_none() && r.complex != Some(false) {
                return None;
            }
            Source::Attr(label)
        };
        Some(Lookup {
            source,
            keys,
            verify: exact.then(|| (path.clone(), vec![lit.to_owned()])),
        })
    }

    /// `column = ?` or `column IN (…)` for a list of strings (one parameter however many).
    fn in_list(&mut self, column: &str, values: Vec<String>) -> String {
        if values.len() == 1 {
            let v = self
                .params
                .push(values.into_iter().next().unwrap_or_default());
            return format!("{column} = {v}");
        }
        let list = self
            .params
            .push(serde_json::Value::from(values).to_string());
        format!("{column} IN (SELECT value FROM json_each({list}))")
    }

    /// The ids a lookup finds (a `SELECT` of one column), and the document test that must
    /// follow it when it is a superset.
    fn lookup_sql(&mut self, l: Lookup) -> Option<(String, Option<String>)> {
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
            KeyTest::In(keys) => self.in_list(&key_column, keys),
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
            Some((path, values)) => {
                if l.source == Source::Id {
                    // A document whose `id` is its row id (every one the engine writes).
                    let list = self
                        .params
                        .push(serde_json::Value::from(values.clone()).to_string());
                    ids = format!("SELECT value FROM json_each({list}) UNION ALL {ids}");
                }
                let r = self.resolve(&path);
                let candidates = self.candidates(&r)?;
                let c = self.alias("c");
                let test = self.in_list(&format!("{c}.v"), values);
                Some(format!(
                    "EXISTS (SELECT 1 FROM ({candidates}) AS {c} WHERE {c}.t = 'text' AND {test})"
                ))
            }
        };
        Some((ids, verify))
    }

    /// SQL for a union of lookups: one `r.id IN (…)` (which SQLite answers with primary-key
    /// lookups) when no lookup needs a document test.
    fn ids_sql(&mut self, lookups: Vec<Lookup>) -> Option<String> {
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
    fn finish(&mut self, f: Frag) -> Frag {
        match f {
            Frag::Ids(lookups) => {
                let mark = self.params.mark();
                let frag = self.ids_sql(lookups).map_or(Frag::All, Frag::Exact);
                self.kept(mark, frag)
            }
            other => other,
        }
    }

    fn string_pred(&mut self, r: &Resolved, path: &AttrPath, op: CompareOp, lit: &str) -> Frag {
        let info = r.info.as_ref();
        if info.is_some_and(|i| i.custom.is_some()) {
            return Frag::All;
        }
        let exact = info.is_some_and(|i| i.case_exact);
        // The evaluator compares instants when the literal is a dateTime (a value that is
        // none compares as text): so does SQL, through `scim_instant`.
        if !op.is_substring() {
            if let Some(instant) = Instant::parse(lit) {
                return self.instant_pred(r, op, lit, instant, exact);
            }
            if info.is_some_and(|i| i.attr_type == AttrType::DateTime) {
                return Frag::All;
            }
        }
        if let Some(lookup) = self.lookup(r, path, op, lit, exact).filter(|_| !self.ne) {
            return Frag::Ids(vec![lookup]);
        }
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
}

impl<S: AttrSchema + ?Sized> Translator<'_, S> {
    /// `path op lit` where `lit` is a dateTime: values that are dateTimes compare as
    /// instants, other strings as text (folded unless caseExact), as the evaluator does.
    fn instant_pred(
        &mut self,
        r: &Resolved,
        op: CompareOp,
        lit: &str,
        instant: Instant,
        exact: bool,
    ) -> Frag {
        let text_lit = if exact {
            lit.to_owned()
        } else {
            lit.to_lowercase()
        };
        let sql = sql_op(op);
        self.leaf(r, move |params, t, v| {
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

/// A text key that sorts as the instant does: seconds shifted to be positive (years 0 to
/// 9999, any offset) in 13 digits, then 9 digits of nanoseconds.
pub(crate) fn instant_key(instant: Instant) -> String {
    format!(
        "{:013}{:09}",
        instant.unix_seconds().saturating_add(1_000_000_000_000),
        instant.subsec_nanos()
    )
}

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

/// `parts` joined by `op` (`AND`, `OR`) as a balanced tree of parentheses: a long `and` of
/// `or` stays far below SQLite's limit on expression depth (1000), which a flat chain of
/// a thousand terms (as a 16 KiB filter can hold) would exceed.
fn balanced(parts: &[String], op: &str) -> String {
    match parts {
        // The identity of `op`: an empty `and` holds, an empty `or` does not.
        [] if op == "AND" => "1".to_owned(),
        [] => "0".to_owned(),
        [one] => one.clone(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!("({} {op} {})", balanced(left, op), balanced(right, op))
        }
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

/// `ORDER BY` terms for sorting by `path` exactly as the engine's in-memory sort does, when
/// the schema says the attribute is single-valued and simple (string-like, dateTime, number
/// or boolean); `None` leaves the sort to the engine (multi-valued attributes among them).
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
    let t = format!("json_type(r.search, {p})");
    let dir = if descending { "DESC" } else { "ASC" };
    // As the engine's sort (`scim_core`'s `sort.rs`, RFC 7644 §3.4.2.3): values ranked by
    // kind (booleans, numbers, instants, text, other shapes), then by value; absent and null
    // last ascending, first descending. SQLite compares integers and reals exactly.
    let instant = info.attr_type == AttrType::DateTime;
    let text_rank = if instant {
        format!("CASE WHEN scim_instant({v}) IS NULL THEN 3 ELSE 2 END")
    } else {
        "3".to_owned()
    };
    match info.attr_type {
        AttrType::String
        | AttrType::Reference
        | AttrType::Binary
        | AttrType::DateTime
        | AttrType::Integer
        | AttrType::Decimal
        | AttrType::Boolean => {}
        _ => return None,
    }
    let mut terms = vec![format!(
        "CASE WHEN {t} IS NULL OR {t} = 'null' THEN 5 WHEN {t} IN ('true', 'false') THEN 0 \
         WHEN {t} IN ('integer', 'real') THEN 1 WHEN {t} = 'text' THEN {text_rank} ELSE 4 END {dir}"
    )];
    if instant {
        terms.push(format!("scim_instant({v}) {dir}"));
    }
    if !info.case_exact {
        terms.push(format!("scim_lower({v}) {dir}"));
    }
    terms.push(format!("{v} {dir}"));
    Some(terms.join(", "))
}
