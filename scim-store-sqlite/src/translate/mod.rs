//! From a filter and a sort to SQL over the search document (the resource with its object
//! keys ASCII-lower-cased), with the exact semantics of `scim_filter::CompiledFilter`.
//!
//! The filter is read in its resolved form ([`scim_filter::ResolvedNode`], the tree the
//! evaluator runs): every path already resolved against the engine's schema (where its
//! values are, type, caseExact) and every literal typed, so the store needs no schema and
//! repeats no resolution.
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

use scim_filter::{AttrInfo, AttrType, Location, ResolvedAttr, ResolvedNode};

mod lookups;
mod nodes;
mod order;
mod predicates;

use lookups::Lookup;
pub(crate) use order::order_by;
pub(crate) use predicates::instant_key;

/// What a filter became.
#[derive(Debug, Clone)]
pub(crate) enum Frag<'r> {
    /// SQL that selects exactly the matching rows.
    Exact(String),
    /// SQL that selects at least the matching rows.
    Superset(String),
    /// Nothing could be translated: every row.
    All,
    /// Exactly the resources these index lookups find (together): kept apart until the
    /// enclosing `or` has had the chance to merge them into one lookup.
    Ids(Vec<Lookup<'r>>),
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

/// An attribute as the translation reads it: the parts of a [`ResolvedAttr`], borrowed from
/// the filter, so that a leaf can also stand for what the filter spells otherwise
/// (`members[value eq "x"]` read as `members.value eq "x"`, see `Translator::as_leaf`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr<'r> {
    location: &'r Location,
    name: &'r str,
    sub: Option<&'r str>,
    info: Option<&'r AttrInfo>,
}

impl<'r> From<&'r ResolvedAttr> for Attr<'r> {
    fn from(a: &'r ResolvedAttr) -> Self {
        Attr {
            location: a.location(),
            name: a.name(),
            sub: a.sub_attr(),
            info: a.info(),
        }
    }
}

impl Attr<'_> {
    /// Whether the schema says the attribute is complex (`None`: unknown).
    fn complex(&self) -> Option<bool> {
        self.info.map(|i| i.attr_type == AttrType::Complex)
    }
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

/// Where the store keeps what the filter reads, for one query.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Layout<'a> {
    /// The attribute whose elements are rows of `members` (e.g. `members` of a Group).
    pub(crate) out_of_line: Option<&'a str>,
    /// Some resource of the type has irregular out-of-line elements (see
    /// `crate::layout::Row::irregular`): `value_key` alone is not exact.
    pub(crate) irregular: bool,
}

/// The filter translator.
pub(crate) struct Translator<'a> {
    params: &'a mut Params,
    layout: Layout<'a>,
    /// The aliases of the value paths being translated, innermost last: their elements are
    /// the documents that [`Location::Element`] attributes are read in.
    frames: Vec<String>,
    aliases: usize,
    /// Set while an `ne` comparison is translated as its `eq` test: [`Translator::leaf`]
    /// then selects the values that fail it, and no index lookup stands in for it.
    ne: bool,
}

impl<'a> Translator<'a> {
    pub(crate) fn new(params: &'a mut Params, layout: Layout<'a>) -> Self {
        Translator {
            params,
            layout,
            frames: Vec::new(),
            aliases: 0,
            ne: false,
        }
    }

    /// Translates `filter`. Whatever is not kept in the result (`Frag::All`, a branch
    /// abandoned on the way) has left no parameter behind; the result holds no lookup.
    pub(crate) fn translate<'r>(mut self, filter: &'r ResolvedNode) -> Frag<'r> {
        let mark = self.params.mark();
        let frag = self.visit(filter);
        let frag = match self.finish(frag) {
            frag if self.params.values.len() <= MAX_PARAMS => frag,
            _ => Frag::All,
        };
        self.kept(mark, frag)
    }

    /// `frag`, after taking back the parameters pushed since `mark` when it holds no SQL
    /// (lookups push theirs only when [`Translator::finish`] turns them into SQL).
    fn kept<'r>(&mut self, mark: usize, frag: Frag<'r>) -> Frag<'r> {
        if matches!(frag, Frag::All | Frag::Ids(_)) {
            self.params.rollback(mark);
        }
        frag
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    fn doc(&self) -> String {
        match self.frames.last() {
            Some(alias) => format!("{alias}.doc"),
            None => ROOT_DOC.to_owned(),
        }
    }

    /// SQL for the JSON path of the attribute (without its sub-attribute) in `doc`.
    fn attr_path(&mut self, r: &Attr<'_>, doc: &str) -> Option<String> {
        let name = label(r.name)?;
        Some(match r.location {
            Location::Core | Location::Element => self.params.push(format!("$.{name}")),
            Location::Extension(urn) => self.params.push(format!("$.{}.{name}", label(urn)?)),
            Location::ExtensionOrCore(urn) => {
                let urn = label(urn)?;
                let u = self.params.push(format!("$.{urn}"));
                let root = self.params.push(format!("$.{name}"));
                let ext = self.params.push(format!("$.{urn}.{name}"));
                // No such key: the core attributes; any other value: the extension (which
                // finds nothing unless it is an object).
                format!("CASE WHEN json_type({doc}, {u}) IS NULL THEN {root} ELSE {ext} END")
            }
            // `Foreign` names nothing (the callers answer it first); a location this
            // translation does not know is left to the engine.
            _ => return None,
        })
    }

    /// Whether `r` is the out-of-line attribute (read from `members`); `None` when that
    /// depends on the document (an unknown URN prefix).
    fn out_of_line(&self, r: &Attr<'_>) -> Option<bool> {
        let Some(attr) = self.layout.out_of_line else {
            return Some(false);
        };
        if !self.frames.is_empty() || !r.name.eq_ignore_ascii_case(attr) {
            return Some(false);
        }
        match r.location {
            Location::Core => Some(true),
            Location::ExtensionOrCore(_) => None,
            _ => Some(false),
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
