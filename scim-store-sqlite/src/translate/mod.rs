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

use rusqlite::types::Value as SqlValue;

use scim_filter::{
    AttrInfo, AttrPath, AttrSchema, AttrType, CompValue, CompareOp, Filter, UrnLocation, Visitor,
};

mod lookups;
mod order;
mod predicates;
mod visitor;

use lookups::Lookup;
pub(crate) use order::order_by;
pub(crate) use predicates::instant_key;

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
